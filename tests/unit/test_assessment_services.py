"""The self-assessment workflow on the in-memory stores (DynamoDB tables and S3 buckets alike): the framework as
data, scoring in steps, evidence checked by content on arrival and pinned, approval, the deadline lock, appraisal,
publication and reopening; the rules tests/api/test_assessment.py checks through the API on moto, here in
milliseconds. Nothing here may reach AWS."""
import hashlib

import pytest
from memory_world import ADMIN, World, refuse_aws, unit_actor

from chalicelib.config import settings
from chalicelib.errors import ConflictError, ForbiddenError, PhaseClosedError, ValidationError
from chalicelib.services import assessment

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
APPROVAL = {"leader_name": "Nguyễn Văn An", "leader_position": "Phó Chủ tịch UBND tỉnh",
            "decision_number": "125/QĐ-UBND", "decision_date": "28/01/2022"}
PROVINCE = unit_actor("01")


@pytest.fixture
def world(monkeypatch):
    refuse_aws(monkeypatch)
    w = World()
    w.at(2022, 2, 1, 9)  # the self-assessment phase is open
    return w


def self_leaves(view: dict) -> list[dict]:
    out = []

    def walk(nodes):
        for node in nodes:
            if node["children"]:
                walk(node["children"])
            elif node["method"] == "self":
                out.append(node)
    walk(view["fields"])
    return out


def view(world, actor=PROVINCE, unit="01") -> dict:
    return assessment.view(actor, "2021", unit, world.now, stores=world.stores)


def score(world, code, body, actor=PROVINCE, unit="01") -> dict:
    return assessment.save_item(actor, "2021", unit, code, body, world.now, world.suffix(), stores=world.stores)


def grant(world, code, filename, content, actor=PROVINCE, unit="01") -> dict:
    """The browser's two steps: ask for a grant (a presigned POST), then send the file with it."""
    granted = assessment.start_upload(actor, "2021", unit, {"code": code, "filename": filename,
                                                            "size": len(content)},
                                      world.now, world.random_bytes, stores=world.stores)
    world.stores.files.post(granted, content)
    return granted


def upload(world, code, filename, content, **who) -> str:
    return grant(world, code, filename, content, **who)["evidence_id"]


def evidence_keys(world, prefix: str) -> list[str]:
    return world.stores.files.keys(settings().evidence_bucket, prefix)


def complete_all(world, unit="01") -> None:
    actor = unit_actor(unit)
    for leaf in self_leaves(view(world, actor, unit)):
        score(world, leaf["code"], {"score": leaf["max"], "explanation": "Không phát sinh"}, actor, unit)


def approve(world, body, actor=PROVINCE) -> dict:
    return assessment.approve(actor, "2021", "01", body, world.now, world.suffix(), stores=world.stores)


def appraise(world, code, body, actor=ADMIN) -> dict:
    return assessment.appraise(actor, "2021", "01", code, body, world.now, world.suffix(), stores=world.stores)


def reopen(world, reason, actor=ADMIN) -> dict:
    return assessment.reopen(actor, "2021", "01", {"reason": reason}, world.now, world.suffix(), stores=world.stores)


def conflict(call) -> ConflictError:
    with pytest.raises(ConflictError) as caught:
        call()
    return caught.value


# ------------------------------------------------------------------------------------------------ framework

def test_each_kind_of_unit_has_its_sample_framework(world):
    provinces = assessment.framework_view(PROVINCE, "2021", stores=world.stores)
    assert provinces["sample"] is True and provinces["maximum"] == 100 and len(provinces["fields"]) == 8
    ministries = assessment.framework_view(ADMIN, "2021", "ministry", stores=world.stores)
    assert ministries["kind"] == "ministry" and ministries["title"] != provinces["title"]
    assert view(world)["totals"] == {"self": 0, "self_max": 62, "appraised": None, "maximum": 100}
    assert view(world, unit_actor("BTP"), "BTP")["framework"]["title"] == ministries["title"]


