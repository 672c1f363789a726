"""Self-assessment (tự đánh giá, chấm điểm), its approval and lock, and the ministry's appraisal.

One implementation for both kinds of unit: a unit (a province, or an assessed ministry) is scored on its campaign's
framework for its kind (`Unit.kind`: the provinces' framework, or the ministries'), by its own account.

Rules: the unit scores the self-scored lines of that framework while the self-assessment phase is open and its
assessment is a draft; each line has a score in the line's steps, a note, and evidence documents (uploaded straight
to S3, checked by content when attached) or an explanation why there are none. The report is approved (leader,
decision number and date, the signed report) once every line is complete; after that, and after the deadline (the
scheduled lock), the unit can change nothing until the Ministry of Home Affairs reopens it. The Ministry of Home
Affairs appraises each self-scored line once the unit submitted, enters the imported lines (SIPAS …), and publishes
the appraisal to the unit."""
from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Callable
from urllib.parse import unquote

from chalicelib.domain import evidence as evidence_rules
from chalicelib.domain import framework as rules
from chalicelib.domain.access import SYSTEM, Actor, require_moha, require_unit
from chalicelib.domain.campaign import MINISTRY, PROVINCE, UNIT_KINDS
from chalicelib.domain.text import clean
from chalicelib.domain.timefmt import local_date, utc_iso
from chalicelib.errors import BadRequestError, ConflictError, ForbiddenError, NotFoundError, ValidationError
from chalicelib.formats import datafiles
from chalicelib.services import audit
from chalicelib.services.phases import phase_windows, require_open
from chalicelib.store.assessment import SUBMITTED, Assessment, AssessmentItem, Framework
from chalicelib.store.campaigns import Campaign, Unit
from chalicelib.store.stores import DYNAMODB, Stores

PHASE = "self_assessment"
APPRAISAL = "appraisal"
MAX_TEXT = 2000
STATE_LABELS = {"draft": "Đang nhập", "approved": "Đã phê duyệt, gửi Bộ Nội vụ", "locked": "Đã khóa (hết hạn)"}
REPORT = "report"
_EVIDENCE_ID = re.compile(r"[0-9a-f]{32}")


# ------------------------------------------------------------------------------------------------ framework

def unit_kind(value: object) -> str:
    """The kind of unit a request names (`?kind=`): the provinces' when it names none."""
    if value is None or value == "":
        return PROVINCE
    if value not in UNIT_KINDS:
        raise BadRequestError("Loại đơn vị (kind) không hợp lệ: chọn “province” (tỉnh, thành phố) hoặc “ministry” "
                              "(bộ, cơ quan ngang bộ).", details=[{"field": "kind"}])
    return str(value)


def survey_criteria(cid: str, kind: str = PROVINCE, *, stores: Stores = DYNAMODB) -> dict[str, list[str]]:
    """criterion → the questionnaires whose scored questions measure it, among those measuring units of `kind`: the
    locality questionnaires for the provinces' framework, the managing-ministry ones for the ministries'."""
    return rules.survey_criteria({item.qid: {"sections": item.sections}
                                  for item in stores.questionnaires.list_for(cid)}, kind)


def seed(definition: dict, now: datetime, kinds: tuple[str, ...] = (PROVINCE,), *, stores: Stores = DYNAMODB) -> list[str]:
    """Put the frameworks a shipped campaign names (`framework_file` for the provinces, `framework_files` for other
    kinds) where its campaign has none yet, for the kinds of unit it has (`kinds`). Returns the kinds put."""
    put = []
    for kind, ref in datafiles.framework_files(definition).items():
        if kind not in kinds or kind not in UNIT_KINDS:
            continue
        normalised = rules.validate_definition(datafiles.load_json(ref), kind=kind)
        if stores.assessment.put_framework(Framework(cid=definition["id"], definition=normalised, version=1,
                                         sample=normalised["sample"], updated_at=now, updated_by="system",
                                         kind=kind), None):
            put.append(kind)
    return put


_NO_FRAMEWORK = {PROVINCE: "Đợt đánh giá này chưa có bộ tiêu chí của các tỉnh, thành phố; Bộ Nội vụ cần nhập bộ "
                           "tiêu chí trước.",
                 MINISTRY: "Đợt đánh giá này chưa có bộ tiêu chí của các bộ, cơ quan ngang bộ; Bộ Nội vụ cần nhập bộ "
                           "tiêu chí trước."}


