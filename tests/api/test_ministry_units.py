"""Assessed ministries in the survey: each department leader's managing-ministry form evaluates a ministry unit (or
none when the ministry is not assessed), the stored answer names it, each ministry's counters of forms asked and
answered per province and group stay exact, and a ministry's account sees its own counts and nothing of any
province."""
import json
from collections import Counter

import boto3
import pytest

from builders import person, roster_workbook, survey_answers
from outbox import REGION, drain, run_all, sent_mails, ses_backend, token_of
from chalicelib.config import settings
from chalicelib.store.models import LinkModel, ResponseModel, StatsModel

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# unit 01: two leaders of departments directed by assessed ministries (Tư pháp → BTP, Y tế → BYT), a division
# leader of Sở Y tế, the Văn phòng UBND's leader (its ministry, Văn phòng Chính phủ, is not assessed) and an HĐND
# delegate (no managing-ministry form at all)
ROSTERS = {
    "01": [person(1, group="2", agency="Sở Tư pháp"), person(2, group="2", agency="Sở Y tế"),
           person(3, group="3", agency="Phòng Nghiệp vụ Y, Sở Y tế"),
           person(4, group="2", agency="Văn phòng UBND tỉnh"), person(5, group="1", agency="HĐND tỉnh")],
    "02": [person(11, group="3", agency="Phòng Hành chính tư pháp, Sở Tư pháp"),
           person(12, group="2", agency="Sở Y tế")],
}
EXPECTED_UNIT = {"nguoi1@": "BTP", "nguoi2@": "BYT", "nguoi3@": "BYT", "nguoi4@": None, "nguoi5@": None}


def send_roster(api, tokens, unit):
    r = api.call("POST", f"/campaigns/demo/units/{unit}/roster/imports", token=tokens[unit],
                 headers={"content-type": XLSX}, raw=roster_workbook(ROSTERS[unit]))
    assert r.status_code == 200, r.data
    assert api.call("POST", f"/campaigns/demo/units/{unit}/roster/submit", token=tokens[unit]).status_code == 200


@pytest.fixture
def rosters(api, tokens, clock, built):
    """Demo campaign (phases open on the seed day): the rosters of units 01 and 02 sent."""
    def build():
        ses_backend().max_send_rate = 1000
        for unit in ROSTERS:
            send_roster(api, tokens, unit)
        return tokens

    return built("rosters", build)


@pytest.fixture
def dispatched(api, rosters, built):
    """Both rosters dispatched and mailed: {token: the survey it opens}."""
    def build():
        assert api.call("POST", "/campaigns/demo/dispatch", {}, token=rosters["admin"]).status_code == 202
        run_all(api)
        forms = {}
        for mail in sent_mails():
            token = token_of(mail)
            forms[token] = api.call("GET", "/survey", headers={"x-survey-token": token}).data
        return forms

    return built("dispatched", build)


def submit(api, token, survey, ip="10.30.0.1"):
    return api.call("POST", "/survey/submit", {"answers": survey_answers(survey)}, headers={"x-survey-token": token},
                    ip=ip)


def ministry_links():
    return [link for unit in ROSTERS for link in LinkModel.query(f"demo#{unit}") if link.purpose == "ministry"]


def recount() -> dict:
    """The ministries' counters as the links say they should be: (ministry, "<province>#<group>") -> (asked,
    answered)."""
    asked, answered = Counter(), Counter()
    for link in ministry_links():
        key = (link.ministry, f"{link.unit_key.split('#')[1]}#{link.group}")
        asked[key] += 1
        answered[key] += link.state == "submitted"
    return {key: (asked[key], answered[key]) for key in asked}


def counters(ministries=("BTP", "BYT", "BNV")) -> dict:
    return {(code, item.key): (int(item.asked or 0), int(item.answered or 0))
            for code in ministries for item in StatsModel.query(f"demo#{code}")}


def test_each_respondent_gets_the_ministry_unit_they_evaluate_or_none(api, rosters):
    items = api.call("GET", "/campaigns/demo/units/01/roster", token=rosters["01"]).data["items"]
    got = {i["email"].split("@")[0] + "@": (i["ministry_unit"], i["questionnaires"]) for i in items}
    assert got == {
        "nguoi1@": ("BTP", ["locality", "ministry"]), "nguoi2@": ("BYT", ["locality", "ministry"]),
        "nguoi3@": ("BYT", ["locality", "ministry"]),
        # Văn phòng Chính phủ is not assessed: no managing-ministry form
        "nguoi4@": (None, ["locality"]), "nguoi5@": (None, ["locality"])}


