"""The PAR Index results through the API: appraised and self-scored points, survey points from real submitted
answers, imported parts, an annulled unit, ranking, and the workbook (which LibreOffice must open)."""
import io
import shutil
import subprocess

import pytest
from openpyxl import load_workbook

from builders import person, roster_workbook
from outbox import download, run_all, sent_mails, ses_backend, token_of

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
D = "/campaigns/demo"


def best_answers(questionnaire: dict) -> dict:
    """Every scored question answered with its best: the top option of a single choice, every option with points
    of a multiple choice."""
    answers = {}
    for section in questionnaire["sections"]:
        for q in section["questions"]:
            if q["type"] == "single":
                answers[q["id"]] = max(q["options"], key=lambda o: o["score"])["value"]
            elif q["type"] == "multi":
                chosen = [o["value"] for o in q["options"] if o["score"] > 0] or [q["options"][0]["value"]]
                answers[q["id"]] = chosen
    return answers


def self_leaves(nodes):
    for node in nodes:
        if node["children"]:
            yield from self_leaves(node["children"])
        elif node["method"] == "self":
            yield node


@pytest.fixture
def campaign(api, tokens, clock, built):
    """Unit 01: three delegates answer with the best options, every self-scored line at its maximum."""
    def build():
        ses_backend().max_send_rate = 1000
        rows = [person(i, group="1", agency="HĐND tỉnh") for i in range(1, 6)]
        assert api.call("POST", f"{D}/units/01/roster/imports", token=tokens["01"], headers={"content-type": XLSX},
                        raw=roster_workbook(rows)).status_code == 200
        api.call("POST", f"{D}/units/01/roster/submit", token=tokens["01"])
        api.call("POST", f"{D}/dispatch", {}, token=tokens["admin"])
        run_all(api)
        links = [token_of(m) for m in sent_mails()]
        # the form hides the options' points: the ministry's copy of the questionnaire has them
        answers = best_answers(api.call("GET", f"{D}/questionnaires/locality-1", token=tokens["admin"]).data)
        for i, token in enumerate(links[:3]):
            r = api.call("POST", "/survey/submit", {"answers": answers}, headers={"x-survey-token": token},
                         ip=f"10.1.0.{i + 1}")
            assert r.status_code == 201, r.body
        view = api.call("GET", f"{D}/units/01/assessment", token=tokens["01"]).data
        for leaf in self_leaves(view["fields"]):
            assert api.call("PUT", f"{D}/units/01/assessment/items/{leaf['code']}",
                            {"score": leaf["max"], "explanation": "Có"}, token=tokens["01"]).status_code == 200
        return links

    return built("campaign", build)


def unit_row(data: dict, unit: str) -> dict:
    return next(u for u in data["units"] if u["unit"] == unit)


