"""Self-assessment through the API: the framework as data, scoring with evidence checked on arrival, approval,
the deadline lock, appraisal and its publication."""
import hashlib
from datetime import datetime
from zoneinfo import ZoneInfo

import boto3
import pytest
import requests

from chalicelib.config import settings

VN = ZoneInfo("Asia/Ho_Chi_Minh")
A = "/campaigns/2021/units/01/assessment"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
OPEN = datetime(2022, 2, 1, 9, 0, tzinfo=VN)
APPRAISING = datetime(2022, 2, 20, 9, 0, tzinfo=VN)


def run_schedule(api):
    """The close-phases rule fired the way EventBridge fires it."""
    client = api.client
    return client.lambda_.invoke("close-phases", client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]))


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


def upload(api, token: str, code: str, filename: str, content: bytes, unit: str = "01") -> str:
    """The browser's two steps: ask for a presigned POST, then send the file straight to S3."""
    r = api.call("POST", f"/campaigns/2021/units/{unit}/assessment/evidence",
                 {"code": code, "filename": filename, "size": len(content)}, token=token)
    assert r.status_code == 201, r.body
    sent = requests.post(r.data["url"], data=r.data["fields"], files={"file": (filename, content)}, timeout=10)
    assert sent.status_code in (200, 201, 204), sent.text
    return r.data["evidence_id"]


def stored(prefix: str) -> list[str]:
    return [o["Key"] for o in boto3.client("s3", region_name="ap-southeast-1").list_objects_v2(
        Bucket=settings().evidence_bucket, Prefix=prefix).get("Contents", [])]


def grant(api, token: str, code: str, filename: str, content: bytes) -> dict:
    """An upload grant (presigned POST) with the file sent through it once."""
    r = api.call("POST", f"{A}/evidence", {"code": code, "filename": filename, "size": len(content)}, token=token)
    assert r.status_code == 201, r.body
    post(r.data, filename, content)
    return r.data


def post(granted: dict, filename: str, content: bytes) -> None:
    sent = requests.post(granted["url"], data=granted["fields"], files={"file": (filename, content)}, timeout=10)
    assert sent.status_code in (200, 201, 204), sent.text


def test_an_attached_file_is_pinned_and_a_grant_used_again_changes_nothing(api, scoring, tokens):
    """The evidence swap: the province posts again through the same grant after the file was checked and attached
    (a different file, even one of another kind); the ministry still downloads the checked bytes."""
    granted = grant(api, scoring, "1.2", "Kế hoạch CCHC.pdf", PDF)
    r = api.call("PUT", f"{A}/items/1.2", {"score": 1.5, "evidence": [granted["evidence_id"]]}, token=scoring)
    assert r.status_code == 200, r.body
    [attached] = r.data["item"]["evidence"]
    assert attached["sha256"] == hashlib.sha256(PDF).hexdigest() and attached["size"] == len(PDF)
    swapped = b"MZ\x90\x00" + b"not the plan" * 100
    post(granted, "Kế hoạch CCHC.pdf", swapped)  # S3 takes it: the grant is still valid for 15 minutes
    r = api.call("PUT", f"{A}/items/1.2", {"score": 1, "evidence": [granted["evidence_id"]]}, token=scoring)
    assert r.status_code == 200 and r.data["item"]["evidence"][0]["sha256"] == attached["sha256"]
    ministry = api.call("GET", A, token=tokens["admin"]).data
    [line] = [leaf for leaf in self_leaves(ministry) if leaf["code"] == "1.2"]
    [seen] = line["evidence"]
    downloaded = requests.get(seen["url"], timeout=10).content
    assert downloaded == PDF and hashlib.sha256(downloaded).hexdigest() == seen["sha256"] == attached["sha256"]
    assert "/attached/2021/01/assessment/" in seen["url"]
    # what the grant posted last lies under the upload prefix only, where the lifecycle rule deletes it
    assert stored("evidence/2021/01/assessment/") == [f"evidence/2021/01/assessment/{granted['evidence_id']}"]


@pytest.fixture
def scoring(api, tokens, clock):
    clock.at(OPEN)
    return tokens["01"]


