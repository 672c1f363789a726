"""Survey answers, read by the ministry only (each read audited)."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.api import schemas as s
from chalicelib.api.routing import Ctx, route
from chalicelib.domain.campaign import PROVINCE
from chalicelib.runtime import runtime
from chalicelib.services import responses

bp = Blueprint(__name__)


@route(bp, "/campaigns/{cid}/units/{unit}/responses", unit_kind=PROVINCE, roles=("moha",),
       summary="Nội dung trả lời phiếu khảo sát của đơn vị (không kèm danh tính người trả lời; mỗi lần xem được "
               "ghi nhật ký)",
       response=s.SURVEY_RESPONSES, errors=(404, 422),
       query={"qid": {"type": "string"}, "limit": {"type": "integer", "minimum": 1, "maximum": responses.MAX_LIMIT},
              "cursor": {"type": "string"}})
def unit_responses(ctx: Ctx, cid: str, unit: str) -> dict:
    try:
        limit = int(ctx.query("limit", str(responses.DEFAULT_LIMIT)) or responses.DEFAULT_LIMIT)
    except ValueError:
        limit = responses.DEFAULT_LIMIT
    return responses.unit_responses(ctx.actor, cid, unit, qid=ctx.query("qid"), limit=limit,
                                    cursor=ctx.query("cursor"), now=ctx.now, random_bytes=runtime.random_bytes)
