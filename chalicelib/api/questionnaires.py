"""Questionnaires of a campaign: read (ministry, and provinces of the campaign), replace from JSON or a workbook
(ministry), export as a workbook to edit and import again."""
from __future__ import annotations

from urllib.parse import quote

from chalice import Blueprint, Response

from chalicelib.api.routing import Ctx, route
from chalicelib.api.schemas import BOOL, INT, NSTR, STR, arr, obj
from chalicelib.runtime import runtime
from chalicelib.services import questionnaires

bp = Blueprint(__name__)
BASE = "/campaigns/{cid}/questionnaires"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_JSON = 1024 * 1024  # a real questionnaire is some tens of KB; the domain caps it at 300 KB

_NUM = {"type": "number"}
# score and criterion: the ministry's view only (a province reads questionnaires as respondents see them)
OPTION = obj(["value", "label"], value=STR, label=STR, score=_NUM)
_QUESTION_PROPS = {"id": STR, "text": STR, "type": {"type": "string", "enum": ["single", "multi", "text"]},
                   "required": BOOL, "criterion": NSTR, "options": arr(OPTION),
                   "max_length": {"type": ["integer", "null"]}}
QUESTION = {"type": "object", "properties": _QUESTION_PROPS,
            "required": [p for p in _QUESTION_PROPS if p != "criterion"], "additionalProperties": True}
SECTION = obj(title=STR, questions=arr(QUESTION))
SUMMARY_FIELDS: dict[str, dict] = dict(qid=STR, purpose={"type": "string", "enum": ["locality", "ministry"]}, purpose_name=STR,
                      group=STR, group_name=STR, title=STR, sample=BOOL, version=INT, locked=BOOL, locked_at=NSTR,
                      locked_at_label=NSTR, updated_at=STR, updated_at_label=STR, updated_by=STR, question_count=INT)
SUMMARY = obj(**SUMMARY_FIELDS)
DETAIL = obj(**SUMMARY_FIELDS, description=STR, sections=arr(SECTION))
REPLACED = {**DETAIL, "properties": {**DETAIL["properties"], "changed": BOOL}}
LISTING = obj(items=arr(SUMMARY), missing=arr(obj(qid=STR, purpose=STR, purpose_name=STR, group=STR,
                                                    group_name=STR)))
REPLACE_REQ = {"type": "object", "required": ["title", "sections"],
               "properties": {"title": {"type": "string", "maxLength": 300}, "description": STR, "sample": BOOL,
                              "version": {"type": "integer", "description": "phiên bản đang sửa (nếu có)"},
                              "sections": arr(SECTION)}}


@route(bp, BASE, summary="Danh sách phiếu khảo sát của đợt đánh giá", response=LISTING, errors=(404,))
def list_questionnaires(ctx: Ctx, cid: str) -> dict:
    return questionnaires.list_for(ctx.actor, cid)


@route(bp, f"{BASE}/{{qid}}", summary="Nội dung một phiếu khảo sát (phần, câu hỏi, phương án; điểm và tiêu chí chỉ Bộ Nội vụ xem)",
       response=DETAIL, errors=(404,))
def get_questionnaire(ctx: Ctx, cid: str, qid: str) -> dict:
    return questionnaires.get(ctx.actor, cid, qid)


@route(bp, f"{BASE}/{{qid}}", "PUT", roles=("moha",),
       summary="Nhập phiếu khảo sát (JSON hoặc tệp Excel), tạo phiên bản mới; không được sau khi đã gửi đường dẫn",
       content_types=["application/json", XLSX, "application/octet-stream"], request=REPLACE_REQ,
       response=REPLACED, errors=(400, 404, 409, 413, 415, 422))
def replace_questionnaire(ctx: Ctx, cid: str, qid: str) -> dict:
    raw = ctx.body()
    content_type = (ctx.request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/json":
        return questionnaires.import_workbook(ctx.actor, cid, qid, raw, ctx.now, runtime.random_bytes)
    body = ctx.json(MAX_JSON, "Nội dung phiếu quá lớn (tối đa 1 MB).")
    return questionnaires.replace(ctx.actor, cid, qid, body, ctx.now, runtime.random_bytes)


@route(bp, f"{BASE}/{{qid}}/workbook", summary="Tải phiếu khảo sát dạng Excel (để sửa rồi nhập lại)", produces=XLSX,
       response={"type": "string", "format": "binary"}, errors=(404,))
def export_questionnaire(ctx: Ctx, cid: str, qid: str) -> Response:
    data, filename = questionnaires.export_workbook(ctx.actor, cid, qid)
    return Response(body=data, status_code=200, headers={
        "Content-Type": XLSX, "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
        "Cache-Control": "no-store"})
