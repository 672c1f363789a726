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
def rosters(api, tokens, clock):
    """Demo campaign (phases open on the seed day): the rosters of units 01 and 02 sent."""
    ses_backend().max_send_rate = 1000
    for unit in ROSTERS:
        send_roster(api, tokens, unit)
    return tokens


@pytest.fixture
def dispatched(api, rosters):
    """Both rosters dispatched and mailed: {token: the survey it opens}."""
    assert api.call("POST", "/campaigns/demo/dispatch", {}, token=rosters["admin"]).status_code == 202
    run_all(api)
    forms = {}
    for mail in sent_mails():
        token = token_of(mail)
        forms[token] = api.call("GET", "/survey", headers={"x-survey-token": token}).data
    return forms


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
    real, failures = link_store.count_asked, []

    def dies_once(*args, **kwargs):
        """The job dies after the unit's own counters and before the ministries' (a Lambda timeout there)."""
        if not failures:
            failures.append(args)
            raise TimeoutError("the job died here")
        return real(*args, **kwargs)

    monkeypatch.setattr(link_store, "count_asked", dies_once)
    first = json.loads(jobs[0])
    with pytest.raises(TimeoutError):
        dispatch_service.run_job(first, runtime.now(), runtime.random_bytes)
    for body in jobs + jobs:  # every job delivered (again), twice
        api.client.lambda_.invoke("jobs", api.client.events.generate_sqs_event(message_bodies=[body],
                                                                                queue_name="jobs"))
    drain(api, settings().mail_queue, "mail")
    assert failures and counters() == recount()
    assert sum(asked for asked, _ in counters().values()) == 5
