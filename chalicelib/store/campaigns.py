"""Campaigns and their units, handed out as plain, frozen records.

`CampaignsStore` is the contract services rely on; this module's functions are its DynamoDB implementation (the
module itself is the object: `chalicelib/store/stores.py` wires it), `chalicelib/store/memory.py` its in-memory one,
and `tests/unit/test_store_contract.py` runs the same cases against both."""
from __future__ import annotations

from msgspec import Struct
from datetime import datetime
from typing import Protocol

from pynamodb.exceptions import PutError, UpdateError

from chalicelib.errors import ConflictError, NotFoundError
from chalicelib.store.errors import condition_failed
from chalicelib.store.models import CampaignModel, UnitModel


class Campaign(Struct, frozen=True):
    cid: str
    name: str
    year: int
    timezone: str
    groups: list[dict]
    questionnaires: dict[str, str]
    phases: list[dict]  # [{"code","name","opens_at","closes_at","extended"?,"audience"?}] in campaign order
    departments: list[dict]
    ministry_exempt: list[str]
    reminder_days: list[int]
    auto_reminders_done: frozenset[str] | None
    grades: list[dict] | None
    created_at: datetime
    version: int  # what an optimistic write of the campaign checks
    min_responses: int | None = None  # fewer survey answers than this: too small a sample to mean anything
    contact: dict | None = None  # where respondents get help: {"name", "phone"?, "email"?, "address"?}
    mail_guard: dict | None = None  # {"unit_bounce_rate", "unit_min_mails"}: when a unit's sending pauses


class Unit(Struct, frozen=True):
    cid: str
    unit: str
    name: str
    full_name: str
    kind: str  # "province" | "ministry"
    ranked: bool
    focal_person: dict | None
    extensions: dict[str, str]  # phase code -> ISO close instant for this unit only
    closed_marks: dict[str, str]  # phase code -> ISO close instant already announced
    roster_gen: str | None
    roster_version: int
    roster_status: str
    roster_counts: dict[str, int]  # group code -> respondents
    roster_seq: int
    roster_pending: frozenset[str] | None
    dispatch_lease: datetime | None
    dispatch_notified: str | None
    dispatch_done: frozenset[str] | None
    annulled_at: datetime | None
    annulled_by: str | None
    annul_reason: str | None
    roster_updated_at: datetime | None
    roster_submitted_at: datetime | None
    roster_submitted_by: str | None
    roster_snapshot: str | None


class CampaignsStore(Protocol):
    """Campaigns and their units, with the conditions every implementation keeps:
    - a campaign id is created once: a second `create_campaign` raises ConflictError and leaves the first as it was;
      its units are written before the campaign, so a campaign that can be found has all its units; a new campaign
      is at version 1, its units fresh (draft roster, no focal person, no extension, no closing announced);
    - `get_campaign` and `get_unit` raise NotFoundError where `find_campaign` and `find_unit` answer None;
      `list_campaigns` answers every campaign by id, `list_units` a campaign's units by code (only those of `kind`
      when given);
    - `save_phases` writes only over the version read (a campaign changed since, or absent, raises ConflictError
      and keeps what it had) and moves the version on;
    - `mark_auto_reminder` answers True to the first caller of a key only (an unknown campaign: NotFoundError);
    - a unit's extension, closing announcement and focal person are written only on an existing unit
      (`set_unit_extension` and `put_focal_person` raise NotFoundError, `mark_closed` answers False); an extension
      re-arms the phase's closing announcement; `mark_closed` answers True once per close instant."""

    def get_campaign(self, cid: str) -> Campaign: ...

    def find_campaign(self, cid: str) -> Campaign | None: ...

    def list_campaigns(self) -> list[Campaign]: ...

    def create_campaign(self, built: dict, now: datetime) -> Campaign: ...

    def save_phases(self, campaign: Campaign, phases: list[dict]) -> None: ...

    def mark_auto_reminder(self, cid: str, key: str) -> bool: ...

    def list_units(self, cid: str, kind: str | None = None) -> list[Unit]: ...

    def find_unit(self, cid: str, unit: str) -> Unit | None: ...

    def get_unit(self, cid: str, unit: str) -> Unit: ...

    def set_unit_extension(self, cid: str, unit: str, phase: str, closes_at: str) -> None: ...

    def mark_closed(self, cid: str, unit: str, phase: str, closes_at: str) -> bool: ...

    def put_focal_person(self, cid: str, unit: str, record: dict) -> None: ...


