from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from builders import person, roster_workbook
from chalicelib.store.models import AuditModel

VN = ZoneInfo("Asia/Ho_Chi_Minh")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BASE = "/campaigns/2021/units/01/roster"
NEW = {"full_name": "Phạm Thị Dung", "position": "Trưởng phòng", "agency": "Phòng Tổ chức, Sở Nội vụ",
       "group": "3", "email": "dung.pt@hagiang.gov.vn", "phone": "0987654321"}


@pytest.fixture
def loaded(api, tokens, clock):
    clock.at(datetime(2022, 1, 10, 9, 0, tzinfo=VN))
    rows = [person(i, group=str(1 + i % 4), agency="Sở Y tế" if i % 4 in (1, 2) else "UBND huyện") for i in range(1, 13)]
    r = api.call("POST", f"{BASE}/imports", token=tokens["01"], headers={"content-type": XLSX},
                 raw=roster_workbook(rows))
    assert r.status_code == 200, r.data
    return r.data


def test_the_roster_is_listed_with_counts_filters_search_and_pages(api, tokens, loaded):
    full = api.call("GET", f"{BASE}?limit=5", token=tokens["01"]).data
    assert full["total"] == 12 and {c["group"]: c["count"] for c in full["counts"]} == {"1": 3, "2": 3, "3": 3, "4": 3}
    seen, cursor = [], None
    while True:
        page = api.call("GET", f"{BASE}?limit=5" + (f"&cursor={cursor}" if cursor else ""), token=tokens["01"]).data
        seen += [i["rid"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 12 and seen == sorted(seen)
    only3 = api.call("GET", f"{BASE}?group=3", token=tokens["01"]).data["items"]
    assert {i["group"] for i in only3} == {"3"} and len(only3) == 3
    found = api.call("GET", f"{BASE}?q=NGUOI7@", token=tokens["01"]).data["items"]
    assert [i["email"] for i in found] == ["nguoi7@hagiang.gov.vn"]


def test_a_single_row_is_added_edited_and_deleted_with_the_same_rules(api, tokens, loaded):
    added = api.call("POST", BASE, NEW, token=tokens["01"])
    assert added.status_code == 201 and added.data["ministry"] == "Bộ Nội vụ"
    rid = added.data["rid"]
    dup = api.call("POST", BASE, {**NEW, "email": "NGUOI1@hagiang.gov.vn"}, token=tokens["01"])
    assert dup.status_code == 422 and dup.data["details"][0]["field"] == "email"
    bad = api.call("PATCH", f"{BASE}/{rid}", {"phone": "123"}, token=tokens["01"])
    assert bad.status_code == 422 and bad.data["details"][0]["field"] == "phone"
    moved = api.call("PATCH", f"{BASE}/{rid}", {"group": "1", "agency": "HĐND tỉnh"}, token=tokens["01"])
    assert moved.status_code == 200 and moved.data["questionnaires"] == ["locality"]
    counts = {c["group"]: c["count"] for c in api.call("GET", BASE, token=tokens["01"]).data["counts"]}
    assert counts == {"1": 4, "2": 3, "3": 3, "4": 3}
    assert api.call("DELETE", f"{BASE}/{rid}", token=tokens["01"]).status_code == 200
    assert api.call("DELETE", f"{BASE}/{rid}", token=tokens["01"]).status_code == 404
    assert api.call("GET", BASE, token=tokens["01"]).data["total"] == 12


def test_sending_freezes_the_roster_and_only_the_ministry_reopens_it(api, tokens, loaded, clock):
    sent = api.call("POST", f"{BASE}/submit", token=tokens["01"])
    assert sent.status_code == 200 and sent.data["status"] == "submitted"
    assert sent.data["submitted_at_label"] == "09:00 10/01/2022"
    frozen = api.call("POST", BASE, NEW, token=tokens["01"])
    assert frozen.status_code == 409 and "đã được gửi" in frozen.data["message"]
    ministry = api.call("GET", "/campaigns/2021/notifications", token=tokens["admin"]).data["items"]
    assert ministry[0]["title"] == "Đã gửi danh sách: Hà Nội"
    assert api.call("DELETE", f"{BASE}/submit", {"reason": "x"}, token=tokens["01"]).status_code == 403
    clock.at(datetime(2022, 1, 11, 8, 0, tzinfo=VN))
    no_reason = api.call("DELETE", f"{BASE}/submit", {}, token=tokens["admin"])
    assert no_reason.status_code == 422
    reopened = api.call("DELETE", f"{BASE}/submit", {"reason": "Bổ sung đại biểu HĐND"}, token=tokens["admin"])
    assert reopened.status_code == 200 and reopened.data["status"] == "draft"
    assert api.call("POST", BASE, NEW, token=tokens["01"]).status_code == 201
    actions = [e.action for e in AuditModel.scan()]
    assert {"roster_submitted", "roster_reopened", "roster_imported"} <= set(actions)
    notes = api.call("GET", "/campaigns/2021/units/01/notifications", token=tokens["01"]).data["items"]
    assert "Bổ sung đại biểu HĐND" in notes[0]["message"]


def test_an_empty_roster_cannot_be_sent(api, tokens, clock):
    clock.at(datetime(2022, 1, 10, tzinfo=VN))
    r = api.call("POST", "/campaigns/2021/units/02/roster/submit", token=tokens["02"])
    assert r.status_code == 422 and "chưa có người nào" in r.data["message"]


def test_after_the_deadline_nothing_changes(api, tokens, loaded, clock):
    rid = api.call("GET", BASE, token=tokens["01"]).data["items"][0]["rid"]
    clock.at(datetime(2022, 1, 16, 0, 0, 0, tzinfo=VN))
    assert api.call("POST", BASE, NEW, token=tokens["01"]).status_code == 423
    assert api.call("PATCH", f"{BASE}/{rid}", {"position": "Giám đốc"}, token=tokens["01"]).status_code == 423
    assert api.call("DELETE", f"{BASE}/{rid}", token=tokens["01"]).status_code == 423
    assert api.call("POST", f"{BASE}/submit", token=tokens["01"]).status_code == 423
    assert api.call("GET", BASE, token=tokens["01"]).status_code == 200
