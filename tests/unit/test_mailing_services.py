"""The mail sender, SES's events about its mails and the transient retries on the in-memory stores: each mail of a
batch sent once and its link marked, mails no longer wanted dropped, refusals recorded, a paused unit's or a tripped
breaker's mails held back, a bounce moving the link and scheduling its retry, a due retry re-issued once, the
province told once per run that its invitations are out. The SES events are SES's published examples
(tests/unit/ses_events). Nothing here may reach AWS."""
from msgspec.structs import replace
from datetime import timedelta

import pytest
from builders import ses_event
from memory_world import World, refuse_aws

from chalicelib.config import settings
from chalicelib.domain.credentials import survey_token, token_hash
from chalicelib.domain.timefmt import utc_iso
from chalicelib.services import dispatch, mailing, retries
from chalicelib.store.links import Link, Token
from chalicelib.store.queues import unpack

RUN = "2022-01-20T02:00:00#a1b2c3"


class Clock:
    """The sender's monotonic clock and its sleep: a sleep moves the clock on, and is kept."""

    def __init__(self) -> None:
        self.t = 100.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


@pytest.fixture
def world(monkeypatch):
    refuse_aws(monkeypatch)
    w = World(("01", "02"))
    w.at(2022, 1, 20, 9)  # the survey is open (16/01 to 20/02)
    w.clock = Clock()
    return w


def issue(world, people: int, unit: str = "01", first: int = 1) -> list[tuple[Link, str]]:
    """`people` links of `unit` issued as dispatch issues them (each with its only token, counted as issued)."""
    out = []
    for n in range(first, first + people):
        rid, unit_key = f"{n:06d}-{n:06x}", f"2021#{unit}"
        token = survey_token(unit_key, f"{rid}#locality", world.random_bytes(32))
        out.append((Link(unit_key=unit_key, slot=f"{rid}#locality", rid=rid, purpose="locality", qid="locality-2",
                         q_version=1, group="2", email=f"nguoi{n}@{unit}.gov.vn", full_name=f"Người {n}",
                         state="issued", issued_at=world.now, updated_at=world.now,
                         token_hashes=(token_hash(token),)), token))
    links = world.stores.links
    links.write_issued([link for link, _ in out], [Token(token_hash=token_hash(t), unit_key=link.unit_key,
                                                         slot=link.slot, kind="invite", issued_at=world.now)
                                                   for link, t in out])
    links.add_counts(f"2021#{unit}", {"all": {"issued": people}, "2#locality": {"issued": people}})
    return out


def queue(world, issued: list[tuple[Link, str]], kind: str = "invite", run: str | None = RUN) -> None:
    """Their mails queued for the sender in one batch, rendered as dispatch renders them."""
    campaign = world.stores.campaigns.get_campaign("2021")
    groups = {g["code"]: g["name"] for g in campaign.groups}
    mails = [dispatch._mail_context(campaign, world.stores.campaigns.get_unit("2021", link.unit_key[5:]), link, kind,
                                    token, "20/02/2022", {}, groups) for link, token in issued]
    batch = {"kind": kind, "cid": "2021", "queued_at": utc_iso(world.now), "mails": mails}
    world.stores.queues.send_mail_batches([{**batch, "run": run} if run else batch])


def deliver(world) -> list[dict]:
    """The mail queue's consumer on every batch receivable now; each result."""
    return [mailing.send_batch(body, lambda: world.now, world.clock.monotonic, world.clock.sleep, stores=world.stores)
            for body in world.stores.queues.receive(settings().mail_queue)]


def held(world) -> list[dict]:
    """The batches queued again for later (with SQS's longest delay)."""
    return [m.body for m in world.stores.queues.messages.get(settings().mail_queue, []) if m.delay == 900]


def link_now(world, link: Link) -> Link:
    return world.stores.links.get_link(link.unit_key, link.slot)


def sent_to(world) -> list[str]:
    return [m.to for m in world.stores.mailer.sent]


def totals(world, unit: str = "01") -> tuple[int, int, int]:
    total = world.stores.links.unit_totals(f"2021#{unit}")
    return total.issued, total.sent, total.failed


