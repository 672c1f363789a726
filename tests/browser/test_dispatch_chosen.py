"""Dispatch to chosen provinces, demo campaign (survey open today), in real Chromium against the real API.

Two provinces send their rosters (through the API). The ministry's home dialog lists every province whose roster
was sent, each ticked; the official keeps one only and the run names it (and only it); the other province is then
sent to from its own page. The stack is shared by every browser test of the session: units 66 and 67 are used by no
other browser test."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from builders import person, roster_workbook
from test_site import log_in
from test_survey_form import assert_accessible, call, login

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FIRST, SECOND = "66", "67"  # Đắk Lắk, Đắk Nông


def send_roster(stack, unit: str, n: int) -> None:
    province = login(stack, unit)
    rows = [person(n, group="4", agency="UBND huyện Một", position="Chủ tịch UBND huyện",
                   email=f"chu.tich.{unit}.{n}@ubnd.gov.vn")]
    status, body = call(stack, "POST", f"/campaigns/demo/units/{unit}/roster/imports?mode=replace", bearer=province,
                        raw=roster_workbook(rows), content_type=XLSX)
    assert status == 200, body
    status, body = call(stack, "POST", f"/campaigns/demo/units/{unit}/roster/submit", bearer=province, body={})
    assert status == 200, body


def runs_of(stack) -> list[dict]:
    status, body = call(stack, "GET", "/campaigns/demo/dispatch", bearer=login(stack, "admin"))
    assert status == 200, body
    return body["runs"]


def test_the_ministry_dispatches_to_one_chosen_province_from_its_home_and_from_the_province_page(
        stack, new_page, artifacts):
    send_roster(stack, FIRST, 61)
    send_roster(stack, SECOND, 62)
    before = {r["run"] for r in runs_of(stack)}

    # 1. The home's dialog: every ready province ticked; untick all, tick one, send to it only.
    admin = new_page()
    log_in(admin, stack, "admin")
    admin.get_by_role("button", name="Phát hành phiếu khảo sát").click()
    dialog = admin.get_by_role("dialog", name="Phát hành phiếu khảo sát?")
    first = dialog.get_by_role("checkbox", name=re.compile(rf"^{FIRST} — Đắk Lắk"))
    second = dialog.get_by_role("checkbox", name=re.compile(rf"^{SECOND} — Đắk Nông"))
    expect(first).to_be_checked()
    expect(second).to_be_checked()
    assert_accessible(admin, "dispatch dialog")
    dialog.get_by_role("button", name="Bỏ chọn tất cả").click()
    send = dialog.get_by_role("button", name=re.compile(r"^Phát hành tới"))
    expect(send).to_have_text("Phát hành tới 0 đơn vị")
    expect(send).to_be_disabled()
    expect(dialog).to_contain_text("Vui lòng chọn ít nhất một đơn vị.")
    first.check()
    expect(send).to_have_text("Phát hành tới 1 đơn vị")
    admin.screenshot(path=str(artifacts / "dispatch-chosen-dialog.png"))
    send.click()
    expect(dialog).to_be_hidden()
    expect(admin.locator("#dispatch-message")).to_contain_text("Đã bắt đầu phát hành tới 1 đơn vị (Đắk Lắk)")
    run = admin.locator("#runs li.run").first
    expect(run.locator(".run-units")).to_have_text("Đơn vị: Đắk Lắk")
    new = [r for r in runs_of(stack) if r["run"] not in before]
    assert [r["units"] for r in new] == [[FIRST]], new
    before |= {r["run"] for r in new}

    # 2. The second province's page: its own send button, for it alone.
    admin.goto(f"/bo/don-vi.html?dot=demo&don-vi={SECOND}")
    button = admin.get_by_role("button", name="Phát hành phiếu khảo sát cho đơn vị này")
    expect(button).to_be_enabled()
    button.click()
    confirm = admin.get_by_role("dialog", name="Phát hành phiếu khảo sát cho Đắk Nông?")
    confirm.get_by_role("button", name="Phát hành", exact=True).click()
    expect(admin.locator("#dispatch-message")).to_contain_text("Đã bắt đầu phát hành cho Đắk Nông")
    new = [r for r in runs_of(stack) if r["run"] not in before]
    assert [r["units"] for r in new] == [[SECOND]], new
    assert_accessible(admin, "province page with its send button")
    stack.drain_queues()

    # 3. The history on the home page names each run's provinces.
    admin.goto("/bo/?dot=demo")
    expect(admin.locator("#runs li.run .run-units").first).to_have_text("Đơn vị: Đắk Nông")
    expect(admin.locator("#runs li.run .run-units").nth(1)).to_have_text("Đơn vị: Đắk Lắk")

    # 4. A province whose roster was not sent has the button disabled, saying why.
    admin.goto("/bo/don-vi.html?dot=demo&don-vi=68")
    expect(admin.locator("#dispatch-summary")).to_contain_text("chưa gửi danh sách")
    expect(admin.get_by_role("button", name="Phát hành phiếu khảo sát cho đơn vị này")).to_be_disabled()

    phone = new_page(width=375, height=800)
    log_in(phone, stack, "admin")
    phone.get_by_role("button", name="Phát hành phiếu khảo sát").click()
    expect(phone.get_by_role("dialog", name="Phát hành phiếu khảo sát?")).to_be_visible()
    assert_accessible(phone, "dispatch dialog at phone width")

    assert not new_page.errors, new_page.errors
