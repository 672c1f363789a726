"""The mail desk of a province, preflights, and the reputation guard (the ministry's hand)."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.api import schemas as s
from chalicelib.api.routing import Ctx, route
from chalicelib.domain.campaign import PROVINCE
from chalicelib.errors import ValidationError
from chalicelib.runtime import runtime
from chalicelib.services import delivery

bp = Blueprint(__name__)
UNIT = "/campaigns/{cid}/units/{unit}"


def _reason(ctx: Ctx) -> str:
    reason = ctx.json().get("reason") or ""
    if not isinstance(reason, str) or len(reason) > 500:
        raise ValidationError("Lý do không hợp lệ (tối đa 500 ký tự).", details=[{"field": "reason"}])
    return reason.strip()


@route(bp, f"{UNIT}/mail", unit_kind=PROVINCE, summary="Thư của đơn vị: tên miền thư, kết quả gửi, kiểm tra trước, điều cần cho phép",
       response=s.MAIL_DESK, errors=(404,))
def mail_desk(ctx: Ctx, cid: str, unit: str) -> dict:
    return delivery.desk(ctx.actor, cid, unit)


@route(bp, f"{UNIT}/mail/preflight", "POST", unit_kind=PROVINCE, status=202, request=s.PREFLIGHT_REQ, response=s.MAIL_DESK,
       summary="Gửi thư kiểm tra tới cán bộ đầu mối và tối đa ba địa chỉ của mỗi tên miền được chọn",
       errors=(404, 422))
def mail_preflight(ctx: Ctx, cid: str, unit: str) -> dict:
    return delivery.start_preflight(ctx.actor, cid, unit, ctx.json(), ctx.now, runtime.random_bytes)


@route(bp, "/campaigns/{cid}/mail-guard", roles=("moha",), response=s.MAIL_GUARD, errors=(404,),
       summary="Bảo vệ uy tín gửi thư: các đơn vị bị tạm dừng và việc dừng toàn bộ")
def mail_guard(ctx: Ctx, cid: str) -> dict:
    return delivery.guard(ctx.actor, cid)


@route(bp, f"{UNIT}/mail/resume", "POST", unit_kind=PROVINCE, roles=("moha",), request=s.REASON_OPTIONAL, response=s.MAIL_STOP,
       summary="Cho đơn vị gửi thư tiếp sau khi bị tạm dừng", errors=(404, 409, 422))
def resume_unit_mail(ctx: Ctx, cid: str, unit: str) -> dict:
    return delivery.resume_unit(ctx.actor, cid, unit, _reason(ctx), ctx.now, ctx.suffix())


@route(bp, "/mail-breaker/reset", "POST", roles=("moha",), request=s.REASON_OPTIONAL, response=s.MAIL_STOP,
       summary="Cho gửi thư tiếp sau khi dừng toàn bộ", errors=(409, 422))
def reset_breaker(ctx: Ctx) -> dict:
    return delivery.reset_breaker(ctx.actor, _reason(ctx), ctx.now, ctx.suffix())
