"""What happens to a mail after SES accepts it, and what the platform does about it. Pure rules, no I/O.

- `classify`: an SES sending event (as SNS delivers it) -> an `Outcome`: what happened, to which recipient and mail
  domain, with the receiving server's diagnostic (e.g. `550 5.7.1 ... rejected by policy`).
- `link_change`: what the outcome does to the survey link (the states of chalicelib/domain/links.py): a hard
  bounce marks it bounced; a transient bounce is sent again after a growing delay, a configured number of times,
  then the link is marked failed; a refused or unrenderable mail fails it; a complaint stops further mail to it.
- `counter_deltas`: what the outcome adds to the unit's and the mail domain's counters.
- The reputation guard: `unit_pause` (a unit whose bounce rate passes the campaign's threshold stops sending) and
  `breaker` (all sending stops when the account's rates approach the levels at which SES reviews an account).
- `domain_started_bouncing`: when a province's focal person is told that one of its mail domains bounces.
- `allowlist`: what a province's mail administrators must allow, from the configured sender.
"""
from __future__ import annotations

import json
import re
from msgspec import Struct, field
from msgspec.structs import replace
from datetime import datetime, timedelta
from typing import Any, Mapping

# --- outcomes -----------------------------------------------------------------------------------------------------

SEND, DELIVERY, BOUNCE_PERMANENT, BOUNCE_TRANSIENT, BOUNCE_UNDETERMINED = (
    "send", "delivery", "bounce_permanent", "bounce_transient", "bounce_undetermined")
COMPLAINT, REJECT, DELAY, RENDERING_FAILURE, OTHER = "complaint", "reject", "delay", "rendering_failure", "other"
KINDS = (SEND, DELIVERY, BOUNCE_PERMANENT, BOUNCE_TRANSIENT, BOUNCE_UNDETERMINED, COMPLAINT, REJECT, DELAY,
         RENDERING_FAILURE)
HARD_BOUNCES = (BOUNCE_PERMANENT, BOUNCE_UNDETERMINED)  # what SES counts in an account's bounce rate

KIND_NAMES = {
    SEND: "SES đã nhận thư để gửi", DELIVERY: "Đã tới máy chủ thư của người nhận",
    BOUNCE_PERMANENT: "Thư bị trả lại (vĩnh viễn)", BOUNCE_TRANSIENT: "Thư bị trả lại tạm thời",
    BOUNCE_UNDETERMINED: "Thư bị trả lại (không rõ nguyên nhân)", COMPLAINT: "Người nhận báo thư rác",
    REJECT: "SES từ chối gửi thư", DELAY: "Thư đang bị chậm", RENDERING_FAILURE: "Không tạo được nội dung thư",
    OTHER: "Sự kiện khác",
}

# SES's eventType (event publishing through a configuration set) or notificationType (identity notifications)
_EVENT_TYPES = {"send": SEND, "delivery": DELIVERY, "bounce": "bounce", "complaint": COMPLAINT, "reject": REJECT,
                "deliverydelay": DELAY, "rendering failure": RENDERING_FAILURE, "renderingfailure": RENDERING_FAILURE}
_BOUNCE_TYPES = {"permanent": BOUNCE_PERMANENT, "transient": BOUNCE_TRANSIENT, "undetermined": BOUNCE_UNDETERMINED}


class Outcome(Struct, frozen=True):
    kind: str  # one of KINDS, or OTHER (open, click, subscription: never published by this platform's set)
    message_id: str
    recipient: str  # lower-cased address ("" when the event names none)
    domain: str  # the recipient's mail domain, lower-cased
    at: datetime | None  # when it happened (the event's own time)
    diagnostic: str = ""  # the receiving server's words, without the "smtp; " prefix
    status: str = ""  # the enhanced status code (RFC 3463), e.g. "5.7.1"
    detail: str = ""  # SES's subtype: bounce subtype, delay type, complaint feedback type, reject reason
    recipients: tuple[str, ...] = ()  # every recipient the event names (a mail of this platform has one)

    @property
    def name(self) -> str:
        return KIND_NAMES[self.kind]

    @property
    def key(self) -> str:
        """Identifies the event: SNS may deliver it more than once, counters must move once."""
        return f"{self.message_id}#{self.kind}#{self.at.isoformat() if self.at else ''}#{self.recipient}"

    @property
    def reason(self) -> str:
        """The cause in words, from the status code and SES's subtype (for the focal person's desk)."""
        return explain(self.status, self.detail)


