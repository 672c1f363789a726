"""The integrity evidence workbook for the ministry: one sheet of units by risk, one of flags, each flag with its
Vietnamese sentence, what honest answering would give, what was seen, the probability, and the links (or answer
sets), times and addresses behind it. Every text cell a spreadsheet would read as a formula is stored as text."""
from __future__ import annotations

import io

from chalicelib.formats.sheets import append_row


def _bold_row(ws, font) -> None:
    for cell in ws[ws.max_row]:
        cell.font = font


def workbook(data: dict, campaign_name: str, generated: str) -> bytes:
    """`data`: the review (units by risk, each with its flags)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    wb = Workbook()
    units = wb.active
    units.title = "Đơn vị"
    append_row(units, [f"Rà soát can thiệp vào khảo sát — {campaign_name}"])
    units["A1"].font = bold
    append_row(units, [f"Lập lúc {generated}. Mức rủi ro từ 40/100 trở lên: có dấu hiệu can thiệp."])
    append_row(units, [])
    append_row(units, ["Mã", "Đơn vị", "Mức rủi ro (/100)", "Số dấu hiệu", "Dấu hiệu", "Phiếu đã gửi",
                       "Lần quét gần nhất", "Kết quả khảo sát"])
    _bold_row(units, bold)
    for unit in data["units"]:
        status = "Đã hủy kết quả" + (f". Lý do: {unit['annul_reason']}" if unit.get("annul_reason") else "") \
            if unit["annulled"] else "Còn hiệu lực"
        append_row(units, [unit["unit"], unit["name"], unit["score"], len(unit["flags"]),
                           "; ".join(f.get("name") or f["rule"] for f in unit["flags"]), unit["submitted"],
                           unit["scanned_at_label"], status])
    units.freeze_panes = "A5"
    for col, width in zip("ABCDEFGH", (6, 28, 16, 12, 60, 14, 18, 40)):
        units.column_dimensions[col].width = width

    flags = wb.create_sheet("Dấu hiệu")
    append_row(flags, ["Mã", "Đơn vị", "Mức rủi ro (/100)", "Dấu hiệu", "Mô tả", "Dự kiến nếu trả lời trung thực",
                       "Phát hiện", "Xác suất", "Xác suất (diễn giải)", "Đường dẫn / phiếu", "Thời gian gửi",
                       "Địa chỉ mạng"])
    _bold_row(flags, bold)
    for unit in data["units"]:
        for flag in unit["flags"]:
            records = flag.get("records") or []
            probability = flag.get("probability")
            append_row(flags, [unit["unit"], unit["name"], unit["score"], flag.get("name") or flag["rule"],
                               flag.get("summary", ""), flag.get("expected"), flag.get("observed"),
                               probability if isinstance(probability, float) and probability > 0 else None,
                               flag.get("probability_label") or "Quy tắc cố định (không tính xác suất)",
                               "\n".join(r["label"] for r in records),
                               "\n".join(r.get("time") or "" for r in records),
                               "\n".join(r.get("address") or "" for r in records)])
            row = flags[flags.max_row]
            for cell in row:
                cell.alignment = wrap
            row[5].number_format = "0.0##"
            row[7].number_format = "0.0E+00"
    flags.freeze_panes = "A2"
    for col, width in zip("ABCDEFGHIJKL", (6, 24, 12, 36, 80, 16, 10, 12, 30, 26, 18, 18)):
        flags.column_dimensions[col].width = width
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
