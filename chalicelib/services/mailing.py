"""The mail sender (the mail queue's consumer) and the handling of bounces and complaints.

It never sends faster than the account's rate, retries throttled sends with backoff, records every message's
outcome on its link, and drops mails that are no longer wanted (answered, re-issued, past the deadline)."""
from __future__ import annotations

import time
from datetime import datetime
from typing import Callable

from chalicelib.config import settings
from chalicelib.domain import links as rules
from chalicelib.domain.access import SYSTEM
from chalicelib.domain.credentials import token_hash
from chalicelib.domain.timefmt import parse_iso
from chalicelib.services import audit, phases
from chalicelib.store import campaigns as campaign_store
from chalicelib.store import links as store
from chalicelib.store import mailer
from chalicelib.store.links import Link, Mail
from chalicelib.store.queues import unpack

MAX_ATTEMPTS = 6
SENDER_NAME = "Bộ Nội vụ - Chỉ số CCHC"

_pace: rules.Pace | None = None


def _get_pace() -> rules.Pace:
    global _pace
    rate = mailer.max_send_rate()
    if _pace is None or _pace.rate != rate:
        _pace = rules.Pace(rate=rate)
    return _pace


def send_batch(body: dict, now: Callable[[], datetime], monotonic: Callable[[], float] = time.monotonic,
               sleep: Callable[[float], None] = time.sleep) -> dict:
    """Send one queued batch. Throttled beyond the retries → raise, so SQS delivers the batch again; the mails
    that did go out are then skipped, because their links have moved on."""
    from chalicelib.formats import mail

    kind, queued_at = body["kind"], parse_iso(body["queued_at"])
    result = {"sent": 0, "dropped": 0, "failed": 0}
    touched: set[str] = set()
    windows: dict[str, bool] = {}
    for item in unpack(body["mails"]):
        digest = token_hash(item["token"])
        link = store.get_link(item["unit_key"], item["slot"])
        if not _still_wanted(link, kind, digest, queued_at, windows, now()):
            if link is None or digest not in (link.token_hashes or []):
                store.delete_tokens([digest])
            result["dropped"] += 1
            continue
        raw = mail.mime(settings().mail_from, SENDER_NAME, link.email, item["subject"], item["html"], item["text"])
        try:
            message_id = _send_paced(link.email, raw, monotonic, sleep)
        except mailer.RejectedError as exc:
            if kind == "invite":
                store.mark_failed(link, str(exc), now(), _run_counter(body, "mails_failed"))
            result["failed"] += 1
            continue
        at = now()
        store.record_mail(Mail(message_id=message_id, unit_key=link.unit_key, slot=link.slot, kind=kind,
                               sent_at=at, expires_at=at.replace(year=at.year + 1)))
        if kind == "invite":
            store.mark_sent(link, digest, at, _run_counter(body, "mails_sent"))
        else:
            store.record_reminder_sent(link, at)
        result["sent"] += 1
        touched.add(link.unit_key)
    if kind == "invite" and body.get("run"):
        for unit_key in touched:
            _notify_when_out(body["run"], unit_key, now())
    return result


def _run_counter(body: dict, counter: str) -> tuple[str, str, str] | None:
    """The dispatch run's counter an invitation's outcome moves: in the transaction that moves its link, so a
    batch delivered again after a crash counts each link once."""
    return (body["cid"], body["run"], counter) if body.get("run") else None


def _still_wanted(link: Link | None, kind: str, digest: str, queued_at: datetime,
                  windows: dict[str, bool], now: datetime) -> bool:
    if link is None or digest not in (link.token_hashes or []):
        return False  # re-issued or revoked since it was queued
    if kind == "invite" and link.state != "issued":
        return False  # already sent (a repeated delivery of this batch)
    if kind == "reminder" and (link.state not in rules.REMINDABLE or
                               (link.last_mail_at is not None and link.last_mail_at > queued_at)):
        return False  # answered meanwhile, or sent already: claiming set last_mail_at to queued_at, sending later
    if link.unit_key not in windows:  # nothing is sent after the survey deadline
        cid, unit = link.unit_key.split("#", 1)
        campaign = campaign_store.get_campaign(cid)
        window = phases.phase_windows(campaign, campaign_store.get_unit(cid, unit))["survey"]
        windows[link.unit_key] = window.state(now) == "open"
    return windows[link.unit_key]


def _send_paced(to: str, raw: bytes, monotonic: Callable[[], float], sleep: Callable[[float], None]) -> str:
    pace = _get_pace()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        wait = pace.wait(monotonic())
        if wait > 0:
            sleep(wait)
        try:
            return mailer.send_raw(settings().mail_from, to, raw)
        except mailer.ThrottledError:
            if attempt == MAX_ATTEMPTS:
                raise
            sleep(rules.backoff(attempt))
    raise AssertionError("unreachable")


def _notify_when_out(run: str, unit_key: str, now: datetime) -> None:
    """Tell the province once all its invitations of this run have left."""
    total = store.unit_totals(unit_key)
    if total is None or total.issued > 0:
        return
    cid, unit = unit_key.split("#", 1)
    if store.mark_notified(cid, unit, run):
        # forms and people differ: a department's leader gets two forms (locality and managing ministry)
        people = len({link.rid for link in store.unit_links(unit_key) if link.state in ("sent", "opened")})
        audit.notify(cid, [unit], now, "mails_out", "Đã gửi xong thư mời khảo sát",
                     f"Bộ Nội vụ đã gửi xong thư mời trả lời {total.sent + total.opened} phiếu khảo sát cho "
                     f"{people} người của đơn vị. Đơn vị theo dõi tiến độ tại mục Chi tiết tiến độ khảo sát.",
                     run[-6:])


def handle_mail_event(message: dict, now: datetime) -> str:
    """An SES notification (through SNS): a permanent bounce marks the link bounced with the reason."""
    kind = message.get("notificationType") or message.get("eventType")
    message_id = (message.get("mail") or {}).get("messageId")
    record = store.find_mail(message_id) if message_id else None
    if record is None:
        return "unknown"
    if kind == "Bounce":
        bounce = message.get("bounce") or {}
        recipients = bounce.get("bouncedRecipients") or [{}]
        reason = recipients[0].get("diagnosticCode") or bounce.get("bounceSubType") or "Thư bị trả lại"
        store.record_mail_outcome(message_id, "bounced", str(reason))
        if bounce.get("bounceType") != "Permanent":
            return "transient"
        link = store.get_link(record.unit_key, record.slot)
        if link and store.mark_bounced(link, f"Thư bị trả lại: {reason}", now):
            cid, unit = record.unit_key.split("#", 1)
            audit.record(SYSTEM, "mail_bounced", now, target=link.slot, cid=cid, unit=unit,
                         details={"reason": str(reason)[:200]}, suffix=message_id[-8:])
            return "bounced"
        return "ignored"
    if kind == "Complaint":
        store.record_mail_outcome(message_id, "complaint")
        return "complaint"
    if kind == "Delivery":
        store.record_mail_outcome(message_id, "delivered")
        return "delivered"
    return "ignored"
