"""Survey dispatch and progress in real Chromium against the real API (on moto), demo campaign (survey open today).

A province sends a two-person roster (through the API); the ministry dispatches from its home page and follows the
run until it is finished while the test delivers the queues; the province opens "Chi tiết tiến độ khảo sát" and sees
its totals, the chart of the response rate per group (an SVG with a hidden data table) and its respondents; one
respondent answers (through the API, with the token from the outbox) and the province sees it after a refresh; a
reminder to the other is refused for the 24-hour interval and says so; a bounced address (the API's answer stubbed
in the browser) opens the "Sửa email" dialog where the server's field error lands beside the field; the workbook is
exported; the ministry opens the national page, sorts by rate, drills down to the unit and exports.

The stack is shared by every browser test of the session: unit 24 is used by no other browser test."""
from __future__ import annotations

import email
import email.policy
import json
import re

from openpyxl import load_workbook
from playwright.sync_api import expect

from builders import person, roster_workbook
from test_site import log_in
from test_survey_form import assert_accessible, call, login

UNIT = "24"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DELEGATE = "dai.bieu.tien.do@hdnd.gov.vn"
CHAIRMAN = "chu.tich.tien.do@ubnd.gov.vn"
ROWS = [person(41, group="1", agency="Hội đồng nhân dân tỉnh", position="Đại biểu HĐND tỉnh", email=DELEGATE),
        person(42, group="4", agency="UBND huyện Mèo Vạc", position="Chủ tịch UBND huyện", email=CHAIRMAN)]
DELEGATE_NAME, CHAIRMAN_NAME = ROWS[0][1], ROWS[1][1]


def send_roster(stack) -> None:
    province = login(stack, UNIT)
    status, body = call(stack, "POST", f"/campaigns/demo/units/{UNIT}/roster/imports?mode=replace", bearer=province,
                        raw=roster_workbook(ROWS), content_type=XLSX)
    assert status == 200, body
    status, body = call(stack, "POST", f"/campaigns/demo/units/{UNIT}/roster/submit", bearer=province, body={})
    assert status == 200, body


def tokens_from_outbox(stack) -> dict[str, str]:
    """The survey token of each of our respondents, from the mails the outbox received."""
    found = {}
    for path in stack.collect_mail():
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        to = str(message["To"])
        for address in (DELEGATE, CHAIRMAN):
            if address in to:
                text = message.get_body(preferencelist=("plain",)).get_content()
                found[address] = re.search(r"/khao-sat/#([A-Za-z0-9_-]+)", text).group(1)
    return found


def answer_survey(stack, token: str) -> None:
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


def total(page, key: str):
    return page.locator(f'#totals [data-total="{key}"] dd')


def row_of(page, name: str):
    return page.locator("#pp-table tbody tr").filter(has=page.get_by_role("rowheader", name=name))


