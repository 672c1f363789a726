"""The ministry's integrity review page (bo/kiem-tra.html) in real Chromium against the real API (on moto).

A province sends a roster of seven HĐND delegates (through the API), the ministry dispatches to that unit and the
queues run; six delegates open and submit their questionnaire from one loopback address (127.0.0.5) within a minute,
as one official filling in for everybody would. The admin goes from the ministry home to "Rà soát can thiệp",
presses "Quét ngay", sees the unit flagged at the top with the shared-address evidence (address, six respondents,
the time span, the six links), annuls its results (the reason is required: the browser's own check, then the
server's 422 beside the field), sees the unit annulled and reinstates it with a reason.

The stack is shared by every browser test of the session: unit 27 is used by no other browser test."""
from __future__ import annotations

import email
import email.policy
import http.client
import json
import re
import time
from urllib.parse import urlsplit

from playwright.sync_api import expect

from builders import person, roster_workbook
from test_site import log_in
from test_survey_form import assert_accessible, call, login

UNIT = "27"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ADDRESS = "127.0.0.5"
EMAILS = [f"dai.bieu{i}.kiem.tra@hdnd.gov.vn" for i in range(1, 8)]
ROWS = [person(70 + i, group="1", agency="Hội đồng nhân dân tỉnh", position="Đại biểu HĐND tỉnh", email=address)
        for i, address in enumerate(EMAILS, start=1)]
SPAN = re.compile(r"từ \d\d:\d\d đến \d\d:\d\d ngày \d\d/\d\d/\d{4}|lúc \d\d:\d\d \d\d/\d\d/\d{4}"
                  r"|từ \d\d:\d\d \d\d/\d\d/\d{4} đến \d\d:\d\d \d\d/\d\d/\d{4}")


