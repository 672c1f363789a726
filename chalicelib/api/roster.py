"""The roster: template, imports, review, single rows, sending to the ministry."""
from __future__ import annotations

from urllib.parse import quote

from chalice import Blueprint, Response

from chalicelib.api import schemas as s
from chalicelib.api.routing import Ctx, route
from chalicelib.domain.campaign import PROVINCE
from chalicelib.runtime import runtime
from chalicelib.services import audit, roster

bp = Blueprint(__name__)
UNIT = "/campaigns/{cid}/units/{unit}"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BINARY = [XLSX, "application/octet-stream"]


@route(bp, "/campaigns/{cid}/roster-template.xlsx", unit_kind=PROVINCE, summary="Tải mẫu danh sách đối tượng điều tra XHH (.xlsx)",
       produces=XLSX, response={"type": "string", "format": "binary"}, errors=(404,))
def roster_template(ctx: Ctx, cid: str) -> Response:
    data, filename = roster.template(ctx.actor, cid, ctx.now)
    return Response(body=data, status_code=200, headers={
        "Content-Type": XLSX, "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
        "Cache-Control": "no-store"})


@route(bp, f"{UNIT}/roster/imports", "POST", unit_kind=PROVINCE, summary="Nhập danh sách từ tệp Excel (toàn bộ hoặc không dòng nào)",
       content_types=BINARY, request={"type": "string", "format": "binary"}, response=s.ROSTER_IMPORT,
       query={"mode": {"type": "string", "enum": ["merge", "replace"]}}, errors=(404, 409, 413, 415, 422, 423))
def import_roster(ctx: Ctx, cid: str, unit: str) -> dict:
    return roster.import_workbook(ctx.actor, cid, unit, ctx.body(), ctx.query("mode", "merge"),
                                  ctx.now, runtime.random_bytes)


@route(bp, f"{UNIT}/roster", unit_kind=PROVINCE, summary="Danh sách đối tượng của đơn vị (lọc, tìm kiếm, phân trang)",
       response=s.ROSTER_PAGE, errors=(404,),
       query={"group": {"type": "string"}, "q": {"type": "string"},
              "limit": {"type": "integer", "minimum": 1, "maximum": 500}, "cursor": {"type": "string"}})
def list_roster(ctx: Ctx, cid: str, unit: str) -> dict:
    try:
        limit = int(ctx.query("limit", "50") or 50)
    except ValueError:
        limit = 50
    return roster.listing(ctx.actor, cid, unit, group=ctx.query("group"), search=ctx.query("q"), limit=limit,
                          cursor=ctx.query("cursor"))


@route(bp, f"{UNIT}/roster", "POST", unit_kind=PROVINCE, summary="Thêm một người vào danh sách", request=s.RESPONDENT_REQ,
       response=s.RESPONDENT, status=201, errors=(404, 409, 422, 423))
def add_respondent(ctx: Ctx, cid: str, unit: str) -> dict:
    return roster.add_row(ctx.actor, cid, unit, ctx.json(), ctx.now, runtime.random_bytes)


@route(bp, f"{UNIT}/roster/{{rid}}", "PATCH", unit_kind=PROVINCE, summary="Sửa thông tin một người", request=s.RESPONDENT_PATCH,
       response=s.RESPONDENT, errors=(404, 409, 422, 423))
def update_respondent(ctx: Ctx, cid: str, unit: str, rid: str) -> dict:
    return roster.update_row(ctx.actor, cid, unit, rid, ctx.json(), ctx.now, runtime.random_bytes)


@route(bp, f"{UNIT}/roster/{{rid}}", "DELETE", unit_kind=PROVINCE, summary="Xóa một người khỏi danh sách", response=s.OK,
       errors=(404, 409, 423))
def delete_respondent(ctx: Ctx, cid: str, unit: str, rid: str) -> dict:
    return roster.delete_row(ctx.actor, cid, unit, rid, ctx.now, runtime.random_bytes)


@route(bp, f"{UNIT}/roster/submit", "POST", unit_kind=PROVINCE, summary="Gửi danh sách về Bộ Nội vụ", response=s.ROSTER_STATUS,
       errors=(404, 409, 422, 423))
def submit_roster(ctx: Ctx, cid: str, unit: str) -> dict:
    return roster.submit(ctx.actor, cid, unit, ctx.now, runtime.random_bytes)


@route(bp, f"{UNIT}/roster/submit", "DELETE", unit_kind=PROVINCE, roles=("moha",),
       summary="Mở lại danh sách đã gửi (Bộ Nội vụ, cần lý do)", request=s.REASON, response=s.ROSTER_STATUS,
       errors=(404, 409, 422))
def reopen_roster(ctx: Ctx, cid: str, unit: str) -> dict:
    reason = ctx.json().get("reason")
    return roster.reopen(ctx.actor, cid, unit, reason if isinstance(reason, str) else "", ctx.now,
                         runtime.random_bytes)


@route(bp, "/campaigns/{cid}/notifications", roles=("moha",), summary="Thông báo gửi Bộ Nội vụ",
       response=s.NOTIFICATIONS, errors=(404,))
def ministry_notifications(ctx: Ctx, cid: str) -> dict:
    return audit.notifications(cid, "moha")
