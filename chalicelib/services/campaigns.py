"""Campaigns, their phases and deadlines, and the scheduled closing of phases."""
from __future__ import annotations

from datetime import datetime
from typing import Callable
from zoneinfo import ZoneInfo

from chalicelib.domain import campaign as campaign_rules
from chalicelib.domain import phases as phase_rules
from chalicelib.domain.access import SYSTEM, SYSTEM_MOHA, Actor, require_moha, require_unit
from chalicelib.domain.text import clean
from chalicelib.domain.timefmt import utc_iso
from chalicelib.errors import NotFoundError, ValidationError
from chalicelib.formats import datafiles
from chalicelib.services import assessment, audit, questionnaires, roster
from chalicelib.services.phases import phase_windows
from chalicelib.store.campaigns import Campaign, Unit
from chalicelib.store.stores import DYNAMODB, Stores


def create(actor: Actor, definition: dict, now: datetime, random_bytes: Callable[[int], bytes], *,
           stores: Stores = DYNAMODB) -> dict:
    """The ministry creates a campaign from its data (units, groups, questionnaires, phases)."""
    require_moha(actor)
    units = definition.get("units")
    if not isinstance(units, list):
        raise ValidationError("Thiếu danh sách đơn vị (units).", details=[{"field": "units"}])
    zone = campaign_rules.zone_name(definition.get("timezone")) or campaign_rules.DEFAULT_TZ  # build() reports it
    built = campaign_rules.build(definition, units, now.astimezone(ZoneInfo(zone)).date())
    item = stores.campaigns.create_campaign(built, now)
    audit.record(actor, "campaign_created", now, target=built["id"], cid=built["id"],
                 details={"units": len(built["units"])}, suffix=random_bytes(4).hex(), stores=stores)
    return summary(item, now)


def create_from_files(name: str, now: datetime, random_bytes: Callable[[int], bytes], *,
                      stores: Stores = DYNAMODB) -> dict | None:
    """Seed a shipped campaign if it is not there yet; None when it already exists."""
    definition, units = datafiles.load_campaign(name, datafiles.UNIT_KINDS)
    # Sample questionnaires first (validated, put only where absent): a campaign seeded before it had them gets them.
    questionnaires.seed(definition, datafiles.load_questionnaires(definition), now, stores=stores)
    # each kind of unit the campaign has gets its sample framework (the ministries' only where it assesses ministries)
    assessment.seed(definition, now, tuple({u.get("kind") or campaign_rules.PROVINCE for u in units
                                            if isinstance(u, dict)}), stores=stores)
    if stores.campaigns.find_campaign(definition["id"]):
        return None
    return create(SYSTEM_MOHA, {**definition, "units": units}, now, random_bytes, stores=stores)


def summary(campaign: Campaign, now: datetime, unit: Unit | None = None) -> dict:
    """A unit (`unit` given) is shown only the phases that concern its kind: not the organiser's own (appraisal),
    and to an assessed ministry not the provinces' own (focal person, roster, survey)."""
    hidden = {p["code"] for p in campaign.phases if not phase_rules.concerns(p, unit.kind)} if unit else set()
    return {"id": campaign.cid, "name": campaign.name, "year": int(campaign.year), "timezone": campaign.timezone,
            "phases": [w.to_dict(now, campaign.timezone) for code, w in phase_windows(campaign, unit).items()
                       if code not in hidden]}


def list_for(actor: Actor, now: datetime, *, stores: Stores = DYNAMODB) -> dict:
    items = []
    for campaign in stores.campaigns.list_campaigns():
        unit = None
        if not actor.is_moha:
            try:
                unit = stores.campaigns.get_unit(campaign.cid, actor.unit or "")
            except NotFoundError:
                continue  # a province sees only the campaigns it takes part in
        items.append(summary(campaign, now, unit))
    items.sort(key=lambda c: (-c["year"], c["id"]))
    return {"items": items}


def detail(actor: Actor, cid: str, now: datetime, *, stores: Stores = DYNAMODB) -> dict:
    campaign = stores.campaigns.get_campaign(cid)
    if actor.is_moha:
        units = stores.campaigns.list_units(cid)
        own = None
    else:
        own = stores.campaigns.get_unit(cid, actor.unit or "")
        units = [own]
    result = summary(campaign, now, own)
    result["groups"] = campaign.groups
    result["questionnaires"] = campaign.questionnaires
    # the managing ministries a roster row may name (the roster dialog's choices, the template's drop-down)
    result["ministries"] = roster.accepted_ministries(campaign, stores=stores)
    result["units"] = [unit_dict(u, campaign, now) for u in units]
    return result


def unit_dict(unit: Unit, campaign: Campaign, now: datetime) -> dict:
    extensions = unit.extensions
    return {"code": unit.unit, "name": unit.name, "full_name": unit.full_name, "kind": unit.kind, "ranked": unit.ranked,
            "focal_person_set": bool(unit.focal_person),
            "roster_status": unit.roster_status or "draft",
            "roster_total": sum(int(v) for v in unit.roster_counts.values()),
            "roster_submitted_at": utc_iso(unit.roster_submitted_at) if unit.roster_submitted_at else None,
            "extensions": [w.to_dict(now, campaign.timezone) for code, w in phase_windows(campaign, unit).items()
                           if code in extensions and w.extended]}


def _bound(value: object, field: str, tz: str, closing: bool) -> datetime:
    try:
        return phase_rules.resolve_bound(str(value), tz, closing=closing)
    except (ValueError, TypeError):
        raise ValidationError("Thời hạn không hợp lệ: dùng ngày YYYY-MM-DD hoặc thời điểm ISO 8601.",
                              details=[{"field": field}]) from None