def framework_of(cid: str, kind: str = PROVINCE, *, stores: Stores = DYNAMODB) -> tuple[dict, int]:
    """The campaign's framework for units of `kind` and its version."""
    item = stores.assessment.find_framework(cid, kind)
    if item is None:
        raise NotFoundError(_NO_FRAMEWORK[kind])
    return item.definition, item.version


def _node_view(node: dict) -> dict:
    return {"code": node["code"], "name": node["name"], "max": node["max"], "level": node["level"],
            "method": node["method"], "method_label": rules.METHOD_LABELS.get(node["method"] or ""),
            "step": node["step"], "guidance": node["guidance"], "children": [_node_view(c) for c in node["children"]]}


def framework_view(actor: Actor, cid: str, kind: str = PROVINCE, *, stores: Stores = DYNAMODB) -> dict:
    stores.campaigns.get_campaign(cid)
    definition, version = framework_of(cid, kind, stores=stores)
    return {"campaign": cid, "kind": kind, "title": definition["title"], "sample": definition["sample"],
            "version": version, "maximum": definition["maximum"], "survey_average": definition["survey_average"],
            "fields": [_node_view(f) for f in definition["fields"]]}


def replace_framework(actor: Actor, cid: str, data: dict, now: datetime, suffix: str,
                      kind: str = PROVINCE, *, stores: Stores = DYNAMODB) -> dict:
    """The ministry imports the campaign's framework for units of `kind`. Refused once a unit of that kind has
    submitted its self-assessment (its lines would no longer match what it approved)."""
    require_moha(actor)
    stores.campaigns.get_campaign(cid)
    normalised = rules.validate_definition(data, survey_criteria(cid, kind, stores=stores), kind=kind)
    of_kind = {u.unit for u in stores.campaigns.list_units(cid, kind)}
    submitted = [a.unit for a in stores.assessment.list_assessments(cid) if a.state in SUBMITTED and a.unit in of_kind]
    if submitted:
        raise ConflictError(f"Đã có {len(submitted)} đơn vị gửi bản tự đánh giá (ví dụ {submitted[0]}); không thể "
                            "thay bộ tiêu chí.", code="framework_in_use")
    current = stores.assessment.find_framework(cid, kind)
    version = current.version + 1 if current else 1
    item = Framework(cid=cid, definition=normalised, version=version, sample=normalised["sample"],
                     updated_at=now, updated_by=actor.username, kind=kind)
    if not stores.assessment.put_framework(item, current.version if current else None):
        raise ConflictError("Bộ tiêu chí vừa được người khác thay đổi; vui lòng tải lại và thử lại.")
    leaves = rules.leaves(normalised)
    audit.record(actor, "framework_imported", now, target=cid, cid=cid,
                 details={"version": version, "leaves": len(leaves), "title": normalised["title"], "kind": kind},
                 suffix=suffix, stores=stores)
    return framework_view(actor, cid, kind, stores=stores)


def import_framework_workbook(actor: Actor, cid: str, data: bytes, now: datetime, suffix: str,
                              kind: str = PROVINCE, *, stores: Stores = DYNAMODB) -> dict:
    from chalicelib.formats import framework_xlsx

    require_moha(actor)
    return replace_framework(actor, cid, framework_xlsx.read(data), now, suffix, kind, stores=stores)


def framework_template(actor: Actor, cid: str, now: datetime, random_bytes: Callable[[int], bytes],
                       kind: str = PROVINCE, *, stores: Stores = DYNAMODB) -> dict:
    """The framework as a workbook in the import format (the current one, so the ministry edits it)."""
    from chalicelib.formats import framework_xlsx
    from chalicelib.formats.roster_xlsx import XLSX

    require_moha(actor)
    definition, _ = framework_of(cid, kind, stores=stores)
    content = framework_xlsx.write(definition)
    name = f"bo-tieu-chi-{cid}.xlsx" if kind == PROVINCE else f"bo-tieu-chi-{cid}-{kind}.xlsx"
    url = stores.files.put_export(f"exports/{cid}/framework/{utc_iso(now)}-{random_bytes(4).hex()}.xlsx", content, XLSX,
                           name, expires=900)
    return {"url": url, "filename": name, "size": len(content), "expires_in": 900}


