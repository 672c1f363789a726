"""SES events of every type, as SNS delivers them, through the app's mail-events handler: link states, counters,
transient retries, the focal person's notices, the unit's pause and the national breaker (moto in-process)."""
import json
from datetime import datetime, timedelta, timezone

import pytest
from builders import person, ses_event
from outbox import drain, mail_roster, sent_mails, ses_backend

from chalicelib.config import settings
from chalicelib.store import links as link_store
from chalicelib.store.links import Mail

FOCAL = {"full_name": "Trần Thị Bình", "position": "Phó Giám đốc Sở Thông tin và Truyền thông",
         "mobile": "0983123456", "email": "dau.moi@hanoi.gov.vn"}


@pytest.fixture
def survey(api, tokens, clock, built):
    """Demo campaign, unit 01's focal person with an address, its roster of 3 sent and dispatched: 4 links sent."""
    def build():
        ses_backend().max_send_rate = 1000
        assert api.call("PUT", "/campaigns/demo/units/01/focal-person", FOCAL, token=tokens["01"]).status_code == 200
        rows = [person(1, group="1", agency="HĐND tỉnh"), person(2, group="2", agency="Sở Y tế"),
                person(3, group="4", agency="UBND huyện Ba Vì", email="nguoi3@bavi.hanoi.gov.vn")]
        mail_roster(api, tokens, rows)
        return tokens

    return built("survey", build)


def publish(api, record: dict) -> str:
    """SNS's envelope around the record, to the app's handler, as the topic's Lambda subscription does."""
    envelope = {"Type": "Notification", "MessageId": "sns-1", "TopicArn": "arn:aws:sns:ap-southeast-1:1:t",
                "Message": json.dumps(record)}
    event = api.client.events.generate_sns_event(message=json.dumps(envelope))
    return api.client.lambda_.invoke("mail-events", event).payload["result"]


def run_guard(api) -> dict:
    """The mail-guard rule fired the way EventBridge fires it."""
    event = api.client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={},
                                                resources=[])
    return api.client.lambda_.invoke("mail-guard", event).payload


def mail_of(link) -> Mail:
    """The link's latest invitation (the highest attempt)."""
    from chalicelib.store.models import MailModel

    item = max((m for m in MailModel.scan() if m.unit_key == link.unit_key and m.slot == link.slot
                and m.kind == "invite"), key=lambda m: int(m.attempt or 1))
    return link_store.find_mail(item.message_id)


def links():
    return sorted(link_store.unit_links("demo#01"), key=lambda link: link.slot)


def progress_of(api, token, rid):
    data = api.call("GET", "/campaigns/demo/units/01/progress", token=token).data
    return next(p for p in data["people"] if p["rid"] == rid)


def desk(api, token):
    r = api.call("GET", "/campaigns/demo/units/01/mail", token=token)
    assert r.status_code == 200, r.body
    return r.data


