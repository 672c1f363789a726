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