@pytest.mark.slow
def test_the_2021_campaign_ships_a_sample_framework_whose_lines_add_up_to_100(api, tokens, clock):
    r = api.call("GET", "/campaigns/2021/framework", token=tokens["01"])
    assert r.status_code == 200, r.body
    fw = r.data
    assert fw["sample"] is True and "MẪU" in fw["title"] and fw["maximum"] == 100
    assert len(fw["fields"]) == 8
    assert sum(f["max"] for f in fw["fields"]) == 100
    methods = {}

    def walk(nodes):
        for n in nodes:
            if n["children"]:
                assert n["max"] == pytest.approx(sum(c["max"] for c in n["children"]))
                walk(n["children"])
            else:
                methods[n["method"]] = methods.get(n["method"], 0) + n["max"]
    walk(fw["fields"])
    assert methods == {"self": 62, "survey": 23, "imported": 15}


def test_an_imported_framework_is_validated_and_every_problem_named(api, tokens, clock):
    bad = {"title": "Bộ tiêu chí thử", "maximum": 10, "fields": [
        {"code": "1", "name": "Lĩnh vực một", "max": 6, "criteria": [
            {"code": "1.1", "name": "Tiêu chí", "max": 3, "method": "self", "step": 0.5},
            {"code": "1.1", "name": "Trùng mã", "max": 2, "method": "self"},
            {"code": "2.1", "name": "Sai cha", "max": 1, "method": "tự chấm"}]},
        {"code": "2", "name": "Lĩnh vực hai", "max": 3, "criteria": [
            {"code": "2.2", "name": "Không phương thức", "max": 3}]}]}
    r = api.call("PUT", "/campaigns/2021/framework", bad, token=tokens["admin"])
    assert r.status_code == 422, r.body
    messages = " | ".join(d["message"] for d in r.data["details"])
    assert "mã 1.1 bị trùng" in messages
    assert "phải bắt đầu bằng mã của mục cha 1" in messages
    assert "phương thức chấm" in messages
    assert "khác tổng điểm của bộ tiêu chí (10)" in messages
    # the sample questionnaires measure 1.5, 2.4 … by the survey: a framework without them is refused
    assert "Câu hỏi khảo sát" in messages and "tiêu chí 1.5" in messages
    assert api.call("PUT", "/campaigns/2021/framework", bad, token=tokens["01"]).status_code == 403


def test_the_framework_workbook_exported_imports_back_unchanged(api, tokens, clock):
    from outbox import download as download_export

    link = api.call("GET", "/campaigns/2021/framework.xlsx", token=tokens["admin"])
    assert link.status_code == 200, link.body
    data = download_export(link.data["url"])
    before = api.call("GET", "/campaigns/2021/framework", token=tokens["admin"]).data
    r = api.call("PUT", "/campaigns/2021/framework", token=tokens["admin"], raw=data,
                 headers={"content-type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"})
    assert r.status_code == 200, r.body
    assert r.data["version"] == before["version"] + 1
    assert r.data["fields"] == before["fields"] and r.data["title"] == before["title"]


def test_a_province_scores_a_line_in_its_steps_and_sees_the_totals(api, scoring):
    view = api.call("GET", A, token=scoring).data
    assert view["state"] == "draft" and view["editable"] is True
    assert view["totals"] == {"self": 0, "self_max": 62, "appraised": None, "maximum": 100}
    leaf = self_leaves(view)[0]
    assert leaf["code"] == "1.1.1" and leaf["max"] == 0.75 and leaf["step"] == 0.25
    r = api.call("PUT", f"{A}/items/1.1.1", {"score": 0.6}, token=scoring)
    assert r.status_code == 422 and r.data["details"][0]["field"] == "score"
    assert "bội số của 0,25" in r.data["message"]
    r = api.call("PUT", f"{A}/items/1.1.1", {"score": 1}, token=scoring)
    assert r.status_code == 422 and "từ 0 đến 0,75" in r.data["message"]
    r = api.call("PUT", f"{A}/items/1.5", {"score": 1}, token=scoring)
    assert r.status_code == 422 and "điều tra xã hội học" in r.data["message"]
    r = api.call("PUT", f"{A}/items/1.1", {"score": 1}, token=scoring)
    assert r.status_code == 422 and "mục con" in r.data["message"]
    r = api.call("PUT", f"{A}/items/1.1.1", {"score": 0.5, "note": "Ban hành ngày 28/12/2021"}, token=scoring)
    assert r.status_code == 200, r.body
    assert r.data["item"]["score"] == 0.5 and r.data["totals"]["self"] == 0.5
    assert r.data["fields"][0] == {"code": "1", "self_total": 0.5, "self_max": 11.75}
    view = api.call("GET", A, token=scoring).data
    assert view["fields"][0]["self_total"] == 0.5 and view["fields"][0]["children"][0]["self_total"] == 0.5


