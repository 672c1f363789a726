"""The scoring framework as data: fields (lĩnh vực) → criteria (tiêu chí) → sub-criteria (tiêu chí
thành phần), each with a code, a Vietnamese name and a maximum; every leaf has a scoring method:

- ``self``: the assessed unit (a province, or a ministry) scores itself (with evidence) and the Ministry of Home
  Affairs appraises (tự chấm, thẩm định);
- ``survey``: measured by the survey of leaders and managers (điều tra xã hội học), from the answers;
- ``imported``: taken from outside the platform (SIPAS satisfaction index, socio-economic impact), entered by the
  ministry.

A definition is plain JSON:

    {"title", "sample", "maximum", "kind": "province" | "ministry" (optional: the kind of unit it is for),
     "survey_average": "groups" | "respondents",
     "fields": [{"code": "1", "name", "max", "guidance",
                 "criteria": [{"code": "1.1", "name", "max", "method", "step", "guidance",
                               "criteria": [...sub-criteria, same shape, no deeper...]}]}]}

Rules an import must meet: a title; codes unique, shaped "1", "1.2", "1.2.3" and nested under their parent's
code; a parent's maximum equals the sum of its children's; the fields add up to the declared maximum; every leaf
has a method and a positive maximum that is a multiple of its step; every criterion that a scored question of
the questionnaires measuring that kind of unit names is a survey leaf. A campaign has one framework per unit kind
(the provinces', and the ministries' where it assesses ministries). Pure: no I/O; errors are `ValidationError`s
whose details name the code and the field.
"""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from chalicelib.domain.campaign import MINISTRY, PROVINCE, PURPOSE_OF_KIND, UNIT_KINDS
from chalicelib.domain.questionnaire import parse_qid, questions
from chalicelib.domain.text import clean, fold
from chalicelib.errors import ValidationError

KIND_NAMES = {PROVINCE: "các tỉnh, thành phố", MINISTRY: "các bộ, cơ quan ngang bộ"}

METHODS = ("self", "survey", "imported")
METHOD_LABELS = {"self": "Tự chấm, thẩm định", "survey": "Điều tra xã hội học",
                 "imported": "Nguồn khác (SIPAS, tác động KT-XH…)"}
_METHOD_ALIASES = {
    "self": "self", "tu cham": "self", "tu danh gia": "self", "tu cham, tham dinh": "self", "tham dinh": "self",
    "tu cham diem": "self",
    "survey": "survey", "dieu tra": "survey", "dieu tra xhh": "survey", "dieu tra xa hoi hoc": "survey",
    "khao sat": "survey",
    "imported": "imported", "nguon khac": "imported", "nhap": "imported", "sipas": "imported",
    "kt-xh": "imported", "ktxh": "imported", "tac dong kt-xh": "imported", "nhap tu nguon khac": "imported",
}
LEVELS = ("field", "criterion", "subcriterion")
AVERAGES = ("groups", "respondents")
DEFAULT_STEP = Decimal("0.25")
MAX_NODES = 400
MAX_NAME = 500
MAX_GUIDANCE = 3000
MAX_TITLE = 300
MAX_ERRORS = 200
CODE = re.compile(r"^\d{1,2}(\.\d{1,2}){0,2}$")


def parse_method(value: object) -> str | None:
    folded = fold(clean(value)).strip(" .")
    if folded in _METHOD_ALIASES:
        return _METHOD_ALIASES[folded]
    for key, method in _METHOD_ALIASES.items():
        if len(key) > 4 and folded.startswith(key):
            return method
    return None


