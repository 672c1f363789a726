"""Builders of test data: real .xlsx workbooks made with openpyxl, the way clerks' files look."""
from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import datetime, timezone
from pathlib import Path

from openpyxl import Workbook

HEADER = ["STT", "Họ và tên", "Chức vụ", "Cơ quan, đơn vị công tác", "Nhóm đối tượng", "Email", "Số điện thoại",
          "Ghi chú"]


FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô"]
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thanh", "Quốc", "Thu", "Hoài"]
GIVEN = ["An", "Bình", "Cường", "Dung", "Giang", "Hà", "Hải", "Hạnh", "Hùng", "Khánh", "Lan", "Linh", "Long", "Mai",
         "Nam", "Nga", "Phúc", "Quang", "Sơn", "Tâm", "Thảo", "Trang", "Tuấn", "Vân", "Yến"]


def name(i: int) -> str:
    """A distinct, realistic Vietnamese name for every i below 3,500."""
    return f"{FAMILY[i % len(FAMILY)]} {MIDDLE[(i // len(FAMILY)) % len(MIDDLE)]} {GIVEN[(i // 140) % len(GIVEN)]}"


def person(i: int, group: str = "2", agency: str = "Sở Nội vụ", **over) -> list:
    row = [i, name(i), "Phó Giám đốc", agency, group, f"nguoi{i}@hagiang.gov.vn",
           f"09123{i:05d}", None]
    for key, value in over.items():
        row[["stt", "name", "position", "agency", "group", "email", "phone", "note"].index(key)] = value
    return row


def roster_workbook(rows: list[list], *, header: list | None = None, above: list[list] | None = None,
                    sheet: str = "Danh sách", merges: list[str] = (), extra_sheets: list[str] = ()) -> bytes:
    wb = Workbook()
    for name in extra_sheets:
        wb.create_sheet(name).append(["ghi chú riêng của tỉnh"])
    ws = wb.active
    ws.title = sheet
    for line in above or []:
        ws.append(line)
    ws.append(header or HEADER)
    for row in rows:
        ws.append(row)
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # typed as text (Excel's leading apostrophe), not a formula
    for ref in merges:
        ws.merge_cells(ref)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def with_cached_formula(data: bytes, ref: str, formula: str, cached: str | None) -> bytes:
    """Rewrite one cell as Excel saves a formula: <f> with its cached <v> (openpyxl writes no cached values)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                text = body.decode()
                value = f'<v>{cached}</v>' if cached is not None else ""
                cell_type = ' t="str"' if cached is not None and not cached.isdigit() else ""
                text, n = re.subn(rf'<c r="{ref}"[^>]*?(/>|>.*?</c>)',
                                  f'<c r="{ref}"{cell_type}><f>{formula}</f>{value}</c>', text, count=1)
                assert n == 1, ref
                body = text.encode()
            dst.writestr(info, body)
    return out.getvalue()


def survey_answers(survey: dict, pick: int = 0) -> dict:
    """A complete answer set for the form `GET /survey` returned: option `pick` of each single choice, the first of
    each multiple choice, a short opinion where text is required."""
    out: dict = {}
    for section in survey["questionnaire"]["sections"]:
        for q in section["questions"]:
            if q["type"] == "single":
                out[q["id"]] = q["options"][pick % len(q["options"])]["value"]
            elif q["type"] == "multi":
                out[q["id"]] = [q["options"][0]["value"]]
            elif q["required"]:
                out[q["id"]] = "Ý kiến"
    return out


SES_EVENTS = Path(__file__).resolve().parent / "unit" / "ses_events"


def ses_event(name: str, message_id: str, address: str, at: datetime) -> dict:
    """One of SES's published example records, about our message to `address` at `at`."""
    record = json.loads((SES_EVENTS / f"{name}.json").read_text(encoding="utf-8"))
    stamp = at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    record["mail"].update(messageId=message_id, destination=[address], timestamp=stamp)
    for part, recipients in (("bounce", "bouncedRecipients"), ("complaint", "complainedRecipients"),
                             ("deliveryDelay", "delayedRecipients")):
        if part in record:
            record[part]["timestamp"] = stamp
            for r in record[part].get(recipients) or []:
                r["emailAddress"] = address
    if "delivery" in record:
        record["delivery"].update(recipients=[address], timestamp=stamp)
    return record
