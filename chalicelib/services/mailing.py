"""The mail sender (the mail queue's consumer) and the handling of SES's events about what it sent.

It never sends faster than the account's rate, retries throttled sends with backoff, records every message's
outcome on its link, drops mails that are no longer wanted (answered, re-issued, past the deadline) and holds
those of a paused unit or while the national breaker is on."""
from __future__ import annotations

import os
import time
from msgspec import Struct
from datetime import datetime
from typing import Callable

from chalicelib import observability as obs
from chalicelib.config import settings
from chalicelib.domain import delivery as rules_delivery
from chalicelib.domain import links as rules
from chalicelib.domain.access import SYSTEM
from chalicelib.domain.credentials import token_hash
from chalicelib.domain.timefmt import parse_iso
from chalicelib.services import audit, phases
from chalicelib.store.campaigns import Campaign
from chalicelib.store.delivery import EventRecord, Retry, preflight_key
from chalicelib.store.links import Link, Mail
from chalicelib.store.mailer import Mailer, RejectedError, ThrottledError
from chalicelib.store.queues import unpack
from chalicelib.store.stores import DYNAMODB, Stores

MAX_ATTEMPTS = 6
SENDER_NAME = "Bộ Nội vụ - Chỉ số CCHC"

# This container's pace, with the mail service it paces: another mail service (a test's fresh in-memory mailer)
# starts a pace of its own, so no send waits on what was sent elsewhere.
_pace: tuple[Mailer, rules.Pace] | None = None


def _get_pace(stores: Stores) -> rules.Pace:
    global _pace
    rate = stores.mailer.max_send_rate()
    if _pace is None or _pace[0] is not stores.mailer or _pace[1].rate != rate:
        _pace = (stores.mailer, rules.Pace(rate=rate))
    return _pace[1]


HOLD_SECONDS = 900  # a held mail comes back to the queue after this (SQS's longest delay)
TRACKED = ("invite", "reminder")  # mails that carry a survey link
OWN = ("preflight", "notice")  # mails to a given address: a preflight's test message, a focal person's notice


class _Clocks(Struct, frozen=True):
    """A batch's clocks: the instant mails are recorded at, and the monotonic clock and sleep it paces with."""
    now: Callable[[], datetime]
    monotonic: Callable[[], float]
    sleep: Callable[[float], None]


def _send_paced(to: str, raw: bytes, clocks: _Clocks, stores: Stores) -> str:
    """Hand one message over no faster than the account's rate, backing off while the service asks to slow down
    (after MAX_ATTEMPTS, ThrottledError)."""
    pace = _get_pace(stores)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        wait = pace.wait(clocks.monotonic())
        if wait > 0:
            clocks.sleep(wait)
        try:
            return stores.mailer.send_raw(settings().mail_from, to, raw)
        except ThrottledError:
            if attempt == MAX_ATTEMPTS:
                raise
            clocks.sleep(rules.backoff(attempt))
    raise AssertionError("unreachable")


def send_batch(body: dict, now: Callable[[], datetime], monotonic: Callable[[], float] = time.monotonic,
               sleep: Callable[[float], None] = time.sleep, *, stores: Stores = DYNAMODB) -> dict:
    """Send one queued batch. Throttled beyond the retries → raise, so SQS delivers the batch again; the mails
    that did go out are then skipped, because their links have moved on. The mails of a paused unit, and every
    mail but the focal persons' notices while the national breaker is on, are held: queued again for later."""
    kind = body["kind"]
    result = {"sent": 0, "dropped": 0, "failed": 0}
    touched: set[str] = set()
    windows: dict[str, bool] = {}
    held: list[dict] = []
    stopped = _holds(kind, stores)
    clocks = _Clocks(now, monotonic, sleep)
    own_failed = 0
    for item in _bound(unpack(body["mails"])):
        if stopped(item["unit_key"]):
            held.append(item)
            continue
        if kind in OWN:
            own_failed += 0 if _send_own(kind, item, clocks, stores) else 1
            result["sent"] += 1
            continue
        outcome = _send_tracked(body, item, windows, clocks, stores)
        result[outcome] += 1
        if outcome == "sent":
            touched.add(item["unit_key"])
    _count_sends(kind, result["sent"] - own_failed, result["failed"] + own_failed)
    if held:
        stores.queues.send_mail_batches([{**body, "mails": held}], delay=HOLD_SECONDS)
        result["held"] = len(held)
        obs.info("mails held", kind=kind, held=len(held))
    if kind == "invite" and body.get("run"):
        for unit_key in touched:
            _notify_when_out(body["run"], unit_key, now(), stores)
    return result