def test_every_event_type_moves_the_link_the_counters_and_the_domains_record_once(api, survey, clock):
    first, second, third, fourth = links()
    now = clock()
    m1 = mail_of(first)
    assert publish(api, ses_event("send", m1.message_id, first.email, now)) == "send"
    assert publish(api, ses_event("send", m1.message_id, first.email, now)) == "duplicate"  # SNS redelivers
    assert publish(api, ses_event("delivery_delay", m1.message_id, first.email, now)) == "delay"
    assert link_store.get_link("demo#01", first.slot).delivery == "delayed"
    assert publish(api, ses_event("delivery", m1.message_id, first.email, now + timedelta(seconds=5))) == "delivery"
    assert link_store.get_link("demo#01", first.slot).delivery == "delivered"

    m2 = mail_of(second)
    publish(api, ses_event("send", m2.message_id, second.email, now))
    assert publish(api, ses_event("bounce_policy", m2.message_id, second.email, now)) == "bounce_permanent"
    bounced = link_store.get_link("demo#01", second.slot)
    assert bounced.state == "bounced" and bounced.delivery == "bounced"
    assert "550 5.7.1 Message rejected by policy" in bounced.problem
    assert link_store.unit_totals("demo#01").bounced == 1
    person_view = progress_of(api, survey["01"], second.rid)
    assert any(item["state"] == "bounced" and item["delivery_name"] == "Bị trả lại" for item in person_view["links"])

    m3 = mail_of(third)
    assert publish(api, ses_event("complaint", m3.message_id, third.email, now)) == "complaint"
    complained = link_store.get_link("demo#01", third.slot)
    assert complained.no_mail and complained.delivery == "complained" and "thư rác" in complained.problem

    m4 = mail_of(fourth)
    assert publish(api, ses_event("reject", m4.message_id, fourth.email, now)) == "reject"
    failed = link_store.get_link("demo#01", fourth.slot)
    assert failed.state == "failed" and "Bad content" in failed.problem
    assert publish(api, ses_event("rendering_failure", m4.message_id, fourth.email, now)) == "rendering_failure"

    view = desk(api, survey["01"])
    by_domain = {d["domain"]: d for d in view["domains"]}
    hagiang = by_domain["hagiang.gov.vn"]
    assert (hagiang["respondents"], hagiang["accepted"], hagiang["delivered"], hagiang["bounced"],
            hagiang["complaints"], hagiang["delayed"], hagiang["policy_rejections"]) == (2, 2, 1, 1, 1, 1, 1)
    assert hagiang["last_outcome"] == "complaint"
    assert by_domain["bavi.hanoi.gov.vn"]["rejected"] == 2
    assert by_domain["bavi.hanoi.gov.vn"]["last_diagnostic"].startswith("Attribute 'attributeName'")
    # a reminder goes to none of them now: answered none, bounced, reported as spam, failed, and the delivered one
    # was mailed today already
    reminded = api.call("POST", "/campaigns/demo/units/01/reminders", {}, token=survey["01"]).data
    assert reminded["queued"] == 0 and reminded["undeliverable"] == 3


def test_a_transient_bounce_is_sent_again_by_the_schedule_then_the_link_fails(api, survey, clock):
    target = links()[0]
    mails_before = len(sent_mails())
    for attempt in (1, 2, 3):
        mail = mail_of(link_store.get_link("demo#01", target.slot))
        assert mail.attempt == attempt
        assert publish(api, ses_event("bounce_transient", mail.message_id, target.email, clock())) == \
            "bounce_transient"
        waiting = link_store.get_link("demo#01", target.slot)
        assert waiting.state == "sent" and waiting.delivery == "retrying" and f"lần {attempt}" in waiting.problem
        run_guard(api)
        assert len(sent_mails()) == mails_before + attempt - 1  # not yet: the wait grows 30, 60, 120 minutes
        clock.at(clock() + timedelta(minutes=30 * 2 ** (attempt - 1), seconds=1))
        result = run_guard(api)
        assert result["resent"] == 1
        drain(api, settings().mail_queue, "mail")
        assert len(sent_mails()) == mails_before + attempt
        assert link_store.get_link("demo#01", target.slot).state == "sent"
    last = mail_of(link_store.get_link("demo#01", target.slot))
    assert last.attempt == 4
    publish(api, ses_event("bounce_transient", last.message_id, target.email, clock()))
    failed = link_store.get_link("demo#01", target.slot)
    assert failed.state == "failed" and "sau 4 lần thử" in failed.problem and "452 4.2.2" in failed.problem
    assert link_store.unit_totals("demo#01").failed == 1
    view = desk(api, survey["01"])
    assert {d["domain"]: d["bounced_transient"] for d in view["domains"]}["hagiang.gov.vn"] == 4


