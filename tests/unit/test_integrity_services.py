"""Integrity on the in-memory stores: a scan flags the province whose answers came from its own account's address,
too fast and straight-lined, and leaves an honest one and one without links at 0; a unit is scanned again only when
its counters moved, and the schedule scans while the survey is open and for a week after; only the ministry reviews,
exports, annuls (with a reason, once) and reinstates (only what is annulled). The answers are written as dispatch and
the survey write them (tests/api/test_integrity.py checks the whole path on moto). Nothing here may reach AWS."""
import io
from msgspec.structs import replace

import pytest
from memory_world import ADMIN, World, refuse_aws, unit_actor
from openpyxl import load_workbook

from chalicelib.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from chalicelib.services import audit, integrity

OFFICE = "203.0.113.7"  # the address province 01's account logged in from


@pytest.fixture
def world(monkeypatch):
    refuse_aws(monkeypatch)
    w = World()
    w.at(2022, 1, 20, 9)  # the survey is open
    audit.record(replace(unit_actor("01"), source_ip=OFFICE), "login", w.now, suffix=w.suffix(), stores=w.stores)
    w.answered("01", 6, pick=lambda person, question: 3, ip=lambda person: OFFICE, seconds=20)
    w.answered("02", 4, pick=lambda person, question: (7 * person + 3 * question) % 4)
    w.later(days=1)
    return w


def scan(world, actor=ADMIN) -> dict:
    return integrity.run_scan(actor, "2021", world.now, world.random_bytes, stores=world.stores)


def test_a_scan_flags_answers_from_the_province_account_too_fast_and_straight_lined(world):
    review = scan(world)
    assert review["scanned"] == 3 and review["thresholds"]
    assert [(u["unit"], u["name"], u["score"], u["flagged"], [f["rule"] for f in u["flags"]], u["submitted"],
             u["responses"]) for u in review["units"]] == [
        ("01", "Hà Nội", 90, True, ["province_ip", "too_fast", "straight_lining"], 6, 6),
        ("02", "Hà Giang", 0, False, [], 4, 4),
        ("04", "Cao Bằng", 0, False, [], 0, 0)]  # no link at all: recorded as scanned, nothing read
    office = review["units"][0]["flags"][0]
    assert OFFICE in office["summary"] and {e["address"] for e in office["evidence"]} == {OFFICE}
    assert [e.details for e in world.audited("integrity_scanned")] == [{"units_scanned": 3}]
    kept = {s.unit: s for s in world.stores.integrity.by_campaign("2021")}
    assert (kept["01"].score_counts["n"], kept["02"].score_counts["n"], kept["04"].score_counts["n"]) == (6, 4, 0)
    assert integrity.review(ADMIN, "2021", stores=world.stores)["units"] == review["units"]


def test_a_unit_is_scanned_again_only_when_its_counters_moved(world):
    assert scan(world)["scanned"] == 3
    world.later(hours=1)
    assert scan(world)["scanned"] == 0
    world.stores.links.add_counts("2021#02", {"all": {"opened": 1}})  # someone in 02 opened a link
    world.later(hours=1)
    assert scan(world)["scanned"] == 1
    assert {s.unit: s.scanned_at for s in world.stores.integrity.by_campaign("2021")}["02"] == world.now
    assert integrity.scan_unit("2021", "01", world.now, stores=world.stores) is None
    forced = integrity.scan_unit("2021", "01", world.now, force=True, stores=world.stores)
    assert forced is not None and forced.score == 90


def test_the_schedule_scans_while_the_survey_is_open_and_for_a_week_after(world):
    world.at(2022, 1, 12, 9)  # before the survey opens
    assert integrity.scheduled_scan(world.now, stores=world.stores) == 0
    assert world.stores.integrity.by_campaign("2021") == []
    world.at(2022, 2, 27, 9)  # closed 21/02 00:00, six days and nine hours ago
    assert integrity.scheduled_scan(world.now, stores=world.stores) == 3
    world.stores.links.add_counts("2021#01", {"all": {"opened": 1}})
    world.at(2022, 2, 28, 9)  # more than a week after
    assert integrity.scheduled_scan(world.now, stores=world.stores) == 0


