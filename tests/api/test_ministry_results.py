"""The ministries' PAR Index through the API: their framework (per unit kind, validated against the managing-ministry
questionnaires), their self-assessment by the same flow as the provinces', and their results: survey points from the
answers of every non-annulled province's department and division leaders about their managing ministry, ranked among
the ranked ministries only."""
import copy
import io
import secrets
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import requests
from openpyxl import load_workbook

from chalicelib.domain import questionnaire as q_rules
from chalicelib.formats import datafiles

VN = ZoneInfo("Asia/Ho_Chi_Minh")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
C = "/campaigns/2021"
OPEN = datetime(2022, 2, 1, 9, 0, tzinfo=VN)


def ministry_sample() -> dict:
    spec, _ = datafiles.load_campaign("2021")
    return datafiles.load_json(datafiles.framework_files(spec)["ministry"])


def leaves(nodes: list[dict], method: str | None = None) -> list[dict]:
    out = []
    for node in nodes:
        if node["children"]:
            out += leaves(node["children"], method)
        elif method is None or node["method"] == method:
            out.append(node)
    return out


# ------------------------------------------------------------------------------------------------ framework per kind

def test_each_kind_of_unit_has_its_own_sample_framework(api, tokens):
    ministries = api.call("GET", f"{C}/framework?kind=ministry", token=tokens["admin"])
    assert ministries.status_code == 200, ministries.body
    fw = ministries.data
    assert fw["kind"] == "ministry" and fw["sample"] is True and "MẪU" in fw["title"] and fw["maximum"] == 100
    assert len(fw["fields"]) == 7
    assert sum(leaf["max"] for leaf in leaves(fw["fields"], "survey")) == 36.5
    provinces = api.call("GET", f"{C}/framework", token=tokens["admin"]).data
    assert provinces["kind"] == "province" and len(provinces["fields"]) == 8
    assert api.call("GET", f"{C}/framework?kind=province", token=tokens["admin"]).data == provinces
    # a ministry's account reads the framework it is scored on
    assert api.call("GET", f"{C}/framework?kind=ministry", token=tokens["BTP"]).data == fw


def test_an_unknown_kind_is_refused_naming_the_field(api, tokens):
    for method, path in (("GET", f"{C}/framework?kind=bo"), ("GET", f"{C}/framework.xlsx?kind=bo"),
                         ("GET", f"{C}/results?kind=bo")):
        r = api.call(method, path, token=tokens["admin"])
        assert r.status_code == 400, (path, r.body)
        assert r.data["details"] == [{"field": "kind"}] and "Loại đơn vị (kind) không hợp lệ" in r.data["message"]
    r = api.call("PUT", f"{C}/framework?kind=tinh", ministry_sample(), token=tokens["admin"])
    assert r.status_code == 400 and r.data["details"] == [{"field": "kind"}]


