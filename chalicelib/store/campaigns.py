"""Campaigns and their units."""
from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import PutError, UpdateError

from chalicelib.errors import ConflictError, NotFoundError
from chalicelib.store.errors import condition_failed
from chalicelib.store.models import CampaignModel, UnitModel


def get_campaign(cid: str) -> CampaignModel:
    try:
        return CampaignModel.get("CAMPAIGN", cid)
    except CampaignModel.DoesNotExist:
        raise NotFoundError(f"Không tìm thấy đợt đánh giá “{cid}”.") from None


def find_campaign(cid: str) -> CampaignModel | None:
    try:
        return CampaignModel.get("CAMPAIGN", cid)
    except CampaignModel.DoesNotExist:
        return None


def list_campaigns() -> list[CampaignModel]:
    return list(CampaignModel.query("CAMPAIGN"))


def create_campaign(built: dict, now: datetime) -> CampaignModel:
    """Units first, then the campaign item, which is put only if absent: the campaign becomes visible
    once all its units exist, and two concurrent creations cannot both succeed."""
    if find_campaign(built["id"]):
        raise ConflictError(f"Đợt đánh giá “{built['id']}” đã tồn tại.")
    with UnitModel.batch_write() as batch:
        for unit in built["units"]:
            batch.save(UnitModel(cid=built["id"], unit=unit["code"], name=unit["name"],
                                 full_name=unit["full_name"]))
    item = CampaignModel(cid=built["id"], name=built["name"], year=built["year"], timezone=built["timezone"],
                         groups=built["groups"], questionnaires=built["questionnaires"],
                         phases=built["phases"], departments=built["departments"],
                         ministry_exempt=built["ministry_exempt"], reminder_days=built["reminder_days"],
                         grades=built["grades"], created_at=now)
    try:
        item.save()  # VersionAttribute makes the first save conditional on absence
    except PutError as exc:
        if condition_failed(exc):
            raise ConflictError(f"Đợt đánh giá “{built['id']}” đã tồn tại.") from None
        raise
    return item


def save_phases(campaign: CampaignModel, phases: list[dict]) -> None:
    """Optimistic: fails with 409 if someone changed the campaign since it was read."""
    campaign.phases = phases
    try:
        campaign.save()
    except PutError as exc:
        if condition_failed(exc):
            raise ConflictError("Đợt đánh giá vừa được người khác cập nhật. Vui lòng tải lại và thử lại.") from None
        raise


def mark_auto_reminder(cid: str, key: str) -> bool:
    """True only for the first caller: automatic reminders of one day start once (a concurrent change of the
    campaign also answers False; the next scheduler tick tries again)."""
    campaign = get_campaign(cid)  # updates carry the version condition of VersionAttribute
    try:
        campaign.update(
            actions=[CampaignModel.auto_reminders_done.add({key})],
            condition=CampaignModel.auto_reminders_done.does_not_exist() |
            ~CampaignModel.auto_reminders_done.contains(key))
        return True
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise


def list_units(cid: str) -> list[UnitModel]:
    return list(UnitModel.query(cid))


def get_unit(cid: str, unit: str) -> UnitModel:
    try:
        return UnitModel.get(cid, unit)
    except UnitModel.DoesNotExist:
        raise NotFoundError(f"Không tìm thấy đơn vị “{unit}” trong đợt đánh giá “{cid}”.") from None


def set_unit_extension(cid: str, unit: str, phase: str, closes_at: str) -> None:
    try:
        UnitModel(cid=cid, unit=unit).update(
            actions=[UnitModel.extensions[phase].set(closes_at), UnitModel.closed_marks[phase].remove()],
            condition=UnitModel.unit.exists())
    except UpdateError as exc:
        if condition_failed(exc):
            raise NotFoundError(f"Không tìm thấy đơn vị “{unit}”.") from None
        raise


def mark_closed(cid: str, unit: str, phase: str, closes_at: str) -> bool:
    """Record that the closing of `phase` at `closes_at` was announced to the unit; True only the first time."""
    try:
        UnitModel(cid=cid, unit=unit).update(
            actions=[UnitModel.closed_marks[phase].set(closes_at)],
            condition=UnitModel.unit.exists() & (UnitModel.closed_marks[phase] != closes_at))
        return True
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise


def put_focal_person(cid: str, unit: str, record: dict) -> None:
    try:
        UnitModel(cid=cid, unit=unit).update(actions=[UnitModel.focal_person.set(record)],
                                             condition=UnitModel.unit.exists())
    except UpdateError as exc:
        if condition_failed(exc):
            raise NotFoundError(f"Không tìm thấy đơn vị “{unit}”.") from None
        raise
