"""The respondent's survey form in real Chromium against the real API (on moto), demo campaign (survey open today).

A province sends a one-person roster, the ministry dispatches it, the queues run and the invitation lands in the
local outbox; the respondent opens the link from the outbox page, answers some questions, comes back (reload, another
device, a lost connection) to a restored draft, is told which required questions are still unanswered, submits, gets
a receipt, and finds the "already submitted" page on the next visit. Unknown and missing links have their own pages;
the pages for a closed survey, annulled results, too many attempts and a lost connection are shown with the API's
answers stubbed in the browser. axe-core (bundled by the axe-playwright-python package) checks the pages.

The stack is shared by every browser test of the session: unit 20 is used by no other browser test."""
from __future__ import annotations

import email
import email.policy
import json
import re
import urllib.error
import urllib.request

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from builders import person, roster_workbook
from test_site import COUNTDOWN

UNIT = "20"
EMAIL = "dai.bieu.survey@hdnd.gov.vn"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TIME_LABEL = re.compile(r"\d\d:\d\d \d\d/\d\d/\d{4}")
RECEIPT = re.compile(r"^[A-Z2-9]{4}-[A-Z2-9]{4}$")
SAVED = re.compile(r"^Đã lưu nháp lúc \d\d:\d\d$")
SAVED_OR_FOUND = re.compile(SAVED.pattern + r"|^Đã khôi phục bản nháp lưu lúc \d\d:\d\d \d\d/\d\d/\d{4}\.$")


# ---- helpers ---------------------------------------------------------------------------------------------------

def call(stack, method: str, path: str, *, bearer: str | None = None, token: str | None = None,
         body: object = None, raw: bytes | None = None, content_type: str | None = None) -> tuple[int, object]:
    """One HTTP call to the stack's API: (status, parsed JSON body)."""
    data = json.dumps(body).encode() if body is not None else raw
    request = urllib.request.Request(stack.api_url + path, data=data, method=method)
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", content_type or "application/json")
    if bearer:
        request.add_header("Authorization", f"Bearer {bearer}")
    if token:
        request.add_header("X-Survey-Token", token)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, text = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, text = exc.code, exc.read()
    return status, json.loads(text) if text else None


def login(stack, who: str) -> str:
    username, password = stack.login_of(who)
    status, body = call(stack, "POST", "/auth/login", body={"username": username, "password": password})
    assert status == 200, body
    return body["token"]


def assert_accessible(page, where: str) -> None:
    """axe-core in the page: no serious or critical violation."""
    results = Axe().run(page)
    bad = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    assert not bad, f"{where}:\n{results.generate_report()}"


def track_errors(page, errors: list) -> None:
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: errors.append(f"console.{msg.type}: {msg.text}")
            if msg.type == "error" and not msg.text.startswith("Failed to load resource") else None)


def storage(page) -> dict:
    return page.evaluate("""() => ({
        local: Object.fromEntries(Object.keys(localStorage).map((k) => [k, localStorage.getItem(k)])),
        session: Object.fromEntries(Object.keys(sessionStorage).map((k) => [k, sessionStorage.getItem(k)])),
    })""")


def group(page, number: int):
    """A question's fieldset by its accessible name ("Câu 3. …")."""
    return page.locator(".question").filter(has=page.locator(".q-number", has_text=re.compile(rf"^Câu {number}\.$")))


# ---- the invitation --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def invitation(stack):
    """Roster (one HĐND delegate) sent by the province, dispatched by the ministry, queues run, mail in the outbox."""
    province = login(stack, UNIT)
    workbook = roster_workbook([person(1, group="1", agency="Hội đồng nhân dân tỉnh", position="Đại biểu HĐND tỉnh",
                                       email=EMAIL)])
    status, body = call(stack, "POST", f"/campaigns/demo/units/{UNIT}/roster/imports?mode=replace", bearer=province,
                        raw=workbook, content_type=XLSX)
    assert status == 200, body
    status, body = call(stack, "POST", f"/campaigns/demo/units/{UNIT}/roster/submit", bearer=province, body={})
    assert status == 200, body
    admin = login(stack, "admin")
    status, body = call(stack, "POST", "/campaigns/demo/dispatch", bearer=admin, body={"units": [UNIT]})
    assert status == 202, body
    assert stack.drain_queues() >= 2  # the unit's job, then its batch of mail
    mails = [path for path in stack.collect_mail()
             if EMAIL in path.read_text(encoding="utf-8", errors="replace")]
    assert len(mails) == 1, mails
    message = email.message_from_bytes(mails[0].read_bytes(), policy=email.policy.default)
    text = message.get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"https?://\S+/khao-sat/#[A-Za-z0-9_-]+", text).group(0)
    assert link.startswith(stack.site_url + "/khao-sat/#")
    return {"eml": mails[0], "link": link, "token": link.split("#", 1)[1], "subject": str(message["Subject"])}


