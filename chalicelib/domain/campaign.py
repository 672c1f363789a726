"""A campaign is data: its units, respondent groups, questionnaires and phases.

The 2021 campaign has 63 units and 4 groups; a campaign with 34 units and no district level is
another data file, not a code change."""
from __future__ import annotations

import re
from datetime import date

from chalicelib.domain.phases import PHASES, resolve_bound
from chalicelib.domain.text import clean
from chalicelib.domain.timefmt import utc_iso
from chalicelib.errors import ValidationError

_CID = re.compile(r"^[a-z0-9][a-z0-9-]{1,31}$")
_UNIT = re.compile(r"^[A-Za-z0-9]{1,8}$")


def build(definition: dict, units: list[dict], today: date) -> dict:
    """Validate a campaign definition and resolve its phase bounds into instants.

    Returns {"id", "name", "year", "timezone", "groups", "questionnaires", "phases", "units"}."""
    errors: list[dict] = []

    def err(field: str, message: str) -> None:
        errors.append({"field": field, "message": message})

    cid = str(definition.get("id", ""))
    if not _CID.match(cid):
        err("id", "Mã đợt đánh giá chỉ gồm chữ thường không dấu, số và dấu gạch ngang (2–32 ký tự).")
    name = clean(definition.get("name"))
    if not name:
        err("name", "Thiếu tên đợt đánh giá.")
    tz = definition.get("timezone") or "Asia/Ho_Chi_Minh"

    groups = []
    for i, group in enumerate(definition.get("groups") or []):
        code, gname = str(group.get("code", "")).strip(), clean(group.get("name"))
        if not code or not gname:
            err(f"groups[{i}]", "Mỗi nhóm đối tượng cần có mã và tên.")
            continue
        groups.append({"code": code, "name": gname,
                       "questionnaires": list(group.get("questionnaires") or ["locality"]),
                       "priority": int(group.get("priority", 0))})
    if not groups:
        err("groups", "Đợt đánh giá cần ít nhất một nhóm đối tượng khảo sát.")
    if len({g["code"] for g in groups}) != len(groups):
        err("groups", "Mã nhóm đối tượng bị trùng.")

    phases = []
    for i, phase in enumerate(definition.get("phases") or []):
        code = phase.get("code")
        if code not in PHASES:
            err(f"phases[{i}].code", f"Giai đoạn không hợp lệ: {code!r}.")
            continue
        try:
            opens = resolve_bound(str(phase["opens"]), tz, closing=False, today=today)
            closes = resolve_bound(str(phase["closes"]), tz, closing=True, today=today)
        except (KeyError, ValueError):
            err(f"phases[{i}]", f"Thời gian mở/đóng của giai đoạn {code} không hợp lệ.")
            continue
        if closes <= opens:
            err(f"phases[{i}]", f"Giai đoạn {code} đóng trước khi mở.")
        phases.append({"code": code, "name": clean(phase.get("name")) or PHASES[code],
                       "opens_at": utc_iso(opens), "closes_at": utc_iso(closes),
                       "audience": "ministry" if phase.get("audience") == "ministry" else "all"})
    if len({p["code"] for p in phases}) != len(phases):
        err("phases", "Một giai đoạn được khai báo hai lần.")

    clean_units = []
    for i, unit in enumerate(units):
        code, uname = str(unit.get("code", "")).strip(), clean(unit.get("name"))
        if not _UNIT.match(code) or not uname:
            err(f"units[{i}]", "Mỗi đơn vị cần mã (chữ, số) và tên.")
            continue
        clean_units.append({"code": code, "name": uname,
                            "full_name": clean(unit.get("full_name")) or uname})
    if not clean_units:
        err("units", "Đợt đánh giá cần ít nhất một đơn vị.")
    if len({u["code"] for u in clean_units}) != len(clean_units):
        err("units", "Mã đơn vị bị trùng.")

    departments = []
    for i, dept in enumerate(definition.get("departments") or []):
        dept_name, ministry = clean(dept.get("name")), clean(dept.get("ministry"))
        if not dept_name or not ministry:
            err(f"departments[{i}]", "Mỗi sở, ngành cần có tên và bộ chủ quản.")
            continue
        departments.append({"name": dept_name, "ministry": ministry})
    exempt = [clean(m) for m in definition.get("ministry_exempt") or []]

    if errors:
        raise ValidationError("Dữ liệu đợt đánh giá không hợp lệ.", details=errors)
    return {"id": cid, "name": name, "year": int(definition.get("year") or today.year), "timezone": tz,
            "groups": groups, "questionnaires": definition.get("questionnaires") or {},
            "phases": phases, "units": clean_units, "departments": departments, "ministry_exempt": exempt,
            "reminder_days": sorted({int(d) for d in definition.get("reminder_days") or [] if int(d) >= 0},
                                    reverse=True)}
