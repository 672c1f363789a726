"""Progress for a province and the nation: counters through every state change, no answers, safe exports."""
import io
import json

import pytest
from builders import person
from openpyxl import load_workbook
from outbox import download, drain, mail_roster, ses_backend, token_of

from chalicelib.config import settings
from chalicelib.store.models import MailModel

HOSTILE = '=HYPERLINK("http://evil.example","Bấm vào đây")'



@pytest.fixture
def dispatched(api, tokens, clock, built):
    def build():
        ses_backend().max_send_rate = 1000
        rows = [person(1, group="1", agency="HĐND tỉnh", name=HOSTILE, position="+Đại biểu"),
                person(2, group="2", agency="Sở Y tế"), person(3, group="4", agency="UBND huyện Sóc Sơn")]
        return {m["To"]: token_of(m) for m in mail_roster(api, tokens, rows)}

    return built("dispatched", build)


def progress(api, token, query=""):
    r = api.call("GET", f"/campaigns/demo/units/01/progress{query}", token=token)
    assert r.status_code == 200, r.data
    return r.data


def test_counts_follow_every_state_change(api, tokens, dispatched):
    p = progress(api, tokens["01"])
    assert (p["totals"]["total"], p["totals"]["sent"], p["totals"]["submitted"]) == (4, 4, 0)
    # bounced
    target = next(m for m in MailModel.scan() if m.slot.startswith("000003"))
    event = {"notificationType": "Bounce", "mail": {"messageId": target.message_id},
             "bounce": {"bounceType": "Permanent", "bouncedRecipients": [{"diagnosticCode": "550 no such user"}]}}
    api.client.lambda_.invoke("mail-events", api.client.events.generate_sns_event(message=json.dumps(event)))
    p = progress(api, tokens["01"])
    assert (p["totals"]["sent"], p["totals"]["bounced"]) == (3, 1)
    bounced = progress(api, tokens["01"], "?status=bounced")["people"]
    assert [x["links"][0]["problem"] for x in bounced] == ["Thư bị trả lại: 550 no such user"]
    # corrected and sent again
    api.call("POST", f"/campaigns/demo/units/01/roster/{bounced[0]['rid']}/email", {"email": "moi@soc-son.vn"},
             token=tokens["01"])
    assert progress(api, tokens["01"])["totals"]["issued"] == 1
    drain(api, settings().mail_queue, "mail")
    assert (progress(api, tokens["01"])["totals"]["sent"], progress(api, tokens["01"])["totals"]["bounced"]) == (4, 0)
    # opened, then submitted
    token = dispatched["nguoi2@hagiang.gov.vn"]
    survey = api.call("GET", "/survey", headers={"x-survey-token": token}).data
    api.call("PUT", "/survey/draft", {"answers": {}}, headers={"x-survey-token": token})
    assert progress(api, tokens["01"])["totals"]["opened"] == 1
    answers = {q["id"]: q["options"][0]["value"] if q["type"] == "single" else [q["options"][0]["value"]]
               for s in survey["questionnaire"]["sections"] for q in s["questions"] if q["type"] != "text"}
    assert api.call("POST", "/survey/submit", {"answers": answers}, headers={"x-survey-token": token}).status_code == 201
    p = progress(api, tokens["01"])
    # opened counts every form opened, the answered one included (opened ≥ submitted everywhere)
    assert (p["totals"]["opened"], p["totals"]["submitted"], p["totals"]["rate"]) == (1, 1, 25.0)
    assert p["totals"]["opened_unsent"] == 0
    assert [d["submitted"] for d in p["by_day"]] == [1] and p["by_day"][0]["label"].count("/") == 2
    by = {(g["group"], g["purpose"]): g for g in p["by_group"]}
    assert by[("2", "locality")]["submitted"] + by[("2", "ministry")]["submitted"] == 1
    national = api.call("GET", "/campaigns/demo/progress?sort=rate", token=tokens["admin"]).data
    assert national["units"][0]["code"] == "01" and national["units"][0]["rate"] == 25.0
    assert national["totals"]["submitted"] == 1 and national["rosters_submitted"] == 1
    assert national["totals"]["opened"] == 1 and national["units"][0]["opened"] == 1


