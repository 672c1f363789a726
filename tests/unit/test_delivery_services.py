"""The reputation guard and the province's mail desk on the in-memory stores: a bouncing mail domain told to the focal
person once, a unit's pause past its bounce rate, the national breaker on SES's statistics or the event counters, the
ministry's resumption, the desk and the preflight. The SES event's parsing and its effect on links are
services/mailing.py's (tests/api/test_mail_events.py on moto); here each event is applied as it applies it.
Nothing here may reach AWS."""
import pytest
from builders import person, roster_workbook
from memory_world import ADMIN, World, refuse_aws, unit_actor

from chalicelib.domain import delivery as rules
from chalicelib.errors import ConflictError, ForbiddenError, ValidationError
from chalicelib.services import delivery, roster
from chalicelib.store.delivery import EventRecord, preflight_key

PROVINCE = unit_actor("01")
FOCAL = {"full_name": "Nguyễn Văn An", "position": "Chuyên viên", "email": "an.nv@hanoi.gov.vn",
         "phone": "0912345678"}


@pytest.fixture
def world(monkeypatch):
    refuse_aws(monkeypatch)
    w = World()
    w.at(2022, 1, 10, 9)  # the roster phase is open
    rows = [person(i, email=f"nguoi{i}@hagiang.gov.vn" if i % 3 else f"nguoi{i}@gmail.com") for i in range(1, 10)]
    roster.import_workbook(PROVINCE, "2021", "01", roster_workbook(rows), "merge", w.now, w.random_bytes,
                           stores=w.stores)
    w.stores.campaigns.put_focal_person("2021", "01", FOCAL)
    return w


def play(world, kind, n=1, unit="01", domain="hagiang.gov.vn", status="", diagnostic="", pid=None,
         to=None) -> list[str]:
    """`n` SES events applied as services/mailing.handle_mail_event applies them: the counters, then what they
    set off."""
    campaign = world.stores.campaigns.get_campaign("2021")
    happened = []
    for _ in range(n):
        message_id = world.suffix()
        recipient = to or f"x{message_id}@{domain}"
        outcome = rules.Outcome(kind=kind, message_id=message_id, recipient=recipient, domain=domain, at=world.now,
                                diagnostic=diagnostic, status=status)
        deltas = rules.counter_deltas(outcome)
        assert world.stores.delivery.apply_event(EventRecord(
            key=outcome.key, message_id=message_id, unit_key=f"2021#{unit}", domain=domain, deltas=deltas, kind=kind,
            outcome=kind, diagnostic=diagnostic, status=status, recipient=recipient, at=world.now,
            preflight_key=preflight_key(pid, recipient) if pid else None), world.now)
        happened += delivery.after_event(campaign, unit, outcome, deltas, world.now, world.suffix(),
                                         stores=world.stores)
    return happened


def bounce(world, n=1, **kw) -> list[str]:
    return play(world, rules.BOUNCE_PERMANENT, n, status="5.1.1", diagnostic="550 5.1.1 User unknown", **kw)


def notes(world, kind) -> list:
    return [n for n in world.notes("01") if n.kind == kind]


def test_a_bouncing_domain_is_told_to_the_focal_person_once(world):
    assert play(world, rules.SEND, 10) == []
    assert bounce(world, 2) == []  # fewer than three hard bounces: not yet
    assert bounce(world) == ["domain_bouncing"]
    assert bounce(world, 2) == []  # told once
    [note] = notes(world, "mail_domain")
    assert "hagiang.gov.vn" in note.title + note.message
    [mail] = world.stores.queues.mails()
    assert (mail["kind"], mail["to"], mail["unit_key"]) == ("notice", FOCAL["email"], "2021#01")
    assert "Ông/Bà Nguyễn Văn An" in mail["text"]
    [entry] = world.audited("mail_domain_bouncing")
    assert entry.target == "hagiang.gov.vn" and entry.details["bounced"] == 3
    counters = world.stores.delivery.domain_counters("2021#01", "hagiang.gov.vn")
    assert counters.notified_at == world.now and counters.counts["bounced"] == 5


def test_a_domain_refusing_by_policy_bounces_at_once_and_no_address_means_no_mail(world):
    world.stores.campaigns.put_focal_person("2021", "01", {**FOCAL, "email": ""})
    play(world, rules.SEND, 5, domain="gmail.com")
    assert play(world, rules.BOUNCE_PERMANENT, domain="gmail.com", status="5.7.1",
                diagnostic="550 5.7.1 Message rejected by policy") == ["domain_bouncing"]
    assert len(notes(world, "mail_domain")) == 1 and world.stores.queues.mails() == []  # told on the page only


