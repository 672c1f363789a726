"""Survey progress on the in-memory stores: a province's totals and respondents with each link's status (who has
answered, never what), the ministry's national view with annulled units left out of every aggregate, an assessed
ministry's managing-ministry counts, and the workbooks. The links and counters are written here as dispatch and the
survey write them (tests/api/test_progress.py checks the whole path on moto). Nothing here may reach AWS."""
import io
from datetime import datetime, timezone

import pytest
from memory_world import ADMIN, World, refuse_aws, unit_actor
from openpyxl import load_workbook

from chalicelib.errors import ForbiddenError, ValidationError
from chalicelib.services import integrity, progress
from chalicelib.store.links import Link, ministry_counter

PROVINCE = unit_actor("01")
T = datetime(2022, 1, 16, 2, 0, tzinfo=timezone.utc)
SUBMITTED = datetime(2022, 1, 20, 23, 30, tzinfo=timezone.utc)  # 06:30 on 21/01/2022 in Vietnam


def link(unit, rid, purpose, group, state, name, email, **changes) -> Link:
    return Link(unit_key=f"2021#{unit}", slot=f"{rid}#{purpose}", rid=rid, purpose=purpose, qid=f"{purpose}-{group}",
                q_version=1, group=group, email=email, full_name=name, state=state, issued_at=T, updated_at=T,
                agency=changes.pop("agency", "Sở Nội vụ"), position="Phó Giám đốc",
                sent_at=T if state != "issued" else None, **changes)


@pytest.fixture
def world(monkeypatch):
    refuse_aws(monkeypatch)
    w = World()
    w.at(2022, 1, 25, 9)
    links = w.stores.links
    links.write_issued([
        link("01", "000001-aa", "locality", "1", "submitted", "Nguyễn Văn An", "an@hanoi.gov.vn",
             submitted_at=SUBMITTED, opened_at=SUBMITTED, agency="HĐND thành phố"),
        link("01", "000002-bb", "locality", "2", "sent", "Trần Thị Bình", "binh@hanoi.gov.vn"),
        link("01", "000002-bb", "ministry", "2", "opened", "Trần Thị Bình", "binh@hanoi.gov.vn", ministry="BTP",
             opened_at=T),
        link("01", "000003-cc", "locality", "2", "issued", "Lê Văn Cường", "cuong@gmail.com"),
        link("01", "000004-dd", "locality", "4", "bounced", "Phạm Thị Dung", "dung@hanoi.gov.vn",
             problem="Địa chỉ không tồn tại", delivery="bounced"),
    ], [])
    links.add_counts("2021#01", {"all": {"issued": 1, "sent": 1, "opened": 1, "submitted": 1, "bounced": 1},
                                 "1#locality": {"submitted": 1}, "2#locality": {"sent": 1, "issued": 1},
                                 "2#ministry": {"opened": 1}, "4#locality": {"bounced": 1}})
    links.add_counts("2021#02", {"all": {"issued": 1, "submitted": 3}})
    for province, group, asked, answered in (("01", "2", 2, 1), ("02", "3", 3, 3)):
        unit_key, key = ministry_counter("2021", "BTP", province, group)
        links.add_counts(unit_key, {key: {"asked": asked, "answered": answered}})
    return w


def annul(world, unit):
    integrity.annul(ADMIN, "2021", unit, "Kết quả bất thường", world.now, world.random_bytes, stores=world.stores)


def people(world, **filters) -> list[str]:
    page = progress.unit_progress(PROVINCE, "2021", "01", stores=world.stores, **filters)
    return [p["rid"] for p in page["people"]]


def test_a_provinces_progress_counts_every_link_by_state_group_and_questionnaire(world):
    page = progress.unit_progress(PROVINCE, "2021", "01", stores=world.stores)
    totals = page["totals"]
    assert (totals["total"], totals["submitted"], totals["opened"], totals["opened_unsent"], totals["mailed"],
            totals["bounced"], totals["rate"]) == (5, 1, 2, 1, 3, 1, 20.0)
    assert [(g["group"], g["purpose"], g["total"]) for g in page["by_group"]] == [
        ("1", "locality", 1), ("2", "locality", 2), ("2", "ministry", 1), ("4", "locality", 1)]
    assert page["by_group"][0]["group_name"] == "Đại biểu HĐND cấp tỉnh"
    assert page["by_day"] == [{"date": "2022-01-21", "label": "21/01/2022", "submitted": 1}]
    assert (page["people_total"], page["matched"], page["unit"]["name"]) == (4, 4, "Hà Nội")
    binh = page["people"][1]
    assert [(x["purpose"], x["state"]) for x in binh["links"]] == [("locality", "sent"), ("ministry", "opened")]
    assert binh["group_name"] == "Lãnh đạo cấp sở" and "answers" not in str(binh)
    dung = page["people"][3]["links"][0]
    assert (dung["problem"], dung["delivery_name"]) == ("Địa chỉ không tồn tại", "Bị trả lại")
    assert progress.unit_progress(PROVINCE, "2021", "01", people=False, stores=world.stores).keys() == \
        {"campaign", "unit", "roster_status", "annulled", "totals", "by_group"}


