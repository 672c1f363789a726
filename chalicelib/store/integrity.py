"""Integrity scans, the data they read, and the annulment mark on a unit."""
from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import UpdateError

from chalicelib.store.audit import sort_key
from chalicelib.store.errors import condition_failed
from chalicelib.store.models import AuditModel, IntegrityModel, ResponseModel, UnitModel


def get(cid: str, unit: str) -> IntegrityModel | None:
    try:
        return IntegrityModel.get(cid, unit)
    except IntegrityModel.DoesNotExist:
        return None


def save(item: IntegrityModel) -> None:
    item.save()


def by_campaign(cid: str) -> list[IntegrityModel]:
    return list(IntegrityModel.query(cid))


def responses(unit_key: str) -> list[ResponseModel]:
    return list(ResponseModel.query(unit_key))


def login_addresses(unit: str, start: datetime, end: datetime) -> set[str]:
    """Addresses the province account logged in from (audit log, by unit)."""
    return {e.source_ip for e in AuditModel.by_unit.query(unit, AuditModel.sk.between(sort_key(start, ""),
                                                                                         sort_key(end, "~")),
                                                           filter_condition=AuditModel.action == "login")
            if e.source_ip}


def set_annulled(cid: str, unit: str, now: datetime, who: str, reason: str) -> bool:
    try:
        UnitModel(cid=cid, unit=unit).update(
            actions=[UnitModel.annulled_at.set(now), UnitModel.annulled_by.set(who), UnitModel.annul_reason.set(reason)],
            condition=UnitModel.unit.exists() & UnitModel.annulled_at.does_not_exist())
        return True
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise


def clear_annulled(cid: str, unit: str) -> bool:
    try:
        UnitModel(cid=cid, unit=unit).update(
            actions=[UnitModel.annulled_at.remove(), UnitModel.annulled_by.remove(), UnitModel.annul_reason.remove()],
            condition=UnitModel.annulled_at.exists())
        return True
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise
