"""The PAR Index results workbook: a summary sheet (rank, index, grade, the parts) and one sheet per field of the
framework (each unit's points on every line of that field), for the provinces, then the same for the ministries
where the campaign assesses ministries. Text a spreadsheet would run stays text."""
from __future__ import annotations

import io
import re

from chalicelib.domain.framework import walk
from chalicelib.formats.sheets import append_row

PART_NAMES = {"self": "Điểm thẩm định", "survey": "Điều tra xã hội học", "imported": "Nguồn khác (SIPAS, KT-XH)"}


def _sheet_title(code: str, name: str, used: set[str], prefix: str = "LV") -> str:
    """Excel sheet names: at most 31 characters, none of []:*?/\\ and unique."""
    base = re.sub(r"[\[\]:*?/\\]", " ", f"{prefix}{code} {name}")[:31].strip()
    title, n = base, 2
    while title in used:
        title = f"{base[:28]} {n}"
        n += 1
    used.add(title)
    return title


def workbook(data: dict, definition: dict, generated: str,
             ministries: tuple[dict, dict] | None = None) -> bytes:
    """The provinces' results (`data`, computed under `definition`); with `ministries` (the ministries' results and
    their framework), the ministries' summary and field sheets after the provinces'."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Tổng hợp"
    _summary_sheet(ws, data, f"Kết quả Chỉ số cải cách hành chính — {data['name']}", generated)
    used = {ws.title}
    for field in definition["fields"]:
        _field_sheet(wb.create_sheet(_sheet_title(field["code"], field["name"], used)), field, data)
    if ministries is not None:
        ministry_data, ministry_definition = ministries
        ws = wb.create_sheet("Tổng hợp các bộ")
        used.add(ws.title)
        _summary_sheet(ws, ministry_data, "Kết quả Chỉ số cải cách hành chính của các bộ, cơ quan ngang bộ — "
                                          f"{ministry_data['name']}", generated)
        for field in ministry_definition["fields"]:
            _field_sheet(wb.create_sheet(_sheet_title(field["code"], field["name"], used, "Bộ LV")), field,
                         ministry_data)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _rank_cell(row: dict) -> object:
    """A unit assessed but not ranked shows so instead of a rank."""
    return row["rank"] if row["rank"] is not None else "Không xếp hạng"


def _summary_sheet(ws, data: dict, heading: str, generated: str) -> None:
    """Rank, index, grade, the parts and the fields of every unit, under the framework's name and the grades."""
    from openpyxl.styles import Alignment, Font

    bold = Font(bold=True)
    append_row(ws, [heading])
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
        if r.get("ranked") is False:
            notes.append("Đánh giá nhưng không xếp hạng")
        if (r.get("survey") or {}).get("cancelled"):
            notes.append(f"{r['survey']['cancelled']} phiếu của tỉnh bị hủy kết quả không được tính")
        if r["provisional"]:
            notes.append("Tạm tính (chưa thẩm định đủ)")
        append_row(ws, [_rank_cell(r), r["unit"], r["name"], r["index"], r["grade"], r["points"],
                        *[r["parts"][p]["points"] for p in ("self", "survey", "imported")],
                        *[r["fields"][f["code"]]["points"] for f in data["fields"]],
                        r["responses"], "; ".join(notes)])
    ws.freeze_panes = "D5"
    ws.column_dimensions["C"].width = 24
    ws.row_dimensions[4].height = 45


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
        append_row(sheet, [_rank_cell(r), r["unit"], r["name"]] + [r["lines"].get(n["code"], 0) for n in lines]
                   + [r["fields"][field["code"]]["points"]])
    sheet.freeze_panes = "D6"
    sheet.column_dimensions["C"].width = 24
    sheet.row_dimensions[3].height = 90