def test_evidence_goes_straight_to_storage_and_is_checked_by_content_on_arrival(api, scoring):
    good = upload(api, scoring, "1.2", "Báo cáo CCHC quý 4.pdf", PDF)
    r = api.call("PUT", f"{A}/items/1.2", {"score": 1.5, "evidence": [good]}, token=scoring)
    assert r.status_code == 200, r.body
    evidence = r.data["item"]["evidence"]
    assert [(e["filename"], e["size"], e["content_type"]) for e in evidence] == [
        ("Báo cáo CCHC quý 4.pdf", len(PDF), "application/pdf")]
    assert requests.get(evidence[0]["url"], timeout=10).content == PDF
    # a picture renamed .pdf is refused by its content and removed from storage
    fake = upload(api, scoring, "1.2", "bien-ban.pdf", PNG)
    r = api.call("PUT", f"{A}/items/1.2", {"score": 1.5, "evidence": [good, fake]}, token=scoring)
    assert r.status_code == 422 and "bien-ban.pdf" in r.data["message"]
    assert r.data["details"] == [{"field": "evidence[1]", "evidence": fake}]
    assert not stored("evidence/2021/01/assessment/")  # the uploads: the good one pinned, the fake one refused
    assert [k.split("/")[-1].split("-")[0] for k in stored("attached/2021/01/assessment/")] == [good]
    # an id never uploaded, or of another kind of file
    r = api.call("PUT", f"{A}/items/1.2", {"evidence": ["ab" * 16]}, token=scoring)
    assert r.status_code == 422 and "chưa được tải lên xong" in r.data["message"]
    r = api.call("PUT", f"{A}/items/1.2", {"evidence": ["../../2021/02/assessment/x"]}, token=scoring)
    assert r.status_code == 422 and r.data["message"] == "Mã tệp kiểm chứng không hợp lệ."
    r = api.call("POST", f"{A}/evidence", {"code": "1.2", "filename": "virus.exe", "size": 10}, token=scoring)
    assert r.status_code == 422 and "chỉ nhận PDF" in r.data["message"]
    r = api.call("POST", f"{A}/evidence", {"code": "1.2", "filename": "big.pdf", "size": 21 * 1024 * 1024},
                 token=scoring)
    assert r.status_code == 422 and "20 MB" in r.data["message"]


def complete_all(api, token: str, view: dict) -> None:
    for leaf in self_leaves(view):
        r = api.call("PUT", f"{A}/items/{leaf['code']}", {"score": leaf["max"], "explanation": "Không phát sinh"},
                     token=token)
        assert r.status_code == 200, r.body


APPROVAL = {"leader_name": "Nguyễn Văn An", "leader_position": "Phó Chủ tịch UBND tỉnh",
            "decision_number": "125/QĐ-UBND", "decision_date": "28/01/2022"}


