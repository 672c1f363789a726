"""Roster workbooks: the template provinces fill in, reading what they upload, and the error workbook.

Reading copes with real clerks' files: a title above the header, header text in any case, spacing or accents'
encoding, blank and trailing rows, numbers stored as text or as numbers (phones that lost their 0), formulas
(their cached value), merged cells (the value fills the merged range), and text typed in the legacy TCVN3 (ABC)
or VNI encodings (converted to Unicode and reported)."""
from __future__ import annotations

import bisect
import io
import re
import zipfile
import zlib
from msgspec import Struct, field
from datetime import date, datetime

from chalicelib.domain import vnencoding
from chalicelib.domain.roster import COLUMNS, find_header
from chalicelib.domain.text import clean, fold
from chalicelib.formats.sheets import put_row
from chalicelib.errors import PayloadTooLargeError, UnsupportedMediaTypeError, ValidationError

SHEET = "Danh sách"
TEMPLATE_KEYS = ["stt", "full_name", "position", "agency", "group", "email", "phone", "note", "ministry"]
TEXT_KEYS = ("full_name", "position", "agency", "group", "note", "ministry")
MAX_ROWS = 10_000
MAX_UNZIPPED = 120 * 1024 * 1024
MAX_RATIO = 150
# Cells in all the worksheets of an upload. A full roster (10,000 rows × 9 columns) has 90,000; a forged sheet of
# millions of tiny cells fits within the unzipped limit yet would take openpyxl minutes to parse, so it is counted
# (one streaming pass, no parse) and refused first.
MAX_CELLS = 500_000
_CELL_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c[\s/>]")
HEADER_SCAN = 15
ENCODING_NAMES = {"TCVN3": "TCVN3 (ABC)", "VNI": "VNI"}
# What a damaged or forged part raises while it is read: a checksum or size that lies (a zip bomb's trick), bad
# deflate data, XML cut short, malformed or over-amplified (entity bombs), references to cells, strings or styles
# that do not exist.
BROKEN = (zipfile.BadZipFile, zlib.error, EOFError, SyntaxError, ValueError, KeyError, IndexError)


class ParsedSheet(Struct):
    rows: list[tuple[int, dict[str, object]]]  # (Excel row number, values by column key)
    header_row: int
    columns: dict[str, int]
    conversions: dict[str, int] = field(default_factory=dict)  # encoding -> cells converted
    formula_errors: list[tuple[int, str]] = field(default_factory=list)  # (row, key)
    headings: list[int] = field(default_factory=list)  # rows skipped as section headings


def _check_container(data: bytes) -> None:
    if data[:4] == b"\xd0\xcf\x11\xe0":
        raise UnsupportedMediaTypeError("Tệp Excel 97–2003 (.xls) chưa được hỗ trợ. Vui lòng mở tệp trong Excel và "
                                        "lưu lại dưới dạng “Excel Workbook (.xlsx)”.")
    if data[:4] != b"PK\x03\x04":
        raise UnsupportedMediaTypeError("Tệp tải lên không phải tệp Excel (.xlsx). Vui lòng dùng mẫu danh sách của "
                                        "phần mềm.")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError):
        raise ValidationError("Tệp Excel bị hỏng hoặc không đầy đủ; không đọc được.") from None
    total = sum(i.file_size for i in infos)
    if len(infos) > 2000 or total > MAX_UNZIPPED or any(
            i.compress_size and i.file_size / i.compress_size > MAX_RATIO and i.file_size > 10 * 1024 * 1024
            for i in infos):
        raise PayloadTooLargeError("Tệp Excel quá lớn sau khi giải nén; vui lòng chỉ giữ danh sách đối tượng "
                                   f"(tối đa {MAX_ROWS:,} dòng)".replace(",", ".") + ".")
    try:
        cells = sum(_count_cells(archive, i) for i in infos
                    if i.filename.startswith("xl/worksheets/") and i.filename.endswith(".xml"))
    except BROKEN:
        raise ValidationError("Tệp Excel bị hỏng hoặc không đầy đủ; không đọc được.") from None
    if cells > MAX_CELLS:
        raise PayloadTooLargeError(f"Tệp Excel có quá nhiều ô dữ liệu (hơn {MAX_CELLS:,} ô); vui lòng chỉ giữ danh sách "
                                   f"đối tượng (tối đa {MAX_ROWS:,} dòng) trong tệp.".replace(",", "."))


