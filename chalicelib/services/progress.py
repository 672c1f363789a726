"""Survey progress ("Chi tiết tiến độ khảo sát"): who has answered, never what.

A province's progress is one Query of its links plus its counters (kept on every state change, so a submit shows
within seconds); the ministry's national view reads every unit's counters in one batch."""
from __future__ import annotations

from datetime import datetime
from typing import Callable
from zoneinfo import ZoneInfo

from chalicelib.domain import links as rules
from chalicelib.domain.campaign import MINISTRY, PROVINCE
from chalicelib.domain.access import Actor, require_moha, require_unit
from chalicelib.domain.text import fold
from chalicelib.domain.timefmt import local_datetime, utc_iso
from chalicelib.errors import ValidationError
from chalicelib.store.campaigns import Campaign
from chalicelib.store.links import STATES, Link, MinistryCount, Stats
from chalicelib.store.stores import DYNAMODB, Stores

FILTER_STATES = ("not_sent", "sent", "opened", "submitted", "bounced", "pending")


def _rate(submitted: int, total: int) -> float:
    return round(100.0 * submitted / total, 1) if total else 0.0


def _counts(item: Stats | None) -> dict:
    """Counts by link state, except "opened": every form opened, answered ones included (so opened ≥ submitted,
    the one meaning on every page and workbook); "opened_unsent" is the forms opened and not yet answered."""
    values = {s: max(0, getattr(item, s)) if item else 0 for s in STATES}
    total = sum(values.values())
    return {**values, "opened": values["opened"] + values["submitted"], "opened_unsent": values["opened"],
            "total": total, "reminders": item.reminders if item else 0,
            "mailed": values["sent"] + values["opened"] + values["submitted"],
            "rate": _rate(values["submitted"], total)}


def _link_view(link: Link) -> dict:
    def at(value):
        return utc_iso(value) if value else None

    return {"purpose": link.purpose, "purpose_name": rules.PURPOSE_NAMES.get(link.purpose, link.purpose),
            "state": link.state, "state_name": rules.STATE_NAMES.get(link.state, link.state),
            "sent_at": at(link.sent_at), "sent_at_label": local_datetime(link.sent_at) if link.sent_at else None,
            "opened_at": at(link.opened_at), "submitted_at": at(link.submitted_at),
            "submitted_at_label": local_datetime(link.submitted_at) if link.submitted_at else None,
            "reminders": int(link.reminders or 0), "problem": link.problem, "delivery": link.delivery,
            "delivery_name": DELIVERY_NAMES.get(link.delivery or "")}


# the fate of a link's last mail, as SES's events told it (chalicelib/domain/delivery.link_change)
DELIVERY_NAMES = {"accepted": "Đã chuyển đi", "delivered": "Đã tới hộp thư", "delayed": "Đang bị chậm",
                  "retrying": "Sẽ gửi lại", "bounced": "Bị trả lại", "failed": "Không gửi được",
                  "complained": "Bị báo là thư rác"}


def _matches(person: dict, status: str | None) -> bool:
    states = {link["state"] for link in person["links"]}
    return {None: True, "not_sent": bool(states & {"issued", "failed"}), "sent": "sent" in states,
            "opened": "opened" in states, "submitted": states == {"submitted"}, "bounced": "bounced" in states,
            "pending": bool(states - {"submitted"})}[status]


