"""The respondent's routes. No account: the link's token comes in the X-Survey-Token header (never the URL)."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.api import schemas as s
from chalicelib.api.routing import Ctx, route
from chalicelib.runtime import runtime
from chalicelib.services import survey

bp = Blueprint(__name__)
TOKEN = {"X-Survey-Token": {"type": "string", "maxLength": 200}}
MAX_ANSWERS_BODY = 256 * 1024


def _token(ctx: Ctx) -> str | None:
    return ctx.request.headers.get("x-survey-token")


def _agent(ctx: Ctx) -> str:
    return ctx.request.headers.get("user-agent") or ""


@route(bp, "/survey", auth=False, summary="Mở phiếu khảo sát theo đường dẫn (không ghi nhận, không tiêu hao)",
       headers=TOKEN, response=s.SURVEY, errors=(404, 409, 423, 429))
def open_survey(ctx: Ctx) -> dict:
    return survey.open_survey(_token(ctx), ctx.source_ip, ctx.now)


@route(bp, "/survey/draft", "PUT", auth=False, summary="Lưu nháp câu trả lời", headers=TOKEN,
       request=s.ANSWERS_REQ, response=s.DRAFT_SAVED, errors=(404, 409, 413, 422, 423, 429))
def save_draft(ctx: Ctx) -> dict:
    body = ctx.json(MAX_ANSWERS_BODY)
    return survey.save_draft(_token(ctx), body.get("answers"), ctx.source_ip, _agent(ctx), ctx.now)


@route(bp, "/survey/submit", "POST", auth=False, summary="Gửi phiếu (mỗi phiếu một lần)", headers=TOKEN,
       request=s.ANSWERS_REQ, response=s.RECEIPT, status=201, errors=(404, 409, 413, 422, 423, 429))
def submit(ctx: Ctx) -> dict:
    body = ctx.json(MAX_ANSWERS_BODY)
    return survey.submit(_token(ctx), body.get("answers"), ctx.source_ip, _agent(ctx), ctx.now, runtime.random_bytes)