# ---- the whole journey -----------------------------------------------------------------------------------------

def test_a_respondent_opens_the_invitation_answers_comes_back_to_the_draft_and_submits_exactly_once(
        stack, new_page, browser, artifacts, invitation):
    token, link = invitation["token"], invitation["link"]
    status, expected = call(stack, "GET", "/survey", token=token)  # reading consumes nothing
    assert status == 200 and expected["state"] == "open" and expected["draft"] is None, expected
    questions = [q for s in expected["questionnaire"]["sections"] for q in s["questions"]]
    total = len(questions)
    required = [i + 1 for i, q in enumerate(questions) if q["required"]]

    # 1. From the outbox, as a respondent would: the mail, its link, a new tab.
    outbox = new_page()
    missing: list[str] = []  # every file the pages ask for exists, the icon included
    outbox.context.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    outbox.goto("/outbox/")
    outbox.locator(f'a[href="/outbox/{invitation["eml"].name}"]').click()
    mail = outbox.frame_locator('iframe[title="Nội dung thư"]')
    with outbox.expect_popup() as popup:
        mail.get_by_role("link", name="Trả lời phiếu khảo sát").click()
    page = popup.value
    errors: list = []
    track_errors(page, errors)
    main = page.locator("#main")
    expect(main).to_have_attribute("data-state", "form")
    expect(main).not_to_have_attribute("aria-busy", "true")
    # one contact, the campaign's, in the mail and on the page alike
    contact = expected["contact"]
    assert contact["name"].startswith("Vụ Cải cách hành chính, Bộ Nội vụ") and contact["phone"] == "098.26.27.828"
    expect(mail.locator("body")).to_contain_text(f"xin liên hệ {contact['name']}; điện thoại: {contact['phone']}")
    expect(main.locator(".contact")).to_have_text(
        f"Nếu cần hỗ trợ, vui lòng liên hệ {contact['name']}; điện thoại: {contact['phone']}; email: "
        f"{contact['email']}; địa chỉ: {contact['address']}.")
    expect(main.get_by_role("link", name=contact["email"])).to_have_attribute("href", f"mailto:{contact['email']}")
    assert "Sở Nội vụ tỉnh, thành phố" not in main.inner_text()
    assert "#" not in page.url and token not in page.url  # the fragment left the address bar

    # 2. The header: title (a sample), unit, group, deadline with its countdown, confidentiality.
    title = expected["questionnaire"]["title"]
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.locator("#sample-flag")).to_contain_text("Phiếu mẫu")
    expect(page.locator("#survey-unit")).to_have_text(expected["unit"]["full_name"])
    expect(page.locator("#survey-group")).to_have_text(expected["group"]["name"])
    expect(page.locator("#survey-deadline")).to_contain_text(expected["deadline_label"])
    expect(page.locator("#survey-deadline .countdown")).to_have_text(COUNTDOWN)
    expect(page.locator(".confidentiality")).to_contain_text(expected["confidentiality"])
    expect(page.locator(".question")).to_have_count(total)
    expect(page.locator("section.survey-section h2")).to_have_count(len(expected["questionnaire"]["sections"]))
    expect(page.locator('fieldset[role="radiogroup"][aria-required="true"]')).to_have_count(
        sum(1 for q in questions if q["type"] == "single" and q["required"]))
    # Only the optional questions are marked; a note says the others are required. Each hint is said once,
    # although the sample's texts end with "(không bắt buộc)" or "(có thể chọn nhiều phương án)" themselves.
    expect(page.locator(".how-to")).to_contain_text("trừ những câu ghi “(không bắt buộc)”")
    expect(page.get_by_role("radiogroup", name=re.compile(r"^Câu 1\. [^()]*[^)]$"))).to_be_visible()
    expect(page.locator(".question .opt")).to_have_count(total - len(required))
    expect(page.locator(".question .opt").first).to_have_text("(không bắt buộc)")
    expect(page.locator(".question .req")).to_have_count(0)
    form_text = page.locator("#survey-form").inner_text()
    multis = sum(1 for q in questions if q["type"] == "multi")
    assert multis and form_text.lower().count("có thể chọn nhiều phương án") == multis, form_text
    assert form_text.count("(không bắt buộc)") == total - len(required)
    assert "Ông/Bà" in main.inner_text() and not re.search(r"ông/bà|Ông/bà", main.inner_text())  # one form of address
    assert page.locator('link[rel="icon"]').get_attribute("href") == "/favicon.svg"
    assert missing == [], missing
    expect(page.locator("#progress")).to_contain_text(f"Đã trả lời 0/{total} câu")
    text_q = next(i + 1 for i, q in enumerate(questions) if q["type"] == "text")
    textarea = group(page, text_q).locator("textarea")
    expect(textarea).to_have_attribute("maxlength", str(questions[text_q - 1]["max_length"]))
    assert_accessible(page, "form")
    page.screenshot(path=str(artifacts / "survey-form.png"), full_page=True)

    # 3. The keyboard alone: Tab into question 1, arrows pick an option, Tab to question 2, Space picks one.
    page.keyboard.press("Tab")
    expect(group(page, 1).locator("input").first).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(group(page, 1).locator("input").nth(1)).to_be_checked()
    page.keyboard.press("Tab")
    expect(group(page, 2).locator("input").first).to_be_focused()
    page.keyboard.press("Space")
    expect(group(page, 2).locator("input").first).to_be_checked()
    # and the pointer for a few more, a multiple choice and the free text with its counter
    group(page, 3).get_by_label("Đồng ý", exact=True).check()
    multi_q = next(i + 1 for i, q in enumerate(questions) if q["type"] == "multi" and q["required"])
    multi = group(page, multi_q).locator('input[type="checkbox"]')
    multi.nth(0).check()
    multi.nth(2).check()
    textarea.fill("Đề nghị tăng cường đối thoại với người dân.")
    expect(group(page, text_q).locator(".counter")).to_have_text(
        f"{len('Đề nghị tăng cường đối thoại với người dân.')}/{questions[text_q - 1]['max_length']:,} ký tự"
        .replace(",", "."))
    expect(page.locator("#progress")).to_contain_text(f"Đã trả lời 5/{total} câu")
    expect(page.locator("#save-status")).to_have_text(SAVED, timeout=10000)

    # Kept in this browser under a hashed key; the token is in no key or value of localStorage, nor in any key.
    kept = storage(page)
    drafts = {k: v for k, v in kept["local"].items() if k.startswith("cchc.survey.draft.")}
    assert len(drafts) == 1
    assert all(token not in k and token not in v for k, v in kept["local"].items())
    assert all(token not in k for k in kept["session"])
    saved = json.loads(next(iter(drafts.values())))
    assert saved["answers"][questions[0]["id"]] == questions[0]["options"][1]["value"]
    status, now = call(stack, "GET", "/survey", token=token)
    assert now["draft"]["answers"][questions[multi_q - 1]["id"]] == [
        questions[multi_q - 1]["options"][0]["value"], questions[multi_q - 1]["options"][2]["value"]]

    # 4. Reload: the draft is back.
    page.reload()
    expect(main).to_have_attribute("data-state", "form")
    expect(page.locator("#save-status")).to_contain_text("Đã khôi phục bản nháp lưu lúc")
    expect(group(page, 1).locator("input").nth(1)).to_be_checked()
    expect(group(page, 2).locator("input").first).to_be_checked()
    expect(multi.nth(2)).to_be_checked()
    expect(textarea).to_have_value("Đề nghị tăng cường đối thoại với người dân.")
    expect(page.locator("#progress")).to_contain_text(f"Đã trả lời 5/{total} câu")
    assert token not in page.url

    # 5. The connection drops: the answer stays on this computer and reaches the server when it comes back.
    page.context.set_offline(True)
    group(page, 4).locator("input").first.check()
    expect(page.locator("#save-status")).to_contain_text("Chưa lưu được lên máy chủ", timeout=10000)
    page.context.set_offline(False)
    expect(page.locator("#save-status")).to_have_text(SAVED, timeout=10000)
    # Offline again, and the tab is closed before the server had the answer: the next visit sends it. (The closing
    # tab's last save, a keepalive request, outlives the page and its offline emulation: on a loaded machine it can
    # reach the server as the connection comes back, as in a real browser; the visit then finds it there.)
    page.context.set_offline(True)
    group(page, 5).locator("input").first.check()
    expect(page.locator("#save-status")).to_contain_text("Chưa lưu được lên máy chủ", timeout=10000)
    page.close()
    page.context.set_offline(False)
    page = page.context.new_page()
    track_errors(page, errors)
    page.goto(link)
    main = page.locator("#main")
    expect(main).to_have_attribute("data-state", "form")
    expect(group(page, 5).locator("input").first).to_be_checked()
    expect(page.locator("#save-status")).to_have_text(SAVED_OR_FOUND, timeout=10000)
    status, now = call(stack, "GET", "/survey", token=token)  # either way, the answer is on the server
    assert now["draft"]["answers"][questions[4]["id"]] == questions[4]["options"][0]["value"]
    # This device's clock runs ten minutes behind the server's, and an answer changed here was not sent: the copy
    # names the server's draft it was made on, so it is still the one kept and sent (the clocks are not compared).
    changed = questions[4]["options"][1]["value"]
    page.evaluate("""([qid, value, base]) => {
        for (const key of Object.keys(localStorage)) {
            const copy = JSON.parse(localStorage.getItem(key));
            if (!copy || !copy.answers) continue;
            copy.answers[qid] = value;
            Object.assign(copy, {synced: false, base, saved_at: new Date(Date.parse(base) - 600000).toISOString()});
            localStorage.setItem(key, JSON.stringify(copy));
        }
    }""", [questions[4]["id"], changed, now["draft"]["saved_at"]])
    page.reload()
    expect(main).to_have_attribute("data-state", "form")
    expect(group(page, 5).locator("input").nth(1)).to_be_checked()
    expect(page.locator("#save-status")).to_have_text(SAVED, timeout=10000)
    status, now = call(stack, "GET", "/survey", token=token)
    assert now["draft"]["answers"][questions[4]["id"]] == changed

    # 6. Another device, at phone width: the server's draft.
    phone = browser.new_context(viewport={"width": 375, "height": 740}, locale="vi-VN", is_mobile=True,
                                has_touch=True, timezone_id="Europe/London", base_url=stack.site_url)
    phone.set_default_timeout(8000)
    try:
        mobile = phone.new_page()
        track_errors(mobile, errors)
        mobile.goto(link)
        expect(mobile.locator("#main")).to_have_attribute("data-state", "form")
        expect(group(mobile, 4).locator("input").first).to_be_checked()
        expect(mobile.locator("#progress")).to_contain_text(f"Đã trả lời 7/{total} câu")
        assert mobile.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scroll
        assert_accessible(mobile, "form at phone width")
        mobile.screenshot(path=str(artifacts / "survey-form-phone.png"), full_page=False)
        group(mobile, 6).scroll_into_view_if_needed()
        mobile.screenshot(path=str(artifacts / "survey-form-phone-questions.png"), full_page=False)

        # 7. Submitting with required questions unanswered: each is named, the first gets the focus.
        page.get_by_role("button", name="Gửi phiếu").click()
        summary = page.locator("#error-summary")
        missing = [n for n in required if n not in (1, 2, 3, 4, 5, multi_q)]
        expect(summary).to_be_visible()
        expect(summary.get_by_role("heading")).to_have_text(f"Còn {len(missing)} câu bắt buộc chưa trả lời")
        expect(summary.locator("li")).to_have_count(len(missing))
        expect(summary.locator("li").first).to_contain_text(f"Câu {missing[0]}:")
        expect(group(page, missing[0]).locator("input").first).to_be_focused()
        expect(group(page, missing[0]).locator(".field-error")).to_have_text(
            "Câu bắt buộc: vui lòng chọn một phương án.")
        expect(page.get_by_role("dialog")).to_have_count(0)
        page.screenshot(path=str(artifacts / "survey-missing.png"))
        summary.locator("li").nth(1).get_by_role("link").click()  # a link in the list goes to its question
        expect(group(page, missing[1]).locator("input").first).to_be_focused()
        assert "#" not in page.url

        # 8. The rest, then the confirmation, then the receipt.
        for number in missing:
            group(page, number).locator("input").last.check()
        expect(group(page, missing[0]).locator(".field-error")).to_be_hidden()
        expect(page.locator("#progress")).to_have_text(f"Đã trả lời {len(required) + 1}/{total} câu")
        page.get_by_role("button", name="Gửi phiếu").click()
        dialog = page.get_by_role("dialog", name="Gửi phiếu khảo sát?")
        expect(dialog).to_contain_text("Sau khi gửi, phiếu không thể sửa")
        expect(dialog.get_by_role("button", name="Gửi phiếu")).to_be_focused()
        page.screenshot(path=str(artifacts / "survey-confirm.png"))
        page.keyboard.press("Escape")  # Xem lại: nothing sent
        expect(dialog).to_have_count(0)
        expect(main).to_have_attribute("data-state", "form")
        page.get_by_role("button", name="Gửi phiếu").click()
        dialog.get_by_role("button", name="Gửi phiếu").click()
        expect(main).to_have_attribute("data-state", "receipt")
        expect(page.get_by_role("heading", level=1)).to_have_text("Đã gửi phiếu khảo sát")
        expect(page.get_by_role("heading", level=1)).to_be_focused()
        expect(page.locator("#receipt-code")).to_have_text(RECEIPT)
        expect(page.locator("#receipt-time")).to_have_text(TIME_LABEL)
        receipt = page.locator("#receipt-code").inner_text()
        when = page.locator("#receipt-time").inner_text()
        assert_accessible(page, "receipt")
        page.screenshot(path=str(artifacts / "survey-receipt.png"), full_page=True)
        kept = storage(page)
        assert not [k for k in kept["local"] if k.startswith("cchc.survey.")]  # the local copy is gone
        assert not kept["session"].get("cchc.survey.link")
        status, after = call(stack, "GET", "/survey", token=token)
        assert (status, after["state"], after["receipt"], after["submitted_at_label"]) == (200, "submitted", receipt,
                                                                                          when)

        # 9. The phone still shows the form: its next change meets the submitted link.
        group(mobile, 8).locator("input").first.check()
        expect(mobile.locator("#main")).to_have_attribute("data-state", "submitted", timeout=10000)
        expect(mobile.locator("#submitted-when")).to_contain_text(when)
    finally:
        phone.close()

    # 10. The link again: "already submitted", with the time and the receipt.
    again = new_page()
    again.goto(link)
    expect(again.locator("#main")).to_have_attribute("data-state", "submitted")
    expect(again.get_by_role("heading", level=1)).to_have_text("Phiếu khảo sát này đã được gửi")
    expect(again.locator("#submitted-when")).to_have_text(f"Phiếu đã được gửi lúc {when}.")
    expect(again.locator(".receipt-code")).to_have_text(receipt)
    assert_accessible(again, "already submitted")
    again.screenshot(path=str(artifacts / "survey-already-submitted.png"))
    assert not errors, errors
    assert not new_page.errors, new_page.errors


