from datetime import datetime
from zoneinfo import ZoneInfo

from chalicelib.store.models import AuditModel

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def test_the_2021_campaign_has_the_letters_63_provinces_19_ministries_4_groups_and_deadlines(api, tokens):
    r = api.call("GET", "/campaigns/2021", token=tokens["admin"])
    assert r.status_code == 200
    body = r.data
    provinces = [u for u in body["units"] if u["kind"] == "province"]
    ministries = [u for u in body["units"] if u["kind"] == "ministry"]
    assert len(provinces) == 63 and provinces[0]["name"] == "Hà Nội" and all(u["ranked"] for u in provinces)
    assert len(ministries) == 19 and sum(u["ranked"] for u in ministries) == 17
    assert {u["code"] for u in ministries if not u["ranked"]} == {"UBDT", "TTCP"}
    assert [g["name"] for g in body["groups"]] == ["Đại biểu HĐND cấp tỉnh", "Lãnh đạo cấp sở",
                                                   "Lãnh đạo cấp phòng thuộc sở", "Lãnh đạo UBND cấp huyện"]
    assert [g["questionnaires"] for g in body["groups"]][1] == ["locality", "ministry"]
    deadlines = {p["code"]: p["deadline_label"] for p in body["phases"]}
    assert deadlines["focal_person"] == "hết ngày 10/01/2022"
    assert deadlines["roster"] == "hết ngày 15/01/2022"
    assert deadlines["self_assessment"] == "hết ngày 15/02/2022"
    assert deadlines["survey"] == "hết ngày 20/02/2022"


def test_a_province_sees_only_its_own_unit_of_a_campaign(api, tokens):
    r = api.call("GET", "/campaigns/2021", token=tokens["01"])
    assert [u["code"] for u in r.data["units"]] == ["01"]
    listed = api.call("GET", "/campaigns", token=tokens["01"]).data["items"]
    assert {c["id"] for c in listed} == {"2021", "demo"}


def test_the_demo_campaigns_phases_open_on_the_day_it_is_seeded(api, tokens, clock):
    seeded_on = clock().astimezone(VN).strftime("%d/%m/%Y")
    r = api.call("GET", "/campaigns/demo", token=tokens["01"])
    assert {p["state"] for p in r.data["phases"]} == {"open"}
    assert {p["opens_label"] for p in r.data["phases"]} == {seeded_on}


def test_a_campaign_with_34_units_and_no_district_group_needs_no_code_change(api, tokens):
    definition = {
        "id": "2025", "name": "Chỉ số CCHC năm 2025", "year": 2025,
        "groups": [{"code": "1", "name": "Đại biểu HĐND cấp tỉnh"},
                   {"code": "2", "name": "Lãnh đạo cấp sở", "questionnaires": ["locality", "ministry"]},
                   {"code": "3", "name": "Lãnh đạo cấp phòng thuộc sở"}],
        "phases": [{"code": "roster", "opens": "2026-01-05", "closes": "2026-01-20"}],
        "units": [{"code": f"{i:02d}", "name": f"Tỉnh {i}"} for i in range(1, 35)],
    }
    r = api.call("POST", "/campaigns", definition, token=tokens["admin"])
    assert r.status_code == 201, r.body
    detail = api.call("GET", "/campaigns/2025", token=tokens["admin"]).data
    assert len(detail["units"]) == 34 and len(detail["groups"]) == 3
    again = api.call("POST", "/campaigns", definition, token=tokens["admin"])
    assert again.status_code == 409


def test_an_invalid_campaign_names_each_bad_field(api, tokens):
    r = api.call("POST", "/campaigns", {"id": "X Y", "name": "", "groups": [], "phases": [
        {"code": "roster", "opens": "2026-02-01", "closes": "2026-01-01"}], "units": []}, token=tokens["admin"])
    assert r.status_code == 422
    fields = {d["field"] for d in r.data["details"]}
    assert {"id", "name", "groups", "phases[0]", "units"} <= fields


def test_the_ministry_extends_a_phase_for_everyone_audited_and_notified(api, tokens, clock):
    clock.at(datetime(2022, 1, 16, 9, 0, tzinfo=VN))
    r = api.call("PATCH", "/campaigns/2021/phases/roster", {"closes": "2022-01-20", "reason": "Tết Dương lịch"},
                 token=tokens["admin"])
    assert r.status_code == 200, r.body
    assert r.data["phase"]["deadline_label"] == "hết ngày 20/01/2022" and r.data["phase"]["state"] == "open"
    notes = api.call("GET", "/campaigns/2021/units/02/notifications", token=tokens["02"]).data["items"]
    assert "20/01/2022" in notes[0]["message"] and "Tết Dương lịch" in notes[0]["message"]
    [entry] = [e for e in AuditModel.scan() if e.action == "phase_changed"]
    assert entry.actor == "admin" and entry.details["reason"] == "Tết Dương lịch"


def test_an_extension_for_one_unit_reopens_it_for_that_unit_only(api, tokens, clock):
    clock.at(datetime(2022, 1, 12, 9, 0, tzinfo=VN))
    body = {"full_name": "Nguyễn Văn An", "position": "Chuyên viên", "mobile": "0912345678"}
    assert api.call("PUT", "/campaigns/2021/units/01/focal-person", body, token=tokens["01"]).status_code == 423
    r = api.call("PATCH", "/campaigns/2021/phases/focal_person",
                 {"closes": "2022-01-13", "unit": "01", "reason": "Tỉnh đề nghị"}, token=tokens["admin"])
    assert r.status_code == 200 and r.data["phase"]["extended"]
    assert api.call("PUT", "/campaigns/2021/units/01/focal-person", body, token=tokens["01"]).status_code == 200
    assert api.call("PUT", "/campaigns/2021/units/02/focal-person", body, token=tokens["02"]).status_code == 423
    mine = api.call("GET", "/campaigns/2021", token=tokens["01"]).data
    assert {p["code"]: p["state"] for p in mine["phases"]}["focal_person"] == "open"


def test_a_unit_extension_must_end_after_the_common_deadline(api, tokens):
    r = api.call("PATCH", "/campaigns/2021/phases/roster", {"closes": "2022-01-14", "unit": "01", "reason": "x"},
                 token=tokens["admin"])
    assert r.status_code == 422 and r.data["details"] == [{"field": "closes"}]


def test_changing_a_phase_needs_a_reason_and_a_valid_date(api, tokens):
    no_reason = api.call("PATCH", "/campaigns/2021/phases/roster", {"closes": "2022-01-20"}, token=tokens["admin"])
    assert no_reason.status_code == 422 and "lý do" in no_reason.data["message"]
    bad = api.call("PATCH", "/campaigns/2021/phases/roster", {"closes": "20/01/2022", "reason": "x"},
                   token=tokens["admin"])
    assert bad.status_code == 422 and bad.data["details"] == [{"field": "closes"}]
    unknown = api.call("PATCH", "/campaigns/2021/phases/tet", {"closes": "2022-01-20", "reason": "x"},
                       token=tokens["admin"])
    assert unknown.status_code == 404


def test_a_province_is_not_shown_the_ministrys_own_appraisal_phase(api, tokens):
    province = {p["code"] for p in api.call("GET", "/campaigns/2021", token=tokens["01"]).data["phases"]}
    ministry = {p["code"] for p in api.call("GET", "/campaigns/2021", token=tokens["admin"]).data["phases"]}
    assert "appraisal" in ministry and "appraisal" not in province
