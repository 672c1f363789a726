"""Address-change requests on the in-memory stores: the ministry's decision on a pending request (once, by one
official), what each side is told, and the views of a unit's and a campaign's changes. The re-issue of links that
a direct correction makes through dispatch is tests/unit/test_dispatch_services.py's; filing a request and approving
it stay with tests/api/test_address_changes.py on moto. Nothing here may reach AWS."""
from msgspec.structs import replace
from datetime import datetime, timedelta, timezone

import pytest
from memory_world import ADMIN, World, refuse_aws, unit_actor

from chalicelib.domain import address_changes as rules
from chalicelib.errors import ConflictError, ForbiddenError, NotFoundError, PhaseClosedError, ValidationError
from chalicelib.services import address_changes
from chalicelib.store.address_changes import AddressChange


@pytest.fixture
def world(monkeypatch):
    refuse_aws(monkeypatch)
    w = World()
    w.at(2022, 1, 20, 9)  # the survey is running
    return w


def filed(world, unit="01", rid="000001-aa", minutes=0, kind="request") -> AddressChange:
    """A request as `request_change` stores it (its dispatch checks are the API tests')."""
    at = world.now - timedelta(minutes=minutes)
    change = AddressChange(cid="2021", unit=unit, id=rules.new_id(at, world.random_bytes(4).hex()), kind=kind,
                           state="pending" if kind == "request" else "done", rid=rid, full_name="Nguyễn Văn An",
                           old_email="an@hanoi.gov.vn", new_email="an.nv@hanoi.gov.vn", requested_by="tinh01",
                           requested_at=at, reason="Chuyển công tác" if kind == "request" else None,
                           links=[{"slot": "locality-1", "purpose": "locality", "state": "delivered",
                                   "sent_at": "2022-01-16T02:00:00Z", "opened_at": None}])
    if kind == "request":
        assert world.stores.address_changes.add_request(change)
    else:
        world.stores.address_changes.add_correction(change)
    return change


def refuse(world, change, reason="Không có căn cứ", actor=ADMIN) -> dict:
    return address_changes.refuse(actor, "2021", change.unit, change.id, {"reason": reason}, world.now,
                                  world.random_bytes, stores=world.stores)


def test_the_ministry_refuses_a_request_once_with_a_reason_and_the_province_is_told(world):
    change = filed(world)
    with pytest.raises(ValidationError, match="lý do"):
        refuse(world, change, reason="  ")
    with pytest.raises(ForbiddenError):
        refuse(world, change, actor=unit_actor("01"))
    refused = refuse(world, change)
    assert (refused["state"], refused["state_name"], refused["decided_by"], refused["decision_note"]) == (
        "refused", "Bộ Nội vụ không đồng ý", "admin", "Không có căn cứ")
    assert refused["decided_at_label"] == "09:00 20/01/2022" and refused["unit_name"] == "Thành phố Hà Nội"
    assert refused["old"] != refused["new"] and "an@hanoi.gov.vn" not in str(refused)  # addresses masked
    with pytest.raises(ConflictError) as again:
        refuse(world, change)
    assert again.value.code == "email_change_decided"
    with pytest.raises(ConflictError):
        address_changes.approve(ADMIN, "2021", "01", change.id, {}, world.now, world.random_bytes,
                                stores=world.stores)
    [note] = world.notes("01")
    assert note.title == "Bộ Nội vụ không đồng ý đổi email" and "Không có căn cứ" in note.message
    [entry] = world.audited("email_change_refused")
    assert entry.details["change"] == change.id and "an@hanoi.gov.vn" not in str(entry.details)
    next_one = replace(change, id=rules.new_id(world.now, "0000abcd"))
    assert world.stores.address_changes.add_request(next_one)  # the respondent may be asked about again


def test_an_unknown_or_malformed_request_is_not_found(world):
    for change_id in ("20220120T020000Z-deadbeef", "../x", ""):
        with pytest.raises(NotFoundError, match="Không tìm thấy đề nghị"):
            address_changes.refuse(ADMIN, "2021", "01", change_id, {"reason": "x"}, world.now, world.random_bytes,
                                   stores=world.stores)
    correction = filed(world, kind="correction")
    with pytest.raises(NotFoundError):  # a correction is not a request to decide
        refuse(world, correction)


def test_a_request_is_decided_only_while_the_survey_runs(world):
    change = filed(world)
    world.at(2022, 2, 21)
    with pytest.raises(PhaseClosedError):
        refuse(world, change)
    assert world.stores.address_changes.get("2021", "01", change.id).state == "pending"


def test_an_approval_note_is_bounded_before_anything_changes(world):
    change = filed(world)
    with pytest.raises(ValidationError, match="Ghi chú dài tối đa 500"):
        address_changes.approve(ADMIN, "2021", "01", change.id, {"note": "x" * 501}, world.now, world.random_bytes,
                                stores=world.stores)
    assert world.stores.address_changes.get("2021", "01", change.id).state == "pending"


def test_a_units_changes_are_listed_newest_first_and_the_campaigns_pending_first(world):
    older = filed(world, minutes=30)
    correction = filed(world, rid="000002-aa", minutes=20, kind="correction")
    other = filed(world, unit="02", rid="000005-aa", minutes=10)
    newest = filed(world, rid="000003-aa")
    refuse(world, older)
    mine = address_changes.of_unit(unit_actor("01"), "2021", "01", stores=world.stores)
    assert [i["id"] for i in mine["items"]] == [newest.id, correction.id, older.id] and mine["pending"] == 1
    assert [i["kind_name"] for i in mine["items"]] == ["Đề nghị đổi email", "Sửa email (thư không đến được)",
                                                       "Đề nghị đổi email"]
    assert [i["id"] for i in address_changes.of_unit(ADMIN, "2021", "01", "refused",
                                                     stores=world.stores)["items"]] == [older.id]
    with pytest.raises(ForbiddenError):
        address_changes.of_unit(unit_actor("02"), "2021", "01", stores=world.stores)
    with pytest.raises(ValidationError, match="Trạng thái lọc"):
        address_changes.of_unit(ADMIN, "2021", "01", "lost", stores=world.stores)
    everything = address_changes.of_campaign(ADMIN, "2021", stores=world.stores)
    assert [i["id"] for i in everything["items"]] == [newest.id, other.id, correction.id, older.id]
    assert everything["pending"] == 2 and everything["items"][1]["unit_name"] == "Tỉnh Hà Giang"
    with pytest.raises(ForbiddenError):
        address_changes.of_campaign(unit_actor("01"), "2021", stores=world.stores)


def test_the_integrity_rule_reads_a_units_requests_only(world):
    change = filed(world, minutes=5)
    filed(world, rid="000002-aa", kind="correction")
    refuse(world, change)
    [facts] = address_changes.integrity_facts("2021", "01", stores=world.stores)["01"]
    assert address_changes.integrity_facts("2021", stores=world.stores) == {"01": [facts]}
    assert (facts.change, facts.state, facts.links, facts.reissued) == (change.id, "refused", ("locality-1",), ())
    assert facts.requested_at == datetime(2022, 1, 20, 1, 55, tzinfo=timezone.utc)
    assert facts.decided_at == world.now
