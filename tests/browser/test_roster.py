"""The roster of survey respondents in real Chromium against the real API (on moto), demo campaign (phases open
today): a province downloads the template, uploads a file with errors, fixes it in the marked error workbook, sends
the list; the ministry sees it sent and reopens it; the add / edit dialog with a server-side field error.

The stack is shared by every browser test of the session, so these tests use units the others never look at."""
from __future__ import annotations

import re
from pathlib import Path

from openpyxl import Workbook, load_workbook
from playwright.sync_api import expect

from builders import name, person, roster_workbook
from test_site import COUNTDOWN, log_in
from test_survey_form import assert_accessible, call, login

HEADER = ["STT", "Họ và tên", "Chức vụ", "Cơ quan, đơn vị công tác", "Nhóm đối tượng", "Email", "Số điện thoại",
          "Ghi chú"]
BAD_EMAIL = "tran.binh.sonla.gov.vn"
BAD_GROUP = "9"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def workbook(path: Path, rows: list[list]) -> Path:
    wb = Workbook()
    sheet = wb.active
    sheet.title = "Danh sách"
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    wb.save(path)
    return path


def header_index(sheet, title: str) -> int:
    for cell in sheet[1]:
        if str(cell.value or "").strip() == title:
            return cell.column
    raise AssertionError(f"no column {title!r} in {[c.value for c in sheet[1]]}")