# ------------------------------------------------------------------------------------------------ the form

def _leaf(definition: dict, code: str) -> dict:
    for node in rules.walk(definition["fields"]):
        if node["code"] == code:
            if node["children"]:
                raise ValidationError(f"Mục {code} có các mục con; chấm điểm ở từng mục con.",
                                      details=[{"field": "code", "code": code}])
            return node
    raise NotFoundError(f"Bộ tiêu chí không có mục {code}.")


def _evidence_view(entry: dict, *, stores: Stores = DYNAMODB) -> dict:
    """An attached file as shown: its download link points at the pinned copy (what was checked when attached)."""
    return {"id": entry["id"], "filename": entry["filename"], "size": entry["size"],
            "sha256": entry.get("sha256"), "content_type": entry["content_type"], "uploaded_at": entry["uploaded_at"],
            "url": stores.files.evidence_link(entry["key"], entry["filename"])}


def _appraisal(line: AssessmentItem | None) -> dict | None:
    if line is None or line.appraisal_score is None:
        return None
    return {"score": _num(line.appraisal_score), "comment": line.appraisal_comment or "",
            "at": utc_iso(line.appraised_at) if line.appraised_at else None}


def _num(value: object) -> int | float | None:
    if value is None:
        return None
    return rules.number(rules.decimal(value))  # type: ignore[arg-type]


def _missing(definition: dict, lines: dict[str, AssessmentItem]) -> list[dict]:
    out = []
    for leaf in rules.leaves(definition, "self"):
        line = lines.get(leaf["code"])
        if line is None or line.score is None:
            out.append({"code": leaf["code"], "reason": "score", "message": f"Mục {leaf['code']}: chưa chấm điểm."})
        elif not (line.evidence or []) and not (line.explanation or "").strip():
            out.append({"code": leaf["code"], "reason": "evidence",
                        "message": f"Mục {leaf['code']}: chưa có tài liệu kiểm chứng hoặc giải trình lý do không có."})
    return out


def _totals(definition: dict, lines: dict[str, AssessmentItem], show_appraisal: bool) -> tuple[dict, dict]:
    """Per node: self_total / self_max over its self-scored leaves, appraised_total (None when hidden)."""
    per: dict[str, dict] = {}

    def visit(node: dict) -> tuple:
        if node["children"]:
            parts = [visit(c) for c in node["children"]]
            total = tuple(sum((p[i] for p in parts), rules.Decimal(0)) for i in range(3))
        else:
            line = lines.get(node["code"])
            maximum = rules.Decimal(str(node["max"]))
            if node["method"] == "self":
                score = rules.Decimal(str(line.score)) if line and line.score is not None else rules.Decimal(0)
                appraised = (rules.Decimal(str(line.appraisal_score)) if line and line.appraisal_score is not None
                             else score)
                total = (score, maximum, appraised)
            elif node["method"] == "imported":
                appraised = (rules.Decimal(str(line.appraisal_score)) if line and line.appraisal_score is not None
                             else rules.Decimal(0))
                total = (rules.Decimal(0), rules.Decimal(0), appraised)
            else:
                total = (rules.Decimal(0), rules.Decimal(0), rules.Decimal(0))
        per[node["code"]] = {"self_total": rules.number(total[0]), "self_max": rules.number(total[1]),
                             "appraised_total": rules.number(total[2]) if show_appraisal else None}
        return total

    grand = [visit(f) for f in definition["fields"]]
    overall = tuple(sum((g[i] for g in grand), rules.Decimal(0)) for i in range(3))
    return per, {"self": rules.number(overall[0]), "self_max": rules.number(overall[1]),
                 "appraised": rules.number(overall[2]) if show_appraisal else None,
                 "maximum": definition["maximum"]}


def _line_view(node: dict, line: AssessmentItem | None, show_appraisal: bool, *, stores: Stores = DYNAMODB) -> dict:
    view: dict = {}
    if node["method"] == "self":
        view.update({"score": _num(line.score) if line else None, "note": (line.note or "") if line else "",
                     "explanation": (line.explanation or "") if line else "",
                     "evidence": [_evidence_view(e, stores=stores) for e in (line.evidence or [])] if line else [],
                     "updated_at": utc_iso(line.updated_at) if line and line.updated_at else None})
    if node["method"] in ("self", "imported"):
        view["appraisal"] = _appraisal(line) if show_appraisal else None
    return view