def test_an_imported_framework_is_validated_and_every_problem_named(world):
    bad = {"title": "Bộ tiêu chí thử", "maximum": 10, "fields": [
        {"code": "1", "name": "Lĩnh vực một", "max": 6, "criteria": [
            {"code": "1.1", "name": "Tiêu chí", "max": 3, "method": "self", "step": 0.5},
            {"code": "1.1", "name": "Trùng mã", "max": 2, "method": "self"}]},
        {"code": "2", "name": "Lĩnh vực hai", "max": 3, "criteria": [{"code": "2.2", "name": "Không", "max": 3}]}]}
    with pytest.raises(ValidationError) as caught:
        assessment.replace_framework(ADMIN, "2021", bad, world.now, "s1", stores=world.stores)
    messages = " | ".join(d["message"] for d in caught.value.details)
    assert "mã 1.1 bị trùng" in messages and "phương thức chấm" in messages
    assert "tiêu chí 1.5" in messages  # the sample questionnaires measure it by the survey
    with pytest.raises(ForbiddenError):
        assessment.replace_framework(PROVINCE, "2021", bad, world.now, "s2", stores=world.stores)
    assert world.stores.assessment.find_framework("2021").version == 1


def test_the_framework_workbook_exported_imports_back_unchanged_until_a_unit_has_submitted(world):
    link = assessment.framework_template(ADMIN, "2021", world.now, world.random_bytes, stores=world.stores)
    assert link["filename"] == "bo-tieu-chi-2021.xlsx" and link["expires_in"] == 900
    data = world.stores.files.fetch(link["url"])
    before = assessment.framework_view(ADMIN, "2021", stores=world.stores)
    after = assessment.import_framework_workbook(ADMIN, "2021", data, world.now, "s1", stores=world.stores)
    assert after["version"] == 2 and after["fields"] == before["fields"] and after["title"] == before["title"]
    [entry] = world.audited("framework_imported")
    assert entry.details["version"] == 2 and entry.details["kind"] == "province"
    world.stores.assessment.lock_assessment("2021", "UBDT", world.now)  # a ministry submitted: not a province
    assessment.import_framework_workbook(ADMIN, "2021", data, world.now, "s2", stores=world.stores)
    world.stores.assessment.lock_assessment("2021", "02", world.now)
    in_use = conflict(lambda: assessment.import_framework_workbook(ADMIN, "2021", data, world.now, "s3",
                                                                   stores=world.stores))
    assert in_use.code == "framework_in_use" and "ví dụ 02" in in_use.message
    assert world.stores.assessment.find_framework("2021").version == 3


# ------------------------------------------------------------------------------------------------ scoring

@pytest.mark.parametrize("code, value, message", [
    ("1.1.1", 0.6, "bội số của 0,25"),
    ("1.1.1", 1, "từ 0 đến 0,75"),
    ("1.5", 1, "điều tra xã hội học"),
    ("1.1", 1, "mục con"),
])
def test_a_line_is_scored_in_its_steps_on_a_self_scored_leaf_only(world, code, value, message):
    with pytest.raises(ValidationError, match=message):
        score(world, code, {"score": value})
    assert world.stores.assessment.list_items("2021", "01") == []


def test_a_province_scores_a_line_and_sees_the_totals(world):
    leaf = self_leaves(view(world))[0]
    assert (leaf["code"], leaf["max"], leaf["step"]) == ("1.1.1", 0.75, 0.25)
    saved = score(world, "1.1.1", {"score": 0.5, "note": "Ban hành ngày 28/12/2021"})
    assert saved["item"]["score"] == 0.5 and saved["item"]["note"] == "Ban hành ngày 28/12/2021"
    assert saved["totals"]["self"] == 0.5 and saved["fields"][0] == {"code": "1", "self_total": 0.5,
                                                                     "self_max": 11.75}
    again = view(world)
    assert again["fields"][0]["self_total"] == 0.5 and again["fields"][0]["children"][0]["self_total"] == 0.5
    assert [(e.actor, e.target, e.details) for e in world.audited("assessment_scored")] == [
        ("tinh01", "1.1.1", {"score": 0.5, "evidence": 0})]


def test_only_the_unit_itself_scores_and_the_ministry_cannot_score_for_it(world):
    with pytest.raises(ForbiddenError):
        score(world, "1.2", {"score": 1}, actor=unit_actor("02"))
    with pytest.raises(ForbiddenError):
        view(world, unit_actor("02"))
    with pytest.raises(ForbiddenError, match="Bộ Nội vụ thẩm định"):
        score(world, "1.2", {"score": 1}, actor=ADMIN)
    assert view(world, ADMIN)["state"] == "draft"


# ------------------------------------------------------------------------------------------------ evidence