def test_the_ministries_framework_is_validated_against_the_managing_ministry_questionnaires(api, tokens):
    raw = copy.deepcopy(ministry_sample())
    line = next(c for c in raw["fields"][6]["criteria"] if c["code"] == "7.4")
    line.update(method="self", step=0.5)  # the questionnaire's criterion 7.4 is no longer a survey line
    r = api.call("PUT", f"{C}/framework?kind=ministry", raw, token=tokens["admin"])
    assert r.status_code == 422, r.body
    assert [(d["code"], d["field"]) for d in r.data["details"]] == [("7.4", "fields")]
    assert r.data["details"][0]["message"] == ("Câu hỏi khảo sát (ministry-2, ministry-3) chấm cho tiêu chí 7.4 nhưng "
                                               "mục này không phải tiêu chí đo bằng điều tra xã hội học.")
    # the provinces' framework put as the ministries' (and the other way round) is refused by its declared kind
    provinces_raw = datafiles.load_json(datafiles.framework_files(datafiles.load_campaign("2021")[0])["province"])
    r = api.call("PUT", f"{C}/framework?kind=ministry", {**provinces_raw, "kind": "province"}, token=tokens["admin"])
    assert r.status_code == 422
    assert any(d["field"] == "kind" and "dành cho các tỉnh, thành phố" in d["message"] for d in r.data["details"])
    r = api.call("PUT", f"{C}/framework", ministry_sample(), token=tokens["admin"])
    assert r.status_code == 422
    assert any(d["field"] == "kind" and "dành cho các bộ, cơ quan ngang bộ" in d["message"]
               for d in r.data["details"])
    # without a declared kind, the provinces' sample lacks the ministries' survey lines
    r = api.call("PUT", f"{C}/framework?kind=ministry", {k: v for k, v in provinces_raw.items() if k != "kind"},
                 token=tokens["admin"])
    assert r.status_code == 422 and any("(ministry-2, ministry-3)" in d["message"] for d in r.data["details"])
    # only the organiser imports
    assert api.call("PUT", f"{C}/framework?kind=ministry", ministry_sample(), token=tokens["BTP"]).status_code == 403
    # a valid one replaces the ministries' framework only
    before = api.call("GET", f"{C}/framework", token=tokens["admin"]).data
    r = api.call("PUT", f"{C}/framework?kind=ministry", {**ministry_sample(), "title": "Bộ tiêu chí MẪU sửa"},
                 token=tokens["admin"])
    assert r.status_code == 200, r.body
    assert r.data["kind"] == "ministry" and r.data["version"] == 2 and r.data["title"] == "Bộ tiêu chí MẪU sửa"
    assert api.call("GET", f"{C}/framework", token=tokens["admin"]).data == before


def test_the_ministries_framework_workbook_exported_imports_back_unchanged(api, tokens):
    from outbox import download

    link = api.call("GET", f"{C}/framework.xlsx?kind=ministry", token=tokens["admin"])
    assert link.status_code == 200, link.body
    assert link.data["filename"] == "bo-tieu-chi-2021-ministry.xlsx"
    before = api.call("GET", f"{C}/framework?kind=ministry", token=tokens["admin"]).data
    r = api.call("PUT", f"{C}/framework?kind=ministry", token=tokens["admin"], raw=download(link.data["url"]),
                 headers={"content-type": XLSX})
    assert r.status_code == 200, r.body
    assert r.data["version"] == before["version"] + 1 and r.data["kind"] == "ministry"
    assert r.data["fields"] == before["fields"] and r.data["title"] == before["title"]
    # the provinces' workbook imported as the ministries' is refused: its survey lines are not the ministries'
    provinces = download(api.call("GET", f"{C}/framework.xlsx", token=tokens["admin"]).data["url"])
    r = api.call("PUT", f"{C}/framework?kind=ministry", token=tokens["admin"], raw=provinces,
                 headers={"content-type": XLSX})
    assert r.status_code == 422 and any("(ministry-2, ministry-3)" in d["message"] for d in r.data["details"])


def test_a_campaign_without_ministries_has_no_ministries_framework_and_no_ministry_results(api, tokens):
    definition = {
        "id": "2025", "name": "Chỉ số CCHC năm 2025", "year": 2025,
        "groups": [{"code": "1", "name": "Đại biểu HĐND cấp tỉnh"},
                   {"code": "2", "name": "Lãnh đạo cấp sở", "questionnaires": ["locality", "ministry"]}],
        "phases": [{"code": "self_assessment", "opens": "2026-01-05", "closes": "2026-01-20"}],
        "units": [{"code": f"{i:02d}", "name": f"Tỉnh {i}"} for i in range(1, 4)],
    }
    assert api.call("POST", "/campaigns", definition, token=tokens["admin"]).status_code == 201
    r = api.call("GET", "/campaigns/2025/framework?kind=ministry", token=tokens["admin"])
    assert r.status_code == 404 and "các bộ, cơ quan ngang bộ" in r.data["message"]
    r = api.call("GET", "/campaigns/2025/results?kind=ministry", token=tokens["admin"])
    assert r.status_code == 200, r.body
    assert r.data["kind"] == "ministry" and r.data["units"] == [] and r.data["framework"] is None
    assert r.data["fields"] == [] and r.data["grade_counts"] == {"A": 0, "B": 0, "C": 0}