def _send_tracked(body: dict, item: dict, windows: dict[str, bool], clocks: _Clocks, stores: Stores) -> str:
    """One invitation or reminder: "sent" (recorded, its link moved), "dropped" (no longer wanted) or "failed"
    (refused by the mail service)."""
    from chalicelib.formats import mail

    kind = body["kind"]
    digest = token_hash(item["token"])
    link = stores.links.get_link(item["unit_key"], item["slot"])
    if link is None or not _still_wanted(link, kind, digest, parse_iso(body["queued_at"]), windows, clocks.now(),
                                         stores):
        if link is None or digest not in (link.token_hashes or []):
            stores.links.delete_tokens([digest])
        return "dropped"
    raw = mail.mime(settings().mail_from, SENDER_NAME, link.email, item["subject"], item["html"], item["text"])
    try:
        message_id = _send_paced(link.email, raw, clocks, stores)
    except RejectedError as exc:
        if kind == "invite":
            stores.links.mark_failed(link, str(exc), clocks.now(), _run_counter(body, "mails_failed"))
        obs.warning("mail refused", kind=kind, reason=str(exc))
        return "failed"
    at = clocks.now()
    stores.links.record_mail(Mail(message_id=message_id, unit_key=link.unit_key, slot=link.slot, kind=kind, sent_at=at,
                           expires_at=at.replace(year=at.year + 1), recipient=link.email,
                           attempt=int(item.get("attempt") or 1)))
    if kind == "invite":
        stores.links.mark_sent(link, digest, at, _run_counter(body, "mails_sent"))
    else:
        stores.links.record_reminder_sent(link, at)
    return "sent"


def _bound(items: list[dict]) -> list[dict]:
    """The batch's mails; the log lines name their unit when they all are of one (an invitation's batch)."""
    units = {item["unit_key"] for item in items}
    if len(units) == 1:
        obs.bind(unit=next(iter(units)).split("#", 1)[1])
    return items


def _count_sends(kind: str, sent: int, failed: int) -> None:
    if sent:
        obs.metric(obs.MAILS_SENT, sent, kind=kind)
    if failed:
        obs.metric(obs.MAILS_FAILED, failed, kind=kind, stage_of_failure="send")


def _holds(kind: str, stores: Stores) -> Callable[[str], bool]:
    """Whether a unit's mail of this kind is held now (read once per batch and unit)."""
    if kind == "notice":
        return lambda unit_key: False
    breaker_on = stores.delivery.breaker().active
    paused: dict[str, bool] = {}

    def stopped(unit_key: str) -> bool:
        if breaker_on:
            return True
        if kind not in TRACKED:
            return False
        if unit_key not in paused:
            paused[unit_key] = stores.delivery.unit_stop(unit_key).active
        return paused[unit_key]
    return stopped


