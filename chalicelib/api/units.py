"""Unit-scoped routes: /campaigns/{cid}/units/{unit}/…"""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.api import schemas as s
from chalicelib.api.routing import Ctx, route
from chalicelib.domain.campaign import PROVINCE
from chalicelib.services import audit, campaigns, focal

bp = Blueprint(__name__)
UNIT = "/campaigns/{cid}/units/{unit}"


@route(bp, f"{UNIT}/focal-person", unit_kind=PROVINCE, summary="Cán bộ đầu mối CNTT của đơn vị", response=s.FOCAL, errors=(404,))
def get_focal_person(ctx: Ctx, cid: str, unit: str) -> dict:
    return focal.get(ctx.actor, cid, unit)


@route(bp, f"{UNIT}/focal-person", "PUT", unit_kind=PROVINCE, summary="Cập nhật cán bộ đầu mối CNTT", request=s.FOCAL_REQ,
       response=s.FOCAL, errors=(400, 404, 422, 423))
def put_focal_person(ctx: Ctx, cid: str, unit: str) -> dict:
    return focal.put(ctx.actor, cid, unit, ctx.json(), ctx.now, ctx.suffix())


@route(bp, f"{UNIT}/notifications", summary="Thông báo gửi đơn vị", response=s.NOTIFICATIONS, errors=(404,))
def list_notifications(ctx: Ctx, cid: str, unit: str) -> dict:
    campaigns.unit_access(ctx.actor, cid, unit)
    return audit.notifications(cid, unit)