# ------------------------------------------------------------------------------------------------ results

def stored_response(province: str, ministry: str, group: str, definition: dict, answers: dict) -> None:
    """A submitted managing-ministry form as the survey stores it: answers and their points per criterion, the
    ministry unit it evaluates, nobody's identity, with the counters the survey moves in the same transaction (the
    province's submits, the ministry's answers). Written straight to the tables: the 2021 campaign's survey closed
    in 2022, so its forms cannot be answered now; the scores are the questionnaire's own, and the last test of this
    file makes the same evaluations through the survey itself."""
    from chalicelib.store.links import ministry_counter
    from chalicelib.store.models import ResponseModel, StatsModel

    ResponseModel(unit_key=f"2021#{province}", response_id=secrets.token_hex(16), qid=f"ministry-{group}",
                  q_version=1, group=group, purpose="ministry", answers=answers,
                  scores=q_rules.score(definition, answers), submitted_at=datetime(2022, 2, 10, 3, 0, tzinfo=VN),
                  ministry=ministry).save()
    for key in ("all", f"{group}#ministry"):
        StatsModel(unit_key=f"2021#{province}", key=key).update(actions=[StatsModel.submitted.add(1)])
    unit_key, key = ministry_counter("2021", ministry, province, group)
    StatsModel(unit_key=unit_key, key=key).update(actions=[StatsModel.answered.add(1)])


def answers_at(definition: dict, level: int) -> dict:
    """Every question about the ministry answered at `level` (1 … 5: "Hoàn toàn không đồng ý" … "Hoàn toàn đồng
    ý"), except criterion 2.4's questions, always answered at their best (5, 5 and every form of support: 11 of
    11 points), so that only the level moves the other six survey lines."""
    out: dict = {}
    for section in definition["sections"]:
        for q in section["questions"]:
            if q["type"] == "single":
                wanted = 5 if q["criterion"] == "2.4" else level
                out[q["id"]] = next(o["value"] for o in q["options"] if o["score"] == wanted)
            elif q["type"] == "multi":
                scored = [o["value"] for o in q["options"] if o["score"] > 0]
                out[q["id"]] = scored or [q["options"][0]["value"]]
            elif q["required"]:
                out[q["id"]] = "Ý kiến"
    return out


# Who evaluates whom: (province, ministry, group, level). UBDT is assessed but not ranked.
EVALUATIONS = [
    ("01", "BTP", "2", 5), ("02", "BTP", "2", 1), ("04", "BTP", "3", 3),
    ("01", "BYT", "3", 2), ("02", "BYT", "3", 4), ("02", "BYT", "2", 5), ("04", "BYT", "2", 3),
    ("01", "UBDT", "2", 4), ("02", "UBDT", "2", 1), ("04", "UBDT", "3", 5),
]


@pytest.fixture
def evaluated(api, tokens):
    """Department (group 2) and division (group 3) leaders of provinces 01, 02 and 04 evaluate their managing
    ministries: BTP, BYT and UBDT."""
    forms = {g: api.call("GET", f"{C}/questionnaires/ministry-{g}", token=tokens["admin"]).data for g in "23"}
    for province, ministry, group, level in EVALUATIONS:
        stored_response(province, ministry, group, forms[group], answers_at(forms[group], level))
    return forms


def by_unit(data: dict) -> dict[str, dict]:
    return {u["unit"]: u for u in data["units"]}


