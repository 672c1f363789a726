"""The static site in real Chromium against the real API (on moto): what provinces and the ministry see and do."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

COUNTDOWN = re.compile(r"^Còn (\d+ ngày )?\d\d:\d\d:\d\d$")
VN = ZoneInfo("Asia/Ho_Chi_Minh")


def log_in(page, stack, who: str) -> None:
    username, password = stack.login_of(who)
    page.goto("/")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(re.compile(r"/(tinh|bo)/"))


def test_a_province_sees_its_open_phases_and_records_its_focal_person(stack, new_page, artifacts):
    page = new_page()
    log_in(page, stack, "01")

    expect(page).to_have_url(re.compile(r"/tinh/\?dot=demo$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sở Nội vụ thành phố Hà Nội")
    expect(page.locator("#account")).to_contain_text("Sở Nội vụ thành phố Hà Nội")
    expect(page.get_by_label("Đợt đánh giá")).to_have_value("demo")
    phases = page.locator("#phases > li")
    expect(phases).to_have_count(4)  # the ministry's own appraisal phase is not shown to provinces
    expect(page.locator('#phases > li[data-state="open"]')).to_have_count(4)
    expect(page.locator('#phases > li[data-phase="appraisal"]')).to_have_count(0)
    focal = page.locator('#phases > li[data-phase="focal_person"]')
    expect(focal).to_contain_text("Cử cán bộ đầu mối công nghệ thông tin")
    expect(focal).to_contain_text("Đang mở")
    # the demo's phases open on the day the stack was seeded (the day before, when the suite crosses midnight in
    # Vietnam) and run 14 days
    expect(focal).to_contain_text(re.compile(r"Mở từ ngày\s*\d\d/\d\d/\d{4}"))
    opened = datetime.strptime(re.search(r"Mở từ ngày\s*(\d\d/\d\d/\d{4})", focal.inner_text()).group(1), "%d/%m/%Y")
    today = datetime.now(VN).date()
    assert opened.date() in (today, today - timedelta(days=1))
    expect(focal).to_contain_text(f"hết ngày {opened + timedelta(days=14):%d/%m/%Y}")
    countdown = focal.locator(".countdown")
    expect(countdown).to_have_text(COUNTDOWN)
    assert countdown.inner_text().startswith(("Còn 13 ngày", "Còn 14 ngày"))
    first = countdown.inner_text()
    expect(countdown).not_to_have_text(first, timeout=2500)  # it is live
    expect(page.locator("#notifications")).to_contain_text("Chưa có thông báo nào.")
    page.screenshot(path=str(artifacts / "province-home.png"), full_page=True)

    page.get_by_role("link", name="Khai báo cán bộ đầu mối").click()
    expect(page).to_have_url(re.compile(r"/tinh/dau-moi\.html\?dot=demo$"))
    name, position, mobile = (page.get_by_label("Họ và tên"), page.get_by_label("Chức vụ"),
                              page.get_by_label("Số điện thoại di động"))
    expect(name).to_be_enabled()
    name.fill("Nguyễn Thị <b>Hoà</b>")
    position.fill("Phó Giám đốc Sở Thông tin và Truyền thông")
    mobile.fill("024 3825 1234")
    page.get_by_role("button", name="Lưu").click()

    error = page.locator("#mobile-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("Số điện thoại di động không hợp lệ")
    expect(mobile).to_have_attribute("aria-invalid", "true")
    expect(mobile).to_have_attribute("aria-describedby", re.compile(r"\bmobile-error\b"))
    expect(mobile).to_be_focused()
    expect(page.locator("#form-message").get_by_role("alert")).to_contain_text("Chưa lưu được")

    page.screenshot(path=str(artifacts / "focal-person-error.png"), full_page=True)

    mobile.fill("0912 345 678")
    page.get_by_role("button", name="Lưu").click()
    expect(page.locator("#form-message").get_by_role("status").filter(has_text="Đã lưu")).to_have_text(
        re.compile(r"^Đã lưu lúc \d\d:\d\d \d\d/\d\d/\d{4}\.$"))
    expect(error).to_be_hidden()
    expect(mobile).not_to_have_attribute("aria-invalid", "true")

    page.reload()
    expect(name).to_have_value("Nguyễn Thị <b>Hoà</b>")
    expect(position).to_have_value("Phó Giám đốc Sở Thông tin và Truyền thông")
    expect(mobile).to_have_value("0912345678")
    expect(page.locator("#last-saved")).to_contain_text("tinh01")

    # Back home: the saved name is shown as text, never as markup.
    page.get_by_role("link", name="Về trang chính").click()
    summary = page.locator("#focal-summary")
    expect(summary).to_contain_text("Nguyễn Thị <b>Hoà</b>")
    expect(summary.locator("b")).to_have_count(0)

    page.get_by_role("button", name="Đăng xuất").click()
    expect(page).to_have_url(stack.site_url + "/")
    page.goto("/tinh/")
    expect(page).to_have_url(stack.site_url + "/")
    assert not new_page.errors, new_page.errors


def test_the_province_home_fits_a_phone_screen(stack, new_page, artifacts):
    page = new_page(390, 844)
    log_in(page, stack, "06")
    expect(page.locator('#phases > li[data-state="open"]')).to_have_count(4)
    expect(page.locator("#phases .countdown").first).to_have_text(COUNTDOWN)
    expect(page.locator("#notifications")).not_to_have_attribute("aria-busy", "true")
    expect(page.locator("#focal-summary")).not_to_have_text("Đang tải…")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(artifacts / "province-home-phone.png"), full_page=True)

    # A session the server no longer knows sends the user back to the login page, with the reason.
    page.evaluate("""() => {
        const s = JSON.parse(sessionStorage.getItem('cchc.session'));
        sessionStorage.setItem('cchc.session', JSON.stringify({...s, token: 'het-han'}));
    }""")
    page.reload()
    expect(page).to_have_url(stack.site_url + "/")
    expect(page.get_by_role("alert")).to_have_text(
        "Phiên đăng nhập đã hết hạn hoặc không hợp lệ. Vui lòng đăng nhập lại.")
    assert not new_page.errors, new_page.errors


def test_the_ministry_admin_sees_the_63_units_of_campaign_2021(stack, new_page, artifacts):
    page = new_page()
    log_in(page, stack, "admin")
    expect(page).to_have_url(re.compile(r"/bo/\?dot=demo$"))
    page.get_by_label("Đợt đánh giá").select_option("2021")
    expect(page).to_have_url(re.compile(r"/bo/\?dot=2021$"))

    rows = page.locator("#unit-table tbody tr")
    expect(rows).to_have_count(63)
    expect(rows.first.locator("td").first).to_have_text("01")
    expect(rows.first).to_contain_text("Hà Nội")
    expect(rows.first).to_contain_text("Thành phố Hà Nội")
    expect(page.locator("#unit-count")).to_have_text("63 đơn vị.")
    expect(page.locator('#phase-table tr[data-phase="focal_person"]')).to_contain_text("hết ngày 10/01/2022")
    expect(page.locator('#phase-table tr[data-phase="focal_person"]')).to_contain_text("Đã khóa")

    page.get_by_label("Lọc đơn vị").fill("da nang")
    expect(page.locator("#unit-table tbody tr:visible")).to_have_count(1)
    expect(page.locator("#unit-table tbody tr:visible")).to_contain_text("Đà Nẵng")
    expect(page.locator("#unit-count")).to_have_text("Hiển thị 1/63 đơn vị.")

    page.screenshot(path=str(artifacts / "ministry-home.png"), full_page=True)
    page.reload()  # the chosen campaign is remembered in the address
    expect(page.get_by_label("Đợt đánh giá")).to_have_value("2021")
    assert not new_page.errors, new_page.errors


def test_the_campaign_selector_shows_the_campaigns_by_their_names(stack, new_page):
    page = new_page()
    log_in(page, stack, "admin")
    options = page.locator("#dot option")
    expect(options).to_have_count(2)
    assert options.all_inner_texts() == ["Đợt thử nghiệm (dữ liệu mẫu, các giai đoạn mở từ hôm nay)",
                                         "Xác định Chỉ số CCHC năm 2021"]  # newest year first


def test_a_wrong_password_is_refused_in_vietnamese(stack, new_page):
    page = new_page()
    page.goto("/")
    page.get_by_label("Tên đăng nhập").fill("tinh01")
    page.get_by_label("Mật khẩu").fill("khong-dung-mat-khau")
    page.route(stack.api_url + "/auth/login", lambda route: route.abort())
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("alert")).to_contain_text("Không kết nối được máy chủ")
    page.unroute(stack.api_url + "/auth/login")

    page.get_by_label("Mật khẩu").fill("khong-dung-mat-khau")
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("alert")).to_have_text(
        re.compile(r"^Tên đăng nhập hoặc mật khẩu không đúng\. Còn \d lần thử trước khi phải chờ\.$"))
    expect(page).to_have_url(stack.site_url + "/")
    expect(page.get_by_label("Mật khẩu")).to_have_value("khong-dung-mat-khau")  # kept, selected to be retyped
    assert not new_page.errors, new_page.errors


def test_login_throttling_warns_counts_down_and_keeps_the_password(stack, new_page):
    page = new_page()
    page.goto("/")
    page.get_by_label("Tên đăng nhập").fill("nguoi-thu-sai")
    password, button, alert = page.get_by_label("Mật khẩu"), page.locator("#login-button"), page.get_by_role("alert")
    for left in (2, 1):
        password.fill("sai-lan-nua")
        button.click()
        expect(alert).to_have_text(f"Tên đăng nhập hoặc mật khẩu không đúng. Còn {left} lần thử trước khi phải chờ.")
    password.fill("sai-lan-nua")
    button.click()
    # The third wrong password: no attempt left before a wait; the button counts the wait down.
    expect(alert).to_contain_text("Lần thử tiếp theo phải chờ 2 giây. Mật khẩu đã nhập vẫn được giữ.")
    expect(button).to_be_disabled()
    expect(button).to_have_text(re.compile(r"^Đăng nhập \(chờ [12] giây\)$"))
    expect(password).to_have_value("sai-lan-nua")

    # Another tab trying meanwhile is told to wait by the server (429): the same countdown, the password kept.
    other = new_page()
    other.goto("/")
    other.get_by_label("Tên đăng nhập").fill("nguoi-thu-sai")
    other.get_by_label("Mật khẩu").fill("mat-khau-khac")
    other.get_by_role("button", name="Đăng nhập").click()
    expect(other.get_by_role("alert")).to_contain_text("Vui lòng chờ")
    expect(other.get_by_role("alert")).to_contain_text("Mật khẩu đã nhập vẫn được giữ.")
    expect(other.locator("#login-button")).to_be_disabled()
    expect(other.get_by_label("Mật khẩu")).to_have_value("mat-khau-khac")

    # When the wait is over the button comes back with its own label.
    expect(button).to_be_enabled(timeout=6000)
    expect(button).to_have_text("Đăng nhập")
    expect(page.get_by_role("status")).to_have_text("Đã hết thời gian chờ. Bạn có thể đăng nhập lại.")
    expect(page.get_by_role("alert")).to_have_text("")
    assert not new_page.errors, new_page.errors


def test_a_deadline_extended_for_one_province_reopens_its_form_only(stack, new_page):
    admin = new_page()
    log_in(admin, stack, "admin")
    expect(admin).to_have_url(re.compile(r"/bo/"))
    admin.goto("/bo/?dot=2021")
    expect(admin.locator("#unit-table tbody tr")).to_have_count(63)
    admin.get_by_label("Giai đoạn", exact=True).select_option("focal_person")
    admin.get_by_label("Một đơn vị (gia hạn riêng)").check()
    admin.get_by_label("Đơn vị được gia hạn").select_option("02")
    new_day = (datetime.now(VN) + timedelta(days=3)).date()
    deadline = admin.get_by_label("Thời hạn mới (hết ngày)")
    expect(deadline).to_have_value("10/01/2022")  # the current deadline is proposed, in dd/mm/yyyy
    deadline.fill("31/02/2027")
    admin.get_by_role("button", name="Lưu thời hạn mới").click()
    expect(admin.locator("#closes-error")).to_contain_text("Ngày không hợp lệ")
    deadline.fill(new_day.strftime("%d/%m/%Y"))
    admin.get_by_role("button", name="Lưu thời hạn mới").click()
    expect(admin.locator("#closes-error")).to_be_hidden()
    expect(admin.locator("#reason-error")).to_have_text("Vui lòng nêu lý do điều chỉnh thời hạn.")
    expect(admin.get_by_label("Lý do điều chỉnh (bắt buộc)")).to_be_focused()

    admin.get_by_label("Lý do điều chỉnh (bắt buộc)").fill("Tỉnh đề nghị do sự cố mạng")
    deadline.fill("05/01/2022")  # before the common deadline: the server refuses, beside the field
    admin.get_by_role("button", name="Lưu thời hạn mới").click()
    expect(admin.locator("#closes-error")).to_have_text(
        "Thời hạn gia hạn cho đơn vị phải sau thời hạn chung của giai đoạn.")
    expect(deadline).to_be_focused()
    deadline.fill(new_day.strftime("%d/%m/%Y"))
    admin.get_by_role("button", name="Lưu thời hạn mới").click()
    label = new_day.strftime("%d/%m/%Y")
    expect(admin.locator("#deadline-message [role=status]")).to_contain_text(f"hết ngày {label}")
    expect(admin.locator('#unit-table tr[data-unit="02"]')).to_contain_text(f"hết ngày {label}")

    province = new_page()
    log_in(province, stack, "02")
    province.goto("/tinh/?dot=2021")
    focal = province.locator('#phases > li[data-phase="focal_person"]')
    expect(focal).to_contain_text("Đang mở")
    expect(focal).to_contain_text("đã gia hạn")
    expect(focal.locator(".countdown")).to_have_text(COUNTDOWN)
    expect(province.locator('#phases > li[data-phase="roster"]')).to_contain_text("Đã khóa")
    expect(province.locator("#notifications")).to_contain_text("Tỉnh đề nghị do sự cố mạng")
    province.goto("/tinh/dau-moi.html?dot=2021")
    expect(province.get_by_label("Họ và tên")).to_be_enabled()

    other = new_page()
    log_in(other, stack, "04")
    other.goto("/tinh/dau-moi.html?dot=2021")
    expect(other.locator("#form-message").get_by_role("alert")).to_contain_text("Đã hết thời hạn")
    expect(other.get_by_label("Họ và tên")).to_be_disabled()
    expect(other.get_by_role("button", name="Lưu")).to_be_disabled()
    assert not new_page.errors, new_page.errors


def test_a_password_change_checks_the_repeat_here_and_the_rules_on_the_server(stack, new_page):
    page = new_page()
    log_in(page, stack, "08")
    expect(page).to_have_url(re.compile(r"/tinh/"))
    page.get_by_role("link", name="Đổi mật khẩu").click()
    current, new, repeat = (page.get_by_label("Mật khẩu hiện tại"), page.get_by_label("Mật khẩu mới", exact=True),
                            page.get_by_label("Nhập lại mật khẩu mới"))
    current.fill(stack.login_of("08")[1])
    new.fill("Mật-khẩu-Mới-2026")
    repeat.fill("Mật-khẩu-Mới-2025")
    page.get_by_role("button", name="Đổi mật khẩu").click()
    expect(page.locator("#repeat_password-error")).to_have_text("Mật khẩu nhập lại không khớp với mật khẩu mới.")

    current.fill("sai-mat-khau")
    repeat.fill("Mật-khẩu-Mới-2026")
    page.get_by_role("button", name="Đổi mật khẩu").click()
    expect(page.locator("#current_password-error")).to_have_text("Mật khẩu hiện tại không đúng.")
    expect(page.locator("#repeat_password-error")).to_be_hidden()

    # every rule the new password breaks, at once, beside the field
    current.fill(stack.login_of("08")[1])
    new.fill("tinh08")
    repeat.fill("tinh08")
    page.get_by_role("button", name="Đổi mật khẩu").click()
    expect(page.locator("#new_password-error")).to_have_text(
        "Mật khẩu mới phải có ít nhất 10 ký tự. Mật khẩu mới không được chứa tên đăng nhập. Mật khẩu mới cần có ít "
        "nhất 3 trong 4 loại ký tự: chữ thường, chữ hoa, chữ số, ký tự đặc biệt.")
    new.fill("Mật-khẩu-Mới-2026")
    repeat.fill("Mật-khẩu-Mới-2026")
    page.get_by_role("button", name="Đổi mật khẩu").click()
    expect(page.get_by_role("status").filter(has_text="Đã đổi mật khẩu")).to_be_visible()
    assert not new_page.errors, new_page.errors
