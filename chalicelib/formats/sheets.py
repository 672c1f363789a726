"""Writing cells safely: text that a spreadsheet would run as a formula stays text."""
from __future__ import annotations

from collections.abc import Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def append_row(ws, values: Sequence[object]) -> None:
    """Append a row; any text starting with =, +, -, @, tab or CR is stored as a string cell, so Excel and
    LibreOffice show it verbatim instead of evaluating it (CSV/formula injection). Control characters that XML
    cannot carry (typed or pasted into a name) are left out rather than failing the whole workbook."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    ws.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in values])
    for cell in ws[ws.max_row]:
        if isinstance(cell.value, str) and cell.value.startswith(FORMULA_STARTS):
            cell.data_type = "s"


def put_row(ws, number: int, values: Sequence[object]) -> None:
    """Write a row at the given row number (1-based), from column A, with append_row's safety."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    for column, value in enumerate(values, start=1):
        if value is None:
            continue
        cell = ws.cell(number, column, ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value)
        if isinstance(cell.value, str) and cell.value.startswith(FORMULA_STARTS):
            cell.data_type = "s"
