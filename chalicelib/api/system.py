"""Health, the OpenAPI document and the audit log."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.api import schemas as s
from chalicelib.api.routing import Ctx, chalice_errors_in_our_shape, route
from chalicelib.config import settings
from chalicelib.domain.timefmt import utc_iso
from chalicelib.services import audit

bp = Blueprint(__name__)
# Registered with this blueprint, it applies to every route of the app.
bp.register_middleware(chalice_errors_in_our_shape, "http")

_AUDIT_QUERY: dict[str, dict] = {
    "from": {"type": "string", "format": "date-time"}, "to": {"type": "string", "format": "date-time"},
    "unit": {"type": "string"}, "actor": {"type": "string"}, "action": {"type": "string"},
    "campaign": {"type": "string"}, "limit": {"type": "integer", "minimum": 1, "maximum": 200},
    "cursor": {"type": "string"}}


@route(bp, "/health", auth=False, summary="Tình trạng dịch vụ", response=s.HEALTH)
def health(ctx: Ctx) -> dict:
    return {"status": "ok", "stage": settings().stage, "time": utc_iso(ctx.now), "source_ip": ctx.source_ip}


@route(bp, "/openapi.json", auth=False, summary="Tài liệu OpenAPI 3 của API", response={"type": "object"})
def openapi(ctx: Ctx) -> dict:
    from chalicelib.api.openapi import document

    return document()


@route(bp, "/audit", roles=("moha",), summary="Nhật ký hệ thống (Bộ Nội vụ)", response=s.AUDIT,
       query=_AUDIT_QUERY, errors=(422,))
def audit_log(ctx: Ctx) -> dict:
    try:
        limit = int(ctx.query("limit", "50") or 50)
    except ValueError:
        limit = 50
    return audit.search(ctx.actor, ctx.now, start=ctx.query("from"), end=ctx.query("to"), unit=ctx.query("unit"),
                        who=ctx.query("actor"), action=ctx.query("action"), cid=ctx.query("campaign"),
                        limit=limit, cursor=ctx.query("cursor"))
