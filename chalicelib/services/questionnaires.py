"""Questionnaires of a campaign: the shipped samples, reading them, the ministry replacing them (from JSON or a
workbook, without a deploy), and the lock the dispatch sets once links for a questionnaire go out.

Which questionnaires a campaign has follows from its groups: each group answers the purposes listed on it
("locality", and "ministry" for department and division leaders), one questionnaire each (qid
"<purpose>-<group>"). The ministry sees and changes them; a province of the campaign may read them as respondents
see them (no scores, no criteria)."""
from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Callable

from chalicelib.domain import questionnaire as rules
from chalicelib.domain.access import SYSTEM, Actor, require_moha
from chalicelib.domain.timefmt import local_datetime, utc_iso
from chalicelib.errors import ConflictError, NotFoundError, PayloadTooLargeError, ValidationError
from chalicelib.services import audit
from chalicelib.store.campaigns import Campaign
from chalicelib.store.questionnaires import LOCKED, Questionnaire
from chalicelib.store.stores import DYNAMODB, Stores

MAX_IMPORT_BYTES = 4 * 1024 * 1024


def _purpose_name(campaign: Campaign | None, purpose: str) -> str:
    names = (campaign.questionnaires if campaign else None) or {}
    return names.get(purpose) or rules.PURPOSE_NAMES.get(purpose, purpose)


def _group_names(campaign: Campaign) -> dict[str, str]:
    return {g["code"]: g["name"] for g in campaign.groups}


def definition_of(item: Questionnaire) -> dict:
    """The questionnaire's content, as validated (what the survey form and the scoring read)."""
    return {"title": item.title, "description": item.description or "", "sample": bool(item.sample),
            "sections": item.sections}


def summary(item: Questionnaire, campaign: Campaign) -> dict:
    return {"qid": item.qid, "purpose": item.purpose, "purpose_name": _purpose_name(campaign, item.purpose),
            "group": item.group, "group_name": _group_names(campaign).get(item.group, item.group),
            "title": item.title, "sample": bool(item.sample), "version": item.version,
            "locked": bool(item.locked), "locked_at": utc_iso(item.locked_at) if item.locked_at else None,
            "locked_at_label": local_datetime(item.locked_at) if item.locked_at else None,
            "updated_at": utc_iso(item.updated_at), "updated_at_label": local_datetime(item.updated_at),
            "updated_by": item.updated_by,
            "question_count": sum(len(s["questions"]) for s in item.sections)}


def view(item: Questionnaire, campaign: Campaign) -> dict:
    return {**summary(item, campaign), "description": item.description or "", "sections": item.sections}


def _readable_campaign(actor: Actor, cid: str, *, stores: Stores = DYNAMODB) -> Campaign:
    """The ministry reads every campaign; a province only one it takes part in (404 otherwise)."""
    campaign = stores.campaigns.get_campaign(cid)
    if not actor.is_moha:
        stores.campaigns.get_unit(cid, actor.unit or "")
    return campaign


def _slot(campaign: Campaign, qid: str) -> tuple[str, str]:
    """(purpose, group) of a questionnaire the campaign's groups answer; 404 for any other qid."""
    parsed = rules.parse_qid(qid)
    if parsed is None or qid not in {n[0] for n in rules.needed(campaign.groups)}:
        raise NotFoundError(f"Đợt đánh giá “{campaign.cid}” không có phiếu khảo sát “{qid}”. Mã phiếu gồm mục đích "
                            "và mã nhóm đối tượng, ví dụ locality-1 (đánh giá địa phương, nhóm 1) hoặc ministry-2 "
                            "(đánh giá bộ chủ quản, nhóm 2).")
    return parsed


def list_for(actor: Actor, cid: str, *, stores: Stores = DYNAMODB) -> dict:
    """Every questionnaire of the campaign in its groups' order, and those it needs but does not have yet."""
    campaign = _readable_campaign(actor, cid, stores=stores)
    stored = {item.qid: item for item in stores.questionnaires.list_for(cid)}
    names = _group_names(campaign)
    order = rules.needed(campaign.groups)
    items = [summary(stored[qid], campaign) for qid, _, _ in order if qid in stored]
    missing = [{"qid": qid, "purpose": purpose, "purpose_name": _purpose_name(campaign, purpose), "group": group,
                "group_name": names.get(group, group)} for qid, purpose, group in order if qid not in stored]
    return {"items": items, "missing": missing}