def test_an_unknown_a_malformed_and_a_missing_link_each_get_a_page_that_says_so(stack, new_page, artifacts):
    page = new_page()
    page.goto("/khao-sat/#" + "Q" * 43)  # well formed, never issued: the API's 404
    expect(page.locator("#main")).to_have_attribute("data-state", "unknown")
    expect(page.get_by_role("heading", level=1)).to_have_text("Đường dẫn khảo sát không hợp lệ")
    expect(page.get_by_role("heading", level=1)).to_be_focused()
    expect(page.locator("#main")).to_contain_text("thư mời mới nhất")
    assert "#" not in page.url
    assert_accessible(page, "unknown link")
    page.screenshot(path=str(artifacts / "survey-unknown.png"))

    malformed = new_page()
    asked: list = []
    malformed.on("request", lambda r: asked.append(r.url) if "/survey" in r.url else None)
    malformed.goto("/khao-sat/#abc<def>")
    expect(malformed.locator("#main")).to_have_attribute("data-state", "unknown")
    assert asked == []  # refused here, without asking the server

    missing = new_page()
    missing.goto("/khao-sat/")
    expect(missing.locator("#main")).to_have_attribute("data-state", "missing")
    expect(missing.get_by_role("heading", level=1)).to_have_text("Đường dẫn chưa đầy đủ")
    assert not new_page.errors, new_page.errors


