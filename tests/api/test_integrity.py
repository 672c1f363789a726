"""Integrity scans, the ministry's review, annulment and reinstatement, through the API."""
import io
import re

import pytest
from builders import person
from openpyxl import load_workbook
from outbox import download, mail_roster, ses_backend, token_of

from chalicelib.store.models import AuditModel, ResponseModel



@pytest.fixture
def answered(api, tokens, clock, built):
    """Unit 01 (demo): 8 delegates; 6 answer from one computer within minutes (one official filling in)."""
    def build():
        ses_backend().max_send_rate = 1000
        rows = [person(i, group="1", agency="HĐND tỉnh") for i in range(1, 9)]
        links = [token_of(m) for m in mail_roster(api, tokens, rows)]
        survey = api.call("GET", "/survey", headers={"x-survey-token": links[0]}).data
        answers = {q["id"]: q["options"][0]["value"] if q["type"] == "single" else [q["options"][0]["value"]]
                   for s in survey["questionnaire"]["sections"] for q in s["questions"] if q["type"] != "text"}
        for token in links[:6]:
            r = api.call("POST", "/survey/submit", {"answers": answers}, headers={"x-survey-token": token,
                                                                                 "user-agent": "Chrome/120"},
                         ip="10.77.0.5")
            assert r.status_code == 201
        return links

    return built("answered", build)


@pytest.mark.slow
def test_a_scan_flags_the_unit_with_explainable_evidence_for_the_ministry_only(api, tokens, answered):
    r = api.call("POST", "/campaigns/demo/integrity/scan", token=tokens["admin"])
    assert r.status_code == 200 and r.data["scanned"] >= 1
    [unit] = [u for u in r.data["units"] if u["unit"] == "01"]
    assert unit["flagged"] and {"shared_ip", "shared_device", "too_fast", "straight_lining"} <= {
        f["rule"] for f in unit["flags"]}
    evidence = next(f for f in unit["flags"] if f["rule"] == "shared_ip")["evidence"][0]
    assert evidence["address"] == "10.77.0.5" and evidence["respondents"] == 6 and len(evidence["links"]) == 6
    again = api.call("POST", "/campaigns/demo/integrity/scan", token=tokens["admin"]).data
    assert again["scanned"] == 0  # nothing moved since: incremental
    for path in ("/campaigns/demo/integrity", "/campaigns/demo/integrity/scan"):
        method = "POST" if path.endswith("scan") else "GET"
        assert api.call(method, path, token=tokens["01"]).status_code == 403
    assert "shared_ip" not in api.call("GET", "/campaigns/demo/units/01/progress", token=tokens["01"]).body.decode()


def test_annulment_needs_a_reason_removes_the_unit_from_aggregates_and_is_reversible(api, tokens, answered):
    before = api.call("GET", "/campaigns/demo/progress", token=tokens["admin"]).data["totals"]["submitted"]
    assert before == 6
    assert api.call("POST", "/campaigns/demo/units/01/annulment", {}, token=tokens["admin"]).status_code == 422
    assert api.call("POST", "/campaigns/demo/units/01/annulment", {"reason": "x"}, token=tokens["01"]).status_code == 403
    r = api.call("POST", "/campaigns/demo/units/01/annulment", {"reason": "Một người trả lời thay nhiều người"},
                 token=tokens["admin"])
    assert r.status_code == 201 and r.data["annulled"] and r.data["annulled_by"] == "admin"
    assert api.call("POST", "/campaigns/demo/units/01/annulment", {"reason": "lần hai"},
                    token=tokens["admin"]).status_code == 409
    national = api.call("GET", "/campaigns/demo/progress", token=tokens["admin"]).data
    assert national["totals"]["submitted"] == 0 and national["units"][0]["annulled"]
    assert len(list(ResponseModel.query("demo#01"))) == 6  # kept for audit
    closed = api.call("GET", "/survey", headers={"x-survey-token": answered[7]})
    assert closed.status_code == 423 and closed.data["code"] == "results_annulled"
    notes = api.call("GET", "/campaigns/demo/units/01/notifications", token=tokens["01"]).data["items"]
    [note] = [n for n in notes if n["title"] == "Hủy kết quả khảo sát"]
    assert "Một người trả lời thay" in note["message"]
    back = api.call("DELETE", "/campaigns/demo/units/01/annulment", {"reason": "Đã xác minh lại"},
                    token=tokens["admin"])
    assert back.status_code == 200 and not back.data["annulled"]
    assert api.call("GET", "/campaigns/demo/progress", token=tokens["admin"]).data["totals"]["submitted"] == 6
    actions = {e.action for e in AuditModel.scan()}
    assert {"survey_annulled", "survey_reinstated"} <= actions


def test_the_evidence_workbook_lists_units_by_risk_and_each_flag_with_its_numbers(api, tokens, answered):
    api.call("POST", "/campaigns/demo/integrity/scan", token=tokens["admin"])
    assert api.call("GET", "/campaigns/demo/integrity.xlsx", token=tokens["01"]).status_code == 403
    assert api.call("GET", "/campaigns/nope/integrity.xlsx", token=tokens["admin"]).status_code == 404
    r = api.call("GET", "/campaigns/demo/integrity.xlsx", token=tokens["admin"])
    assert r.status_code == 200 and r.data["filename"] == "ra-soat-can-thiep-demo.xlsx" and r.data["size"] > 0
    book = load_workbook(io.BytesIO(download(r.data["url"])))
    assert book.sheetnames == ["Đơn vị", "Dấu hiệu"]
    units = list(book["Đơn vị"].iter_rows(values_only=True))
    assert units[3][:4] == ("Mã", "Đơn vị", "Mức rủi ro (/100)", "Số dấu hiệu")
    first = units[4]
    assert first[0] == "01" and first[2] >= 40 and first[3] >= 4 and first[7] == "Còn hiệu lực"
    assert [row[2] for row in units[4:]] == sorted((row[2] for row in units[4:]), reverse=True)
    flags = list(book["Dấu hiệu"].iter_rows(values_only=True))
    assert flags[0][:9] == ("Mã", "Đơn vị", "Mức rủi ro (/100)", "Dấu hiệu", "Mô tả",
                            "Dự kiến nếu trả lời trung thực", "Phát hiện", "Xác suất", "Xác suất (diễn giải)")
    shared = next(row for row in flags[1:] if row[3].startswith("Nhiều người trả lời từ cùng một địa chỉ mạng"))
    assert shared[0] == "01" and shared[6] == 6 and 0 < shared[5] < 6 and 0 < shared[7] < 1e-4
    assert "phát hiện 6" in shared[4] and "Xác suất" in shared[4] and "×" in shared[8]
    labels, times, addresses = (shared[9].split("\n"), shared[10].split("\n"), shared[11].split("\n"))
    assert len(labels) == len(times) == len(addresses) == 6 and set(addresses) == {"10.77.0.5"}
    assert all(re.fullmatch(r"Phiếu .+ · số \d+", label) for label in labels), labels
    assert all(re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d", t) for t in times), times
    assert not any("#" in (cell or "") for row in flags[1:] for cell in row if isinstance(cell, str))
    fixed = next(row for row in flags[1:] if row[3] == "Nhiều phiếu chọn cùng một mức cho mọi câu")
    assert fixed[7] is None and fixed[8].startswith("Quy tắc cố định")
