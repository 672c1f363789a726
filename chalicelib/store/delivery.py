"""Delivery records: the counters every SES event moves (per unit, per mail domain, for the account), each event
applied once, a unit's pause and the national breaker, mails to send again after a transient bounce, and the
preflights. Functions take and return the plain records below; the table's model never leaves this module.

`DeliveryStore` is the contract services rely on; this module's functions are its DynamoDB implementation (the module
itself is the object: `chalicelib/store/stores.py` wires it), `chalicelib/store/memory.py` its in-memory one, and
`tests/unit/test_store_contract.py` runs the same cases against both."""
from __future__ import annotations

from msgspec import Struct, field
from datetime import datetime, timedelta
from typing import Protocol

from pynamodb.exceptions import DeleteError, TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.store.connection import transactions
from chalicelib.store.errors import condition_failed
from chalicelib.store.models import DeliveryModel, MailModel

COUNTERS = ("accepted", "delivered", "bounced", "bounced_transient", "complaints", "rejected", "delayed",
            "policy_rejections")
ACCOUNT = "account"
EVENT_LIFE = timedelta(days=30)  # SNS redelivers within hours; an event key is kept well beyond that


class Counters(Struct, frozen=True):
    """A unit's, a mail domain's or the account's record: its counters and what came last."""
    scope: str
    key: str
    counts: dict[str, int] = field(default_factory=dict)
    last_kind: str | None = None
    last_diagnostic: str | None = None
    last_status: str | None = None
    last_recipient: str | None = None
    last_at: datetime | None = None
    notified_at: datetime | None = None


class Stop(Struct, frozen=True):
    """A unit's pause or the national breaker: when it stopped, why, and the ministry's resumption."""
    stopped_at: datetime | None
    reason: str | None
    figures: dict
    resumed_at: datetime | None
    resumed_by: str | None
    baseline: dict  # the counters (or the account's SES statistics) at the last resumption

    @property
    def active(self) -> bool:
        return self.stopped_at is not None and (self.resumed_at is None or self.resumed_at < self.stopped_at)


class Retry(Struct, frozen=True):
    """A link's mail to send again at `at`, the `attempt`-th time, after a transient bounce."""
    at: datetime
    unit_key: str
    slot: str
    email: str
    attempt: int
    message_id: str


class PreflightResult(Struct, frozen=True):
    """One test mail of a preflight and what became of it."""
    preflight: str
    address: str
    domain: str
    outcome: str  # "queued", then an event's kind ("send", "delivery", "bounce_permanent", …)
    diagnostic: str | None
    at: datetime | None


class Preflight(Struct, frozen=True):
    pid: str
    at: datetime
    by: str
    domains: list[str]
    addresses: list[str]


class DeliveryStore(Protocol):
    """What became of the mails, with what every implementation keeps:
    - `apply_event` applies an event once (by the mail's message id and the event's key), however often it is
      delivered: in one step it adds its non-zero deltas to the unit's and the account's counters, adds them with
      what it says (kind, instant, diagnostic cut to 500 characters, status, recipient; not for a "send") to the
      unit's mail-domain record, sets the mail's outcome (and its detail when the event has a diagnostic) and, for
      a preflight's test mail, that mail's result (not for a "send"); answers False, nothing written, the second
      time;
    - the counters of a unit, a domain or the account answer every counter (0 when never moved) once their record
      exists, and empty counts before; `unit_domains` answers the unit's domain records in domain order;
    - `mark_domain_notified` answers True once per unit and domain: the focal person is told once;
    - a stop (a unit's pause, the national breaker) is recorded once until resumed: while one is in force,
      `pause_unit`/`trip_breaker` answer False and keep the first reason; `resume_unit`/`reset_breaker` resume a stop
      in force only (True once, recording by whom, when and the baseline the next stop is judged from), False
      otherwise; a stop never recorded reads as not active, and `unit_stops` leaves out units without a record;
    - a retry is kept under its instant, unit and slot (scheduling it again replaces it); `due_retries` answers
      those due by `now`, oldest first; `take_retry` removes one and answers True for exactly one taker;
    - `start_preflight` replaces the unit's last preflight and records each of its test mails as "queued";
      `last_preflight` answers it with its mails' results (in address order), `preflights_of` the results of the
      units that have one; `record_preflight_refusal` marks a test mail refused ("reject") with the reason."""

    def apply_event(self, event: EventRecord, now: datetime) -> bool: ...

    def unit_counters(self, unit_key: str) -> Counters: ...

    def domain_counters(self, unit_key: str, domain: str) -> Counters: ...

    def account_counters(self) -> Counters: ...

    def unit_domains(self, unit_key: str) -> list[Counters]: ...

    def mark_domain_notified(self, unit_key: str, domain: str, now: datetime) -> bool: ...

    def unit_stop(self, unit_key: str) -> Stop: ...

    def unit_state(self, unit_key: str) -> tuple[Counters, Stop]: ...

    def breaker(self) -> Stop: ...

    def unit_stops(self, unit_keys: list[str]) -> dict[str, Stop]: ...

    def pause_unit(self, unit_key: str, reason: str, figures: dict, now: datetime) -> bool: ...

    def resume_unit(self, unit_key: str, by: str, baseline: dict, now: datetime) -> bool: ...

    def trip_breaker(self, reason: str, figures: dict, now: datetime) -> bool: ...

    def reset_breaker(self, by: str, baseline: dict, now: datetime) -> bool: ...

    def schedule_retry(self, retry: Retry) -> None: ...

    def due_retries(self, now: datetime, limit: int = 500) -> list[Retry]: ...

    def take_retry(self, retry: Retry) -> bool: ...

    def start_preflight(self, unit_key: str, preflight: Preflight, now: datetime) -> None: ...

    def last_preflight(self, unit_key: str) -> tuple[Preflight | None, list[PreflightResult]]: ...

    def preflights_of(self, unit_keys: list[str]) -> dict[str, list[PreflightResult]]: ...

    def record_preflight_refusal(self, unit_key: str, pid: str, address: str, reason: str, now: datetime) -> None: ...