def test_each_ministry_gets_the_survey_points_of_every_province_and_an_annulled_province_counts_for_none(
        api, tokens, evaluated):
    """The ministries' framework has 36.5 survey points: 2.4 (5.5 points) answered at its best by everyone, and
    31 points (1.6: 5, 2.3: 6, 3.4: 6, 4.3: 5, 5.5: 4.5, 7.4: 4.5) whose share is level ÷ 5. The framework
    averages per group first, then across the groups that answered. Nothing is self-scored yet, so each index is
    its survey points out of 100 (provisional)."""
    r = api.call("GET", f"{C}/results?kind=ministry", token=tokens["admin"])
    assert r.status_code == 200, r.body
    data = r.data
    assert data["kind"] == "ministry" and data["framework"]["sample"] is True and data["maximum"] == 100
    assert [f["code"] for f in data["fields"]] == ["1", "2", "3", "4", "5", "6", "7"]
    units = by_unit(data)
    assert len(units) == 19
    # BTP: group 2 levels 5 (01) and 1 (02): (5 + 1) / 2 / 5 = 0.6; group 3 level 3 (04): 0.6
    #      share 0.6 → 31 × 0.6 + 5.5 = 18.6 + 5.5 = 24.1
    # BYT: group 2 levels 5 (02) and 3 (04): 0.8; group 3 levels 2 (01) and 4 (02): 0.6 → (0.8 + 0.6) / 2 = 0.7
    #      → 31 × 0.7 + 5.5 = 21.7 + 5.5 = 27.2
    # UBDT: group 2 levels 4 (01) and 1 (02): 0.5; group 3 level 5 (04): 1 → 0.75 → 31 × 0.75 + 5.5 = 28.75
    expected = {"BTP": 24.1, "BYT": 27.2, "UBDT": 28.75}
    for code, points in expected.items():
        assert units[code]["parts"]["survey"] == {"points": points, "max": 36.5}, code
        assert units[code]["index"] == points and units[code]["provisional"] is True
    # line by line for BTP: 2.3 is 6 × 0.6 = 3.6, 2.4 is 5.5 × 1 = 5.5, 1.6 is 5 × 0.6 = 3
    assert (units["BTP"]["lines"]["2.3"], units["BTP"]["lines"]["2.4"], units["BTP"]["lines"]["1.6"]) == (3.6, 5.5, 3)
    assert units["BTP"]["fields"]["2"]["points"] == 9.1  # 2.3 + 2.4; its self-scored lines are not entered yet
    assert units["BTP"]["responses"] == 3 and units["BTP"]["survey"]["provinces"] == 3
    assert units["BYT"]["responses"] == 4 and units["BYT"]["survey"]["small_sample"] is True
    # ranked among the 17 ranked ministries only: BYT 1, BTP 2, the 15 without data share rank 3;
    # UBDT (28.75, the highest) and TTCP (0) are listed after them with their index and no rank
    assert (units["BYT"]["rank"], units["BTP"]["rank"]) == (1, 2)
    assert {u["rank"] for c, u in units.items() if c not in ("BYT", "BTP", "UBDT", "TTCP")} == {3}
    assert units["UBDT"]["rank"] is None and units["UBDT"]["ranked"] is False and units["UBDT"]["index"] == 28.75
    assert units["TTCP"]["rank"] is None and units["TTCP"]["index"] == 0
    assert [u["unit"] for u in data["units"]][-2:] == ["UBDT", "TTCP"]
    # the provinces' results count only the locality forms
    assert by_unit(api.call("GET", f"{C}/results", token=tokens["admin"]).data)["02"]["responses"] == 0

    # annulling province 02 removes its respondents' answers from every ministry's score
    assert api.call("POST", f"{C}/units/02/annulment", {"reason": "Trả lời thay"},
                    token=tokens["admin"]).status_code == 201
    units = by_unit(api.call("GET", f"{C}/results?kind=ministry", token=tokens["admin"]).data)
    # BTP: group 2 level 5 (01) only: 1; group 3: 0.6 → 0.8 → 31 × 0.8 + 5.5 = 24.8 + 5.5 = 30.3
    # BYT: group 2 level 3 (04): 0.6; group 3 level 2 (01): 0.4 → 0.5 → 31 × 0.5 + 5.5 = 15.5 + 5.5 = 21
    # UBDT: group 2 level 4 (01): 0.8; group 3: 1 → 0.9 → 31 × 0.9 + 5.5 = 27.9 + 5.5 = 33.4
    assert {c: units[c]["parts"]["survey"]["points"] for c in expected} == {"BTP": 30.3, "BYT": 21, "UBDT": 33.4}
    assert (units["BTP"]["rank"], units["BYT"]["rank"], units["UBDT"]["rank"]) == (1, 2, None)
    assert units["BTP"]["responses"] == 2 and units["BTP"]["survey"] == {
        "responses": 2, "provinces": 2, "cancelled": 1, "small_sample": True}
    assert units["BTP"]["annulled"] is False  # a ministry is never annulled itself

    # reinstating the province restores them
    assert api.call("DELETE", f"{C}/units/02/annulment", {"reason": "Đã xác minh"},
                    token=tokens["admin"]).status_code == 200
    units = by_unit(api.call("GET", f"{C}/results?kind=ministry", token=tokens["admin"]).data)
    assert {c: units[c]["parts"]["survey"]["points"] for c in expected} == expected


