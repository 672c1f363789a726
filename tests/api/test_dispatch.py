"""Dispatch, mail, reminders and bounces, through the real handlers on moto (SQS, SES, SNS events)."""
import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from builders import person, roster_workbook
from outbox import REGION, body_text, drain, run_all, sent_mails, ses_backend
from chalicelib.config import settings
from chalicelib.domain.credentials import link_named
from chalicelib.domain.timefmt import local_datetime
from chalicelib.store.models import LinkModel, MailModel, StatsModel, TokenModel

VN = ZoneInfo("Asia/Ho_Chi_Minh")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def survey(api, tokens, clock):
    """Demo campaign (its phases opened on the seed day), unit 01's roster of 3 sent: 4 links to issue."""
    ses_backend().max_send_rate = 1000  # the fake account's quota: keep the suite fast
    rows = [person(1, group="1", agency="HĐND tỉnh"), person(2, group="2", agency="Sở Y tế"),
            person(3, group="4", agency="UBND huyện Ba Vì")]
    r = api.call("POST", "/campaigns/demo/units/01/roster/imports", token=tokens["01"],
                 headers={"content-type": XLSX}, raw=roster_workbook(rows))
    assert r.status_code == 200, r.data
    assert api.call("POST", "/campaigns/demo/units/01/roster/submit", token=tokens["01"]).status_code == 200
    return tokens


def links():
    return sorted(LinkModel.query("demo#01"), key=lambda link: link.slot)


def test_dispatch_issues_a_link_per_questionnaire_and_mails_each_respondent(api, survey):
    r = api.call("POST", "/campaigns/demo/dispatch", {}, token=survey["admin"])
    assert r.status_code == 202 and r.data["units"] == ["01"]
    run_all(api)
    issued = links()
    assert [(link.rid[:6], link.purpose, link.state) for link in issued] == [
        ("000001", "locality", "sent"), ("000002", "locality", "sent"), ("000002", "ministry", "sent"),
        ("000003", "locality", "sent")]
    mails = sent_mails()
    assert len(mails) == 4
    first = mails[0]
    assert first["Subject"].startswith("[Chỉ số CCHC") and "Mời trả lời" in first["Subject"]
    text = body_text(first)
    assert "Kính gửi Ông/Bà" in text and "/khao-sat/#" in text and "Bảo mật" in text
    assert first.get_body(preferencelist=("html",)) is not None
    progress = api.call("GET", "/campaigns/demo/dispatch", token=survey["admin"]).data["runs"][0]
    assert (progress["links_issued"], progress["mails_queued"], progress["mails_sent"], progress["finished"]) == (
        4, 4, 4, True)
    totals = StatsModel.get("demo#01", "all")
    assert (int(totals.issued), int(totals.sent)) == (0, 4)
    notes = api.call("GET", "/campaigns/demo/units/01/notifications", token=survey["01"]).data["items"]
    assert {"Bộ Nội vụ đã phát hành phiếu khảo sát", "Đã gửi xong thư mời khảo sát"} <= {n["title"] for n in notes}
    # forms and people are told apart: 3 people, one of whom answers two forms
    by_title = {n["title"]: n["message"] for n in notes}
    assert by_title["Bộ Nội vụ đã phát hành phiếu khảo sát"].startswith(
        "Bộ Nội vụ đã phát hành 4 phiếu khảo sát cho 3 người của đơn vị;")
    assert by_title["Đã gửi xong thư mời khảo sát"].startswith(
        "Bộ Nội vụ đã gửi xong thư mời trả lời 4 phiếu khảo sát cho 3 người của đơn vị.")