def test_a_domain_that_starts_refusing_by_policy_is_reported_to_the_focal_person_on_the_page_and_by_mail(
        api, survey, clock):
    target = links()[1]
    before = len(sent_mails())
    publish(api, ses_event("bounce_policy", mail_of(target).message_id, target.email, clock()))
    notes = api.call("GET", "/campaigns/demo/units/01/notifications", token=survey["01"]).data["items"]
    [note] = [n for n in notes if n["kind"] == "mail_domain"]
    assert note["title"] == "Thư gửi tới tên miền hagiang.gov.vn bị trả lại"
    assert "550 5.7.1 Message rejected by policy" in note["message"] and "chisocchc@moha.gov.vn" in note["message"]
    drain(api, settings().mail_queue, "mail")
    [mailed] = sent_mails()[before:]
    assert mailed["To"] == FOCAL["email"] and "hagiang.gov.vn" in mailed["Subject"]
    assert "550 5.7.1" in mailed.get_body(preferencelist=("plain",)).get_content()
    # told once: the next refusal of the same domain adds no notice
    other = links()[0]
    publish(api, ses_event("bounce_policy", mail_of(other).message_id, other.email, clock()))
    notes = api.call("GET", "/campaigns/demo/units/01/notifications", token=survey["01"]).data["items"]
    assert len([n for n in notes if n["kind"] == "mail_domain"]) == 1


def fake_mails(count: int, clock) -> list[str]:
    """`count` invitations of unit 01 recorded as sent, each to its own address (the pause and the breaker count
    SES's events, not links)."""
    ids = []
    for i in range(count):
        message_id = f"guard-{i:04d}"
        link_store.record_mail(Mail(message_id=message_id, unit_key="demo#01", slot=f"x{i}#locality", kind="invite",
                                    sent_at=clock(), recipient=f"nguoi{i}@hagiang.gov.vn"))
        ids.append(message_id)
    return ids


def test_a_unit_whose_bounce_rate_passes_the_campaign_threshold_pauses_until_the_ministry_resumes(
        api, survey, clock):
    ids = fake_mails(60, clock)
    for i, message_id in enumerate(ids):
        publish(api, ses_event("send", message_id, f"nguoi{i}@hagiang.gov.vn", clock()))
    publish(api, ses_event("bounce_permanent", ids[0], "nguoi0@hagiang.gov.vn", clock()))
    assert desk(api, survey["01"])["pause"]["active"] is False  # 1/60 = 1.67 %
    publish(api, ses_event("bounce_permanent", ids[1], "nguoi1@hagiang.gov.vn", clock()))
    pause = desk(api, survey["01"])["pause"]  # 2/60 = 3.33 % > 3 %
    assert pause["active"] and "3,33 %" in pause["reason"] and "(2/60 thư)" in pause["reason"]
    guard = api.call("GET", "/campaigns/demo/mail-guard", token=survey["admin"]).data
    assert [p["unit"] for p in guard["paused"]] == ["01"] and guard["paused"][0]["reason"] == pause["reason"]
    notes = api.call("GET", "/campaigns/demo/units/01/notifications", token=survey["01"]).data["items"]
    assert any(n["kind"] == "mail_paused" and "vượt ngưỡng 3 %" in n["message"] for n in notes)

    # the mailer holds the paused unit's reminders: queued again for later, not sent, not dropped
    clock.at(clock() + timedelta(days=1, minutes=1))
    drain(api, settings().mail_queue, "mail")  # the focal person's notice goes
    before = len(sent_mails())
    assert api.call("POST", "/campaigns/demo/units/01/reminders", {}, token=survey["01"]).data["queued"] == 4
    drain(api, settings().mail_queue, "mail")
    assert len(sent_mails()) == before
    import boto3

    sqs = boto3.client("sqs", region_name="ap-southeast-1")
    url = sqs.get_queue_url(QueueName=settings().mail_queue)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert int(attributes["ApproximateNumberOfMessagesDelayed"]) == 1

    assert api.call("POST", "/campaigns/demo/units/01/mail/resume", {}, token=survey["01"]).status_code == 403
    resumed = api.call("POST", "/campaigns/demo/units/01/mail/resume", {"reason": "Tỉnh đã sửa danh sách"},
                       token=survey["admin"])
    assert resumed.status_code == 200 and resumed.data["active"] is False and resumed.data["resumed_by"] == "admin"
    assert api.call("POST", "/campaigns/demo/units/01/mail/resume", {}, token=survey["admin"]).status_code == 409
    audit = api.call("GET", "/audit?action=mail_unit_resumed", token=survey["admin"]).data["items"]
    assert audit and audit[0]["details"]["reason"] == "Tỉnh đã sửa danh sách"
    assert api.call("GET", "/audit?action=mail_unit_paused", token=survey["admin"]).data["items"]
    # judged afresh after the resumption: one more bounce does not pause it again at once
    publish(api, ses_event("bounce_permanent", ids[2], "nguoi2@hagiang.gov.vn", clock()))
    assert desk(api, survey["01"])["pause"]["active"] is False


