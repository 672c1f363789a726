from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

VN = ZoneInfo("Asia/Ho_Chi_Minh")
PATH = "/campaigns/2021/units/01/focal-person"
GOOD = {"full_name": "  Trần  Thị Bình ", "position": "Phó Giám đốc Sở Thông tin và Truyền thông",
        "mobile": "+84 983 123 456"}


def test_a_province_records_its_focal_person_normalised(api, tokens, clock):
    clock.at(datetime(2022, 1, 6, 10, 0, tzinfo=VN))
    r = api.call("PUT", PATH, GOOD, token=tokens["01"])
    assert r.status_code == 200, r.body
    assert r.data["full_name"] == "Trần Thị Bình" and r.data["mobile"] == "0983123456"
    assert r.data["updated_at_label"] == "10:00 06/01/2022"
    got = api.call("GET", PATH, token=tokens["admin"]).data
    assert got["full_name"] == "Trần Thị Bình" and got["updated_by"] == "tinh01"
    units = api.call("GET", "/campaigns/2021", token=tokens["admin"]).data["units"]
    assert [u["focal_person_set"] for u in units if u["code"] == "01"] == [True]


@pytest.mark.parametrize("moment, status", [
    (datetime(2022, 1, 10, 23, 59, 59, tzinfo=VN), 200),
    (datetime(2022, 1, 11, 0, 0, 0, tzinfo=VN), 423),
    (datetime(2022, 1, 3, 23, 59, 59, tzinfo=VN), 423),
])
def test_the_focal_person_deadline_is_the_end_of_10_01_2022_local_time(api, tokens, clock, moment, status):
    clock.at(moment)
    r = api.call("PUT", PATH, GOOD, token=tokens["01"])
    assert r.status_code == status
    if status == 423:
        assert r.data["code"] == "phase_closed" and "Cử cán bộ đầu mối" in r.data["message"]


def test_bad_fields_are_named_with_vietnamese_reasons(api, tokens, clock):
    clock.at(datetime(2022, 1, 6, tzinfo=VN))
    r = api.call("PUT", PATH, {"full_name": "", "position": "Chuyên viên", "mobile": "024 3825 1234"},
                 token=tokens["01"])
    assert r.status_code == 422
    by_field = {d["field"]: d["message"] for d in r.data["details"]}
    assert by_field["full_name"] == "Vui lòng nhập họ và tên."
    assert "di động không hợp lệ" in by_field["mobile"]


def test_another_province_cannot_read_or_write_the_focal_person(api, tokens, clock):
    clock.at(datetime(2022, 1, 6, tzinfo=VN))
    assert api.call("PUT", PATH, GOOD, token=tokens["02"]).status_code == 403
    r = api.call("GET", PATH, token=tokens["02"])
    assert r.status_code == 403 and r.data["message"].startswith("Tài khoản của bạn không có quyền")
