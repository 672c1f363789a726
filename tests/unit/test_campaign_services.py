"""Campaigns, phase windows and deadlines, the scheduled closing, the focal person and the unit kinds, run on the
in-memory stores with an injected clock: the rules tests/api/test_campaigns.py, test_phase_schedule.py and
test_focal_person.py check through the API on moto, here in milliseconds. Nothing here may reach AWS."""
import pytest
from memory_world import ADMIN, World, refuse_aws, unit_actor

from chalicelib.domain.access import SYSTEM_MOHA
from chalicelib.errors import ConflictError, ForbiddenError, NotFoundError, PhaseClosedError, ValidationError
from chalicelib.formats import datafiles
from chalicelib.services import campaigns, focal, phases, unit_kinds

FOCAL = {"full_name": "  Trần  Thị Bình ", "position": "Phó Giám đốc Sở Thông tin và Truyền thông",
         "mobile": "+84 983 123 456"}


@pytest.fixture
def world(monkeypatch):
    refuse_aws(monkeypatch)
    return World()


def change(world, phase, body, actor=ADMIN):
    return campaigns.change_phase(actor, "2021", phase, body, world.now, world.random_bytes, stores=world.stores)


def put_focal(world, unit="01", body=FOCAL):
    return focal.put(unit_actor(unit), "2021", unit, body, world.now, world.suffix(), stores=world.stores)


def close_due(world):
    return campaigns.close_due_phases(world.now, world.random_bytes, stores=world.stores)


# ------------------------------------------------------------------------------------------------- campaigns

def test_a_campaign_is_created_once_by_the_organiser_and_audited(world):
    definition, units = datafiles.load_campaign("demo")
    body = {**definition, "units": units[:2]}
    with pytest.raises(ForbiddenError):
        campaigns.create(unit_actor("01"), body, world.now, world.random_bytes, stores=world.stores)
    made = campaigns.create(ADMIN, body, world.now, world.random_bytes, stores=world.stores)
    assert made["id"] == definition["id"] and all(p["state"] == "open" for p in made["phases"][:3])
    with pytest.raises(ConflictError):
        campaigns.create(ADMIN, body, world.now, world.random_bytes, stores=world.stores)
    created = world.audited("campaign_created")
    assert sorted((e.actor, e.cid, e.details["units"]) for e in created) == [
        ("admin", definition["id"], 2), ("system", "2021", 5)]


def test_an_invalid_campaign_names_each_bad_field(world):
    with pytest.raises(ValidationError) as caught:
        campaigns.create(ADMIN, {"id": "X Y", "name": "", "groups": [], "units": [], "phases": [
            {"code": "roster", "opens": "2026-02-01", "closes": "2026-01-01"}]}, world.now, world.random_bytes,
            stores=world.stores)
    assert {"id", "name", "groups", "phases[0]", "units"} <= {d["field"] for d in caught.value.details}
    assert world.stores.campaigns.find_campaign("X Y") is None


def test_a_unit_sees_only_its_own_campaigns_unit_and_phases(world):
    definition, units = datafiles.load_campaign("demo")
    campaigns.create(SYSTEM_MOHA, {**definition, "units": [u for u in units if u["code"] == "02"]}, world.now,
                     world.random_bytes, stores=world.stores)
    listed = campaigns.list_for(unit_actor("01"), world.now, stores=world.stores)["items"]
    assert [c["id"] for c in listed] == ["2021"]
    assert len(campaigns.list_for(ADMIN, world.now, stores=world.stores)["items"]) == 2
    mine = campaigns.detail(unit_actor("01"), "2021", world.now, stores=world.stores)
    assert [u["code"] for u in mine["units"]] == ["01"]
    assert [p["code"] for p in mine["phases"]] == ["focal_person", "roster", "self_assessment", "survey"]
    ministry = campaigns.detail(unit_actor("UBDT"), "2021", world.now, stores=world.stores)
    assert [p["code"] for p in ministry["phases"]] == ["self_assessment"]
    everything = campaigns.detail(ADMIN, "2021", world.now, stores=world.stores)
    assert [u["code"] for u in everything["units"]] == ["01", "02", "04", "BTP", "UBDT"]
    assert "appraisal" in [p["code"] for p in everything["phases"]]
    with pytest.raises(NotFoundError):
        campaigns.detail(unit_actor("05"), "2021", world.now, stores=world.stores)


# ----------------------------------------------------------------------------------------- phases and deadlines

def test_the_focal_person_deadline_is_the_end_of_10_01_2022_local_time(world):
    world.at(2022, 1, 3, 23, 59, 59)
    with pytest.raises(PhaseClosedError, match="chưa mở"):
        put_focal(world)
    world.at(2022, 1, 10, 23, 59, 59)
    assert put_focal(world)["full_name"] == "Trần Thị Bình"
    world.at(2022, 1, 11)
    with pytest.raises(PhaseClosedError, match="hết ngày 10/01/2022") as caught:
        put_focal(world)
    assert caught.value.code == "phase_closed" and caught.value.details == [{"phase": "focal_person",
                                                                             "state": "closed"}]


