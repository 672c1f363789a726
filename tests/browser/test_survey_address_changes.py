"""Changing a respondent's address after dispatch, in real Chromium: the province's progress page offers "Đề nghị đổi
email" (with a reason) for a delivered invitation; the ministry sees the request pending on its home page and
approves it on the unit's page; the new link opens without any draft, and the survey page removes from the browser
the local drafts whose deadline has passed.

The stack is shared by every browser test of the session: unit 30 is used by no other browser test."""
from __future__ import annotations

import email
import email.policy
import json
import re

from playwright.sync_api import expect

from builders import person, roster_workbook
from test_site import log_in
from test_survey_form import assert_accessible, call, login

UNIT = "30"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
OLD, NEW = "pho.chu.tich.doi.email@hdnd.gov.vn", "pho.chu.tich.moi@hdnd.gov.vn"
ROWS = [person(51, group="1", agency="Hội đồng nhân dân tỉnh", position="Phó Chủ tịch HĐND tỉnh", email=OLD)]
NAME = ROWS[0][1]


def token_for(stack, address: str) -> str | None:
    for path in stack.collect_mail():
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if address in str(message["To"]):
            text = message.get_body(preferencelist=("plain",)).get_content()
            return re.search(r"/khao-sat/#([A-Za-z0-9_-]+)", text).group(1)
    return None


def test_a_delivered_address_changes_only_with_the_ministrys_approval(stack, new_page, artifacts):
    province, admin_token = login(stack, UNIT), login(stack, "admin")
    status, body = call(stack, "POST", f"/campaigns/demo/units/{UNIT}/roster/imports?mode=replace", bearer=province,
                        raw=roster_workbook(ROWS), content_type=XLSX)
    assert status == 200, body
    assert call(stack, "POST", f"/campaigns/demo/units/{UNIT}/roster/submit", bearer=province, body={})[0] == 200
    assert call(stack, "POST", "/campaigns/demo/dispatch", bearer=admin_token, body={"units": [UNIT]})[0] == 202
    assert stack.drain_queues() >= 2
    old_token = token_for(stack, OLD)
    assert old_token

    # 1. The province: a delivered invitation offers a request, not a direct correction.
    page = new_page()
    log_in(page, stack, UNIT)
    page.goto("/tinh/tien-do.html?dot=demo")
    row = page.locator("#pp-table tbody tr").filter(has=page.get_by_role("rowheader", name=NAME))
    expect(row.get_by_role("button", name=f"Đề nghị đổi email của {NAME}")).to_be_visible()
    expect(row.get_by_role("button", name=f"Sửa email của {NAME}")).to_have_count(0)
    row.get_by_role("button", name=f"Đề nghị đổi email của {NAME}").click()
    dialog = page.get_by_role("dialog", name="Đề nghị đổi email người nhận")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Email mới").fill(NEW)
    dialog.get_by_role("button", name="Gửi đề nghị").click()
    reason = dialog.get_by_label("Lý do đề nghị (bắt buộc)")
    expect(reason).to_have_attribute("aria-invalid", "true")  # the reason is required
    reason.fill("Đồng chí chuyển sang hộp thư công vụ mới của HĐND tỉnh.")
    dialog.get_by_role("button", name="Gửi đề nghị").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#list-message")).to_contain_text(f"Đã gửi Bộ Nội vụ đề nghị đổi email của {NAME}")
    changes = page.locator("#changes-table tbody tr")
    expect(changes).to_have_count(1)
    expect(changes.first).to_contain_text("Chờ Bộ Nội vụ duyệt")
    expect(changes.first).to_contain_text("p•••@hdnd.gov.vn")
    expect(row).to_contain_text("Đã đề nghị đổi email, chờ Bộ duyệt")
    assert_accessible(page, "province progress page with a pending request")

    # 2. The ministry: pending on its home page, decided on the unit's page.
    admin = new_page()
    log_in(admin, stack, "admin")
    pending = admin.locator("#email-requests li").filter(has_text=NAME)
    expect(pending).to_have_count(1)
    pending.get_by_role("link").click()
    expect(admin).to_have_url(re.compile(rf"/bo/don-vi\.html\?dot=demo&don-vi={UNIT}$"))
    request = admin.locator("#changes-table tbody tr").filter(has_text=NAME)
    expect(request).to_contain_text("Đồng chí chuyển sang hộp thư công vụ mới")
    request.get_by_role("button", name=f"Đồng ý đổi email của {NAME}", exact=True).click()
    admin.get_by_role("dialog", name=f"Đồng ý đổi email của {NAME}?").get_by_role(
        "button", name="Đồng ý và gửi lại phiếu").click()
    expect(admin.locator("#changes-message")).to_contain_text(f"Đã đồng ý đổi email của {NAME}; đã gửi lại 1 phiếu.")
    expect(request).to_contain_text("Đã duyệt, đã gửi lại phiếu")
    admin.screenshot(path=str(artifacts / "address-change-approved.png"))
    assert_accessible(admin, "ministry unit page with an approved request")

    # 3. The new link: mailed to the new address, the old one dead; the survey page purges expired local drafts.
    assert stack.drain_queues() >= 1
    new_token = token_for(stack, NEW)
    assert new_token and call(stack, "GET", "/survey", token=old_token)[0] == 404
    survey = new_page()
    survey.goto("/")  # the same origin; the survey page then loads afresh with the copies in place
    survey.evaluate("""([expired, current]) => {
        localStorage.setItem('cchc.survey.draft.' + 'a'.repeat(64), JSON.stringify(expired));
        localStorage.setItem('cchc.survey.draft.' + 'b'.repeat(64), JSON.stringify(current));
    }""", [{"v": 2, "answers": {"q1": "1"}, "saved_at": "2020-01-01T00:00:00Z", "closes_at": "2020-01-31T17:00:00Z",
            "synced": True},
           {"v": 2, "answers": {"q1": "2"}, "saved_at": "2099-01-01T00:00:00Z", "closes_at": "2099-12-31T17:00:00Z",
            "synced": True}])
    survey.goto(f"/khao-sat/#{new_token}")
    expect(survey.locator("#main")).to_have_attribute("data-state", "form")
    expect(survey.locator("#save-status")).to_have_text("Chưa có câu trả lời nào được lưu.")  # no draft carried
    kept = survey.evaluate("() => Object.keys(localStorage).filter((k) => k.startsWith('cchc.survey.draft.'))")
    assert kept == ["cchc.survey.draft." + "b" * 64]
    survey.locator(".question input").first.check()
    expect(survey.locator("#save-status")).to_contain_text("Đã lưu nháp lúc", timeout=10000)
    copies = survey.evaluate("""() => Object.keys(localStorage).filter((k) => k.startsWith('cchc.survey.draft.'))
        .map((k) => JSON.parse(localStorage.getItem(k)))""")
    mine = [c for c in copies if c["answers"] != {"q1": "2"}]
    assert len(mine) == 1 and mine[0]["closes_at"] and mine[0]["v"] == 2
    assert json.dumps(mine).find(new_token) == -1
    assert new_page.errors == []