def test_only_the_organiser_sees_the_ministries_results(api, tokens, evaluated):
    for who in ("BTP", "01"):
        assert api.call("GET", f"{C}/results?kind=ministry", token=tokens[who]).status_code == 403


def test_the_results_workbook_has_the_ministries_summary_and_field_sheets(api, tokens, evaluated):
    from outbox import download

    link = api.call("GET", f"{C}/results.xlsx", token=tokens["admin"])
    assert link.status_code == 200, link.body
    wb = load_workbook(io.BytesIO(download(link.data["url"])), read_only=True)
    names = wb.sheetnames
    assert names[0] == "Tổng hợp" and "Tổng hợp các bộ" in names
    assert len([n for n in names if n.startswith("LV")]) == 8 and len([n for n in names if n.startswith("Bộ LV")]) == 7
    rows = list(wb["Tổng hợp các bộ"].iter_rows(values_only=True))
    assert "các bộ, cơ quan ngang bộ" in rows[0][0] and "BỘ TIÊU CHÍ MẪU" in rows[1][0]
    body = {row[1]: row for row in rows[4:]}
    assert len(body) == 19
    assert body["BYT"][0] == 1 and body["BYT"][3] == 27.2 and body["BTP"][0] == 2
    assert body["UBDT"][0] == "Không xếp hạng" and "không xếp hạng" in body["UBDT"][-1]
    field2 = [n for n in names if n.startswith("Bộ LV2")][0]
    lines = list(wb[field2].iter_rows(values_only=True))
    codes = lines[1]
    btp = next(row for row in lines[5:] if row[1] == "BTP")
    assert btp[codes.index("2.3")] == 3.6 and btp[codes.index("2.4")] == 5.5 and btp[-1] == 9.1


# ------------------------------------------------------------------------------------------------ self-assessment

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
APPRAISING = datetime(2022, 2, 20, 9, 0, tzinfo=VN)
APPROVAL = {"leader_name": "Trần Văn Bình", "leader_position": "Thứ trưởng", "decision_number": "45/QĐ-BTP",
            "decision_date": "28/01/2022"}


def assessment_of(unit: str) -> str:
    return f"{C}/units/{unit}/assessment"


def upload(api, token: str, unit: str, code: str, filename: str, content: bytes) -> str:
    """The browser's two steps: ask for a presigned POST, then send the file straight to S3."""
    r = api.call("POST", f"{assessment_of(unit)}/evidence", {"code": code, "filename": filename,
                                                             "size": len(content)}, token=token)
    assert r.status_code == 201, r.body
    sent = requests.post(r.data["url"], data=r.data["fields"], files={"file": (filename, content)}, timeout=10)
    assert sent.status_code in (200, 201, 204), sent.text
    return r.data["evidence_id"]


