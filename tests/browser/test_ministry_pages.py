"""An assessed ministry's pages and the organiser's pages about the ministries, in real Chromium against the real API
(on moto), demo campaign.

Three department and division leaders of one province, whose managing ministry is the Ministry of Justice (BTP),
are sent their forms; two answer the managing-ministry questionnaire (through the API, tokens from the outbox). The
ministry's account logs in and lands on its home (only the phases that concern it, its self-assessment's state, its
survey counts, its notifications); it scores a line of the ministries' framework with a real PDF as evidence through
the page, the rest through the API, approves with its signed report and sees the form locked; its survey counts page
shows the forms asked and answered per province and group, never a name. The organiser's results page shows the
provinces' table and, on the other tab, the ministries' (an unranked ministry without a rank); national progress
lists each ministry's counts; the appraisal page offers the ministry. axe-core finds no serious or critical
violation, at 1280 px and at 375 px.

The stack is shared by every browser test of the session: unit 52 and ministry BTP are used by no other browser
test."""
from __future__ import annotations

import email
import email.policy
import re
from datetime import datetime
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from builders import person, roster_workbook
from test_assessment_pages import fill_approval, leaf, real_pdf, self_leaves
from test_site import log_in
from test_survey_form import assert_accessible, call, login

PROVINCE = "52"
MINISTRY = "BTP"
UNRANKED = "UBDT"  # assessed, not ranked
VN = ZoneInfo("Asia/Ho_Chi_Minh")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SAVED = re.compile(r"^Đã lưu lúc \d\d:\d\d \d\d/\d\d/\d{4}\.$")
LEADERS = [person(71, group="2", agency="Sở Tư pháp", position="Giám đốc Sở Tư pháp", email="gd.sotuphap@binhdinh.gov.vn"),
           person(72, group="2", agency="Sở Tư pháp", position="Phó Giám đốc Sở Tư pháp",
                  email="pgd.sotuphap@binhdinh.gov.vn"),
           person(73, group="3", agency="Sở Tư pháp", position="Trưởng phòng Văn bản",
                  email="tp.vanban@binhdinh.gov.vn")]
ADDRESSES = [row[5] for row in LEADERS]


def log_in_ministry(page, stack) -> None:
    username, password = stack.login_of(MINISTRY)
    page.goto("/")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(re.compile(r"/bo-nganh/"))