def _counts(item: DeliveryModel) -> dict[str, int]:
    return {name: int(getattr(item, name) or 0) for name in COUNTERS}


def _counters(item: DeliveryModel) -> Counters:
    return Counters(scope=item.scope, key=item.key, counts=_counts(item), last_kind=item.last_kind,
                    last_diagnostic=item.last_diagnostic, last_status=item.last_status,
                    last_recipient=item.last_recipient, last_at=item.last_at, notified_at=item.notified_at)


def _stop(item: DeliveryModel | None) -> Stop:
    if item is None:
        return Stop(None, None, {}, None, None, {})
    stop = item.stop or {}
    return Stop(stopped_at=item.stopped_at, reason=stop.get("reason"), figures=stop.get("figures") or {},
                resumed_at=item.resumed_at, resumed_by=item.resumed_by, baseline=item.baseline or {})


def _get(scope: str, key: str) -> DeliveryModel | None:
    try:
        return DeliveryModel.get(scope, key, consistent_read=True)
    except DeliveryModel.DoesNotExist:
        return None


# --- events -------------------------------------------------------------------------------------------------------

class EventRecord(Struct, frozen=True):
    """What one event writes: its key, the unit, the mail domain, the counters it adds and what it says."""
    key: str
    message_id: str
    unit_key: str
    domain: str
    deltas: dict[str, int]
    kind: str
    outcome: str  # the mail's outcome ("delivered", "bounced", …)
    diagnostic: str
    status: str
    recipient: str
    at: datetime
    preflight_key: str | None = None  # the preflight test mail it is about


def apply_event(event: EventRecord, now: datetime) -> bool:
    """Move every counter of the event and record it on the mail (and the preflight's test mail), all in one
    transaction, or nothing if this event was applied before. True when applied now."""
    counts = [getattr(DeliveryModel, name).add(n) for name, n in event.deltas.items() if n]
    last: list[Action] = [DeliveryModel.last_kind.set(event.kind), DeliveryModel.last_at.set(event.at),
                          DeliveryModel.last_diagnostic.set(event.diagnostic[:500]),
                          DeliveryModel.last_status.set(event.status), DeliveryModel.last_recipient.set(
                              event.recipient)]
    mail: list[Action] = [MailModel.outcome.set(event.outcome)]
    if event.diagnostic:
        mail.append(MailModel.detail.set(event.diagnostic[:500]))
    try:
        with TransactWrite(connection=transactions()) as tx:
            # an event moves the counters once, however often SNS delivers it
            tx.save(DeliveryModel(scope=f"event#{event.message_id}", key=event.key, expires_at=now + EVENT_LIFE),
                    condition=DeliveryModel.scope.does_not_exist())
            if counts:
                tx.update(DeliveryModel(scope=event.unit_key, key="unit"), actions=counts)
                tx.update(DeliveryModel(scope=ACCOUNT, key="totals"), actions=counts)
            domain_actions = counts + (last if event.kind != "send" else [])
            if event.domain and domain_actions:
                tx.update(DeliveryModel(scope=event.unit_key, key=f"domain#{event.domain}"), actions=domain_actions)
            tx.update(MailModel(message_id=event.message_id), actions=mail)
            if event.preflight_key and event.kind != "send":
                tx.update(DeliveryModel(scope=event.unit_key, key=event.preflight_key), actions=[
                    DeliveryModel.last_kind.set(event.kind), DeliveryModel.last_at.set(event.at),
                    DeliveryModel.last_diagnostic.set(event.diagnostic[:500]),
                    DeliveryModel.last_status.set(event.status)])
    except TransactWriteError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def unit_counters(unit_key: str) -> Counters:
    item = _get(unit_key, "unit")
    return _counters(item) if item else Counters(unit_key, "unit")