def run_schedule(api):
    """The close-phases rule fired the way EventBridge fires it."""
    client = api.client
    return client.lambda_.invoke("close-phases", client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]))


def test_a_ministry_sees_its_own_phases_only(api, tokens, clock):
    clock.at(OPEN)
    [campaign] = [c for c in api.call("GET", "/campaigns", token=tokens["BTP"]).data["items"] if c["id"] == "2021"]
    phases = {p["code"]: p["state"] for p in campaign["phases"]}
    assert phases["self_assessment"] == "open" and "appraisal" not in phases


@pytest.mark.slow
def test_a_ministry_scores_with_evidence_approves_and_the_organiser_appraises_and_publishes(api, tokens, clock):
    clock.at(OPEN)
    own = assessment_of("BTP")
    view = api.call("GET", own, token=tokens["BTP"]).data
    assert view["unit"] == "BTP" and view["unit_name"] == "Bộ Tư pháp" and view["state"] == "draft"
    assert view["framework"]["sample"] is True and "các bộ, cơ quan ngang bộ" in view["framework"]["title"]
    assert view["editable"] is True and view["totals"] == {"self": 0, "self_max": 63.5, "appraised": None,
                                                           "maximum": 100}
    selfs = leaves(view["fields"], "self")
    assert selfs[0]["code"] == "1.1.1" and selfs[0]["max"] == 1
    # a line scored with evidence, checked on arrival
    evidence = upload(api, tokens["BTP"], "BTP", "1.1.1", "Kế hoạch CCHC năm 2021.pdf", PDF)
    r = api.call("PUT", f"{own}/items/1.1.1", {"score": 0.75, "evidence": [evidence]}, token=tokens["BTP"])
    assert r.status_code == 200, r.body
    assert r.data["item"]["score"] == 0.75 and r.data["totals"]["self"] == 0.75
    assert [e["filename"] for e in r.data["item"]["evidence"]] == ["Kế hoạch CCHC năm 2021.pdf"]
    assert requests.get(r.data["item"]["evidence"][0]["url"], timeout=10).content == PDF
    # a survey line is measured by the provinces' answers, not scored by the ministry
    r = api.call("PUT", f"{own}/items/1.6", {"score": 1}, token=tokens["BTP"])
    assert r.status_code == 422 and "điều tra xã hội học" in r.data["message"]
    # its own unit only; the organiser appraises, it does not score
    for who, path in (("BTP", assessment_of("BYT")), ("BTP", assessment_of("01")), ("BYT", own), ("01", own)):
        assert api.call("GET", path, token=tokens[who]).status_code == 403, (who, path)
        assert api.call("PUT", f"{path}/items/1.2", {"score": 1}, token=tokens[who]).status_code == 403
    r = api.call("PUT", f"{own}/items/1.2", {"score": 1}, token=tokens["admin"])
    assert r.status_code == 403 and "Bộ Nội vụ thẩm định" in r.data["message"]
    # approval needs every line
    report = upload(api, tokens["BTP"], "BTP", "report", "Bao cao tu danh gia BTP (ban ky).pdf", PDF)
    r = api.call("POST", f"{own}/approve", {**APPROVAL, "report": report}, token=tokens["BTP"])
    assert r.status_code == 422
    assert r.data["message"] == f"Còn {len(selfs) - 1} mục chưa hoàn thành; chưa thể phê duyệt."
    for leaf in selfs[1:]:
        r = api.call("PUT", f"{own}/items/{leaf['code']}", {"score": leaf["max"], "explanation": "Không phát sinh"},
                     token=tokens["BTP"])
        assert r.status_code == 200, r.body
    api.call("PUT", f"{own}/items/1.1.1", {"score": 1, "evidence": [evidence]}, token=tokens["BTP"])
    r = api.call("POST", f"{own}/approve", {**APPROVAL, "report": report}, token=tokens["BTP"])
    assert r.status_code == 200, r.body
    assert r.data["state"] == "approved" and r.data["editable"] is False and r.data["totals"]["self"] == 63.5
    assert r.data["approval"]["decision_number"] == "45/QĐ-BTP"
    r = api.call("PUT", f"{own}/items/1.2", {"score": 0}, token=tokens["BTP"])
    assert r.status_code == 409 and r.data["code"] == "assessment_closed"
    # the ministries' framework cannot be replaced once a ministry has submitted; the provinces' still can
    r = api.call("PUT", f"{C}/framework?kind=ministry", ministry_sample(), token=tokens["admin"])
    assert r.status_code == 409 and r.data["code"] == "framework_in_use"
    provinces = api.call("GET", f"{C}/framework.xlsx", token=tokens["admin"]).data
    from outbox import download
    assert api.call("PUT", f"{C}/framework", token=tokens["admin"], raw=download(provinces["url"]),
                    headers={"content-type": XLSX}).status_code == 200

    # the organiser appraises in the appraisal phase and publishes
    clock.at(APPRAISING)
    r = api.call("PUT", f"{own}/items/1.2/appraisal", {"score": 1, "comment": "Thiếu báo cáo quý 3"},
                 token=tokens["admin"])
    assert r.status_code == 200, r.body
    assert r.data["totals"]["appraised"] == 63  # 63.5 − (1.5 − 1)
    assert api.call("PUT", f"{own}/items/1.6/appraisal", {"score": 1}, token=tokens["admin"]).status_code == 422
    assert api.call("PUT", f"{own}/items/1.2/appraisal", {"score": 1}, token=tokens["BTP"]).status_code == 403
    seen = api.call("GET", own, token=tokens["BTP"]).data
    assert seen["appraisal_published"] is False and seen["totals"]["appraised"] is None
    r = api.call("POST", f"{own}/publish", token=tokens["admin"])
    assert r.status_code == 200 and r.data["appraisal_published"] is True
    seen = api.call("GET", own, token=tokens["BTP"]).data
    line = next(n for n in leaves(seen["fields"], "self") if n["code"] == "1.2")
    assert line["appraisal"] == {"score": 1, "comment": "Thiếu báo cáo quý 3", "at": line["appraisal"]["at"]}
    assert seen["totals"]["appraised"] == 63
    notes = api.call("GET", f"{C}/units/BTP/notifications", token=tokens["BTP"]).data["items"]
    assert any(n["title"] == "Đã có kết quả thẩm định" for n in notes)
    # the ministries' results: the appraised line where appraised, the self-scores elsewhere; no answers yet
    btp = by_unit(api.call("GET", f"{C}/results?kind=ministry", token=tokens["admin"]).data)["BTP"]
    assert btp["parts"]["self"] == {"points": 63, "max": 63.5} and btp["index"] == 63
    assert btp["assessment_state"] == "approved" and btp["appraisal_published"] is True
    assert btp["rank"] == 1 and btp["lines"]["1.2"] == 1