class EventError(ValueError):
    """Not an SES sending event."""


def parse_notification(payload: str | bytes | Mapping[str, Any]) -> dict:
    """The SES event record from what arrives: the record itself (JSON text or parsed), or SNS's envelope
    ({"Type": "Notification", "Message": "<the record as JSON text>"})."""
    record: Any = payload
    if isinstance(record, (str, bytes)):
        try:
            record = json.loads(record)
        except ValueError as exc:
            raise EventError("not JSON") from exc
    if isinstance(record, Mapping) and "Sns" in record:  # one of Lambda's Records
        record = record["Sns"]
    if isinstance(record, Mapping) and record.get("Type") == "Notification" and "Message" in record:
        return parse_notification(record["Message"])
    if not isinstance(record, Mapping) or not isinstance(record.get("mail"), Mapping):
        raise EventError("no mail object")
    return dict(record)


def classify(payload: str | bytes | Mapping[str, Any]) -> Outcome:
    record = parse_notification(payload)
    event_type = str(record.get("eventType") or record.get("notificationType") or "")
    mail = record["mail"]
    message_id = str(mail.get("messageId") or "")
    if not message_id:
        raise EventError("no messageId")
    kind = _EVENT_TYPES.get(event_type.strip().lower(), OTHER)
    destination = [str(a) for a in mail.get("destination") or []]
    at = _time(mail.get("timestamp"))
    diagnostic = status = detail = ""
    recipients = destination
    if kind == "bounce":
        bounce = record.get("bounce") or {}
        kind = _BOUNCE_TYPES.get(str(bounce.get("bounceType", "")).lower(), BOUNCE_UNDETERMINED)
        detail = str(bounce.get("bounceSubType") or "")
        bounced = bounce.get("bouncedRecipients") or []
        recipients = [str(r.get("emailAddress")) for r in bounced if r.get("emailAddress")] or destination
        first = bounced[0] if bounced else {}
        diagnostic, status = _diagnostic(first.get("diagnosticCode"), first.get("status"))
        at = _time(bounce.get("timestamp")) or at
    elif kind == COMPLAINT:
        complaint = record.get("complaint") or {}
        recipients = [str(r.get("emailAddress")) for r in complaint.get("complainedRecipients") or []
                      if r.get("emailAddress")] or destination
        detail = str(complaint.get("complaintFeedbackType") or complaint.get("complaintSubType") or "")
        at = _time(complaint.get("timestamp")) or at
    elif kind == DELIVERY:
        delivery = record.get("delivery") or {}
        recipients = [str(r) for r in delivery.get("recipients") or []] or destination
        diagnostic, status = _diagnostic(delivery.get("smtpResponse"), None)
        at = _time(delivery.get("timestamp")) or at
    elif kind == DELAY:
        delay = record.get("deliveryDelay") or {}
        delayed = delay.get("delayedRecipients") or []
        recipients = [str(r.get("emailAddress")) for r in delayed if r.get("emailAddress")] or destination
        first = delayed[0] if delayed else {}
        diagnostic, status = _diagnostic(first.get("diagnosticCode"), first.get("status"))
        detail = str(delay.get("delayType") or "")
        at = _time(delay.get("timestamp")) or at
    elif kind == REJECT:
        detail = diagnostic = str((record.get("reject") or {}).get("reason") or "")
    elif kind == RENDERING_FAILURE:
        failure = record.get("failure") or {}
        detail = diagnostic = str(failure.get("errorMessage") or "")
    recipients = [r.strip().lower() for r in recipients if r.strip()]
    recipient = recipients[0] if recipients else ""
    return Outcome(kind=kind, message_id=message_id, recipient=recipient, domain=mail_domain(recipient), at=at,
                   diagnostic=diagnostic[:500], status=status, detail=detail[:200], recipients=tuple(recipients))


def mail_domain(address: str) -> str:
    return address.rsplit("@", 1)[1].strip().lower().rstrip(".") if "@" in address else ""


_STATUS = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")


