"""Progress workbooks: a summary sheet and one row per respondent (statuses and times, never answers).
Every text cell a spreadsheet would read as a formula is stored as text."""
from __future__ import annotations

import io
from datetime import datetime
from zoneinfo import ZoneInfo

from chalicelib.domain.timefmt import VN_TZ, parse_iso
from chalicelib.formats.sheets import append_row

# Times are real date cells (sortable, filterable), shown as Vietnamese officials read them, in Vietnam's time.
DATETIME_FORMAT = "dd/mm/yyyy hh:mm"


def _local(value: str | None) -> datetime | None:
    """An ISO time from the progress data as a naive Asia/Ho_Chi_Minh datetime (a spreadsheet has no zones)."""
    return parse_iso(value).astimezone(ZoneInfo(VN_TZ)).replace(tzinfo=None) if value else None


def _book():
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    return wb, Font(bold=True)


def _save(wb) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def unit_workbook(data: dict, generated: str) -> bytes:
    wb, bold = _book()
    summary = wb.active
    summary.title = "Tổng hợp"
    append_row(summary, [f"Tiến độ khảo sát — {data['unit']['full_name']}"])
    summary["A1"].font = bold
    append_row(summary, [f"Lập lúc {generated}"])
    append_row(summary, [])
    append_row(summary, ["Nhóm đối tượng", "Phiếu", "Số phiếu", "Đã gửi", "Đã mở", "Đã trả lời", "Thư bị trả lại",
                         "Chưa gửi", "Tỷ lệ trả lời (%)"])
    for cell in summary[summary.max_row]:
        cell.font = bold
    for row in data["by_group"]:
        append_row(summary, [row["group_name"], row["purpose_name"], row["total"], row["mailed"], row["opened"],
                             row["submitted"], row["bounced"], row["issued"] + row["failed"], row["rate"]])
    t = data["totals"]
    append_row(summary, ["Tổng cộng", "", t["total"], t["mailed"], t["opened"], t["submitted"], t["bounced"],
                         t["issued"] + t["failed"], t["rate"]])
    for cell in summary[summary.max_row]:
        cell.font = bold
    for col, width in zip("ABCDEFGHI", (34, 30, 10, 10, 10, 12, 14, 10, 16)):
        summary.column_dimensions[col].width = width
    people = wb.create_sheet("Chi tiết")
    append_row(people, ["STT", "Họ và tên", "Chức vụ", "Cơ quan, đơn vị", "Nhóm đối tượng", "Email", "Phiếu",
                        "Trạng thái", "Gửi lúc", "Mở lúc", "Trả lời lúc", "Số lần nhắc", "Ghi chú"])
    for cell in people[1]:
        cell.font = bold
    for person in data["people"]:
        for link in person["links"]:
            append_row(people, [person["order"], person["full_name"], person["position"], person["agency"],
                                person["group_name"], person["email"], link["purpose_name"], link["state_name"],
                                _local(link["sent_at"]), _local(link.get("opened_at")), _local(link["submitted_at"]),
                                link["reminders"], link["problem"] or ""])
            for cell in people[people.max_row][8:11]:
                cell.number_format = DATETIME_FORMAT
    people.freeze_panes = "A2"
    for col, width in zip("ABCDEFGHIJKLM", (6, 26, 22, 34, 28, 30, 28, 14, 18, 18, 18, 10, 40)):
        people.column_dimensions[col].width = width
    return _save(wb)


def national_workbook(data: dict, generated: str) -> bytes:
    wb, bold = _book()
    ws = wb.active
    ws.title = "Toàn quốc"
    append_row(ws, [f"Tiến độ khảo sát — {data['name']}"])
    ws["A1"].font = bold
    append_row(ws, [f"Lập lúc {generated}"])
    append_row(ws, [])
    append_row(ws, ["Mã", "Đơn vị", "Danh sách", "Số người", "Số phiếu", "Đã gửi", "Đã mở", "Đã trả lời",
                    "Thư bị trả lại", "Tỷ lệ trả lời (%)", "Kết quả bị hủy"])
    for cell in ws[ws.max_row]:
        cell.font = bold
    for r in data["units"]:
        append_row(ws, [r["code"], r["name"], "Đã gửi" if r["roster_status"] == "submitted" else "Chưa gửi",
                        r["roster_total"], r["total"], r["mailed"], r["opened"], r["submitted"], r["bounced"], r["rate"],
                        "Có" if r["annulled"] else ""])
    t = data["totals"]
    append_row(ws, ["", "Toàn quốc", data["rosters_submitted"], "", t["total"], t["mailed"], t["opened"],
                    t["submitted"], t["bounced"], t["rate"], ""])
    for cell in ws[ws.max_row]:
        cell.font = bold
    ws.freeze_panes = "A5"
    for col, width in zip("ABCDEFGHIJK", (6, 22, 12, 10, 10, 10, 10, 12, 14, 16, 14)):
        ws.column_dimensions[col].width = width
    if data.get("ministries"):
        _ministries_sheet(wb, data, generated, bold)
    return _save(wb)


def _ministries_sheet(wb, data: dict, generated: str, bold) -> None:
    """The assessed ministries: the managing-ministry forms given to provincial respondents about each, and answered
    (annulled provinces left out)."""
    ws = wb.create_sheet("Bộ, ngành")
    append_row(ws, [f"Khảo sát về bộ, ngành — {data['name']}"])
    ws["A1"].font = bold
    append_row(ws, [f"Lập lúc {generated}. Số phiếu đánh giá bộ chủ quản đã phát cho lãnh đạo sở, phòng của các "
                    "tỉnh, thành phố và số phiếu đã trả lời (không tính tỉnh, thành phố bị hủy kết quả)."])
    append_row(ws, [])
    append_row(ws, ["Mã", "Bộ, ngành", "Xếp hạng", "Số phiếu", "Đã trả lời", "Tỷ lệ trả lời (%)"])
    for cell in ws[ws.max_row]:
        cell.font = bold
    for m in data["ministries"]:
        append_row(ws, [m["code"], m["name"], "Có" if m["ranked"] else "Không", m["asked"], m["answered"], m["rate"]])
    ws.freeze_panes = "A5"
    for col, width in zip("ABCDEF", (10, 44, 10, 10, 12, 16)):
        ws.column_dimensions[col].width = width