def unit_progress(actor: Actor, cid: str, unit: str, *, group: str | None = None, status: str | None = None,
                  agency: str | None = None, search: str | None = None, limit: int | None = 50, offset: int = 0,
                  people: bool = True, stores: Stores = DYNAMODB) -> dict:
    """Totals per group and questionnaire, and a page of respondents with each link's status (`limit=None`:
    everyone, for exports)."""
    require_unit(actor, unit)
    if status and status not in FILTER_STATES:
        raise ValidationError(f"Trạng thái lọc không hợp lệ; chọn một trong: {', '.join(FILTER_STATES)}.",
                              details=[{"field": "status"}])
    campaign = stores.campaigns.get_campaign(cid)
    unit_item = stores.campaigns.get_unit(cid, unit)
    unit_key = f"{cid}#{unit}"
    stats = {s.key: s for s in stores.links.stats(unit_key)}
    groups = {g["code"]: g["name"] for g in campaign.groups}
    breakdown = []
    for g in campaign.groups:
        for purpose in g.get("questionnaires") or ["locality"]:
            counts = _counts(stats.get(f"{g['code']}#{purpose}"))
            if counts["total"]:
                breakdown.append({"group": g["code"], "group_name": g["name"], "purpose": purpose,
                                  "purpose_name": rules.PURPOSE_NAMES.get(purpose, purpose), **counts})
    result = {"campaign": cid, "unit": {"code": unit, "name": unit_item.name, "full_name": unit_item.full_name},
              "roster_status": unit_item.roster_status or "draft",
              "annulled": bool(unit_item.annulled_at), "totals": _counts(stats.get("all")), "by_group": breakdown}
    if not people:
        return result
    persons: dict[str, dict] = {}
    days: dict[str, int] = {}
    zone = ZoneInfo(campaign.timezone)
    for link in stores.links.unit_links(unit_key):  # one Query; answers are never read here
        if link.submitted_at:
            day = link.submitted_at.astimezone(zone).date().isoformat()
            days[day] = days.get(day, 0) + 1
        person = persons.get(link.rid)
        if person is None:
            person = persons[link.rid] = {"rid": link.rid, "order": int(link.rid.split("-", 1)[0]),
                                          "full_name": link.full_name, "position": link.position,
                                          "agency": link.agency, "group": link.group,
                                          "group_name": groups.get(link.group, link.group), "email": link.email,
                                          "links": []}
        person["links"].append(_link_view(link))
    wanted_agency = fold(agency) if agency else None
    wanted = fold(search) if search else None
    selected = [p for p in persons.values()
                if (not group or p["group"] == group) and _matches(p, status)
                and (not wanted_agency or wanted_agency in fold(p["agency"] or ""))
                and (not wanted or wanted in fold(f"{p['full_name']} {p['email']}"))]
    limit = max(1, min(limit, 500)) if limit is not None else max(1, len(selected))
    result.update({"by_day": [{"date": d, "label": f"{d[8:10]}/{d[5:7]}/{d[:4]}", "submitted": n}
                              for d, n in sorted(days.items())],
                   "people_total": len(persons), "matched": len(selected), "offset": offset, "limit": limit,
                   "people": selected[offset:offset + limit]})
    return result


def national(actor: Actor, cid: str, sort: str = "code", *, stores: Stores = DYNAMODB) -> dict:
    require_moha(actor)
    campaign = stores.campaigns.get_campaign(cid)
    units = stores.campaigns.list_units(cid, PROVINCE)
    stats = {s.unit_key: s for s in stores.links.totals_of([f"{cid}#{u.unit}" for u in units])}
    rows = []
    for u in units:
        counts = _counts(stats.get(f"{cid}#{u.unit}"))
        rows.append({"code": u.unit, "name": u.name, "roster_status": u.roster_status or "draft",
                     "roster_total": sum(int(v) for v in u.roster_counts.values()),
                     "annulled": bool(u.annulled_at), **counts})
    keys: dict[str, Callable] = {"code": lambda r: r["code"], "name": lambda r: fold(r["name"]),
                                 "rate": lambda r: (-r["rate"], r["code"]),
                                 "submitted": lambda r: (-r["submitted"], r["code"]),
                                 "bounced": lambda r: (-r["bounced"], r["code"])}
    if sort not in keys:
        raise ValidationError(f"Sắp xếp theo: {', '.join(keys)}.", details=[{"field": "sort"}])
    rows.sort(key=keys[sort])
    counted = [r for r in rows if not r["annulled"]]  # annulled results leave every aggregate
    totals = {s: sum(r[s] for r in counted) for s in (*STATES, "opened_unsent", "total", "reminders", "mailed")}
    totals["rate"] = _rate(totals["submitted"], totals["total"])
    # The mean of the units' rates over the units with data only (forms given out, results not annulled): a unit
    # not yet sent any form has no rate, not a rate of 0.
    with_data = [r["rate"] for r in counted if r["total"] > 0]
    average = {"rate": round(sum(with_data) / len(with_data), 1) if with_data else None, "units": len(with_data)}
    annulled = {u.unit for u in units if u.annulled_at}
    ministries = []
    for m in stores.campaigns.list_units(cid, MINISTRY):
        asked, answered = _ministry_totals(stores.links.ministry_counts(cid, m.unit), annulled)
        ministries.append({"code": m.unit, "name": m.name, "ranked": m.ranked, "asked": asked, "answered": answered,
                           "rate": _rate(answered, asked)})
    return {"campaign": cid, "name": campaign.name, "units": rows, "totals": totals, "average": average,
            "rosters_submitted": sum(1 for r in rows if r["roster_status"] == "submitted"), "ministries": ministries}