def _tree(definition: dict, lines: dict[str, AssessmentItem], per: dict, show_appraisal: bool, *,
          stores: Stores = DYNAMODB) -> list[dict]:
    def build(node: dict) -> dict:
        view = _node_view(node)
        view.update(per[node["code"]])
        view["children"] = [build(c) for c in node["children"]]
        if not node["children"]:
            view.update(_line_view(node, lines.get(node["code"]), show_appraisal, stores=stores))
        return view

    return [build(f) for f in definition["fields"]]


def _access(actor: Actor, cid: str, unit: str, *, stores: Stores = DYNAMODB) -> tuple[Campaign, Unit]:
    require_unit(actor, unit)
    return stores.campaigns.get_campaign(cid), stores.campaigns.get_unit(cid, unit)


def view(actor: Actor, cid: str, unit: str, now: datetime, *, stores: Stores = DYNAMODB) -> dict:
    campaign, unit_item = _access(actor, cid, unit, stores=stores)
    definition, version = framework_of(cid, unit_item.kind, stores=stores)
    record = stores.assessment.find_assessment(cid, unit)
    lines = {line.code: line for line in stores.assessment.list_items(cid, unit)}
    return _assessment_view(actor, campaign, unit_item, definition, version, record, lines, now, stores=stores)


def _assessment_view(actor: Actor, campaign: Campaign, unit_item, definition: dict, version: int,
                     record: Assessment | None, lines: dict, now: datetime, *, stores: Stores = DYNAMODB) -> dict:
    state = record.state if record else "draft"
    published = bool(record and record.published_at)
    show_appraisal = actor.is_moha or published
    windows = phase_windows(campaign, unit_item)
    window, appraisal_window = windows.get(PHASE), windows.get(APPRAISAL)
    per, totals = _totals(definition, lines, show_appraisal)
    approval = dict(record.approval) if record and record.approval else None
    if approval and approval.get("report"):
        approval["report"] = _evidence_view(approval["report"], stores=stores)
    if approval:
        approval["approved_at"] = utc_iso(record.approved_at) if record and record.approved_at else None
    return {
        "campaign": campaign.cid, "unit": unit_item.unit, "unit_name": unit_item.name,
        "framework": {"title": definition["title"], "sample": definition["sample"], "version": version,
                      "maximum": definition["maximum"]},
        "state": state, "state_label": STATE_LABELS[state],
        "editable": (not actor.is_moha and state == "draft" and window is not None
                     and window.state(now) == "open"),
        "appraisable": bool(actor.is_moha and appraisal_window is not None
                            and appraisal_window.state(now) == "open"),
        "phase": window.to_dict(now, campaign.timezone) if window else None,
        "approval": approval,
        "locked_at": utc_iso(record.locked_at) if record and record.locked_at else None,
        "reopened": list(record.reopened or []) if record else [],
        "appraisal_published": published,
        "published_at": utc_iso(record.published_at) if record and record.published_at else None,
        "missing": _missing(definition, lines),
        "totals": totals,
        "fields": _tree(definition, lines, per, show_appraisal, stores=stores),
    }


def _text(body: dict, field: str, label: str) -> str | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError(f"{label} phải là văn bản.", details=[{"field": field}])
    value = value.replace("\r\n", "\n").strip()
    if len(value) > MAX_TEXT:
        raise ValidationError(f"{label} dài tối đa {MAX_TEXT} ký tự.", details=[{"field": field}])
    return value or None


def _unit_only(actor: Actor) -> None:
    """Only the unit itself scores (a province, or a ministry, on its own unit: `require_unit` checked that)."""
    if actor.is_moha:
        raise ForbiddenError("Chỉ đơn vị (tỉnh, thành phố hoặc bộ, cơ quan ngang bộ) tự chấm điểm; Bộ Nội vụ thẩm "
                             "định ở cột bên cạnh.")


def _evidence_key(cid: str, unit: str, evidence_id: str) -> str:
    """Where the browser posts an evidence file (its presigned POST names exactly this key). Files never attached
    are deleted here by the bucket's lifecycle rule."""
    return f"evidence/{cid}/{unit}/assessment/{evidence_id}"