def decimal(value: object) -> Decimal | None:
    """A number from JSON or a cell ("1,5" with a decimal comma too); None when it is not one."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        text = repr(value) if isinstance(value, float) else str(value)
    else:
        text = clean(value).replace(",", ".")
    try:
        number = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def number(value: Decimal) -> int | float:
    """JSON form of a score: an int when whole, else a float rounded to 4 places."""
    value = value.quantize(Decimal("0.0001")).normalize() if value != value.to_integral_value() else value
    return int(value) if value == value.to_integral_value() else float(value)


def is_multiple(value: Decimal, step: Decimal) -> bool:
    return step > 0 and (value % step) == 0


class _Errors:
    def __init__(self) -> None:
        self.items: list[dict] = []

    def add(self, code: str, field: str, message: str) -> None:
        if len(self.items) < MAX_ERRORS:
            self.items.append({"code": code, "field": field, "message": message})


def _node(raw: object, level: int, parent: str, where: str, seen: set[str], errors: _Errors) -> dict | None:
    if not isinstance(raw, dict):
        errors.add(parent, where, f"{where}: mỗi mục phải là một đối tượng (mã, tên, điểm tối đa).")
        return None
    code = clean(raw.get("code"))
    label = f"Mục “{code}”" if code else where
    ok = _code_fits(code, level, parent, where, label, seen, errors)
    seen.add(code)
    name = clean(raw.get("name"))
    if not name:
        errors.add(code, f"{where}.name", f"{label}: thiếu nội dung (tên) của mục.")
    elif len(name) > MAX_NAME:
        errors.add(code, f"{where}.name", f"{label}: tên dài tối đa {MAX_NAME} ký tự.")
    guidance = str(raw.get("guidance") or "").strip()
    if len(guidance) > MAX_GUIDANCE:
        errors.add(code, f"{where}.guidance", f"{label}: hướng dẫn chấm điểm dài tối đa {MAX_GUIDANCE} ký tự.")
    maximum = decimal(raw.get("max"))
    if maximum is None or maximum <= 0 or maximum > 100:
        errors.add(code, f"{where}.max", f"{label}: điểm tối đa phải là số lớn hơn 0 và không quá 100.")
        maximum = None
    children_raw = raw.get("criteria") or []
    if not isinstance(children_raw, list):
        errors.add(code, f"{where}.criteria", f"{label}: danh sách mục con phải là một mảng.")
        children_raw = []
    if level == 0 and not children_raw:
        errors.add(code, f"{where}.criteria", f"{label}: lĩnh vực phải có ít nhất một tiêu chí.")
    if level == 2 and children_raw:
        errors.add(code, f"{where}.criteria", f"{label}: tiêu chí thành phần không có mục con.")
        children_raw = []
    children = [c for i, raw_child in enumerate(children_raw)
                if (c := _node(raw_child, level + 1, code if ok else "", f"{where}.criteria[{i}]", seen, errors))]
    node: dict = {"code": code, "name": name, "max": number(maximum) if maximum is not None else None,
                  "level": LEVELS[level], "guidance": guidance, "children": children,
                  "method": None, "step": None}
    _check_scoring(node, raw, level, maximum, where, label, errors)
    return node


def _code_fits(code: str, level: int, parent: str, where: str, label: str, seen: set[str], errors: _Errors) -> bool:
    """Whether an item's code has the form, level and parent its place requires and is not a repeat."""
    if not CODE.match(code):
        errors.add(code, f"{where}.code", f"{label}: mã phải có dạng 1, 1.2 hoặc 1.2.3.")
    elif code.count(".") != level:
        errors.add(code, f"{where}.code", f"{label}: mã {code} không đúng cấp ({_LEVEL_NAMES[level]}).")
    elif parent and not code.startswith(parent + "."):
        errors.add(code, f"{where}.code", f"{label}: mã phải bắt đầu bằng mã của mục cha {parent}.")
    elif code in seen:
        errors.add(code, f"{where}.code", f"{label}: mã {code} bị trùng.")
    else:
        return True
    return False


def _check_scoring(node: dict, raw: dict, level: int, maximum: Decimal | None, where: str, label: str,
                   errors: _Errors) -> None:
    """A parent's maximum is the sum of its children's; a leaf has a scoring method (and a step when scored by
    hand), set on `node`."""
    code, children = node["code"], node["children"]
    if children:
        if raw.get("method") not in (None, ""):
            errors.add(code, f"{where}.method", f"{label}: chỉ mục không có mục con mới ghi phương thức chấm.")
        total = sum((Decimal(str(c["max"])) for c in children if c["max"] is not None), Decimal(0))
        if maximum is not None and all(c["max"] is not None for c in children) and total != maximum:
            errors.add(code, f"{where}.max", f"{label}: điểm tối đa {number(maximum)} khác tổng điểm các mục con "
                                             f"({number(total)}).")
    elif level > 0:
        method = parse_method(raw.get("method"))
        if method is None:
            errors.add(code, f"{where}.method", f"{label}: phương thức chấm phải là “Tự chấm, thẩm định”, "
                                                "“Điều tra xã hội học” hoặc “Nguồn khác”.")
        node["method"] = method
        if method in ("self", "imported"):
            step = decimal(raw.get("step")) if raw.get("step") not in (None, "") else DEFAULT_STEP
            if step is None or step <= 0 or step > 100:
                errors.add(code, f"{where}.step", f"{label}: bước điểm phải là số lớn hơn 0 (ví dụ 0,25; 0,5; 1).")
            elif maximum is not None and not is_multiple(maximum, step):
                errors.add(code, f"{where}.step", f"{label}: điểm tối đa {number(maximum)} không chia hết cho "
                                                  f"bước điểm {number(step)}.")
            else:
                node["step"] = number(step)