def test_evidence_is_checked_by_content_on_arrival_and_refused_uploads_removed(world):
    good = upload(world, "1.2", "Báo cáo CCHC quý 4.pdf", PDF)
    saved = score(world, "1.2", {"score": 1.5, "evidence": [good]})
    [attached] = saved["item"]["evidence"]
    assert (attached["filename"], attached["size"], attached["content_type"], attached["sha256"]) == (
        "Báo cáo CCHC quý 4.pdf", len(PDF), "application/pdf", hashlib.sha256(PDF).hexdigest())
    assert world.stores.files.fetch(attached["url"]) == PDF
    fake = upload(world, "1.2", "bien-ban.pdf", PNG)  # a picture named .pdf
    with pytest.raises(ValidationError, match="bien-ban.pdf") as caught:
        score(world, "1.2", {"score": 1.5, "evidence": [good, fake]})
    assert caught.value.details == [{"field": "evidence[1]", "evidence": fake}]
    assert evidence_keys(world, "evidence/2021/01/") == []  # the uploads: one pinned, one refused
    assert [k.split("/")[-1].split("-")[0] for k in evidence_keys(world, "attached/2021/01/")] == [good]
    with pytest.raises(ValidationError, match="chưa được tải lên xong"):
        score(world, "1.2", {"evidence": ["ab" * 16]})
    with pytest.raises(ValidationError, match="Mã tệp kiểm chứng không hợp lệ"):
        score(world, "1.2", {"evidence": ["../../2021/02/assessment/x"]})
    [line] = [leaf for leaf in self_leaves(view(world)) if leaf["code"] == "1.2"]
    assert [e["id"] for e in line["evidence"]] == [good]  # nothing of the refused changes recorded


@pytest.mark.parametrize("body, message", [
    ({"code": "1.2", "filename": "virus.exe", "size": 10}, "chỉ nhận PDF"),
    ({"code": "1.2", "filename": "big.pdf", "size": 21 * 1024 * 1024}, "20 MB"),
    ({"code": "1.2", "filename": "", "size": 10}, "Thiếu tên tệp"),
    ({"code": "1.5", "filename": "a.pdf", "size": 10}, "không do đơn vị tự chấm"),
    ({"code": "1.2", "filename": "a.pdf", "size": True}, "Kích thước tệp không hợp lệ"),
])
def test_an_upload_grant_is_refused_for_a_file_that_could_never_be_attached(world, body, message):
    with pytest.raises(ValidationError, match=message):
        assessment.start_upload(PROVINCE, "2021", "01", body, world.now, world.random_bytes, stores=world.stores)


def test_an_attached_file_is_pinned_and_a_grant_used_again_changes_nothing(world):
    granted = grant(world, "1.2", "Kế hoạch CCHC.pdf", PDF)
    [attached] = score(world, "1.2", {"score": 1.5, "evidence": [granted["evidence_id"]]})["item"]["evidence"]
    world.stores.files.post(granted, b"MZ\x90\x00" + b"not the plan" * 100)  # the grant is still valid
    again = score(world, "1.2", {"score": 1, "evidence": [granted["evidence_id"]]})["item"]["evidence"]
    assert again[0]["sha256"] == attached["sha256"]  # kept as attached, not fetched again
    [seen] = next(leaf for leaf in self_leaves(view(world, ADMIN)) if leaf["code"] == "1.2")["evidence"]
    assert world.stores.files.fetch(seen["url"]) == PDF and "/attached/2021/01/assessment/" in seen["url"]


# ------------------------------------------------------------------------------------------------ approval