@pytest.mark.slow
def test_the_index_adds_self_scores_survey_points_and_imported_parts_and_ranks_the_units(api, tokens, campaign):
    r = api.call("GET", f"{D}/results", token=tokens["admin"])
    assert r.status_code == 200, r.body
    one = unit_row(r.data, "01")
    # self 62 (not yet appraised: the self-scores count, marked provisional) + survey 23 (every answer the best)
    assert one["parts"]["self"] == {"points": 62, "max": 62}
    assert one["parts"]["survey"] == {"points": 23, "max": 23} and one["responses"] == 3
    assert one["points"] == 85 and one["index"] == 85 and one["grade"] == "B" and one["provisional"] is True
    assert one["rank"] == 1 and unit_row(r.data, "02")["index"] == 0 and unit_row(r.data, "02")["rank"] == 2
    # the ministry enters SIPAS (8.2) and lowers one appraised line: 85 + 9.5 − 0.75 = 93.75 → group A
    r = api.call("PUT", f"{D}/units/01/assessment/items/8.2/appraisal", {"score": 9.5}, token=tokens["admin"])
    assert r.status_code == 200, r.body
    assert api.call("PUT", f"{D}/units/01/assessment/items/1.2/appraisal", {"score": 0.75},
                    token=tokens["admin"]).status_code == 409  # self lines: only once submitted
    # the ministry closes the self-assessment now; the scheduled rule locks what is still open
    r = api.call("PATCH", f"{D}/phases/self_assessment", {"closes": "2022-01-05T03:00:00Z", "reason": "Thử"},
                 token=tokens["admin"])
    assert r.status_code == 200, r.body
    api.client.lambda_.invoke("close-phases", api.client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]))
    assert api.call("PUT", f"{D}/units/01/assessment/items/1.2/appraisal", {"score": 0.75},
                    token=tokens["admin"]).status_code == 200
    data = api.call("GET", f"{D}/results", token=tokens["admin"]).data
    one = unit_row(data, "01")
    assert one["parts"] == {"self": {"points": 61.25, "max": 62}, "survey": {"points": 23, "max": 23},
                            "imported": {"points": 9.5, "max": 15}}
    assert one["index"] == 93.75 and one["grade"] == "A"
    assert data["grade_counts"]["A"] == 1 and data["grade_counts"]["C"] == len(data["units"]) - 1
    assert one["fields"]["8"]["points"] == 4 + 9.5  # survey 8.1 (4) + SIPAS


@pytest.mark.slow
def test_an_annulled_unit_loses_its_survey_points_only(api, tokens, campaign):
    r = api.call("POST", f"{D}/units/01/annulment", {"reason": "Trả lời thay"}, token=tokens["admin"])
    assert r.status_code == 201
    one = unit_row(api.call("GET", f"{D}/results", token=tokens["admin"]).data, "01")
    assert one["annulled"] is True and one["parts"]["survey"]["points"] == 0 and one["responses"] == 0
    assert one["index"] == 62 and one["grade"] == "C"
    api.call("DELETE", f"{D}/units/01/annulment", {"reason": "Đã xác minh"}, token=tokens["admin"])
    assert unit_row(api.call("GET", f"{D}/results", token=tokens["admin"]).data, "01")["index"] == 85


def test_each_unit_shows_its_answers_rate_risk_and_a_too_small_sample(api, tokens, campaign):
    """3 answers of 5 forms, under the campaign's 10: a small sample; the risk once a scan ran; an annulled unit
    still shows how many answered (its points are gone)."""
    data = api.call("GET", f"{D}/results", token=tokens["admin"]).data
    assert data["min_responses"] == 10
    one = unit_row(data, "01")
    assert one["survey"] == {"responses": 3, "forms": 5, "rate": 60.0, "small_sample": True}
    assert one["integrity"] is None  # not reviewed yet
    assert unit_row(data, "02")["survey"] == {"responses": 0, "forms": 0, "rate": None, "small_sample": True}
    # the average is over the units with data only (unit 01 here), saying how many
    assert one["has_data"] is True and unit_row(data, "02")["has_data"] is False
    assert data["average_units"] == 1 and data["average"] == one["index"]
    assert api.call("POST", f"{D}/integrity/scan", {}, token=tokens["admin"]).status_code in (200, 202)
    run_all(api)
    review = next(u for u in api.call("GET", f"{D}/integrity", token=tokens["admin"]).data["units"]
                  if u["unit"] == "01")
    risk = unit_row(api.call("GET", f"{D}/results", token=tokens["admin"]).data, "01")["integrity"]
    assert risk["score"] == review["score"] and risk["flagged"] == review["flagged"]
    assert risk["level_name"] in ("Cao", "Trung bình", "Thấp")
    api.call("POST", f"{D}/units/01/annulment", {"reason": "Trả lời thay"}, token=tokens["admin"])
    one = unit_row(api.call("GET", f"{D}/results", token=tokens["admin"]).data, "01")
    assert one["annulled"] is True and one["parts"]["survey"]["points"] == 0
    assert one["survey"]["responses"] == 3


