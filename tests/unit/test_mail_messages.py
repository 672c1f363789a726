"""The invitation and the reminder as complete MIME messages: the headers a receiving server expects, a text part
with the HTML part's content, nothing fetched when opened, the one link on the site's own host, and a score below
1.0 from SpamAssassin's local rules (Debian's `spamassassin -L`, no network)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import datetime, timezone
from email import message_from_bytes, policy
from email.utils import parsedate_to_datetime

import pytest

from chalicelib.domain.campaign import contact_line
from chalicelib.domain.links import survey_url
from chalicelib.formats import mail

SITE = "https://chisocchc.moha.gov.vn"
SENDER = "chisocchc@moha.gov.vn"
TOKEN = "pQ7v-3xK_9mZ2rT8wYc4Hn6bJd0LsFa1gVeUiOoRkPq"  # the shape of a real token: 43 URL-safe characters
AT = datetime(2022, 1, 10, 1, 30, tzinfo=timezone.utc)
MAX_SCORE = 1.0


def context(kind: str, **override) -> dict:
    ctx = {"kind": kind, "full_name": "Nguyễn Thị Hồng Nhung", "questionnaire": "Phiếu đánh giá địa phương",
           "campaign": "Chỉ số cải cách hành chính năm 2021 của các bộ, cơ quan ngang bộ, UBND các tỉnh",
           "group": "Đại biểu Hội đồng nhân dân tỉnh", "unit": "Thành phố Hà Nội",
           "deadline": "hết ngày 20/02/2022", "url": survey_url(SITE, TOKEN),
           "contact": contact_line({"name": "Vụ Cải cách hành chính, Bộ Nội vụ", "phone": "098.26.27.828",
                                    "email": "phungdoanhung@moha.gov.vn"}), **override}
    ctx["subject"] = mail.subject(kind, 2021, ctx["questionnaire"])
    return ctx


def message(kind: str, **override) -> bytes:
    ctx = context(kind, **override)
    html, text = mail.render(ctx)
    return mail.mime(SENDER, "Bộ Nội vụ - Chỉ số CCHC", "nhung.nth@hanoi.gov.vn", ctx["subject"], html, text, at=AT)


def parts(raw: bytes) -> tuple:
    msg = message_from_bytes(raw, policy=policy.default)
    return (msg, msg.get_body(preferencelist=("plain",)).get_content(),
            msg.get_body(preferencelist=("html",)).get_content())


@pytest.mark.parametrize("kind", ["invite", "reminder"])
def test_the_message_carries_date_message_id_on_the_sending_domain_and_both_alternatives(kind):
    msg, text, html = parts(message(kind))
    assert parsedate_to_datetime(msg["Date"]) == AT
    assert re.fullmatch(r"<[^@<>\s]+@moha\.gov\.vn>", msg["Message-ID"])
    assert msg["From"].addresses[0].addr_spec == SENDER and msg["From"].addresses[0].display_name
    assert msg["To"] == "nhung.nth@hanoi.gov.vn" and msg["Subject"].startswith("[Chỉ số CCHC 2021] ")
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert ("Nhắc trả lời" if kind == "reminder" else "Mời trả lời") in msg["Subject"]
    assert "Kính gửi Ông/Bà Nguyễn Thị Hồng Nhung," in text


@pytest.mark.parametrize("kind", ["invite", "reminder"])
def test_the_text_part_says_what_the_html_part_says(kind):
    _, text, html = parts(message(kind))
    assert text == mail.text_from_html(html)
    words = re.findall(r"\w+", text)
    assert len(words) > 80 and "Bảo" in words and "Trân" in words  # the whole letter, not a stub
    # the HTML's visible words, in order, are the text's words; the text writes the button's address after its label
    assert f"\n\nTrả lời phiếu khảo sát: {SITE}/khao-sat/#{TOKEN}\n\n" in text
    # the campaign's one contact, with its details
    assert ("Nếu có vướng mắc, xin liên hệ Vụ Cải cách hành chính, Bộ Nội vụ; điện thoại: 098.26.27.828; "
            "email: phungdoanhung@moha.gov.vn.") in text
    visible = re.sub(r"<head>.*?</head>", " ", html, flags=re.S)
    visible = re.sub(r"<[^>]+>", " ", visible).replace("&amp;", "&")
    assert re.findall(r"\w+", visible) == re.findall(r"\w+", text.replace(f": {SITE}/khao-sat/#{TOKEN}", ""))


@pytest.mark.parametrize("name", [" <script>alert('x')</script>  Nguyễn\nVăn &amp; An ", "Lê\tVăn  Tám",
                                  "Đặng Thị \u00a0Hoa", "\ue000full_name\ue001 Trần"])
def test_the_text_part_matches_the_html_part_whatever_the_values(name):
    for kind in ("invite", "reminder"):
        html, text = mail.render(context(kind, full_name=name, unit=f"Tỉnh {name}"))
        assert text == mail.text_from_html(html)
        assert "<script" not in html.lower()


@pytest.mark.parametrize("kind", ["invite", "reminder"])
def test_nothing_is_fetched_when_the_mail_is_opened_and_the_only_link_is_the_survey_on_the_site(kind):
    _, text, html = parts(message(kind))
    assert mail.remote_loads(html) == []  # no image at all, so no tracking pixel
    assert mail.links(html) == [f"{SITE}/khao-sat/#{TOKEN}"]
    assert mail.foreign_links(html, SITE) == []
    assert re.findall(r"https?://\S+", text) == [f"{SITE}/khao-sat/#{TOKEN}"]  # written out, not shortened


def test_the_checks_see_what_they_are_for():
    pixel = '<p>x</p><img src="https://t.example/o.gif" width="1" height="1"><div style="background:url(x)">y</div>'
    assert mail.remote_loads(pixel) == ["<img>", "img[src]", "div[style url()]"]
    shortened = '<a href="https://bit.ly/3abc">https://chisocchc.moha.gov.vn/khao-sat/#x</a>'
    assert mail.foreign_links(shortened, SITE) == ["https://bit.ly/3abc"]
    assert mail.foreign_links('<a href="http://chisocchc.moha.gov.vn/x">x</a>', SITE) == [
        "http://chisocchc.moha.gov.vn/x"]  # not over the site's own scheme
    assert mail.text_from_html('<p>Xem <a href="https://a.vn/x">tại đây</a>.</p><p>B<br>C</p>') == \
        "Xem tại đây: https://a.vn/x.\n\nB\nC\n"


def spamassassin_score(raw: bytes, home: str) -> tuple[float, str]:
    env = {**os.environ, "HOME": home}
    result = subprocess.run(["spamassassin", "-L", "-t", "-x"], input=raw, capture_output=True, timeout=180,
                            env=env)
    out = result.stdout.decode("utf-8", "replace")
    status = re.search(r"^X-Spam-Status: \w+, score=(-?\d+(?:\.\d+)?)", out, re.M)
    assert status, out[-2000:] + result.stderr.decode("utf-8", "replace")[-2000:]
    report = out[out.find("Content analysis details"):] if "Content analysis details" in out else out[-1500:]
    return float(status[1]), report


@pytest.mark.skipif(shutil.which("spamassassin") is None,
                    reason="Debian's spamassassin is not installed (apt-get install spamassassin; .ci/run does)")
@pytest.mark.parametrize("kind", ["invite", "reminder"])
def test_spamassassins_local_rules_score_the_mail_below_one_point(kind, tmp_path):
    score, report = spamassassin_score(message(kind), str(tmp_path))
    assert score < MAX_SCORE, report


@pytest.mark.skipif(shutil.which("spamassassin") is None,
                    reason="Debian's spamassassin is not installed (apt-get install spamassassin; .ci/run does)")
def test_spamassassin_does_score_a_mail_that_looks_like_spam(tmp_path):
    """The scorer is awake: the same letter without Date and with a different text part scores more."""
    ctx = context("invite")
    html, _ = mail.render(ctx)
    raw = mail.mime(SENDER, "Bộ Nội vụ - Chỉ số CCHC", "nhung.nth@hanoi.gov.vn", ctx["subject"], html,
                    "CLICK HERE NOW!!! FREE $$$ https://bit.ly/3abc", at=AT)
    raw = re.sub(rb"^Date: .*\r?\n", b"", raw, count=1, flags=re.M)
    score, report = spamassassin_score(raw, str(tmp_path))
    assert score >= MAX_SCORE, report