def _pinned_key(cid: str, unit: str, evidence_id: str, suffix: str) -> str:
    """Where an attached file is kept: a prefix no upload grant can write, a key of its own per attachment."""
    return f"attached/{cid}/{unit}/assessment/{evidence_id}-{suffix}"


def _arrived(cid: str, unit: str, evidence_id: object, field: str, now: datetime, suffix: str, *,
             stores: Stores = DYNAMODB) -> dict:
    """Attach an upload: copy it server-side to its pinned key, check the copy by its content (there, within the size
    limit, of an accepted kind; a file that is not what its name says is deleted), record its SHA-256 and size, and
    delete the upload. The ministry downloads the pinned copy only, so a grant used again changes nothing."""
    if not isinstance(evidence_id, str) or not _EVIDENCE_ID.fullmatch(evidence_id):
        raise ValidationError("Mã tệp kiểm chứng không hợp lệ.", details=[{"field": field}])
    key, pinned = _evidence_key(cid, unit, evidence_id), _pinned_key(cid, unit, evidence_id, suffix)
    found = stores.files.pin_upload(key, pinned)
    if found is None:
        raise ValidationError("Tệp kiểm chứng chưa được tải lên xong; vui lòng tải lại tệp.",
                              details=[{"field": field, "evidence": evidence_id}])
    filename = clean(unquote(found["metadata"].get("filename", ""))) or "tai-lieu"
    problem = None
    if found["size"] > evidence_rules.MAX_BYTES:
        problem = f"Tệp “{filename}” lớn hơn 20 MB."
    elif not evidence_rules.matches(filename, found["head"]):
        problem = (f"Tệp “{filename}” không phải tệp {evidence_rules.extension(filename).upper() or 'hợp lệ'} "
                   f"đúng định dạng; chỉ nhận {evidence_rules.ACCEPTED_LABEL}.")
    stores.files.delete_evidence(key)
    if problem:
        stores.files.delete_evidence(pinned)
        raise ValidationError(problem, details=[{"field": field, "evidence": evidence_id}])
    return {"id": evidence_id, "key": pinned, "filename": filename, "size": found["size"],
            "sha256": found["sha256"], "content_type": evidence_rules.content_type_for(filename),
            "uploaded_at": utc_iso(now)}


def _writable(actor: Actor, cid: str, unit: str, now: datetime, *, stores: Stores = DYNAMODB) -> tuple[Campaign, Unit]:
    require_unit(actor, unit)
    _unit_only(actor)
    campaign, unit_item = require_open(cid, unit, PHASE, now, stores=stores)
    record = stores.assessment.find_assessment(cid, unit)
    if record and record.state != "draft":
        raise ConflictError("Bản tự đánh giá đã được phê duyệt hoặc đã khóa; không thể sửa. Liên hệ Bộ Nội vụ nếu "
                            "cần mở lại.", code="assessment_closed")
    return campaign, unit_item


def start_upload(actor: Actor, cid: str, unit: str, body: dict, now: datetime,
                 random_bytes: Callable[[int], bytes], *, stores: Stores = DYNAMODB) -> dict:
    """A presigned POST for one evidence file (a line's, or the signed report: code "report")."""
    _campaign, unit_item = _writable(actor, cid, unit, now, stores=stores)
    code = clean(body.get("code"))
    if code != REPORT:
        definition, _ = framework_of(cid, unit_item.kind, stores=stores)
        leaf = _leaf(definition, code)
        if leaf["method"] != "self":
            raise ValidationError(f"Mục {code} không do đơn vị tự chấm nên không cần tài liệu kiểm chứng.",
                                  details=[{"field": "code"}])
    filename = clean(body.get("filename"))
    if not filename:
        raise ValidationError("Thiếu tên tệp.", details=[{"field": "filename"}])
    if len(filename) > evidence_rules.MAX_FILENAME:
        raise ValidationError(f"Tên tệp dài tối đa {evidence_rules.MAX_FILENAME} ký tự.",
                              details=[{"field": "filename"}])
    content_type = evidence_rules.content_type_for(filename)
    if content_type is None:
        raise ValidationError(f"Không nhận tệp “{filename}”: chỉ nhận {evidence_rules.ACCEPTED_LABEL}.",
                              details=[{"field": "filename"}])
    size = body.get("size")
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise ValidationError("Kích thước tệp không hợp lệ.", details=[{"field": "size"}])
    if size > evidence_rules.MAX_BYTES:
        raise ValidationError(f"Tệp “{filename}” lớn hơn 20 MB; vui lòng nén hoặc tách tệp.",
                              details=[{"field": "size"}])
    evidence_id = random_bytes(16).hex()
    post = stores.files.presign_upload(_evidence_key(cid, unit, evidence_id), content_type, filename,
                                evidence_rules.MAX_BYTES)
    return {"evidence_id": evidence_id, "url": post["url"], "fields": post["fields"],
            "max_bytes": evidence_rules.MAX_BYTES, "expires_in": 900}