@pytest.mark.slow
def test_a_ministrys_draft_locks_at_the_deadline_and_can_then_be_appraised(api, tokens, clock):
    own = assessment_of("BYT")
    clock.at(OPEN)
    assert api.call("PUT", f"{own}/items/1.2", {"score": 1}, token=tokens["BYT"]).status_code == 200
    clock.at(datetime(2022, 2, 16, 0, 0, 0, tzinfo=VN))
    r = api.call("PUT", f"{own}/items/1.2", {"score": 0.5}, token=tokens["BYT"])
    assert r.status_code == 423 and "15/02/2022" in r.data["message"]
    clock.at(datetime(2022, 2, 16, 0, 5, tzinfo=VN))
    run_schedule(api)
    view = api.call("GET", own, token=tokens["BYT"]).data
    assert view["state"] == "locked" and view["editable"] is False and view["totals"]["self"] == 1
    states = {u["unit"]: u["assessment_state"] for u in
              api.call("GET", f"{C}/results?kind=ministry", token=tokens["admin"]).data["units"]}
    assert len(states) == 19 and set(states.values()) == {"locked"}
    notes = api.call("GET", f"{C}/units/BYT/notifications", token=tokens["BYT"]).data["items"]
    assert any("Bản tự đánh giá chưa được phê duyệt đã được khóa" in n["message"] for n in notes)
    assert api.call("PUT", f"{own}/items/1.2/appraisal", {"score": 0.5},
                    token=tokens["admin"]).status_code == 200


