"""Questionnaires as data: the shipped samples, import by the ministry from JSON and from a workbook, versions,
and the lock once links have been sent."""
import copy
import io
from msgspec.structs import replace
from datetime import timedelta

import pytest
from openpyxl import Workbook, load_workbook

from chalicelib.errors import NotFoundError
from chalicelib.services import questionnaires
from chalicelib.store import questionnaires as questionnaire_store
from chalicelib.store.models import QuestionnaireModel

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BASE = "/campaigns/2021/questionnaires"
NEEDED = ["locality-1", "locality-2", "ministry-2", "locality-3", "ministry-3", "locality-4"]
SCALE = [{"value": "1", "label": "Rất kém", "score": 0}, {"value": "2", "label": "Kém", "score": 1},
         {"value": "3", "label": "Tốt", "score": 2}, {"value": "4", "label": "Rất tốt", "score": 3}]


def official(**over) -> dict:
    data = {"title": "Phiếu đánh giá địa phương (chính thức)", "description": "Lời giới thiệu",
            "sections": [{"title": "Thủ tục hành chính", "questions": [
                {"id": "Q1", "text": "Mức độ công khai thủ tục hành chính", "type": "single", "required": True,
                 "criterion": "3.2", "options": copy.deepcopy(SCALE)},
                {"id": "Q2", "text": "Ý kiến khác", "type": "text", "required": False, "max_length": 500}]}]}
    data.update(over)
    return data


def put_json(api, token, body, qid="locality-1", cid="2021"):
    return api.call("PUT", f"/campaigns/{cid}/questionnaires/{qid}", body, token=token)


def put_xlsx(api, token, data, qid="locality-1"):
    return api.call("PUT", f"{BASE}/{qid}", token=token, headers={"content-type": XLSX}, raw=data)


