"""Questionnaire workbooks: the ministry exports a questionnaire, edits it in Excel and imports it again.

Sheet "Phiếu khảo sát": a few "Tên phiếu | …", "Mô tả | …", "Phiếu mẫu | Có/Không" lines above the header, then
one row per option:

    Mã câu hỏi | Phần | Nội dung câu hỏi | Loại (một lựa chọn / nhiều lựa chọn / văn bản) | Bắt buộc (Có/Không) |
    Tiêu chí | Giá trị phương án | Nhãn phương án | Điểm | Độ dài tối đa (câu văn bản)

A question's own cells (Phần … Tiêu chí) are read from its first row; its further rows carry its options and may
repeat its code or leave it blank (merged cells). A text question is one row without an option. Headers are
matched whatever their case, accents or spacing, and a note in brackets is ignored. Reading returns the
definition as plain data (validated by the domain) and where each part of it came from, so that every error
names its row and column."""
from __future__ import annotations

import io
import re
import zipfile
from msgspec import Struct, field
from typing import Callable

from chalicelib.domain import questionnaire as rules
from chalicelib.domain.text import clean, fold
from chalicelib.errors import PayloadTooLargeError, UnsupportedMediaTypeError, ValidationError
from chalicelib.formats.sheets import append_row

SHEET = "Phiếu khảo sát"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
KEYS = ["id", "section", "text", "type", "required", "criterion", "value", "label", "score", "max_length"]
HEADERS = {"id": "Mã câu hỏi", "section": "Phần", "text": "Nội dung câu hỏi",
           "type": "Loại (một lựa chọn / nhiều lựa chọn / văn bản)", "required": "Bắt buộc (Có/Không)",
           "criterion": "Tiêu chí", "value": "Giá trị phương án", "label": "Nhãn phương án", "score": "Điểm",
           "max_length": "Độ dài tối đa (câu văn bản)"}
COLUMN_NAMES = {"id": "Mã câu hỏi", "section": "Phần", "text": "Nội dung câu hỏi", "type": "Loại",
                "required": "Bắt buộc", "criterion": "Tiêu chí", "value": "Giá trị phương án",
                "label": "Nhãn phương án", "score": "Điểm", "max_length": "Độ dài tối đa", "title": "Tên phiếu",
                "description": "Mô tả", "sample": "Phiếu mẫu"}
_ALIASES = {
    "id": ("ma cau hoi", "ma cau", "ma so cau hoi", "ma", "id"),
    "section": ("phan", "ten phan", "phan muc", "muc", "nhom cau hoi"),
    "text": ("noi dung cau hoi", "cau hoi", "noi dung"),
    "type": ("loai", "loai cau hoi", "kieu", "kieu cau hoi", "hinh thuc tra loi"),
    "required": ("bat buoc", "bat buoc tra loi"),
    "criterion": ("tieu chi", "ma tieu chi", "tieu chi danh gia", "tieu chi thanh phan"),
    "value": ("gia tri phuong an", "gia tri", "ma phuong an"),
    "label": ("nhan phuong an", "phuong an", "phuong an tra loi", "noi dung phuong an", "nhan"),
    "score": ("diem", "diem phuong an", "diem so"),
    "max_length": ("do dai toi da", "so ky tu toi da", "do dai"),
}
_ALIAS_KEY = {alias: key for key, aliases in _ALIASES.items() for alias in aliases}
REQUIRED_COLUMNS = ("id", "section", "text", "type", "required", "criterion", "value", "label", "score")
_META = {"ten phieu": "title", "ten phieu khao sat": "title", "mo ta": "description", "gioi thieu": "description",
         "phieu mau": "sample"}
MAX_ROWS = 5000
HEADER_SCAN = 20
MAX_UNZIPPED = 60 * 1024 * 1024


class ParsedQuestionnaire(Struct):
    definition: dict
    locations: dict[str, tuple[int | None, str]] = field(default_factory=dict)  # definition path -> (row, column)
    errors: list[dict] = field(default_factory=list)  # [{"row", "column", "field", "message"}]


def _key(text: object) -> str:
    folded = re.sub(r"\(.*?\)|\[.*?\]", " ", fold(text))
    return re.sub(r"[^a-z0-9]+", " ", folded).strip()