def test_dispatch_carries_the_ministry_to_the_links_and_submit_to_the_stored_responses(api, rosters, dispatched):
    by_email = {link.email.split("@")[0] + "@": link.ministry for link in ministry_links()
                if link.unit_key == "demo#01"}
    assert by_email == {k: v for k, v in EXPECTED_UNIT.items() if v}
    assert all(link.ministry is None for unit in ROSTERS for link in LinkModel.query(f"demo#{unit}")
               if link.purpose == "locality")
    for n, (token, survey) in enumerate(dispatched.items()):
        assert submit(api, token, survey, ip=f"10.30.0.{n + 1}").status_code == 201
    stored = [r for unit in ROSTERS for r in ResponseModel.query(f"demo#{unit}")]
    assert sorted((r.unit_key, r.group, r.ministry) for r in stored if r.purpose == "ministry") == [
        ("demo#01", "2", "BTP"), ("demo#01", "2", "BYT"), ("demo#01", "3", "BYT"),
        ("demo#02", "2", "BYT"), ("demo#02", "3", "BTP")]
    assert {r.ministry for r in stored if r.purpose == "locality"} == {None}
    # the organiser's responses route names the ministry a managing-ministry answer evaluates, never who gave it
    items = api.call("GET", "/campaigns/demo/units/01/responses", token=rosters["admin"]).data["items"]
    assert sorted((i["purpose"], i["ministry"]) for i in items) == [
        ("locality", None)] * 5 + [("ministry", "BTP"), ("ministry", "BYT"), ("ministry", "BYT")]


def test_the_ministries_counters_equal_a_recount_and_a_retried_submit_counts_once(api, dispatched):
    assert counters() == {(m, key): (asked, 0) for (m, key), (asked, _) in recount().items()}
    assert counters() == {("BTP", "01#2"): (1, 0), ("BTP", "02#3"): (1, 0), ("BYT", "01#2"): (1, 0),
                          ("BYT", "01#3"): (1, 0), ("BYT", "02#2"): (1, 0)}
    ministry_forms = [(t, s) for t, s in dispatched.items() if s["purpose"] == "ministry"]
    for n, (token, survey) in enumerate(ministry_forms[:3]):
        assert submit(api, token, survey, ip=f"10.31.0.{n + 1}").status_code == 201
        again = submit(api, token, survey, ip=f"10.31.0.{n + 1}")
        assert again.status_code == 409 and again.data["code"] == "already_submitted"
    assert counters() == recount()
    assert sum(answered for _, answered in counters().values()) == 3


def test_a_redelivered_or_retried_dispatch_job_counts_each_form_once(api, rosters, monkeypatch):
    from chalicelib.runtime import runtime
    from chalicelib.services import dispatch as dispatch_service
    from chalicelib.store import links as link_store

    assert api.call("POST", "/campaigns/demo/dispatch", {}, token=rosters["admin"]).status_code == 202
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.get_queue_url(QueueName=settings().jobs_queue)["QueueUrl"]
    jobs = [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]]
    assert len(jobs) == 2
    real, failures = link_store.count_issued, []

    def dies_twice(cid, unit, deltas, asked, once):
        """The first attempt dies having counted only the unit's own counters (as a job that wrote its counters one
        by one could); the second right after counting, before any mail left (a Lambda timeout there)."""
        if not failures:
            failures.append("part")
            link_store.add_counts(f"{cid}#{unit}", deltas, once=once)
            raise TimeoutError("the job died here")
        real(cid, unit, deltas, asked, once)
        if len(failures) == 1:
            failures.append("all")
            raise TimeoutError("the job died here")

    monkeypatch.setattr(link_store, "count_issued", dies_twice)
    first = json.loads(jobs[0])
    for _ in range(2):
        with pytest.raises(TimeoutError):
            dispatch_service.run_job(first, runtime.now(), runtime.random_bytes)
    for body in jobs + jobs:  # every job delivered (again), twice
        api.client.lambda_.invoke("jobs", api.client.events.generate_sqs_event(message_bodies=[body],
                                                                                queue_name="jobs"))
    drain(api, settings().mail_queue, "mail")
    assert failures == ["part", "all"] and counters() == recount()
    assert sum(asked for asked, _ in counters().values()) == 5
    for unit in ("01", "02"):  # and the provinces' own counters: every link once
        totals = StatsModel.get(f"demo#{unit}", "all")
        states = ("issued", "sent", "opened", "submitted", "bounced", "failed")
        assert sum(int(getattr(totals, s) or 0) for s in states) == len(list(LinkModel.query(f"demo#{unit}")))


def answer_all(api, forms):
    for n, (token, survey) in enumerate(forms.items()):
        assert submit(api, token, survey, ip=f"10.32.{n // 200}.{n % 200 + 1}").status_code == 201


