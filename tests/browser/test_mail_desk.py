"""The focal person's mail desk in real Chromium: a preflight from the province's page goes through the invitations'
path (the mail queue, moto's SES, the local outbox), the local mail capture answers with SES's events through the
events topic to the app's handler (one domain configured to bounce, `CCHC_LOCAL_BOUNCE`), and the page shows one
domain delivered and one bounced with the receiving server's diagnostic.

The stack is shared by every browser test of the session: unit 42 is used by no other browser test."""
from __future__ import annotations

import subprocess
import sys

from playwright.sync_api import expect

from builders import person, roster_workbook
from localstack import ROOT
from test_site import log_in
from test_survey_form import XLSX, call, login

from dev.mail_events import answers_from_env, publish_captured

UNIT = "42"
GOOD, BAD = "so-tttt.example.vn", "bounce.example"


def deliver_events(stack) -> int:
    """The events waiting on the topic, handed to the app's SNS handler (what the local workers do)."""
    done = subprocess.run([sys.executable, "-m", "dev.mail_events", "deliver", "--project-dir", str(ROOT)],
                          env=stack.env, cwd=ROOT, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    return int(done.stdout.decode().strip().splitlines()[-1])


def test_a_preflight_from_the_desk_shows_one_domain_delivered_and_one_bounced_with_its_diagnostic(
        stack, new_page, artifacts):
    token = login(stack, UNIT)
    focal = {"full_name": "Lê Văn Cường", "position": "Trưởng phòng Công nghệ thông tin", "mobile": "0912345678",
             "email": f"cntt@{GOOD}"}
    assert call(stack, "PUT", f"/campaigns/demo/units/{UNIT}/focal-person", bearer=token, body=focal)[0] == 200
    rows = [person(1, email=f"nguoi1@{GOOD}"), person(2, email=f"nguoi2@{GOOD}"), person(3, email=f"a@{BAD}"),
            person(4, email=f"b@{BAD}")]
    status, body = call(stack, "POST", f"/campaigns/demo/units/{UNIT}/roster/imports", bearer=token,
                        raw=roster_workbook(rows), content_type=XLSX)
    assert status == 200, body

    page = new_page()
    log_in(page, stack, UNIT)
    page.goto("/tinh/dau-moi.html?dot=demo")
    good_row = page.locator(f'#domain-table tbody tr[data-domain="{GOOD}"]')
    bad_row = page.locator(f'#domain-table tbody tr[data-domain="{BAD}"]')
    expect(good_row).to_contain_text("Chưa kiểm tra")
    expect(bad_row.locator("td").nth(1)).to_have_text("2")
    expect(page.locator("#allowlist")).to_contain_text("Địa chỉ gửi thư")
    expect(page.locator("#email")).to_have_value(f"cntt@{GOOD}")
    good_row.get_by_role("checkbox").check()
    bad_row.get_by_role("checkbox").check()
    page.get_by_role("button", name="Gửi thư kiểm tra").click()
    expect(page.locator("#mail-message")).to_contain_text("Đã gửi 5 thư kiểm tra")
    expect(good_row).to_contain_text("Đang chờ kết quả")

    assert stack.drain_queues() >= 1
    mails = [p for p in stack.collect_mail() if GOOD in p.read_text(errors="replace")[:2000]
             or BAD in p.read_text(errors="replace")[:2000]]
    assert len(mails) == 5
    topic = stack.env["CCHC_TABLE_PREFIX"] + "mail-events"
    answers = answers_from_env({"CCHC_LOCAL_BOUNCE": BAD})
    assert publish_captured(mails, topic, answers, stack.moto_url) == 10  # Send + Delivery or Bounce, for each
    assert deliver_events(stack) == 10

    page.get_by_role("button", name="Cập nhật kết quả").click()
    expect(good_row).to_contain_text("Đã tới hộp thư")
    expect(good_row).to_contain_text("Đã tới máy chủ thư của người nhận")
    expect(bad_row).to_contain_text("Không tới được")
    expect(bad_row).to_contain_text("550 5.7.1 Message rejected by policy")
    expect(bad_row).to_contain_text("từ chối theo chính sách")
    expect(page.locator("#preflight-info")).to_contain_text("5 thư, 2 thư không tới được")
    page.screenshot(path=str(artifacts / "mail-desk-preflight.png"), full_page=True)
    assert not new_page.errors, new_page.errors