@pytest.mark.slow
def test_approval_needs_every_line_and_then_locks_the_scores(api, scoring, tokens):
    view = api.call("GET", A, token=scoring).data
    report_grant = grant(api, scoring, "report", "Bao cao tu danh gia (ban ky).pdf", PDF)
    report = report_grant["evidence_id"]
    r = api.call("POST", f"{A}/approve", {**APPROVAL, "report": report}, token=scoring)
    assert r.status_code == 422
    assert r.data["message"] == f"Còn {len(self_leaves(view))} mục chưa hoàn thành; chưa thể phê duyệt."
    assert {"field": "items", "code": "1.1.1", "message": "Mục 1.1.1: chưa chấm điểm."} in r.data["details"]
    r = api.call("POST", f"{A}/approve", {**APPROVAL, "decision_date": "31/02/2022", "leader_name": ""},
                 token=scoring)
    assert r.status_code == 422
    assert {d["field"] for d in r.data["details"]} == {"leader_name", "decision_date", "report"}
    complete_all(api, scoring, view)
    r = api.call("POST", f"{A}/approve", {**APPROVAL, "report": report}, token=scoring)
    assert r.status_code == 200, r.body
    assert r.data["state"] == "approved" and r.data["editable"] is False
    assert r.data["approval"]["decision_number"] == "125/QĐ-UBND"
    assert r.data["approval"]["report"]["filename"] == "Bao cao tu danh gia (ban ky).pdf"
    assert r.data["approval"]["report"]["sha256"] == hashlib.sha256(PDF).hexdigest()
    # the signed report's grant used again after the approval: the ministry still gets the approved report
    post(report_grant, "Bao cao tu danh gia (ban ky).pdf", PNG)
    seen = api.call("GET", A, token=tokens["admin"]).data["approval"]["report"]
    assert requests.get(seen["url"], timeout=10).content == PDF
    assert r.data["totals"]["self"] == 62
    r = api.call("PUT", f"{A}/items/1.1.1", {"score": 0}, token=scoring)
    assert r.status_code == 409 and r.data["code"] == "assessment_closed"
    assert api.call("POST", f"{A}/evidence", {"code": "1.2", "filename": "a.pdf", "size": 9},
                    token=scoring).status_code == 409


def test_only_the_unit_itself_scores_and_the_ministry_cannot_score_for_it(api, scoring, tokens):
    assert api.call("PUT", f"{A}/items/1.2", {"score": 1}, token=tokens["02"]).status_code == 403
    assert api.call("GET", A, token=tokens["02"]).status_code == 403
    r = api.call("PUT", f"{A}/items/1.2", {"score": 1}, token=tokens["admin"])
    assert r.status_code == 403 and "Bộ Nội vụ thẩm định" in r.data["message"]
    assert api.call("GET", A, token=tokens["admin"]).status_code == 200


@pytest.mark.slow
def test_after_the_deadline_writes_are_refused_and_the_schedule_locks_every_open_assessment(api, tokens, clock):
    clock.at(OPEN)
    assert api.call("PUT", f"{A}/items/1.2", {"score": 1}, token=tokens["01"]).status_code == 200
    clock.at(datetime(2022, 2, 15, 23, 59, 59, tzinfo=VN))
    assert api.call("PUT", f"{A}/items/1.2", {"score": 1.5}, token=tokens["01"]).status_code == 200
    clock.at(datetime(2022, 2, 16, 0, 0, 0, tzinfo=VN))
    r = api.call("PUT", f"{A}/items/1.2", {"score": 0.5}, token=tokens["01"])
    assert r.status_code == 423 and "15/02/2022" in r.data["message"]
    clock.at(datetime(2022, 2, 16, 0, 5, tzinfo=VN))
    run_schedule(api)
    states = {u["unit"]: u["assessment_state"] for u in
              api.call("GET", "/campaigns/2021/results", token=tokens["admin"]).data["units"]}
    assert len(states) == 63 and set(states.values()) == {"locked"}
    view = api.call("GET", "/campaigns/2021/units/96/assessment", token=tokens["admin"]).data
    assert view["state"] == "locked" and view["state_label"] == "Đã khóa (hết hạn)"
    view = api.call("GET", A, token=tokens["01"]).data
    assert view["state"] == "locked" and view["editable"] is False and view["totals"]["self"] == 1.5
    notes = api.call("GET", "/campaigns/2021/units/01/notifications", token=tokens["01"]).data["items"]
    locked = [n for n in notes if "Bản tự đánh giá chưa được phê duyệt đã được khóa" in n["message"]]
    assert len(locked) == 1 and locked[0]["title"] == "Đã khóa: Tự đánh giá, chấm điểm"
    run_schedule(api)  # again: nothing new
    notes = api.call("GET", "/campaigns/2021/units/01/notifications", token=tokens["01"]).data["items"]
    assert len([n for n in notes if "Bản tự đánh giá" in n["message"]]) == 1


