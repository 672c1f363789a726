"""The audit log: append-only, partitioned by month, with indexes by unit and by actor; and the units'
notifications.

`AuditStore` is the contract services rely on; this module's functions are its DynamoDB implementation (the module
itself is the object: `chalicelib/store/stores.py` wires it), `chalicelib/store/memory.py` its in-memory one, and
`tests/unit/test_store_contract.py` runs the same cases against both."""
from __future__ import annotations

import base64
import json
from msgspec import Struct
from datetime import datetime, timezone
from typing import Iterator, Protocol

from pynamodb.exceptions import PutError

from chalicelib.errors import ConflictError
from chalicelib.store.errors import condition_failed
from chalicelib.store.models import AuditModel, NotificationModel


class AuditEntry(Struct, frozen=True):
    month: str  # "2026-11" (UTC): the partition
    sk: str  # "<ISO instant>#<suffix>": the entry's id
    at: datetime
    actor: str
    role: str
    unit_key: str  # the unit acted on or acting, "-" when none
    action: str
    target: str | None
    cid: str | None
    source_ip: str | None
    details: dict | None


class Notification(Struct, frozen=True):
    unit_key: str  # "<cid>#<unit>"
    sk: str  # "<ISO instant>#<key>": the notification's id
    at: datetime
    kind: str
    title: str
    message: str


class AuditStore(Protocol):
    """The audit log and the notifications, with what every implementation keeps:
    - `append` never overwrites: the same instant and suffix again raise ConflictError, the first entry stays;
    - `query` answers the entries whose instant lies in [start, end] (any time zone), matching every filter given,
      newest first, at most `limit` a page; a page that comes with a cursor is full, and the cursor (opaque, from
      the same store) gives the next page; a cursor that is not one raises ValueError, KeyError or TypeError;
    - `add_notifications` puts one notification per unit key, the same instant and key overwriting, and
      `list_notifications` answers a unit's newest first, at most `limit`."""

    def append(self, *, at: datetime, actor: str, role: str, unit_key: str, action: str, target: str | None,
               cid: str | None, source_ip: str | None, details: dict | None, suffix: str) -> None: ...

    def query(self, *, start: datetime, end: datetime, unit: str | None, actor: str | None, action: str | None,
              cid: str | None, limit: int, cursor: str | None) -> tuple[list[AuditEntry], str | None]: ...

    def add_notifications(self, unit_keys: list[str], at: datetime, key: str, *, kind: str, title: str,
                          message: str) -> None: ...

    def list_notifications(self, unit_key: str, limit: int) -> list[Notification]: ...


def month_of(at: datetime) -> str:
    """The partition of an instant: its month in UTC."""
    return at.astimezone(timezone.utc).strftime("%Y-%m")


def sort_key(now: datetime, suffix: str) -> str:
    return f"{now.astimezone(timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.%fZ')}#{suffix}"


def _entry(item: AuditModel) -> AuditEntry:
    return AuditEntry(month=item.month, sk=item.sk, at=item.at, actor=item.actor, role=item.role,
                      unit_key=item.unit_key, action=item.action, target=item.target, cid=item.cid,
                      source_ip=item.source_ip, details=item.details)


def append(*, at: datetime, actor: str, role: str, unit_key: str, action: str, target: str | None, cid: str | None,
           source_ip: str | None, details: dict | None, suffix: str) -> None:
    """Add one entry to the log, in the partition of the month of `at` in UTC."""
    item = AuditModel(month=month_of(at), sk=sort_key(at, suffix), at=at, actor=actor, role=role,
                      unit_key=unit_key, action=action, target=target, cid=cid, source_ip=source_ip, details=details)
    try:
        item.save(condition=AuditModel.sk.does_not_exist())  # append-only: an entry is never overwritten
    except PutError as exc:
        if condition_failed(exc):
            raise ConflictError("Mục nhật ký này đã được ghi.") from None
        raise


def _months_back(start: datetime, end: datetime) -> Iterator[str]:
    """The UTC months from `end`'s back to `start`'s: the partitions a range may touch, newest first."""
    start, end = start.astimezone(timezone.utc), end.astimezone(timezone.utc)
    year, month = end.year, end.month
    while (year, month) >= (start.year, start.month):
        yield f"{year:04d}-{month:02d}"
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)


def query(*, start: datetime, end: datetime, unit: str | None, actor: str | None, action: str | None,
          cid: str | None, limit: int, cursor: str | None) -> tuple[list[AuditEntry], str | None]:
    """Newest first. Uses the unit or actor index when filtered by them, else walks month partitions."""
    lo, hi = sort_key(start, ""), sort_key(end, "~")
    filt = None
    for cond in ([AuditModel.action == action] if action else []) + ([AuditModel.cid == cid] if cid else []) \
            + ([AuditModel.actor == actor] if actor and unit else []):
        filt = cond if filt is None else filt & cond
    state = json.loads(base64.urlsafe_b64decode(cursor.encode())) if cursor else {}
    if not isinstance(state, dict):
        raise TypeError("a cursor is a JSON object")
    items: list[AuditEntry] = []

    def run(results) -> dict | None:
        for item in results:
            items.append(_entry(item))
            if len(items) >= limit:
                return results.last_evaluated_key
        return None

    if unit or actor:
        index = AuditModel.by_unit if unit else AuditModel.by_actor
        results = index.query(unit or actor, AuditModel.sk.between(lo, hi), filter_condition=filt,
                              scan_index_forward=False, last_evaluated_key=state.get("lek"))
        lek = run(results)
        return items, _cursor({"lek": lek}) if lek else None

    months = list(_months_back(start, end))
    if state.get("month"):
        months = months[months.index(state["month"]):] if state["month"] in months else []
    for i, month in enumerate(months):
        results = AuditModel.query(month, AuditModel.sk.between(lo, hi), filter_condition=filt,
                                   scan_index_forward=False,
                                   last_evaluated_key=state.get("lek") if i == 0 else None)
        lek = run(results)
        if len(items) >= limit:
            if lek:
                return items, _cursor({"month": month, "lek": lek})
            return items, (_cursor({"month": months[i + 1]}) if i + 1 < len(months) else None)
    return items, None


def _cursor(state: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(state).encode()).decode()


def add_notifications(unit_keys: list[str], at: datetime, key: str, *, kind: str, title: str, message: str) -> None:
    """One notification per unit; the same `at` and `key` again overwrite rather than duplicate it."""
    with NotificationModel.batch_write() as batch:
        for unit_key in unit_keys:
            batch.save(NotificationModel(unit_key=unit_key, sk=sort_key(at, key), at=at, kind=kind, title=title,
                                         message=message))


def list_notifications(unit_key: str, limit: int) -> list[Notification]:
    """Newest first."""
    return [Notification(unit_key=n.unit_key, sk=n.sk, at=n.at, kind=n.kind, title=n.title, message=n.message)
            for n in NotificationModel.query(unit_key, scan_index_forward=False, limit=limit)]