@pytest.mark.parametrize("filters, expected", [
    ({"status": "submitted"}, ["000001-aa"]),
    ({"status": "not_sent"}, ["000003-cc"]),
    ({"status": "opened"}, ["000002-bb"]),
    ({"status": "bounced"}, ["000004-dd"]),
    ({"status": "pending"}, ["000002-bb", "000003-cc", "000004-dd"]),
    ({"group": "2"}, ["000002-bb", "000003-cc"]),
    ({"agency": "hdnd"}, ["000001-aa"]),
    ({"search": "CUONG"}, ["000003-cc"]),
    ({"search": "gmail"}, ["000003-cc"]),
    ({"limit": 2, "offset": 1}, ["000002-bb", "000003-cc"]),
])
def test_respondents_are_filtered_and_paged(world, filters, expected):
    assert people(world, **filters) == expected


def test_a_province_reads_its_own_progress_only_and_filters_are_checked(world):
    with pytest.raises(ForbiddenError):
        progress.unit_progress(unit_actor("02"), "2021", "01", stores=world.stores)
    with pytest.raises(ValidationError) as refused:
        progress.unit_progress(PROVINCE, "2021", "01", status="answered", stores=world.stores)
    assert refused.value.details == [{"field": "status"}]
    assert progress.unit_progress(ADMIN, "2021", "01", stores=world.stores)["totals"]["total"] == 5


def test_the_national_view_leaves_annulled_units_out_of_every_aggregate(world):
    view = progress.national(ADMIN, "2021", stores=world.stores)
    assert [(u["code"], u["total"], u["rate"]) for u in view["units"]] == [("01", 5, 20.0), ("02", 4, 75.0),
                                                                          ("04", 0, 0.0)]
    assert (view["totals"]["total"], view["totals"]["submitted"], view["average"]) == \
        (9, 4, {"rate": 47.5, "units": 2})  # 04 sent nothing: no rate, not a rate of 0
    assert [(m["code"], m["asked"], m["answered"], m["rate"]) for m in view["ministries"]] == [
        ("BTP", 5, 4, 80.0), ("UBDT", 0, 0, 0.0)]
    annul(world, "02")
    view = progress.national(ADMIN, "2021", sort="rate", stores=world.stores)
    assert [u["code"] for u in view["units"]] == ["02", "01", "04"] and view["units"][0]["annulled"] is True
    assert (view["totals"]["total"], view["totals"]["rate"], view["average"]) == (5, 20.0, {"rate": 20.0, "units": 1})
    assert view["ministries"][0]["asked"] == 2 and view["ministries"][0]["answered"] == 1
    with pytest.raises(ForbiddenError):
        progress.national(PROVINCE, "2021", stores=world.stores)
    with pytest.raises(ValidationError):
        progress.national(ADMIN, "2021", sort="email", stores=world.stores)


def test_an_assessed_ministry_sees_counts_per_province_and_group_only(world):
    annul(world, "02")
    view = progress.ministry_survey(unit_actor("BTP"), "2021", "BTP", stores=world.stores)
    assert (view["name"], view["asked"], view["answered"], view["rate"]) == ("Bộ Tư pháp", 2, 1, 50.0)
    assert [(p["unit"], p["name"], p["annulled"], p["asked"], p["answered"]) for p in view["provinces"]] == [
        ("01", "Hà Nội", False, 2, 1), ("02", "Hà Giang", True, 3, 3)]
    assert view["provinces"][0]["groups"] == [{"group": "2", "name": "Lãnh đạo cấp sở", "asked": 2, "answered": 1},
                                              {"group": "3", "name": "Lãnh đạo cấp phòng thuộc sở", "asked": 0,
                                               "answered": 0}]
    assert "email" not in str(view) and "full_name" not in str(view["provinces"])
    with pytest.raises(ForbiddenError):
        progress.ministry_survey(PROVINCE, "2021", "BTP", stores=world.stores)


def test_the_workbooks_are_kept_and_their_links_download_them(world):
    export = progress.unit_export(PROVINCE, "2021", "01", world.now, world.random_bytes, stores=world.stores)
    assert export["filename"] == "tien-do-khao-sat-2021-01.xlsx" and export["expires_in"] == 900
    book = load_workbook(io.BytesIO(world.stores.files.fetch(export["url"])))
    names = [row[1] for row in book["Chi tiết"].iter_rows(min_row=2, values_only=True)]
    assert names == ["Nguyễn Văn An", "Trần Thị Bình", "Trần Thị Bình", "Lê Văn Cường", "Phạm Thị Dung"]  # a row a link
    export = progress.national_export(ADMIN, "2021", world.now, world.random_bytes, stores=world.stores)
    book = load_workbook(io.BytesIO(world.stores.files.fetch(export["url"])))
    assert {"Toàn quốc", "Bộ, ngành"} <= set(book.sheetnames)
    assert "Hà Nội" in [c for row in book["Toàn quốc"].iter_rows(values_only=True) for c in row]
    with pytest.raises(ForbiddenError):
        progress.national_export(PROVINCE, "2021", world.now, world.random_bytes, stores=world.stores)