def test_a_ministry_sees_its_own_survey_counts_per_province_and_group_and_nothing_else(api, rosters, dispatched):
    answer_all(api, {t: s for t, s in dispatched.items() if s["unit"]["code"] == "01"})
    r = api.call("GET", "/campaigns/demo/units/BYT/ministry-survey", token=rosters["BYT"])
    assert r.status_code == 200, r.data
    assert r.data == {
        "campaign": "demo", "unit": "BYT", "name": "Bộ Y tế", "full_name": r.data["full_name"],
        "asked": 3, "answered": 2, "rate": 66.7,
        "provinces": [
            {"unit": "01", "name": "Hà Nội", "annulled": False, "asked": 2, "answered": 2, "groups": [
                {"group": "2", "name": "Lãnh đạo cấp sở", "asked": 1, "answered": 1},
                {"group": "3", "name": "Lãnh đạo cấp phòng thuộc sở", "asked": 1, "answered": 1}]},
            {"unit": "02", "name": r.data["provinces"][1]["name"], "annulled": False, "asked": 1, "answered": 0,
             "groups": [{"group": "2", "name": "Lãnh đạo cấp sở", "asked": 1, "answered": 0},
                        {"group": "3", "name": "Lãnh đạo cấp phòng thuộc sở", "asked": 0, "answered": 0}]}]}
    body = r.body.decode()
    assert "@" not in body and not any(p[1] in body for rows in ROSTERS.values() for p in rows)
    # the organiser sees the same; another ministry, a province and every province's route are refused
    assert api.call("GET", "/campaigns/demo/units/BYT/ministry-survey", token=rosters["admin"]).data == r.data
    assert api.call("GET", "/campaigns/demo/units/BTP/ministry-survey", token=rosters["BYT"]).status_code == 403
    assert api.call("GET", "/campaigns/demo/units/BYT/ministry-survey", token=rosters["01"]).status_code == 403
    assert api.call("GET", "/campaigns/demo/units/01/ministry-survey", token=rosters["01"]).status_code == 403
    not_ministry = api.call("GET", "/campaigns/demo/units/01/ministry-survey", token=rosters["admin"])
    assert not_ministry.status_code == 404 and not_ministry.data["code"] == "wrong_unit_kind"
    for path in ("roster", "progress", "focal-person", "mail", "address-changes"):
        own = api.call("GET", f"/campaigns/demo/units/BYT/{path}", token=rosters["BYT"])
        assert own.status_code == 403 and "chỉ áp dụng cho tỉnh, thành phố" in own.data["message"], path
        assert api.call("GET", f"/campaigns/demo/units/01/{path}", token=rosters["BYT"]).status_code == 403
        by_moha = api.call("GET", f"/campaigns/demo/units/BYT/{path}", token=rosters["admin"])
        assert by_moha.status_code == 404 and by_moha.data["code"] == "wrong_unit_kind", path
    assert api.call("GET", "/campaigns/demo/units/BYT/responses", token=rosters["admin"]).status_code == 404


def test_an_annulled_province_is_flagged_and_left_out_of_the_ministrys_totals(api, rosters, dispatched):
    answer_all(api, dispatched)
    before = api.call("GET", "/campaigns/demo/units/BTP/ministry-survey", token=rosters["BTP"]).data
    assert (before["asked"], before["answered"]) == (2, 2)
    r = api.call("POST", "/campaigns/demo/units/02/annulment", {"reason": "Phát hiện trả lời thay"},
                 token=rosters["admin"])
    assert r.status_code == 201, r.data
    after = api.call("GET", "/campaigns/demo/units/BTP/ministry-survey", token=rosters["BTP"]).data
    assert (after["asked"], after["answered"]) == (1, 1)
    assert [(p["unit"], p["annulled"], p["answered"]) for p in after["provinces"]] == [("01", False, 1),
                                                                                       ("02", True, 1)]


def test_national_progress_and_its_workbook_list_every_ministry_asked_and_answered(api, rosters, dispatched):
    from io import BytesIO

    from openpyxl import load_workbook

    from outbox import download

    answer_all(api, {t: s for t, s in dispatched.items() if s["unit"]["code"] == "02"})
    national = api.call("GET", "/campaigns/demo/progress", token=rosters["admin"]).data
    ministries = {m["code"]: m for m in national["ministries"]}
    assert len(ministries) == 19 and {u["code"] for u in national["units"]}.isdisjoint(ministries)
    assert ministries["BTP"] == {"code": "BTP", "name": "Bộ Tư pháp", "ranked": True, "asked": 2, "answered": 1,
                                 "rate": 50.0}
    assert (ministries["BYT"]["asked"], ministries["BYT"]["answered"]) == (3, 1)
    assert ministries["UBDT"]["ranked"] is False and ministries["UBDT"]["asked"] == 0
    link = api.call("GET", "/campaigns/demo/progress.xlsx", token=rosters["admin"]).data
    sheet = load_workbook(BytesIO(download(link["url"])))["Bộ, ngành"]
    rows = {row[0]: row for row in sheet.iter_rows(min_row=5, values_only=True)}
    assert rows["BTP"] == ("BTP", "Bộ Tư pháp", "Có", 2, 1, 50)
    assert rows["UBDT"][2] == "Không" and len(rows) == 19