def test_a_job_writes_and_compresses_as_it_goes_and_every_link_gets_one_token_and_one_mail(api, survey, monkeypatch):
    from chalicelib.services import dispatch

    monkeypatch.setattr(dispatch, "WRITE_EVERY", 2)  # links and tokens written mid-chunk, some left for the end
    monkeypatch.setattr(dispatch, "MAILS_PER_MESSAGE", 3)  # the chunk's 4 mails in two messages
    assert api.call("POST", "/campaigns/demo/dispatch", {}, token=survey["admin"]).status_code == 202
    run_all(api)
    issued = links()
    assert len(issued) == 4 and {link.state for link in issued} == {"sent"}
    assert all(len(link.token_hashes) == 1 and TokenModel.get(link.token_hashes[0]).slot == link.slot
               for link in issued)
    assert TokenModel.count() == 4 and len(sent_mails()) == 4
    progress = api.call("GET", "/campaigns/demo/dispatch", token=survey["admin"]).data["runs"][0]
    assert (progress["links_issued"], progress["mails_queued"], progress["mails_sent"]) == (4, 4, 4)


def test_no_plaintext_token_is_stored_anywhere_in_the_database(api, survey):
    api.call("POST", "/campaigns/demo/dispatch", {}, token=survey["admin"])
    run_all(api)
    tokens = [body_text(m).split("/khao-sat/#", 1)[1].split()[0] for m in sent_mails()]
    # a token names its link, then carries its 256-bit secret (43 characters)
    named = [link_named(t) for t in tokens]
    assert len(tokens) == 4 and {(link.unit_key, link.slot) for link in links()} == set(named)
    ddb = boto3.client("dynamodb", region_name=REGION)
    dump = ""
    for table in ddb.list_tables()["TableNames"]:
        for page in ddb.get_paginator("scan").paginate(TableName=table):
            dump += json.dumps(page["Items"])
    assert not [t for t in tokens if t in dump or t[-43:] in dump]
    assert all(TokenModel.count(hash_key=__import__("hashlib").sha256(t.encode()).hexdigest()) == 1 for t in tokens)


def test_dispatching_twice_and_redelivered_jobs_make_no_duplicate_links_or_mails(api, survey):
    api.call("POST", "/campaigns/demo/dispatch", {}, token=survey["admin"])
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.get_queue_url(QueueName=settings().jobs_queue)["QueueUrl"]
    job = sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"]
    for _ in range(2):  # the same job delivered twice
        api.client.lambda_.invoke("jobs", api.client.events.generate_sqs_event(message_bodies=[job],
                                                                                queue_name="jobs"))
    drain(api, settings().mail_queue, "mail")
    api.call("POST", "/campaigns/demo/dispatch", {}, token=survey["admin"])
    run_all(api)
    assert len(links()) == 4 and len(sent_mails()) == 4
    assert int(StatsModel.get("demo#01", "all").sent) == 4


def test_an_invitation_whose_job_died_before_mailing_is_reissued_and_mailed_once(api, survey, clock):
    api.call("POST", "/campaigns/demo/dispatch", {}, token=survey["admin"])
    drain(api, settings().jobs_queue, "jobs")
    sqs = boto3.client("sqs", region_name=REGION)
    sqs.purge_queue(QueueUrl=sqs.get_queue_url(QueueName=settings().mail_queue)["QueueUrl"])  # the mails are lost
    clock.at(clock() + timedelta(hours=3))
    api.call("POST", "/campaigns/demo/dispatch", {}, token=survey["admin"])
    run_all(api)
    assert len(sent_mails()) == 4 and {link.state for link in links()} == {"sent"}
    assert all(len(link.token_hashes) == 1 for link in links())