def test_the_national_breaker_trips_on_the_event_counters_or_ses_statistics_and_only_the_ministry_resets_it(
        api, survey, clock):
    ids = fake_mails(200, clock)
    for i, message_id in enumerate(ids):
        publish(api, ses_event("send", message_id, f"nguoi{i}@hagiang.gov.vn", clock()))
    assert api.call("GET", "/campaigns/demo/mail-guard", token=survey["admin"]).data["breaker"]["active"] is False
    for i in range(8):  # 8/200 = 4 %: 80 % of SES's 5 %
        publish(api, ses_event("bounce_permanent", ids[i], f"nguoi{i}@hagiang.gov.vn", clock()))
    breaker = api.call("GET", "/campaigns/demo/mail-guard", token=survey["admin"]).data["breaker"]
    assert breaker["active"] and "8/200 thư, theo sự kiện" in breaker["reason"]
    assert api.call("GET", "/audit?action=mail_breaker_tripped", token=survey["admin"]).data["items"]
    drain(api, settings().mail_queue, "mail")  # notices still go (the focal person's, about the pause)
    before = len(sent_mails())
    r = api.call("POST", "/campaigns/demo/units/01/mail/preflight", {"domains": ["hagiang.gov.vn"]},
                 token=survey["01"])
    assert r.status_code == 202
    drain(api, settings().mail_queue, "mail")
    assert len(sent_mails()) == before  # held while the breaker is on

    assert api.call("POST", "/mail-breaker/reset", {}, token=survey["01"]).status_code == 403
    reset = api.call("POST", "/mail-breaker/reset", {"reason": "Đã làm sạch danh sách"}, token=survey["admin"])
    assert reset.status_code == 200 and reset.data["active"] is False
    assert api.call("GET", "/audit?action=mail_breaker_reset", token=survey["admin"]).data["items"]

    # SES's own statistics trip it too (the schedule reads GetSendStatistics); only data after the reset count
    from chalicelib.store import mailer

    after = clock() + timedelta(minutes=20)
    points = [{"Timestamp": clock() - timedelta(hours=3), "DeliveryAttempts": 1000, "Bounces": 900,
               "Complaints": 0, "Rejects": 0},
              {"Timestamp": after, "DeliveryAttempts": 500, "Bounces": 3, "Complaints": 0, "Rejects": 0}]

    def statistics(**kwargs):
        from botocore.awsrequest import AWSResponse

        return AWSResponse("https://email", 200, {}, None), {"SendDataPoints": points}  # as SES answers

    mailer._ses().meta.events.register("before-call.ses.GetSendStatistics", statistics)
    try:
        clock.at(after)
        assert run_guard(api)["breaker_tripped"] is False
        points[1]["Complaints"] = 1  # 1/500 = 0.2 % ≥ 0.08 %
        assert run_guard(api)["breaker_tripped"] is True
    finally:
        mailer._ses().meta.events.unregister("before-call.ses.GetSendStatistics", statistics)
    breaker = api.call("GET", "/campaigns/demo/mail-guard", token=survey["admin"]).data["breaker"]
    assert breaker["active"] and "thư bị báo là thư rác" in breaker["reason"] and "theo SES" in breaker["reason"]


