"""A campaign is data: its units, respondent groups, questionnaires and phases.

The 2021 campaign has 63 provinces, 19 ministries and agencies and 4 groups; a campaign with 34 units and no
district level is another data file, not a code change."""
from __future__ import annotations

import re
from datetime import date
from typing import Callable
from zoneinfo import ZoneInfo

from chalicelib.domain.phases import PHASES, resolve_bound
from chalicelib.domain.phases import audience as phase_audience
from chalicelib.domain.text import clean, email_problem
from chalicelib.domain.timefmt import utc_iso
from chalicelib.errors import ValidationError

_CID = re.compile(r"^[a-z0-9][a-z0-9-]{1,31}$")
_UNIT = re.compile(r"^[A-Za-z0-9]{1,8}$")
DEFAULT_TZ = "Asia/Ho_Chi_Minh"

# Units are of two kinds: provinces (assessed by their own officials' survey and self-assessment) and ministries and
# ministerial-level agencies (assessed by their self-assessment and by the provincial departments they direct).
PROVINCE, MINISTRY = "province", "ministry"
UNIT_KINDS = (PROVINCE, MINISTRY)
# The questionnaire purpose whose answers measure each kind of unit.
PURPOSE_OF_KIND = {PROVINCE: "locality", MINISTRY: "ministry"}
# A province's code starts with a digit ("01" … "96") and a ministry's with a letter ("BNV", "TTCP"), so no code
# of one kind can ever be read as the other's, in any campaign.
_CODE_OF_KIND = {PROVINCE: re.compile(r"^[0-9]"), MINISTRY: re.compile(r"^[A-Za-z]")}
_CODE_RULE = {PROVINCE: "mã tỉnh, thành phố phải bắt đầu bằng chữ số (ví dụ 01).",
              MINISTRY: "mã bộ, ngành phải bắt đầu bằng chữ cái (ví dụ BNV)."}


def zone_name(value: object) -> str | None:
    """`value` when it names an IANA time zone, else None (a campaign's data comes from people and the API)."""
    if not isinstance(value, str) or not 0 < len(value) <= 64:
        return None
    try:
        ZoneInfo(value)
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError; paths are ValueErrors
        return None
    return value


def _entries(value: object, field: str, err) -> list[tuple[int, dict]]:
    """The objects of a list in the definition, each with its index; anything else is reported, not trusted."""
    if value is None:
        return []
    if not isinstance(value, list):
        err(field, "Phải là một danh sách.")
        return []
    out = []
    for i, item in enumerate(value):
        if isinstance(item, dict):
            out.append((i, item))
        else:
            err(f"{field}[{i}]", "Phải là một đối tượng.")
    return out


