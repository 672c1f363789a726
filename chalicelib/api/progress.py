"""Survey progress for a province and for the ministry, and their workbooks (via short-lived links)."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.api import schemas as s
from chalicelib.api.routing import Ctx, route
from chalicelib.domain.campaign import MINISTRY, PROVINCE
from chalicelib.runtime import runtime
from chalicelib.services import progress

bp = Blueprint(__name__)
UNIT = "/campaigns/{cid}/units/{unit}"
FILTERS: dict[str, dict] = {"group": {"type": "string"}, "status": {"type": "string", "enum": list(progress.FILTER_STATES)},
           "agency": {"type": "string"}, "q": {"type": "string"},
           "limit": {"type": "integer", "minimum": 1, "maximum": 500}, "offset": {"type": "integer", "minimum": 0},
           "people": {"type": "string", "enum": ["true", "false"]}}


def _int(ctx: Ctx, name: str, default: int) -> int:
    try:
        return max(0, int(ctx.query(name, str(default)) or default))
    except ValueError:
        return default


@route(bp, f"{UNIT}/progress", unit_kind=PROVINCE, summary="Chi tiết tiến độ khảo sát của đơn vị (không có nội dung trả lời)",
       response=s.UNIT_PROGRESS, query=FILTERS, errors=(404, 422))
def unit_progress(ctx: Ctx, cid: str, unit: str) -> dict:
    return progress.unit_progress(ctx.actor, cid, unit, group=ctx.query("group"), status=ctx.query("status"),
                                  agency=ctx.query("agency"), search=ctx.query("q"), limit=_int(ctx, "limit", 50),
                                  offset=_int(ctx, "offset", 0), people=ctx.query("people", "true") != "false")


@route(bp, f"{UNIT}/progress.xlsx", unit_kind=PROVINCE, summary="Xuất tiến độ khảo sát của đơn vị (đường dẫn tải tệp .xlsx)",
       response=s.EXPORT_LINK, errors=(404,))
def unit_progress_export(ctx: Ctx, cid: str, unit: str) -> dict:
    return progress.unit_export(ctx.actor, cid, unit, ctx.now, runtime.random_bytes)


@route(bp, f"{UNIT}/ministry-survey", unit_kind=MINISTRY,
       summary="Tiến độ khảo sát về bộ, ngành: số người được mời đánh giá và đã trả lời, theo tỉnh và nhóm (chỉ số "
               "lượng)", response=s.MINISTRY_SURVEY, errors=(404,))
def ministry_survey(ctx: Ctx, cid: str, unit: str) -> dict:
    return progress.ministry_survey(ctx.actor, cid, unit)


@route(bp, "/campaigns/{cid}/progress", roles=("moha",), summary="Tiến độ khảo sát toàn quốc",
       response=s.NATIONAL_PROGRESS, errors=(404, 422),
       query={"sort": {"type": "string", "enum": ["code", "name", "rate", "submitted", "bounced"]}})
def national_progress(ctx: Ctx, cid: str) -> dict:
    return progress.national(ctx.actor, cid, ctx.query("sort", "code") or "code")


@route(bp, "/campaigns/{cid}/progress.xlsx", roles=("moha",), summary="Xuất tiến độ khảo sát toàn quốc",
       response=s.EXPORT_LINK, errors=(404,))
def national_progress_export(ctx: Ctx, cid: str) -> dict:
    return progress.national_export(ctx.actor, cid, ctx.now, runtime.random_bytes)