def test_a_preflight_reaches_the_focal_person_and_three_addresses_per_domain_and_dispatch_warns_of_a_failure(
        api, survey, clock):
    from chalicelib.store.models import MailModel

    bad = api.call("POST", "/campaigns/demo/units/01/mail/preflight", {"domains": ["khong-co.gov.vn"]},
                   token=survey["01"])
    assert bad.status_code == 422 and "khong-co.gov.vn" in bad.data["message"]
    before = len(sent_mails())
    r = api.call("POST", "/campaigns/demo/units/01/mail/preflight",
                 {"domains": ["hagiang.gov.vn", "bavi.hanoi.gov.vn"]}, token=survey["01"])
    assert r.status_code == 202, r.body
    assert r.data["preflight"]["domains"] == ["bavi.hanoi.gov.vn", "hagiang.gov.vn"]
    assert {x["address"] for x in r.data["preflight"]["results"]} == {
        FOCAL["email"], "nguoi1@hagiang.gov.vn", "nguoi2@hagiang.gov.vn", "nguoi3@bavi.hanoi.gov.vn"}
    drain(api, settings().mail_queue, "mail")
    mailed = sent_mails()[before:]
    assert sorted(m["To"] for m in mailed) == sorted(x["address"] for x in r.data["preflight"]["results"])
    assert all(m["Subject"].endswith("] Thư kiểm tra đường gửi thư khảo sát") for m in mailed)
    tests = {m.recipient: m.message_id for m in MailModel.scan() if m.kind == "preflight"}
    for address, message_id in tests.items():
        name = "bounce_policy" if address.endswith("@bavi.hanoi.gov.vn") else "delivery"
        publish(api, ses_event("send", message_id, address, clock()))
        publish(api, ses_event(name, message_id, address, clock()))
    view = desk(api, survey["01"])
    by_domain = {d["domain"]: d for d in view["domains"]}
    assert by_domain["hagiang.gov.vn"]["preflight"]["status"] == "delivered"
    failed = by_domain["bavi.hanoi.gov.vn"]["preflight"]
    assert failed["status"] == "failed" and failed["status_name"] == "Không tới được"
    assert failed["diagnostic"] == "550 5.7.1 Message rejected by policy: sender domain not allowed"
    assert by_domain["bavi.hanoi.gov.vn"]["last_reason"].startswith("Máy chủ thư của người nhận từ chối theo chính")
    assert [row["label"] for row in view["allowlist"]][:2] == ["Địa chỉ gửi thư", "Tên miền gửi thư"]
    # the ministry may run it too, for any unit; dispatch warns (and still starts)
    assert api.call("GET", "/campaigns/demo/units/01/mail", token=survey["admin"]).status_code == 200
    started = api.call("POST", "/campaigns/demo/dispatch", {}, token=survey["admin"])
    assert started.status_code == 202
    assert started.data["warnings"] == [{"unit": "01", "domain": "bavi.hanoi.gov.vn",
                                         "diagnostic": "550 5.7.1 Message rejected by policy: sender domain not "
                                                       "allowed"}]


def test_the_focal_persons_address_is_validated_and_kept(api, tokens, clock):
    clock.at(datetime(2022, 1, 6, 3, 0, tzinfo=timezone.utc))
    bad = api.call("PUT", "/campaigns/2021/units/01/focal-person", {**FOCAL, "email": "dau.moi@"}, token=tokens["01"])
    assert bad.status_code == 422 and bad.data["details"][0]["field"] == "email"
    ok = api.call("PUT", "/campaigns/2021/units/01/focal-person", {**FOCAL, "email": " Dau.Moi@HaNoi.gov.vn "},
                  token=tokens["01"])
    assert ok.status_code == 200 and ok.data["email"] == "dau.moi@hanoi.gov.vn"
    assert api.call("GET", "/campaigns/2021/units/01/focal-person", token=tokens["admin"]).data["email"] == \
        "dau.moi@hanoi.gov.vn"