def test_only_the_ministry_reviews_scans_and_exports_the_evidence(world):
    for actor in (unit_actor("01"), unit_actor("BTP")):
        with pytest.raises(ForbiddenError):
            scan(world, actor)
        with pytest.raises(ForbiddenError):
            integrity.review(actor, "2021", stores=world.stores)
        with pytest.raises(ForbiddenError):
            integrity.export(actor, "2021", world.now, world.random_bytes, stores=world.stores)
    assert world.stores.integrity.by_campaign("2021") == [] and world.audited("integrity_scanned") == []
    with pytest.raises(NotFoundError):
        integrity.review(ADMIN, "2099", stores=world.stores)
    scan(world)
    export = integrity.export(ADMIN, "2021", world.now, world.random_bytes, stores=world.stores)
    assert export["filename"] == "ra-soat-can-thiep-2021.xlsx" and export["expires_in"] == 900
    book = load_workbook(io.BytesIO(world.stores.files.fetch(export["url"])))
    cells = [c for row in book["Đơn vị"].iter_rows(values_only=True) for c in row]
    assert "Hà Nội" in cells and "Cao Bằng" in cells


def annul(world, unit="01", reason="Một người trả lời thay nhiều người", actor=ADMIN) -> dict:
    return integrity.annul(actor, "2021", unit, reason, world.now, world.random_bytes, stores=world.stores)


def reinstate(world, unit="01", reason="Đã xác minh lại", actor=ADMIN) -> dict:
    return integrity.reinstate(actor, "2021", unit, reason, world.now, world.random_bytes, stores=world.stores)


def test_annulment_needs_a_reason_is_done_once_and_only_what_is_annulled_is_reinstated(world):
    for reason in ("", "   ", None, 5, "x" * 1001):
        with pytest.raises(ValidationError) as refused:
            annul(world, reason=reason)
        assert refused.value.details[0]["field"] == "reason"
    with pytest.raises(ConflictError) as refused:
        reinstate(world)
    assert refused.value.message == "Kết quả khảo sát của Thành phố Hà Nội không bị hủy."
    done = annul(world)
    assert done == {"unit": "01", "annulled": True, "annulled_at": "2022-01-21T02:00:00Z", "annulled_by": "admin",
                    "reason": "Một người trả lời thay nhiều người"}
    with pytest.raises(ConflictError) as refused:
        annul(world, reason="Lần hai")
    assert refused.value.message == "Kết quả khảo sát của Thành phố Hà Nội đã bị hủy trước đó."
    assert integrity.status("2021", "01", stores=world.stores) == done  # the first annulment stays
    assert [(e.unit_key, e.details) for e in world.audited("survey_annulled")] == [
        ("01", {"reason": "Một người trả lời thay nhiều người"})]
    told = world.notes("01")[0]
    assert (told.kind, told.title) == ("survey_annulled", "Hủy kết quả khảo sát")
    assert "Thành phố Hà Nội" in told.message and told.message.endswith("Lý do: Một người trả lời thay nhiều người")
    assert world.notes("moha")[0].kind == "survey_annulled"
    scan(world)
    listed = integrity.review(ADMIN, "2021", stores=world.stores)["units"][0]
    assert (listed["unit"], listed["annulled"], listed["annul_reason"]) == ("01", True, done["reason"])
    back = reinstate(world)
    assert back == {"unit": "01", "annulled": False, "annulled_at": None, "annulled_by": None, "reason": None}
    assert world.notes("01")[0].title == "Khôi phục kết quả khảo sát"
    assert [e.details for e in world.audited("survey_reinstated")] == [{"reason": "Đã xác minh lại"}]
    with pytest.raises(ConflictError):
        reinstate(world)
    with pytest.raises(NotFoundError):
        annul(world, unit="99")


@pytest.mark.parametrize("moment", [(2022, 1, 12, 9), (2022, 2, 10, 9), (2022, 6, 1, 9)],
                         ids=["before-the-survey", "survey-open", "every-phase-closed"])
def test_annulment_is_the_ministrys_alone_in_every_phase(world, moment):
    world.at(*moment)
    for actor in (unit_actor("01"), unit_actor("02"), unit_actor("BTP")):
        with pytest.raises(ForbiddenError):
            annul(world, actor=actor)
        with pytest.raises(ForbiddenError):
            reinstate(world, actor=actor)
    assert world.stores.campaigns.get_unit("2021", "01").annulled_at is None
    assert annul(world)["annulled"] is True  # no phase closes it: interference may come to light late
    with pytest.raises(ForbiddenError):
        reinstate(world, actor=unit_actor("01"))
    assert reinstate(world)["annulled"] is False
