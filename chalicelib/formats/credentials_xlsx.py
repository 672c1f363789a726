"""The credentials workbook the ministry hands out (one row per account)."""
from __future__ import annotations

import io

from chalicelib.domain.access import ROLE_NAMES


def credentials_workbook(issued: list[dict]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    ws = wb.active
    ws.title = "Tài khoản"
    ws.append(["STT", "Mã đơn vị", "Đơn vị", "Vai trò", "Tên đăng nhập", "Mật khẩu", "Ghi chú"])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(vertical="center", wrap_text=True)
    for i, item in enumerate(issued, start=1):
        ws.append([i, item.get("unit") or "", item.get("unit_name") or item["display_name"],
                   ROLE_NAMES.get(item["role"], item["role"]),
                   item["username"], item["password"],
                   "Đổi mật khẩu ngay sau lần đăng nhập đầu tiên; không chia sẻ tài khoản."])
    for column, width in zip("ABCDEFG", (6, 11, 32, 22, 16, 20, 60)):
        ws.column_dimensions[column].width = width
    ws.freeze_panes = "A2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