def test_a_ministry_account_sees_only_its_unit_and_the_phases_that_concern_it(api, rosters):
    listed = api.call("GET", "/campaigns", token=rosters["BTP"]).data["items"]
    assert {c["id"] for c in listed} == {"2021", "demo"}
    assert all([p["code"] for p in c["phases"]] == ["self_assessment"] for c in listed)
    detail = api.call("GET", "/campaigns/demo", token=rosters["BTP"]).data
    assert [u["code"] for u in detail["units"]] == ["BTP"] and detail["units"][0]["kind"] == "ministry"
    assert [p["code"] for p in detail["phases"]] == ["self_assessment"]
    province = [p["code"] for p in api.call("GET", "/campaigns/demo", token=rosters["01"]).data["phases"]]
    assert province == ["focal_person", "roster", "self_assessment", "survey"]
    # a phase change reaches the units it concerns: the roster's the provinces only, the self-assessment's all
    for phase in ("roster", "self_assessment"):
        r = api.call("PATCH", f"/campaigns/demo/phases/{phase}", {"closes": "2022-03-01", "reason": "Theo đề nghị"},
                     token=rosters["admin"])
        assert r.status_code == 200, r.data
    notes = [n["title"] for n in api.call("GET", "/campaigns/demo/units/BTP/notifications",
                                          token=rosters["BTP"]).data["items"]]
    assert notes == ["Điều chỉnh thời hạn: Tự đánh giá, chấm điểm"]
    assert len(api.call("GET", "/campaigns/demo/units/01/notifications", token=rosters["01"]).data["items"]) >= 2
    refused = api.call("PATCH", "/campaigns/demo/phases/roster", {"closes": "2022-03-05", "unit": "BTP",
                                                                 "reason": "x"}, token=rosters["admin"])
    assert refused.status_code == 422 and refused.data["details"] == [{"field": "unit"}]
    template = api.call("GET", "/campaigns/demo/roster-template.xlsx", token=rosters["BTP"],
                        headers={"accept": XLSX})
    assert template.status_code == 403


def test_a_campaign_without_ministry_units_keeps_every_departments_form_evaluating_no_unit(api, tokens):
    definition = {
        "id": "khong-bo", "name": "Đợt không đánh giá bộ, ngành", "year": 2022,
        "groups": [{"code": "2", "name": "Lãnh đạo cấp sở", "questionnaires": ["locality", "ministry"]}],
        "phases": [{"code": "roster", "opens": "2022-01-04", "closes": "2022-01-20"}],
        "departments": [{"name": "Sở Tư pháp", "ministry": "Bộ Tư pháp"},
                        {"name": "Văn phòng Ủy ban nhân dân", "ministry": "Văn phòng Chính phủ"}],
        "units": [{"code": "01", "name": "Hà Nội"}]}
    assert api.call("POST", "/campaigns", definition, token=tokens["admin"]).status_code == 201
    r = api.call("POST", "/campaigns/khong-bo/units/01/roster/imports", token=tokens["01"],
                 headers={"content-type": XLSX}, raw=roster_workbook([person(1, agency="Sở Tư pháp"),
                                                                      person(4, agency="Văn phòng UBND tỉnh")]))
    assert r.status_code == 200, r.data
    items = api.call("GET", "/campaigns/khong-bo/units/01/roster", token=tokens["01"]).data["items"]
    assert [(i["ministry"], i["ministry_unit"], i["questionnaires"]) for i in items] == [
        ("Bộ Tư pháp", None, ["locality", "ministry"]), ("Văn phòng Chính phủ", None, ["locality", "ministry"])]
    # the same file again changes nothing
    again = api.call("POST", "/campaigns/khong-bo/units/01/roster/imports", token=tokens["01"],
                     headers={"content-type": XLSX}, raw=roster_workbook([person(1, agency="Sở Tư pháp"),
                                                                          person(4, agency="Văn phòng UBND tỉnh")]))
    assert (again.data["unchanged"], again.data["updated"]) == (2, 0)