def test_a_province_sees_who_answered_never_what_and_only_its_own_unit(api, tokens, dispatched):
    token = dispatched["nguoi3@hagiang.gov.vn"]
    survey = api.call("GET", "/survey", headers={"x-survey-token": token}).data
    answers = {q["id"]: q["options"][-1]["value"] if q["type"] == "single" else [q["options"][-1]["value"]]
               for s in survey["questionnaire"]["sections"] for q in s["questions"] if q["type"] != "text"}
    api.call("POST", "/survey/submit", {"answers": answers}, headers={"x-survey-token": token})
    body = json.dumps(progress(api, tokens["01"], "?limit=500"), ensure_ascii=False)
    assert "answers" not in body and all(value not in body for value in set(map(str, answers.values())) if
                                         len(value) > 3)
    done = progress(api, tokens["01"], "?status=submitted")["people"]
    assert [p["email"] for p in done] == ["nguoi3@hagiang.gov.vn"] and done[0]["links"][0]["submitted_at_label"]
    assert api.call("GET", "/campaigns/demo/units/01/progress", token=tokens["02"]).status_code == 403
    assert api.call("GET", "/campaigns/demo/progress", token=tokens["01"]).status_code == 403


def test_filters_search_and_paging(api, tokens, dispatched):
    assert [p["group"] for p in progress(api, tokens["01"], "?group=2")["people"]] == ["2"]
    assert [p["agency"] for p in progress(api, tokens["01"], "?agency=soc son")["people"]] == ["UBND huyện Sóc Sơn"]
    assert len(progress(api, tokens["01"], "?q=NGUOI2")["people"]) == 1
    page = progress(api, tokens["01"], "?limit=2&offset=2")
    assert (page["matched"], len(page["people"])) == (3, 1)
    assert api.call("GET", "/campaigns/demo/units/01/progress?status=xyz", token=tokens["01"]).status_code == 422


def test_exports_neutralise_formulas_in_every_cell(api, tokens, dispatched):
    link = api.call("GET", "/campaigns/demo/units/01/progress.xlsx", token=tokens["01"]).data
    assert link["filename"] == "tien-do-khao-sat-demo-01.xlsx"
    wb = load_workbook(io.BytesIO(download(link["url"])))
    assert wb.sheetnames == ["Tổng hợp", "Chi tiết"]
    detail = wb["Chi tiết"]
    cells = [c for row in detail.iter_rows() for c in row]
    hostile = [c for c in cells if isinstance(c.value, str) and c.value.startswith(("=", "+"))]
    assert {c.value for c in hostile} == {HOSTILE, "+Đại biểu"}
    assert all(c.data_type == "s" for c in hostile)  # stored as text, never as a formula
    raw = download(link["url"])
    import zipfile
    sheet_xml = zipfile.ZipFile(io.BytesIO(raw)).read("xl/worksheets/sheet2.xml").decode()
    assert "<f>" not in sheet_xml
    national = api.call("GET", "/campaigns/demo/progress.xlsx", token=tokens["admin"]).data
    rows = list(load_workbook(io.BytesIO(download(national["url"])))["Toàn quốc"].iter_rows(values_only=True))
    assert rows[3][:2] == ("Mã", "Đơn vị") and rows[-1][1] == "Toàn quốc"


def test_the_national_average_rate_counts_only_units_with_data(api, tokens, dispatched):
    data = api.call("GET", "/campaigns/demo/progress", token=tokens["admin"]).data
    with_data = [u for u in data["units"] if u["total"] > 0 and not u["annulled"]]
    assert 0 < len(with_data) < len(data["units"])  # units without forms exist and are left out
    assert data["average"] == {"units": len(with_data),
                               "rate": round(sum(u["rate"] for u in with_data) / len(with_data), 1)}