def test_a_unit_pauses_past_its_bounce_rate_until_the_ministry_resumes_it(world):
    play(world, rules.SEND, 60, domain="gmail.com")
    assert bounce(world, domain="gmail.com") == []  # 1/60 is below 3 %
    assert bounce(world, domain="gmail.com") == ["unit_paused"]  # 2/60 is above
    assert bounce(world, domain="gmail.com") == []  # paused once (and 3/60 is no bouncing domain: below 20 %)
    guard = delivery.guard(ADMIN, "2021", stores=world.stores)
    [paused] = guard["paused"]
    assert (paused["unit"], paused["name"], paused["active"]) == ("01", "Hà Nội", True)
    assert "(2/60 thư)" in paused["reason"] and paused["figures"]["bounced"] == 2
    assert len(notes(world, "mail_paused")) == 1
    assert [(m["kind"], m["to"]) for m in world.stores.queues.mails()] == [("notice", FOCAL["email"])]
    with pytest.raises(ForbiddenError):
        delivery.resume_unit(PROVINCE, "2021", "01", "Đã sửa", world.now, world.suffix(), stores=world.stores)
    world.later(hours=1)
    view = delivery.resume_unit(ADMIN, "2021", "01", "Đã sửa địa chỉ", world.now, world.suffix(),
                                stores=world.stores)
    assert view["active"] is False and view["resumed_by"] == "admin"
    with pytest.raises(ConflictError):
        delivery.resume_unit(ADMIN, "2021", "01", "lần nữa", world.now, world.suffix(), stores=world.stores)
    assert world.audited("mail_unit_resumed")[0].details["bounced"] == 3
    assert len(notes(world, "mail_resumed")) == 1
    assert bounce(world, 2, domain="gmail.com") == []  # judged from the resumption on: 2 bounces of 0 new mails
    assert delivery.guard(ADMIN, "2021", stores=world.stores)["paused"] == []


def test_the_breaker_trips_on_the_event_counters_once(world):
    play(world, rules.SEND, 100, unit="01", domain="gmail.com")
    play(world, rules.SEND, 100, unit="02", domain="yahoo.com")
    happened = bounce(world, 2, unit="01", domain="gmail.com") + bounce(world, 2, unit="02", domain="yahoo.com")
    happened += bounce(world, 3, unit="02", domain="yahoo.com")
    assert "breaker_tripped" not in happened  # 7/200 = 3.5 %: below 80 % of SES's 5 %
    assert bounce(world, unit="01", domain="gmail.com") == ["breaker_tripped"]  # 8/200 = 4 %
    assert "breaker_tripped" not in bounce(world, 2, unit="01", domain="gmail.com")  # tripped once
    breaker = delivery.guard(ADMIN, "2021", stores=world.stores)["breaker"]
    assert breaker["active"] and "sự kiện" in breaker["reason"]
    assert world.audited("mail_breaker_tripped")[0].details["source"] == "sự kiện"


def test_the_breaker_trips_on_ses_statistics_and_only_the_ministry_resets_it(world):
    world.stores.mailer.report(world.now, delivery_attempts=1000, bounces=30)  # 3 %: below 3.2 %
    assert delivery.scheduled(world.now, world.random_bytes, stores=world.stores) == {"breaker_tripped": False}
    world.stores.mailer.report(world.now, bounces=10)  # 40/1000 = 4 %
    assert delivery.scheduled(world.now, world.random_bytes, stores=world.stores) == {"breaker_tripped": True}
    assert delivery.scheduled(world.now, world.random_bytes, stores=world.stores) == {"breaker_tripped": False}
    assert delivery.desk(PROVINCE, "2021", "01", stores=world.stores)["breaker"] == {"active": True}
    with pytest.raises(ForbiddenError):
        delivery.reset_breaker(PROVINCE, "Gửi tiếp", world.now, world.suffix(), stores=world.stores)
    world.later(minutes=30)
    view = delivery.reset_breaker(ADMIN, "Đã làm sạch danh sách", world.now, world.suffix(), stores=world.stores)
    assert view["active"] is False and view["resumed_by"] == "admin"
    with pytest.raises(ConflictError):
        delivery.reset_breaker(ADMIN, "lần nữa", world.now, world.suffix(), stores=world.stores)
    # SES's figures from before the reset no longer count
    assert delivery.scheduled(world.now, world.random_bytes, stores=world.stores) == {"breaker_tripped": False}
    assert [e.action for e in world.audited("mail_breaker_reset")] == ["mail_breaker_reset"]


