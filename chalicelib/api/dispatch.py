"""Dispatch, its progress, reminders and e-mail corrections."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.api import schemas as s
from chalicelib.api.routing import Ctx, route
from chalicelib.domain.campaign import PROVINCE
from chalicelib.runtime import runtime
from chalicelib.services import address_changes, dispatch

bp = Blueprint(__name__)
UNIT = "/campaigns/{cid}/units/{unit}"


@route(bp, "/campaigns/{cid}/dispatch", "POST", roles=("moha",),
       summary="Phát hành phiếu khảo sát: gửi thư mời tới các đơn vị đã gửi danh sách (hoặc các đơn vị chọn)",
       request=s.DISPATCH_REQ, response=s.DISPATCH_STARTED, status=202, errors=(404, 409, 422, 423))
def start_dispatch(ctx: Ctx, cid: str) -> dict:
    units = ctx.json().get("units")
    if units is not None and not (isinstance(units, list) and all(isinstance(u, str) for u in units)):
        from chalicelib.errors import ValidationError
        raise ValidationError("Danh sách đơn vị không hợp lệ.", details=[{"field": "units"}])
    return dispatch.start(ctx.actor, cid, units, ctx.now, runtime.random_bytes)


@route(bp, "/campaigns/{cid}/dispatch", roles=("moha",), summary="Tiến độ phát hành phiếu khảo sát",
       response=s.DISPATCH_RUNS, errors=(404,))
def dispatch_progress(ctx: Ctx, cid: str) -> dict:
    return dispatch.progress(ctx.actor, cid)


@route(bp, f"{UNIT}/reminders", "POST", unit_kind=PROVINCE, summary="Nhắc những người chưa trả lời (tối đa một lần mỗi 24 giờ)",
       request=s.REMINDERS_REQ, response=s.REMINDERS, errors=(404, 422, 423))
def send_reminders(ctx: Ctx, cid: str, unit: str) -> dict:
    rids = ctx.json().get("rids")
    if rids is not None and not (isinstance(rids, list) and all(isinstance(r, str) for r in rids)):
        from chalicelib.errors import ValidationError
        raise ValidationError("Danh sách người cần nhắc không hợp lệ.", details=[{"field": "rids"}])
    return dispatch.remind(ctx.actor, cid, unit, rids, ctx.now, runtime.random_bytes)


@route(bp, f"{UNIT}/reminders/preview", "POST", unit_kind=PROVINCE,
       summary="Trước khi nhắc: số người nhắc được ngay, số người vừa nhận thư trong 24 giờ qua và thời điểm nhắc "
               "được họ (không gửi thư)",
       request=s.REMINDERS_REQ, response=s.REMINDER_PREVIEW, errors=(404, 422, 423))
def preview_reminders(ctx: Ctx, cid: str, unit: str) -> dict:
    rids = ctx.json().get("rids")
    if rids is not None and not (isinstance(rids, list) and all(isinstance(r, str) for r in rids)):
        from chalicelib.errors import ValidationError
        raise ValidationError("Danh sách người cần nhắc không hợp lệ.", details=[{"field": "rids"}])
    return dispatch.reminder_preview(ctx.actor, cid, unit, rids, ctx.now)


@route(bp, f"{UNIT}/roster/{{rid}}/email", "POST", unit_kind=PROVINCE,
       summary="Sửa email của người có thư mời không đến được (bị trả lại, gửi lỗi) và gửi lại phiếu; đường dẫn cũ "
               "hết hiệu lực. Thư mời đã gửi tới người nhận thì phải đề nghị Bộ Nội vụ duyệt",
       request=s.EMAIL_REQ, response=s.EMAIL_CORRECTED, errors=(404, 409, 422, 423))
def correct_email(ctx: Ctx, cid: str, unit: str, rid: str) -> dict:
    email = ctx.json().get("email")
    return address_changes.correct_email(ctx.actor, cid, unit, rid, email if isinstance(email, str) else "", ctx.now,
                                  runtime.random_bytes)


@route(bp, f"{UNIT}/roster/{{rid}}/email-requests", "POST", unit_kind=PROVINCE,
       summary="Đề nghị Bộ Nội vụ đổi email của người nhận phiếu (thư mời đã gửi tới họ), kèm lý do",
       request=s.EMAIL_CHANGE_REQ, response=s.ADDRESS_CHANGE, status=201, errors=(404, 409, 422, 423))
def request_email_change(ctx: Ctx, cid: str, unit: str, rid: str) -> dict:
    return address_changes.request_change(ctx.actor, cid, unit, rid, ctx.json(), ctx.now, runtime.random_bytes)


@route(bp, f"{UNIT}/address-changes", unit_kind=PROVINCE,
       summary="Các lần sửa email, đề nghị đổi email và gửi lại phiếu của đơn vị (địa chỉ được che bớt)",
       response=s.UNIT_ADDRESS_CHANGES, errors=(404, 422),
       query={"state": {"type": "string", "enum": list(address_changes.STATE_FILTERS)}})
def unit_address_changes(ctx: Ctx, cid: str, unit: str) -> dict:
    return address_changes.of_unit(ctx.actor, cid, unit, ctx.query("state"))


@route(bp, "/campaigns/{cid}/address-changes", roles=("moha",),
       summary="Các lần sửa email, đề nghị đổi email và gửi lại phiếu của mọi đơn vị (đề nghị chờ duyệt trước)",
       response=s.ADDRESS_CHANGES, errors=(404, 422),
       query={"state": {"type": "string", "enum": list(address_changes.STATE_FILTERS)}})
def campaign_address_changes(ctx: Ctx, cid: str) -> dict:
    return address_changes.of_campaign(ctx.actor, cid, ctx.query("state"))


@route(bp, f"{UNIT}/address-changes/{{change}}/approve", "POST", unit_kind=PROVINCE, roles=("moha",),
       summary="Đồng ý đề nghị đổi email: gửi lại phiếu tới địa chỉ mới, đường dẫn cũ và bản nháp hết hiệu lực",
       request=s.APPROVE_REQ, response=s.ADDRESS_CHANGE, errors=(404, 409, 422, 423))
def approve_email_change(ctx: Ctx, cid: str, unit: str, change: str) -> dict:
    return address_changes.approve(ctx.actor, cid, unit, change, ctx.json(), ctx.now, runtime.random_bytes)


@route(bp, f"{UNIT}/address-changes/{{change}}/refuse", "POST", unit_kind=PROVINCE, roles=("moha",),
       summary="Không đồng ý đề nghị đổi email (cần lý do): phiếu vẫn gửi tới địa chỉ cũ",
       request=s.REASON, response=s.ADDRESS_CHANGE, errors=(404, 409, 422, 423))
def refuse_email_change(ctx: Ctx, cid: str, unit: str, change: str) -> dict:
    return address_changes.refuse(ctx.actor, cid, unit, change, ctx.json(), ctx.now, runtime.random_bytes)