def _whole(value: object) -> int | None:
    """An integer given as a number or as digits, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e9:
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,9}", value.strip()):
        return int(value)
    return None


Err = Callable[[str, str], None]


def _groups(raw: object, err: Err) -> list[dict]:
    groups = []
    for i, group in _entries(raw, "groups", err):
        code, gname = str(group.get("code", "")).strip(), clean(group.get("name"))
        questionnaires, priority = group.get("questionnaires") or ["locality"], _whole(group.get("priority", 0))
        if not code or not gname:
            err(f"groups[{i}]", "Mỗi nhóm đối tượng cần có mã và tên.")
            continue
        if not isinstance(questionnaires, list) or not all(isinstance(q, str) for q in questionnaires) \
                or priority is None:
            err(f"groups[{i}]", "Danh sách phiếu (questionnaires) hoặc thứ tự ưu tiên (priority) không hợp lệ.")
            continue
        groups.append({"code": code, "name": gname, "questionnaires": list(questionnaires), "priority": priority})
    if not groups:
        err("groups", "Đợt đánh giá cần ít nhất một nhóm đối tượng khảo sát.")
    if len({g["code"] for g in groups}) != len(groups):
        err("groups", "Mã nhóm đối tượng bị trùng.")
    return groups


def _phases(raw: object, tz: str, today: date, err: Err) -> list[dict]:
    phases = []
    for i, phase in _entries(raw, "phases", err):
        code = phase.get("code")
        if not isinstance(code, str) or code not in PHASES:
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
        audience = phase_audience(code, phase.get("audience"))
        if audience is None:
            err(f"phases[{i}].audience", "Đối tượng của giai đoạn (audience) phải là “all” (mọi đơn vị), "
                                         "“province” (chỉ tỉnh, thành phố) hoặc “moha” (chỉ Bộ Nội vụ).")
            continue
        phases.append({"code": code, "name": clean(phase.get("name")) or PHASES[code],
                       "opens_at": utc_iso(opens), "closes_at": utc_iso(closes), "audience": audience})
    if len({p["code"] for p in phases}) != len(phases):
        err("phases", "Một giai đoạn được khai báo hai lần.")
    return phases


def _units(units: list[dict], err: Err) -> list[dict]:
    clean_units = []
    for i, unit in _entries(units, "units", err):
        code, uname = str(unit.get("code", "")).strip(), clean(unit.get("name"))
        kind, ranked = unit.get("kind") or PROVINCE, unit.get("ranked", True)
        if not _UNIT.match(code) or not uname:
            err(f"units[{i}]", "Mỗi đơn vị cần mã (chữ, số) và tên.")
            continue
        if kind not in UNIT_KINDS:
            err(f"units[{i}].kind", f"Loại đơn vị “{kind}” không hợp lệ: “province” (tỉnh, thành phố) hoặc "
                                    "“ministry” (bộ, cơ quan ngang bộ).")
            continue
        if not isinstance(ranked, bool):
            err(f"units[{i}].ranked", "Trường ranked (có xếp hạng hay không) phải là true hoặc false.")
            continue
        if not _CODE_OF_KIND[kind].match(code):
            err(f"units[{i}].code", f"Mã {code}: " + _CODE_RULE[kind])
            continue
        clean_units.append({"code": code, "name": uname,
                            "full_name": clean(unit.get("full_name")) or uname, "kind": kind, "ranked": ranked})
    if not any(u["kind"] == PROVINCE for u in clean_units):
        err("units", "Đợt đánh giá cần ít nhất một đơn vị (tỉnh, thành phố).")
    if len({u["code"] for u in clean_units}) != len(clean_units):
        err("units", "Mã đơn vị bị trùng.")
    return clean_units


def _departments(raw: object, err: Err) -> list[dict]:
    departments = []
    for i, dept in _entries(raw, "departments", err):
        dept_name, ministry = clean(dept.get("name")), clean(dept.get("ministry"))
        if not dept_name or not ministry:
            err(f"departments[{i}]", "Mỗi sở, ngành cần có tên và bộ chủ quản.")
            continue
        departments.append({"name": dept_name, "ministry": ministry})
    return departments


def _mail_guard(definition: dict, err: Err) -> dict | None:
    mail_guard = definition.get("mail_guard") or None
    if mail_guard is not None:
        from chalicelib.domain.delivery import Policy

        try:
            if not isinstance(mail_guard, dict):
                raise ValueError("not an object")
            Policy().with_campaign(mail_guard)
        except (ValueError, TypeError):
            err("mail_guard", "Ngưỡng tạm dừng gửi thư không hợp lệ: {\"unit_bounce_rate\": \"3%\", "
                "\"unit_min_mails\": 50}.")
    return mail_guard


def _settings(definition: dict, err: Err) -> dict:
    """The campaign's lists and numbers beside its groups, phases and units."""
    exempt_raw = definition.get("ministry_exempt") or []
    if not isinstance(exempt_raw, list):
        err("ministry_exempt", "Phải là một danh sách.")
        exempt_raw = []
    reminder_raw = definition.get("reminder_days") or []
    reminder_days = [_whole(d) for d in reminder_raw] if isinstance(reminder_raw, list) else [None]
    if any(d is None for d in reminder_days):
        err("reminder_days", "Số ngày nhắc trước hạn phải là các số nguyên.")
    questionnaires_map = definition.get("questionnaires") or {}
    if not isinstance(questionnaires_map, dict):
        err("questionnaires", "Phải là một đối tượng.")
    grades = _grades(definition.get("grades"), err)
    min_responses = _whole(definition.get("min_responses", DEFAULT_MIN_RESPONSES))
    if min_responses is None or min_responses < 1:
        err("min_responses", "Số phiếu trả lời tối thiểu của một đơn vị (min_responses) phải là số nguyên từ 1.")
    contact = _contact(definition.get("contact"), err)
    return {"questionnaires": questionnaires_map, "ministry_exempt": [clean(m) for m in exempt_raw],
            "reminder_days": sorted({d for d in reminder_days if d is not None and d >= 0}, reverse=True),
            "grades": grades, "min_responses": min_responses, "contact": contact,
            "mail_guard": _mail_guard(definition, err)}