# ---- pages for the API's other answers (stubbed in the browser) -------------------------------------------------

FAKE_TOKEN = "S" * 43


def fake_survey() -> dict:
    options = [{"value": str(i), "label": label} for i, label in
               enumerate(["Rất kém", "Kém", "Trung bình", "Tốt", "Rất tốt"], start=1)]
    return {
        "state": "open", "campaign": {"id": "demo", "name": "Đợt thử nghiệm", "year": 2021},
        "unit": {"code": "20", "name": "Lạng Sơn", "full_name": "Tỉnh Lạng Sơn"},
        "group": {"code": "2", "name": "Lãnh đạo cấp sở"}, "purpose": "locality",
        "purpose_name": "Phiếu đánh giá địa phương", "qid": "locality-2", "version": 1,
        "questionnaire": {"title": "Phiếu khảo sát chính thức", "description": "Đoạn một.\n\nĐoạn hai.",
                          "sample": False,
                          "sections": [{"title": "I. Chung", "questions": [
                              {"id": "A1", "text": "Đánh giá chung", "type": "single", "required": True,
                               "options": options, "max_length": None},
                              {"id": "A2", "text": "Kênh thông tin", "type": "multi", "required": False,
                               "options": options[:3], "max_length": None},
                              {"id": "A3", "text": "Kiến nghị", "type": "text", "required": True, "options": [],
                               "max_length": 50}]}]},
        "deadline_label": "24:00 ngày 31/12/2099", "closes_at": "2099-12-31T17:00:00Z",
        "seconds_left": 2000000000, "draft": None, "submitted_at": None, "submitted_at_label": None,
        "receipt": None, "confidentiality": "Câu trả lời được bảo mật.",
    }