def test_approval_needs_every_line_and_then_closes_the_scores(world):
    leaves = self_leaves(view(world))
    report = grant(world, "report", "Bao cao tu danh gia (ban ky).pdf", PDF)
    with pytest.raises(ValidationError) as caught:
        approve(world, {**APPROVAL, "report": report["evidence_id"]})
    assert caught.value.message == f"Còn {len(leaves)} mục chưa hoàn thành; chưa thể phê duyệt."
    assert {"field": "items", "code": "1.1.1", "message": "Mục 1.1.1: chưa chấm điểm."} in caught.value.details
    with pytest.raises(ValidationError) as caught:
        approve(world, {**APPROVAL, "decision_date": "31/02/2022", "leader_name": ""})
    assert {d["field"] for d in caught.value.details} == {"leader_name", "decision_date", "report"}
    with pytest.raises(ValidationError, match="không thể sau hôm nay"):
        approve(world, {**APPROVAL, "decision_date": "02/02/2022", "report": report["evidence_id"]})
    complete_all(world)
    approved = approve(world, {**APPROVAL, "report": report["evidence_id"]})
    assert approved["state"] == "approved" and approved["editable"] is False and approved["totals"]["self"] == 62
    assert approved["approval"]["decision_number"] == "125/QĐ-UBND"
    assert approved["approval"]["report"]["sha256"] == hashlib.sha256(PDF).hexdigest()
    world.stores.files.post(report, PNG)  # the report's grant used again: the approved report stays
    assert world.stores.files.fetch(view(world, ADMIN)["approval"]["report"]["url"]) == PDF
    assert conflict(lambda: score(world, "1.1.1", {"score": 0})).code == "assessment_closed"
    assert conflict(lambda: grant(world, "1.2", "a.pdf", PDF)).code == "assessment_closed"
    [entry] = world.audited("assessment_approved")
    assert entry.details == {"decision_number": "125/QĐ-UBND", "self_total": 62}


def test_an_approval_of_something_changed_since_the_check_is_refused_and_its_report_removed(world, monkeypatch):
    complete_all(world)
    checked = world.stores.assessment.find_assessment("2021", "01")
    score(world, "1.2", {"score": 0.5, "explanation": "Sửa sau khi kiểm tra"})  # lands between check and write
    report = upload(world, "report", "bao-cao.pdf", PDF)
    with monkeypatch.context() as patched:
        patched.setattr(world.stores.assessment, "find_assessment", lambda cid, unit: checked)
        assert conflict(lambda: approve(world, {**APPROVAL, "report": report})).code == "assessment_changed"
    assert view(world)["state"] == "draft"
    assert not [k for k in evidence_keys(world, "attached/2021/01/") if report in k]  # nothing refers to it


# ------------------------------------------------------------------------------------------------ the deadline

def test_after_the_deadline_writes_are_refused_and_the_schedule_locks_every_open_assessment(world):
    score(world, "1.2", {"score": 1})
    world.at(2022, 2, 15, 23, 59, 59)
    score(world, "1.2", {"score": 1.5})
    world.at(2022, 2, 16)
    with pytest.raises(PhaseClosedError, match="15/02/2022"):
        score(world, "1.2", {"score": 0.5})
    world.at(2022, 2, 16, 0, 5)
    world.close_phases()
    states = {a.unit: a.state for a in world.stores.assessment.list_assessments("2021")}
    assert states == {u: "locked" for u in ("01", "02", "04", "BTP", "UBDT")}  # never started ones too
    locked = view(world)
    assert (locked["state"], locked["state_label"], locked["editable"], locked["totals"]["self"]) == (
        "locked", "Đã khóa (hết hạn)", False, 1.5)
    said = [n for n in world.notes("01") if "Bản tự đánh giá chưa được phê duyệt đã được khóa" in n.message]
    assert [n.title for n in said] == ["Đã khóa: Tự đánh giá, chấm điểm"]
    assert len(world.audited("assessment_locked")) == 5
    assert world.close_phases() == 0  # again: nothing new
    assert len(world.audited("assessment_locked")) == 5


def test_an_approved_assessment_is_not_locked_at_the_deadline(world):
    complete_all(world)
    approve(world, {**APPROVAL, "report": upload(world, "report", "bao-cao.pdf", PDF)})
    world.at(2022, 2, 16, 0, 5)
    world.close_phases()
    assert view(world)["state"] == "approved"
    assert not [n for n in world.notes("01") if "đã được khóa với các điểm" in n.message]


# ------------------------------------------------------------------------------------------------ appraisal