def get(actor: Actor, cid: str, qid: str, *, stores: Stores = DYNAMODB) -> dict:
    """The ministry reads a questionnaire whole; a province as its respondents see it (no scores, no criteria: a
    province that knew how answers count could coach its respondents)."""
    campaign = _readable_campaign(actor, cid, stores=stores)
    item = stores.questionnaires.get(cid, qid)
    if actor.is_moha:
        return view(item, campaign)
    return {**summary(item, campaign), "description": item.description or "",
            "sections": rules.as_respondents_see(definition_of(item))["sections"]}


def replace(actor: Actor, cid: str, qid: str, definition: dict, now: datetime,
            random_bytes: Callable[[int], bytes], *, source: str = "json", stores: Stores = DYNAMODB) -> dict:
    """The ministry replaces a questionnaire's content (title, description, sections) with a validated one; its
    version goes up by one. The same content again changes nothing. Refused (409) once the questionnaire is
    locked, and when `definition` carries a "version" other than the current one (someone changed it since)."""
    require_moha(actor)
    campaign = stores.campaigns.get_campaign(cid)
    purpose, group = _slot(campaign, qid)
    clean = rules.validate_definition(definition)
    current = stores.questionnaires.find(cid, qid)
    current_version = current.version if current else 0
    if current is not None and current.locked:
        raise ConflictError(LOCKED, code="questionnaire_locked",
                            details=[{"qid": qid, "version": current_version}])
    expected = definition.get("version")
    if expected is not None and not isinstance(expected, bool) and isinstance(expected, int) \
            and expected != current_version:
        raise ConflictError(f"Phiếu đã được cập nhật lên phiên bản {current_version} sau phiên bản {expected} mà bạn "
                            "đang sửa. Vui lòng tải lại phiếu rồi thử lại.", code="questionnaire_changed",
                            details=[{"qid": qid, "version": current_version}])
    if current is not None and definition_of(current) == clean:
        return {**view(current, campaign), "changed": False}
    item = Questionnaire(cid=cid, qid=qid, purpose=purpose, group=group, title=clean["title"],
                         description=clean["description"] or None, version=current_version + 1,
                         sections=clean["sections"], sample=clean["sample"], locked=False, locked_at=None,
                         updated_at=now, updated_by=actor.username)
    stores.questionnaires.put_version(item, current_version)
    audit.record(actor, "questionnaire_replaced", now, target=qid, cid=cid,
                 details={"version": current_version + 1, "previous_version": current_version, "source": source,
                          "questions": sum(len(s["questions"]) for s in clean["sections"]),
                          "sample": clean["sample"]}, suffix=random_bytes(4).hex(), stores=stores)
    return {**view(item, campaign), "changed": True}


def import_workbook(actor: Actor, cid: str, qid: str, data: bytes, now: datetime,
                    random_bytes: Callable[[int], bytes], *, stores: Stores = DYNAMODB) -> dict:
    """Replace a questionnaire from a workbook in the export's layout. Every problem is reported with its row and
    column; with any problem nothing is stored. Title and description lines missing from the workbook keep the
    current ones."""
    from chalicelib.formats import questionnaire_xlsx

    require_moha(actor)
    if len(data) > MAX_IMPORT_BYTES:
        raise PayloadTooLargeError(f"Tệp quá lớn ({len(data) / 1048576:.1f} MB); tối đa 4 MB.")
    campaign = stores.campaigns.get_campaign(cid)
    _slot(campaign, qid)
    parsed = questionnaire_xlsx.read(data)
    current = stores.questionnaires.find(cid, qid)
    definition = dict(parsed.definition)
    if current is not None:
        definition.setdefault("title", current.title)
        definition.setdefault("description", current.description or "")
    errors = list(parsed.errors)
    try:
        rules.validate_definition(definition)
    except ValidationError as exc:
        reported = {(e["row"], e["column"]) for e in errors}
        for detail in exc.details:
            row, column = questionnaire_xlsx.locate(detail["field"], parsed.locations)
            if (row, column) not in reported or row is None:
                errors.append({"row": row, "column": column, "field": detail["field"],
                               "message": detail["message"]})
    if errors:
        errors.sort(key=lambda e: (e["row"] is None, e["row"] or 0))
        raise ValidationError(f"Tệp phiếu khảo sát có {len(errors)} lỗi; chưa lưu thay đổi nào. Sửa các ô được nêu "
                              "rồi tải lên lại.", details=errors)
    return replace(actor, cid, qid, definition, now, random_bytes, source="xlsx", stores=stores)