def _count_cells(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> int:
    """The <c> elements of a worksheet part, counted while it is inflated 1 MB at a time (never held whole)."""
    count, tail = 0, b""
    with archive.open(info) as part:
        while chunk := part.read(1 << 20):
            block = tail + chunk
            cut = block.rfind(b"<")  # a cell tag holds one "<": none straddles the cut
            cut = cut if cut >= 0 else len(block)
            count += len(_CELL_TAG.findall(block, 0, cut))
            tail = block[cut:][:64]
            if count > MAX_CELLS:
                return count
    return count + len(_CELL_TAG.findall(tail))


def _merged_ranges(archive: zipfile.ZipFile, path: str) -> list[tuple[int, int, int, int]]:
    from openpyxl.utils.cell import range_boundaries

    text = archive.read(path.lstrip("/")).decode("utf-8", "replace")
    ranges = []
    for ref in re.findall(r'<mergeCell[^>]*\bref="([A-Z]+\d+:[A-Z]+\d+)"', text):
        min_col, min_row, max_col, max_row = range_boundaries(ref)
        ranges.append((min_row, min_col, max_row, max_col))
    return ranges


def _as_text(value: object) -> object:
    """Numbers that are really text (phones, group numbers) keep their digits; dates read as dd/mm/yyyy."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.strftime("%d/%m/%Y")
    return value


def read_roster(data: bytes) -> ParsedSheet:
    """Rows of the roster sheet, cleaned of everything a spreadsheet adds, with their Excel row numbers."""
    from openpyxl import load_workbook

    _check_container(data)
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception:  # openpyxl raises many kinds on broken files
        raise ValidationError("Không đọc được tệp Excel: tệp bị hỏng hoặc không đúng định dạng .xlsx.") from None
    try:
        sheets = sorted(wb.worksheets, key=lambda ws: fold(ws.title) != fold(SHEET))
        for ws in sheets:
            if not hasattr(ws, "_worksheet_path"):
                continue  # chartsheets
            ws.reset_dimensions()  # the <dimension> a file declares may be stale or forged: read the rows it has
            head = [list(values) for values in ws.iter_rows(max_row=HEADER_SCAN, values_only=True)]
            head = [_decode_header(values) for values in head]
            found = find_header(head)
            if found:
                return _read_sheet(wb, ws, data, *found)
    except BROKEN:  # read-only sheets are parsed as they are read: a damaged part shows only now
        raise ValidationError("Không đọc được tệp Excel: tệp bị hỏng hoặc không đúng định dạng .xlsx.") from None
    finally:
        wb.close()
    labels = ", ".join(COLUMNS[k][0] for k in ("full_name", "position", "agency", "group", "email"))
    raise ValidationError(f"Không tìm thấy dòng tiêu đề của danh sách. Sheet “{SHEET}” cần có các cột: {labels}.",
                          details=[{"row": None, "column": None, "message": "Thiếu dòng tiêu đề"}])


def _decode_header(values: list[object]) -> list[object]:
    """A header row typed in TCVN3 or VNI reads as the template's headers."""
    texts = [v for v in values if isinstance(v, str) and v]
    encoding = vnencoding.detect_column(texts) if texts else None
    return [(vnencoding.convert_with(v, encoding) if encoding else vnencoding.convert(v))[0]
            if isinstance(v, str) and v else v for v in values]


def _read_sheet(wb, ws, data: bytes, header_index: int, columns: dict[str, int]) -> ParsedSheet:
    archive = zipfile.ZipFile(io.BytesIO(data))
    merged = [r for r in _merged_ranges(archive, ws._worksheet_path) if r[2] > r[0] or r[3] > r[1]]
    header_row = header_index + 1
    parsed = ParsedSheet(rows=[], header_row=header_row, columns=columns)
    formulas: list[tuple[int, str]] = []
    grid: dict[int, dict[str, object]] = {}
    spans = _row_spans(merged)
    for number, values in enumerate(ws.iter_rows(min_row=header_row + 1, values_only=True), start=header_row + 1):
        if not any(v is not None for v in values) and not _covered(spans, number):
            continue  # blank rows (a stray cell far below yields a million) are not kept unless a merge fills them
        row = {key: (values[i] if i < len(values) else None) for key, i in columns.items()}
        for key, value in row.items():
            if isinstance(value, str) and value.startswith("="):
                formulas.append((number, key))
        grid[number] = row
        if len(grid) > MAX_ROWS + 1000:
            raise PayloadTooLargeError(f"Danh sách tối đa {MAX_ROWS:,} dòng.".replace(",", "."))
    if formulas:
        cached = load_cached_values(data, ws.title, header_row, columns, {number for number, _ in formulas})
        for number, key in formulas:
            value = cached.get(number, {}).get(key)
            grid[number][key] = value
            if value is None:
                parsed.formula_errors.append((number, key))
    _fill_merged(grid, merged, columns, parsed)
    for number in parsed.headings:
        grid.pop(number, None)
    for number, row in grid.items():
        row = {k: _as_text(v) for k, v in row.items()}
        if all(not clean(v) for v in row.values()):
            continue
        if fold(row.get("stt") or "").startswith("vi du"):
            continue  # the template's example row
        parsed.rows.append((number, row))
    _convert_legacy_text(parsed)
    if len(parsed.rows) > MAX_ROWS:
        raise PayloadTooLargeError(f"Danh sách tối đa {MAX_ROWS:,} dòng.".replace(",", "."))
    return parsed


def _fill_merged(grid: dict[int, dict[str, object]], merged: list[tuple[int, int, int, int]],
                 columns: dict[str, int], parsed: ParsedSheet) -> None:
    """Every cell of a merged range takes the value of its first cell; ranges spanning three columns or more are
    section headings, whose rows are recorded in `parsed.headings`."""
    index_to_key = {i: k for k, i in columns.items()}
    for min_row, min_col, max_row, max_col in merged:
        if min_row not in grid:
            continue  # merges in the title or header
        if max_col - min_col >= 2:
            parsed.headings.extend(n for n in range(min_row, max_row + 1) if n in grid)
            continue  # a section heading spanning the columns ("II. LÃNH ĐẠO CẤP SỞ")
        value = grid[min_row].get(index_to_key.get(min_col - 1, ""))
        for col in range(min_col, max_col + 1):
            key = index_to_key.get(col - 1)
            for number in range(min_row, max_row + 1):
                if key and number in grid:
                    grid[number][key] = value


def _convert_legacy_text(parsed: ParsedSheet) -> None:
    """Text typed in a legacy Vietnamese encoding converted to Unicode, counted per encoding in
    `parsed.conversions`."""
    # Legacy encodings are decided per column, and a file typed in one encoding lends it to columns whose
    # cells alone are ambiguous ("Ghi chó" is TCVN3 for "Ghi chú" but also reads as Unicode).
    detected = {}
    for key in TEXT_KEYS:
        column = [row.get(key) for _, row in parsed.rows if isinstance(row.get(key), str) and row.get(key)]
        detected[key] = vnencoding.detect_column(column) if column else None
    found = [e for e in detected.values() if e]
    file_encoding = max(set(found), key=found.count) if found else None
    for key in TEXT_KEYS:
        encoding = detected[key] or file_encoding
        for _, row in parsed.rows:
            value = row.get(key)
            if isinstance(value, str) and value:
                converted, used = (vnencoding.convert_with(value, encoding) if encoding
                                   else vnencoding.convert(value))
                row[key] = converted
                if used:
                    parsed.conversions[used] = parsed.conversions.get(used, 0) + 1


def _row_spans(merged: list[tuple[int, int, int, int]]) -> list[tuple[int, int]]:
    """The rows covered by merged ranges, as sorted disjoint (first, last) spans."""
    spans: list[tuple[int, int]] = []
    for first, last in sorted((r[0], r[2]) for r in merged):
        if spans and first <= spans[-1][1] + 1:
            spans[-1] = (spans[-1][0], max(spans[-1][1], last))
        else:
            spans.append((first, last))
    return spans


def _covered(spans: list[tuple[int, int]], number: int) -> bool:
    at = bisect.bisect_right(spans, (number, float("inf"))) - 1
    return at >= 0 and spans[at][0] <= number <= spans[at][1]


def load_cached_values(data: bytes, title: str, header_row: int, columns: dict[str, int],
                       rows: set[int] | None = None) -> dict[int, dict]:
    """The values Excel saved for formula cells (a second, read-only pass only when formulas exist), for the
    given `rows` (every row when None)."""
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        ws = wb[title]
        ws.reset_dimensions()
        return {number: {key: (values[i] if i < len(values) else None) for key, i in columns.items()}
                for number, values in enumerate(ws.iter_rows(min_row=header_row + 1, values_only=True),
                                                start=header_row + 1) if rows is None or number in rows}
    finally:
        wb.close()


HEADERS = {key: COLUMNS[key][0] for key in TEMPLATE_KEYS}
HEADERS["ministry"] = "Bộ chủ quản"
WIDTHS = {"stt": 6, "full_name": 26, "position": 24, "agency": 36, "group": 30, "email": 30, "phone": 15,
          "note": 24, "ministry": 30}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _styles():
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    thin = Side(style="thin", color="A0A0A0")
    return {"header_font": Font(bold=True, color="FFFFFF"), "header_fill": PatternFill("solid", fgColor="1F4E79"),
            "wrap": Alignment(wrap_text=True, vertical="center"), "border": Border(thin, thin, thin, thin),
            "example": Font(italic=True, color="7F7F7F"), "bad": PatternFill("solid", fgColor="FFC7CE"),
            "bad_font": Font(color="9C0006"), "bold": Font(bold=True)}


MINISTRY_SHEET = "Bộ, ngành"


def _roster_sheet(wb, groups: list[dict], rows: int, header_row: int = 1, ministries: list[str] | None = None):
    """The roster sheet with its header on `header_row` (1 for the template; the uploaded file's own header row
    for the error workbook, so that every person keeps the row number they had). The group column gets a
    drop-down of the groups, and the managing-ministry column one of the accepted `ministries` (a warning, not a
    refusal, when something else is typed: the import also takes a ministry's short name)."""
    from openpyxl.worksheet.datavalidation import DataValidation

    st = _styles()
    ws = wb.active
    ws.title = SHEET
    put_row(ws, header_row, [HEADERS[k] for k in TEMPLATE_KEYS])
    for cell in ws[header_row]:
        cell.font, cell.fill, cell.alignment, cell.border = st["header_font"], st["header_fill"], st["wrap"], st["border"]
    ws.row_dimensions[header_row].height = 32
    for i, key in enumerate(TEMPLATE_KEYS, start=1):
        ws.column_dimensions[ws.cell(header_row, i).column_letter].width = WIDTHS[key]
    ws.freeze_panes = f"A{header_row + 1}"
    lists = wb.create_sheet("Nhóm đối tượng")
    for group in groups:
        lists.append([f"{group['code']}. {group['name']}"])
    lists.column_dimensions["A"].width = 45
    group_col = ws.cell(header_row, TEMPLATE_KEYS.index("group") + 1).column_letter
    validation = DataValidation(type="list", formula1=f"'Nhóm đối tượng'!$A$1:$A${len(groups)}", allow_blank=True,
                                showErrorMessage=True, errorTitle="Nhóm đối tượng không hợp lệ",
                                error="Chọn nhóm đối tượng trong danh sách.")
    validation.add(f"{group_col}{header_row + 1}:{group_col}{max(rows, 2000) + header_row}")
    ws.add_data_validation(validation)
    if ministries:
        names = wb.create_sheet(MINISTRY_SHEET)
        for name in ministries:
            names.append([name])
        names.column_dimensions["A"].width = 45
        ministry_col = ws.cell(header_row, TEMPLATE_KEYS.index("ministry") + 1).column_letter
        choice = DataValidation(type="list", formula1=f"'{MINISTRY_SHEET}'!$A$1:$A${len(ministries)}",
                                allow_blank=True, showErrorMessage=True, errorStyle="warning",
                                errorTitle="Bộ chủ quản không có trong danh sách",
                                error=f"Chọn bộ chủ quản trong danh sách (sheet “{MINISTRY_SHEET}”).")
        choice.add(f"{ministry_col}{header_row + 1}:{ministry_col}{max(rows, 2000) + header_row}")
        ws.add_data_validation(choice)
    phone_col = ws.cell(1, TEMPLATE_KEYS.index("phone") + 1).column_letter
    ws.column_dimensions[phone_col].number_format = "@"  # typed phone numbers keep their leading 0
    return ws


def template(campaign_name: str, groups: list[dict], deadline_label: str,
             ministries: list[str] | None = None) -> bytes:
    """The roster template of a campaign, built from its groups and accepted ministries (not a static file)."""
    from openpyxl import Workbook

    st = _styles()
    wb = Workbook()
    ws = _roster_sheet(wb, groups, 0, ministries=ministries)
    example_group = next((g for g in groups if "ministry" in g.get("questionnaires", [])), groups[0])
    ws.append(["Ví dụ", "Nguyễn Văn An", "Phó Giám đốc", "Sở Nội vụ tỉnh Hà Giang",
               f"{example_group['code']}. {example_group['name']}", "nguyenvanan@hagiang.gov.vn", "0912345678",
               "Dòng ví dụ, không được nhập vào phần mềm", ""])
    for cell in ws[2]:
        cell.font = st["example"]
    guide = wb.create_sheet("Hướng dẫn", 0)
    lines = [
        (f"HƯỚNG DẪN NHẬP DANH SÁCH ĐỐI TƯỢNG ĐIỀU TRA XÃ HỘI HỌC — {campaign_name.upper()}", True),
        ("", False),
        (f"Thời hạn gửi danh sách về Bộ Nội vụ: {deadline_label}.", True),
        ("", False),
        ("1. Nhập mỗi người một dòng ở sheet “Danh sách”, bắt đầu từ dòng 2; có thể xóa dòng ví dụ.", False),
        ("2. Các cột bắt buộc: Họ và tên, Chức vụ, Cơ quan/đơn vị công tác, Nhóm đối tượng, Email.", False),
        ("3. Nhóm đối tượng: chọn trong danh sách thả xuống hoặc ghi số của nhóm:", False),
        *[(f"      {g['code']}. {g['name']}" + (" — trả lời 2 phiếu: đánh giá địa phương và đánh giá bộ chủ quản"
                                               if "ministry" in g.get("questionnaires", []) else
                                               " — trả lời 1 phiếu đánh giá địa phương"), False) for g in groups],
        ("4. Email: mỗi ô một địa chỉ email công vụ của chính người được khảo sát; phiếu khảo sát được gửi đến "
         "địa chỉ này. Mỗi người chỉ có một dòng.", False),
        ("5. Người vừa là đại biểu HĐND cấp tỉnh vừa thuộc nhóm khác: phần mềm giữ vai trò đại biểu HĐND cấp tỉnh.",
         False),
        ("6. Số điện thoại: di động 10 số hoặc cố định 11 số, bắt đầu bằng 0 (không bắt buộc).", False),
        ("7. Bộ chủ quản: phần mềm tự xác định theo tên sở (ví dụ Sở Y tế → Bộ Y tế). Chỉ ghi khi cơ quan "
         "không phải một sở hoặc phần mềm báo không xác định được; khi ghi, chọn trong danh sách thả xuống "
         f"(các bộ, ngành được chấp nhận ở sheet “{MINISTRY_SHEET}”).", False),
        ("8. Không dùng công thức; nếu có, phần mềm lấy giá trị đã tính. Nên dùng phông chữ Unicode; tệp gõ "
         "bằng bảng mã TCVN3 (ABC) hoặc VNI được tự động chuyển sang Unicode.", False),
        ("9. Tải tệp lên phần mềm. Nếu có dòng lỗi, phần mềm không lưu dòng nào và trả về tệp đánh dấu các ô lỗi "
         "kèm lý do; sửa trong tệp đó rồi tải lên lại. Tải lên nhiều lần cùng một tệp không tạo dòng trùng.", False),
        ("10. Rà soát danh sách trên phần mềm rồi chọn “Gửi danh sách” để gửi về Bộ Nội vụ.", False),
    ]
    for text, bold in lines:
        guide.append([text])
        if bold:
            guide.cell(guide.max_row, 1).font = st["bold"]
    guide.column_dimensions["A"].width = 120
    wb.active = wb.index(ws)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def error_workbook(rows: list[tuple[int, dict]], errors: dict[int, list[tuple[str, str]]],
                   groups: list[dict], header_row: int = 1, ministries: list[str] | None = None) -> bytes:
    """The uploaded rows in the template's layout, each on the row number it had in the uploaded file (the one
    the page and the reasons cite; rows the import skipped, such as the example row, stay empty), bad cells
    highlighted with the reason in a comment and in a last column, so the clerk fixes them in Excel and uploads
    the file again."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment

    st = _styles()
    wb = Workbook()
    last = max([number for number, _ in rows] + [header_row])
    ws = _roster_sheet(wb, groups, last - header_row, header_row, ministries)
    if header_row > 1:
        ws.cell(1, 1, "Tệp đánh dấu lỗi: mỗi người ở đúng số dòng như trong tệp đã tải lên.").font = st["bold"]
    reason_col = len(TEMPLATE_KEYS) + 1
    ws.cell(header_row, reason_col, "Lý do lỗi (dòng trong tệp đã tải lên)")
    ws.cell(header_row, reason_col).fill = st["bad"]
    ws.cell(header_row, reason_col).font = st["bad_font"]
    ws.column_dimensions[ws.cell(header_row, reason_col).column_letter].width = 70
    for number, values in rows:
        put_row(ws, number, [values.get(k) for k in TEMPLATE_KEYS])
        problems = errors.get(number, [])
        for key, message in problems:
            if key in TEMPLATE_KEYS:
                cell = ws.cell(number, TEMPLATE_KEYS.index(key) + 1)
                cell.fill = st["bad"]
                cell.comment = Comment(message, "Chỉ số CCHC")
        if problems:
            reason = ws.cell(number, reason_col,
                             f"Dòng {number}: " + " ".join(f"[{HEADERS.get(k, k)}] {m}" for k, m in problems))
            reason.font, reason.alignment = st["bad_font"], st["wrap"]
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()

