"""The PAR Index results workbook: a summary sheet (rank, index, grade, the parts) and one sheet per field of the
framework (each unit's points on every line of that field). Text a spreadsheet would run stays text."""
from __future__ import annotations

import io
import re

from chalicelib.domain.framework import walk
from chalicelib.formats.sheets import append_row

PART_NAMES = {"self": "Điểm thẩm định", "survey": "Điều tra xã hội học", "imported": "Nguồn khác (SIPAS, KT-XH)"}


def _sheet_title(code: str, name: str, used: set[str]) -> str:
    """Excel sheet names: at most 31 characters, none of []:*?/\\ and unique."""
    base = re.sub(r"[\[\]:*?/\\]", " ", f"LV{code} {name}")[:31].strip()
    title, n = base, 2
    while title in used:
        title = f"{base[:28]} {n}"
        n += 1
    used.add(title)
    return title


def workbook(data: dict, definition: dict, generated: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    bold = Font(bold=True)
    wb = Workbook()
    ws = wb.active
    ws.title = "Tổng hợp"
    append_row(ws, [f"Kết quả Chỉ số cải cách hành chính — {data['name']}"])
    ws["A1"].font = Font(bold=True, size=13)
    sample = " (BỘ TIÊU CHÍ MẪU)" if data["framework"]["sample"] else ""
    append_row(ws, [f"Bộ tiêu chí: {data['framework']['title']}{sample}; lập lúc {generated}"])
    grades = "; ".join(f"{g['name']}: từ {g['min']} điểm ({data['grade_counts'].get(g['code'], 0)} đơn vị)"
                       for g in data["grades"])
    average = f"trung bình {data['average']} (của {data.get('average_units', 0)} đơn vị có số liệu)"
    append_row(ws, [f"Điểm tối đa {data['maximum']}; {average}; {grades}"])
    header = ["Xếp hạng", "Mã", "Đơn vị", "Chỉ số (%)", "Nhóm", "Tổng điểm"]
    header += [f"{PART_NAMES[p]}" for p in ("self", "survey", "imported")]
    header += [f"LV{f['code']} (tối đa {f['max']})" for f in data["fields"]]
    header += ["Số phiếu khảo sát", "Ghi chú"]
    append_row(ws, header)
    for cell in ws[ws.max_row]:
        cell.font = bold
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for r in data["units"]:
        notes = []
        if r["annulled"]:
            notes.append("Kết quả điều tra xã hội học bị hủy")
        if r["provisional"]:
            notes.append("Tạm tính (chưa thẩm định đủ)")
        append_row(ws, [r["rank"], r["unit"], r["name"], r["index"], r["grade"], r["points"],
                        *[r["parts"][p]["points"] for p in ("self", "survey", "imported")],
                        *[r["fields"][f["code"]]["points"] for f in data["fields"]],
                        r["responses"], "; ".join(notes)])
    ws.freeze_panes = "D5"
    ws.column_dimensions["C"].width = 24
    ws.row_dimensions[4].height = 45
    used = {ws.title}
    for field in definition["fields"]:
        _field_sheet(wb.create_sheet(_sheet_title(field["code"], field["name"], used)), field, data)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _field_sheet(sheet, field: dict, data: dict) -> None:
    """One field's sheet: every unit's points per line of the field."""
    from openpyxl.styles import Alignment, Font

    bold = Font(bold=True)
    by_unit = {r["unit"]: r for r in data["units"]}
    append_row(sheet, [f"Lĩnh vực {field['code']}: {field['name']} (tối đa {field['max']} điểm)"])
    sheet["A1"].font = bold
    lines = [n for n in walk([field]) if not n["children"]]
    append_row(sheet, ["", "", "Mục"] + [n["code"] for n in lines] + ["Cộng"])
    append_row(sheet, ["", "", "Nội dung"] + [n["name"] for n in lines] + [field["name"]])
    append_row(sheet, ["", "", "Tối đa"] + [n["max"] for n in lines] + [field["max"]])
    append_row(sheet, ["Xếp hạng", "Mã", "Đơn vị"] + ["" for _ in lines] + [""])
    for row in sheet.iter_rows(min_row=2, max_row=5):
        for cell in row:
            cell.font = bold
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    for unit in data["units"]:
        r = by_unit[unit["unit"]]
        append_row(sheet, [r["rank"], r["unit"], r["name"]] + [r["lines"].get(n["code"], 0) for n in lines]
                   + [r["fields"][field["code"]]["points"]])
    sheet.freeze_panes = "D6"
    sheet.column_dimensions["C"].width = 24
    sheet.row_dimensions[3].height = 90
