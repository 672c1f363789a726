"""Integrity review and annulment (ministry only)."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.api import schemas as s
from chalicelib.api.routing import Ctx, route
from chalicelib.domain.campaign import PROVINCE
from chalicelib.runtime import runtime
from chalicelib.services import integrity

bp = Blueprint(__name__)


@route(bp, "/campaigns/{cid}/integrity", roles=("moha",),
       summary="Rà soát can thiệp: các đơn vị theo mức rủi ro, dấu hiệu và bằng chứng", response=s.INTEGRITY,
       errors=(404,))
def review(ctx: Ctx, cid: str) -> dict:
    return integrity.review(ctx.actor, cid)


@route(bp, "/campaigns/{cid}/integrity.xlsx", roles=("moha",),
       summary="Xuất bằng chứng rà soát can thiệp (đường dẫn tải tệp .xlsx)", response=s.EXPORT_LINK, errors=(404,))
def export(ctx: Ctx, cid: str) -> dict:
    return integrity.export(ctx.actor, cid, ctx.now, runtime.random_bytes)


@route(bp, "/campaigns/{cid}/integrity/scan", "POST", roles=("moha",), summary="Quét ngay các đơn vị",
       response=s.INTEGRITY, errors=(404,))
def scan(ctx: Ctx, cid: str) -> dict:
    return integrity.run_scan(ctx.actor, cid, ctx.now, runtime.random_bytes)


@route(bp, "/campaigns/{cid}/units/{unit}/annulment", "POST", unit_kind=PROVINCE, roles=("moha",),
       summary="Hủy toàn bộ kết quả khảo sát của đơn vị (cần lý do)", request=s.REASON, response=s.ANNULMENT,
       status=201, errors=(404, 409, 422))
def annul(ctx: Ctx, cid: str, unit: str) -> dict:
    return integrity.annul(ctx.actor, cid, unit, ctx.json().get("reason"), ctx.now, runtime.random_bytes)


@route(bp, "/campaigns/{cid}/units/{unit}/annulment", "DELETE", unit_kind=PROVINCE, roles=("moha",),
       summary="Khôi phục kết quả khảo sát đã hủy (cần lý do)", request=s.REASON, response=s.ANNULMENT,
       errors=(404, 409, 422))
def reinstate(ctx: Ctx, cid: str, unit: str) -> dict:
    return integrity.reinstate(ctx.actor, cid, unit, ctx.json().get("reason"), ctx.now, runtime.random_bytes)