def test_after_a_scan_the_results_count_from_its_tally_and_a_later_answer_still_counts(api, tokens, campaign):
    """The scan keeps the tally of the answers it read; the results use it while the unit's submit counter has not
    moved, and read the unit's answers again once it has."""
    from chalicelib.store import integrity as integrity_store

    before = unit_row(api.call("GET", f"{D}/results", token=tokens["admin"]).data, "01")
    assert api.call("POST", f"{D}/integrity/scan", {}, token=tokens["admin"]).status_code in (200, 202)
    kept = {s.unit: s for s in integrity_store.by_campaign("demo")}["01"].score_counts
    assert kept["n"] == 3 and sum(e["n"] for e in kept["locality"].values()) == 3
    after = unit_row(api.call("GET", f"{D}/results", token=tokens["admin"]).data, "01")
    assert {k: after[k] for k in ("parts", "index", "survey")} == {k: before[k] for k in ("parts", "index", "survey")}
    # a fourth delegate answers the worst options after the scan: counted at once, the survey points drop
    form = api.call("GET", f"{D}/questionnaires/locality-1", token=tokens["admin"]).data
    worst = best_answers(form)
    for section in form["sections"]:
        for q in section["questions"]:
            if q["type"] == "single":
                worst[q["id"]] = min(q["options"], key=lambda o: o["score"])["value"]
    r = api.call("POST", "/survey/submit", {"answers": worst}, headers={"x-survey-token": campaign[3]},
                 ip="10.1.0.9")
    assert r.status_code == 201, r.body
    later = unit_row(api.call("GET", f"{D}/results", token=tokens["admin"]).data, "01")
    assert later["survey"]["responses"] == 4 and later["responses"] == 4
    assert later["parts"]["survey"]["points"] < before["parts"]["survey"]["points"]


@pytest.mark.slow
def test_results_are_the_ministrys_only(api, tokens, campaign):
    for path in (f"{D}/results", f"{D}/results.xlsx"):
        assert api.call("GET", path, token=tokens["01"]).status_code == 403
        assert api.call("GET", path).status_code == 401


@pytest.mark.slow
def test_the_results_workbook_has_a_summary_and_one_sheet_per_field_and_opens_in_libreoffice(
        api, tokens, campaign, tmp_path):
    r = api.call("GET", f"{D}/results.xlsx", token=tokens["admin"])
    assert r.status_code == 200, r.body
    data = download(r.data["url"])
    wb = load_workbook(io.BytesIO(data))
    # the provinces' summary and 8 field sheets, then (the demo campaign assesses ministries) theirs: 1 + 7
    assert wb.sheetnames[0] == "Tổng hợp" and len(wb.sheetnames) == 9 + 8
    assert wb.sheetnames[9] == "Tổng hợp các bộ" and wb.sheetnames[10].startswith("Bộ LV1 ")
    summary = wb["Tổng hợp"]
    header = [c.value for c in summary[4]]
    assert header[:6] == ["Xếp hạng", "Mã", "Đơn vị", "Chỉ số (%)", "Nhóm", "Tổng điểm"]
    first = [c.value for c in summary[5]]
    assert first[:6] == [1, "01", "Hà Nội", 85, "B", 85]
    field1 = wb.worksheets[1]
    assert field1.title.startswith("LV1 ") and field1["D2"].value == "1.1.1"
    assert [c.value for c in field1[6]][:4] == [1, "01", "Hà Nội", 0.75]
    path = tmp_path / "ket-qua.xlsx"
    path.write_bytes(data)
    office = shutil.which("libreoffice") or shutil.which("soffice")
    assert office, "LibreOffice (Debian package libreoffice-calc-nogui) is needed: .ci/run installs it"
    done = subprocess.run([office, "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to",
                           "pdf", "--outdir", str(tmp_path), str(path)], capture_output=True, timeout=180)
    assert done.returncode == 0, done.stderr.decode()
    pdf = tmp_path / "ket-qua.pdf"
    assert pdf.exists() and pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 2000
