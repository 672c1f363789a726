"""The framework as a workbook (sheet "Bộ tiêu chí"): one line per field, criterion and sub-criterion, their
parents found from the codes. Columns: Mã | Nội dung | Điểm tối đa | Phương thức chấm | Bước điểm | Hướng dẫn chấm
điểm. A title row above the header is the framework's title. The ministry exports the current framework in this
shape, edits it and imports it back."""
from __future__ import annotations

import io

from chalicelib.domain import framework as rules
from chalicelib.domain.text import clean, fold
from chalicelib.errors import ValidationError
from chalicelib.formats.sheets import append_row

SHEET = "Bộ tiêu chí"
COLUMNS = {"code": ("ma", "ma so", "ma tieu chi", "stt"), "name": ("noi dung", "ten", "ten tieu chi", "tieu chi"),
           "max": ("diem toi da", "diem chuan", "toi da"), "method": ("phuong thuc cham", "phuong thuc", "cach cham"),
           "step": ("buoc diem", "buoc"), "guidance": ("huong dan cham diem", "huong dan", "ghi chu")}
HEADER = ["Mã", "Nội dung", "Điểm tối đa", "Phương thức chấm", "Bước điểm", "Hướng dẫn chấm điểm"]
MAX_ROWS = 2000


def read(data: bytes) -> dict:
    from openpyxl import load_workbook

    from chalicelib.formats.questionnaire_xlsx import _check_container  # type, zip bombs, size

    _check_container(data)
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds on broken files
        raise ValidationError("Không đọc được tệp Excel: tệp bị hỏng hoặc không đúng định dạng .xlsx.") from None
    sheets = [ws for ws in wb.worksheets if hasattr(ws, "_worksheet_path")]
    if not sheets:
        raise ValidationError("Tệp Excel không có trang tính nào.")
    ws = next((w for w in sheets if fold(w.title) == fold(SHEET)), sheets[0])
    title, columns, rows = "", {}, []  # type: tuple[str, dict[str, int], list[dict]]
    for index, values in enumerate(ws.iter_rows(values_only=True), start=1):
        if index > MAX_ROWS:
            raise ValidationError(f"Tệp có quá {MAX_ROWS} dòng.", details=[{"row": index}])
        cells = [clean(v) if v is not None else "" for v in values]
        if not columns:
            folded = [fold(c).strip(" :*") for c in cells]
            found = {key: folded.index(alias) for key, aliases in COLUMNS.items() for alias in aliases
                     if alias in folded}
            if "code" in found and "max" in found:
                columns = found
            elif any(cells) and not title:
                title = next(c for c in cells if c)
            continue
        if not any(cells):
            continue
        row: dict[str, object] = {"row": index}
        for key, col in columns.items():
            row[key] = values[col] if col < len(values) else None
        if isinstance(row.get("code"), (int, float)) and not isinstance(row["code"], bool):
            row["code"] = str(row["code"])  # a code typed as a number (1, 1.2)
        rows.append(row)
    if not columns:
        raise ValidationError("Không tìm thấy dòng tiêu đề với các cột “Mã” và “Điểm tối đa”.",
                              details=[{"sheet": ws.title}])
    if not rows:
        raise ValidationError("Tệp không có dòng tiêu chí nào.", details=[{"sheet": ws.title}])
    return rules.rows_to_definition(rows, title or "Bộ tiêu chí đánh giá Chỉ số cải cách hành chính")


def write(definition: dict) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    append_row(ws, [definition["title"]])
    ws["A1"].font = Font(bold=True, size=13)
    append_row(ws, HEADER)
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for node in rules.walk(definition["fields"]):
        append_row(ws, [node["code"], node["name"], node["max"],
                        rules.METHOD_LABELS.get(node["method"] or "", ""), node["step"] or "", node["guidance"]])
        ws.cell(row=ws.max_row, column=1).data_type = "s"
    for col, width in zip("ABCDEF", (8, 70, 12, 24, 10, 60)):
        ws.column_dimensions[col].width = width
    ws.freeze_panes = "A3"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
