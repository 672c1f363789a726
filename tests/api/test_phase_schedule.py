from datetime import datetime
from zoneinfo import ZoneInfo

from chalicelib.store.models import AuditModel

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def run_schedule(api):
    client = api.client
    return client.lambda_.invoke("close-phases", client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]))


def test_the_scheduled_rule_announces_each_closed_phase_once_per_unit(api, tokens, clock):
    clock.at(datetime(2022, 1, 11, 0, 0, 5, tzinfo=VN))
    assert run_schedule(api).payload == {"announced": 63}
    assert run_schedule(api).payload == {"announced": 0}
    notes = api.call("GET", "/campaigns/2021/units/01/notifications", token=tokens["01"]).data["items"]
    assert notes[0]["title"] == "Đã khóa: Cử cán bộ đầu mối công nghệ thông tin"
    assert "hết ngày 10/01/2022" in notes[0]["message"]
    closed = [e for e in AuditModel.scan() if e.action == "phase_closed"]
    assert len(closed) == 63 and {e.actor for e in closed} == {"system"}


def test_an_extension_rearms_the_announcement_for_the_new_deadline(api, tokens, clock):
    clock.at(datetime(2022, 1, 11, 0, 0, 5, tzinfo=VN))
    run_schedule(api)
    api.call("PATCH", "/campaigns/2021/phases/focal_person", {"closes": "2022-01-12", "unit": "05", "reason": "x"},
             token=tokens["admin"])  # unknown unit: nothing changes
    api.call("PATCH", "/campaigns/2021/phases/focal_person", {"closes": "2022-01-12", "unit": "01", "reason": "x"},
             token=tokens["admin"])
    assert run_schedule(api).payload == {"announced": 0}
    clock.at(datetime(2022, 1, 13, 0, 0, 1, tzinfo=VN))
    assert run_schedule(api).payload == {"announced": 1}
