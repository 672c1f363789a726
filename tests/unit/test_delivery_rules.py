"""SES sending events -> outcomes -> link changes, counters, the reputation guard, the bouncing-domain notice and
what provinces' mail administrators must allow (chalicelib/domain/delivery.py), on SES's own example records."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from chalicelib.domain import delivery as d
from chalicelib.domain.links import can_move

EVENTS = Path(__file__).resolve().parent / "ses_events"
NOW = datetime(2022, 1, 12, 2, 0, tzinfo=timezone.utc)
POLICY = d.Policy()
ADDRESS = "recipient@example.com"


def event(name: str) -> dict:
    return json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))


# --- classification -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, kind, status, diagnostic, detail", [
    ("send", d.SEND, "", "", ""),
    ("delivery", d.DELIVERY, "2.6.0", "250 2.6.0 Message received", ""),
    ("bounce_permanent", d.BOUNCE_PERMANENT, "5.1.1", "550 5.1.1 user unknown", "General"),
    ("bounce_transient", d.BOUNCE_TRANSIENT, "4.2.2", "452 4.2.2 Mailbox full", "MailboxFull"),
    ("bounce_undetermined", d.BOUNCE_UNDETERMINED, "", "", "Undetermined"),
    ("complaint", d.COMPLAINT, "", "", "abuse"),
    ("reject", d.REJECT, "", "Bad content", "Bad content"),
    ("delivery_delay", d.DELAY, "4.4.1", "421 4.4.1 Unable to connect to remote host",
     "TransientCommunicationFailure"),
    ("rendering_failure", d.RENDERING_FAILURE, "",
     "Attribute 'attributeName' is not present in the rendering data.",
     "Attribute 'attributeName' is not present in the rendering data."),
    ("bounce_notification_type", d.BOUNCE_PERMANENT, "5.1.1", "550 5.1.1 user unknown", "General"),
])
def test_every_ses_event_type_is_classified_with_its_diagnostic_and_recipient_domain(name, kind, status,
                                                                                    diagnostic, detail):
    outcome = d.classify(event(name))
    assert (outcome.kind, outcome.status, outcome.diagnostic, outcome.detail) == (kind, status, diagnostic, detail)
    assert outcome.message_id == "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000"
    assert (outcome.recipient, outcome.domain) == (ADDRESS, "example.com")
    assert outcome.at is not None and outcome.at.tzinfo is not None
    assert outcome.name  # a Vietnamese name for every kind


def test_every_kind_the_configuration_set_publishes_has_a_sample():
    kinds = {d.classify(event(p.stem)).kind for p in EVENTS.glob("*.json")}
    assert kinds == set(d.KINDS)


def test_the_event_arrives_as_text_or_in_snss_envelope_and_the_policy_refusal_is_read():
    wrapped = (EVENTS / "sns_envelope_bounce_policy.json").read_text(encoding="utf-8")
    for payload in (wrapped, json.loads(wrapped), {"Sns": json.loads(wrapped)},
                    json.loads(wrapped)["Message"]):
        outcome = d.classify(payload)
        assert (outcome.kind, outcome.recipient, outcome.domain) == (
            d.BOUNCE_PERMANENT, "chanh.vp@hanoi.gov.vn", "hanoi.gov.vn")
        assert outcome.diagnostic == "550 5.7.1 Message rejected by policy: sender domain not allowed"
        assert outcome.status == "5.7.1" and "chính sách" in outcome.reason
        assert outcome.at == datetime(2017, 8, 5, 0, 41, 2, 669000, tzinfo=timezone.utc)  # the bounce's own time
    for bad in ("not json", "{}", {"Type": "Notification", "Message": "[]"}, {"mail": {}}):
        with pytest.raises(d.EventError):
            d.classify(bad)


def test_the_same_event_delivered_twice_has_one_key_and_another_event_another():
    a, b = d.classify(event("delivery_delay")), d.classify(json.dumps(event("delivery_delay")))
    assert a.key == b.key
    later = event("delivery_delay")
    later["deliveryDelay"]["timestamp"] = "2020-06-16T00:55:40.095Z"  # SES reports a delay more than once
    assert d.classify(later).key != a.key
    bounces = {p.stem: d.classify(event(p.stem)).key for p in EVENTS.glob("bounce_*.json")}
    assert bounces["bounce_permanent"] == bounces["bounce_notification_type"]  # the same bounce, either channel
    assert len(set(bounces.values())) == len(bounces) - 1  # the others differ (kind, recipient) at the same time


def test_status_codes_are_explained_in_vietnamese():
    assert d.explain("5.1.1") == "Địa chỉ thư không tồn tại hoặc sai"
    assert d.explain("4.2.2") == d.explain("5.2.2") == "Hộp thư của người nhận đã đầy"
    assert "chính sách" in d.explain("5.7.1") and "chính sách" in d.explain("4.7.0")
    assert d.explain("", "Suppressed").startswith("Địa chỉ nằm trong danh sách chặn")
    assert d.explain("", "") == ""


# --- the link -----------------------------------------------------------------------------------------------------

def change(name: str, state: str = "sent", kind: str = "invite", bounces: int = 1, email: str = ADDRESS,
           deadline: datetime | None = None) -> d.LinkChange:
    return d.link_change(d.classify(event(name)), state, email, kind, bounces, NOW, POLICY, deadline)


def test_a_hard_bounce_marks_the_link_bounced_with_the_servers_words():
    got = change("bounce_permanent")
    assert (got.state, got.from_states, got.delivery) == ("bounced", ("sent", "opened"), "bounced")
    assert got.problem == "Thư bị trả lại: 550 5.1.1 user unknown" and got.retry_at is None
    undetermined = change("bounce_undetermined")  # SES counts it as a bounce: no retry
    assert undetermined.state == "bounced" and "Thư bị trả lại" in undetermined.problem


def test_a_transient_bounce_is_retried_with_growing_waits_then_the_link_fails():
    waits = [change("bounce_transient", bounces=n).retry_at for n in (1, 2, 3)]
    assert [w - NOW for w in waits] == [timedelta(minutes=30), timedelta(hours=1), timedelta(hours=2)]
    first = change("bounce_transient")
    assert (first.state, first.delivery) == (None, "retrying") and "452 4.2.2 Mailbox full" in first.problem
    last = change("bounce_transient", bounces=4)
    assert (last.state, last.from_states, last.delivery, last.retry_at) == ("failed", ("sent",), "failed", None)
    assert last.problem == "Thư không gửi được sau 4 lần thử (452 4.2.2 Mailbox full)."
    assert can_move("sent", "failed")  # the state machine allows what the rule asks
    # no retry lands after the survey's deadline: it gives up instead
    assert change("bounce_transient", deadline=NOW + timedelta(minutes=20)).state == "failed"
    # a reminder that never arrives leaves a link whose invitation did (it was opened) usable
    assert change("bounce_transient", state="opened", kind="reminder", bounces=4) == d.LinkChange(delivery="failed")


def test_the_retry_schedule_follows_the_settings():
    policy = d.Policy(transient_retries=5, retry_first=timedelta(minutes=10), retry_cap=timedelta(minutes=45))
    times = [d.next_retry(n, NOW, policy) for n in range(1, 7)]
    assert [t - NOW if t else None for t in times] == [timedelta(minutes=m) for m in (10, 20, 40, 45, 45)] + [None]
    assert d.next_retry(1, NOW, d.Policy(transient_retries=0)) is None
    with pytest.raises(ValueError):
        d.next_retry(0, NOW, POLICY)


def test_every_other_outcome_does_what_it_says():
    assert change("send") == d.LinkChange(delivery="accepted")
    assert change("delivery") == d.LinkChange(delivery="delivered")
    assert change("delivery_delay") == d.LinkChange(delivery="delayed")  # SES keeps trying by itself
    complaint = change("complaint", state="opened")
    assert (complaint.state, complaint.stop_mail, complaint.delivery) == (None, True, "complained")
    for name in ("reject", "rendering_failure"):
        got = change(name)
        assert (got.state, got.from_states, got.delivery) == ("failed", ("sent",), "failed")
        assert got.problem.startswith(d.classify(event(name)).name)


def test_an_answered_link_or_a_corrected_address_is_left_alone():
    assert change("bounce_permanent", state="submitted") == d.LinkChange(delivery="bounced")
    assert change("bounce_permanent", email="moi@example.com") == d.LinkChange()
    assert change("bounce_permanent", email=" Recipient@Example.com ").state == "bounced"


# --- counters -----------------------------------------------------------------------------------------------------

def test_each_event_moves_its_counter_and_refusals_by_policy_are_counted_apart():
    assert {name: d.counter_deltas(d.classify(event(name))) for name in (
        "send", "delivery", "bounce_permanent", "bounce_undetermined", "bounce_transient", "complaint", "reject",
        "rendering_failure", "delivery_delay", "bounce_policy")} == {
        "send": {"accepted": 1}, "delivery": {"delivered": 1}, "bounce_permanent": {"bounced": 1},
        "bounce_undetermined": {"bounced": 1}, "bounce_transient": {"bounced_transient": 1},
        "complaint": {"complaints": 1}, "reject": {"rejected": 1}, "rendering_failure": {"rejected": 1},
        "delivery_delay": {"delayed": 1}, "bounce_policy": {"bounced": 1, "policy_rejections": 1}}
    counts = d.Counts.of({"accepted": "10", "bounced": 1})
    assert counts.plus({"bounced": 1}) == d.Counts(accepted=10, bounced=2) and counts.bounce_rate == 0.1
    assert d.Counts().bounce_rate == 0.0 and d.Counts().complaint_rate == 0.0


# --- the reputation guard -----------------------------------------------------------------------------------------

def test_a_unit_pauses_when_its_bounce_rate_passes_the_threshold_after_enough_mails():
    assert d.unit_pause(d.Counts(accepted=49, bounced=10), POLICY) is None  # too few mails to judge
    assert d.unit_pause(d.Counts(accepted=100, bounced=3), POLICY) is None  # 3 %: not above
    stop = d.unit_pause(d.Counts(accepted=100, bounced=4), POLICY)
    assert stop is not None and stop.figures == {"accepted": 100, "bounced": 4, "rate": 0.04, "threshold": 0.03}
    assert stop.reason.startswith("Tạm dừng gửi thư của đơn vị: tỷ lệ thư bị trả lại 4 % (4/100 thư) vượt ngưỡng 3 %")
    stricter = POLICY.with_campaign({"unit_bounce_rate": "2%", "unit_min_mails": 20})
    assert d.unit_pause(d.Counts(accepted=19, bounced=5), stricter) is None
    assert d.unit_pause(d.Counts(accepted=50, bounced=1), stricter) is None  # 2 %: not above
    assert d.unit_pause(d.Counts(accepted=40, bounced=1), stricter) is not None  # 2,5 %
    assert d.unit_pause(d.Counts(accepted=40, bounced=1), POLICY) is None  # the default needs 50 mails
    with pytest.raises(ValueError):
        POLICY.with_campaign({"bounce": 0.02})


def test_the_national_breaker_trips_near_ses_review_thresholds_on_either_view():
    assert (POLICY.breaker_bounce_rate, POLICY.breaker_complaint_rate) == pytest.approx((0.04, 0.0008))
    quiet = d.SendStatistics(delivery_attempts=10_000, bounces=300, complaints=5)
    assert d.breaker(quiet, d.Counts(accepted=10_000, bounced=300, complaints=5), POLICY) is None
    bounces = d.breaker(d.SendStatistics(delivery_attempts=10_000, bounces=400), d.Counts(), POLICY)
    assert bounces is not None and bounces.figures["kind"] == "bounce" and bounces.figures["source"] == "SES"
    assert "4 % (400/10000 thư, theo SES)" in bounces.reason and "5 %" in bounces.reason
    complaints = d.breaker(d.SendStatistics(), d.Counts(accepted=10_000, complaints=8), POLICY)
    assert complaints is not None and complaints.figures["kind"] == "complaint"
    assert "0,08 %" in complaints.reason and "0,1 %" in complaints.reason and "sự kiện" in complaints.reason
    assert d.breaker(d.SendStatistics(delivery_attempts=150, bounces=20), d.Counts(), POLICY) is None  # too few
    wider = d.Policy(breaker_margin=0.5)
    assert d.breaker(d.SendStatistics(delivery_attempts=1000, bounces=25), d.Counts(), wider) is not None


def test_send_statistics_add_up_the_data_points_of_the_window():
    points = [{"Timestamp": NOW - timedelta(days=15), "DeliveryAttempts": 900, "Bounces": 90},
              {"Timestamp": NOW - timedelta(days=2), "DeliveryAttempts": 500, "Bounces": 5, "Complaints": 1},
              {"Timestamp": NOW - timedelta(hours=1), "DeliveryAttempts": 100, "Bounces": 1, "Rejects": 2}]
    assert d.SendStatistics.of(points) == d.SendStatistics(1500, 96, 1, 2)
    assert d.SendStatistics.of(points, since=NOW - timedelta(days=14)) == d.SendStatistics(600, 6, 1, 2)


def test_settings_are_read_validated_and_default_to_the_documented_values():
    policy = d.Policy.from_settings({"CCHC_MAIL_TRANSIENT_RETRIES": "2", "CCHC_MAIL_BREAKER_MARGIN": "75%",
                                     "CCHC_MAIL_UNIT_BOUNCE_RATE": "2,5 %", "CCHC_MAIL_RETRY_FIRST_MINUTES": "15",
                                     "CCHC_MAIL_UNIT_MIN_MAILS": ""})
    assert (policy.transient_retries, policy.breaker_margin, policy.unit_bounce_rate, policy.retry_first,
            policy.unit_min_mails) == (2, 0.75, 0.025, timedelta(minutes=15), 50)
    assert d.Policy.from_settings({}) == d.Policy()
    for bad in ({"CCHC_MAIL_BREAKER_MARGIN": "120%"}, {"CCHC_MAIL_TRANSIENT_RETRIES": "x"},
                {"CCHC_MAIL_TRANSIENT_RETRIES": "11"}, {"CCHC_MAIL_RETRY_CAP_MINUTES": "5"}):
        with pytest.raises(ValueError):
            d.Policy.from_settings(bad)


# --- the bouncing domain and what to allow ------------------------------------------------------------------------

def test_a_domain_starts_bouncing_once_and_the_focal_person_is_told_why():
    policy_bounce = d.classify(event("bounce_policy"))
    before = d.Counts(accepted=40, delivered=39)
    after = before.plus(d.counter_deltas(policy_bounce))
    assert d.domain_started_bouncing(before, after, POLICY)  # one refusal by policy is enough
    assert not d.domain_started_bouncing(after, after.plus({"bounced": 1}), POLICY)  # told once
    user_unknown = {"bounced": 1}
    counts = d.Counts(accepted=10)
    started = []
    for _ in range(4):
        nxt = counts.plus(user_unknown)
        started.append(d.domain_started_bouncing(counts, nxt, POLICY))
        counts = nxt
    assert started == [False, False, True, False]  # the third bounce, at 30 % of 10 mails
    assert not d.domain_bouncing(d.Counts(accepted=100, bounced=5), POLICY)  # 5 % of a big domain: addresses
    allowed = d.allowlist("chisocchc@moha.gov.vn", "bounce.moha.gov.vn", "abc123,def456,ghi789")
    title, body = d.domain_notice("hanoi.gov.vn", after, policy_bounce, allowed)
    assert title == "Thư gửi tới tên miền hanoi.gov.vn bị trả lại"
    assert "550 5.7.1 Message rejected by policy: sender domain not allowed" in body
    assert "chính sách" in body and "bounce.moha.gov.vn" in body and "abc123" in body


def test_what_the_provinces_mail_administrators_must_allow_comes_from_configuration():
    allowed = d.allowlist("ChiSoCCHC@moha.gov.vn", "bounce.moha.gov.vn", "abc123, def456,ghi789,")
    assert allowed.sending_domain == "moha.gov.vn" and allowed.from_address == "chisocchc@moha.gov.vn"
    assert allowed.dkim_selectors == ("abc123", "def456", "ghi789")
    assert allowed.dkim_records == ("abc123._domainkey.moha.gov.vn", "def456._domainkey.moha.gov.vn",
                                    "ghi789._domainkey.moha.gov.vn")
    assert allowed.mail_from_domain == "bounce.moha.gov.vn"
    assert allowed.lines() == [("Địa chỉ gửi thư", "chisocchc@moha.gov.vn"), ("Tên miền gửi thư", "moha.gov.vn"),
                               ("Chữ ký DKIM (d=moha.gov.vn), bộ chọn", "abc123, def456, ghi789"),
                               ("Tên miền MAIL FROM (Return-Path, kiểm tra SPF)", "bounce.moha.gov.vn")]
    bare = d.allowlist("chisocchc@moha.gov.vn", region="ap-southeast-1")  # no identity of our own configured
    assert bare.mail_from_domain == "ap-southeast-1.amazonses.com" and bare.dkim_selectors == ()
    with pytest.raises(ValueError):
        d.allowlist("moha.gov.vn")


def test_percentages_read_the_vietnamese_way():
    assert [d.percent(r) for r in (0.04, 0.0008, 0.0425, 0.1)] == ["4 %", "0,08 %", "4,25 %", "10 %"]
    assert d.parse_rate("3%") == d.parse_rate("0.03") == d.parse_rate("3 %") == 0.03