def call_from(stack, source: str, method: str, path: str, *, token: str, body: object = None) -> tuple[int, dict]:
    """One survey call from a chosen local address: the API records the connection's real peer address."""
    url = urlsplit(stack.api_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60, source_address=(source, 0))
    headers = {"Accept": "application/json", "X-Survey-Token": token, "User-Agent": "Mozilla/5.0 Chrome/120"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        text = response.read()
        return response.status, json.loads(text) if text else {}
    finally:
        conn.close()


def survey_tokens(stack) -> dict[str, str]:
    """Dispatch to our unit and run the queues until every delegate's invitation is in the outbox."""
    found: dict[str, str] = {}
    for _ in range(6):
        stack.drain_queues(timeout=30)
        for path in stack.collect_mail():
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            to = str(message["To"])
            for address in EMAILS:
                if address in to:
                    text = message.get_body(preferencelist=("plain",)).get_content()
                    found[address] = re.search(r"/khao-sat/#([A-Za-z0-9_-]+)", text).group(1)
        if len(found) == len(EMAILS):
            break
        time.sleep(1)
    return found


def answers_for(survey: dict) -> dict:
    answers = {}
    for section in survey["questionnaire"]["sections"]:
        for q in section["questions"]:
            if q["type"] == "single":
                answers[q["id"]] = q["options"][0]["value"]
            elif q["type"] == "multi":
                answers[q["id"]] = [q["options"][0]["value"]]
            elif q["required"]:
                answers[q["id"]] = "Không có ý kiến thêm."
    return answers


def interfere(stack) -> list[str]:
    province = login(stack, UNIT)
    status, body = call(stack, "POST", f"/campaigns/demo/units/{UNIT}/roster/imports?mode=replace", bearer=province,
                        raw=roster_workbook(ROWS), content_type=XLSX)
    assert status == 200, body
    status, body = call(stack, "POST", f"/campaigns/demo/units/{UNIT}/roster/submit", bearer=province, body={})
    assert status == 200, body
    admin = login(stack, "admin")
    status, body = call(stack, "POST", "/campaigns/demo/dispatch", bearer=admin, body={"units": [UNIT]})
    assert status == 202, body
    tokens = survey_tokens(stack)
    assert set(tokens) == set(EMAILS), tokens
    used = [tokens[address] for address in EMAILS[:6]]
    for token in used:
        status, survey = call_from(stack, ADDRESS, "GET", "/survey", token=token)
        assert status == 200 and survey["state"] == "open", survey
        status, body = call_from(stack, ADDRESS, "POST", "/survey/submit", token=token,
                                 body={"answers": answers_for(survey)})
        assert status == 201, body
    return used


def test_the_ministry_scans_sees_the_evidence_annuls_and_reinstates_a_unit(stack, new_page, artifacts):
    interfere(stack)

    # 1. From the ministry home to the review page.
    page = new_page()
    log_in(page, stack, "admin")
    page.get_by_role("link", name="Rà soát can thiệp").click()
    expect(page).to_have_url(re.compile(r"/bo/kiem-tra\.html\?dot=demo$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Rà soát can thiệp vào khảo sát")
    expect(page.get_by_label("Đợt đánh giá")).to_have_value("demo")
    table = page.locator("#integrity-table")
    expect(table).not_to_have_attribute("aria-busy", "true")

    # 2. Scan now: the page says it is scanning, then the result (waited for, however loaded the machine is);
    # our unit comes out flagged, at the top (sorted by risk).
    page.get_by_role("button", name="Quét ngay").click()
    began = time.monotonic()
    expect(page.locator("#scan-message")).to_contain_text(re.compile(r"Đang quét|Đã quét"))
    expect(page.locator("#scan-message")).to_contain_text(re.compile(r"Đã quét \d+ đơn vị có hoạt động mới"),
                                                          timeout=120_000)
    print(f"scan of the demo campaign answered in {time.monotonic() - began:.2f} s")
    row = page.locator(f'#integrity-table tbody tr[data-unit="{UNIT}"]:not(.evidence-row)')
    expect(row).to_have_attribute("data-flagged", "true")
    name = row.get_by_role("rowheader").inner_text()
    assert name
    expect(row.locator(".badge-risk")).to_contain_text(re.compile(r"^\d+/100 · Cao$"))
    expect(row.locator("td").nth(2)).to_have_text("Có")
    expect(row).to_contain_text("Còn hiệu lực")
    expect(row.locator("time")).to_have_text(re.compile(r"^\d\d:\d\d \d\d/\d\d/\d{4}$"))
    scores = [int(s.split("/")[0]) for s in page.locator(
        "#integrity-table tbody tr:not(.evidence-row) .badge-risk").all_inner_texts()]
    assert scores == sorted(scores, reverse=True) and scores[0] == int(
        row.locator(".badge-risk").inner_text().split("/")[0]), scores
    flags = int(row.locator("td.num").first.inner_text())
    assert flags >= 2
    for other in page.locator("#integrity-table tbody tr:not(.evidence-row)").all():  # "Có" exactly with flags
        count = int(other.locator("td.num").first.inner_text())
        assert other.locator("td").nth(2).inner_text() == ("Có" if count else "Không")
        if other.locator("td.num").nth(1).inner_text() == "0" and other.get_attribute("data-annulled") == "false":
            expect(other.get_by_role("button", name=re.compile("^Hủy kết quả khảo sát"))).to_have_count(0)
            expect(other).to_contain_text("Chưa có phiếu trả lời")
    expect(row.locator("td.num").nth(1)).to_have_text("6")
    expect(page.locator("#unit-count")).to_contain_text(re.compile(r"\d+ đơn vị có dấu hiệu, trong đó \d+ đơn vị có mức rủi ro cao"))

    # 3. The evidence: the disclosure opens the unit's flags, the shared address in readable Vietnamese.
    toggle = row.get_by_role("button", name=f"Xem bằng chứng — {name}")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    detail = page.locator(f"#evidence-{UNIT}")
    expect(detail).to_be_hidden()
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(detail).to_be_visible()
    expect(detail.locator("li.flag")).to_have_count(flags)
    shared = detail.locator('li.flag[data-rule="shared_ip"]')
    expect(shared.locator(".flag-name")).to_have_text(
        "Nhiều người trả lời từ cùng một địa chỉ mạng trong thời gian ngắn")
    # the sentence first, then the numbers, then the facts and the links with their times and addresses
    expect(shared.locator(".flag-summary")).to_contain_text(f"6 người gửi phiếu từ địa chỉ mạng {ADDRESS}")
    expect(shared.locator(".flag-summary")).to_contain_text("phát hiện 6")
    expect(shared.locator(".flag-numbers")).to_have_text(
        re.compile(r"^Dự kiến \d+(,\d+)? · Phát hiện 6 · Xác suất \d(,\d)? × 10⁻[⁰¹²³⁴⁵⁶⁷⁸⁹]+ \(khoảng 1 trên "))
    order = shared.evaluate("(node) => [...node.children].map((c) => c.className)")
    assert order.index("flag-summary") < order.index("flag-numbers") < order.index("evidence-records"), order
    expect(shared).to_contain_text(f"Địa chỉ mạng: {ADDRESS}")
    expect(shared).to_contain_text("Số người trả lời: 6")
    expect(shared).to_contain_text(re.compile(r"Thời gian gửi phiếu: " + SPAN.pattern))
    assert not re.search(r"từ (\d\d:\d\d) đến \1 ", shared.inner_text())
    expect(shared).to_contain_text("Đường dẫn, thời gian và địa chỉ (6):")
    records = shared.locator(".record-list li")
    expect(records).to_have_count(6)
    for text in records.all_inner_texts():
        assert re.fullmatch(r"Phiếu .+ · số \d+ — \d\d/\d\d/\d{4} \d\d:\d\d — " + re.escape(ADDRESS), text), text
    assert "#" not in detail.inner_text()  # no internal link keys shown as evidence
    expect(detail.locator('li.flag[data-rule="shared_device"]')).to_contain_text("Trình duyệt: Mozilla/5.0 Chrome/120")
    page.screenshot(path=str(artifacts / "integrity-evidence.png"), full_page=True,
                    clip={"x": 0, "y": 0, "width": 1280, "height": 1400})
    assert_accessible(page, "integrity review with evidence open")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Tải bảng bằng chứng (Excel)").click()
    assert download_info.value.suggested_filename == "ra-soat-can-thiep-demo.xlsx"
    expect(page.locator("#export-message")).to_contain_text("Đã tạo tệp ra-soat-can-thiep-demo.xlsx")
    toggle.click()
    expect(detail).to_be_hidden()
    toggle.click()

    # 4. Annul: a reason is required (the page's own check, then the server's 422 beside the field).
    row.get_by_role("button", name=f"Hủy kết quả khảo sát — {name}").click()
    dialog = page.get_by_role("dialog", name=f"Hủy kết quả khảo sát của {name}?")
    expect(dialog).to_be_visible()
    reason = dialog.get_by_label("Lý do (bắt buộc)")
    expect(reason).to_be_focused()
    dialog.get_by_role("button", name="Hủy kết quả khảo sát").click()
    expect(reason).to_have_attribute("aria-invalid", "true")
    expect(dialog.locator(".field-error")).to_have_text("Vui lòng nêu lý do.")
    reason.evaluate("(node) => { node.value = 'x'.repeat(1001); }")  # past maxlength: only the server can say no
    dialog.get_by_role("button", name="Hủy kết quả khảo sát").click()
    expect(dialog.locator(".field-error")).to_have_text("Lý do dài tối đa 1000 ký tự.")
    assert reason.get_attribute("aria-describedby").split()[-1] == reason.get_attribute("id") + "-error"
    assert_accessible(page, "annulment dialog with the server's field error")
    page.screenshot(path=str(artifacts / "integrity-annul-dialog.png"))
    reason.fill("Sáu phiếu gửi từ cùng một máy trong vài phút: một người trả lời thay nhiều người.")
    dialog.get_by_role("button", name="Hủy kết quả khảo sát").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#page-message")).to_contain_text(f"Đã hủy kết quả khảo sát của {name}.")
    expect(row).to_have_attribute("data-annulled", "true")
    expect(row.locator(".badge-annulled")).to_have_text("Đã hủy kết quả")
    expect(row).to_contain_text("Lý do: Sáu phiếu gửi từ cùng một máy")
    expect(detail).to_be_visible()  # the evidence stays open across the refresh
    status, national = call(stack, "GET", "/campaigns/demo/progress", bearer=login(stack, "admin"))
    assert status == 200 and next(u for u in national["units"] if u["code"] == UNIT)["annulled"]

    # 5. Reinstate, with a reason too.
    row.get_by_role("button", name=f"Khôi phục kết quả — {name}").click()
    dialog = page.get_by_role("dialog", name=f"Khôi phục kết quả khảo sát của {name}?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Khôi phục kết quả").click()
    expect(dialog.locator(".field-error")).to_have_text("Vui lòng nêu lý do.")
    dialog.get_by_label("Lý do (bắt buộc)").fill("Đã xác minh lại với Sở Nội vụ: các đại biểu tự trả lời.")
    dialog.get_by_role("button", name="Khôi phục kết quả").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#page-message")).to_contain_text(f"Đã khôi phục kết quả khảo sát của {name}.")
    expect(row).to_have_attribute("data-annulled", "false")
    expect(row).to_contain_text("Còn hiệu lực")
    expect(row.get_by_role("button", name=f"Hủy kết quả khảo sát — {name}")).to_be_visible()
    assert not new_page.errors, new_page.errors