def export_workbook(actor: Actor, cid: str, qid: str, *, stores: Stores = DYNAMODB) -> tuple[bytes, str]:
    """The questionnaire in the import layout, for the ministry to edit and import again; for a province, the
    questions and options only, as respondents see them."""
    from chalicelib.formats import questionnaire_xlsx

    _readable_campaign(actor, cid, stores=stores)
    item = stores.questionnaires.get(cid, qid)
    filename = f"phieu-khao-sat-{cid}-{qid}-v{item.version}.xlsx"
    if actor.is_moha:
        return questionnaire_xlsx.write(definition_of(item)), filename
    return questionnaire_xlsx.write(rules.as_respondents_see(definition_of(item)), for_respondents=True), filename


def seed(definition: dict, samples: dict[str, dict], now: datetime, *, stores: Stores = DYNAMODB) -> int:
    """Put the questionnaires shipped with a campaign's data files where the campaign has none yet (version 1).

    Every file is validated before anything is written, and a qid the campaign's groups do not answer is an
    error in the data. A questionnaire already stored (imported by the ministry) is never overwritten."""
    groups = [{"code": str(g.get("code")), "questionnaires": g.get("questionnaires") or ["locality"]}
              for g in definition.get("groups") or []]
    known = {qid: (purpose, group) for qid, purpose, group in rules.needed(groups)}
    prepared = []
    for qid, data in samples.items():
        if qid not in known:
            raise ValidationError(f"Tệp dữ liệu đợt đánh giá khai báo phiếu “{qid}” nhưng không nhóm đối tượng nào "
                                  "trả lời phiếu này.", details=[{"field": f"questionnaire_files.{qid}"}])
        try:
            prepared.append((qid, rules.validate_definition(data)))
        except ValidationError as exc:
            raise ValidationError(f"Phiếu mẫu “{qid}” không hợp lệ: {exc.message}", details=exc.details) from None
    written = 0
    for qid, clean in prepared:
        purpose, group = known[qid]
        written += stores.questionnaires.put_if_absent(Questionnaire(
            cid=definition["id"], qid=qid, purpose=purpose, group=group, title=clean["title"],
            description=clean["description"] or None, version=1, sections=clean["sections"],
            sample=clean["sample"], locked=False, locked_at=None, updated_at=now, updated_by=SYSTEM.username))
    return written


def for_respondent(campaign_cid: str, group: str, purpose: str, *, stores: Stores = DYNAMODB) -> tuple[str, int, str]:
    """(qid, version, title) of the questionnaire a respondent of `group` answers for `purpose` (dispatch)."""
    qid = rules.qid_for(purpose, group)
    item = stores.questionnaires.find(campaign_cid, qid)
    if item is None:
        raise NotFoundError(f"Chưa có phiếu khảo sát “{rules.PURPOSE_NAMES.get(purpose, purpose)}” cho nhóm đối tượng "
                            f"{group} (mã phiếu {qid}); hãy nhập phiếu trước khi gửi đường dẫn khảo sát.",
                            details=[{"qid": qid}])
    return item.qid, item.version, item.title


def lock(cid: str, qid: str, now: datetime, *, stores: Stores = DYNAMODB) -> int:
    """Freeze a questionnaire before links for it are sent: no change is accepted afterwards. Idempotent; returns
    the version locked (the one every link for it must carry). The first lock is audited."""
    version, newly = stores.questionnaires.lock(cid, qid, now)
    if newly:
        suffix = hashlib.sha256(f"{cid}#{qid}".encode()).hexdigest()[:8]
        audit.record(SYSTEM, "questionnaire_locked", now, target=qid, cid=cid, details={"version": version},
                     suffix=suffix, stores=stores)
    return version


def content(cid: str, qid: str, *, stores: Stores = DYNAMODB) -> tuple[int, dict]:
    """(version, definition) of a stored questionnaire, for the survey form and scoring (no actor: the caller
    has already authorised the respondent's link)."""
    item = stores.questionnaires.get(cid, qid)
    return item.version, definition_of(item)