@pytest.mark.slow
def test_the_ministry_appraises_after_submission_and_the_province_sees_it_once_published(api, tokens, clock):
    clock.at(OPEN)
    view = api.call("GET", A, token=tokens["01"]).data
    complete_all(api, tokens["01"], view)
    clock.at(APPRAISING)
    r = api.call("PUT", f"{A}/items/1.2/appraisal", {"score": 1}, token=tokens["admin"])
    assert r.status_code == 409 and r.data["code"] == "assessment_not_submitted"
    run_schedule(api)  # the deadline locked the draft: it can be appraised now
    r = api.call("PUT", f"{A}/items/1.2/appraisal", {"score": 1, "comment": "Thiếu báo cáo quý 3"},
                 token=tokens["admin"])
    assert r.status_code == 200, r.body
    assert r.data["item"]["appraisal"]["score"] == 1 and r.data["totals"]["appraised"] == 61.5
    r = api.call("PUT", f"{A}/items/8.2/appraisal", {"score": 8.75, "comment": "SIPAS 2021"}, token=tokens["admin"])
    assert r.status_code == 200 and r.data["totals"]["appraised"] == 70.25
    assert api.call("PUT", f"{A}/items/1.5/appraisal", {"score": 1}, token=tokens["admin"]).status_code == 422
    assert api.call("PUT", f"{A}/items/1.2/appraisal", {"score": 1}, token=tokens["01"]).status_code == 403
    province = api.call("GET", A, token=tokens["01"]).data
    assert province["appraisal_published"] is False and province["totals"]["appraised"] is None
    leaf = next(n for n in self_leaves(province) if n["code"] == "1.2")
    assert leaf["appraisal"] is None
    r = api.call("POST", f"{A}/publish", token=tokens["admin"])
    assert r.status_code == 200 and r.data["appraisal_published"] is True
    province = api.call("GET", A, token=tokens["01"]).data
    leaf = next(n for n in self_leaves(province) if n["code"] == "1.2")
    assert leaf["appraisal"]["score"] == 1 and leaf["appraisal"]["comment"] == "Thiếu báo cáo quý 3"
    assert province["totals"]["appraised"] == 70.25
    notes = api.call("GET", "/campaigns/2021/units/01/notifications", token=tokens["01"]).data["items"]
    assert any(n["title"] == "Đã có kết quả thẩm định" for n in notes)


@pytest.mark.slow
def test_the_ministry_reopens_a_submitted_assessment_with_a_reason(api, tokens, clock):
    clock.at(OPEN)
    view = api.call("GET", A, token=tokens["01"]).data
    complete_all(api, tokens["01"], view)
    report = upload(api, tokens["01"], "report", "bao-cao.pdf", PDF)
    assert api.call("POST", f"{A}/approve", {**APPROVAL, "report": report}, token=tokens["01"]).status_code == 200
    r = api.call("DELETE", f"{A}/approve", {"reason": ""}, token=tokens["admin"])
    assert r.status_code == 422 and r.data["details"] == [{"field": "reason"}]
    r = api.call("DELETE", f"{A}/approve", {"reason": "Thiếu tài liệu kiểm chứng mục 3.3.1"},
                 token=tokens["admin"])
    assert r.status_code == 200 and r.data["state"] == "draft" and r.data["approval"] is None
    assert r.data["reopened"][0]["reason"] == "Thiếu tài liệu kiểm chứng mục 3.3.1"
    assert api.call("PUT", f"{A}/items/3.3.1", {"score": 1.5, "explanation": "Bổ sung"},
                    token=tokens["01"]).status_code == 200
    assert api.call("DELETE", f"{A}/approve", {"reason": "x"}, token=tokens["01"]).status_code == 403