def save_item(actor: Actor, cid: str, unit: str, code: str, body: dict, now: datetime, suffix: str, *,
              stores: Stores = DYNAMODB) -> dict:
    campaign, unit_item = _writable(actor, cid, unit, now, stores=stores)
    definition, _ = framework_of(cid, unit_item.kind, stores=stores)
    leaf = _leaf(definition, code)
    if leaf["method"] != "self":
        raise ValidationError(f"Mục {code} được tính từ {rules.METHOD_LABELS[leaf['method']].lower()}; đơn vị không "
                              "tự chấm mục này.", details=[{"field": "code", "code": code}])
    raw_score = body.get("score")
    score = None if raw_score is None or raw_score == "" else rules.check_score(leaf, raw_score)
    note = _text(body, "note", "Ghi chú")
    explanation = _text(body, "explanation", "Giải trình")
    wanted = body.get("evidence") or []
    if not isinstance(wanted, list):
        raise ValidationError("Danh sách tài liệu kiểm chứng không hợp lệ.", details=[{"field": "evidence"}])
    if len(wanted) > evidence_rules.MAX_PER_ITEM:
        raise ValidationError(f"Mỗi mục có tối đa {evidence_rules.MAX_PER_ITEM} tài liệu kiểm chứng.",
                              details=[{"field": "evidence"}])
    current = stores.assessment.find_item(cid, unit, code)
    kept = {e["id"]: e for e in (current.evidence or [])} if current else {}
    evidence: list[dict] = []
    pinned: list[str] = []
    try:
        for i, evidence_id in enumerate(dict.fromkeys(wanted)):
            if isinstance(evidence_id, str) and evidence_id in kept:
                evidence.append(kept[evidence_id])
            else:
                evidence.append(_arrived(cid, unit, evidence_id, f"evidence[{i}]", now, suffix, stores=stores))
                pinned.append(evidence[-1]["key"])
        stores.assessment.record_self_score(cid, unit, code, score=float(score) if score is not None else None, note=note,
                                            explanation=explanation, evidence=evidence, by=actor.username,
                                            now=now)
    except Exception:
        for key in pinned:  # pinned for a change that was not recorded: nothing refers to them
            stores.files.delete_evidence(key)
        raise
    audit.record(actor, "assessment_scored", now, target=code, cid=cid, unit=unit,
                 details={"score": rules.number(score) if score is not None else None, "evidence": len(evidence)},
                 suffix=suffix, stores=stores)
    lines = {line.code: line for line in stores.assessment.list_items(cid, unit)}
    per, totals = _totals(definition, lines, False)
    item = _node_view(leaf)
    item.update(per[code])
    item.update(_line_view(leaf, lines.get(code), False, stores=stores))
    return {"item": item, "totals": totals,
            "fields": [{"code": f["code"], **{k: per[f["code"]][k] for k in ("self_total", "self_max")}}
                       for f in definition["fields"]]}


def _date(value: object) -> str:
    """dd/mm/yyyy (or ISO yyyy-mm-dd) → dd/mm/yyyy, checked."""
    text = clean(value)
    for fmt in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).strftime("%d/%m/%Y")
        except ValueError:
            continue
    raise ValidationError("Ngày quyết định phê duyệt phải có dạng ngày/tháng/năm (ví dụ 10/02/2022).",
                          details=[{"field": "decision_date"}])