def mail_of(world, link: Link):
    """The latest message recorded for the link (its message id is the mailer's)."""
    for message in reversed(world.stores.mailer.sent):
        mail = world.stores.links.find_mail(message.message_id)
        if mail is not None and mail.slot == link.slot:
            return mail
    return None


def test_a_batch_sends_each_mail_once_and_marks_its_link_sent(world):
    issued = issue(world, 3)
    queue(world, issued)
    [body] = world.stores.queues.receive(settings().mail_queue)
    send = lambda: mailing.send_batch(body, lambda: world.now, world.clock.monotonic, world.clock.sleep,  # noqa: E731
                                      stores=world.stores)
    assert send() == {"sent": 3, "dropped": 0, "failed": 0}
    assert sent_to(world) == [link.email for link, _ in issued]
    for link, _ in issued:
        now = link_now(world, link)
        assert (now.state, now.sent_at, now.last_mail_at) == ("sent", world.now, world.now)
        mail = mail_of(world, link)
        assert (mail.kind, mail.recipient, mail.attempt, mail.outcome) == ("invite", link.email, 1, "sent")
    assert totals(world) == (0, 3, 0) and world.stores.links.progress[("2021", RUN)] == {"mails_sent": 3}
    assert world.clock.sleeps == [pytest.approx(1 / 14)] * 2  # paced at the account's rate
    world.later(minutes=5)
    assert send() == {"sent": 0, "dropped": 3, "failed": 0}  # SQS delivered the batch again: nothing twice
    assert len(world.stores.mailer.sent) == 3 and totals(world) == (0, 3, 0)
    assert world.stores.links.progress[("2021", RUN)] == {"mails_sent": 3}


def test_a_link_reissued_meanwhile_is_not_mailed(world):
    (kept, _), (moved, _) = issued = issue(world, 2)
    queue(world, issued)
    world.stores.links.readdress(moved, "moi@01.gov.vn", "e" * 64, ("issued",), world.now)  # a corrected address
    assert deliver(world) == [{"sent": 1, "dropped": 1, "failed": 0}]
    assert sent_to(world) == [kept.email]
    assert link_now(world, moved).state == "issued" and link_now(world, moved).token_hashes == ("e" * 64,)
    assert totals(world) == (1, 1, 0)


def test_a_rejected_address_marks_the_link_failed(world):
    (good, _), (bad, _) = issued = issue(world, 2)
    world.stores.mailer.refused.add(bad.email)
    queue(world, issued)
    assert deliver(world) == [{"sent": 1, "dropped": 0, "failed": 1}]
    failed = link_now(world, bad)
    assert failed.state == "failed" and failed.problem == "Address blacklisted." and mail_of(world, bad) is None
    assert totals(world) == (0, 1, 1)
    assert world.stores.links.progress[("2021", RUN)] == {"mails_sent": 1, "mails_failed": 1}
    # with every invitation out (one sent, one failed) the province is told, of the one that left
    [note] = [n for n in world.notes("01") if n.kind == "mails_out"]
    assert "1 phiếu khảo sát cho 1 người" in note.message


def test_a_reminder_goes_to_who_can_still_answer_and_counts_once(world):
    (waiting, _), (answered, _) = issued = issue(world, 2)
    queue(world, issued)
    deliver(world)
    world.stores.links.write_issued([replace(link_now(world, answered), state="submitted")], [])
    world.later(days=3)
    reminders = []
    for link, _ in issued:
        token = survey_token(link.unit_key, link.slot, world.random_bytes(32))
        world.stores.links.write_issued([replace(link_now(world, link), token_hashes=(
            *link_now(world, link).token_hashes, token_hash(token)))], [])  # as claiming a reminder adds its token
        reminders.append((link_now(world, link), token))
    queue(world, reminders, kind="reminder", run=None)
    assert deliver(world) == [{"sent": 1, "dropped": 1, "failed": 0}]
    assert sent_to(world)[-1] == waiting.email and mail_of(world, waiting).kind == "reminder"
    reminded = link_now(world, waiting)
    assert (reminded.state, reminded.reminders, reminded.last_mail_at) == ("sent", 1, world.now)
    assert world.stores.links.unit_totals("2021#01").reminders == 1