def test_the_desk_shows_the_provinces_domains_to_the_province_only(world):
    play(world, rules.SEND, 4, domain="hagiang.gov.vn")
    bounce(world, 1, domain="hagiang.gov.vn")
    desk = delivery.desk(PROVINCE, "2021", "01", stores=world.stores)
    assert desk["focal_email"] == FOCAL["email"] and desk["preflight"] is None and desk["pause"]["active"] is False
    assert [(d["domain"], d["respondents"], d["accepted"], d["bounced"]) for d in desk["domains"]] == \
        [("hagiang.gov.vn", 6, 4, 1), ("gmail.com", 3, 0, 0)]
    first = desk["domains"][0]
    assert first["last_outcome"] == rules.BOUNCE_PERMANENT and first["last_diagnostic"] == "550 5.1.1 User unknown"
    assert first["last_outcome_name"] and first["last_reason"] and first["bouncing"] is False
    assert desk["allowlist"] and all(line["label"] and line["value"] for line in desk["allowlist"])
    assert delivery.desk(ADMIN, "2021", "01", stores=world.stores)["domains"] == desk["domains"]
    with pytest.raises(ForbiddenError):
        delivery.desk(unit_actor("02"), "2021", "01", stores=world.stores)


def test_a_preflight_mails_the_focal_person_and_three_addresses_of_each_domain(world):
    desk = delivery.start_preflight(PROVINCE, "2021", "01", {"domains": ["HAGIANG.gov.vn.", "gmail.com"]},
                                    world.now, world.random_bytes, stores=world.stores)
    mails = world.stores.queues.mails()
    assert [m["to"] for m in mails] == [FOCAL["email"], "nguoi3@gmail.com", "nguoi6@gmail.com", "nguoi9@gmail.com",
                                        "nguoi1@hagiang.gov.vn", "nguoi2@hagiang.gov.vn", "nguoi4@hagiang.gov.vn"]
    pid = desk["preflight"]["id"]
    assert {m["kind"] for m in mails} == {"preflight"} and {m["preflight"] for m in mails} == {pid}
    assert desk["preflight"]["domains"] == ["gmail.com", "hagiang.gov.vn"] and desk["preflight"]["by"] == "tinh01"
    assert {r["outcome"] for r in desk["preflight"]["results"]} == {"queued"}
    assert world.audited("mail_preflight_started")[0].details == {"domains": ["gmail.com", "hagiang.gov.vn"],
                                                                 "addresses": 7}
    play(world, rules.BOUNCE_PERMANENT, domain="gmail.com", status="5.7.1", diagnostic="550 5.7.1 Blocked",
         pid=pid, to="nguoi3@gmail.com")
    desk = delivery.desk(PROVINCE, "2021", "01", stores=world.stores)
    gmail = next(d for d in desk["domains"] if d["domain"] == "gmail.com")
    assert gmail["preflight"]["status"] == "failed" and gmail["preflight"]["diagnostic"] == "550 5.7.1 Blocked"
    expected = [{"unit": "01", "domain": "gmail.com", "diagnostic": "550 5.7.1 Blocked"}]
    assert delivery.failed_preflights("2021", ["01", "02"], stores=world.stores) == expected
    assert delivery.guard(ADMIN, "2021", stores=world.stores)["preflight_failures"] == expected


@pytest.mark.parametrize("body, field_domains", [
    ({"domains": "gmail.com"}, None),
    ({"domains": [f"d{i}.vn" for i in range(21)]}, None),
    ({"domains": ["yahoo.com", "gmail.com"]}, ["yahoo.com"]),
])
def test_a_preflight_is_of_the_rosters_own_domains(world, body, field_domains):
    with pytest.raises(ValidationError) as refused:
        delivery.start_preflight(PROVINCE, "2021", "01", body, world.now, world.random_bytes, stores=world.stores)
    assert refused.value.details[0]["field"] == "domains"
    assert refused.value.details[0].get("domains") == field_domains
    assert world.stores.queues.mails() == [] and world.stores.delivery.last_preflight("2021#01") == (None, [])