def _send_own(kind: str, item: dict, clocks: _Clocks, stores: Stores) -> bool:
    """A preflight's test message or a notice: to its address, recorded so that its events find it. False when
    the mail service refused it."""
    from chalicelib.formats import mail

    raw = mail.mime(settings().mail_from, SENDER_NAME, item["to"], item["subject"], item["html"], item["text"])
    try:
        message_id = _send_paced(item["to"], raw, clocks, stores)
    except RejectedError as exc:
        if item.get("preflight"):
            stores.delivery.record_preflight_refusal(item["unit_key"], item["preflight"], item["to"], str(exc),
                                                     clocks.now())
        obs.warning("mail refused", kind=kind, reason=str(exc))
        return False
    at = clocks.now()
    stores.links.record_mail(Mail(message_id=message_id, unit_key=item["unit_key"], slot=f"{kind}#{item['to']}",
                                  kind=kind, sent_at=at, expires_at=at.replace(year=at.year + 1), recipient=item["to"],
                                  preflight=item.get("preflight")))
    return True


def _run_counter(body: dict, counter: str) -> tuple[str, str, str] | None:
    """The dispatch run's counter an invitation's outcome moves: in the transaction that moves its link, so a
    batch delivered again after a crash counts each link once."""
    return (body["cid"], body["run"], counter) if body.get("run") else None


def _still_wanted(link: Link, kind: str, digest: str, queued_at: datetime,
                  windows: dict[str, bool], now: datetime, stores: Stores) -> bool:
    if digest not in (link.token_hashes or []):
        return False  # re-issued or revoked since it was queued
    if kind == "invite" and link.state != "issued":
        return False  # already sent (a repeated delivery of this batch)
    if kind == "reminder" and (link.state not in rules.REMINDABLE or
                               (link.last_mail_at is not None and link.last_mail_at > queued_at)):
        return False  # answered meanwhile, or sent already: claiming set last_mail_at to queued_at (both to the
        # microsecond), sending sets it later
    if link.unit_key not in windows:  # nothing is sent after the survey deadline
        cid, unit = link.unit_key.split("#", 1)
        campaign = stores.campaigns.get_campaign(cid)
        window = phases.phase_windows(campaign, stores.campaigns.get_unit(cid, unit))["survey"]
        windows[link.unit_key] = window.state(now) == "open"
    return windows[link.unit_key]


def _notify_when_out(run: str, unit_key: str, now: datetime, stores: Stores) -> None:
    """Tell the province once all its invitations of this run have left."""
    total = stores.links.unit_totals(unit_key)
    if total is None or total.issued > 0:
        return
    cid, unit = unit_key.split("#", 1)
    if stores.links.mark_notified(cid, unit, run):
        # forms and people differ: a department's leader gets two forms (locality and managing ministry)
        people = len({link.rid for link in stores.links.unit_links(unit_key) if link.state in ("sent", "opened")})
        audit.notify(cid, [unit], now, "mails_out", "Đã gửi xong thư mời khảo sát",
                     f"Bộ Nội vụ đã gửi xong thư mời trả lời {total.sent + total.opened} phiếu khảo sát cho "
                     f"{people} người của đơn vị. Đơn vị theo dõi tiến độ tại mục Chi tiết tiến độ khảo sát.",
                     run[-6:], stores=stores)


OUTCOMES = {rules_delivery.SEND: "accepted", rules_delivery.DELIVERY: "delivered",
            rules_delivery.DELAY: "delayed", rules_delivery.COMPLAINT: "complained",
            rules_delivery.BOUNCE_PERMANENT: "bounced", rules_delivery.BOUNCE_UNDETERMINED: "bounced",
            rules_delivery.BOUNCE_TRANSIENT: "bounced_transient", rules_delivery.REJECT: "failed",
            rules_delivery.RENDERING_FAILURE: "failed"}


