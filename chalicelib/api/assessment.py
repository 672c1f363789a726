"""Self-assessment, appraisal and the PAR Index: /campaigns/{cid}/framework, …/units/{unit}/assessment…,
/campaigns/{cid}/results(.xlsx)."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.routing import Ctx, route
from chalicelib.api.schemas import BOOL, EXPORT_LINK, INT, NSTR, PHASE, STR, UNIT_KIND, arr, obj
from chalicelib.runtime import runtime
from chalicelib.services import assessment, results

bp = Blueprint(__name__)
UNIT = "/campaigns/{cid}/units/{unit}"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_JSON = 1024 * 1024

NUM = {"type": "number"}
NNUM = {"type": ["number", "null"]}
_METHOD = {"type": ["string", "null"], "enum": ["self", "survey", "imported", None]}
_NODE_PROPS = {"code": STR, "name": STR, "max": NUM, "level": {"type": "string",
                                                              "enum": ["field", "criterion", "subcriterion"]},
               "method": _METHOD, "method_label": NSTR, "step": NNUM, "guidance": STR,
               "children": {"type": "array", "items": {"type": "object"}}}  # nodes of the same shape
FRAMEWORK_NODE = {"type": "object", "properties": _NODE_PROPS, "required": list(_NODE_PROPS),
                  "additionalProperties": True}
FRAMEWORK = obj(campaign=STR, kind=UNIT_KIND, title=STR, sample=BOOL, version=INT, maximum=NUM,
                survey_average=STR, fields=arr(FRAMEWORK_NODE))
# ?kind=: whose framework or results (the provinces' when absent); anything else is refused with 400
KIND_QUERY = {"kind": UNIT_KIND}
_NODE_IN = {"type": "object", "required": ["code", "name"], "properties": {
    "code": STR, "name": STR, "max": NUM, "method": STR, "step": NUM, "guidance": STR,
    "criteria": {"type": "array", "items": {"type": "object"}}}}
FRAMEWORK_REQ = {"type": "object", "required": ["title", "fields"], "properties": {
    "title": {"type": "string", "maxLength": 300}, "sample": BOOL, "maximum": NUM, "kind": UNIT_KIND,
    "survey_average": {"type": "string", "enum": ["groups", "respondents"]}, "fields": arr(_NODE_IN)}}

EVIDENCE = obj(id=STR, filename=STR, size=INT, content_type=STR, uploaded_at=STR, url=STR)
APPRAISAL = {"type": ["object", "null"], "properties": {"score": NUM, "comment": STR, "at": NSTR},
             "required": ["score", "comment", "at"]}
_ANODE_PROPS = {**_NODE_PROPS, "self_total": NUM, "self_max": NUM, "appraised_total": NNUM,
                "children": {"type": "array", "items": {"type": "object"}}}
ASSESSMENT_NODE = {"type": "object", "properties": {
    **_ANODE_PROPS, "score": NNUM, "note": STR, "explanation": STR, "evidence": arr(EVIDENCE), "updated_at": NSTR,
    "appraisal": APPRAISAL}, "required": list(_ANODE_PROPS), "additionalProperties": True}
TOTALS = obj(self=NUM, self_max=NUM, appraised=NNUM, maximum=NUM)
APPROVAL = {"type": ["object", "null"], "properties": {
    "leader_name": STR, "leader_position": STR, "decision_number": STR, "decision_date": STR, "report": EVIDENCE,
    "approved_at": NSTR, "approved_by": STR}}
ASSESSMENT = obj(
    campaign=STR, unit=STR, unit_name=STR, framework=obj(title=STR, sample=BOOL, version=INT, maximum=NUM),
    state={"type": "string", "enum": ["draft", "approved", "locked"]}, state_label=STR, editable=BOOL,
    appraisable=BOOL, phase={"type": ["object", "null"], "properties": PHASE["properties"]}, approval=APPROVAL,
    locked_at=NSTR, reopened=arr(obj(["at", "by", "reason"], at=STR, by=STR, reason=STR)),
    appraisal_published=BOOL, published_at=NSTR,
    missing=arr(obj(["code", "reason", "message"], code=STR, reason=STR, message=STR)), totals=TOTALS,
    fields=arr(ASSESSMENT_NODE))
ITEM_REQ = {"type": "object", "additionalProperties": False, "properties": {
    "score": NNUM, "note": {"type": ["string", "null"], "maxLength": 2000},
    "explanation": {"type": ["string", "null"], "maxLength": 2000}, "evidence": arr(STR)}}
ITEM_SAVED = obj(item=ASSESSMENT_NODE, totals=TOTALS, fields=arr(obj(code=STR, self_total=NUM, self_max=NUM)))
UPLOAD_REQ = {"type": "object", "required": ["code", "filename", "size"], "properties": {
    "code": {"type": "string", "description": "mã mục (1.1.1) hoặc “report” cho báo cáo đã ký"},
    "filename": {"type": "string", "maxLength": 200}, "content_type": STR, "size": INT}}
UPLOAD = obj(evidence_id=STR, url=STR, fields={"type": "object", "additionalProperties": {"type": "string"}},
             max_bytes=INT, expires_in=INT)
APPROVE_REQ = {"type": "object", "required": ["leader_name", "leader_position", "decision_number", "decision_date",
                                              "report"], "properties": {
    "leader_name": {"type": "string", "maxLength": 200}, "leader_position": {"type": "string", "maxLength": 200},
    "decision_number": {"type": "string", "maxLength": 200},
    "decision_date": {"type": "string", "description": "dd/mm/yyyy"}, "report": STR}}
REASON_REQ = {"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string",
                                                                                   "maxLength": 500}}}
APPRAISAL_REQ = {"type": "object", "required": ["score"], "additionalProperties": False, "properties": {
    "score": NUM, "comment": {"type": ["string", "null"], "maxLength": 2000}}}
APPRAISED = obj(item=ASSESSMENT_NODE, totals=TOTALS)
_PART = obj(points=NUM, max=NUM)
RESULT_UNIT = obj(
    # rank: null for a unit assessed but not ranked (`ranked` false: UBDT, TTCP), listed after the ranked ones
    unit=STR, name=STR, rank={"type": ["integer", "null"]}, ranked=BOOL, index=NUM, points=NUM, grade=STR,
    annulled=BOOL, provisional=BOOL, responses=INT, assessment_state=STR, appraisal_published=BOOL,
    parts=obj(self=_PART, survey=_PART, imported=_PART), fields={"type": "object", "additionalProperties": _PART},
    lines={"type": "object", "additionalProperties": NUM}, has_data=BOOL, survey={"type": "object"},
    integrity={"type": ["object", "null"]})
RESULTS = obj(campaign=STR, name=STR, kind=UNIT_KIND,
              # null only for the ministries of a campaign that has none and no framework of theirs
              framework={"type": ["object", "null"], "properties": {"title": STR, "sample": BOOL, "version": INT},
                         "required": ["title", "sample", "version"]},
              maximum=NNUM, grades=arr(obj(code=STR, name=STR, min=NUM)), average=NUM,
              grade_counts={"type": "object", "additionalProperties": INT},
              fields=arr(obj(code=STR, name=STR, max=NUM)), units=arr(RESULT_UNIT))


# ------------------------------------------------------------------------------------------------ framework

@route(bp, "/campaigns/{cid}/framework", summary="Bộ tiêu chí của đợt đánh giá (lĩnh vực, tiêu chí, tiêu chí "
       "thành phần, điểm tối đa, phương thức chấm) cho các tỉnh, thành phố hoặc (kind=ministry) các bộ, cơ quan "
       "ngang bộ", response=FRAMEWORK, query=KIND_QUERY, errors=(400, 404))
def get_framework(ctx: Ctx, cid: str) -> dict:
    return assessment.framework_view(ctx.actor, cid, assessment.unit_kind(ctx.query("kind")))


@route(bp, "/campaigns/{cid}/framework", "PUT", roles=("moha",),
       summary="Nhập bộ tiêu chí (JSON hoặc tệp Excel) của các tỉnh, thành phố hoặc (kind=ministry) các bộ, cơ quan "
       "ngang bộ; không được sau khi có đơn vị loại đó đã gửi bản tự đánh giá",
       content_types=["application/json", XLSX, "application/octet-stream"], request=FRAMEWORK_REQ,
       response=FRAMEWORK, query=KIND_QUERY, errors=(400, 404, 409, 413, 415, 422))
def replace_framework(ctx: Ctx, cid: str) -> dict:
    kind = assessment.unit_kind(ctx.query("kind"))
    raw = ctx.body()
    content_type = (ctx.request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/json":
        return assessment.import_framework_workbook(ctx.actor, cid, raw, ctx.now, ctx.suffix(), kind)
    body = ctx.json(MAX_JSON, "Nội dung bộ tiêu chí quá lớn (tối đa 1 MB).")
    return assessment.replace_framework(ctx.actor, cid, body, ctx.now, ctx.suffix(), kind)


@route(bp, "/campaigns/{cid}/framework.xlsx", roles=("moha",),
       summary="Tải bộ tiêu chí dạng Excel (mẫu để sửa rồi nhập lại) của các tỉnh, thành phố hoặc (kind=ministry) "
       "các bộ, cơ quan ngang bộ", response=EXPORT_LINK, query=KIND_QUERY, errors=(400, 404))
def export_framework(ctx: Ctx, cid: str) -> dict:
    return assessment.framework_template(ctx.actor, cid, ctx.now, runtime.random_bytes,
                                         assessment.unit_kind(ctx.query("kind")))


# ------------------------------------------------------------------------------------------------ assessment

@route(bp, f"{UNIT}/assessment", summary="Bản tự đánh giá, chấm điểm của đơn vị (cây tiêu chí, điểm, tài liệu "
       "kiểm chứng, tổng điểm, trạng thái, thẩm định khi đã công bố)", response=ASSESSMENT, errors=(404,))
def get_assessment(ctx: Ctx, cid: str, unit: str) -> dict:
    return assessment.view(ctx.actor, cid, unit, ctx.now)


@route(bp, f"{UNIT}/assessment/items/{{code}}", "PUT", summary="Tự chấm điểm một mục (điểm, ghi chú, tài liệu "
       "kiểm chứng hoặc giải trình)", request=ITEM_REQ, response=ITEM_SAVED,
       errors=(400, 403, 404, 409, 422, 423))
def put_item(ctx: Ctx, cid: str, unit: str, code: str) -> dict:
    return assessment.save_item(ctx.actor, cid, unit, code, ctx.json(), ctx.now, ctx.suffix())


@route(bp, f"{UNIT}/assessment/evidence", "POST", summary="Xin đường dẫn tải tài liệu kiểm chứng lên thẳng kho "
       "lưu trữ (PDF, Word, Excel, ảnh; tối đa 20 MB)", request=UPLOAD_REQ, response=UPLOAD, status=201,
       errors=(400, 403, 404, 409, 422, 423))
def post_evidence(ctx: Ctx, cid: str, unit: str) -> dict:
    return assessment.start_upload(ctx.actor, cid, unit, ctx.json(), ctx.now, runtime.random_bytes)


@route(bp, f"{UNIT}/assessment/approve", "POST", summary="Ghi nhận phê duyệt báo cáo tự đánh giá và gửi Bộ Nội vụ "
       "(sau đó không sửa được điểm)", request=APPROVE_REQ, response=ASSESSMENT,
       errors=(400, 403, 404, 409, 422, 423))
def post_approve(ctx: Ctx, cid: str, unit: str) -> dict:
    return assessment.approve(ctx.actor, cid, unit, ctx.json(), ctx.now, ctx.suffix())


@route(bp, f"{UNIT}/assessment/approve", "DELETE", roles=("moha",), summary="Mở lại bản tự đánh giá để đơn vị "
       "sửa (nêu lý do)", request=REASON_REQ, response=ASSESSMENT, errors=(400, 404, 409, 422))
def delete_approve(ctx: Ctx, cid: str, unit: str) -> dict:
    return assessment.reopen(ctx.actor, cid, unit, ctx.json(), ctx.now, ctx.suffix())


@route(bp, f"{UNIT}/assessment/items/{{code}}/appraisal", "PUT", roles=("moha",),
       summary="Thẩm định một mục (điểm thẩm định, nhận xét) hoặc nhập điểm từ nguồn khác (SIPAS …)",
       request=APPRAISAL_REQ, response=APPRAISED, errors=(400, 404, 409, 422, 423))
def put_appraisal(ctx: Ctx, cid: str, unit: str, code: str) -> dict:
    return assessment.appraise(ctx.actor, cid, unit, code, ctx.json(), ctx.now, ctx.suffix())


@route(bp, f"{UNIT}/assessment/publish", "POST", roles=("moha",),
       summary="Công bố kết quả thẩm định cho đơn vị", response=ASSESSMENT, errors=(404, 409))
def post_publish(ctx: Ctx, cid: str, unit: str) -> dict:
    return assessment.publish(ctx.actor, cid, unit, ctx.now, ctx.suffix())


# ------------------------------------------------------------------------------------------------ results

@route(bp, "/campaigns/{cid}/results", roles=("moha",), summary="Kết quả Chỉ số CCHC của các tỉnh, thành phố hoặc "
       "(kind=ministry) các bộ, cơ quan ngang bộ: điểm từng phần, chỉ số, xếp hạng (chỉ trong các đơn vị được xếp "
       "hạng), nhóm", response=RESULTS, query=KIND_QUERY, errors=(400, 404))
def get_results(ctx: Ctx, cid: str) -> dict:
    return results.results(ctx.actor, cid, ctx.query("kind"))


@route(bp, "/campaigns/{cid}/results.xlsx", roles=("moha",), summary="Xuất kết quả Chỉ số CCHC (đường dẫn tải "
       "tệp .xlsx: trang tổng hợp và mỗi lĩnh vực một trang, của các tỉnh, thành phố rồi của các bộ, cơ quan ngang "
       "bộ nếu đợt đánh giá có)", response=EXPORT_LINK, errors=(404,))
def export_results(ctx: Ctx, cid: str) -> dict:
    return results.export(ctx.actor, cid, ctx.now, runtime.random_bytes)
