"""Dispatch, its progress, reminders and e-mail corrections."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.api import schemas as s
from chalicelib.api.routing import Ctx, route
from chalicelib.runtime import runtime
from chalicelib.services import dispatch

bp = Blueprint(__name__)
UNIT = "/campaigns/{cid}/units/{unit}"


@route(bp, "/campaigns/{cid}/dispatch", "POST", roles=("ministry",),
       summary="Phát hành phiếu khảo sát: gửi thư mời tới các đơn vị đã gửi danh sách (hoặc các đơn vị chọn)",
       request=s.DISPATCH_REQ, response=s.DISPATCH_STARTED, status=202, errors=(404, 409, 422, 423))
def start_dispatch(ctx: Ctx, cid: str) -> dict:
    units = ctx.json().get("units")
    if units is not None and not (isinstance(units, list) and all(isinstance(u, str) for u in units)):
        from chalicelib.errors import ValidationError
        raise ValidationError("Danh sách đơn vị không hợp lệ.", details=[{"field": "units"}])
    return dispatch.start(ctx.actor, cid, units, ctx.now, runtime.random_bytes)


@route(bp, "/campaigns/{cid}/dispatch", roles=("ministry",), summary="Tiến độ phát hành phiếu khảo sát",
       response=s.DISPATCH_RUNS, errors=(404,))
def dispatch_progress(ctx: Ctx, cid: str) -> dict:
    return dispatch.progress(ctx.actor, cid)


@route(bp, f"{UNIT}/reminders", "POST", summary="Nhắc những người chưa trả lời (tối đa một lần mỗi 24 giờ)",
       request=s.REMINDERS_REQ, response=s.REMINDERS, errors=(404, 422, 423))
def send_reminders(ctx: Ctx, cid: str, unit: str) -> dict:
    rids = ctx.json().get("rids")
    if rids is not None and not (isinstance(rids, list) and all(isinstance(r, str) for r in rids)):
        from chalicelib.errors import ValidationError
        raise ValidationError("Danh sách người cần nhắc không hợp lệ.", details=[{"field": "rids"}])
    return dispatch.remind(ctx.actor, cid, unit, rids, ctx.now, runtime.random_bytes)


@route(bp, f"{UNIT}/roster/{{rid}}/email", "POST",
       summary="Sửa email của người nhận (thư bị trả lại) và gửi lại phiếu; đường dẫn cũ hết hiệu lực",
       request=s.EMAIL_REQ, response=s.EMAIL_CORRECTED, errors=(404, 409, 422, 423))
def correct_email(ctx: Ctx, cid: str, unit: str, rid: str) -> dict:
    email = ctx.json().get("email")
    return dispatch.correct_email(ctx.actor, cid, unit, rid, email if isinstance(email, str) else "", ctx.now,
                                  runtime.random_bytes)