def match_header(cells: list[object]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, cell in enumerate(cells):
        key = _ALIAS_KEY.get(_key(cell)) if isinstance(cell, str) else None
        if key and key not in found:
            found[key] = index
    return found


def _check_container(data: bytes) -> None:
    if not data:
        raise ValidationError("Chưa có tệp nào được tải lên.")
    if data[:4] == b"\xd0\xcf\x11\xe0":
        raise UnsupportedMediaTypeError("Tệp Excel 97–2003 (.xls) chưa được hỗ trợ. Vui lòng lưu lại dưới dạng "
                                        "“Excel Workbook (.xlsx)”.")
    if data[:4] != b"PK\x03\x04":
        raise UnsupportedMediaTypeError("Tệp tải lên không phải tệp Excel (.xlsx).")
    try:
        infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError):
        raise ValidationError("Tệp Excel bị hỏng hoặc không đầy đủ; không đọc được.") from None
    if len(infos) > 2000 or sum(i.file_size for i in infos) > MAX_UNZIPPED:
        raise PayloadTooLargeError("Tệp Excel quá lớn sau khi giải nén; vui lòng chỉ giữ sheet phiếu khảo sát.")


def _cell(value: object) -> object:
    return clean(value) if isinstance(value, str) else value


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not clean(value))