def _diagnostic(code: Any, status: Any) -> tuple[str, str]:
    text = " ".join(str(code or "").split())
    text = re.sub(r"^(smtp|x-postfix|x-unix|x-local)\s*;\s*", "", text, flags=re.I)
    found = _STATUS.search(str(status or "")) or _STATUS.search(text)
    return text, found[1] if found else ""


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def explain(status: str, detail: str = "") -> str:
    """The usual meaning of an enhanced status code (RFC 3463) or SES subtype, in Vietnamese."""
    subtypes = {"MailboxFull": "Hộp thư của người nhận đã đầy", "MessageTooLarge": "Thư quá lớn",
                "ContentRejected": "Máy chủ nhận từ chối nội dung thư", "NoEmail": "Địa chỉ thư không tồn tại",
                "Suppressed": "Địa chỉ nằm trong danh sách chặn của SES (đã từng bị trả lại vĩnh viễn)",
                "OnAccountSuppressionList": "Địa chỉ nằm trong danh sách chặn của tài khoản gửi thư",
                "TransientCommunicationFailure": "Tạm thời không kết nối được máy chủ nhận",
                "MailboxUnavailable": "Hộp thư tạm thời không dùng được", "SpamDetected": "Máy chủ nhận coi là thư rác",
                "IPFailure": "Máy chủ nhận chặn địa chỉ IP gửi thư", "abuse": "Người nhận đánh dấu là thư rác"}
    if status.startswith(("5.7.", "4.7.")):
        return "Máy chủ thư của người nhận từ chối theo chính sách (bộ lọc thư, danh sách chặn, xác thực người gửi)"
    if status in ("5.1.1", "5.1.0", "5.1.10") or status.startswith("5.1."):
        return "Địa chỉ thư không tồn tại hoặc sai"
    if status in ("4.2.2", "5.2.2"):
        return "Hộp thư của người nhận đã đầy"
    if status in ("5.3.4", "5.2.3"):
        return "Thư quá lớn"
    if status.startswith("4.4.") or status.startswith("5.4."):
        return "Không kết nối hoặc không định tuyến được tới máy chủ nhận"
    if detail in subtypes:
        return subtypes[detail]
    if status.startswith("4."):
        return "Lỗi tạm thời ở máy chủ nhận"
    if status.startswith("5."):
        return "Máy chủ nhận từ chối thư"
    return ""


# --- settings -----------------------------------------------------------------------------------------------------

SES_REVIEW_BOUNCE_RATE = 0.05  # SES puts an account under review at a 5 % bounce rate …
SES_REVIEW_COMPLAINT_RATE = 0.001  # … or a 0.1 % complaint rate