def domain_counters(unit_key: str, domain: str) -> Counters:
    item = _get(unit_key, f"domain#{domain}")
    return _counters(item) if item else Counters(unit_key, f"domain#{domain}")


def account_counters() -> Counters:
    item = _get(ACCOUNT, "totals")
    return _counters(item) if item else Counters(ACCOUNT, "totals")


def unit_domains(unit_key: str) -> list[Counters]:
    """Every mail domain of the unit that a mail went to: one Query."""
    return [_counters(i) for i in DeliveryModel.query(unit_key, DeliveryModel.key.startswith("domain#"))]


def mark_domain_notified(unit_key: str, domain: str, now: datetime) -> bool:
    """The focal person is told once that a domain bounces. False when told already."""
    try:
        DeliveryModel(scope=unit_key, key=f"domain#{domain}").update(
            actions=[DeliveryModel.notified_at.set(now)],
            # one notice per domain
            condition=DeliveryModel.notified_at.does_not_exist())
        return True
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise


# --- the unit's pause and the national breaker ------------------------------------------------------------------

def unit_stop(unit_key: str) -> Stop:
    return _stop(_get(unit_key, "unit"))


def unit_state(unit_key: str) -> tuple[Counters, Stop]:
    """The unit's counters and its pause, in one read."""
    item = _get(unit_key, "unit")
    return (_counters(item) if item else Counters(unit_key, "unit")), _stop(item)


def breaker() -> Stop:
    return _stop(_get(ACCOUNT, "breaker"))


def unit_stops(unit_keys: list[str]) -> dict[str, Stop]:
    """The pause of many units in one batch (units without a record are missing)."""
    return {i.scope: _stop(i) for i in DeliveryModel.batch_get([(k, "unit") for k in unit_keys])}


def _set_stop(scope: str, key: str, reason: str, figures: dict, now: datetime) -> bool:
    item = DeliveryModel(scope=scope, key=key)
    try:
        item.update(actions=[DeliveryModel.stopped_at.set(now),
                             DeliveryModel.stop.set({"reason": reason, "figures": figures})],
                    # a stop is recorded once, until the ministry resumes: the first reason stays
                    condition=DeliveryModel.stopped_at.does_not_exist() | (
                        DeliveryModel.resumed_at.exists() & (DeliveryModel.resumed_at >= DeliveryModel.stopped_at)))
        return True
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise


def _resume(scope: str, key: str, by: str, baseline: dict, now: datetime) -> bool:
    item = DeliveryModel(scope=scope, key=key)
    try:
        item.update(actions=[DeliveryModel.resumed_at.set(now), DeliveryModel.resumed_by.set(by),
                             DeliveryModel.baseline.set(baseline)],
                    # only a stop in force is resumed (and once)
                    condition=DeliveryModel.stopped_at.exists() & (
                        DeliveryModel.resumed_at.does_not_exist() | (DeliveryModel.resumed_at < DeliveryModel.stopped_at)))
        return True
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise


def pause_unit(unit_key: str, reason: str, figures: dict, now: datetime) -> bool:
    """True when this call paused the unit (False: it was paused already)."""
    return _set_stop(unit_key, "unit", reason, figures, now)


def resume_unit(unit_key: str, by: str, baseline: dict, now: datetime) -> bool:
    return _resume(unit_key, "unit", by, baseline, now)


def trip_breaker(reason: str, figures: dict, now: datetime) -> bool:
    return _set_stop(ACCOUNT, "breaker", reason, figures, now)