def test_the_organiser_moves_a_deadline_for_everyone_concerned_audited_and_notified(world):
    world.at(2022, 1, 16, 9)
    info = change(world, "roster", {"closes": "2022-01-20", "reason": "Tết Dương lịch"})["phase"]
    assert info["deadline_label"] == "hết ngày 20/01/2022" and info["state"] == "open" and info["extended"]
    stored = {p["code"]: p for p in world.stores.campaigns.get_campaign("2021").phases}
    assert stored["roster"]["closes_at"] == "2022-01-20T17:00:00Z"
    [note] = world.notes("02")
    assert "20/01/2022" in note.message and "Tết Dương lịch" in note.message
    assert world.notes("BTP") == []  # the roster is the provinces' own step
    [entry] = world.audited("phase_changed")
    assert (entry.actor, entry.target, entry.details["reason"]) == ("admin", "roster", "Tết Dương lịch")


def test_a_deadline_moved_on_a_stale_read_is_refused(world, monkeypatch):
    stale = world.stores.campaigns.get_campaign("2021")
    change(world, "roster", {"closes": "2022-01-20", "reason": "Lần một"})
    with monkeypatch.context() as patched:  # the second change read the campaign before the first was saved
        patched.setattr(world.stores.campaigns, "get_campaign", lambda cid: stale)
        with pytest.raises(ConflictError, match="vừa được người khác cập nhật"):
            change(world, "roster", {"closes": "2022-01-25", "reason": "Lần hai"})
    closes = {p["code"]: p["closes_at"] for p in world.stores.campaigns.get_campaign("2021").phases}
    assert closes["roster"] == "2022-01-20T17:00:00Z"


def test_an_extension_for_one_unit_reopens_the_phase_for_that_unit_only(world):
    world.at(2022, 1, 12, 9)
    with pytest.raises(PhaseClosedError):
        put_focal(world, "01")
    result = change(world, "focal_person", {"closes": "2022-01-13", "unit": "01", "reason": "Tỉnh đề nghị"})
    assert result["phase"]["extended"] and result["unit"] == "01"
    assert put_focal(world, "01")["full_name"] == "Trần Thị Bình"
    with pytest.raises(PhaseClosedError):
        put_focal(world, "02")
    mine = campaigns.detail(unit_actor("01"), "2021", world.now, stores=world.stores)
    assert {p["code"]: p["state"] for p in mine["phases"]}["focal_person"] == "open"
    assert [e["code"] for e in mine["units"][0]["extensions"]] == ["focal_person"]
    assert [n.title for n in world.notes("01")] == ["Điều chỉnh thời hạn: Cử cán bộ đầu mối công nghệ thông tin"]
    assert world.notes("02") == []


@pytest.mark.parametrize("body, field, message", [
    ({"closes": "2022-01-20"}, "reason", "lý do"),
    ({"closes": "2022-01-20", "reason": "x" * 501}, "reason", "500 ký tự"),
    ({"reason": "x"}, "closes", "Thiếu thời hạn"),
    ({"closes": "20/01/2022", "reason": "x"}, "closes", "không hợp lệ"),
    ({"closes": "2022-01-10", "opens": "2022-01-12", "reason": "x"}, "closes", "phải sau thời điểm mở"),
    ({"closes": "2022-01-14", "unit": "01", "reason": "x"}, "closes", "sau thời hạn chung"),
    ({"closes": "2022-01-20", "unit": "BTP", "reason": "x"}, "unit", "không áp dụng cho Bộ Tư pháp"),
])
def test_changing_a_phase_needs_a_reason_a_valid_date_and_a_concerned_unit(world, body, field, message):
    before = world.stores.campaigns.get_campaign("2021")
    with pytest.raises(ValidationError, match=message) as caught:
        change(world, "roster", body)
    assert caught.value.details == [{"field": field}]
    assert world.stores.campaigns.get_campaign("2021") == before and world.audited("phase_changed") == []


def test_only_the_organiser_changes_a_known_phase_of_a_known_unit(world):
    with pytest.raises(ForbiddenError):
        change(world, "roster", {"closes": "2022-01-20", "reason": "x"}, actor=unit_actor("01"))
    with pytest.raises(NotFoundError):
        change(world, "tet", {"closes": "2022-01-20", "reason": "x"})
    with pytest.raises(NotFoundError):
        change(world, "roster", {"closes": "2022-01-20", "unit": "05", "reason": "x"})
    with pytest.raises(PhaseClosedError, match="không có giai đoạn"):
        phases.require_open("2021", "01", "tet", world.now, stores=world.stores)


# --------------------------------------------------------------------------------------- the scheduled closing