def test_the_ministry_dispatches_and_a_province_follows_reminds_and_exports_its_progress(
        stack, new_page, artifacts, tmp_path):
    send_roster(stack)
    admin_token = login(stack, "admin")
    status, campaign = call(stack, "GET", "/campaigns/demo", bearer=admin_token)
    assert status == 200, campaign
    provinces = [u for u in campaign["units"] if u["kind"] == "province"]  # the assessed ministries send no roster
    ready = sum(1 for u in provinces if u["roster_status"] == "submitted")
    assert ready >= 1

    # 1. The ministry dispatches from its home page and follows the run to its end.
    admin = new_page()
    log_in(admin, stack, "admin")
    panel = admin.locator("#dispatch-panel")
    expect(panel.get_by_role("heading", level=2)).to_have_text("Phát hành phiếu khảo sát")
    expect(admin.locator("#dispatch-summary")).to_contain_text(f"{ready}/{len(provinces)} đơn vị")
    expect(admin.locator("#dispatch-summary")).to_contain_text("đã gửi danh sách")
    admin.get_by_role("button", name="Phát hành phiếu khảo sát").click()
    dialog = admin.get_by_role("dialog", name="Phát hành phiếu khảo sát?")
    expect(dialog).to_contain_text(f"Có {ready} đơn vị (trên tổng số {len(provinces)}) đã gửi danh sách")
    admin.screenshot(path=str(artifacts / "dispatch-confirm.png"))
    dialog.get_by_role("button", name=f"Phát hành tới {ready} đơn vị").click()
    expect(dialog).to_be_hidden()
    expect(admin.locator("#dispatch-message")).to_contain_text(f"Đã bắt đầu phát hành tới {ready} đơn vị")
    run = admin.locator("#runs li.run").first
    expect(run).to_be_visible()
    expect(run.locator("progress").first).to_be_visible()
    assert stack.drain_queues() >= 2  # the unit jobs, then their mail
    expect(run).to_have_attribute("data-finished", "true", timeout=15000)
    expect(run).to_contain_text("Hoàn tất")
    expect(run).to_contain_text(f"Đơn vị đã xử lý: {ready}/{ready}")
    expect(admin.locator("#dispatch-message")).to_contain_text("Đã phát hành xong")
    units_bar = run.get_by_label(re.compile(r"^Đơn vị đã xử lý"))
    assert units_bar.get_attribute("value") == units_bar.get_attribute("max")
    panel.screenshot(path=str(artifacts / "dispatch-finished.png"))
    assert_accessible(admin, "ministry home with the dispatch panel")
    tokens = tokens_from_outbox(stack)
    assert set(tokens) == {DELEGATE, CHAIRMAN}, tokens

    # 2. The province opens its progress page from its home page: totals, chart, respondents.
    page = new_page()
    page.clock.install()  # time flows as usual; the test can move it on to the next automatic refresh
    log_in(page, stack, UNIT)
    page.get_by_role("link", name="Chi tiết tiến độ khảo sát").click()
    expect(page).to_have_url(re.compile(r"/tinh/tien-do\.html\?dot=demo$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Chi tiết tiến độ khảo sát")
    expect(total(page, "total")).to_have_text("2")
    expect(total(page, "mailed")).to_have_text("2")
    expect(total(page, "submitted")).to_have_text("0")
    expect(total(page, "not_sent")).to_have_text("0")
    expect(total(page, "rate")).to_have_text("0%")
    chart = page.locator("#chart figure:first-of-type svg[role='img']")
    expect(chart).to_be_visible()
    assert "tỷ lệ trả lời" in chart.get_attribute("aria-label")
    expect(page.locator("#chart figure:first-of-type .chart-row")).to_have_count(2)
    data_table = page.locator("#chart figure:first-of-type .visually-hidden table.chart-data")
    expect(data_table.locator("tbody tr")).to_have_count(2)
    expect(data_table.locator("caption")).to_have_text("Tỷ lệ trả lời theo nhóm đối tượng và phiếu")
    expect(page.locator("#pp-table tbody tr")).to_have_count(2)
    expect(row_of(page, DELEGATE_NAME).locator(".badge-link")).to_have_text("Đã gửi")
    expect(row_of(page, DELEGATE_NAME)).to_contain_text(DELEGATE)
    expect(page.locator("#pp-count")).to_have_text("Có 2 người nhận phiếu; đang hiển thị 1–2.")
    expect(page.locator("#notifications")).to_contain_text("Bộ Nội vụ đã phát hành phiếu khảo sát")

    # 3. One respondent answers: the next automatic refresh (every 30 s) brings the totals; after a reload the
    #    table shows who answered.
    answer_survey(stack, tokens[DELEGATE])
    expect(total(page, "submitted")).to_have_text("0")
    page.clock.run_for(31000)
    expect(total(page, "submitted")).to_have_text("1")
    expect(total(page, "rate")).to_have_text("50%")
    expect(row_of(page, DELEGATE_NAME).locator(".badge-link")).to_have_text("Đã gửi")  # the table stays put
    page.reload()
    expect(total(page, "submitted")).to_have_text("1")
    expect(total(page, "opened")).to_have_text("1")  # opened includes answered: never below "Đã trả lời"
    expect(total(page, "rate")).to_have_text("50%")
    expect(row_of(page, DELEGATE_NAME).locator(".badge-link")).to_have_text("Đã trả lời")
    expect(row_of(page, DELEGATE_NAME).locator(".link-times")).to_contain_text("trả lời ")
    expect(page.locator("#chart figure:first-of-type .chart-bar[data-value='100']")).to_have_count(1)
    expect(data_table.locator("tbody")).to_contain_text("100%")
    by_day = page.locator("#chart figure:nth-of-type(2)")  # answers per day
    expect(page.locator("#chart h3")).to_have_text("Số phiếu được trả lời theo ngày")  # the chart's own title
    expect(by_day.locator("svg[role='img']")).to_be_visible()
    expect(by_day.locator(".chart-row")).to_have_count(1)
    assert_accessible(page, "province progress")
    page.screenshot(path=str(artifacts / "progress-province.png"), full_page=True)

    # 4. Filters: status and search ask the API.
    page.get_by_label("Trạng thái").select_option(label="Đã trả lời")
    expect(page.locator("#pp-table tbody tr")).to_have_count(1)
    # no one shown has anything left to do: no empty "Thao tác" column
    actions_head = page.locator("#pp-table thead th", has_text="Thao tác")
    expect(actions_head).to_be_hidden()
    expect(page.locator("#pp-table .row-actions")).to_have_count(0)
    expect(page.locator("#pp-count")).to_contain_text("Có 1 người phù hợp (trong 2 người)")
    page.get_by_label("Trạng thái").select_option(label="Chưa trả lời")
    expect(page.locator("#pp-table tbody tr")).to_have_count(1)
    expect(row_of(page, CHAIRMAN_NAME)).to_be_visible()
    page.get_by_label("Trạng thái").select_option(label="Tất cả trạng thái")
    expect(actions_head).to_be_visible()
    page.get_by_label("Cơ quan, đơn vị").fill("meo vac")
    expect(page.locator("#pp-table tbody tr")).to_have_count(1)
    expect(row_of(page, CHAIRMAN_NAME)).to_be_visible()
    page.get_by_label("Cơ quan, đơn vị").fill("")
    expect(page.locator("#pp-table tbody tr")).to_have_count(2)

    # 5. A reminder to the one who has not answered: refused for the 24-hour interval, and the page says so.
    expect(page.get_by_label(f"Chọn {DELEGATE_NAME}")).to_be_disabled()
    remind = page.get_by_role("button", name=re.compile(r"^Nhắc những người đã chọn"))
    expect(remind).to_be_disabled()
    page.get_by_label(f"Chọn {CHAIRMAN_NAME}").check()
    expect(remind).to_have_text("Nhắc những người đã chọn (1)")
    remind.click()
    # The preview says it first (people, not forms), and nothing is sent: no confirmation is offered.
    result = page.locator("#remind-message")
    expect(result).to_contain_text("Chưa nhắc được ai lúc này.")
    expect(result).to_contain_text("1 người vừa được gửi thư trong vòng 24 giờ qua: nhắc được từ ")
    expect(result).to_contain_text(re.compile(r"nhắc được từ \d{2}:\d{2} \d{2}/\d{2}/\d{4}"))
    expect(result).not_to_contain_text("đã trả lời")
    expect(page.get_by_role("dialog")).to_have_count(0)
    # Everyone: the answered one is counted apart, as a person.
    page.get_by_role("button", name="Nhắc tất cả người chưa trả lời").click()
    expect(result).to_contain_text("1 người đã trả lời.")
    expect(result).to_contain_text("1 người vừa được gửi thư trong vòng 24 giờ qua")
    expect(page.get_by_role("dialog")).to_have_count(0)
    # A day later (the preview's answer stubbed): the dialog says how many people now, and who must wait.
    page.route(re.compile(rf"/campaigns/demo/units/{UNIT}/reminders/preview$"), lambda route: route.fulfill(
        status=200, content_type="application/json", body=json.dumps({
            "people": {"now": 1, "recent": 1, "answered": 1, "undeliverable": 0},
            "forms": {"now": 2, "recent": 1, "answered": 1, "undeliverable": 0},
            "recent_from": "2030-01-02T01:00:00Z", "recent_from_label": "08:00 02/01/2030",
            "recent_until_label": "08:00 02/01/2030"})))
    page.get_by_role("button", name="Nhắc tất cả người chưa trả lời").click()
    confirm = page.get_by_role("dialog", name="Nhắc tất cả người chưa trả lời?")
    expect(confirm.locator(".remind-now")).to_have_text("Nhắc được ngay 1 người (2 phiếu).")
    expect(confirm.locator(".remind-later")).to_contain_text(
        "1 người vừa được gửi thư trong vòng 24 giờ qua: nhắc được từ 08:00 02/01/2030.")
    expect(confirm.get_by_role("button", name="Gửi thư nhắc cho 1 người")).to_be_visible()
    assert_accessible(page, "reminder preview")
    confirm.get_by_role("button", name="Hủy").click()
    expect(confirm).to_be_hidden()
    page.unroute(re.compile(rf"/campaigns/demo/units/{UNIT}/reminders/preview$"))

    # 6. A bounced address (the API's answer stubbed): the dialog, and the server's own field error beside the field.
    def bounced(route):
        response = route.fetch()
        data = response.json()
        for item in data.get("people", []):
            if item["email"] == CHAIRMAN:
                item["links"][0].update(state="bounced", state_name="Thư bị trả lại",
                                        problem="Thư bị trả lại: 550 no such user")
        route.fulfill(response=response, body=json.dumps(data))

    page.route(re.compile(rf"/campaigns/demo/units/{UNIT}/progress\?"), bounced)
    page.get_by_label("Tìm theo họ tên hoặc email").fill("chu.tich")
    expect(row_of(page, CHAIRMAN_NAME).locator(".badge-link")).to_have_text("Thư bị trả lại")
    expect(row_of(page, CHAIRMAN_NAME).locator(".link-problem")).to_have_text("Thư bị trả lại: 550 no such user")
    row_of(page, CHAIRMAN_NAME).get_by_role("button", name=f"Sửa email của {CHAIRMAN_NAME}").click()
    fix = page.get_by_role("dialog", name="Sửa email người nhận")
    expect(fix).to_be_visible()
    field = fix.get_by_label("Email mới")
    expect(field).to_be_focused()
    expect(field).to_have_value(CHAIRMAN)
    field.fill("chu.tich.sai-dinh-dang")
    fix.get_by_role("button", name="Lưu và gửi lại phiếu").click()
    expect(field).to_have_attribute("aria-invalid", "true")
    error = page.locator("#email-input-error")
    expect(error).to_be_visible()
    assert error.get_attribute("id") in (field.get_attribute("aria-describedby") or "")
    page.screenshot(path=str(artifacts / "progress-email-dialog.png"))
    fix.get_by_role("button", name="Hủy").click()
    expect(fix).to_be_hidden()
    page.unroute(re.compile(rf"/campaigns/demo/units/{UNIT}/progress\?"))
    page.reload()  # back to the server's own answers (no stub, no search)
    expect(page.locator("#pp-table tbody tr")).to_have_count(2)

    # 7. The workbook: a short-lived link, then the file itself.
    with page.expect_download() as info:
        page.get_by_role("button", name="Xuất Excel").click()
    download = info.value
    assert download.suggested_filename == f"tien-do-khao-sat-demo-{UNIT}.xlsx"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    book = load_workbook(saved)
    assert book.sheetnames == ["Tổng hợp", "Chi tiết"]
    people = [[c.value for c in row] for row in book["Chi tiết"].iter_rows(min_row=2)]
    summary_rows = list(book["Tổng hợp"].iter_rows(values_only=True))
    head = list(next(row for row in summary_rows if row[0] == "Nhóm đối tượng"))
    total_row = next(row for row in summary_rows if row[0] == "Tổng cộng")
    assert total_row[head.index("Đã mở")] >= total_row[head.index("Đã trả lời")] == 1, total_row
    assert sorted((r[1], r[5], r[7]) for r in people) == sorted(
        [(DELEGATE_NAME, DELEGATE, "Đã trả lời"), (CHAIRMAN_NAME, CHAIRMAN, "Đã gửi")]), people
    expect(page.locator("#export-message")).to_contain_text(f"Đã tạo tệp {download.suggested_filename}")

    # 8. At phone width the page still reads: the table scrolls in its own region, the chart keeps its text size.
    phone = new_page(width=375, height=800)
    log_in(phone, stack, UNIT)
    phone.goto("/tinh/tien-do.html?dot=demo")
    expect(phone.locator("#chart figure:first-of-type svg[role='img']")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    # An address wraps only between its parts: each part of it sits on one line, the whole reads as typed.
    cell = phone.locator("#pp-table td.email").first
    expect(cell).to_have_text(re.compile(r"^[\w.]+@[\w.]+$"))
    parts = cell.locator("span.nowrap")
    assert parts.count() == cell.inner_text().count("@") + cell.inner_text().count(".") + 1
    assert all(n == 1 for n in parts.evaluate_all("spans => spans.map(s => s.getClientRects().length)"))
    phone.screenshot(path=str(artifacts / "progress-province-phone.png"), full_page=True)

    # 9. The ministry's national page: totals, ranking chart, sorting by rate, drill-down, export.
    admin.goto("/bo/?dot=demo")
    admin.get_by_role("link", name="Xem tiến độ khảo sát toàn quốc").click()
    expect(admin).to_have_url(re.compile(r"/bo/tien-do\.html\?dot=demo$"))
    expect(admin.get_by_role("heading", level=1)).to_have_text("Tiến độ khảo sát toàn quốc")
    ours = admin.locator(f'#national-table tbody tr[data-unit="{UNIT}"]')
    expect(ours).to_contain_text("50%")
    heads = [t.strip() for t in admin.locator("#national-table thead th").all_inner_texts()]
    opened_col = next(i for i, h in enumerate(heads) if h.startswith("Đã mở"))
    submitted_col = next(i for i, h in enumerate(heads) if h.startswith("Đã trả lời"))
    row_texts = [t.strip() for t in ours.locator("th, td").all_inner_texts()]
    assert int(row_texts[opened_col]) >= int(row_texts[submitted_col]) == 1, (heads, row_texts)
    expect(admin.locator("#national-table th[data-sort='code']")).to_have_attribute("aria-sort", "ascending")
    admin.get_by_role("button", name=re.compile(r"^Tỷ lệ trả lời")).click()
    rate_header = admin.locator("#national-table th[data-sort='rate']")
    expect(rate_header).to_have_attribute("aria-sort", "descending")
    expect(admin.locator("#national-table th[data-sort='code']")).not_to_have_attribute("aria-sort", "ascending")
    expect(admin.locator("#unit-count")).to_contain_text("sắp xếp theo tỷ lệ trả lời (cao xuống thấp)")
    expect(admin).to_have_url(re.compile(r"sap-xep=rate"))
    rates = [float(t.strip().rstrip("%").replace(",", ".")) for t in
             admin.locator("#national-table tbody tr td:last-child").all_inner_texts()]
    assert rates == sorted(rates, reverse=True) and 50.0 in rates, rates
    ranking = admin.locator("#ranking svg[role='img']")
    expect(ranking).to_be_visible()
    expect(admin.locator("#ranking .visually-hidden table.chart-data tbody")).to_contain_text(
        next(u["name"] for u in campaign["units"] if u["code"] == UNIT))
    assert admin.locator("#ranking .chart-bar").count() >= 1
    assert_accessible(admin, "national progress")
    admin.screenshot(path=str(artifacts / "progress-national.png"))
    with admin.expect_download() as info:
        admin.get_by_role("button", name="Xuất Excel").click()
    national = info.value
    assert national.suggested_filename == "tien-do-khao-sat-demo-toan-quoc.xlsx"
    saved = tmp_path / national.suggested_filename
    national.save_as(saved)
    sheet = load_workbook(saved)["Toàn quốc"]
    assert any(row[0] == UNIT for row in sheet.iter_rows(values_only=True)), list(sheet.iter_rows(values_only=True))

    # 10. Drill down: the unit's page shows its progress and people.
    ours.get_by_role("link").click()
    expect(admin).to_have_url(re.compile(rf"/bo/don-vi\.html\?dot=demo&don-vi={UNIT}$"))
    expect(admin.locator('#progress-totals [data-total="rate"] dd')).to_have_text("50%")
    expect(admin.locator('#progress-totals [data-total="opened"] dd')).to_have_text("1")
    expect(admin.locator("#progress-chart svg[role='img']")).to_be_visible()
    expect(admin.locator("#pp-table tbody tr")).to_have_count(2)
    expect(admin.locator("#pp-table")).to_contain_text("Đã trả lời")
    admin.screenshot(path=str(artifacts / "progress-ministry-unit.png"), full_page=True)

    assert not new_page.errors, new_page.errors


def test_the_national_ranking_gives_tied_units_one_rank_and_the_average_counts_units_with_data(stack, new_page):
    """The ranking and the average as the page draws them from the API's answer (rates stubbed to make a tie)."""
    def stub(route):
        data = route.fetch().json()
        for unit, (submitted, total_) in zip(data["units"], [(3, 4), (1, 2), (2, 4), (1, 4), (0, 0)]):
            unit.update(total=total_, submitted=submitted, annulled=False,
                        rate=round(100 * submitted / total_, 1) if total_ else 0.0)
        for unit in data["units"][5:]:
            unit.update(total=0, submitted=0, rate=0.0)
        data["average"] = {"rate": 50.0, "units": 4}
        route.fulfill(json=data)

    admin = new_page()
    log_in(admin, stack, "admin")
    admin.route(re.compile(r"/campaigns/demo/progress\?"), stub)
    admin.goto("/bo/tien-do.html?dot=demo")
    expect(admin.locator("#ranking table.chart-data tbody tr")).to_have_count(4)
    texts = admin.locator("#ranking table.chart-data tbody th").all_text_contents()
    assert [t.split(".")[0] for t in texts] == ["1", "2", "2", "4"], texts  # 75%, 50%, 50%, 25%
    expect(admin.locator("#ranking .chart-label").filter(has_text=re.compile(r"^2\. "))).to_have_count(2)
    expect(admin.locator("#average")).to_have_text(
        "Tỷ lệ trả lời trung bình của các đơn vị: 50% (trung bình của 4 đơn vị có số liệu; đơn vị chưa được phát hành "
        "phiếu hoặc bị hủy kết quả không được tính).")
    assert_accessible(admin, "national progress with ties")
    assert not new_page.errors, new_page.errors