def approve(actor: Actor, cid: str, unit: str, body: dict, now: datetime, suffix: str, *,
            stores: Stores = DYNAMODB) -> dict:
    """The province records the leadership's approval of its report; then its scores can no longer change."""
    campaign, unit_item = _writable(actor, cid, unit, now, stores=stores)
    definition, version = framework_of(cid, unit_item.kind, stores=stores)
    problems = []
    fields = {"leader_name": "Họ và tên người phê duyệt", "leader_position": "Chức vụ người phê duyệt",
              "decision_number": "Số quyết định (văn bản) phê duyệt"}
    approval: dict = {}
    for field, label in fields.items():
        value = clean(body.get(field))
        if not value:
            problems.append({"field": field, "message": f"Thiếu {label[0].lower()}{label[1:]}."})
        elif len(value) > 200:
            problems.append({"field": field, "message": f"{label} dài tối đa 200 ký tự."})
        approval[field] = value
    try:
        approval["decision_date"] = _date(body.get("decision_date"))
        if datetime.strptime(approval["decision_date"], "%d/%m/%Y").date() > \
                datetime.strptime(local_date(now, campaign.timezone), "%d/%m/%Y").date():
            problems.append({"field": "decision_date", "message": "Ngày quyết định phê duyệt không thể sau hôm nay."})
    except ValidationError as exc:
        problems.append({"field": "decision_date", "message": exc.message})
    if not body.get("report"):
        problems.append({"field": "report", "message": "Thiếu tệp báo cáo tự đánh giá đã được phê duyệt (bản ký)."})
    if problems:
        raise ValidationError(problems[0]["message"], details=problems)
    record = stores.assessment.find_assessment(cid, unit)
    lines = {line.code: line for line in stores.assessment.list_items(cid, unit)}
    missing = _missing(definition, lines)
    if missing:
        raise ValidationError(f"Còn {len(missing)} mục chưa hoàn thành; chưa thể phê duyệt.",
                              details=[{"field": "items", "code": m["code"], "message": m["message"]}
                                       for m in missing])
    approval["report"] = _arrived(cid, unit, body.get("report"), "report", now, suffix, stores=stores)
    approval["approved_by"] = actor.username
    approval["framework_version"] = version
    if not stores.assessment.approve_assessment(cid, unit, record.revision if record else 0, approval, now):
        stores.files.delete_evidence(approval["report"]["key"])  # the approval was not recorded: nothing refers to it
        raise ConflictError("Bản tự đánh giá vừa thay đổi (hoặc đã khóa) trong lúc phê duyệt; vui lòng tải lại và "
                            "thử lại.", code="assessment_changed")
    per, totals = _totals(definition, lines, False)
    audit.record(actor, "assessment_approved", now, target=unit, cid=cid, unit=unit,
                 details={"decision_number": approval["decision_number"], "self_total": totals["self"]},
                 suffix=suffix, stores=stores)
    return view(actor, cid, unit, now, stores=stores)


def reopen(actor: Actor, cid: str, unit: str, body: dict, now: datetime, suffix: str, *,
           stores: Stores = DYNAMODB) -> dict:
    require_moha(actor)
    campaign, unit_item = _access(actor, cid, unit, stores=stores)
    reason = clean(body.get("reason"))
    if not reason:
        raise ValidationError("Vui lòng nêu lý do mở lại bản tự đánh giá.", details=[{"field": "reason"}])
    if len(reason) > 500:
        raise ValidationError("Lý do dài tối đa 500 ký tự.", details=[{"field": "reason"}])
    record = stores.assessment.find_assessment(cid, unit)
    if record is None or record.state not in SUBMITTED:
        raise ConflictError("Bản tự đánh giá của đơn vị đang ở trạng thái nhập; không cần mở lại.",
                            code="assessment_open")
    entry = {"at": utc_iso(now), "by": actor.username, "reason": reason, "state": record.state,
             "approval": json.loads(json.dumps(record.approval)) if record.approval else None}
    if not stores.assessment.reopen_assessment(cid, unit, entry, list(record.reopened or []), now):
        raise ConflictError("Trạng thái bản tự đánh giá vừa thay đổi; vui lòng tải lại.", code="assessment_changed")
    audit.record(actor, "assessment_reopened", now, target=unit, cid=cid, unit=unit, details={"reason": reason},
                 suffix=suffix, stores=stores)
    window = phase_windows(campaign, unit_item).get(PHASE)
    hint = "" if window and window.state(now) == "open" else (
        " Lưu ý: thời hạn tự đánh giá đã hết; Bộ Nội vụ sẽ gia hạn cho đơn vị để sửa.")
    audit.notify(cid, [unit], now, "assessment_reopened", "Bản tự đánh giá được mở lại",
                 f"Bộ Nội vụ đã mở lại bản tự đánh giá để đơn vị chỉnh sửa. Lý do: {reason}.{hint}", suffix,
                 stores=stores)
    return view(actor, cid, unit, now, stores=stores)


