"""Campaigns and phases."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.api import schemas as s
from chalicelib.api.routing import Ctx, route
from chalicelib.runtime import runtime
from chalicelib.services import campaigns

bp = Blueprint(__name__)


@route(bp, "/campaigns", summary="Danh sách đợt đánh giá", response=s.CAMPAIGN_LIST)
def list_campaigns(ctx: Ctx) -> dict:
    return campaigns.list_for(ctx.actor, ctx.now)


@route(bp, "/campaigns", "POST", summary="Tạo đợt đánh giá (Bộ Nội vụ)", roles=("moha",),
       request=s.CAMPAIGN_CREATE, response=s.CAMPAIGN_SUMMARY, status=201, errors=(400, 409, 422))
def create_campaign(ctx: Ctx) -> dict:
    return campaigns.create(ctx.actor, ctx.json(), ctx.now, runtime.random_bytes)


@route(bp, "/campaigns/{cid}", summary="Chi tiết đợt đánh giá", response=s.CAMPAIGN_DETAIL, errors=(404,))
def get_campaign(ctx: Ctx, cid: str) -> dict:
    return campaigns.detail(ctx.actor, cid, ctx.now)


@route(bp, "/campaigns/{cid}/phases/{phase}", "PATCH", roles=("moha",),
       summary="Điều chỉnh, gia hạn thời hạn một giai đoạn (cho tất cả hoặc một đơn vị)",
       request=s.PHASE_PATCH, response=s.PHASE_CHANGED, errors=(400, 404, 409, 422))
def change_phase(ctx: Ctx, cid: str, phase: str) -> dict:
    return campaigns.change_phase(ctx.actor, cid, phase, ctx.json(), ctx.now, runtime.random_bytes)