def test_a_paused_units_mails_are_held_back_until_it_is_resumed(world):
    mine, theirs = issue(world, 2), issue(world, 1, unit="02")
    world.stores.delivery.pause_unit("2021#01", "tỉ lệ thư bị trả lại 5%", {}, world.now)
    queue(world, mine)
    queue(world, theirs)
    assert deliver(world) == [{"sent": 0, "dropped": 0, "failed": 0, "held": 2}, {"sent": 1, "dropped": 0,
                                                                                  "failed": 0}]
    assert sent_to(world) == [theirs[0][0].email] and totals(world) == (2, 0, 0)
    [again] = held(world)
    world.stores.delivery.resume_unit("2021#01", "admin", {}, world.now + timedelta(minutes=15))
    world.later(minutes=15)  # the held batch comes back
    assert mailing.send_batch(again, lambda: world.now, world.clock.monotonic, world.clock.sleep,
                              stores=world.stores) == {"sent": 2, "dropped": 0, "failed": 0}
    assert totals(world) == (0, 2, 0)


def test_while_the_breaker_is_on_only_the_focal_persons_notices_leave(world):
    invited = issue(world, 1)
    world.stores.delivery.trip_breaker("tỉ lệ thư bị trả lại 4%", {}, world.now)
    queue(world, invited)
    notice = {"unit_key": "2021#01", "to": "dau.moi@01.gov.vn", "subject": "Thông báo", "html": "<p>Xin chào</p>",
              "text": "Xin chào"}
    world.stores.queues.send_mail_batches([{"kind": "notice", "cid": "2021", "queued_at": utc_iso(world.now),
                                            "mails": [notice]}])
    assert deliver(world) == [{"sent": 0, "dropped": 0, "failed": 0, "held": 1},
                              {"sent": 1, "dropped": 0, "failed": 0}]
    assert sent_to(world) == ["dau.moi@01.gov.vn"] and link_now(world, invited[0][0]).state == "issued"
    [again] = held(world)
    assert [m["slot"] for m in unpack(again["mails"])] == [invited[0][0].slot]


def test_a_permanent_bounce_moves_the_link_once(world):
    [(link, _)] = issued = issue(world, 1)
    queue(world, issued)
    deliver(world)
    mail = mail_of(world, link)
    world.later(minutes=2)
    event = ses_event("bounce_permanent", mail.message_id, link.email, world.now)
    for expected in ("bounce_permanent", "duplicate"):  # SNS delivers it twice: applied once
        assert mailing.handle_mail_event(event, world.now, world.random_bytes, stores=world.stores) == expected
    bounced = link_now(world, link)
    assert (bounced.state, bounced.delivery) == ("bounced", "bounced") and "Thư bị trả lại" in bounced.problem
    assert world.stores.links.unit_totals("2021#01").bounced == 1 and totals(world) == (0, 0, 0)
    assert world.stores.links.find_mail(mail.message_id).outcome == "bounced"
    assert [e.target for e in world.audited("mail_bounced")] == [link.slot]
    assert world.stores.delivery.due_retries(world.now + timedelta(days=30)) == []
    unknown = ses_event("bounce_permanent", "khong-phai-thu-cua-ta", link.email, world.now)
    assert mailing.handle_mail_event(unknown, world.now, world.random_bytes, stores=world.stores) == "unknown"