def appraise(actor: Actor, cid: str, unit: str, code: str, body: dict, now: datetime, suffix: str, *,
             stores: Stores = DYNAMODB) -> dict:
    require_moha(actor)
    _campaign, unit_item = require_open(cid, unit, APPRAISAL, now, stores=stores)
    definition, _ = framework_of(cid, unit_item.kind, stores=stores)
    leaf = _leaf(definition, code)
    if leaf["method"] == "survey":
        raise ValidationError(f"Mục {code} được tính từ kết quả điều tra xã hội học, không thẩm định bằng tay.",
                              details=[{"field": "code", "code": code}])
    if body.get("score") is None or body.get("score") == "":
        raise ValidationError("Thiếu điểm thẩm định.", details=[{"field": "score", "code": code}])
    score = rules.check_score(leaf, body.get("score"))
    comment = _text(body, "comment", "Nhận xét thẩm định")
    stores.assessment.record_appraisal(cid, unit, code, score=float(score), comment=comment, by=actor.username,
                                       now=now, require_submitted=leaf["method"] == "self")
    audit.record(actor, "assessment_appraised", now, target=code, cid=cid, unit=unit,
                 details={"score": rules.number(score)}, suffix=suffix, stores=stores)
    lines = {line.code: line for line in stores.assessment.list_items(cid, unit)}
    per, totals = _totals(definition, lines, True)
    item = _node_view(leaf)
    item.update(per[code])
    item.update(_line_view(leaf, lines.get(code), True, stores=stores))
    return {"item": item, "totals": totals}


def publish(actor: Actor, cid: str, unit: str, now: datetime, suffix: str, *, stores: Stores = DYNAMODB) -> dict:
    """The ministry shows its appraisal to the province (and tells it)."""
    require_moha(actor)
    _campaign, unit_item = _access(actor, cid, unit, stores=stores)
    record = stores.assessment.find_assessment(cid, unit)
    if record is None or record.state not in SUBMITTED:
        raise ConflictError("Đơn vị chưa gửi bản tự đánh giá; chưa có kết quả thẩm định để công bố.",
                            code="assessment_not_submitted")
    stores.assessment.publish_appraisal(cid, unit, actor.username, now)
    audit.record(actor, "appraisal_published", now, target=unit, cid=cid, unit=unit, suffix=suffix, stores=stores)
    audit.notify(cid, [unit], now, "appraisal_published", "Đã có kết quả thẩm định",
                 "Bộ Nội vụ đã công bố kết quả thẩm định bản tự đánh giá của đơn vị; điểm thẩm định hiển thị bên cạnh "
                 "điểm tự chấm.", suffix, stores=stores)
    return view(actor, cid, unit, now, stores=stores)


def lock_open_assessments(now: datetime, random_bytes: Callable[[int], bytes], *,
                          stores: Stores = DYNAMODB) -> frozenset[tuple[str, str]]:
    """Scheduled, before phase closings are announced: where a unit's self-assessment phase has closed and the
    closing is not announced yet, whatever is still a draft locks as it stands (the closing notice tells the
    province). Returns the (campaign, unit) pairs locked by this call. Re-running is harmless."""
    locked: set[tuple[str, str]] = set()
    for campaign in stores.campaigns.list_campaigns():
        has_framework: dict[str, bool] = {}  # per kind of unit: a unit is scored on its kind's framework
        for unit in stores.campaigns.list_units(campaign.cid):
            window = phase_windows(campaign, unit).get(PHASE)
            if window is None or window.state(now) != "closed" \
                    or unit.closed_marks.get(PHASE) == utc_iso(window.closes_at):
                continue
            if unit.kind not in has_framework:
                has_framework[unit.kind] = stores.assessment.find_framework(campaign.cid, unit.kind) is not None
            if has_framework[unit.kind] and stores.assessment.lock_assessment(campaign.cid, unit.unit, now):
                audit.record(SYSTEM, "assessment_locked", now, target=unit.unit, cid=campaign.cid, unit=unit.unit,
                             suffix=random_bytes(4).hex(), stores=stores)
                locked.add((campaign.cid, unit.unit))
    return frozenset(locked)