def stub(page, stack, answers: dict) -> list:
    """Answers the page's survey calls from `answers` {(method, path): [(status, body, headers) | "abort", ...]}
    (the last one repeats); CORS preflights are answered as the API would."""
    seen: list = []
    cors = {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "Retry-After",
            "Access-Control-Allow-Headers": "Authorization, X-Survey-Token, Content-Type",
            "Access-Control-Allow-Methods": "GET, PUT, POST, OPTIONS"}

    def handle(route):
        request = route.request
        path = request.url[len(stack.api_url):]
        if request.method == "OPTIONS":
            return route.fulfill(status=204, headers=cors)
        seen.append((request.method, path, request.headers.get("x-survey-token")))
        queue = answers.get((request.method, path))
        if not queue:
            return route.fulfill(status=500, headers=cors, body="{}")
        answer = queue[0] if len(queue) == 1 else queue.pop(0)
        if answer == "abort":
            return route.abort("internetdisconnected")
        status, body, headers = answer
        return route.fulfill(status=status, headers={**cors, **headers}, content_type="application/json",
                             body=json.dumps(body))

    page.route(re.compile(re.escape(stack.api_url) + r"/survey.*"), handle)
    return seen


def test_a_closed_survey_annulled_results_too_many_attempts_and_a_lost_connection_each_have_their_page(
        stack, new_page, artifacts):
    cases = [
        ((423, {"code": "survey_closed", "message": "Đợt khảo sát đã kết thúc (24:00 ngày 10/03/2026); phiếu không "
                "còn được tiếp nhận.", "details": []}, {}), "closed", "Đã hết thời hạn trả lời phiếu khảo sát",
         "24:00 ngày 10/03/2026"),
        ((423, {"code": "results_annulled", "message": "Kết quả khảo sát của địa phương này đã bị hủy theo quyết định "
                "của Bộ Nội vụ.", "details": []}, {}), "annulled", "Kết quả khảo sát của đơn vị đã bị hủy",
         "đã bị hủy theo quyết định"),
        ((429, {"code": "rate_limited", "message": "Có quá nhiều lần mở đường dẫn không hợp lệ từ địa chỉ mạng này.",
                "details": []}, {"Retry-After": "600"}), "rate-limited", "Quá nhiều lần truy cập", "sau 10 phút"),
    ]
    for answer, state, heading, text in cases:
        page = new_page()
        seen = stub(page, stack, {("GET", "/survey"): [answer]})
        page.goto(f"/khao-sat/#{FAKE_TOKEN}")
        expect(page.locator("#main")).to_have_attribute("data-state", state)
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        expect(page.locator("#main")).to_contain_text(text)
        assert seen == [("GET", "/survey", FAKE_TOKEN)]  # the token went in the header, the URL has none
        assert_accessible(page, state)
        page.screenshot(path=str(artifacts / f"survey-{state}.png"))

    # No connection: its page, then Thử lại once the network is back.
    page = new_page(390, 800)
    stub(page, stack, {("GET", "/survey"): ["abort", (200, fake_survey(), {})],
                       ("PUT", "/survey/draft"): [(200, {"saved_at": "2026-01-05T03:04:00Z",
                                                         "saved_at_label": "10:04 05/01/2026"}, {})],
                       ("POST", "/survey/submit"): [(422, {"code": "validation_error", "message": "Phiếu trả lời có 1 "
                                                           "lỗi.", "details": [{"field": "answers.A3", "question": "A3",
                                                                                "message": "Câu A3: quá dài."}]}, {})]})
    page.goto(f"/khao-sat/#{FAKE_TOKEN}")
    expect(page.locator("#main")).to_have_attribute("data-state", "offline")
    expect(page.get_by_role("heading", level=1)).to_have_text("Không kết nối được máy chủ")
    page.screenshot(path=str(artifacts / "survey-offline.png"))
    page.get_by_role("button", name="Thử lại").click()
    expect(page.locator("#main")).to_have_attribute("data-state", "form")
    # Not a sample: no mark. The text question counts its characters and stops at its maximum.
    expect(page.get_by_role("heading", level=1)).to_have_text("Phiếu khảo sát chính thức")
    expect(page.locator("#sample-flag")).to_have_count(0)
    expect(page.locator(".survey-description p")).to_have_count(2)
    page.get_by_label("Tốt", exact=True).check()
    answer = page.get_by_role("textbox", name=re.compile(r"^Câu 3\. Kiến nghị"))
    expect(answer).to_have_attribute("aria-required", "true")
    answer.fill("x" * 60)
    expect(answer).to_have_value("x" * 50)
    expect(page.locator("#q-A3-count")).to_have_text("50/50 ký tự")
    expect(page.locator("#save-status")).to_have_text("Đã lưu nháp lúc 10:04", timeout=10000)
    # The server's per-question refusal is shown on the question.
    page.get_by_role("button", name="Gửi phiếu").click()
    page.get_by_role("dialog").get_by_role("button", name="Gửi phiếu").click()
    expect(page.locator("#q-A3-error")).to_have_text("Câu A3: quá dài.")
    expect(page.locator("#error-summary")).to_contain_text("Câu 3: Kiến nghị")
    expect(answer).to_be_focused()
    expect(answer).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#main")).to_have_attribute("data-state", "form")
    page.screenshot(path=str(artifacts / "survey-server-refusal-phone.png"), full_page=True)
    assert not new_page.errors, new_page.errors