def reset_breaker(by: str, baseline: dict, now: datetime) -> bool:
    return _resume(ACCOUNT, "breaker", by, baseline, now)


# --- retries after a transient bounce ------------------------------------------------------------------------------

def schedule_retry(retry: Retry) -> None:
    # one retry per instant, unit and slot: scheduling it again replaces it (an unconditional put)
    key = f"{retry.at.isoformat()}#{retry.unit_key}#{retry.slot}"
    DeliveryModel(scope="retry", key=key, data={"unit_key": retry.unit_key, "slot": retry.slot,
                                                "email": retry.email, "attempt": retry.attempt,
                                                "message_id": retry.message_id, "at": retry.at.isoformat()}).save()


def due_retries(now: datetime, limit: int = 500) -> list[Retry]:
    """Retries due by `now`, oldest first (ISO instants in UTC sort as time)."""
    out = []
    for item in DeliveryModel.query("retry", DeliveryModel.key <= f"{now.isoformat()}#~", limit=limit):
        data = item.data or {}
        out.append(Retry(at=datetime.fromisoformat(data["at"]), unit_key=data["unit_key"], slot=data["slot"],
                         email=data["email"], attempt=int(data["attempt"]), message_id=data["message_id"]))
    return out


def take_retry(retry: Retry) -> bool:
    """Remove a due retry before acting on it. False when another run took it first."""
    try:
        DeliveryModel(scope="retry", key=f"{retry.at.isoformat()}#{retry.unit_key}#{retry.slot}").delete(
            # one scheduler run acts on a retry
            condition=DeliveryModel.scope.exists())
        return True
    except DeleteError as exc:
        if condition_failed(exc):
            return False
        raise


# --- preflights ---------------------------------------------------------------------------------------------------

def start_preflight(unit_key: str, preflight: Preflight, now: datetime) -> None:
    """The unit's last preflight, and one record per test mail, waiting for its events."""
    # unconditional puts: the new preflight replaces the unit's last one whole, and each test mail starts "queued"
    with DeliveryModel.batch_write() as batch:
        batch.save(DeliveryModel(scope=unit_key, key="preflight", data={
            "pid": preflight.pid, "at": preflight.at.isoformat(), "by": preflight.by, "domains": preflight.domains,
            "addresses": preflight.addresses}))
        for address in preflight.addresses:
            batch.save(DeliveryModel(scope=unit_key, key=preflight_key(preflight.pid, address),
                                     last_kind="queued", data={"address": address,
                                                               "domain": address.rsplit("@", 1)[-1]}))


def preflight_key(pid: str, address: str) -> str:
    return f"preflight#{pid}#{address}"


def last_preflight(unit_key: str) -> tuple[Preflight | None, list[PreflightResult]]:
    """The unit's last preflight and its test mails' outcomes."""
    head = _get(unit_key, "preflight")
    if head is None or not head.data:
        return None, []
    data = head.data
    preflight = Preflight(pid=data["pid"], at=datetime.fromisoformat(data["at"]), by=data["by"],
                          domains=list(data["domains"]), addresses=list(data["addresses"]))
    results = []
    for item in DeliveryModel.query(unit_key, DeliveryModel.key.startswith(f"preflight#{preflight.pid}#")):
        info = item.data or {}
        results.append(PreflightResult(preflight=preflight.pid, address=info.get("address", ""),
                                       domain=info.get("domain", ""), outcome=item.last_kind or "queued",
                                       diagnostic=item.last_diagnostic, at=item.last_at))
    return preflight, results


def preflights_of(unit_keys: list[str]) -> dict[str, list[PreflightResult]]:
    """The last preflight's results of each unit (for the ministry's dispatch warning)."""
    out = {}
    tested = {i.scope for i in DeliveryModel.batch_get([(k, "preflight") for k in unit_keys])}
    for unit_key in sorted(tested):
        _, results = last_preflight(unit_key)
        if results:
            out[unit_key] = results
    return out


def record_preflight_refusal(unit_key: str, pid: str, address: str, reason: str, now: datetime) -> None:
    """The mail service refused a test mail outright (no event will come)."""
    DeliveryModel(scope=unit_key, key=preflight_key(pid, address)).update(actions=[
        DeliveryModel.last_kind.set("reject"), DeliveryModel.last_at.set(now),
        DeliveryModel.last_diagnostic.set(reason[:500])])