def build(definition: dict, units: list[dict], today: date) -> dict:
    """Validate a campaign definition and resolve its phase bounds into instants.

    Returns {"id", "name", "year", "timezone", "groups", "questionnaires", "phases", "units", "departments",
    "ministry_exempt", "reminder_days", "grades", "min_responses", "contact"}; each unit is {"code", "name", "full_name", "kind", "ranked"}
    (kind "province" and ranked true where the definition says nothing). A campaign needs at least one province;
    its ministries are optional."""
    errors: list[dict] = []

    def err(field: str, message: str) -> None:
        errors.append({"field": field, "message": message})

    cid = str(definition.get("id", ""))
    if not _CID.match(cid):
        err("id", "Mã đợt đánh giá chỉ gồm chữ thường không dấu, số và dấu gạch ngang (2–32 ký tự).")
    name = clean(definition.get("name"))
    if not name:
        err("name", "Thiếu tên đợt đánh giá.")
    tz = zone_name(definition.get("timezone") or DEFAULT_TZ)
    if tz is None:
        err("timezone", "Múi giờ không hợp lệ (tên theo IANA, ví dụ Asia/Ho_Chi_Minh).")
        tz = DEFAULT_TZ
    year = _whole(definition.get("year") or today.year)
    if year is None or not 2000 <= year <= 2999:
        err("year", "Năm đánh giá không hợp lệ.")
    groups = _groups(definition.get("groups"), err)
    phases = _phases(definition.get("phases"), tz, today, err)
    clean_units = _units(units, err)
    departments = _departments(definition.get("departments"), err)
    settings = _settings(definition, err)
    if errors:
        raise ValidationError("Dữ liệu đợt đánh giá không hợp lệ.", details=errors)
    return {"id": cid, "name": name, "year": year, "timezone": tz, "groups": groups,
            "questionnaires": settings["questionnaires"], "phases": phases, "units": clean_units,
            "departments": departments, "ministry_exempt": settings["ministry_exempt"],
            "reminder_days": settings["reminder_days"], "grades": settings["grades"],
            "min_responses": settings["min_responses"], "contact": settings["contact"],
            "mail_guard": settings["mail_guard"]}


# Fewer survey answers than this from a unit: its survey points rest on too small a sample to mean anything.
DEFAULT_MIN_RESPONSES = 10
CONTACT_FIELDS = ("name", "phone", "email", "address")
DEFAULT_CONTACT = {"name": "Vụ Cải cách hành chính, Bộ Nội vụ"}


def _contact(value: object, err) -> dict:
    """The one contact respondents are given (invitation and survey pages): {"name", "phone"?, "email"?,
    "address"?}, the ministry's department when the definition names none."""
    if value is None:
        return dict(DEFAULT_CONTACT)
    if not isinstance(value, dict) or not all(isinstance(value.get(k, ""), str) for k in CONTACT_FIELDS):
        err("contact", "Đầu mối liên hệ (contact) phải là một đối tượng gồm name, phone, email, address (chuỗi).")
        return dict(DEFAULT_CONTACT)
    contact = {k: clean(value.get(k) or "") for k in CONTACT_FIELDS}
    if not contact["name"]:
        err("contact", "Đầu mối liên hệ (contact) cần có tên đơn vị (name).")
    if contact["email"] and email_problem(contact["email"]):
        err("contact", f"Email của đầu mối liên hệ “{contact['email']}” không hợp lệ.")
    return {k: v for k, v in contact.items() if v}


def contact_line(contact: dict | None) -> str:
    """The contact in one sentence: "Vụ Cải cách hành chính, Bộ Nội vụ; điện thoại: …; email: …; địa chỉ: …"."""
    contact = contact or DEFAULT_CONTACT
    parts = [contact.get("name") or DEFAULT_CONTACT["name"]]
    parts += [f"{label}: {contact[k]}" for k, label in (("phone", "điện thoại"), ("email", "email"),
                                                       ("address", "địa chỉ")) if contact.get(k)]
    return "; ".join(parts)

DEFAULT_GRADES = [{"code": "A", "name": "Nhóm A", "min": 90}, {"code": "B", "name": "Nhóm B", "min": 80},
                  {"code": "C", "name": "Nhóm C", "min": 0}]


def _grades(raw: object, err) -> list[dict]:
    """The index groups of the ranking (A ≥ 90, B 80–90, C < 80 unless the campaign says otherwise): highest
    minimum first, the last one starting at 0 so every index has a group."""
    if raw is None:
        return [dict(g) for g in DEFAULT_GRADES]
    grades = []
    if isinstance(raw, list):
        for i, grade in enumerate(raw):
            code = clean(grade.get("code")) if isinstance(grade, dict) else ""
            minimum = grade.get("min") if isinstance(grade, dict) else None
            if not code or isinstance(minimum, bool) or not isinstance(minimum, (int, float)) \
                    or not 0 <= minimum <= 100:
                err(f"grades[{i}]", "Mỗi nhóm xếp loại cần mã (A, B, …) và ngưỡng điểm tối thiểu từ 0 đến 100.")
                continue
            grades.append({"code": code, "name": clean(grade.get("name")) or f"Nhóm {code}", "min": minimum})
    grades.sort(key=lambda g: -float(g["min"]))
    if not grades or grades[-1]["min"] != 0 or len({g["min"] for g in grades}) != len(grades):
        err("grades", "Các nhóm xếp loại cần ngưỡng khác nhau và nhóm thấp nhất bắt đầu từ 0 điểm.")
    return grades


def units_of(units: list[dict], kind: str) -> list[dict]:
    """The units of one kind, in their order (a unit stored before units had kinds is a province)."""
    return [u for u in units if (u.get("kind") or PROVINCE) == kind]