def _ministry_totals(counts: list[MinistryCount], annulled: set[str]) -> tuple[int, int]:
    """A ministry's managing-ministry forms asked and answered, annulled provinces left out (their results count
    in no aggregate)."""
    kept = [c for c in counts if c.province not in annulled]
    return sum(c.asked for c in kept), sum(c.answered for c in kept)


def _ministry_groups(campaign: Campaign) -> list[dict]:
    """The groups that answer the managing-ministry questionnaire."""
    return [g for g in campaign.groups if "ministry" in (g.get("questionnaires") or ["locality"])]


def ministry_survey(actor: Actor, cid: str, unit: str, *, stores: Stores = DYNAMODB) -> dict:
    """An assessed ministry's survey progress: how many provincial respondents were given the managing-ministry
    form about it and how many answered, per province and group. Counts only: never a name, an address or an
    answer. Annulled provinces are listed (flagged) and left out of the totals."""
    require_unit(actor, unit)
    campaign = stores.campaigns.get_campaign(cid)
    ministry = stores.campaigns.get_unit(cid, unit)
    provinces = {u.unit: u for u in stores.campaigns.list_units(cid, PROVINCE)}
    groups = _ministry_groups(campaign)
    by_province: dict[str, dict[str, MinistryCount]] = {}
    counts = stores.links.ministry_counts(cid, unit)
    for count in counts:
        by_province.setdefault(count.province, {})[count.group] = count
    rows = []
    for code in sorted(by_province):
        province = provinces.get(code)
        found = by_province[code]
        rows.append({"unit": code, "name": province.name if province else code,
                     "annulled": bool(province and province.annulled_at),
                     "asked": sum(c.asked for c in found.values()),
                     "answered": sum(c.answered for c in found.values()),
                     "groups": [{"group": g["code"], "name": g["name"],
                                 "asked": found[g["code"]].asked if g["code"] in found else 0,
                                 "answered": found[g["code"]].answered if g["code"] in found else 0}
                                for g in groups]})
    asked, answered = _ministry_totals(counts, {code for code, u in provinces.items() if u.annulled_at})
    return {"campaign": cid, "unit": ministry.unit, "name": ministry.name, "full_name": ministry.full_name,
            "asked": asked, "answered": answered, "rate": _rate(answered, asked), "provinces": rows}


def unit_export(actor: Actor, cid: str, unit: str, now: datetime, random_bytes: Callable[[int], bytes], *,
                stores: Stores = DYNAMODB) -> dict:
    from chalicelib.formats import progress_xlsx

    data = unit_progress(actor, cid, unit, limit=None, stores=stores)
    content = progress_xlsx.unit_workbook(data, local_datetime(now))
    name = f"tien-do-khao-sat-{cid}-{unit}.xlsx"
    return _link(f"exports/{cid}/{unit}/{utc_iso(now)}-{random_bytes(4).hex()}.xlsx", content, name, stores)


def national_export(actor: Actor, cid: str, now: datetime, random_bytes: Callable[[int], bytes], *,
                    stores: Stores = DYNAMODB) -> dict:
    from chalicelib.formats import progress_xlsx

    content = progress_xlsx.national_workbook(national(actor, cid, stores=stores), local_datetime(now))
    name = f"tien-do-khao-sat-{cid}-toan-quoc.xlsx"
    return _link(f"exports/{cid}/national/{utc_iso(now)}-{random_bytes(4).hex()}.xlsx", content, name, stores)


def _link(key: str, content: bytes, name: str, stores: Stores) -> dict:
    from chalicelib.formats.roster_xlsx import XLSX

    url = stores.files.put_export(key, content, XLSX, name, expires=900)
    return {"url": url, "filename": name, "size": len(content), "expires_in": 900}
