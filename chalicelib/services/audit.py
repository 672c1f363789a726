"""Audit entries for every state change, the organiser's view of them, and the units' notifications.

Each function writes through `stores.audit` (the DynamoDB wiring unless a caller hands its own `stores`: a service
passes on the one it was given)."""
from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.domain.access import Actor, require_moha
from chalicelib.domain.timefmt import local_datetime, parse_iso, utc_iso
from chalicelib.errors import ValidationError
from chalicelib.store.audit import AuditEntry
from chalicelib.store.stores import DYNAMODB, Stores


def record(actor: Actor, action: str, now: datetime, *, target: str | None = None, cid: str | None = None,
           unit: str | None = None, details: dict | None = None, suffix: str, stores: Stores = DYNAMODB) -> None:
    stores.audit.append(at=now, actor=actor.username, role=actor.role, unit_key=unit or actor.unit or "-",
                       action=action, target=target, cid=cid, source_ip=actor.source_ip, details=details,
                       suffix=suffix)


def entry_dict(item: AuditEntry) -> dict:
    return {"id": item.sk, "at": utc_iso(item.at), "at_label": local_datetime(item.at), "actor": item.actor, "role": item.role,
            "unit": None if item.unit_key == "-" else item.unit_key, "action": item.action,
            "target": item.target, "campaign": item.cid, "source_ip": item.source_ip,
            "details": item.details or {}}


def search(actor: Actor, now: datetime, *, start: str | None, end: str | None, unit: str | None,
           who: str | None, action: str | None, cid: str | None, limit: int, cursor: str | None,
           stores: Stores = DYNAMODB) -> dict:
    require_moha(actor)
    try:
        end_at = parse_iso(end) if end else now
        start_at = parse_iso(start) if start else end_at - timedelta(days=90)
    except ValueError:
        raise ValidationError("Thời gian lọc không hợp lệ (dùng định dạng ISO 8601 có múi giờ).",
                              details=[{"field": "from/to"}]) from None
    if start_at > end_at:
        raise ValidationError("Thời điểm bắt đầu phải trước thời điểm kết thúc.", details=[{"field": "from"}])
    if end_at - start_at > timedelta(days=3660):
        raise ValidationError("Khoảng thời gian lọc tối đa 10 năm.", details=[{"field": "from"}])
    try:
        items, next_cursor = stores.audit.query(start=start_at, end=end_at, unit=unit, actor=who, action=action,
                                                cid=cid, limit=max(1, min(limit, 200)), cursor=cursor)
    except (ValueError, KeyError, TypeError):
        raise ValidationError("Con trỏ phân trang không hợp lệ.", details=[{"field": "cursor"}]) from None
    return {"items": [entry_dict(i) for i in items], "next_cursor": next_cursor}


def notify(cid: str, units: list[str], now: datetime, kind: str, title: str, message: str, key: str, *,
           stores: Stores = DYNAMODB) -> None:
    """One notification per unit; `key` makes a repeated call overwrite rather than duplicate."""
    stores.audit.add_notifications([f"{cid}#{unit}" for unit in units], now, key, kind=kind, title=title,
                                  message=message)


def notifications(cid: str, unit: str, limit: int = 100, *, stores: Stores = DYNAMODB) -> dict:
    return {"items": [{"id": n.sk, "at": utc_iso(n.at), "at_label": local_datetime(n.at), "kind": n.kind,
                       "title": n.title, "message": n.message}
                      for n in stores.audit.list_notifications(f"{cid}#{unit}", limit)]}