def change_phase(actor: Actor, cid: str, phase: str, body: dict, now: datetime,
                 random_bytes: Callable[[int], bytes], *, stores: Stores = DYNAMODB) -> dict:
    """The ministry moves a phase's close (and optionally open) for everyone, or extends it for one unit.

    A date closes at the end of that day, local time. A unit's extension must end after the common close."""
    require_moha(actor)
    campaign = stores.campaigns.get_campaign(cid)
    tz = campaign.timezone
    if phase not in {p["code"] for p in campaign.phases}:
        raise NotFoundError(f"Đợt đánh giá này không có giai đoạn “{phase}”.")
    reason = clean(body.get("reason"))
    if not reason:
        raise ValidationError("Vui lòng nêu lý do điều chỉnh thời hạn.", details=[{"field": "reason"}])
    if len(reason) > 500:
        raise ValidationError("Lý do dài tối đa 500 ký tự.", details=[{"field": "reason"}])
    if "closes" not in body:
        raise ValidationError("Thiếu thời hạn mới (closes).", details=[{"field": "closes"}])
    closes = _bound(body["closes"], "closes", tz, closing=True)
    common = phase_rules.windows(campaign.phases)[phase]
    unit_code = body.get("unit")
    suffix = random_bytes(4).hex()
    if unit_code:
        unit = stores.campaigns.get_unit(cid, str(unit_code))
        if not phase_rules.concerns(next(p for p in campaign.phases if p["code"] == phase), unit.kind):
            raise ValidationError(f"Giai đoạn “{common.name}” không áp dụng cho {unit.name}.",
                                  details=[{"field": "unit"}])
        if closes <= common.closes_at:
            raise ValidationError("Thời hạn gia hạn cho đơn vị phải sau thời hạn chung của giai đoạn.",
                                  details=[{"field": "closes"}])
        stores.campaigns.set_unit_extension(cid, unit.unit, phase, utc_iso(closes))
        targets = [unit.unit]
        window = phase_windows(campaign, stores.campaigns.get_unit(cid, unit.unit))[phase]
    else:
        opens = _bound(body["opens"], "opens", tz, closing=False) if body.get("opens") else common.opens_at
        if closes <= opens:
            raise ValidationError("Thời hạn đóng phải sau thời điểm mở.", details=[{"field": "closes"}])
        phases = [dict(p, opens_at=utc_iso(opens), closes_at=utc_iso(closes), extended=closes > common.closes_at)
                  if p["code"] == phase else p for p in campaign.phases]
        stores.campaigns.save_phases(campaign, phases)
        concerned = next(p for p in campaign.phases if p["code"] == phase)
        targets = [u.unit for u in stores.campaigns.list_units(cid) if phase_rules.concerns(concerned, u.kind)]
        window = phase_rules.windows(phases)[phase]
    info = window.to_dict(now, tz)
    audit.record(actor, "phase_changed", now, target=phase, cid=cid, unit=unit_code,
                 details={"closes_at": info["closes_at"], "reason": reason}, suffix=suffix, stores=stores)
    audit.notify(cid, targets, now, "phase_changed", f"Điều chỉnh thời hạn: {window.name}",
                 f"Bộ Nội vụ điều chỉnh thời hạn “{window.name}” đến {info['deadline_label']}. Lý do: {reason}",
                 suffix, stores=stores)
    return {"campaign": cid, "unit": unit_code, "phase": info}


def close_due_phases(now: datetime, random_bytes: Callable[[int], bytes],
                     locked: frozenset[tuple[str, str]] = frozenset(), *, stores: Stores = DYNAMODB) -> int:
    """Scheduled: for every unit whose phase has passed its deadline, announce the closing once
    (notification + audit). Re-running is harmless; an extension re-arms the announcement. `locked`: the
    (campaign, unit) pairs whose self-assessment was just locked at its deadline, which the notice mentions."""
    announced = 0
    for campaign in stores.campaigns.list_campaigns():
        for unit in stores.campaigns.list_units(campaign.cid):
            concerned = {p["code"] for p in campaign.phases if phase_rules.concerns(p, unit.kind)}
            for code, window in phase_windows(campaign, unit).items():
                closes = utc_iso(window.closes_at)
                if code not in concerned or window.state(now) != "closed" or unit.closed_marks.get(code) == closes:
                    continue
                if not stores.campaigns.mark_closed(campaign.cid, unit.unit, code, closes):
                    continue
                suffix = random_bytes(4).hex()
                info = window.to_dict(now, campaign.timezone)
                message = (f"Giai đoạn “{window.name}” đã kết thúc ({info['deadline_label']}); "
                           "phần mềm đã tự động khóa chức năng này.")
                if code == assessment.PHASE and (campaign.cid, unit.unit) in locked:
                    message += (" Bản tự đánh giá chưa được phê duyệt đã được khóa với các điểm đã nhập và "
                                "chuyển Bộ Nội vụ thẩm định.")
                audit.notify(campaign.cid, [unit.unit], now, "phase_closed", f"Đã khóa: {window.name}", message,
                             suffix, stores=stores)
                audit.record(SYSTEM, "phase_closed", now, target=code, cid=campaign.cid, unit=unit.unit,
                             details={"closes_at": closes}, suffix=suffix, stores=stores)
                announced += 1
    return announced


def unit_access(actor: Actor, cid: str, unit: str, *, stores: Stores = DYNAMODB) -> Unit:
    require_unit(actor, unit)
    return stores.campaigns.get_unit(cid, unit)
