"""The PAR Index results on the in-memory stores: a province's survey points from its answers' tally (the one its
integrity scan kept while the unit's submit counter still matches it, its responses read otherwise, none read where
the counter says there are none), an annulled province out of every aggregate and out of the ministries' points, a
sample under the campaign's minimum flagged, and the workbook, for the ministry only. The answers are written as
dispatch and the survey write them (tests/api/test_results.py and test_ministry_results.py check the whole path on
moto). Nothing here may reach AWS."""
import io

import pytest
from memory_world import ADMIN, World, refuse_aws, unit_actor
from openpyxl import load_workbook

from chalicelib.errors import BadRequestError, ForbiddenError
from chalicelib.services import integrity, results

BEST = lambda person, question: 3  # noqa: E731 - the top option of every single-choice question


@pytest.fixture
def world(monkeypatch):
    refuse_aws(monkeypatch)
    w = World()
    w.at(2022, 1, 20, 9)
    w.answered("01", 12, pick=BEST)
    w.answered("02", 4, pick=lambda person, question: (7 * person + 3 * question) % 4)
    w.later(days=1)
    return w


def by_unit(data: dict) -> dict[str, dict]:
    return {row["unit"]: row for row in data["units"]}


def reads_of_responses(world, monkeypatch) -> list[str]:
    """The units whose responses the results read (rather than their scan's tally)."""
    read: list[str] = []
    store = world.stores.integrity
    original = store.response_scores
    monkeypatch.setattr(store, "response_scores", lambda unit_key: read.append(unit_key) or original(unit_key))
    return read


def test_a_units_survey_points_come_from_its_answers_tally_kept_by_the_scan(world, monkeypatch):
    read = reads_of_responses(world, monkeypatch)
    first = results.results(ADMIN, "2021", stores=world.stores)
    # no scan yet: every province's responses, but 04's, whose submit counter says it has none to read
    assert sorted(read) == ["2021#01", "2021#02"] and by_unit(first)["04"]["survey"]["responses"] == 0
    rows = by_unit(first)
    assert (rows["01"]["parts"]["survey"], rows["01"]["responses"], rows["01"]["index"]) == (
        {"points": 22.7, "max": 23}, 12, 22.7)  # the top single choices, one tick on each multiple choice
    assert (rows["02"]["parts"]["survey"]["points"], rows["02"]["index"]) == (14.23, 14.23)
    assert [(r["unit"], r["rank"]) for r in first["units"]] == [("01", 1), ("02", 2), ("04", 3)]
    integrity.run_scan(ADMIN, "2021", world.now, world.random_bytes, stores=world.stores)
    read.clear()
    again = results.results(ADMIN, "2021", stores=world.stores)
    assert read == []  # the tallies the scan kept, while the submit counters match them
    assert [(r["unit"], r["index"], r["parts"]) for r in again["units"]] == [
        (r["unit"], r["index"], r["parts"]) for r in first["units"]]
    risk = by_unit(again)["01"]["integrity"]
    assert (risk["score"], risk["level"], risk["flagged"], risk["flags"]) == (20, "medium", False, 1)  # straight-lined
    world.answered("02", 1, pick=BEST)  # a fifth answer in 02 (over the first respondent's link) since the scan
    after = by_unit(results.results(ADMIN, "2021", stores=world.stores))
    assert read == ["2021#02"] and after["02"]["survey"]["responses"] == 5


def test_an_annulled_province_leaves_every_aggregate_and_the_ministries_points(world):
    world.answered("01", 3, qid="ministry-2", ministry="BTP", pick=lambda person, question: 4)
    world.answered("02", 2, qid="ministry-2", ministry="BTP", pick=lambda person, question: 2)
    before = results.results(ADMIN, "2021", stores=world.stores)
    assert (before["average"], before["average_units"]) == (round((22.7 + 14.23) / 2, 2), 2)
    btp = by_unit(results.results(ADMIN, "2021", "ministry", stores=world.stores))["BTP"]
    assert btp["survey"] == {"responses": 5, "provinces": 2, "cancelled": 0, "small_sample": True}
    integrity.annul(ADMIN, "2021", "02", "Trả lời thay", world.now, world.random_bytes, stores=world.stores)
    data = results.results(ADMIN, "2021", stores=world.stores)
    two = by_unit(data)["02"]
    assert (two["annulled"], two["parts"]["survey"]["points"], two["responses"], two["index"], two["has_data"]) == (
        True, 0, 0, 0, False)
    assert two["survey"]["responses"] == 4  # the answers it had are still shown, apart from its points
    assert (data["average"], data["average_units"]) == (22.7, 1)  # the annulled province is in no average
    ministries = results.results(ADMIN, "2021", "ministry", stores=world.stores)
    btp = by_unit(ministries)["BTP"]
    assert btp["survey"] == {"responses": 3, "provinces": 1, "cancelled": 2, "small_sample": True}
    assert btp["parts"]["survey"]["points"] == 36 and btp["annulled"] is False  # only 01's best answers count
    integrity.reinstate(ADMIN, "2021", "02", "Đã xác minh", world.now, world.random_bytes, stores=world.stores)
    assert results.results(ADMIN, "2021", stores=world.stores)["average"] == before["average"]


def test_a_sample_under_the_campaigns_minimum_is_flagged_small(world):
    data = results.results(ADMIN, "2021", stores=world.stores)
    assert data["min_responses"] == 10
    rows = by_unit(data)
    assert rows["01"]["survey"] == {"responses": 12, "forms": 12, "rate": 100.0, "small_sample": False}
    assert rows["02"]["survey"] == {"responses": 4, "forms": 4, "rate": 100.0, "small_sample": True}
    assert rows["04"]["survey"] == {"responses": 0, "forms": 0, "rate": None, "small_sample": True}
    assert (rows["04"]["has_data"], rows["04"]["integrity"]) == (False, None)  # nothing to compute, never scanned


def test_only_the_ministry_reads_the_results_and_the_workbook_has_both_kinds(world):
    for actor in (unit_actor("01"), unit_actor("BTP")):
        with pytest.raises(ForbiddenError):
            results.results(actor, "2021", stores=world.stores)
        with pytest.raises(ForbiddenError):
            results.export(actor, "2021", world.now, world.random_bytes, stores=world.stores)
    with pytest.raises(BadRequestError):
        results.results(ADMIN, "2021", "district", stores=world.stores)
    export = results.export(ADMIN, "2021", world.now, world.random_bytes, stores=world.stores)
    assert export["filename"] == "ket-qua-chi-so-cchc-2021.xlsx" and export["expires_in"] == 900
    book = load_workbook(io.BytesIO(world.stores.files.fetch(export["url"])))
    assert book.sheetnames[0] == "Tổng hợp" and "Tổng hợp các bộ" in book.sheetnames
    cells = [c for row in book["Tổng hợp"].iter_rows(values_only=True) for c in row]
    assert "Hà Nội" in cells and 22.7 in cells