# The same evaluations made through the survey itself in the demo campaign (its phases are open on the seed day):
# each evaluation is one department (group 2) or division (group 3) leader on a province's roster, whose agency
# makes the managing ministry the one evaluated.
AGENCIES = {("BTP", "2"): "Sở Tư pháp", ("BTP", "3"): "Phòng Hành chính tư pháp, Sở Tư pháp",
            ("BYT", "2"): "Sở Y tế", ("BYT", "3"): "Phòng Nghiệp vụ Y, Sở Y tế",
            ("UBDT", "2"): "Ban Dân tộc tỉnh", ("UBDT", "3"): "Phòng Chính sách, Ban Dân tộc"}


def test_answers_given_through_the_survey_give_each_ministry_the_points_computed_by_hand(api, tokens, clock):
    """Rosters sent, dispatched, every managing-ministry form answered by its respondent through the survey: the
    ministries' results are those computed by hand in the test above (24.1, 27.2, 28.75), and annulling province 02
    gives 30.3, 21 and 33.4."""
    from email.utils import parseaddr

    from builders import person, roster_workbook
    from outbox import run_all, sent_mails, ses_backend, token_of

    ses_backend().max_send_rate = 1000
    demo = "/campaigns/demo"
    forms = {g: api.call("GET", f"{demo}/questionnaires/ministry-{g}", token=tokens["admin"]).data for g in "23"}
    people, rows = {}, {}
    for n, (province, ministry, group, level) in enumerate(EVALUATIONS, start=1):
        people[f"nguoi{n}@hagiang.gov.vn"] = (province, ministry, group, level)
        rows.setdefault(province, []).append(person(n, group=group, agency=AGENCIES[(ministry, group)]))
    for province, people_rows in rows.items():
        r = api.call("POST", f"{demo}/units/{province}/roster/imports", token=tokens[province],
                     headers={"content-type": XLSX}, raw=roster_workbook(people_rows))
        assert r.status_code == 200, r.data
        assert api.call("POST", f"{demo}/units/{province}/roster/submit", token=tokens[province]).status_code == 200
    assert api.call("POST", f"{demo}/dispatch", {}, token=tokens["admin"]).status_code == 202
    run_all(api)
    answered = 0
    for n, mail in enumerate(sent_mails()):
        token = token_of(mail)
        survey = api.call("GET", "/survey", headers={"x-survey-token": token}).data
        if survey["purpose"] != "ministry":
            continue
        province, ministry, group, level = people[parseaddr(mail["To"])[1]]
        r = api.call("POST", "/survey/submit", {"answers": answers_at(forms[group], level)},
                     headers={"x-survey-token": token}, ip=f"10.41.0.{n + 1}")
        assert r.status_code == 201, r.data
        answered += 1
    assert answered == len(EVALUATIONS)

    def points() -> dict:
        data = api.call("GET", f"{demo}/results?kind=ministry", token=tokens["admin"]).data
        return {u["unit"]: u["parts"]["survey"]["points"] for u in data["units"] if u["unit"] in ("BTP", "BYT", "UBDT")}

    assert points() == {"BTP": 24.1, "BYT": 27.2, "UBDT": 28.75}
    assert api.call("POST", f"{demo}/units/02/annulment", {"reason": "Trả lời thay"},
                    token=tokens["admin"]).status_code == 201
    assert points() == {"BTP": 30.3, "BYT": 21, "UBDT": 33.4}