def test_mail_goes_no_faster_than_the_accounts_rate_and_throttling_is_retried(api, survey, monkeypatch, clock):
    from chalicelib.services import mailing
    from chalicelib.store import mailer

    ses_backend().max_send_rate = 6  # shared by the 2 mail consumers: 3 a second each
    mailer._quota.clear()
    mailing._pace = None
    api.call("POST", "/campaigns/demo/dispatch", {}, token=survey["admin"])
    drain(api, settings().jobs_queue, "jobs")
    throttled = {"left": 2}

    def throttle(**kwargs):
        """SES answering 'slow down' (a fault injected at the AWS API boundary)."""
        if throttled["left"]:
            throttled["left"] -= 1
            return (AWSResponse("https://email", 400, {}, None),
                    {"Error": {"Code": "Throttling", "Message": "Maximum sending rate exceeded."}})
        return None

    mailer._ses().meta.events.register("before-call.ses.SendRawEmail", throttle)
    fake = {"t": 100.0, "sends": [], "sleeps": []}

    def sleep(seconds):
        fake["sleeps"].append(seconds)
        fake["t"] += seconds

    original = mailer.send_raw

    def timed(*args):
        fake["sends"].append(fake["t"])
        return original(*args)

    monkeypatch.setattr(mailer, "send_raw", timed)
    sqs = boto3.client("sqs", region_name=REGION)
    body = json.loads(sqs.receive_message(QueueUrl=sqs.get_queue_url(
        QueueName=settings().mail_queue)["QueueUrl"])["Messages"][0]["Body"])
    try:
        result = mailing.send_batch(body, clock, monotonic=lambda: fake["t"], sleep=sleep)
    finally:
        mailer._ses().meta.events.unregister("before-call.ses.SendRawEmail", throttle)
    assert result == {"sent": 4, "dropped": 0, "failed": 0} and len(sent_mails()) == 4
    assert 0.5 in fake["sleeps"] and 1.0 in fake["sleeps"]  # the two throttled calls backed off
    accepted = fake["sends"][2:]
    assert all(b - a >= 1 / 3 - 1e-9 for a, b in zip(accepted, accepted[1:]))


def test_a_permanent_bounce_marks_the_link_and_a_corrected_address_gets_a_new_link(api, survey):
    api.call("POST", "/campaigns/demo/dispatch", {}, token=survey["admin"])
    run_all(api)
    target = links()[0]
    [mail] = [m for m in MailModel.scan() if m.slot == target.slot]
    old_hashes = list(target.token_hashes)
    event = {"notificationType": "Bounce", "mail": {"messageId": mail.message_id},
             "bounce": {"bounceType": "Permanent", "bouncedRecipients": [
                 {"emailAddress": target.email, "diagnosticCode": "550 5.1.1 user unknown"}]}}
    api.client.lambda_.invoke("mail-events", api.client.events.generate_sns_event(message=json.dumps(event)))
    bounced = LinkModel.get("demo#01", target.slot)
    assert bounced.state == "bounced" and "550 5.1.1" in bounced.problem
    assert int(StatsModel.get("demo#01", "all").bounced) == 1
    bad = api.call("POST", f"/campaigns/demo/units/01/roster/{target.rid}/email", {"email": "sai@"},
                   token=survey["01"])
    assert bad.status_code == 422
    fixed = api.call("POST", f"/campaigns/demo/units/01/roster/{target.rid}/email",
                     {"email": "Dia.Chi.Moi@hanoi.gov.vn"}, token=survey["01"])
    assert fixed.status_code == 200 and fixed.data["reissued"] == 1
    drain(api, settings().mail_queue, "mail")
    relinked = LinkModel.get("demo#01", target.slot)
    assert relinked.state == "sent" and relinked.email == "dia.chi.moi@hanoi.gov.vn"
    assert all(TokenModel.count(hash_key=h) == 0 for h in old_hashes)  # the old link is dead
    assert sent_mails()[-1]["To"] == "dia.chi.moi@hanoi.gov.vn"
    assert int(StatsModel.get("demo#01", "all").bounced) == 0