def handle_mail_event(message: str | dict, now: datetime, random_bytes: Callable[[int], bytes] = os.urandom, *,
                      stores: Stores = DYNAMODB) -> str:
    """One SES event (as SNS delivers it), applied once: the counters of the unit, the mail domain and the
    account; the mail's outcome; its link (bounced, failed, retried later, no more mail after a complaint); the
    preflight's test mail; then the domain's notice, the unit's pause and the national breaker. Returns the
    event's kind, or "ignored", "unknown" (not a mail of ours), "duplicate"."""
    from chalicelib.services import delivery

    try:
        outcome = rules_delivery.classify(message)
    except rules_delivery.EventError:
        return "ignored"
    if outcome.kind == rules_delivery.OTHER:
        return "ignored"
    record = stores.links.find_mail(outcome.message_id)
    if record is None:
        return "unknown"
    recipient = outcome.recipient or (record.recipient or "")
    deltas = rules_delivery.counter_deltas(outcome)
    event = EventRecord(
        key=outcome.key, message_id=outcome.message_id, unit_key=record.unit_key,
        domain=outcome.domain or rules_delivery.mail_domain(recipient), deltas=deltas, kind=outcome.kind,
        outcome=OUTCOMES[outcome.kind], diagnostic=outcome.diagnostic, status=outcome.status, recipient=recipient,
        at=outcome.at or now,
        preflight_key=preflight_key(record.preflight, recipient) if record.preflight else None)
    if not stores.delivery.apply_event(event, now):
        return "duplicate"
    cid, unit = record.unit_key.split("#", 1)
    obs.bind(campaign=cid, unit=unit)
    _count_event(outcome, record.kind)
    campaign = stores.campaigns.find_campaign(cid)
    if campaign is None:
        return outcome.kind
    if record.kind in TRACKED:
        _apply_to_link(campaign, unit, record, outcome, now, random_bytes, stores)
    delivery.after_event(campaign, unit, outcome, deltas, now, random_bytes(4).hex(), stores=stores)
    return outcome.kind


def _count_event(outcome: rules_delivery.Outcome, mail_kind: str) -> None:
    """A hard bounce is a bounced mail; SES's refusal to send or render it a failed one (a transient bounce is
    counted when its last retry fails, in _apply_to_link)."""
    obs.info("mail event", event=outcome.kind, kind=mail_kind, domain=outcome.domain, status=outcome.status)
    if outcome.kind in rules_delivery.HARD_BOUNCES:
        obs.metric(obs.MAILS_BOUNCED, kind=mail_kind, event=outcome.kind, domain=outcome.domain)
    elif outcome.kind in (rules_delivery.REJECT, rules_delivery.RENDERING_FAILURE):
        obs.metric(obs.MAILS_FAILED, kind=mail_kind, event=outcome.kind, stage_of_failure="ses")


def _apply_to_link(campaign: Campaign, unit: str, record: Mail, outcome: rules_delivery.Outcome, now: datetime,
                   random_bytes: Callable[[int], bytes], stores: Stores) -> None:
    from chalicelib.services import delivery

    link = stores.links.get_link(record.unit_key, record.slot)
    if link is None:
        return
    window = phases.phase_windows(campaign, stores.campaigns.get_unit(campaign.cid, unit)).get("survey")
    change = rules_delivery.link_change(outcome, link.state, link.email, record.kind, record.attempt, now,
                                        delivery.policy_for(campaign), window.closes_at if window else None)
    if not change.delivery:
        return
    moved = stores.links.record_delivery(link, change.delivery, now, problem=change.problem,
                                         stop_mail=change.stop_mail, state=change.state,
                                         from_states=change.from_states)
    if change.retry_at is not None and moved:
        stores.delivery.schedule_retry(Retry(at=change.retry_at, unit_key=link.unit_key, slot=link.slot,
                                             email=link.email, attempt=record.attempt + 1,
                                             message_id=record.message_id))
    if moved and change.state == "failed" and outcome.kind == rules_delivery.BOUNCE_TRANSIENT:
        obs.metric(obs.MAILS_FAILED, kind=record.kind, event=outcome.kind, stage_of_failure="retries")
    if moved and change.state in ("bounced", "failed"):
        audit.record(SYSTEM, f"mail_{change.state}", now, target=link.slot, cid=campaign.cid, unit=unit,
                     details={"reason": (change.problem or "")[:200], "event": outcome.kind},
                     suffix=random_bytes(4).hex(), stores=stores)