_LEVEL_NAMES = {0: "lĩnh vực: 1, 2, …", 1: "tiêu chí: 1.1, 1.2, …", 2: "tiêu chí thành phần: 1.1.1, …"}


def survey_criteria(questionnaires: dict[str, dict], kind: str = PROVINCE) -> dict[str, list[str]]:
    """criterion → the questionnaires (qids) whose scored questions measure it, among the questionnaires that
    measure units of `kind`: the locality questionnaires for provinces, the managing-ministry ones for ministries.
    `questionnaires` maps qids ("locality-2", "ministry-3") to definitions holding their `sections`."""
    purpose = PURPOSE_OF_KIND[kind]
    found: dict[str, list[str]] = {}
    for qid, definition in sorted(questionnaires.items()):
        slot = parse_qid(qid)
        if not slot or slot[0] != purpose:
            continue
        for question in questions(definition):
            if question.get("criterion") and question.get("type") in ("single", "multi"):
                where = found.setdefault(question["criterion"], [])
                if qid not in where:
                    where.append(qid)
    return found


def validate_definition(data: object, survey_criteria: dict[str, list[str]] | None = None,
                        kind: str | None = None) -> dict:
    """The normalised framework, or ValidationError listing every problem. `survey_criteria` maps each criterion
    code the questionnaires measuring this kind of unit name to those questionnaires (see `survey_criteria`): each
    must be a leaf of the framework measured by the survey.

    `kind` is the kind of unit the framework is for ("province" or "ministry"); a definition may say it too
    (`kind`), and the two must agree. The normalised framework carries it ("province" when neither says)."""
    if not isinstance(data, dict):
        raise ValidationError("Bộ tiêu chí phải là một đối tượng JSON.", details=[{"field": "framework"}])
    errors = _Errors()
    declared_kind = data.get("kind") or None
    if declared_kind is not None and declared_kind not in UNIT_KINDS:
        errors.add("", "kind", "Loại đơn vị của bộ tiêu chí (kind) phải là “province” (tỉnh, thành phố) hoặc "
                               "“ministry” (bộ, cơ quan ngang bộ).")
    elif declared_kind is not None and kind is not None and declared_kind != kind:
        errors.add("", "kind", f"Đây là bộ tiêu chí dành cho {KIND_NAMES[declared_kind]}, không dùng được cho "
                               f"{KIND_NAMES[kind]}.")
    unit_kind = kind or (declared_kind if declared_kind in UNIT_KINDS else None) or PROVINCE
    title = clean(data.get("title"))
    if not title:
        errors.add("", "title", "Thiếu tên bộ tiêu chí (title).")
    elif len(title) > MAX_TITLE:
        errors.add("", "title", f"Tên bộ tiêu chí dài tối đa {MAX_TITLE} ký tự.")
    average = data.get("survey_average") or "groups"
    if average not in AVERAGES:
        errors.add("", "survey_average", "Cách tính điểm điều tra (survey_average) phải là “groups” (trung bình "
                                         "các nhóm đối tượng) hoặc “respondents” (trung bình mọi phiếu).")
    fields_raw = data.get("fields")
    if not isinstance(fields_raw, list) or not fields_raw:
        errors.add("", "fields", "Bộ tiêu chí phải có ít nhất một lĩnh vực (fields).")
        fields_raw = []
    seen: set[str] = set()
    fields = [f for i, raw in enumerate(fields_raw) if (f := _node(raw, 0, "", f"fields[{i}]", seen, errors))]
    if len(seen) > MAX_NODES:
        errors.add("", "fields", f"Bộ tiêu chí có tối đa {MAX_NODES} mục.")
    declared = decimal(data.get("maximum")) if data.get("maximum") is not None else Decimal(100)
    total = sum((Decimal(str(f["max"])) for f in fields if f["max"] is not None), Decimal(0))
    if declared is None or declared <= 0:
        errors.add("", "maximum", "Tổng điểm tối đa (maximum) phải là số lớn hơn 0.")
    elif fields and all(f["max"] is not None for f in fields) and total != declared:
        errors.add("", "maximum", f"Tổng điểm tối đa của các lĩnh vực ({number(total)}) khác tổng điểm của bộ tiêu "
                                  f"chí ({number(declared)}).")
    by_code = {n["code"]: n for n in walk(fields)}
    for criterion, where in sorted((survey_criteria or {}).items()):
        node = by_code.get(criterion)
        if node is None:
            errors.add(criterion, "fields", f"Câu hỏi khảo sát ({', '.join(where)}) chấm cho tiêu chí {criterion} "
                                            "nhưng bộ tiêu chí không có mục này.")
        elif node["children"] or node["method"] != "survey":
            errors.add(criterion, "fields", f"Câu hỏi khảo sát ({', '.join(where)}) chấm cho tiêu chí {criterion} "
                                            "nhưng mục này không phải tiêu chí đo bằng điều tra xã hội học.")
    if errors.items:
        raise ValidationError(f"Bộ tiêu chí có {len(errors.items)} lỗi, chưa được lưu.", details=errors.items)
    return {"title": title, "sample": bool(data.get("sample")), "kind": unit_kind, "survey_average": average,
            "maximum": number(declared) if declared is not None else 100, "fields": fields}