def test_reminders_go_to_those_who_have_not_answered_at_most_once_a_day(api, survey, clock):
    from chalicelib.store import links as link_store

    api.call("POST", "/campaigns/demo/dispatch", {}, token=survey["admin"])
    run_all(api)
    answered = links()[1]
    assert link_store.move(answered, "submitted", ("sent",), clock())
    # the preview counts people (nguoi2 has one form answered, one waiting) and says from when they can be reminded
    preview = api.call("POST", "/campaigns/demo/units/01/reminders/preview", {}, token=survey["01"])
    assert preview.status_code == 200, preview.body
    assert preview.data["people"] == {"now": 0, "recent": 3, "answered": 0, "undeliverable": 0}
    assert preview.data["forms"] == {"now": 0, "recent": 3, "answered": 1, "undeliverable": 0}
    mailed = max(link.last_mail_at for link in links())
    assert preview.data["recent_until_label"] == local_datetime(mailed + timedelta(hours=24))
    too_soon = api.call("POST", "/campaigns/demo/units/01/reminders", {}, token=survey["01"]).data
    assert too_soon == {"queued": 0, "recent": 3, "answered": 1, "undeliverable": 0,
                        "people": {"queued": 0, "recent": 3, "answered": 0, "undeliverable": 0}}
    clock.at(clock() + timedelta(hours=25, microseconds=250_000))  # a real clock's instants have microseconds
    preview = api.call("POST", "/campaigns/demo/units/01/reminders/preview", {}, token=survey["01"]).data
    assert preview["people"]["now"] == 3 and preview["forms"]["now"] == 3 and preview["recent_from"] is None
    first = api.call("POST", "/campaigns/demo/units/01/reminders", {}, token=survey["01"]).data
    again = api.call("POST", "/campaigns/demo/units/01/reminders", {}, token=survey["admin"]).data
    assert (first["queued"], again["queued"], again["recent"]) == (3, 0, 3)
    drain(api, settings().mail_queue, "mail")
    reminders = [m for m in sent_mails() if "Nhắc trả lời" in m["Subject"]]
    assert answered.purpose == "locality" and answered.email == "nguoi2@hagiang.gov.vn"
    assert sorted(m["To"] for m in reminders) == ["nguoi1@hagiang.gov.vn", "nguoi2@hagiang.gov.vn",
                                                  "nguoi3@hagiang.gov.vn"]
    [second_form] = [m for m in reminders if m["To"] == answered.email]  # the questionnaire not yet answered
    assert "bộ chủ quản" in second_form["Subject"].lower()
    assert int(StatsModel.get("demo#01", "all").reminders) == 3
    chosen = links()[0]
    clock.at(clock() + timedelta(hours=25))
    only = api.call("POST", "/campaigns/demo/units/01/reminders", {"rids": [chosen.rid]}, token=survey["01"])
    assert only.data["queued"] == 1
    assert api.call("POST", "/campaigns/demo/units/02/reminders", {}, token=survey["01"]).status_code == 403


def test_after_the_survey_deadline_nothing_is_sent(api, survey, clock):
    api.call("POST", "/campaigns/demo/dispatch", {}, token=survey["admin"])
    drain(api, settings().jobs_queue, "jobs")
    clock.at(clock() + timedelta(days=62))
    drain(api, settings().mail_queue, "mail")
    assert sent_mails() == [] and {link.state for link in links()} == {"issued"}
    late = api.call("POST", "/campaigns/demo/dispatch", {}, token=survey["admin"])
    assert late.status_code == 423
    assert api.call("POST", "/campaigns/demo/units/01/reminders", {}, token=survey["01"]).status_code == 423


def test_dispatch_needs_a_sent_roster(api, tokens):
    r = api.call("POST", "/campaigns/demo/dispatch", {"units": ["02"]}, token=tokens["admin"])
    assert r.status_code == 409 and "chưa gửi danh sách" in r.data["message"]
    assert api.call("POST", "/campaigns/demo/dispatch", {}, token=tokens["01"]).status_code == 403


def test_automatic_reminders_start_once_on_the_configured_days_before_the_deadline(api, survey, clock):
    api.call("POST", "/campaigns/demo/dispatch", {}, token=survey["admin"])
    run_all(api)
    from chalicelib.store.campaigns import get_campaign
    closes = next(p for p in get_campaign("demo").phases if p["code"] == "survey")["closes_at"]
    deadline_day = datetime.fromisoformat(closes.replace("Z", "+00:00")).astimezone(VN) - timedelta(seconds=1)
    clock.at(deadline_day.replace(hour=9) - timedelta(days=3))
    event = api.client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={},
                                                resources=[])
    assert api.client.lambda_.invoke("auto-reminders", event).payload == {"units": 1}
    assert api.client.lambda_.invoke("auto-reminders", event).payload == {"units": 0}
    run_all(api)
    assert len([m for m in sent_mails() if "Nhắc trả lời" in m["Subject"]]) == 4