def test_the_ministry_appraises_after_submission_and_the_province_sees_it_once_published(world):
    complete_all(world)
    world.at(2022, 2, 20, 9)
    assert conflict(lambda: appraise(world, "1.2", {"score": 1})).code == "assessment_not_submitted"
    assert conflict(lambda: assessment.publish(ADMIN, "2021", "01", world.now, "p0",
                                               stores=world.stores)).code == "assessment_not_submitted"
    world.close_phases()  # the deadline locked the draft: it can be appraised now
    first = appraise(world, "1.2", {"score": 1, "comment": "Thiếu báo cáo quý 3"})
    assert first["item"]["appraisal"]["score"] == 1 and first["totals"]["appraised"] == 61.5
    assert appraise(world, "8.2", {"score": 8.75, "comment": "SIPAS 2021"})["totals"]["appraised"] == 70.25
    with pytest.raises(ValidationError, match="điều tra xã hội học"):
        appraise(world, "1.5", {"score": 1})
    with pytest.raises(ValidationError, match="Thiếu điểm thẩm định"):
        appraise(world, "1.2", {"comment": "x"})
    with pytest.raises(ForbiddenError):
        appraise(world, "1.2", {"score": 1}, actor=PROVINCE)
    unpublished = view(world)
    assert unpublished["appraisal_published"] is False and unpublished["totals"]["appraised"] is None
    assert next(n for n in self_leaves(unpublished) if n["code"] == "1.2")["appraisal"] is None
    published = assessment.publish(ADMIN, "2021", "01", world.now, "p1", stores=world.stores)
    assert published["appraisal_published"] is True
    seen = view(world)
    line = next(n for n in self_leaves(seen) if n["code"] == "1.2")
    assert line["appraisal"] == {"score": 1, "comment": "Thiếu báo cáo quý 3", "at": "2022-02-20T02:00:00Z"}
    assert seen["totals"]["appraised"] == 70.25
    assert [n.title for n in world.notes("01") if n.kind == "appraisal_published"] == ["Đã có kết quả thẩm định"]


def test_appraisal_waits_for_its_phase(world):
    complete_all(world)
    approve(world, {**APPROVAL, "report": upload(world, "report", "bao-cao.pdf", PDF)})
    with pytest.raises(PhaseClosedError, match="chưa mở"):
        appraise(world, "1.2", {"score": 1})


# ------------------------------------------------------------------------------------------------ reopening

def test_the_ministry_reopens_a_submitted_assessment_with_a_reason(world):
    assert conflict(lambda: reopen(world, "Sớm quá")).code == "assessment_open"
    complete_all(world)
    approve(world, {**APPROVAL, "report": upload(world, "report", "bao-cao.pdf", PDF)})
    with pytest.raises(ValidationError) as caught:
        reopen(world, "")
    assert caught.value.details == [{"field": "reason"}]
    with pytest.raises(ForbiddenError):
        reopen(world, "x", actor=PROVINCE)
    reopened = reopen(world, "Thiếu tài liệu kiểm chứng mục 3.3.1")
    assert reopened["state"] == "draft" and reopened["approval"] is None
    [entry] = reopened["reopened"]
    assert (entry["reason"], entry["state"], entry["by"]) == ("Thiếu tài liệu kiểm chứng mục 3.3.1", "approved",
                                                              "admin")
    assert entry["approval"]["decision_number"] == "125/QĐ-UBND"  # what was approved stays on record
    assert score(world, "3.3.1", {"score": 1.5, "explanation": "Bổ sung"})["item"]["score"] == 1.5
    [note] = [n for n in world.notes("01") if n.kind == "assessment_reopened"]
    assert "Thiếu tài liệu kiểm chứng mục 3.3.1" in note.message and "thời hạn" not in note.message


def test_a_reopening_after_the_deadline_says_an_extension_is_needed(world):
    world.at(2022, 2, 16, 0, 5)
    world.close_phases()
    reopen(world, "Đơn vị đề nghị")
    [note] = [n for n in world.notes("01") if n.kind == "assessment_reopened"]
    assert "Bộ Nội vụ sẽ gia hạn cho đơn vị để sửa" in note.message
    with pytest.raises(PhaseClosedError):
        score(world, "1.2", {"score": 1})
    world.stores.campaigns.set_unit_extension("2021", "01", "self_assessment", "2022-02-20T17:00:00Z")
    assert score(world, "1.2", {"score": 1})["item"]["score"] == 1


# ------------------------------------------------------------------------------------------------ a ministry

def test_an_assessed_ministry_scores_on_the_ministries_framework(world):
    btp = unit_actor("BTP")
    leaves = self_leaves(view(world, btp, "BTP"))
    province_codes = {leaf["code"] for leaf in self_leaves(view(world))}
    assert leaves and {leaf["code"] for leaf in leaves} != province_codes
    first = leaves[0]
    saved = score(world, first["code"], {"score": first["max"], "explanation": "Không phát sinh"}, btp, "BTP")
    assert saved["totals"]["self"] == first["max"]
    assert world.stores.assessment.list_items("2021", "01") == []