def walk(nodes: list[dict]):
    """Every node, depth first, parents before children."""
    for node in nodes:
        yield node
        yield from walk(node["children"])


def leaves(framework: dict, method: str | None = None) -> list[dict]:
    return [n for n in walk(framework["fields"]) if not n["children"] and n["method"]
            and (method is None or n["method"] == method)]


def field_of(code: str) -> str:
    return code.split(".", 1)[0]


def check_score(leaf: dict, value: object, field: str = "score") -> Decimal:
    """A score for `leaf`: a number between 0 and its maximum, in its steps."""
    score = decimal(value)
    label = f"Điểm của mục {leaf['code']}"
    if score is None:
        raise ValidationError(f"{label} phải là một số.", details=[{"field": field, "code": leaf["code"]}])
    maximum = Decimal(str(leaf["max"]))
    if score < 0 or score > maximum:
        raise ValidationError(f"{label} phải từ 0 đến {_vn(maximum)}.",
                              details=[{"field": field, "code": leaf["code"]}])
    step = Decimal(str(leaf["step"] or DEFAULT_STEP))
    if not is_multiple(score, step):
        raise ValidationError(f"{label} phải là bội số của {_vn(step)} (ví dụ 0; {_vn(step)}; {_vn(step * 2)}).",
                              details=[{"field": field, "code": leaf["code"]}])
    return score


def _vn(value: Decimal) -> str:
    """A number as Vietnamese write it: decimal comma."""
    return str(number(value)).replace(".", ",")


def rows_to_definition(rows: list[dict], title: str, sample: bool = False) -> dict:
    """A flat list of rows (code, name, max, method, step, guidance) from a workbook into the nested definition;
    rows keep their sheet row number in "row" so errors can name it. Parents are found from the codes."""
    fields: list[dict] = []
    by_code: dict[str, dict] = {}
    errors = _Errors()
    for row in rows:
        code = clean(row.get("code"))
        if not CODE.match(code):
            errors.add(code, f"row {row['row']}", f"Dòng {row['row']}: mã “{code}” phải có dạng 1, 1.2 hoặc 1.2.3.")
            continue
        if code in by_code:
            errors.add(code, f"row {row['row']}", f"Dòng {row['row']}: mã {code} bị trùng.")
            continue
        node: dict = {"code": code, "name": row.get("name"), "max": row.get("max"), "guidance": row.get("guidance") or "",
                "criteria": []}
        if row.get("method") not in (None, ""):
            node["method"] = row.get("method")
        if row.get("step") not in (None, ""):
            node["step"] = row.get("step")
        parent = code.rsplit(".", 1)[0] if "." in code else None
        if parent is None:
            fields.append(node)
        elif parent in by_code:
            by_code[parent]["criteria"].append(node)
        else:
            errors.add(code, f"row {row['row']}", f"Dòng {row['row']}: mục {code} nằm dưới mục {parent} nhưng mục "
                                                  f"{parent} chưa có ở các dòng phía trên.")
            continue
        by_code[code] = node
    if errors.items:
        raise ValidationError(f"Tệp bộ tiêu chí có {len(errors.items)} lỗi, chưa được lưu.", details=errors.items)
    return {"title": title, "sample": sample, "fields": fields}
