"""Questionnaires as data: one per campaign, respondent group and purpose, with sections and questions.

A questionnaire's definition is plain JSON:

    {"title", "description", "sample",
     "sections": [{"title", "questions": [
         {"id", "text", "type": "single" | "multi" | "text", "required", "criterion",
          "options": [{"value", "label", "score"}],   # choice questions; [] for text
          "max_length": int | None}]}]}             # text questions; None for choice

Rules the ministry's imports must meet (so the survey form and the scoring can rely on them): a title; at least
one section with a title, each with at least one question; question ids unique in the questionnaire; a choice
question has 2–20 options with unique values and labels and numeric scores; a question whose options carry points
names the criterion of the framework it measures ("3", "3.2", "3.2.1"); a text question has no options and a
maximum length. `validate_answers` checks a respondent's answers against a definition, `score` turns them into
points per criterion.

Pure: no I/O, no clock; errors are `ValidationError`s whose details name the field (or the question)."""
from __future__ import annotations

import functools
import json
import math
import re
import unicodedata
from typing import Callable

from chalicelib.domain.text import clean, fold
from chalicelib.errors import ValidationError

PURPOSES = ("locality", "ministry")
PURPOSE_NAMES = {"locality": "Phiếu đánh giá địa phương", "ministry": "Phiếu đánh giá bộ chủ quản"}
TYPES = ("single", "multi", "text")
TYPE_LABELS = {"single": "Một lựa chọn", "multi": "Nhiều lựa chọn", "text": "Văn bản"}
_TYPE_ALIASES = {
    "single": "single", "mot lua chon": "single", "chon mot": "single", "chon mot phuong an": "single",
    "mot phuong an": "single", "thang do": "single",
    "multi": "multi", "multiple": "multi", "nhieu lua chon": "multi", "chon nhieu": "multi",
    "chon nhieu phuong an": "multi", "nhieu phuong an": "multi",
    "text": "text", "van ban": "text", "cau hoi mo": "text", "tra loi ngan": "text", "tu luan": "text",
    "y kien": "text",
}
_YES = {"co", "x", "yes", "true", "1", "bat buoc"}
_NO = {"khong", "no", "false", "0", "khong bat buoc"}

MAX_SECTIONS = 30
MAX_QUESTIONS = 200
MIN_OPTIONS, MAX_OPTIONS = 2, 20
MAX_TITLE = 300
MAX_DESCRIPTION = 3000
MAX_QUESTION_TEXT = 1000
MAX_LABEL = 300
DEFAULT_TEXT_LENGTH = 1000
MAX_TEXT_LENGTH = 5000
MAX_SCORE = 1000
MAX_BYTES = 300_000  # one DynamoDB item holds 400 KB
MAX_ERRORS = 200

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,31}$")
_VALUE = re.compile(r"^[A-Za-z0-9_.\-]{1,20}$")
CRITERION = re.compile(r"^\d{1,2}(\.\d{1,2}){0,3}$")
_QID = re.compile(r"^([a-z]+)-([A-Za-z0-9]{1,8})$")


def qid_for(purpose: str, group: str) -> str:
    """The questionnaire of `group` for `purpose` ("locality-1", "ministry-2")."""
    return f"{purpose}-{group}"


def parse_qid(qid: str) -> tuple[str, str] | None:
    """(purpose, group) of a questionnaire id, or None when it is not one."""
    match = _QID.match(qid or "")
    if not match or match.group(1) not in PURPOSES:
        return None
    return match.group(1), match.group(2)


def needed(groups: list[dict]) -> list[tuple[str, str, str]]:
    """(qid, purpose, group code) of every questionnaire a campaign's groups answer, in group order."""
    return [(qid_for(p, g["code"]), p, g["code"]) for g in groups for p in (g.get("questionnaires") or ["locality"])]


def parse_type(value: object) -> str | None:
    """A question type from its code or its Vietnamese name ("Một lựa chọn", "nhieu lua chon", "Văn bản")."""
    key = re.sub(r"[^a-z0-9]+", " ", fold(value)).strip()
    key = re.sub(r"\s*\(.*$", "", key)
    return _TYPE_ALIASES.get(key)


def parse_flag(value: object) -> bool | None:
    """Có/Không (x, yes/no, true/false, 1/0) as a bool; None when it is neither."""
    if isinstance(value, bool):
        return value
    key = re.sub(r"[^a-z0-9]+", " ", fold(value)).strip()
    if key in _YES:
        return True
    if key in _NO:
        return False
    return None