class Policy(Struct, frozen=True):
    """The delivery settings. `from_settings` reads them from environment-style strings; the unit's threshold may
    come from the campaign (`with_campaign`)."""
    transient_retries: int = 3  # sending again after a transient bounce; then the link is failed
    retry_first: timedelta = timedelta(minutes=30)  # wait before the first new attempt; doubling each time …
    retry_cap: timedelta = timedelta(hours=8)  # … up to this
    unit_bounce_rate: float = 0.03  # a unit's sending pauses above this share of hard bounces …
    unit_min_mails: int = 50  # … once it has sent at least this many mails
    breaker_margin: float = 0.8  # all sending stops at this fraction of SES's review rates (4 %, 0.08 %)
    breaker_min_mails: int = 200  # the account's rates are judged on at least this many mails
    domain_bounce_rate: float = 0.2  # a mail domain "bounces" at this share of hard bounces …
    domain_min_bounces: int = 3  # … with at least this many
    domain_policy_rejections: int = 1  # or this many refusals by policy (5.7.x) from its servers

    def __post_init__(self) -> None:
        problems = []
        if not 0 <= self.transient_retries <= 10:
            problems.append("transient_retries must be 0..10")
        if self.retry_first <= timedelta(0) or self.retry_cap < self.retry_first:
            problems.append("retry_first must be positive and retry_cap at least retry_first")
        for name in ("unit_bounce_rate", "breaker_margin", "domain_bounce_rate"):
            if not 0 < getattr(self, name) <= 1:
                problems.append(f"{name} must be in (0, 1]")
        for name in ("unit_min_mails", "breaker_min_mails", "domain_min_bounces", "domain_policy_rejections"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be at least 1")
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def breaker_bounce_rate(self) -> float:
        return SES_REVIEW_BOUNCE_RATE * self.breaker_margin

    @property
    def breaker_complaint_rate(self) -> float:
        return SES_REVIEW_COMPLAINT_RATE * self.breaker_margin

    @classmethod
    def from_settings(cls, env: Mapping[str, str]) -> Policy:
        """CCHC_MAIL_TRANSIENT_RETRIES, CCHC_MAIL_RETRY_FIRST_MINUTES, CCHC_MAIL_RETRY_CAP_MINUTES,
        CCHC_MAIL_UNIT_BOUNCE_RATE, CCHC_MAIL_UNIT_MIN_MAILS, CCHC_MAIL_BREAKER_MARGIN, CCHC_MAIL_BREAKER_MIN_MAILS,
        CCHC_MAIL_DOMAIN_BOUNCE_RATE, CCHC_MAIL_DOMAIN_MIN_BOUNCES, CCHC_MAIL_DOMAIN_POLICY_REJECTIONS; rates as
        fractions (0.03) or percentages ("3%"). Unset ones keep their defaults."""
        d = cls()

        def get(name: str, default: Any, parse: Any) -> Any:
            raw = env.get(f"CCHC_MAIL_{name}")
            if raw is None or str(raw).strip() == "":
                return default
            try:
                return parse(str(raw).strip())
            except ValueError as exc:
                raise ValueError(f"CCHC_MAIL_{name}={raw!r}: {exc}") from exc

        minutes = lambda text: timedelta(minutes=float(text))  # noqa: E731
        return cls(
            transient_retries=get("TRANSIENT_RETRIES", d.transient_retries, int),
            retry_first=get("RETRY_FIRST_MINUTES", d.retry_first, minutes),
            retry_cap=get("RETRY_CAP_MINUTES", d.retry_cap, minutes),
            unit_bounce_rate=get("UNIT_BOUNCE_RATE", d.unit_bounce_rate, parse_rate),
            unit_min_mails=get("UNIT_MIN_MAILS", d.unit_min_mails, int),
            breaker_margin=get("BREAKER_MARGIN", d.breaker_margin, parse_rate),
            breaker_min_mails=get("BREAKER_MIN_MAILS", d.breaker_min_mails, int),
            domain_bounce_rate=get("DOMAIN_BOUNCE_RATE", d.domain_bounce_rate, parse_rate),
            domain_min_bounces=get("DOMAIN_MIN_BOUNCES", d.domain_min_bounces, int),
            domain_policy_rejections=get("DOMAIN_POLICY_REJECTIONS", d.domain_policy_rejections, int),
        )

    def with_campaign(self, guard: Mapping[str, Any] | None) -> Policy:
        """The campaign's own unit threshold: {"unit_bounce_rate": 0.03 or "3%", "unit_min_mails": 50}."""
        if not guard:
            return self
        unknown = set(guard) - {"unit_bounce_rate", "unit_min_mails"}
        if unknown:
            raise ValueError(f"unknown mail guard settings: {sorted(unknown)}")
        changes: dict[str, Any] = {}
        if "unit_bounce_rate" in guard:
            changes["unit_bounce_rate"] = parse_rate(str(guard["unit_bounce_rate"]))
        if "unit_min_mails" in guard:
            changes["unit_min_mails"] = int(guard["unit_min_mails"])
        return replace(self, **changes)


def parse_rate(text: str) -> float:
    """"0.03", "3%" or "3 %" -> 0.03; a comma works as the decimal mark ("2,5%")."""
    text = text.strip().replace(",", ".")
    value = float(text.rstrip("% ").strip()) / 100 if text.endswith("%") else float(text)
    if not 0 < value <= 1:
        raise ValueError("a rate is a fraction in (0, 1] or a percentage in (0 %, 100 %]")
    return value


# --- the link -----------------------------------------------------------------------------------------------------

class LinkChange(Struct, frozen=True):
    """What an outcome does to the link its mail carried.

    state: the link's new state (chalicelib/domain/links.py), or None to leave it; `from_states`: only from these
    (the store's condition: a link answered or re-issued meanwhile is left alone). delivery: the mail's own outcome
    shown beside the state ("delivered", "delayed", "retrying", "bounced", "failed", "complained", "accepted").
    retry_at: send the same mail again then (a transient bounce). stop_mail: no more mail to this address (a
    complaint). problem: the Vietnamese text shown to the province (None: leave it)."""
    state: str | None = None
    from_states: tuple[str, ...] = ()
    delivery: str = ""
    retry_at: datetime | None = None
    stop_mail: bool = False
    problem: str | None = None


def next_retry(transient_bounces: int, now: datetime, policy: Policy,
               deadline: datetime | None = None) -> datetime | None:
    """After the `transient_bounces`-th transient bounce of a mail (1 = the first): when to send it again, or
    None to give up (retries used up, or the next attempt would fall after the survey's deadline)."""
    if transient_bounces < 1:
        raise ValueError("transient_bounces counts this bounce: at least 1")
    if transient_bounces > policy.transient_retries:
        return None
    wait = min(policy.retry_cap, policy.retry_first * (2 ** (transient_bounces - 1)))
    at = now + wait
    if deadline is not None and at >= deadline:
        return None
    return at


def link_change(outcome: Outcome, link_state: str, link_email: str, mail_kind: str, transient_bounces: int,
                now: datetime, policy: Policy, deadline: datetime | None = None) -> LinkChange:
    """`link_state` and `link_email`: the link as it is now; `mail_kind`: "invite" or "reminder" (the mail the
    event is about); `transient_bounces`: this mail's transient bounces including this one (for a transient
    bounce)."""
    if outcome.recipients and link_email.strip().lower() not in outcome.recipients:
        return LinkChange()  # the address was corrected since: the old mail's fate is not the new address's
    if link_state == "submitted":
        return LinkChange(delivery=_DELIVERY.get(outcome.kind, ""))  # answered: nothing can change it
    why = f" ({outcome.diagnostic})" if outcome.diagnostic else ""
    kind = outcome.kind
    if kind == SEND:
        return LinkChange(delivery="accepted")
    if kind == DELIVERY:
        return LinkChange(delivery="delivered")
    if kind == DELAY:
        return LinkChange(delivery="delayed")  # SES keeps trying by itself
    if kind == COMPLAINT:
        return LinkChange(delivery="complained", stop_mail=True,
                          problem="Người nhận đã báo thư là thư rác; không gửi thêm thư nhắc tới địa chỉ này.")
    if kind in HARD_BOUNCES:
        return LinkChange(state="bounced", from_states=("sent", "opened"), delivery="bounced",
                          problem=f"Thư bị trả lại: {outcome.diagnostic or outcome.reason or outcome.detail}"[:500])
    if kind == BOUNCE_TRANSIENT:
        at = next_retry(transient_bounces, now, policy, deadline)
        if at is not None:
            return LinkChange(delivery="retrying", retry_at=at,
                              problem=f"Thư tạm thời chưa gửi được, sẽ gửi lại (lần {transient_bounces})"
                                      f"{why}."[:500])
        if mail_kind == "reminder" and link_state == "opened":
            return LinkChange(delivery="failed")  # the invitation did arrive: the link stays usable
        return LinkChange(state="failed", from_states=("sent",), delivery="failed",
                          problem=f"Thư không gửi được sau {transient_bounces} lần thử{why}."[:500])
    if kind in (REJECT, RENDERING_FAILURE):
        return LinkChange(state="failed", from_states=("sent",), delivery="failed",
                          problem=f"{outcome.name}: {outcome.diagnostic or outcome.detail}"[:500])
    return LinkChange()


_DELIVERY = {SEND: "accepted", DELIVERY: "delivered", DELAY: "delayed", COMPLAINT: "complained",
             BOUNCE_PERMANENT: "bounced", BOUNCE_UNDETERMINED: "bounced", BOUNCE_TRANSIENT: "retrying",
             REJECT: "failed", RENDERING_FAILURE: "failed"}


# --- counters -----------------------------------------------------------------------------------------------------

COUNTERS = ("accepted", "delivered", "bounced", "bounced_transient", "complaints", "rejected", "delayed",
            "policy_rejections")


def counter_deltas(outcome: Outcome) -> dict[str, int]:
    """What one event adds, the same to the unit's counters and to its mail domain's (`outcome.domain`).
    `accepted` (Send events) is the denominator of every rate; apply each event once (`Outcome.key`)."""
    deltas = {SEND: {"accepted": 1}, DELIVERY: {"delivered": 1}, BOUNCE_PERMANENT: {"bounced": 1},
              BOUNCE_UNDETERMINED: {"bounced": 1}, BOUNCE_TRANSIENT: {"bounced_transient": 1},
              COMPLAINT: {"complaints": 1}, REJECT: {"rejected": 1}, RENDERING_FAILURE: {"rejected": 1},
              DELAY: {"delayed": 1}}.get(outcome.kind, {})
    if outcome.kind in HARD_BOUNCES + (BOUNCE_TRANSIENT,) and is_policy_rejection(outcome.status):
        deltas = {**deltas, "policy_rejections": 1}
    return dict(deltas)


def is_policy_rejection(status: str) -> bool:
    return status.startswith(("5.7.", "4.7."))


class Counts(Struct, frozen=True):
    """A unit's, a mail domain's or the account's counters (missing ones are 0)."""
    accepted: int = 0
    delivered: int = 0
    bounced: int = 0
    bounced_transient: int = 0
    complaints: int = 0
    rejected: int = 0
    delayed: int = 0
    policy_rejections: int = 0

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> Counts:
        return cls(**{name: int(values.get(name) or 0) for name in COUNTERS})

    def plus(self, deltas: Mapping[str, int]) -> Counts:
        return replace(self, **{k: getattr(self, k) + v for k, v in deltas.items()})

    @property
    def bounce_rate(self) -> float:
        return self.bounced / self.accepted if self.accepted else 0.0

    @property
    def complaint_rate(self) -> float:
        return self.complaints / self.accepted if self.accepted else 0.0


# --- the reputation guard -----------------------------------------------------------------------------------------

class Stop(Struct, frozen=True):
    """Why sending stops (Vietnamese, for the ministry, the focal person and the audit log), with the figures."""
    reason: str
    figures: dict = field(default_factory=dict)


def percent(rate: float) -> str:
    """0.0425 -> "4,25 %" (Vietnamese decimal comma)."""
    text = f"{rate * 100:.2f}".rstrip("0").rstrip(".")
    return text.replace(".", ",") + " %"


def unit_pause(counts: Counts, policy: Policy) -> Stop | None:
    """A unit's sending pauses when, after at least `unit_min_mails` mails, its hard bounces pass
    `unit_bounce_rate`. Only the ministry resumes it."""
    if counts.accepted < policy.unit_min_mails or counts.bounce_rate <= policy.unit_bounce_rate:
        return None
    return Stop(reason=f"Tạm dừng gửi thư của đơn vị: tỷ lệ thư bị trả lại {percent(counts.bounce_rate)} "
                       f"({counts.bounced}/{counts.accepted} thư) vượt ngưỡng {percent(policy.unit_bounce_rate)}. "
                       "Đề nghị kiểm tra lại địa chỉ thư trong danh sách; Bộ Nội vụ sẽ cho gửi tiếp.",
                figures={"accepted": counts.accepted, "bounced": counts.bounced,
                         "rate": round(counts.bounce_rate, 6), "threshold": policy.unit_bounce_rate})


class SendStatistics(Struct, frozen=True):
    """The account's totals from SES's GetSendStatistics (its data points of the last two weeks, summed)."""
    delivery_attempts: int = 0
    bounces: int = 0
    complaints: int = 0
    rejects: int = 0

    @classmethod
    def of(cls, data_points: list[Mapping[str, Any]], since: datetime | None = None) -> SendStatistics:
        points = [p for p in data_points if since is None or p.get("Timestamp") is None or p["Timestamp"] >= since]
        return cls(*(sum(int(p.get(name) or 0) for p in points)
                     for name in ("DeliveryAttempts", "Bounces", "Complaints", "Rejects")))


def breaker(statistics: SendStatistics, events: Counts, policy: Policy) -> Stop | None:
    """All sending stops when either view of the account, SES's own statistics or the platform's event
    counters, has a bounce or complaint rate at `breaker_margin` of SES's review thresholds, on at least
    `breaker_min_mails` mails. Only the ministry resumes it."""
    views = (("SES", statistics.delivery_attempts, statistics.bounces, statistics.complaints),
             ("sự kiện", events.accepted, events.bounced, events.complaints))
    for source, mails, bounces, complaints in views:
        if mails < policy.breaker_min_mails:
            continue
        for what, count, limit, review in (
                ("thư bị trả lại", bounces, policy.breaker_bounce_rate, SES_REVIEW_BOUNCE_RATE),
                ("thư bị báo là thư rác", complaints, policy.breaker_complaint_rate, SES_REVIEW_COMPLAINT_RATE)):
            rate = count / mails
            if rate >= limit - 1e-12:  # 0.05 x 0.8 is 0.04000000000000001 in floating point
                return Stop(reason=f"Dừng toàn bộ việc gửi thư: tỷ lệ {what} của tài khoản gửi thư là {percent(rate)}"
                                   f" ({count}/{mails} thư, theo {source}), đã tới ngưỡng an toàn {percent(limit)} "
                                   f"(SES xem xét tài khoản ở mức {percent(review)}). Chỉ Bộ Nội vụ cho gửi tiếp.",
                            figures={"source": source, "mails": mails, "count": count, "rate": round(rate, 6),
                                     "limit": limit, "review": review, "kind": "bounce" if review ==
                                     SES_REVIEW_BOUNCE_RATE else "complaint"})
    return None


def domain_bouncing(counts: Counts, policy: Policy) -> bool:
    """A mail domain bounces: enough hard bounces at a high enough share of its mails, or its servers refusing
    by policy (5.7.x: a filter, a block list, sender authentication)."""
    if counts.policy_rejections >= policy.domain_policy_rejections:
        return True
    return counts.bounced >= policy.domain_min_bounces and counts.bounce_rate >= policy.domain_bounce_rate


def domain_started_bouncing(before: Counts, after: Counts, policy: Policy) -> bool:
    """True once, on the event that makes the domain bounce: the focal person is told then, with the diagnostic."""
    return domain_bouncing(after, policy) and not domain_bouncing(before, policy)


def domain_notice(domain: str, counts: Counts, outcome: Outcome, allowed: Allowlist) -> tuple[str, str]:
    """(title, body) of the focal person's notification, in Vietnamese."""
    title = f"Thư gửi tới tên miền {domain} bị trả lại"
    lines = [f"Hệ thống thư của tên miền {domain} đã trả lại {counts.bounced + counts.bounced_transient} thư "
             f"trong {counts.accepted} thư Bộ Nội vụ gửi tới."]
    if outcome.diagnostic:
        lines.append(f"Phản hồi gần nhất của máy chủ nhận: {outcome.diagnostic}")
    if outcome.reason:
        lines.append(f"Nguyên nhân thường gặp: {outcome.reason}.")
    lines.append("Đề nghị đầu mối CNTT của địa phương phối hợp với quản trị hệ thống thư công vụ cho phép nhận thư: "
                 + allowed.summary())
    return title, "\n".join(lines)


# --- what a province's mail administrators must allow -------------------------------------------------------------

class Allowlist(Struct, frozen=True):
    sending_domain: str
    from_address: str
    dkim_selectors: tuple[str, ...]
    mail_from_domain: str  # the envelope sender's domain (Return-Path), checked by SPF

    @property
    def dkim_records(self) -> tuple[str, ...]:
        return tuple(f"{selector}._domainkey.{self.sending_domain}" for selector in self.dkim_selectors)

    def lines(self) -> list[tuple[str, str]]:
        """(label, value) rows for the province's page."""
        rows = [("Địa chỉ gửi thư", self.from_address), ("Tên miền gửi thư", self.sending_domain)]
        if self.dkim_selectors:
            rows.append(("Chữ ký DKIM (d=" + self.sending_domain + "), bộ chọn", ", ".join(self.dkim_selectors)))
        rows.append(("Tên miền MAIL FROM (Return-Path, kiểm tra SPF)", self.mail_from_domain))
        return rows

    def summary(self) -> str:
        return "; ".join(f"{label}: {value}" for label, value in self.lines()) + "."


def allowlist(mail_from: str, mail_from_domain: str = "", dkim_selectors: str | list[str] | tuple[str, ...] = (),
              region: str = "") -> Allowlist:
    """From the configured sender (CCHC_MAIL_FROM), its MAIL FROM domain (CCHC_MAIL_FROM_DOMAIN) and DKIM selectors
    (CCHC_MAIL_DKIM_SELECTORS, comma-separated). Without a MAIL FROM domain of its own SES sends from
    <region>.amazonses.com."""
    if "@" not in mail_from:
        raise ValueError("the sender must be an e-mail address")
    domain = mail_domain(mail_from)
    if isinstance(dkim_selectors, str):
        dkim_selectors = [s for s in (part.strip() for part in dkim_selectors.split(",")) if s]
    envelope = mail_from_domain.strip().lower() or (f"{region}.amazonses.com" if region else "amazonses.com")
    return Allowlist(sending_domain=domain, from_address=mail_from.strip().lower(),
                     dkim_selectors=tuple(dkim_selectors), mail_from_domain=envelope)
