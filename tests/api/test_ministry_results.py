"""The ministries' PAR Index through the API: their framework (per unit kind, validated against the managing-ministry
questionnaires), their self-assessment by the same flow as the provinces', and their results: survey points from the
answers of every non-annulled province's department and division leaders about their managing ministry, ranked among
the ranked ministries only."""
import copy
from datetime import datetime
from zoneinfo import ZoneInfo

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
                         ("GET", f"{C}/results?kind=bo"), ("GET", f"{C}/results.xlsx?kind=bo")):
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
