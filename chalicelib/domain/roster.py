"""Roster rules: the template's columns, one respondent per row, validation, deduplication and the
questionnaires each respondent must answer (the ministry's letter 23/BNV-CCHC).

Pure: rows come in as plain values (already read from the workbook), results go out as dicts."""
from __future__ import annotations

import difflib
import re
from msgspec import Struct, field

from chalicelib.domain.text import clean, email_problem, fold, normalise_email, normalise_phone

# key -> (the template's header, other headers clerks write for it, folded)
COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "stt": ("STT", ("stt", "so thu tu", "tt")),
    "full_name": ("Họ và tên", ("ho va ten", "ho ten", "ho va ten nguoi duoc khao sat")),
    "position": ("Chức vụ", ("chuc vu", "chuc danh", "chuc vu chuc danh")),
    "agency": ("Cơ quan, đơn vị công tác", ("co quan don vi cong tac", "co quan", "don vi cong tac",
                                             "co quan cong tac", "don vi", "co quan don vi")),
    "group": ("Nhóm đối tượng", ("nhom doi tuong", "nhom", "doi tuong", "nhom doi tuong khao sat")),
    "email": ("Email", ("email", "e mail", "dia chi email", "thu dien tu", "hop thu dien tu")),
    "phone": ("Số điện thoại", ("so dien thoai", "dien thoai", "sdt", "so dt", "dien thoai di dong")),
    "note": ("Ghi chú", ("ghi chu",)),
    "ministry": ("Bộ chủ quản", ("bo chu quan", "bo nganh chu quan", "bo quan ly")),
}
REQUIRED_COLUMNS = ("full_name", "position", "agency", "group", "email")
LIMITS = {"full_name": 100, "position": 150, "agency": 200, "note": 500, "ministry": 150}