def workbook(rows: list[list], *, header: list | None = None, above: list[list] | None = None) -> bytes:
    """A questionnaire workbook as the ministry would type it."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Phiếu khảo sát"
    for line in above if above is not None else [["Tên phiếu", "Phiếu đánh giá địa phương 2021"],
                                                  ["Mô tả", "Phiếu chính thức"], []]:
        ws.append(line)
    ws.append(header or ["Mã câu hỏi", "Phần", "Nội dung câu hỏi", "Loại (một lựa chọn / nhiều lựa chọn / văn bản)",
                         "Bắt buộc (Có/Không)", "Tiêu chí", "Giá trị phương án", "Nhãn phương án", "Điểm"])
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


GOOD_ROWS = [
    ["C1", "I. Thủ tục hành chính", "Thủ tục hành chính được công khai đầy đủ", "Một lựa chọn", "Có", "3.2", 1,
     "Không đồng ý", 0],
    ["C1", None, None, None, None, None, 2, "Đồng ý", 1],
    [None, None, None, None, None, None, 3, "Hoàn toàn đồng ý", 2],
    ["C2", None, "Các kênh công khai", "nhieu lua chon", "không", "3.2", "a", "Cổng thông tin", "0,5"],
    ["C2", None, None, None, None, None, "b", "Niêm yết", 0.5],
    ["C3", "II. Ý kiến", "Ý kiến khác", "Văn bản", "Không", None, None, None, None],
]


def test_samples_exist_after_seeding_for_every_group_and_purpose_of_both_campaigns(api, tokens):
    for cid in ("2021", "demo"):
        r = api.call("GET", f"/campaigns/{cid}/questionnaires", token=tokens["admin"])
        assert r.status_code == 200
        items = r.data["items"]
        assert [i["qid"] for i in items] == NEEDED and r.data["missing"] == []
        for item in items:
            assert item["sample"] is True and item["title"].startswith("Phiếu mẫu — ")
            assert item["group_name"] in item["title"] or item["purpose"] == "ministry"
            assert item["version"] == 1 and item["locked"] is False
            assert 15 <= item["question_count"] <= 25
    by_qid = {i["qid"]: i for i in items}
    assert by_qid["ministry-2"]["purpose_name"] == "Phiếu đánh giá bộ chủ quản"
    assert "(dành cho Lãnh đạo cấp sở)" in by_qid["ministry-2"]["title"]


def test_a_province_reads_the_questionnaires_but_cannot_replace_them(api, tokens):
    r = api.call("GET", f"{BASE}/locality-2", token=tokens["02"])
    assert r.status_code == 200
    question = r.data["sections"][0]["questions"][0]
    assert set(question) == {"id", "text", "type", "required", "options", "max_length"}
    assert r.data["description"].startswith("PHIẾU MẪU")
    r = put_json(api, tokens["02"], official())
    assert r.status_code == 403 and r.data["message"] == "Chức năng này chỉ dành cho Bộ Nội vụ."
    r = put_xlsx(api, tokens["02"], workbook(GOOD_ROWS))
    assert r.status_code == 403


def test_the_ministry_imports_json_and_each_change_raises_the_version(api, tokens):
    r = put_json(api, tokens["admin"], official())
    assert r.status_code == 200, r.body
    assert r.data["version"] == 2 and r.data["changed"] is True and r.data["sample"] is False
    assert r.data["title"] == "Phiếu đánh giá địa phương (chính thức)"
    assert r.data["sections"][0]["questions"][1]["max_length"] == 500
    again = put_json(api, tokens["admin"], official())
    assert again.data["version"] == 2 and again.data["changed"] is False
    changed = put_json(api, tokens["admin"], official(title="Phiếu đánh giá địa phương (sửa đổi)"))
    assert changed.data["version"] == 3
    stored = api.call("GET", f"{BASE}/locality-1", token=tokens["admin"]).data
    assert stored["version"] == 3 and stored["updated_by"] == tokens.seeded["admin"][0]
    assert stored["title"] == "Phiếu đánh giá địa phương (sửa đổi)"
    audit = api.call("GET", "/audit?action=questionnaire_replaced", token=tokens["admin"]).data["items"]
    assert sorted(e["details"]["version"] for e in audit) == [2, 3]
    assert {e["target"] for e in audit} == {"locality-1"}


def test_a_stale_version_is_refused_so_no_change_is_lost(api, tokens):
    assert put_json(api, tokens["admin"], official(version=1)).status_code == 200
    r = put_json(api, tokens["admin"], official(title="Sửa từ bản cũ", version=1))
    assert r.status_code == 409 and r.data["code"] == "questionnaire_changed"
    assert "phiên bản 2" in r.data["message"]


def test_json_errors_name_the_field(api, tokens):
    bad = official()
    bad["sections"][0]["questions"][0]["options"][1]["value"] = "1"
    bad["sections"][0]["questions"][0]["criterion"] = "III"
    bad["sections"][0]["questions"][1]["id"] = "Q1"
    r = put_json(api, tokens["admin"], bad)
    assert r.status_code == 422 and r.data["code"] == "validation_failed"
    fields = {d["field"] for d in r.data["details"]}
    assert fields == {"sections[0].questions[0].options[1].value", "sections[0].questions[0].criterion",
                      "sections[0].questions[1].id"}
    assert api.call("GET", f"{BASE}/locality-1", token=tokens["admin"]).data["version"] == 1
    r = api.call("PUT", f"{BASE}/locality-1", token=tokens["admin"], raw=b"[1, 2]")
    assert r.status_code == 400
    r = api.call("PUT", f"{BASE}/locality-1", token=tokens["admin"], raw=b"{\"x\": \"\xff\"}")
    assert r.status_code == 400 and r.data["message"] == "Nội dung yêu cầu phải là JSON hợp lệ (UTF-8)."
    r = api.call("PUT", f"{BASE}/locality-1", token=tokens["admin"], raw=b" " * (1024 * 1024 + 1))
    assert r.status_code == 413 and r.data["message"] == "Nội dung phiếu quá lớn (tối đa 1 MB)."


def test_only_the_questionnaires_the_campaign_needs_can_be_imported(api, tokens):
    for qid in ("ministry-1", "locality-9", "other-1"):
        r = put_json(api, tokens["admin"], official(), qid=qid)
        assert r.status_code == 404 and qid in r.data["message"]
    assert api.call("GET", f"{BASE}/ministry-4", token=tokens["admin"]).status_code == 404


def test_the_ministry_imports_a_workbook_with_tolerant_headers(api, tokens):
    header = ["MA CAU HOI", "phần", "Nội dung  câu hỏi", "LOẠI", "bat buoc", "Tiêu chí", "Giá trị", "Phương án",
              "ĐIỂM", "Độ dài tối đa"]
    rows = [r + [None] for r in GOOD_ROWS]
    rows[-1][-1] = 300
    r = put_xlsx(api, tokens["admin"], workbook(rows, header=header))
    assert r.status_code == 200, r.body
    assert r.data["title"] == "Phiếu đánh giá địa phương 2021" and r.data["description"] == "Phiếu chính thức"
    assert r.data["version"] == 2 and r.data["sample"] is False
    first, second = r.data["sections"]
    assert first["title"] == "I. Thủ tục hành chính" and second["title"] == "II. Ý kiến"
    c1, c2 = first["questions"]
    assert [o["value"] for o in c1["options"]] == ["1", "2", "3"] and c1["required"] is True
    assert c2["type"] == "multi" and c2["required"] is False and [o["score"] for o in c2["options"]] == [0.5, 0.5]
    assert second["questions"][0] == {"id": "C3", "text": "Ý kiến khác", "type": "text", "required": False,
                                      "criterion": None, "options": [], "max_length": 300}
    audit = api.call("GET", "/audit?action=questionnaire_replaced", token=tokens["admin"]).data["items"]
    assert audit[0]["details"]["source"] == "xlsx"


def test_workbook_errors_name_the_row_and_the_column(api, tokens):
    rows = copy.deepcopy(GOOD_ROWS)
    rows[0][3] = "Thang điểm 10"          # row 5: unknown type
    rows[1][8] = "hai"                    # row 6: score not a number
    rows[3][5] = None                     # row 8: C2 has points but no criterion
    rows[4][6] = "a"                      # row 9: duplicate option value in C2
    rows.append(["C1", None, "Câu lặp lại", "Văn bản", "Có", None, None, None, None])  # row 11: C1 again
    r = put_xlsx(api, tokens["admin"], workbook(rows))
    assert r.status_code == 422, r.body
    found = {(d["row"], d["column"]) for d in r.data["details"]}
    assert found == {(5, "Loại"), (6, "Điểm"), (8, "Tiêu chí"), (9, "Giá trị phương án"), (11, "Mã câu hỏi")}
    assert all(d["message"] for d in r.data["details"])
    assert "chưa lưu" in r.data["message"]
    assert api.call("GET", f"{BASE}/locality-1", token=tokens["admin"]).data["version"] == 1


def test_a_workbook_without_the_needed_columns_is_refused_naming_them(api, tokens):
    r = put_xlsx(api, tokens["admin"], workbook([["C1", "A", "Câu", "Văn bản"]],
                                                header=["Mã câu hỏi", "Phần", "Nội dung câu hỏi", "Loại",
                                                        "Nhãn phương án"]))
    assert r.status_code == 422
    missing = {d["column"] for d in r.data["details"]}
    assert {"Bắt buộc", "Tiêu chí", "Giá trị phương án", "Điểm"} <= missing
    r = put_xlsx(api, tokens["admin"], b"not a workbook")
    assert r.status_code == 415


def test_an_exported_workbook_imports_back_to_the_same_questionnaire(api, tokens):
    r = api.call("GET", f"{BASE}/ministry-3/workbook", token=tokens["admin"], headers={"accept": XLSX})
    assert r.status_code == 200 and r.headers["content-type"] == XLSX
    wb = load_workbook(io.BytesIO(r.body))
    assert wb.sheetnames == ["Phiếu khảo sát", "Hướng dẫn"]
    assert wb["Phiếu khảo sát"]["B1"].value.startswith("Phiếu mẫu — ")
    back = put_xlsx(api, tokens["admin"], r.body, qid="ministry-3")
    assert back.status_code == 200, back.body
    assert back.data["changed"] is False and back.data["version"] == 1
    ws = wb["Phiếu khảo sát"]
    ws["B1"] = "Phiếu đánh giá bộ chủ quản 2021"
    ws["B3"] = "Không"
    out = io.BytesIO()
    wb.save(out)
    edited = put_xlsx(api, tokens["admin"], out.getvalue(), qid="ministry-3")
    assert edited.data["version"] == 2 and edited.data["sample"] is False
    assert edited.data["sections"] == back.data["sections"]


def test_once_locked_a_questionnaire_can_no_longer_change(api, tokens, clock):
    qid, version, title = questionnaires.for_respondent("2021", "2", "locality")
    assert (qid, version) == ("locality-2", 1) and title.startswith("Phiếu mẫu — ")
    assert questionnaires.lock("2021", "locality-2", clock()) == 1
    first = questionnaire_store.get("2021", "locality-2").locked_at
    clock.at(clock() + timedelta(hours=1))
    assert questionnaires.lock("2021", "locality-2", clock()) == 1  # idempotent
    assert questionnaire_store.get("2021", "locality-2").locked_at == first
    r = put_json(api, tokens["admin"], official(), qid="locality-2")
    assert r.status_code == 409 and r.data["code"] == "questionnaire_locked"
    assert "đã được gửi" in r.data["message"]
    r = put_xlsx(api, tokens["admin"], workbook(GOOD_ROWS), qid="locality-2")
    assert r.status_code == 409
    item = api.call("GET", f"{BASE}/locality-2", token=tokens["admin"]).data
    assert item["locked"] is True and item["version"] == 1 and item["locked_at"]
    locks = api.call("GET", "/audit?action=questionnaire_locked", token=tokens["admin"]).data["items"]
    assert len(locks) == 1 and locks[0]["target"] == "locality-2"
    assert put_json(api, tokens["admin"], official(), qid="locality-3").status_code == 200


def test_the_store_refuses_a_change_that_races_the_lock(seeded, clock):
    from chalicelib.errors import ConflictError
    from chalicelib.store import questionnaires as store

    item = store.get("2021", "locality-1")
    store.lock("2021", "locality-1", clock())
    with pytest.raises(ConflictError) as caught:
        store.put_version(replace(item, version=2, title="Đổi sau khi khóa"), 1)
    assert caught.value.code == "questionnaire_locked"


def test_dispatch_is_told_when_a_questionnaire_is_missing(seeded, clock):
    QuestionnaireModel("2021", "ministry-3").delete()
    with pytest.raises(NotFoundError) as caught:
        questionnaires.for_respondent("2021", "3", "ministry")
    assert "ministry-3" in caught.value.message
    with pytest.raises(NotFoundError):
        questionnaires.lock("2021", "ministry-3", clock())


def _scored(definition: dict) -> tuple[set, set]:
    questions = [q for section in definition["sections"] for q in section["questions"]]
    return ({q["criterion"] for q in questions if q.get("criterion")},
            {o["score"] for q in questions for o in q.get("options") or [] if "score" in o})


def test_a_province_reads_questionnaires_as_respondents_see_them_no_scores_no_criteria(api, tokens):
    """Coaching: a province that knew which answers count, and how much, could steer its respondents."""
    for qid in NEEDED:
        ministry = api.call("GET", f"{BASE}/{qid}", token=tokens["admin"]).data
        province = api.call("GET", f"{BASE}/{qid}", token=tokens["01"]).data
        criteria, scores = _scored(ministry)
        assert criteria and scores  # the ministry sees everything
        assert _scored(province) == (set(), set())
        for question in (q for s in province["sections"] for q in s["questions"]):
            assert "criterion" not in question and all(set(o) == {"value", "label"} for o in question["options"])
        # the same questions, options and texts otherwise
        strip = [[(q["id"], q["text"], [o["label"] for o in q["options"]]) for q in s["questions"]]
                 for s in ministry["sections"]]
        assert strip == [[(q["id"], q["text"], [o["label"] for o in q["options"]]) for q in s["questions"]]
                         for s in province["sections"]]
        assert province["version"] == ministry["version"] and province["title"] == ministry["title"]


def test_the_workbook_a_province_downloads_has_no_score_or_criterion_column(api, tokens):
    r = api.call("GET", f"{BASE}/locality-1/workbook", token=tokens["01"], headers={"accept": XLSX})
    assert r.status_code == 200 and r.headers["content-type"] == XLSX
    wb = load_workbook(io.BytesIO(r.body))
    assert wb.sheetnames == ["Phiếu khảo sát"]
    rows = [tuple(row) for row in wb["Phiếu khảo sát"].iter_rows(values_only=True)]
    header = rows[4]
    assert "Điểm" not in header and "Tiêu chí" not in header
    assert header[:5] == ("Mã câu hỏi", "Phần", "Nội dung câu hỏi", "Loại (một lựa chọn / nhiều lựa chọn / văn bản)",
                          "Bắt buộc (Có/Không)")
    ministry = api.call("GET", f"{BASE}/locality-1", token=tokens["admin"]).data
    criteria, _ = _scored(ministry)
    cells = {str(c) for row in rows[5:] for c in row if c is not None}
    assert not cells & criteria  # no criterion code anywhere in the province's copy
    labels = [o["label"] for s in ministry["sections"] for q in s["questions"] for o in q["options"]]
    assert [row[header.index("Nhãn phương án")] for row in rows[5:] if row[header.index("Nhãn phương án")]] == labels
    full = load_workbook(io.BytesIO(api.call("GET", f"{BASE}/locality-1/workbook", token=tokens["admin"],
                                             headers={"accept": XLSX}).body))
    assert "Điểm" in [c.value for c in full["Phiếu khảo sát"][5]]  # the ministry's copy still has everything