def _frozen(value: set[str] | None) -> frozenset[str] | None:
    return frozenset(value) if value is not None else None


def campaign_of(item: CampaignModel) -> Campaign:
    """The plain record of a stored campaign."""
    return Campaign(cid=item.cid, name=item.name, year=int(item.year), timezone=item.timezone, groups=item.groups,
                    questionnaires=item.questionnaires or {}, phases=item.phases, departments=item.departments or [],
                    ministry_exempt=item.ministry_exempt or [], reminder_days=item.reminder_days or [],
                    auto_reminders_done=_frozen(item.auto_reminders_done), grades=item.grades,
                    created_at=item.created_at, version=int(item.version or 0),
                    min_responses=int(item.min_responses) if item.min_responses is not None else None,
                    contact=item.contact, mail_guard=item.mail_guard)


def unit_of(item: UnitModel) -> Unit:
    """The plain record of a stored unit."""
    return Unit(cid=item.cid, unit=item.unit, name=item.name, full_name=item.full_name,
                kind=item.kind or "province", ranked=item.ranked is not False,
                focal_person=item.focal_person, extensions=dict(item.extensions.as_dict()),
                closed_marks=dict(item.closed_marks.as_dict()), roster_gen=item.roster_gen,
                roster_version=int(item.roster_version or 0), roster_status=item.roster_status or "draft",
                roster_counts=dict(item.roster_counts.as_dict()), roster_seq=int(item.roster_seq or 0),
                roster_pending=_frozen(item.roster_pending), dispatch_lease=item.dispatch_lease,
                dispatch_notified=item.dispatch_notified, dispatch_done=_frozen(item.dispatch_done),
                annulled_at=item.annulled_at, annulled_by=item.annulled_by, annul_reason=item.annul_reason,
                roster_updated_at=item.roster_updated_at, roster_submitted_at=item.roster_submitted_at,
                roster_submitted_by=item.roster_submitted_by, roster_snapshot=item.roster_snapshot)


def get_campaign(cid: str) -> Campaign:
    found = find_campaign(cid)
    if found is None:
        raise NotFoundError(f"Không tìm thấy đợt đánh giá “{cid}”.")
    return found


def find_campaign(cid: str) -> Campaign | None:
    try:
        return campaign_of(CampaignModel.get("CAMPAIGN", cid))
    except CampaignModel.DoesNotExist:
        return None


def list_campaigns() -> list[Campaign]:
    return [campaign_of(item) for item in CampaignModel.query("CAMPAIGN")]


def create_campaign(built: dict, now: datetime) -> Campaign:
    """Units first, then the campaign item, which is put only if absent: the campaign becomes visible
    once all its units exist, and two concurrent creations cannot both succeed."""
    # a campaign id is created once: the conditional put below guarantees it; this read spares rewriting the units
    # of a campaign that exists
    if find_campaign(built["id"]):
        raise ConflictError(f"Đợt đánh giá “{built['id']}” đã tồn tại.")
    with UnitModel.batch_write() as batch:
        for unit in built["units"]:
            batch.save(UnitModel(cid=built["id"], unit=unit["code"], name=unit["name"],
                                 full_name=unit["full_name"], kind=unit.get("kind") or "province",
                                 ranked=unit.get("ranked", True) is not False))
    item = CampaignModel(cid=built["id"], name=built["name"], year=built["year"], timezone=built["timezone"],
                         groups=built["groups"], questionnaires=built["questionnaires"],
                         phases=built["phases"], departments=built["departments"],
                         ministry_exempt=built["ministry_exempt"], reminder_days=built["reminder_days"],
                         grades=built["grades"], min_responses=built.get("min_responses"),
                         contact=built.get("contact"), mail_guard=built.get("mail_guard"), created_at=now)
    try:
        # a campaign id is created once: VersionAttribute makes this first save conditional on the item's absence
        item.save()
    except PutError as exc:
        if condition_failed(exc):
            raise ConflictError(f"Đợt đánh giá “{built['id']}” đã tồn tại.") from None
        raise
    return campaign_of(item)