def test_the_schedule_announces_each_closed_phase_once_per_concerned_unit(world):
    assert close_due(world) == 0
    world.at(2022, 1, 11, 0, 0, 5)
    assert close_due(world) == 3  # the focal person phase is the three provinces' own
    assert close_due(world) == 0
    [note] = world.notes("01")
    assert note.title == "Đã khóa: Cử cán bộ đầu mối công nghệ thông tin" and "hết ngày 10/01/2022" in note.message
    assert world.notes("BTP") == []
    closed = world.audited("phase_closed")
    assert sorted(e.unit_key for e in closed) == ["01", "02", "04"] and {e.actor for e in closed} == {"system"}
    world.at(2022, 2, 16, 0, 0, 1)  # the roster's and the self-assessment's deadlines have passed too
    assert close_due(world) == 3 + 5


def test_an_extension_rearms_the_announcement_for_the_new_deadline(world):
    world.at(2022, 1, 11, 0, 0, 5)
    close_due(world)
    change(world, "focal_person", {"closes": "2022-01-12", "unit": "01", "reason": "x"})
    assert close_due(world) == 0
    world.at(2022, 1, 13, 0, 0, 1)
    assert close_due(world) == 1
    assert [n.message.split(" (")[1][:20] for n in world.notes("01") if n.kind == "phase_closed"] == [
        "hết ngày 12/01/2022)", "hết ngày 10/01/2022)"]


def test_a_self_assessment_locked_at_its_deadline_is_said_so(world):
    world.at(2022, 2, 16, 0, 0, 1)
    campaigns.close_due_phases(world.now, world.random_bytes, frozenset({("2021", "BTP")}), stores=world.stores)
    [btp], [other] = world.notes("BTP"), world.notes("UBDT")
    assert "đã được khóa với các điểm đã nhập" in btp.message and "đã được khóa" not in other.message


# -------------------------------------------------------------------------------------------- the focal person

def test_a_province_records_its_focal_person_normalised_and_audited(world):
    view = put_focal(world, "01", {**FOCAL, "email": " CNTT@HaNoi.gov.vn "})
    assert (view["full_name"], view["mobile"], view["email"]) == ("Trần Thị Bình", "0983123456",
                                                                  "cntt@hanoi.gov.vn")
    assert view["updated_at_label"] == "10:00 05/01/2022" and view["updated_by"] == "tinh01"
    assert focal.get(ADMIN, "2021", "01", stores=world.stores) == view
    assert focal.get(unit_actor("02"), "2021", "02", stores=world.stores)["full_name"] is None
    units = campaigns.detail(ADMIN, "2021", world.now, stores=world.stores)["units"]
    assert [u["code"] for u in units if u["focal_person_set"]] == ["01"]
    [entry] = world.audited("focal_person_saved")
    assert entry.details == {"full_name": "Trần Thị Bình", "position": FOCAL["position"],
                             "email": "cntt@hanoi.gov.vn"}


def test_bad_focal_person_fields_are_named_with_vietnamese_reasons(world):
    with pytest.raises(ValidationError) as caught:
        put_focal(world, "01", {"full_name": "", "position": "Chuyên viên", "mobile": "024 3825 1234"})
    by_field = {d["field"]: d["message"] for d in caught.value.details}
    assert by_field["full_name"] == "Vui lòng nhập họ và tên."
    assert "di động không hợp lệ" in by_field["mobile"]
    assert world.stores.campaigns.get_unit("2021", "01").focal_person is None


def test_another_unit_cannot_read_or_write_the_focal_person(world):
    with pytest.raises(ForbiddenError):
        focal.put(unit_actor("02"), "2021", "01", FOCAL, world.now, "s", stores=world.stores)
    with pytest.raises(ForbiddenError, match="không có quyền"):
        focal.get(unit_actor("02"), "2021", "01", stores=world.stores)


# ------------------------------------------------------------------------------------------------ unit kinds

def test_a_provinces_step_refuses_a_ministry_and_its_account(world):
    unit_kinds.require_province_unit(unit_actor("01"), "2021", "01", stores=world.stores)
    unit_kinds.require_province_unit(ADMIN, "2021", "05", stores=world.stores)  # unknown: left to the action
    with pytest.raises(NotFoundError) as caught:
        unit_kinds.require_province_unit(ADMIN, "2021", "BTP", stores=world.stores)
    assert caught.value.code == "wrong_unit_kind" and "Bộ Tư pháp" in caught.value.message
    with pytest.raises(ForbiddenError):
        unit_kinds.require_province_unit(unit_actor("BTP"), "2021", "BTP", stores=world.stores)
    unit_kinds.require_ministry_unit(unit_actor("UBDT"), "2021", "UBDT", stores=world.stores)
    with pytest.raises(NotFoundError):
        unit_kinds.require_ministry_unit(ADMIN, "2021", "02", stores=world.stores)
    assert campaigns.unit_access(unit_actor("BTP"), "2021", "BTP", stores=world.stores).kind == "ministry"
    with pytest.raises(ForbiddenError):
        campaigns.unit_access(unit_actor("BTP"), "2021", "UBDT", stores=world.stores)