def _multiline(value: object) -> str:
    """NFC, each line cleaned, blank runs of lines folded: descriptions and free-text answers keep paragraphs."""
    text = unicodedata.normalize("NFC", str(value)).replace("\r\n", "\n").replace("\r", "\n")
    lines = [clean(line) for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _number(value: object) -> int | float | None:
    """A finite number (not a bool) as int when integral; None otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if not math.isfinite(value):
        return None
    return int(value) if float(value).is_integer() else float(value)


def _code(value: object) -> str:
    """Ids and option values may come as numbers from a spreadsheet: 3.0 -> "3"."""
    if isinstance(value, bool):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return str(value)
    return clean(value) if isinstance(value, str) else ""


class _Errors:
    def __init__(self) -> None:
        self.items: list[dict] = []

    def add(self, field: str, message: str) -> None:
        if len(self.items) < MAX_ERRORS:
            self.items.append({"field": field, "message": message})

    def raise_if_any(self, message: str) -> None:
        if self.items:
            raise ValidationError(message, details=self.items)


def validate_definition(data: object) -> dict:
    """Check a questionnaire definition against every rule above and return it normalised (texts in NFC with
    folded spaces, ids and values as strings, scores as numbers, defaults filled in: `required` True,
    `criterion` None, `max_length` 1000 for text questions). All problems are reported at once."""
    if not isinstance(data, dict):
        raise ValidationError("Phiếu khảo sát phải là một đối tượng JSON.", details=[{"field": "", "message":
                                                                                        "Không phải đối tượng JSON."}])
    errors = _Errors()
    title, description, sample = _heading(data, errors)
    sections = _sections(data.get("sections"), errors)
    errors.raise_if_any("Phiếu khảo sát không hợp lệ.")
    result = {"title": title, "description": description, "sample": sample, "sections": sections}
    size = len(json.dumps(result, ensure_ascii=False).encode("utf-8"))
    if size > MAX_BYTES:
        raise ValidationError(f"Phiếu quá lớn ({size // 1000} KB); tối đa {MAX_BYTES // 1000} KB.",
                              details=[{"field": "sections", "message": "Phiếu quá lớn."}])
    return result


def _heading(data: dict, errors: _Errors) -> tuple[str, str, bool]:
    """The questionnaire's title, description and sample flag."""
    title = clean(data.get("title")) if isinstance(data.get("title"), str) else ""
    if not title:
        errors.add("title", "Thiếu tên phiếu.")
    elif len(title) > MAX_TITLE:
        errors.add("title", f"Tên phiếu dài tối đa {MAX_TITLE} ký tự.")
    raw_description = data.get("description")
    description = ""
    if raw_description is not None:
        if not isinstance(raw_description, str):
            errors.add("description", "Mô tả phải là văn bản.")
        else:
            description = _multiline(raw_description)
            if len(description) > MAX_DESCRIPTION:
                errors.add("description", f"Mô tả dài tối đa {MAX_DESCRIPTION} ký tự.")
    sample = data.get("sample", False)
    if not isinstance(sample, bool):
        errors.add("sample", "Trường “sample” phải là true hoặc false.")
        sample = False
    return title, description, sample


def _sections(sections_in: object, errors: _Errors) -> list[dict]:
    """The sections with their questions, within the limits on sections and questions."""
    sections: list[dict] = []
    if not isinstance(sections_in, list) or not sections_in:
        errors.add("sections", "Phiếu cần có ít nhất một phần (sections) có câu hỏi.")
        sections_in = []
    elif len(sections_in) > MAX_SECTIONS:
        errors.add("sections", f"Phiếu có tối đa {MAX_SECTIONS} phần.")
    seen_ids: dict[str, str] = {}
    seen_sections: dict[str, str] = {}
    total = 0
    for i, section in enumerate(sections_in[:MAX_SECTIONS]):
        where = f"sections[{i}]"
        if not isinstance(section, dict):
            errors.add(where, "Mỗi phần phải là một đối tượng có tên (title) và câu hỏi (questions).")
            continue
        stitle = clean(section.get("title")) if isinstance(section.get("title"), (str, int, float)) else ""
        if not stitle:
            errors.add(f"{where}.title", f"Phần thứ {i + 1} chưa có tên.")
        elif len(stitle) > MAX_TITLE:
            errors.add(f"{where}.title", f"Tên phần dài tối đa {MAX_TITLE} ký tự.")
        elif fold(stitle) in seen_sections:
            errors.add(f"{where}.title", f"Tên phần “{stitle}” bị trùng với {seen_sections[fold(stitle)]}.")
        else:
            seen_sections[fold(stitle)] = f"phần thứ {i + 1}"
        questions_in = section.get("questions")
        if not isinstance(questions_in, list) or not questions_in:
            errors.add(f"{where}.questions", f"Phần “{stitle or i + 1}” chưa có câu hỏi nào.")
            questions_in = []
        questions = []
        for j, question in enumerate(questions_in):
            total += 1
            if total > MAX_QUESTIONS:
                if total == MAX_QUESTIONS + 1:
                    errors.add(f"{where}.questions", f"Phiếu có tối đa {MAX_QUESTIONS} câu hỏi.")
                continue
            normalised = _question(question, f"{where}.questions[{j}]", seen_ids, errors)
            if normalised:
                questions.append(normalised)
        sections.append({"title": stitle, "questions": questions})
    return sections


def _question(question: object, where: str, seen_ids: dict[str, str], errors: _Errors) -> dict | None:
    if not isinstance(question, dict):
        errors.add(where, "Mỗi câu hỏi phải là một đối tượng.")
        return None
    qid = _code(question.get("id"))
    label = f"Câu “{qid}”" if qid else "Câu hỏi"
    if not qid:
        errors.add(f"{where}.id", "Thiếu mã câu hỏi.")
    elif not _ID.match(qid):
        errors.add(f"{where}.id", f"Mã câu hỏi “{qid}” chỉ gồm chữ không dấu, số, dấu chấm, gạch ngang, gạch dưới "
                                  "(tối đa 32 ký tự).")
    elif qid.lower() in seen_ids:
        errors.add(f"{where}.id", f"Mã câu hỏi “{qid}” bị trùng (đã dùng ở {seen_ids[qid.lower()]}).")
    else:
        seen_ids[qid.lower()] = where
    text = clean(question.get("text")) if isinstance(question.get("text"), (str, int, float)) else ""
    if not text:
        errors.add(f"{where}.text", f"{label} chưa có nội dung.")
    elif len(text) > MAX_QUESTION_TEXT:
        errors.add(f"{where}.text", f"Nội dung câu hỏi dài tối đa {MAX_QUESTION_TEXT} ký tự.")
    qtype = parse_type(question.get("type")) if isinstance(question.get("type"), str) else None
    if qtype is None:
        errors.add(f"{where}.type", f"{label}: loại câu hỏi phải là “single” (một lựa chọn), “multi” (nhiều lựa "
                                    "chọn) hoặc “text” (văn bản).")
    required = question.get("required", True)
    if not isinstance(required, bool):
        errors.add(f"{where}.required", f"{label}: “required” phải là true hoặc false.")
        required = True
    criterion, bad_criterion = _criterion(question.get("criterion"), where, label, errors)
    options_in = question.get("options")
    options: list[dict] = []
    max_length = None
    if qtype == "text":
        if options_in:
            errors.add(f"{where}.options", f"{label}: câu hỏi văn bản không có phương án trả lời.")
        max_length = _max_length(question.get("max_length"), where, label, errors)
    elif qtype in ("single", "multi"):
        if question.get("max_length") is not None:
            errors.add(f"{where}.max_length", f"{label}: chỉ câu hỏi văn bản mới có độ dài tối đa.")
        options = _options(options_in, criterion, bad_criterion, where, label, errors)
    return {"id": qid, "text": text, "type": qtype, "required": required, "criterion": criterion,
            "options": options, "max_length": max_length}


def _criterion(criterion: object, where: str, label: str, errors: _Errors) -> tuple[str | None, bool]:
    """The criterion a question measures (None when blank) and whether the one given was malformed."""
    if criterion is None or (isinstance(criterion, str) and not criterion.strip()):
        return None, False
    code = _code(criterion)
    if not CRITERION.match(code):
        errors.add(f"{where}.criterion", f"{label}: mã tiêu chí “{clean(criterion)}” không đúng định dạng "
                                         "(ví dụ 3, 3.2 hoặc 3.2.1).")
        return None, True
    return code, False


def _max_length(raw: object, where: str, label: str, errors: _Errors) -> int | None:
    """A text question's maximum answer length (the default when not given; None when invalid)."""
    if raw is None:
        return DEFAULT_TEXT_LENGTH
    number = _number(raw)
    if not isinstance(number, int) or not 1 <= number <= MAX_TEXT_LENGTH:
        errors.add(f"{where}.max_length", f"{label}: độ dài tối đa phải là số nguyên từ 1 đến "
                                          f"{MAX_TEXT_LENGTH}.")
        return None
    return number


def _options(options_in: object, criterion: str | None, bad_criterion: bool, where: str, label: str,
             errors: _Errors) -> list[dict]:
    """A choice question's options: distinct values and labels, and scores only where a criterion is measured."""
    options: list[dict] = []
    if not isinstance(options_in, list) or len(options_in) < MIN_OPTIONS:
        errors.add(f"{where}.options", f"{label}: câu hỏi lựa chọn cần ít nhất {MIN_OPTIONS} phương án.")
        options_in = options_in if isinstance(options_in, list) else []
    elif len(options_in) > MAX_OPTIONS:
        errors.add(f"{where}.options", f"{label}: tối đa {MAX_OPTIONS} phương án.")
    values: dict[str, int] = {}
    labels: dict[str, int] = {}
    for k, option in enumerate(options_in[:MAX_OPTIONS]):
        at = f"{where}.options[{k}]"
        if not isinstance(option, dict):
            errors.add(at, f"{label}: mỗi phương án phải có giá trị (value), nhãn (label) và điểm (score).")
            continue
        value = _code(option.get("value"))
        if not value:
            errors.add(f"{at}.value", f"{label}: phương án thứ {k + 1} thiếu giá trị.")
        elif not _VALUE.match(value):
            errors.add(f"{at}.value", f"{label}: giá trị phương án “{value}” chỉ gồm chữ không dấu, số, dấu chấm, "
                                      "gạch ngang (tối đa 20 ký tự).")
        elif value in values:
            errors.add(f"{at}.value", f"{label}: giá trị phương án “{value}” bị trùng.")
        else:
            values[value] = k
        olabel = clean(option.get("label")) if isinstance(option.get("label"), (str, int, float)) else ""
        if not olabel:
            errors.add(f"{at}.label", f"{label}: phương án “{value or k + 1}” chưa có nhãn.")
        elif len(olabel) > MAX_LABEL:
            errors.add(f"{at}.label", f"{label}: nhãn phương án dài tối đa {MAX_LABEL} ký tự.")
        elif fold(olabel) in labels:
            errors.add(f"{at}.label", f"{label}: nhãn phương án “{olabel}” bị trùng.")
        else:
            labels[fold(olabel)] = k
        raw_score = option.get("score")
        if raw_score is None and criterion is None and not bad_criterion:
            score: int | float | None = 0
        else:
            score = _number(raw_score)
            if score is None:
                errors.add(f"{at}.score", f"{label}: điểm của phương án “{value or k + 1}” phải là một số.")
                score = 0
            elif abs(score) > MAX_SCORE:
                errors.add(f"{at}.score", f"{label}: điểm của phương án phải trong khoảng ±{MAX_SCORE}.")
        options.append({"value": value, "label": olabel, "score": score})
    if criterion is None and not bad_criterion and any(o["score"] for o in options):
        errors.add(f"{where}.criterion", f"{label}: phương án có điểm nên câu hỏi phải ghi mã tiêu chí mà nó "
                                         "đo lường.")
    return options


def as_respondents_see(definition: dict) -> dict:
    """A questionnaire as the people answering it see it: no option scores and no criteria (they would tell how
    answers count). What a province may read; the ministry, which writes them, sees everything."""
    return {"title": definition["title"], "description": definition.get("description") or "",
            "sample": bool(definition.get("sample")),
            "sections": [{"title": s["title"], "questions": [
                {"id": q["id"], "text": q["text"], "type": q["type"], "required": q["required"],
                 "max_length": q.get("max_length"),
                 "options": [{"value": o["value"], "label": o["label"]} for o in q.get("options") or []]}
                for q in s["questions"]]} for s in definition["sections"]]}


def questions(definition: dict) -> list[dict]:
    """Every question of a (validated) definition, in order."""
    return [q for section in definition.get("sections", []) for q in section.get("questions", [])]


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def validate_answers(definition: dict, answers: object, *, complete: bool = True) -> dict:
    """A respondent's answers checked against the questionnaire: keyed by question id; a single-choice answer is
    one option value, a multiple-choice answer a list of values, a text answer a string within the question's
    maximum length. Unknown questions and values are refused. With `complete` (a submit, not a draft) every
    required question must be answered. Returns the answers normalised: answered questions only, in the
    questionnaire's order, values as strings, choices of a multiple-choice answer in the options' order."""
    if not isinstance(answers, dict):
        raise ValidationError("Câu trả lời phải là một đối tượng JSON (mã câu hỏi → câu trả lời).",
                              details=[{"field": "answers", "message": "Không phải đối tượng JSON."}])
    errors: list[dict] = []

    def err(question_id: str, message: str) -> None:
        if len(errors) < MAX_ERRORS:
            errors.append({"field": f"answers.{question_id}", "question": question_id, "message": message})

    by_id = {q["id"]: q for q in questions(definition)}
    for key in answers:
        if key not in by_id:
            err(str(key), f"Phiếu không có câu hỏi “{_short(str(key), 40)}”.")
    result: dict = {}
    for question in by_id.values():
        qid, raw = question["id"], answers.get(question["id"])
        name = f"Câu {qid} (“{_short(question['text'])}”)"
        value = None if raw is None else _answer(question, raw, functools.partial(err, qid), name)
        if value is not None:
            result[qid] = value
        elif complete and question["required"] and not any(e["question"] == qid for e in errors):
            err(qid, f"Chưa trả lời câu bắt buộc {qid} (“{_short(question['text'])}”).")
    if errors:
        raise ValidationError(f"Phiếu trả lời có {len(errors)} lỗi; vui lòng kiểm tra các câu được đánh dấu.",
                              details=errors)
    return result


def _answer(question: dict, raw: object, err: Callable[[str], None], name: str) -> object:
    """One question's answer normalised, or None when it is empty or wrong (then reported through `err`)."""
    value: object = None
    if question["type"] == "single":
        choice = _code(raw) if isinstance(raw, (str, int, float)) and not isinstance(raw, bool) else None
        if choice is None:
            err(f"{name}: chỉ chọn một phương án.")
        elif choice:
            if choice not in {o["value"] for o in question["options"]}:
                err(f"{name}: phương án “{_short(choice, 20)}” không có trong câu hỏi.")
            else:
                value = choice
    elif question["type"] == "multi":
        if not isinstance(raw, list) or not all(
                isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in raw):
            err(f"{name}: câu trả lời phải là danh sách các phương án đã chọn.")
        else:
            chosen = {_code(v) for v in raw} - {""}
            unknown = chosen - {o["value"] for o in question["options"]}
            if unknown:
                err(f"{name}: phương án “{_short(sorted(unknown)[0], 20)}” không có trong câu hỏi.")
            elif chosen:
                value = [o["value"] for o in question["options"] if o["value"] in chosen]
    else:
        if not isinstance(raw, str):
            err(f"{name}: câu trả lời phải là văn bản.")
        else:
            text = _multiline(raw)
            limit = question.get("max_length") or DEFAULT_TEXT_LENGTH
            if len(text) > limit:
                err(f"{name}: câu trả lời dài {len(text)} ký tự; tối đa {limit} ký tự.")
            elif text:
                value = text
    return value


def _add(total: dict, criterion: str, points: int | float) -> None:
    value = total.get(criterion, 0) + points
    total[criterion] = int(value) if float(value).is_integer() else round(value, 6)


def score(definition: dict, answers: dict) -> dict[str, int | float]:
    """Points per criterion from (validated) answers: a single-choice question gives the score of the chosen
    option, a multiple-choice question the sum of the chosen options' scores; text questions and questions
    without a criterion give none. Every criterion the questionnaire measures is present (0 when unanswered)."""
    total: dict[str, int | float] = {}
    for question in questions(definition):
        criterion = question.get("criterion")
        if not criterion or question["type"] not in ("single", "multi"):
            continue
        total.setdefault(criterion, 0)
        raw = answers.get(question["id"])
        chosen = set(raw) if isinstance(raw, list) else {raw} if raw is not None else set()
        if question["type"] == "single" and len(chosen) > 1:
            continue
        for option in question["options"]:
            if option["value"] in chosen:
                _add(total, criterion, option["score"])
    return total


def max_points(definition: dict) -> dict[str, int | float]:
    """The most a respondent can give each criterion: the best option of a single-choice question, the sum of
    the positive scores of a multiple-choice one."""
    total: dict[str, int | float] = {}
    for question in questions(definition):
        criterion = question.get("criterion")
        if not criterion or question["type"] not in ("single", "multi"):
            continue
        scores = [o["score"] for o in question["options"]]
        best = max(scores) if question["type"] == "single" else sum(s for s in scores if s > 0)
        total.setdefault(criterion, 0)
        _add(total, criterion, best)
    return total