def test_a_province_fixes_its_roster_from_the_error_workbook_sends_it_and_the_ministry_reopens_it(
        stack, new_page, artifacts, tmp_path):
    page = new_page()
    log_in(page, stack, "14")
    home_roster = page.locator("#roster-summary")
    expect(home_roster).to_contain_text("Bản nháp")
    page.get_by_role("link", name="Danh sách đối tượng điều tra XHH").click()
    expect(page).to_have_url(re.compile(r"/tinh/danh-sach\.html\?dot=demo$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Danh sách đối tượng điều tra XHH")
    expect(page.locator("#roster-status")).to_have_text(re.compile(r"^Bản nháp"))
    expect(page.locator("#roster-deadline .countdown")).to_have_text(COUNTDOWN)
    expect(page.locator("#roster-table tbody")).to_contain_text("Danh sách chưa có người nào.")
    expect(page.get_by_role("button", name="Gửi danh sách về Bộ Nội vụ")).to_be_disabled()

    # 1. The template, as the API builds it.
    with page.expect_download() as info:
        page.get_by_role("button", name="Tải mẫu danh sách (.xlsx)").click()
    template = info.value
    assert template.suggested_filename == "mau-danh-sach-dieu-tra-xhh-demo.xlsx"
    saved_template = tmp_path / template.suggested_filename
    template.save_as(saved_template)
    template_book = load_workbook(saved_template)
    assert "Danh sách" in template_book.sheetnames
    assert [c.value for c in template_book["Danh sách"][1]][:8] == HEADER

    # 2. A file with a bad e-mail and a bad group: nothing is stored, the errors are listed.
    rows = [
        [1, "Nguyễn Thị Hoa", "Phó Chủ tịch HĐND", "HĐND tỉnh Sơn La", "1", "hoa.nt@sonla.gov.vn",
         "0912345678", None],
        [2, "Trần <b>Văn</b> Bình", "Giám đốc", "Sở Nội vụ", "2", BAD_EMAIL, None, None],
        [3, "NguyÔn V¨n An", "Phã Gi¸m ®èc", "Phòng Tổ chức, Sở Nội vụ", "3", "an.nv@sonla.gov.vn", None, None],
        [4, "Lê Minh Châu", "Chủ tịch UBND huyện", "UBND huyện Mộc Châu", BAD_GROUP, "chau.lm@sonla.gov.vn", None,
         None],
    ]
    bad_file = workbook(tmp_path / "danh-sach-co-loi.xlsx", rows)
    page.get_by_label("Tệp danh sách (.xlsx, tối đa 4 MB)").set_input_files(str(bad_file))
    expect(page.get_by_label("Bổ sung/cập nhật theo email")).to_be_checked()
    page.get_by_role("button", name="Tải lên và kiểm tra").click()
    expect(page.locator("#import-message [role=alert]")).to_contain_text("chưa lưu dòng nào")
    expect(page.locator("#import-message")).to_be_focused()  # the error summary, not <body>
    errors = page.locator("#import-errors tbody tr")
    expect(errors).to_have_count(2)
    expect(errors.nth(0).locator("td")).to_have_text(["3", "Email", re.compile(re.escape(BAD_EMAIL))])
    expect(errors.nth(1).locator("td")).to_have_text(["5", "Nhóm đối tượng", re.compile("“9” không hợp lệ")])
    expect(page.locator("#import-errors thead")).to_have_text(re.compile(r"Dòng\s*Cột\s*Lỗi"))
    expect(page.locator("#roster-table tbody")).to_contain_text("Danh sách chưa có người nào.")
    # The legacy-encoded (TCVN3) row is converted; the error workbook carries it in Unicode.
    expect(page.locator("#import-report")).to_contain_text("sang Unicode")
    expect(page.locator("#import-report")).to_contain_text("TCVN3")
    page.screenshot(path=str(artifacts / "roster-import-errors.png"), full_page=True)

    # 3. The marked workbook through its link, fixed with openpyxl, uploaded again.
    link = page.get_by_role("link", name="Tải tệp đánh dấu lỗi")
    expect(link).to_be_visible()
    with page.expect_download() as info:
        link.click()
    marked = tmp_path / "danh-sach-loi.xlsx"
    info.value.save_as(marked)
    assert info.value.suggested_filename == "danh-sach-loi-14.xlsx"
    book = load_workbook(marked)
    sheet = book["Danh sách"]
    email_col, group_col = header_index(sheet, "Email"), header_index(sheet, "Nhóm đối tượng")
    fixed = 0
    for row in sheet.iter_rows(min_row=2):
        if str(row[email_col - 1].value or "") == BAD_EMAIL:
            row[email_col - 1].value = "tran.binh@sonla.gov.vn"
            fixed += 1
        if str(row[group_col - 1].value or "") == BAD_GROUP:
            row[group_col - 1].value = "4. Lãnh đạo UBND cấp huyện"
            fixed += 1
    assert fixed == 2
    book.save(marked)
    page.get_by_label("Tệp danh sách (.xlsx, tối đa 4 MB)").set_input_files(str(marked))
    page.get_by_role("button", name="Tải lên và kiểm tra").click()
    expect(page.locator("#import-message [role=status]")).to_have_text(
        "Đã nhập danh sách: 4 người hợp lệ. Danh sách hiện có 4 người.")
    expect(page.locator("#import-errors")).to_have_count(0)
    summary = page.locator("#import-report .summary")
    expect(summary).to_contain_text("Thêm mới4")
    expect(summary).to_contain_text("Tổng số trong danh sách4")

    table = page.locator("#roster-table tbody tr")
    expect(table).to_have_count(4)
    expect(page.locator("#roster-table tbody")).to_contain_text("Nguyễn Văn An")
    expect(page.locator("#roster-table tbody")).to_contain_text("Trần <b>Văn</b> Bình")
    expect(page.locator("#roster-table tbody b")).to_have_count(0)  # names are text, never markup
    an = table.filter(has_text="an.nv@sonla.gov.vn")
    expect(an).to_contain_text("Bộ Nội vụ")
    expect(an).to_contain_text("Địa phương, Bộ chủ quản")
    expect(table.first.locator("td").first).to_have_text("1")
    expect(page.locator("#roster-total")).to_have_text("4 người")
    counts = page.locator("#roster-counts li")
    expect(counts).to_have_count(4)
    for i in range(4):
        expect(counts.nth(i).locator(".group-count")).to_have_text("1 người")
    expect(page.locator("#roster-count")).to_have_text("Danh sách có 4 người; đang hiển thị 1–4.")

    # Filter and search are answered by the server.
    page.locator("#roster-group").select_option("3")
    expect(table).to_have_count(1)
    expect(table.first).to_contain_text("Nguyễn Văn An")
    page.locator("#roster-group").select_option("")
    page.get_by_label("Tìm theo họ tên hoặc email").fill("chau")
    expect(table).to_have_count(1)
    expect(table.first).to_contain_text("Lê Minh Châu")
    page.get_by_label("Tìm theo họ tên hoặc email").fill("")
    expect(table).to_have_count(4)
    page.screenshot(path=str(artifacts / "roster-province.png"), full_page=True)

    # 4. Sending, after a confirmation that states the totals.
    page.get_by_role("button", name="Gửi danh sách về Bộ Nội vụ").click()
    dialog = page.get_by_role("dialog", name="Gửi danh sách về Bộ Nội vụ?")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("4 người")
    expect(dialog).to_contain_text("Lãnh đạo cấp phòng thuộc sở")
    expect(dialog).to_contain_text("chỉ Bộ Nội vụ có thể mở lại")
    expect(dialog.get_by_role("button", name="Gửi danh sách")).to_be_focused()
    page.screenshot(path=str(artifacts / "roster-confirm.png"))
    page.keyboard.press("Escape")  # a keyboard user can leave it
    expect(dialog).to_be_hidden()
    expect(page.locator("#roster-status")).to_have_text(re.compile(r"^Bản nháp"))
    page.get_by_role("button", name="Gửi danh sách về Bộ Nội vụ").click()
    dialog.get_by_role("button", name="Gửi danh sách").click()
    expect(page.locator("#roster-status")).to_contain_text(
        re.compile(r"Đã gửi Bộ Nội vụ lúc \d\d:\d\d \d\d/\d\d/\d{4}"))
    expect(page.locator("#status-message [role=status]")).to_contain_text("Đã gửi danh sách về Bộ Nội vụ lúc")
    expect(page.locator("#status-message")).to_be_focused()
    expect(page.locator("#lock-reason")).to_contain_text("đã được gửi về Bộ Nội vụ")
    expect(page.get_by_role("button", name="Thêm người")).to_have_count(0)  # no tool to change a sent roster
    expect(page.get_by_role("button", name="Tải lên và kiểm tra")).to_have_count(0)
    expect(page.get_by_role("button", name="Gửi danh sách về Bộ Nội vụ")).to_have_count(0)
    expect(page.locator("#roster-table .row-actions button:enabled")).to_have_count(0)
    page.screenshot(path=str(artifacts / "roster-sent.png"), full_page=True)

    # 5. The ministry sees it sent and reopens it, with a reason.
    admin = new_page()
    log_in(admin, stack, "admin")
    unit_row = admin.locator('#unit-table tr[data-unit="14"]')
    expect(unit_row).to_contain_text("Đã gửi")
    expect(unit_row.locator("td").nth(4)).to_have_text("4")
    expect(admin.locator('#unit-table tr[data-unit="02"]')).to_contain_text("Chưa gửi")
    unit_row.get_by_role("link", name="Sơn La").click()
    expect(admin).to_have_url(re.compile(r"/bo/don-vi\.html\?dot=demo&don-vi=14$"))
    expect(admin.get_by_role("heading", level=1)).to_have_text("Tỉnh Sơn La")
    expect(admin.locator("#roster-status")).to_contain_text("Đã gửi Bộ Nội vụ lúc")
    expect(admin.locator("#roster-table tbody tr")).to_have_count(4)
    expect(admin.locator("#roster-table tbody button")).to_have_count(0)  # read-only
    expect(admin.locator("#notifications")).to_contain_text("Đã gửi danh sách")
    admin.get_by_role("button", name="Mở lại danh sách").click()
    expect(admin.locator("#reason-error")).to_have_text("Vui lòng nêu lý do mở lại danh sách.")
    expect(admin.get_by_label("Lý do mở lại (bắt buộc)")).to_be_focused()
    admin.get_by_label("Lý do mở lại (bắt buộc)").fill("Bổ sung đại biểu HĐND còn thiếu")
    admin.get_by_role("button", name="Mở lại danh sách").click()
    expect(admin.locator("#reopen-message [role=status]")).to_contain_text("Đã mở lại danh sách")
    expect(admin.locator("#roster-status")).to_have_text(re.compile(r"^Bản nháp"))
    expect(admin.locator("#reopen-form")).to_be_hidden()
    expect(admin.locator("#notifications")).to_contain_text("Bổ sung đại biểu HĐND còn thiếu")
    admin.screenshot(path=str(artifacts / "roster-ministry-unit.png"), full_page=True)

    # 6. The province has its draft back.
    page.reload()
    expect(page.locator("#roster-status")).to_have_text(re.compile(r"^Bản nháp"))
    expect(page.get_by_role("button", name="Thêm người")).to_be_enabled()
    expect(page.get_by_role("button", name="Tải lên và kiểm tra")).to_be_enabled()
    expect(page.locator("#lock-reason")).to_be_hidden()
    page.get_by_role("link", name="Về trang chính").click()
    expect(home_roster).to_contain_text("Bản nháp")
    expect(page.locator("#notifications")).to_contain_text("Bổ sung đại biểu HĐND còn thiếu")
    assert not new_page.errors, new_page.errors


def test_one_person_is_added_edited_and_deleted_in_an_accessible_dialog(stack, new_page, artifacts):
    page = new_page()
    log_in(page, stack, "10")
    page.goto("/tinh/danh-sach.html?dot=demo")
    expect(page.locator("#roster-table tbody")).to_contain_text("Danh sách chưa có người nào.")

    # Too large for the API: refused here, before any upload.
    page.get_by_label("Tệp danh sách (.xlsx, tối đa 4 MB)").set_input_files(
        {"name": "rat-lon.xlsx", "mimeType": "application/octet-stream", "buffer": b"PK" + b"\0" * (5 * 1048576)})
    page.get_by_role("button", name="Tải lên và kiểm tra").click()
    expect(page.locator("#roster-file-error")).to_contain_text("Tệp quá lớn (5 MB); tối đa 4 MB.")
    expect(page.get_by_label("Tệp danh sách (.xlsx, tối đa 4 MB)")).to_be_focused()

    add = page.get_by_role("button", name="Thêm người")
    add.click()
    dialog = page.get_by_role("dialog", name="Thêm người vào danh sách")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Họ và tên")).to_be_focused()
    dialog.get_by_label("Họ và tên").fill("Phạm Thị Dung")
    dialog.get_by_label("Chức vụ").fill("Trưởng phòng")
    dialog.get_by_label("Cơ quan, đơn vị công tác").fill("Phòng Tổ chức, Sở Nội vụ")
    dialog.get_by_label("Nhóm đối tượng").select_option("3")
    dialog.get_by_label("Email").fill("dung.pt@laocai.gov.vn")
    dialog.get_by_label("Số điện thoại (không bắt buộc)").fill("123")
    dialog.get_by_role("button", name="Lưu").click()

    phone = dialog.get_by_label("Số điện thoại (không bắt buộc)")
    expect(dialog.locator("#p-phone-error")).to_contain_text("Số điện thoại “123” không hợp lệ")
    expect(phone).to_have_attribute("aria-invalid", "true")
    expect(phone).to_have_attribute("aria-describedby", re.compile(r"\bp-phone-error\b"))
    expect(phone).to_be_focused()
    expect(dialog.get_by_role("alert")).to_contain_text("Chưa lưu được")
    page.screenshot(path=str(artifacts / "roster-dialog-error.png"))

    phone.fill("0987 654 321")
    dialog.get_by_role("button", name="Lưu").click()
    expect(dialog).to_be_hidden()
    expect(add).to_be_focused()  # the focus goes back to where it was
    expect(page.locator("#list-message [role=status]")).to_have_text("Đã thêm Phạm Thị Dung.")
    rows = page.locator("#roster-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("0987654321")
    expect(rows.first).to_contain_text("Bộ Nội vụ")
    expect(page.locator("#roster-total")).to_have_text("1 người")
    expect(page.get_by_role("button", name="Gửi danh sách về Bộ Nội vụ")).to_be_enabled()

    page.get_by_role("button", name="Sửa thông tin Phạm Thị Dung").click()
    edit = page.get_by_role("dialog", name="Sửa thông tin người được điều tra")
    expect(edit.get_by_label("Email")).to_have_value("dung.pt@laocai.gov.vn")
    expect(edit.get_by_label("Nhóm đối tượng")).to_have_value("3")
    edit.get_by_label("Email").fill("khong-phai-email")
    edit.get_by_role("button", name="Lưu").click()
    expect(edit.locator("#p-email-error")).to_be_visible()
    expect(edit.get_by_label("Email")).to_be_focused()
    edit.get_by_label("Email").fill("dung.pt@laocai.gov.vn")
    edit.get_by_label("Chức vụ").fill("Phó Trưởng phòng")
    # The managing ministry is chosen among the accepted ones (empty: found from the agency).
    ministry = edit.get_by_label("Bộ chủ quản (không bắt buộc)")
    expect(ministry).to_have_value("")
    expect(ministry.locator("option[value='Bộ Tư pháp']")).to_have_count(1)
    ministry.select_option("Bộ Tư pháp")
    edit.get_by_role("button", name="Lưu").click()
    expect(edit).to_be_hidden()
    expect(rows.first).to_contain_text("Phó Trưởng phòng")
    expect(rows.first).to_contain_text("Bộ Tư pháp")
    page.get_by_role("button", name="Sửa thông tin Phạm Thị Dung").click()
    expect(edit.get_by_label("Bộ chủ quản (không bắt buộc)")).to_have_value("Bộ Tư pháp")
    edit.get_by_role("button", name="Hủy").click()
    expect(edit).to_be_hidden()
    expect(page.locator("#p-email-error")).to_be_hidden()

    page.get_by_role("button", name="Xóa Phạm Thị Dung khỏi danh sách").click()
    confirm = page.get_by_role("dialog", name="Xóa khỏi danh sách?")
    expect(confirm).to_contain_text("Phạm Thị Dung")
    expect(confirm.get_by_role("button", name="Hủy")).to_be_focused()  # the safe choice first
    confirm.get_by_role("button", name="Hủy").click()
    expect(rows).to_have_count(1)
    page.get_by_role("button", name="Xóa Phạm Thị Dung khỏi danh sách").click()
    page.get_by_role("dialog", name="Xóa khỏi danh sách?").get_by_role("button", name="Xóa").click()
    expect(page.locator("#list-message [role=status]")).to_have_text("Đã xóa Phạm Thị Dung khỏi danh sách.")
    expect(page.locator("#roster-table tbody")).to_contain_text("Danh sách chưa có người nào.")
    expect(page.locator("#roster-total")).to_have_text("0 người")
    assert not new_page.errors, new_page.errors


def test_the_roster_page_fits_a_phone_screen_and_locks_after_the_deadline(stack, new_page, artifacts):
    page = new_page(390, 844)
    log_in(page, stack, "11")
    page.goto("/tinh/danh-sach.html?dot=demo")
    expect(page.locator("#roster-deadline .countdown")).to_have_text(COUNTDOWN)
    expect(page.locator("#roster-table")).not_to_have_attribute("aria-busy", "true")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(artifacts / "roster-phone.png"), full_page=True)
    assert_accessible(page, "the draft roster at 390 px")

    # Campaign 2021's roster phase is over: everything is locked and the reason is given.
    page.goto("/tinh/danh-sach.html?dot=2021")
    expect(page.locator("#lock-reason")).to_contain_text("Đã hết thời hạn")
    expect(page.locator("#lock-reason")).to_contain_text("hết ngày 15/01/2022")
    expect(page.locator("#roster-deadline")).to_contain_text("Đã khóa")
    expect(page.locator("#import-section")).to_be_hidden()  # the tools to change the roster are not offered
    expect(page.get_by_role("button", name="Thêm người")).to_have_count(0)
    expect(page.get_by_role("button", name="Tải lên và kiểm tra")).to_have_count(0)
    expect(page.get_by_role("button", name="Gửi danh sách về Bộ Nội vụ")).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert_accessible(page, "the closed roster at 390 px")
    assert not new_page.errors, new_page.errors


def test_a_long_roster_is_paged_with_trang_truoc_and_trang_sau(stack, new_page):
    page = new_page()
    log_in(page, stack, "12")
    page.goto("/tinh/danh-sach.html?dot=demo")
    rows = [person(i, group="2" if i % 2 else "4", agency="Sở Nội vụ" if i % 2 else "UBND huyện Tam Đường")
            for i in range(1, 56)]
    page.get_by_label("Tệp danh sách (.xlsx, tối đa 4 MB)").set_input_files(
        {"name": "danh-sach-lai-chau.xlsx", "mimeType": "application/octet-stream", "buffer": roster_workbook(rows)})
    page.get_by_role("button", name="Tải lên và kiểm tra").click()
    expect(page.locator("#import-message [role=status]")).to_contain_text("Danh sách hiện có 55 người.")

    table = page.locator("#roster-table tbody tr")
    previous, following = (page.get_by_role("button", name="Trang trước"), page.get_by_role("button", name="Trang sau"))
    expect(table).to_have_count(50)
    expect(page.locator("#roster-count")).to_have_text("Danh sách có 55 người; đang hiển thị 1–50.")
    expect(previous).to_be_disabled()
    following.click()
    expect(table).to_have_count(5)
    expect(page.locator("#roster-page")).to_have_text("Trang 2")
    expect(table.first.locator("td").first).to_have_text("51")
    expect(table.first).to_contain_text(name(51))
    expect(following).to_be_disabled()
    previous.click()
    expect(table).to_have_count(50)
    expect(table.first.locator("td").first).to_have_text("1")
    expect(previous).to_be_disabled()

    page.locator("#roster-group").select_option("4")  # a filter starts again from its first page
    expect(table).to_have_count(27)
    expect(following).to_be_disabled()
    expect(page.locator("#roster-count")).to_contain_text("Kết quả lọc: đang hiển thị 1–27.")
    assert not new_page.errors, new_page.errors


def test_the_error_workbook_keeps_the_row_numbers_of_the_file_sent(stack, new_page, tmp_path):
    """A clerk's file with a title, a blank row and the template's example row above the people: the page, the
    marked workbook's rows and its reasons all use the row numbers of the file the clerk sent."""
    page = new_page()
    log_in(page, stack, "15")
    page.goto("/tinh/danh-sach.html?dot=demo")
    wb = Workbook()
    sheet = wb.active
    sheet.title = "Danh sách"
    sheet.append(["DANH SÁCH ĐỐI TƯỢNG ĐIỀU TRA XÃ HỘI HỌC TỈNH YÊN BÁI"])
    sheet.append([])
    sheet.append(HEADER)
    sheet.append(["Ví dụ", "Nguyễn Văn An", "Phó Giám đốc", "Sở Nội vụ", "2", "vidu@yenbai.gov.vn", None, None])
    sheet.append([1, "Hoàng Thị Mai", "Giám đốc", "Sở Tư pháp", "2", "mai.ht@yenbai.gov.vn", None, None])
    sheet.append([2, "Vũ Đức Long", "Giám đốc", "Sở Y tế", "2", BAD_EMAIL, None, None])
    path = tmp_path / "danh-sach-yen-bai.xlsx"
    wb.save(path)
    page.get_by_label("Tệp danh sách (.xlsx, tối đa 4 MB)").set_input_files(str(path))
    page.get_by_role("button", name="Tải lên và kiểm tra").click()
    errors = page.locator("#import-errors tbody tr")
    expect(errors).to_have_count(1)
    expect(errors.nth(0).locator("td").first).to_have_text("6")
    with page.expect_download() as info:
        page.get_by_role("link", name="Tải tệp đánh dấu lỗi").click()
    marked = tmp_path / "loi.xlsx"
    info.value.save_as(marked)
    out = load_workbook(marked)["Danh sách"]
    headers = [c.value for c in out[3]]
    email_col, reason_col = headers.index("Email") + 1, len(headers)
    assert out.cell(6, email_col).value == BAD_EMAIL
    assert out.cell(6, reason_col).value.startswith("Dòng 6: [Email]"), out.cell(6, reason_col).value
    assert out.cell(5, email_col).value == "mai.ht@yenbai.gov.vn" and out.cell(5, reason_col).value is None
    assert out.cell(4, email_col).value is None  # the example row was not imported: its row stays empty
    # The fixed workbook imports as it is.
    out.cell(6, email_col).value = "long.vd@yenbai.gov.vn"
    out.parent.save(marked)
    page.get_by_label("Tệp danh sách (.xlsx, tối đa 4 MB)").set_input_files(str(marked))
    page.get_by_role("button", name="Tải lên và kiểm tra").click()
    expect(page.locator("#import-message [role=status]")).to_contain_text("Đã nhập danh sách: 2 người hợp lệ.")
    expect(page.locator("#import-message")).to_be_focused()
    assert not new_page.errors, new_page.errors


def test_back_and_escape_in_the_add_dialog_never_discard_typed_data_silently(stack, new_page):
    page = new_page()
    log_in(page, stack, "17")
    page.goto("/tinh/danh-sach.html?dot=demo")
    url = page.url
    add = page.get_by_role("button", name="Thêm người")
    dialog = page.locator("#person-dialog")
    # Nothing typed: Back closes the dialog and stays on the page.
    add.click()
    expect(dialog).to_be_visible()
    page.go_back()
    expect(dialog).to_be_hidden()
    assert page.url == url
    # Typed data: Escape asks first; "Tiếp tục nhập" keeps it.
    add.click()
    page.get_by_label("Họ và tên").fill("Đinh Thị Thu")
    page.keyboard.press("Escape")
    ask = page.get_by_role("dialog", name="Bỏ thông tin vừa nhập?")
    expect(ask).to_be_visible()
    expect(ask.get_by_role("button", name="Tiếp tục nhập")).to_be_focused()
    ask.get_by_role("button", name="Tiếp tục nhập").click()
    expect(dialog).to_be_visible()
    expect(page.get_by_label("Họ và tên")).to_have_value("Đinh Thị Thu")
    # Back asks too; declining keeps the dialog and the page.
    page.go_back()
    expect(ask).to_be_visible()
    ask.get_by_role("button", name="Tiếp tục nhập").click()
    expect(dialog).to_be_visible()
    expect(page.get_by_label("Họ và tên")).to_have_value("Đinh Thị Thu")
    assert page.url == url
    # Hủy, then agreeing to discard: the dialog closes, the focus back on "Thêm người".
    dialog.get_by_role("button", name="Hủy").click()
    ask.get_by_role("button", name="Bỏ thông tin đã nhập").click()
    expect(dialog).to_be_hidden()
    expect(add).to_be_focused()
    assert page.url == url
    assert not new_page.errors, new_page.errors


def test_a_sent_roster_shows_its_status_at_the_top_and_no_tools_to_change_it(stack, new_page, artifacts):
    """After "Gửi danh sách" the status card at the top says the roster was sent, when, and whom to ask to reopen
    it, with the focus on the outcome; the import tools, "Thêm người", the row buttons and the sending section are
    gone and the table stays readable. A reload shows the same. axe-core finds no serious violation at 1280 px and
    at 375 px."""
    unit = "19"
    province = login(stack, unit)
    rows = [person(i, group="2" if i % 2 else "4", agency="Sở Nội vụ" if i % 2 else "UBND huyện Đại Từ",
                   email=f"nguoi{i}@thainguyen.gov.vn") for i in range(1, 4)]
    status, body = call(stack, "POST", f"/campaigns/demo/units/{unit}/roster/imports?mode=replace", bearer=province,
                        raw=roster_workbook(rows), content_type=XLSX)
    assert status == 200, body
    page = new_page()
    log_in(page, stack, unit)
    page.goto("/tinh/danh-sach.html?dot=demo")
    table = page.locator("#roster-table tbody tr")
    expect(table).to_have_count(3)
    expect(page.locator("#import-section")).to_be_visible()
    expect(page.locator("#lock-reason")).to_be_hidden()
    assert_accessible(page, "the draft roster at 1280 px")

    def assert_locked() -> None:
        reason = page.locator("#lock-reason")
        expect(reason).to_be_visible()
        expect(reason).to_have_text(re.compile(r"^Danh sách đã được gửi về Bộ Nội vụ lúc \d\d:\d\d \d\d/\d\d/\d{4} "
                                               r"nên không thể chỉnh sửa\. Liên hệ Bộ Nội vụ nếu cần mở lại"))
        expect(page.locator("#roster-status")).to_contain_text("Đã gửi Bộ Nội vụ lúc")
        for part in ("#import-section", "#submit-section", "#add-button", "#actions-col"):
            expect(page.locator(part)).to_be_hidden()
        for tool in ("Tải mẫu danh sách (.xlsx)", "Tải lên và kiểm tra", "Thêm người", "Gửi danh sách về Bộ Nội vụ"):
            expect(page.get_by_role("button", name=tool)).to_have_count(0)
        expect(table).to_have_count(3)
        expect(page.locator("#roster-table button:visible")).to_have_count(0)  # no "Sửa" / "Xóa"
        expect(page.locator("#roster-table td.row-actions:visible")).to_have_count(0)
        expect(page.locator("#roster-table thead th:visible")).to_have_count(9)  # no "Thao tác" column
        # The status comes first: before the table in the page's order and on the screen, the reason first in it.
        card, facts = page.locator(".status-card").bounding_box(), page.locator(".status-facts").bounding_box()
        top = page.locator("#roster-table").bounding_box()
        assert card["y"] + card["height"] <= top["y"], (card, top)
        assert reason.bounding_box()["y"] < facts["y"]
        assert page.evaluate("""() => Boolean(document.querySelector('.status-card')
            .compareDocumentPosition(document.getElementById('roster-table')) & Node.DOCUMENT_POSITION_FOLLOWING)""")

    page.get_by_role("button", name="Gửi danh sách về Bộ Nội vụ").click()
    page.get_by_role("dialog", name="Gửi danh sách về Bộ Nội vụ?").get_by_role("button", name="Gửi danh sách").click()
    outcome = page.locator("#status-message")
    expect(outcome.get_by_role("status")).to_have_text(
        re.compile(r"^Đã gửi danh sách về Bộ Nội vụ lúc \d\d:\d\d \d\d/\d\d/\d{4}\.$"))
    expect(outcome).to_be_focused()
    expect(outcome).to_be_in_viewport()
    assert page.evaluate("""() => Boolean(document.getElementById('status-message')
        .compareDocumentPosition(document.getElementById('lock-reason')) & Node.DOCUMENT_POSITION_FOLLOWING)""")
    assert_locked()
    page.screenshot(path=str(artifacts / "roster-sent-status.png"), full_page=True)
    assert_accessible(page, "the roster just sent at 1280 px")

    page.reload()
    expect(page.locator("#roster-status")).to_contain_text("Đã gửi")
    assert_locked()
    expect(outcome).to_have_text("")  # the sending's outcome was for the moment it happened; the reason stays

    page.set_viewport_size({"width": 375, "height": 812})
    expect(page.locator("#lock-reason")).to_be_in_viewport()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(artifacts / "roster-sent-phone.png"), full_page=True)
    assert_accessible(page, "the sent roster at 375 px")

    # Reopened, then sent from elsewhere while this page still offers the import: the refusal is told at the top.
    admin = login(stack, "admin")
    status, body = call(stack, "DELETE", f"/campaigns/demo/units/{unit}/roster/submit", bearer=admin,
                        body={"reason": "Bổ sung lãnh đạo cấp huyện"})
    assert status == 200, body
    page.set_viewport_size({"width": 1280, "height": 900})
    page.reload()
    expect(page.locator("#import-section")).to_be_visible()
    status, body = call(stack, "POST", f"/campaigns/demo/units/{unit}/roster/submit", bearer=province, body={})
    assert status == 200, body
    page.get_by_label("Tệp danh sách (.xlsx, tối đa 4 MB)").set_input_files(
        {"name": "bo-sung.xlsx", "mimeType": "application/octet-stream", "buffer": roster_workbook(rows[:1])})
    page.get_by_role("button", name="Tải lên và kiểm tra").click()
    expect(outcome.get_by_role("alert")).to_contain_text("Danh sách đã được gửi về Bộ Nội vụ nên không thể thay đổi")
    expect(outcome).to_be_focused()
    assert_locked()
    expect(page.locator("#import-message")).to_have_text("")

    # The ministry reopens it, so that no other test meets a sent roster here.
    status, body = call(stack, "DELETE", f"/campaigns/demo/units/{unit}/roster/submit", bearer=admin,
                        body={"reason": "Kiểm thử xong"})
    assert status == 200, body
    assert not new_page.errors, new_page.errors