def header_key(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", fold(text)).strip()


_ALIASES = {alias: key for key, (_, aliases) in COLUMNS.items() for alias in aliases}


def match_header(cells: list[object]) -> dict[str, int]:
    """Map column keys to positions for a candidate header row (case, accents' encoding, spacing and
    punctuation don't matter; a trailing note such as "(bắt buộc)" is ignored)."""
    found: dict[str, int] = {}
    for index, cell in enumerate(cells):
        key = header_key(str(cell or ""))
        key = re.sub(r"\s*(bat buoc|neu co|khong bat buoc|ghi ro.*|de trong.*)$", "", key).strip()
        column = _ALIASES.get(key)
        if column and column not in found:
            found[column] = index
    return found


def find_header(rows: list[list[object]]) -> tuple[int, dict[str, int]] | None:
    """The first row (0-based) among `rows` that has every required column, with its mapping."""
    for index, row in enumerate(rows):
        mapping = match_header(row)
        if all(key in mapping for key in REQUIRED_COLUMNS):
            return index, mapping
    return None


class Group(Struct, frozen=True):
    code: str
    name: str
    questionnaires: tuple[str, ...]
    priority: int = 0


def parse_group(value: object, groups: list[Group]) -> Group | None:
    """A group given by its number ("2", 2, 2.0), its name, or "2. Lãnh đạo cấp sở" / "2 - …"."""
    text = clean(value)
    if not text:
        return None
    number = re.match(r"^(\d+)(?:[.,]0+)?(?:\s*[.\-:)]\s*.*)?$", text)
    if number:
        for group in groups:
            if group.code == number.group(1):
                return group
    wanted = header_key(text)
    for group in groups:
        if header_key(group.name) == wanted:
            return group
    return None


# ---- managing ministry -----------------------------------------------------------------------------

_ABBREVIATIONS = {"ubnd": "uy ban nhan dan", "hdnd": "hoi dong nhan dan", "vp": "van phong",
                  "tp": "thanh pho", "so": "so"}


def _words(text: str, joiner: str) -> list[str]:
    folded = fold(text).replace("&", joiner)
    return [w for w in re.sub(r"[^a-z0-9 ]+", " " if joiner == " va " else "", folded).split() if w]


def ministry_unit_code(ministry: str | None, ministry_units: list[dict]) -> str | None:
    """The code of the campaign's ministry unit named `ministry` (case, accents' encoding and spacing do not
    matter), or None when that ministry is not assessed in the campaign."""
    if not ministry:
        return None
    wanted = header_key(ministry)
    for unit in ministry_units:
        if header_key(unit["name"]) == wanted or header_key(unit.get("full_name") or "") == wanted:
            return unit["code"]
    return None


class MinistryResolver:
    """Which ministry directs an agency, from the campaign's list of provincial departments, and which of the
    campaign's ministry units that is.

    Matches the department's name inside the agency text (so "Phòng Tổ chức, Sở Y tế tỉnh X" is Sở Y tế),
    tolerant of case, accents, "Sở" and abbreviations (UBND; acronyms such as GD&ĐT, SNV, Sở TN&MT).

    `ministry_units` are the campaign's units of kind "ministry" ({"code", "name"}). When there are some, a
    respondent evaluates their managing ministry only if it is one of them: a department whose ministry is not
    assessed that year (Văn phòng UBND → Văn phòng Chính phủ in 2021) answers no managing-ministry questionnaire.
    A campaign without ministry units keeps the questionnaire for every department, evaluating no unit."""

    def __init__(self, departments: list[dict], ministry_units: list[dict] | None = None):
        self.ministry_units = [u for u in ministry_units or [] if (u.get("kind") or "ministry") == "ministry"]
        self.ministries = sorted({d["ministry"] for d in departments} | {u["name"] for u in self.ministry_units})
        self._by_phrase: list[tuple[str, str]] = []
        self._by_acronym: dict[str, str] = {}
        for dept in departments:
            words = _words(dept["name"], " va ")
            if words and words[0] == "so":
                words = words[1:]
            if words and words[-1] == "tinh":
                words = words[:-1]
            self._by_phrase.append((" " + " ".join(words) + " ", dept["ministry"]))
            acronym = "".join(w[0] for w in words if w != "va")
            if len(acronym) >= 2:  # on a clash (Nội vụ / Ngoại vụ: "nv") the department listed first wins
                self._by_acronym.setdefault(acronym, dept["ministry"])
        self._ministry_keys = {header_key(m): m for m in self.ministries}
        for name in self.ministries:
            words = [w for w in header_key(name).split() if w != "va"]
            if words and words[0] == "bo":
                self._ministry_keys.setdefault("b" + "".join(w[0] for w in words[1:]), name)
        for unit in self.ministry_units:  # a unit's code ("BNV", "TTCP") names it too
            self._ministry_keys.setdefault(header_key(unit["code"]), unit["name"])

    @property
    def assesses_ministries(self) -> bool:
        """True when the campaign has ministry units (only their departments then evaluate a ministry)."""
        return bool(self.ministry_units)

    def unit_of(self, ministry: str | None) -> str | None:
        """The ministry unit a respondent managed by `ministry` evaluates; None when it is not assessed."""
        return ministry_unit_code(ministry, self.ministry_units)

    def from_agency(self, agency: str) -> tuple[str | None, list[str]]:
        """(ministry, []) when one ministry fits, (None, candidates) when several do, (None, []) when none."""
        words = []
        for w in _words(agency, " va "):
            words += _ABBREVIATIONS.get(w, w).split()
        text = " " + " ".join(words) + " "
        hits = {ministry for phrase, ministry in self._by_phrase if phrase in text}
        if not hits:
            tokens = _words(agency, "")
            for i, token in enumerate(tokens):
                previous = tokens[i - 1] if i else ""
                for acronym, ministry in self._by_acronym.items():
                    if token == "s" + acronym or (token == acronym and (previous == "so" or len(acronym) >= 3)):
                        hits.add(ministry)
        if len(hits) == 1:
            return hits.pop(), []
        return None, sorted(hits)

    def unknown_ministry(self, value: str) -> str:
        """The message for a managing ministry that is not accepted: the closest accepted names (spelling,
        accents and case aside), or every accepted name when none is close."""
        folded = {header_key(name): name for name in self.ministries}
        key = header_key(value)
        close = difflib.get_close_matches(key, list(folded), n=3, cutoff=0.6)
        if not close and not key.startswith("bo "):
            close = difflib.get_close_matches("bo " + key, list(folded), n=3, cutoff=0.6)
        names = [folded[k] for k in close]
        head = f"Bộ chủ quản “{value}” không có trong danh sách bộ, ngành."
        if names:
            return f"{head} Có phải: {', '.join(names)}?"
        return f"{head} Chọn một trong: {', '.join(self.ministries)}."

    def from_override(self, value: str) -> str | None:
        key = header_key(value)
        if key in self._ministry_keys:
            return self._ministry_keys[key]
        if not key.startswith("bo "):
            return self._ministry_keys.get("bo " + key)
        return None


# ---- rows ---------------------------------------------------------------------------------------------

class RowResult(Struct):
    """One validated row: `record` is None when the row has errors."""
    row: int
    record: dict | None
    errors: list[tuple[str, str]] = field(default_factory=list)


def validate_row(row: int, values: dict[str, object], groups: list[Group], resolver: MinistryResolver,
                 ministry_exempt: set[str] | None = None) -> RowResult:
    """Check one respondent; every problem is reported against its column with a Vietnamese reason.

    The record names the managing ministry (`ministry`, its name, and how it was found, `ministry_source`). In a
    campaign with ministry units it also names the unit the respondent evaluates (`ministry_unit`, a unit code, or
    None when they evaluate none), and the "ministry" questionnaire is in `questionnaires` only for a respondent
    who evaluates one; a campaign without ministry units gets records of the same shape as before units had
    kinds (no `ministry_unit`: read it as None)."""
    errors: list[tuple[str, str]] = []
    text = {key: clean(values.get(key)) for key in COLUMNS}
    for key, label in (("full_name", "Họ và tên"), ("position", "Chức vụ"), ("agency", "Cơ quan, đơn vị công tác")):
        if not text[key]:
            errors.append((key, f"Thiếu {label.lower()}."))
    for key, limit in LIMITS.items():
        if len(text[key]) > limit:
            errors.append((key, f"Dài quá {limit} ký tự."))
    if text["full_name"] and (re.search(r"\d", text["full_name"]) or not re.search(r"[^\W\d_]", text["full_name"])):
        errors.append(("full_name", "Họ và tên không được chứa chữ số."))
    group = parse_group(values.get("group"), groups)
    if group is None:
        choices = "; ".join(f"{g.code} – {g.name}" for g in groups)
        errors.append(("group", (f"Nhóm đối tượng “{text['group']}” không hợp lệ" if text["group"]
                                 else "Thiếu nhóm đối tượng") + f". Chọn một trong: {choices}."))
    email = normalise_email(text["email"])
    problem = email_problem(email)
    if problem:
        errors.append(("email", problem))
    phone = None
    if text["phone"]:
        phone = normalise_phone(values.get("phone"))
        if phone is None:
            errors.append(("phone", f"Số điện thoại “{text['phone']}” không hợp lệ (di động 10 số hoặc cố định "
                                    "11 số, bắt đầu bằng 0)."))
    questionnaires: list[str] = list(group.questionnaires) if group else []
    ministry, ministry_source, ministry_unit = None, None, None
    if group and "ministry" in questionnaires:
        ministry, ministry_source = _managing_ministry(text, resolver, errors)
        ministry_unit = resolver.unit_of(ministry)
        if ministry and (ministry in (ministry_exempt or set())
                         or (resolver.assesses_ministries and ministry_unit is None)):
            questionnaires = [q for q in questionnaires if q != "ministry"]
            ministry_unit = None
    else:
        questionnaires = [q for q in questionnaires if q != "ministry"]
    if errors:
        return RowResult(row, None, errors)
    assert group is not None  # a row without a valid group has an error and has returned above
    record = {
        "full_name": text["full_name"], "position": text["position"], "agency": text["agency"],
        "group": group.code, "email": email, "phone": phone, "note": text["note"] or None,
        "ministry": ministry, "ministry_source": ministry_source, "questionnaires": questionnaires, "row": row}
    if resolver.assesses_ministries:
        record["ministry_unit"] = ministry_unit
    return RowResult(row, record, [])


def _managing_ministry(text: dict[str, str], resolver: MinistryResolver,
                       errors: list[tuple[str, str]]) -> tuple[str | None, str | None]:
    """The respondent's managing ministry and how it was found: named in its column ("override"), else read from
    the agency's name ("agency"); a problem is added to `errors`."""
    ministry, ministry_source = None, None
    if text["ministry"]:
        ministry, ministry_source = resolver.from_override(text["ministry"]), "override"
        if ministry is None:
            errors.append(("ministry", resolver.unknown_ministry(text["ministry"])))
    elif text["agency"]:
        ministry, candidates = resolver.from_agency(text["agency"])
        ministry_source = "agency"
        if ministry is None:
            why = (f"khớp với nhiều bộ ({', '.join(candidates)})" if candidates
                   else "không nhận ra sở, ngành trong tên cơ quan")
            errors.append(("ministry", f"Không xác định được bộ chủ quản của “{text['agency']}” ({why}); "
                                       "ghi rõ ở cột Bộ chủ quản."))
    return ministry, ministry_source


class Dedup(Struct):
    kept: list[dict]
    errors: list[tuple[int, str, str]]  # (row, column, message)
    warnings: list[tuple[int, str, str]]


def deduplicate(records: list[dict], groups: list[Group]) -> Dedup:
    """One person (by e-mail) once per unit. The same person in a group with higher priority (the HĐND
    delegates in 2021) and another is kept in the higher one; an exact repeat is dropped with a warning;
    any other clash is an error naming both rows."""
    priority = {g.code: g.priority for g in groups}
    names = {g.code: g.name for g in groups}
    by_email: dict[str, dict] = {}
    errors, warnings = [], []
    for record in records:
        first = by_email.get(record["email"])
        if first is None:
            by_email[record["email"]] = record
            continue
        a, b = first, record
        same_person = fold(a["full_name"]) == fold(b["full_name"])
        if a["group"] == b["group"]:
            if same_person:
                warnings.append((b["row"], "email", f"Trùng với dòng {a['row']} (cùng người, cùng nhóm): "
                                                    f"đã bỏ dòng {b['row']}."))
            else:
                errors.append((b["row"], "email", f"Email “{b['email']}” đã dùng cho {a['full_name']} ở dòng "
                                                  f"{a['row']}; mỗi người một địa chỉ email riêng."))
            continue
        if same_person and priority.get(a["group"], 0) != priority.get(b["group"], 0):
            keep, drop = (a, b) if priority.get(a["group"], 0) > priority.get(b["group"], 0) else (b, a)
            by_email[record["email"]] = keep
            warnings.append((drop["row"], "group",
                             f"{drop['full_name']} có ở dòng {a['row']} và dòng {b['row']}; giữ vai trò "
                             f"“{names[keep['group']]}” (dòng {keep['row']}) theo hướng dẫn của Bộ Nội vụ."))
            continue
        errors.append((b["row"], "email",
                       f"Email “{b['email']}” xuất hiện ở dòng {a['row']} ({names.get(a['group'], a['group'])}) và "
                       f"dòng {b['row']} ({names.get(b['group'], b['group'])}); mỗi người chỉ thuộc một nhóm."))
    return Dedup(list(by_email.values()), errors, warnings)