def survey_tokens(stack) -> dict[str, list[str]]:
    """Every survey token mailed to our leaders, by address."""
    stack.collect_mail()
    found: dict[str, list[str]] = {address: [] for address in ADDRESSES}
    for path in sorted(stack.outbox.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        to = {a.addr_spec for a in message["To"].addresses}
        for address in ADDRESSES:
            if address in to:
                text = message.get_body(preferencelist=("plain",)).get_content()
                found[address] += [t for t in re.findall(r"/khao-sat/#([A-Za-z0-9_-]+)", text)
                                   if t not in found[address]]
    return found


def answer(stack, token: str) -> None:
    status, survey = call(stack, "GET", "/survey", token=token)
    assert status == 200 and survey["state"] == "open", survey
    answers = {}
    for section in survey["questionnaire"]["sections"]:
        for q in section["questions"]:
            if q["type"] == "single":
                answers[q["id"]] = q["options"][0]["value"]
            elif q["type"] == "multi":
                answers[q["id"]] = [q["options"][0]["value"]]
            elif q["required"]:
                answers[q["id"]] = "Không có ý kiến thêm."
    status, body = call(stack, "POST", "/survey/submit", token=token, body={"answers": answers})
    assert status == 201, body


def purpose(stack, token: str) -> str:
    status, survey = call(stack, "GET", "/survey", token=token)
    assert status == 200, survey
    return survey["purpose"]


def leaders_answer_about_the_ministry(stack) -> None:
    """The province sends its three leaders, the organiser dispatches, two of the three answer the form about BTP."""
    province = login(stack, PROVINCE)
    status, body = call(stack, "POST", f"/campaigns/demo/units/{PROVINCE}/roster/imports?mode=replace",
                        bearer=province, raw=roster_workbook(LEADERS), content_type=XLSX)
    assert status == 200, body
    status, body = call(stack, "POST", f"/campaigns/demo/units/{PROVINCE}/roster/submit", bearer=province, body={})
    assert status == 200, body
    status, body = call(stack, "POST", "/campaigns/demo/dispatch", bearer=login(stack, "admin"),
                        body={"units": [PROVINCE]})
    assert status == 202, body
    assert stack.drain_queues() >= 2
    tokens = survey_tokens(stack)
    about = {address: [t for t in found if purpose(stack, t) == "ministry"] for address, found in tokens.items()}
    assert all(len(found) == 1 for found in about.values()), (about, tokens)
    answer(stack, about[ADDRESSES[0]][0])  # group 2
    answer(stack, about[ADDRESSES[2]][0])  # group 3


def test_a_ministry_scores_with_evidence_approves_and_sees_its_survey_counts_and_the_organiser_sees_both_tables(
        stack, new_page, artifacts, tmp_path):
    leaders_answer_about_the_ministry(stack)
    evidence = real_pdf(tmp_path / "ke-hoach-cchc-bo-tu-phap.pdf", "Ke hoach CCHC Bo Tu phap")
    report = real_pdf(tmp_path / "bao-cao-tu-danh-gia-bo.pdf", "Bao cao tu danh gia")
    today = datetime.now(VN).strftime("%d/%m/%Y")
    ministry = login(stack, MINISTRY)
    status, framework = call(stack, "GET", "/campaigns/demo/framework?kind=ministry", bearer=ministry)
    assert status == 200, framework
    leaves = self_leaves(framework["fields"])
    first_code, first_max = leaves[0]["code"], leaves[0]["max"]

    # 1. The ministry's home: the phases that concern it, its self-assessment, its survey counts, its notifications.
    page = new_page()
    log_in_ministry(page, stack)
    expect(page).to_have_url(re.compile(r"/bo-nganh/\?dot=demo$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Tư pháp")
    expect(page.locator('#phases > li[data-phase="self_assessment"]')).to_contain_text("Đang mở")
    for hidden in ("focal_person", "roster", "survey", "appraisal"):
        expect(page.locator(f'#phases > li[data-phase="{hidden}"]')).to_have_count(0)
    expect(page.locator("#assessment-summary")).to_contain_text("Đang nhập")
    expect(page.locator("#survey-summary")).to_contain_text("2/3")
    expect(page.locator("#survey-summary")).to_contain_text("ở 1 tỉnh, thành phố")
    expect(page.locator("#notifications")).not_to_have_attribute("aria-busy", "true")
    page.screenshot(path=str(artifacts / "ministry-home.png"), full_page=True)
    assert_accessible(page, "ministry home")

    # 2. The self-assessment: the ministries' framework, a line scored with a real PDF through the page.
    page.get_by_role("link", name="Tự đánh giá, chấm điểm").click()
    expect(page).to_have_url(re.compile(r"/bo-nganh/tu-danh-gia\.html\?dot=demo$"))
    expect(page.locator("#back-link")).to_have_attribute("href", "/bo-nganh/?dot=demo")
    expect(page.locator("#framework-note")).to_contain_text("bộ, cơ quan ngang bộ")
    expect(page.locator("article.assess-leaf[data-method='self']")).to_have_count(len(leaves))
    first = leaf(page, first_code)
    score = first.get_by_label(f"Điểm tự chấm (mục {first_code})")
    score.fill(str(first_max + 1))
    first.get_by_role("button", name=f"Lưu mục {first_code}").click()
    expect(first.locator(".field-error")).to_contain_text("Điểm không được lớn hơn điểm tối đa")
    score.fill(str(first_max))
    first.get_by_label(f"Ghi chú (mục {first_code})").fill("Kế hoạch CCHC của Bộ ban hành ngày 20/12/2020.")
    first.get_by_label(f"Thêm tài liệu kiểm chứng (mục {first_code})").set_input_files(str(evidence))
    expect(first.locator(".evidence-files a")).to_have_text("ke-hoach-cchc-bo-tu-phap.pdf")
    expect(first.locator(".save-state")).to_have_text(SAVED)
    assert_accessible(page, "ministry self-assessment (draft)")

    for item in leaves[1:]:  # the rest through the API: the page's way is covered above
        status, body = call(stack, "PUT", f"/campaigns/demo/units/{MINISTRY}/assessment/items/{item['code']}",
                            bearer=ministry, body={"score": item["max"], "note": "", "evidence": [],
                                                   "explanation": "Tài liệu lưu bản giấy tại Văn phòng Bộ."})
        assert status == 200, body
    page.reload()
    expect(page.locator("#missing-box")).to_contain_text("Đơn vị có thể phê duyệt báo cáo")
    expect(page.locator("#approve-form")).to_contain_text("lãnh đạo Bộ, cơ quan ngang bộ phê duyệt")
    fill_approval(page, report, today)
    expect(page.locator("#approve-message")).to_contain_text("Đã phê duyệt báo cáo tự đánh giá và gửi Bộ Nội vụ lúc")
    expect(page.locator("#assess-state")).to_contain_text("Đã phê duyệt, gửi Bộ Nội vụ")
    expect(page.locator("#lock-notice")).to_be_visible()
    expect(page.locator("input:enabled.score-input")).to_have_count(0)
    expect(page.locator("#approval-facts a")).to_have_text("bao-cao-tu-danh-gia-bo.pdf")
    page.screenshot(path=str(artifacts / "ministry-self-assessment-approved.png"), full_page=False)
    assert_accessible(page, "ministry self-assessment (approved)")

    # 3. Its survey counts: per province and group, counts only.
    page.get_by_role("link", name="Về trang chính").click()
    expect(page.locator("#assessment-summary")).to_contain_text("Đã phê duyệt")
    page.get_by_role("link", name="Tiến độ khảo sát về Bộ").click()
    expect(page).to_have_url(re.compile(r"/bo-nganh/tien-do\.html\?dot=demo$"))
    expect(page.locator('#totals [data-total="asked"] dd')).to_have_text("3")
    expect(page.locator('#totals [data-total="answered"] dd')).to_have_text("2")
    row = page.locator(f'#survey-table tbody tr[data-unit="{PROVINCE}"]')
    expect(row.locator('td[data-group="2"]')).to_have_text("1/2")
    expect(row.locator('td[data-group="3"]')).to_have_text("1/1")
    expect(row.locator('td[data-total="row"]')).to_have_text("2/3")
    expect(page.locator("#survey-table thead")).to_contain_text("Lãnh đạo cấp sở")
    body_text = page.locator("main").inner_text()
    assert not any(address in body_text or name in body_text for address, name in
                   zip(ADDRESSES, [row_[1] for row_ in LEADERS])), body_text
    page.screenshot(path=str(artifacts / "ministry-survey-counts.png"), full_page=True)
    assert_accessible(page, "ministry survey counts")

    # The same pages on a phone.
    phone = new_page(375, 812)
    log_in_ministry(phone, stack)
    expect(phone.locator("#survey-summary")).to_contain_text("2/3")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert_accessible(phone, "ministry home on a phone")
    phone.goto("/bo-nganh/tien-do.html?dot=demo")
    expect(phone.locator('#totals [data-total="answered"] dd')).to_have_text("2")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert_accessible(phone, "ministry survey counts on a phone")
    phone.goto("/bo-nganh/tu-danh-gia.html?dot=demo")
    expect(phone.locator("#assess-state")).to_contain_text("Đã phê duyệt")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert_accessible(phone, "ministry self-assessment on a phone")

    # A ministry's account is sent away from the organiser's and the provinces' pages.
    page.goto("/bo/ket-qua.html")
    expect(page).to_have_url(re.compile(r"/bo-nganh/"))
    page.goto("/tinh/tu-danh-gia.html")
    expect(page).to_have_url(re.compile(r"/bo-nganh/"))

    # 4. The organiser's results: the provinces' table, then the ministries' on the other tab.
    admin = new_page()
    log_in(admin, stack, "admin")
    admin.goto("/bo/ket-qua.html?dot=demo")
    provinces_tab = admin.get_by_role("tab", name="Tỉnh, thành phố")
    ministries_tab = admin.get_by_role("tab", name="Bộ, cơ quan ngang bộ")
    expect(provinces_tab).to_have_attribute("aria-selected", "true")
    table = admin.locator("#results-table")
    expect(table).not_to_have_attribute("aria-busy", "true")
    expect(table.locator(f'tbody tr[data-unit="{PROVINCE}"]')).to_be_visible()
    expect(table.locator('tbody tr[data-unit="01"]')).to_be_visible()
    expect(admin.locator("#risk-column")).to_be_visible()
    ministries_tab.click()
    expect(ministries_tab).to_have_attribute("aria-selected", "true")
    expect(admin).to_have_url(re.compile(r"loai=bo-nganh"))
    expect(admin.get_by_role("tabpanel")).to_have_attribute("aria-labelledby", "tab-ministry")
    expect(table.locator(f'tbody tr[data-unit="{MINISTRY}"]')).to_be_visible()
    expect(table.locator(f'tbody tr[data-unit="{PROVINCE}"]')).to_have_count(0)
    status, data = call(stack, "GET", "/campaigns/demo/results?kind=ministry", bearer=login(stack, "admin"))
    assert status == 200, data
    expect(table.locator("tbody tr")).to_have_count(len(data["units"]))
    ours = next(u for u in data["units"] if u["unit"] == MINISTRY)
    mine = table.locator(f'tbody tr[data-unit="{MINISTRY}"]')
    expect(mine.locator("td.rank")).to_have_text(str(ours["rank"]))
    expect(mine.locator("td.index")).to_have_text(f"{ours['index']:.2f}".replace(".", ","))
    expect(mine).to_contain_text("Đã phê duyệt tự đánh giá")
    unranked = table.locator(f'tbody tr[data-unit="{UNRANKED}"]')
    expect(unranked.locator("td.rank")).to_have_text("Không xếp hạng")
    expect(admin.locator("#risk-column")).to_be_hidden()
    expect(admin.locator("#ranking table.chart-data")).not_to_contain_text(
        next(u["name"] for u in data["units"] if u["unit"] == UNRANKED))
    admin.screenshot(path=str(artifacts / "results-ministries.png"), full_page=False)
    assert_accessible(admin, "results page, ministries' tab")
    # Keyboard: the arrow key goes back to the provinces.
    ministries_tab.focus()
    admin.keyboard.press("ArrowLeft")
    expect(provinces_tab).to_be_focused()
    expect(provinces_tab).to_have_attribute("aria-selected", "true")
    expect(table.locator(f'tbody tr[data-unit="{PROVINCE}"]')).to_be_visible()
    admin.goto("/bo/ket-qua.html?dot=demo&loai=bo-nganh")  # the tab is kept in the address
    expect(admin.get_by_role("tab", name="Bộ, cơ quan ngang bộ")).to_have_attribute("aria-selected", "true")
    expect(table.locator(f'tbody tr[data-unit="{MINISTRY}"]')).to_be_visible()

    # 5. National progress: each ministry's forms asked and answered.
    admin.goto("/bo/tien-do.html?dot=demo")
    ministries = admin.locator("#ministries-table")
    expect(ministries).to_be_visible()
    btp = ministries.locator(f'tbody tr[data-unit="{MINISTRY}"]')
    expect(btp.locator("td.num").nth(0)).to_have_text("3")
    expect(btp.locator("td.num").nth(1)).to_have_text("2")
    expect(ministries.locator(f'tbody tr[data-unit="{UNRANKED}"]')).to_contain_text("Không xếp hạng")
    assert_accessible(admin, "national progress with the ministries")

    # 6. The appraisal page offers the ministry among the units, under its own heading.
    admin.goto("/bo/tham-dinh.html?dot=demo")
    picker = admin.get_by_label("Đơn vị", exact=True)
    expect(picker.locator('optgroup[label="Bộ, cơ quan ngang bộ"] option')).to_have_count(
        len(data["units"]))
    picker.select_option(MINISTRY)
    expect(admin).to_have_url(re.compile(rf"unit={MINISTRY}"))
    expect(admin.locator("#assess-state")).to_contain_text("Đã phê duyệt, gửi Bộ Nội vụ")
    expect(admin.locator(f'tr.leaf-row[data-code="{first_code}"] .self-cell a')).to_have_text(
        "ke-hoach-cchc-bo-tu-phap.pdf")
    assert not new_page.errors, new_page.errors