def test_a_transient_bounce_is_retried_once_when_due_and_its_new_mail_sent(world):
    [(link, token)] = issued = issue(world, 1)
    queue(world, issued)
    deliver(world)
    first = mail_of(world, link)
    event = ses_event("bounce_transient", first.message_id, link.email, world.now)
    assert mailing.handle_mail_event(event, world.now, world.random_bytes, stores=world.stores) == "bounce_transient"
    waiting = link_now(world, link)
    assert (waiting.state, waiting.delivery) == ("sent", "retrying") and "lần 1" in waiting.problem
    [retry] = world.stores.delivery.due_retries(world.now + timedelta(days=1))
    assert (retry.slot, retry.attempt, retry.message_id) == (link.slot, 2, first.message_id)
    assert retries.retry_due(world.now, world.random_bytes, stores=world.stores) == 0  # not due yet
    world.now = retry.at
    read_before = world.stores.delivery.due_retries(world.now)
    assert retries.retry_due(world.now, world.random_bytes, stores=world.stores) == 1
    assert retries.retry_due(world.now, world.random_bytes, stores=world.stores) == 0  # taken once
    # a second run that read the due retries before the first took it: it takes nothing
    world.stores.delivery.due_retries = lambda now, limit=500: read_before
    assert retries.retry_due(world.now, world.random_bytes, stores=world.stores) == 0
    reissued = link_now(world, link)
    assert reissued.state == "issued" and len(reissued.token_hashes) == 1
    assert reissued.token_hashes != waiting.token_hashes and totals(world) == (1, 0, 0)
    assert [e.details["attempt"] for e in world.audited("mail_retried")] == [2]
    [again] = world.stores.queues.mails()
    assert (again["slot"], again["attempt"], again["to"]) == (link.slot, 2, link.email)
    assert token_hash(again["token"]) == reissued.token_hashes[0] and again["token"] != token
    assert deliver(world) == [{"sent": 1, "dropped": 0, "failed": 0}]
    assert mail_of(world, link).attempt == 2 and link_now(world, link).state == "sent"


def test_a_retry_of_a_link_answered_meanwhile_sends_nothing(world):
    [(link, _)] = issued = issue(world, 1)
    queue(world, issued)
    deliver(world)
    event = ses_event("bounce_transient", mail_of(world, link).message_id, link.email, world.now)
    mailing.handle_mail_event(event, world.now, world.random_bytes, stores=world.stores)
    [retry] = world.stores.delivery.due_retries(world.now + timedelta(days=1))
    world.stores.links.write_issued([replace(link_now(world, link), state="submitted")], [])  # answered
    assert retries.retry_due(retry.at, world.random_bytes, stores=world.stores) == 0
    assert world.stores.delivery.due_retries(retry.at) == [] and world.stores.queues.mails() == []


def test_the_province_is_told_once_per_run_that_its_invitations_are_out(world):
    issued = issue(world, 3)
    queue(world, issued[:2])
    assert deliver(world) == [{"sent": 2, "dropped": 0, "failed": 0}]
    assert [n for n in world.notes("01") if n.kind == "mails_out"] == []  # one invitation still waits
    world.later(minutes=1)
    told_at = world.now
    queue(world, issued[2:])
    assert deliver(world) == [{"sent": 1, "dropped": 0, "failed": 0}]
    [note] = [n for n in world.notes("01") if n.kind == "mails_out"]
    assert note.at == told_at and "3 phiếu khảo sát cho 3 người" in note.message
    assert world.stores.campaigns.get_unit("2021", "01").dispatch_notified == RUN
    # a corrected address's invitation of the same run leaves later: the province is not told again
    (moved, _), = issued[:1]
    world.later(hours=1)
    token = survey_token(moved.unit_key, moved.slot, world.random_bytes(32))
    readdressed = world.stores.links.readdress(link_now(world, moved), "moi@01.gov.vn", token_hash(token), ("sent",),
                                               world.now)
    queue(world, [(readdressed, token)])
    assert deliver(world) == [{"sent": 1, "dropped": 0, "failed": 0}]
    [note] = [n for n in world.notes("01") if n.kind == "mails_out"]
    assert note.at == told_at


def test_a_fresh_mail_service_is_paced_afresh(monkeypatch):
    """The pace a container keeps is the mail service's it paced: another world's first mail does not wait on the
    mails of the world before (the same monotonic instant in both)."""
    refuse_aws(monkeypatch)
    for _ in range(2):
        w = World(("01",))
        w.at(2022, 1, 20, 9)
        w.clock = Clock()
        issued = issue(w, 2)
        queue(w, issued)
        deliver(w)
        assert w.clock.sleeps == [pytest.approx(1 / 14)]  # the second mail only