def _text_of(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else clean(str(value))


def _score(value: object) -> int | float | str | None:
    """A score typed as a number, or as text with a decimal comma ("0,5"); anything else is returned as is
    (a string) for the caller to report."""
    if _blank(value):
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        return value
    text = clean(value).replace(",", ".")
    try:
        number = float(text)
    except ValueError:
        return clean(value)
    return int(number) if number.is_integer() else number


def read(data: bytes) -> ParsedQuestionnaire:
    """The questionnaire in a workbook, with the (row, column) of every part and the problems found reading it."""
    from openpyxl import load_workbook

    _check_container(data)
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds on broken files
        raise ValidationError("Không đọc được tệp Excel: tệp bị hỏng hoặc không đúng định dạng .xlsx.") from None
    try:
        sheets = sorted((ws for ws in wb.worksheets if hasattr(ws, "_worksheet_path")),
                        key=lambda ws: fold(ws.title) != fold(SHEET))
        for ws in sheets:
            head = [list(values) for values in ws.iter_rows(max_row=HEADER_SCAN, values_only=True)]
            for index, row in enumerate(head):
                columns = match_header(row)
                if all(k in columns for k in ("id", "text", "type", "label")):
                    return _read_sheet(ws, head[:index], index + 1, columns)
    finally:
        wb.close()
    names = ", ".join(COLUMN_NAMES[k] for k in REQUIRED_COLUMNS)
    raise ValidationError(f"Không tìm thấy dòng tiêu đề của phiếu. Sheet “{SHEET}” cần có các cột: {names}.",
                          details=[{"row": None, "column": None, "message": "Thiếu dòng tiêu đề"}])


def _read_sheet(ws, above: list[list[object]], header_row: int, columns: dict[str, int]) -> ParsedQuestionnaire:
    parsed = ParsedQuestionnaire(definition={})
    errors = parsed.errors

    def err(row: int | None, key: str, message: str) -> None:
        if len(errors) < rules.MAX_ERRORS:
            errors.append({"row": row, "column": COLUMN_NAMES.get(key, key), "field": key, "message": message})

    missing = [k for k in REQUIRED_COLUMNS if k not in columns]
    for key in missing:
        err(header_row, key, f"Thiếu cột “{HEADERS[key]}” ở dòng tiêu đề.")
    if missing:
        return parsed
    definition = _read_heading(above, parsed, err)
    reader = _QuestionRows(parsed, err)
    count = 0
    for number, values in enumerate(ws.iter_rows(min_row=header_row + 1, values_only=True), start=header_row + 1):
        row = {k: _cell(values[i]) if i < len(values) else None for k, i in columns.items()}
        if all(_blank(v) for v in row.values()):
            continue
        count += 1
        if count > MAX_ROWS:
            raise PayloadTooLargeError(f"Phiếu có tối đa {MAX_ROWS:,} dòng.".replace(",", "."))
        reader.read(number, row)
    definition["sections"] = reader.sections
    parsed.definition = definition
    if not reader.sections and not errors:
        err(None, "id", "Tệp không có câu hỏi nào dưới dòng tiêu đề.")
    return parsed


def _read_heading(above: list[list[object]], parsed: ParsedQuestionnaire, err: Callable) -> dict:
    """The title, description and sample flag from the rows above the header."""
    definition: dict = {}
    for number, row in enumerate(above, start=1):
        cells = [c for c in row if not _blank(c)]
        if not cells:
            continue
        first = _text_of(cells[0])
        label, _, inline = first.partition(":")
        meta = _META.get(_key(label))
        if not meta:
            continue
        value = clean(inline) if inline.strip() else (cells[1] if len(cells) > 1 else None)
        parsed.locations[meta] = (number, COLUMN_NAMES[meta])
        if meta == "sample":
            flag = rules.parse_flag(value) if not _blank(value) else False
            if flag is None:
                err(number, "sample", "Ô “Phiếu mẫu” ghi Có hoặc Không.")
            definition["sample"] = bool(flag)
        elif meta == "description":
            definition[meta] = str(value) if not _blank(value) else ""  # paragraphs kept; the domain normalises
        else:
            definition[meta] = _text_of(value) if not _blank(value) else ""
    return definition


class _QuestionRows:
    """The question rows below the header, read one at a time: a question's first row opens it (and its section
    when the section is new), its following rows add options and may repeat, but not change, its cells."""

    def __init__(self, parsed: ParsedQuestionnaire, err: Callable) -> None:
        self.parsed, self.err = parsed, err
        self.sections: list[dict] = []
        self.section_index: dict[str, int] = {}
        self.seen: dict[str, int] = {}  # question code -> its first row
        self.current: dict | None = None
        self.current_path = ""
        self.current_row = 0
        self.section_name: object = None

    def read(self, number: int, row: dict) -> None:
        code = _text_of(row["id"])
        has_question_cells = any(not _blank(row.get(k)) for k in ("text", "type"))
        starts = bool(code) and (self.current is None or code != self.current["id"])
        if not code and (has_question_cells or self.current is None):
            self.err(number, "id", "Thiếu mã câu hỏi.")
            self.current = None
            return
        if starts:
            if code.lower() in self.seen:
                self.err(number, "id", f"Câu hỏi “{code}” đã có ở dòng {self.seen[code.lower()]}; các dòng của một "
                                       "câu hỏi phải liền nhau.")
                self.current = None
                return
            self.seen[code.lower()] = number
            self._start(number, code, row)
        elif self.current is not None:
            self._check_repeat(number, row, self.current)
        if self.current is not None and not all(_blank(row[k]) for k in ("value", "label", "score")):
            self._add_option(number, row, self.current)

    def _section(self, number: int, row: dict) -> int:
        """The index of the section a question starting on this row belongs to (a new one when named anew)."""
        if not _blank(row["section"]):
            self.section_name = row["section"]
        if _blank(self.section_name):
            self.err(number, "section", "Thiếu tên phần (cột “Phần”) cho câu hỏi đầu tiên.")
            self.section_name = "?"
        skey = fold(_text_of(self.section_name))
        if skey not in self.section_index:
            self.section_index[skey] = len(self.sections)
            self.parsed.locations[f"sections[{len(self.sections)}]"] = (number, COLUMN_NAMES["section"])
            self.sections.append({"title": _text_of(self.section_name), "questions": []})
        return self.section_index[skey]

    def _start(self, number: int, code: str, row: dict) -> None:
        s_i = self._section(number, row)
        qtype = rules.parse_type(row["type"]) if not _blank(row["type"]) else None
        if qtype is None:
            self.err(number, "type", "Loại câu hỏi không hợp lệ" + (f" (“{_text_of(row['type'])}”)"
                                                                   if not _blank(row["type"]) else "")
                     + "; ghi Một lựa chọn, Nhiều lựa chọn hoặc Văn bản.")
        required = rules.parse_flag(row["required"]) if not _blank(row["required"]) else True
        if required is None:
            self.err(number, "required", f"Ô “Bắt buộc” ghi Có hoặc Không (đang ghi “{_text_of(row['required'])}”).")
        current: dict = {"id": code, "text": _text_of(row["text"]), "type": qtype,
                   "required": True if required is None else required,
                   "criterion": _text_of(row["criterion"]) or None, "options": []}
        if qtype == "text":
            max_length = _score(row.get("max_length"))
            if isinstance(max_length, str):
                self.err(number, "max_length", "Độ dài tối đa phải là một số nguyên.")
            elif max_length is not None:
                current["max_length"] = max_length
        self.current = current
        self.current_path = f"sections[{s_i}].questions[{len(self.sections[s_i]['questions'])}]"
        self.current_row = number
        self.parsed.locations[self.current_path] = (number, COLUMN_NAMES["id"])
        self.sections[s_i]["questions"].append(current)

    def _check_repeat(self, number: int, row: dict, current: dict) -> None:
        for key in ("text", "type", "criterion"):
            if _blank(row[key]):
                continue
            same = (rules.parse_type(row[key]) == current["type"] if key == "type"
                    else fold(_text_of(row[key])) == fold(current[key] or ""))
            if not same:
                self.err(number, key, f"Khác với dòng {self.current_row} của cùng câu hỏi “{current['id']}”; chỉ "
                                      "ghi ở dòng đầu của câu hỏi.")

    def _add_option(self, number: int, row: dict, current: dict) -> None:
        k = len(current["options"])
        score = _score(row["score"])
        if isinstance(score, str):
            self.err(number, "score", f"Điểm “{score}” không phải là một số.")
            score = 0
        current["options"].append({"value": _text_of(row["value"]), "label": _text_of(row["label"]),
                                   "score": score})
        self.parsed.locations[f"{self.current_path}.options[{k}]"] = (number, COLUMN_NAMES["value"])


_FIELD_COLUMN = {"id": "id", "text": "text", "type": "type", "required": "required", "criterion": "criterion",
                 "options": "value", "value": "value", "label": "label", "score": "score",
                 "max_length": "max_length", "questions": "id", "title": "section"}


def locate(field_path: str, locations: dict[str, tuple[int | None, str]]) -> tuple[int | None, str | None]:
    """The (row, column) of a definition field ("sections[0].questions[3].options[1].score")."""
    if field_path in ("title", "description", "sample"):
        row, _ = locations.get(field_path, (None, ""))
        return row, COLUMN_NAMES[field_path]
    parts = field_path.split(".")
    leaf = re.sub(r"\[\d+\]$", "", parts[-1])
    for end in range(len(parts), 0, -1):
        prefix = ".".join(parts[:end])
        if prefix in locations:
            row, _ = locations[prefix]
            column = _FIELD_COLUMN.get(leaf, "id")
            if leaf == "title" and len(parts) == 2:
                column = "section"
            return row, COLUMN_NAMES[column]
    return None, None


def _styles():
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    thin = Side(style="thin", color="A0A0A0")
    return {"header_font": Font(bold=True, color="FFFFFF"), "header_fill": PatternFill("solid", fgColor="1F4E79"),
            "wrap": Alignment(wrap_text=True, vertical="top"), "border": Border(thin, thin, thin, thin),
            "bold": Font(bold=True), "first": PatternFill("solid", fgColor="EAF1FB")}


WIDTHS = {"id": 11, "section": 28, "text": 60, "type": 18, "required": 11, "criterion": 10, "value": 11,
          "label": 34, "score": 8, "max_length": 12}


def write(definition: dict, *, for_respondents: bool = False) -> bytes:
    """A questionnaire in the import layout (re-importing the file gives the same questionnaire). For respondents'
    eyes (`for_respondents`): without the criterion and score columns and without the import guide."""
    from openpyxl import Workbook
    from openpyxl.worksheet.datavalidation import DataValidation

    keys = [k for k in KEYS if not (for_respondents and k in ("criterion", "score"))]
    st = _styles()
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    append_row(ws, ["Tên phiếu", definition.get("title") or ""])
    append_row(ws, ["Mô tả", definition.get("description") or ""])
    append_row(ws, ["Phiếu mẫu", "Có" if definition.get("sample") else "Không"])
    for row in (1, 2, 3):
        ws.cell(row, 1).font = st["bold"]
    ws.append([])
    header_row = 5
    append_row(ws, [HEADERS[k] for k in keys])
    for cell in ws[header_row]:
        cell.font, cell.fill, cell.alignment, cell.border = st["header_font"], st["header_fill"], st["wrap"], \
            st["border"]
    ws.row_dimensions[header_row].height = 45
    for i, key in enumerate(keys, start=1):
        ws.column_dimensions[ws.cell(header_row, i).column_letter].width = WIDTHS[key]
    ws.freeze_panes = ws.cell(header_row + 1, 1)
    _write_questions(ws, definition, keys, st)
    last = max(ws.max_row, header_row + 1) + 500
    types = DataValidation(type="list", formula1='"' + ",".join(rules.TYPE_LABELS.values()) + '"',
                           allow_blank=True, showErrorMessage=True, errorTitle="Loại câu hỏi",
                           error="Chọn Một lựa chọn, Nhiều lựa chọn hoặc Văn bản.")
    types.add(f"D{header_row + 1}:D{last}")
    flags = DataValidation(type="list", formula1='"Có,Không"', allow_blank=True)
    flags.add(f"E{header_row + 1}:E{last}")
    ws.add_data_validation(types)
    ws.add_data_validation(flags)
    if not for_respondents:
        guide = wb.create_sheet("Hướng dẫn")
        for line in GUIDE:
            guide.append([line])
        guide.cell(1, 1).font = st["bold"]
        guide.column_dimensions["A"].width = 120
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()



def _write_questions(ws, definition: dict, keys: list[str], st: dict) -> None:
    """A row per option (one for a text question); the question's cells on its first row only."""
    for section in definition.get("sections", []):
        for question in section["questions"]:
            head = {"id": question["id"], "section": section["title"], "text": question["text"],
                    "type": rules.TYPE_LABELS[question["type"]], "required": "Có" if question["required"] else "Không",
                    "criterion": question.get("criterion") or ""}
            options = question.get("options") or []
            if not options:
                cells = {**head, "max_length": question.get("max_length") or rules.DEFAULT_TEXT_LENGTH}
                append_row(ws, [cells.get(k, "") for k in keys])
                _mark_first(ws, st)
                continue
            for k, option in enumerate(options):
                cells = head if k == 0 else {"id": question["id"]}
                cells = {**cells, "value": option["value"], "label": option["label"], "score": option.get("score")}
                append_row(ws, [cells.get(key, "") for key in keys])
                if k == 0:
                    _mark_first(ws, st)
                else:
                    for cell in ws[ws.max_row]:
                        cell.alignment = st["wrap"]

def _mark_first(ws, st) -> None:
    for cell in ws[ws.max_row]:
        cell.fill, cell.alignment = st["first"], st["wrap"]


GUIDE = [
    "HƯỚNG DẪN SOẠN PHIẾU KHẢO SÁT ĐỂ NHẬP VÀO PHẦN MỀM",
    "",
    "1. Sheet “Phiếu khảo sát”: ghi tên phiếu, mô tả (lời giới thiệu) và Phiếu mẫu (Có/Không) ở các dòng đầu.",
    "2. Mỗi phương án trả lời một dòng. Dòng đầu của mỗi câu hỏi ghi đủ: Mã câu hỏi, Phần, Nội dung câu hỏi, Loại, "
    "Bắt buộc, Tiêu chí; các dòng tiếp theo của cùng câu hỏi ghi lại mã câu hỏi (hoặc để trống) và phương án.",
    "3. Loại câu hỏi: Một lựa chọn (chọn một mức trên thang đo), Nhiều lựa chọn, Văn bản (trả lời ngắn). Câu hỏi "
    "văn bản chỉ có một dòng, không có phương án; ghi độ dài tối đa (số ký tự, mặc định 1000).",
    "4. Mã câu hỏi: chữ không dấu và số, không trùng nhau trong phiếu (ví dụ C1, C2, C15a).",
    "5. Tiêu chí: mã tiêu chí của bộ tiêu chí mà câu hỏi đo lường (ví dụ 3.2 hoặc 3.2.1). Câu hỏi có điểm phải "
    "ghi tiêu chí.",
    "6. Giá trị phương án: mã ngắn, không trùng trong câu hỏi (ví dụ 1, 2, 3, 4). Điểm: một số (có thể là 0 "
    "hoặc số thập phân).",
    "7. Bắt buộc: Có hoặc Không (để trống là Có).",
    "8. Tải tệp lên bằng chức năng nhập phiếu. Nếu có lỗi, phần mềm không lưu gì và báo dòng, cột bị lỗi. Phiếu "
    "đã gửi đường dẫn khảo sát cho người trả lời thì không thể thay đổi.",
]