def save_phases(campaign: Campaign, phases: list[dict]) -> None:
    """Optimistic: fails with 409 if someone changed the campaign since `campaign` was read."""
    item = CampaignModel(cid=campaign.cid, version=campaign.version)
    try:
        # no lost update: VersionAttribute adds "version is still the one read" and bumps it
        item.update(actions=[CampaignModel.phases.set(phases)])
    except UpdateError as exc:
        if condition_failed(exc):
            raise ConflictError("Đợt đánh giá vừa được người khác cập nhật. Vui lòng tải lại và thử lại.") from None
        raise


def mark_auto_reminder(cid: str, key: str) -> bool:
    """True only for the first caller: automatic reminders of one day start once (a concurrent change of the
    campaign also answers False; the next scheduler tick tries again)."""
    campaign = get_campaign(cid)
    try:
        # the reminders of one deadline day start once; VersionAttribute adds "campaign unchanged since read"
        CampaignModel(cid=cid, version=campaign.version).update(
            actions=[CampaignModel.auto_reminders_done.add({key})],
            condition=CampaignModel.auto_reminders_done.does_not_exist() |
            ~CampaignModel.auto_reminders_done.contains(key))
        return True
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise


def list_units(cid: str, kind: str | None = None) -> list[Unit]:
    """The campaign's units, or only those of `kind` ("province" | "ministry")."""
    return [u for u in (unit_of(item) for item in UnitModel.query(cid)) if kind is None or u.kind == kind]


def find_unit(cid: str, unit: str) -> Unit | None:
    try:
        return unit_of(UnitModel.get(cid, unit))
    except UnitModel.DoesNotExist:
        return None


def get_unit(cid: str, unit: str) -> Unit:
    found = find_unit(cid, unit)
    if found is None:
        raise NotFoundError(f"Không tìm thấy đơn vị “{unit}” trong đợt đánh giá “{cid}”.")
    return found


def set_unit_extension(cid: str, unit: str, phase: str, closes_at: str) -> None:
    """Extend `phase` for one unit to `closes_at`, re-arming its closing announcement."""
    try:
        UnitModel(cid=cid, unit=unit).update(
            actions=[UnitModel.extensions[phase].set(closes_at), UnitModel.closed_marks[phase].remove()],
            condition=UnitModel.unit.exists())  # only a unit of the campaign is extended (no stray item created)
    except UpdateError as exc:
        if condition_failed(exc):
            raise NotFoundError(f"Không tìm thấy đơn vị “{unit}”.") from None
        raise


def mark_closed(cid: str, unit: str, phase: str, closes_at: str) -> bool:
    """Record that the closing of `phase` at `closes_at` was announced to the unit; True only the first time."""
    try:
        UnitModel(cid=cid, unit=unit).update(
            actions=[UnitModel.closed_marks[phase].set(closes_at)],
            # a closing is announced once per close instant, and only to an existing unit
            condition=UnitModel.unit.exists() & (UnitModel.closed_marks[phase] != closes_at))
        return True
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise


def put_focal_person(cid: str, unit: str, record: dict) -> None:
    try:
        UnitModel(cid=cid, unit=unit).update(actions=[UnitModel.focal_person.set(record)],
                                             condition=UnitModel.unit.exists())  # only a unit of the campaign
    except UpdateError as exc:
        if condition_failed(exc):
            raise NotFoundError(f"Không tìm thấy đơn vị “{unit}”.") from None
        raise
