"""The roster on the in-memory stores: import (all or nothing, repeatable, merge or replace), the error workbook,
review with filters and pages, single-row changes, sending and reopening, and the deadline; the rules
tests/api/test_roster_import.py and test_roster_review.py check through the API on moto, here in milliseconds.
Nothing here may reach AWS."""
import io

import pytest
from builders import person, roster_workbook
from memory_world import ADMIN, World, refuse_aws, unit_actor
from openpyxl import load_workbook

from chalicelib.errors import ConflictError, ForbiddenError, NotFoundError, PhaseClosedError, ValidationError
from chalicelib.services import roster
from chalicelib.store.roster import respondent

PROVINCE = unit_actor("01")
NEW = {"full_name": "Phạm Thị Dung", "position": "Trưởng phòng", "agency": "Phòng Tổ chức, Sở Nội vụ",
       "group": "3", "email": "dung.pt@hagiang.gov.vn", "phone": "0987654321"}


@pytest.fixture
def world(monkeypatch):
    refuse_aws(monkeypatch)
    w = World()
    w.at(2022, 1, 10, 9)  # the roster phase is open
    return w


def upload(world, rows, mode="merge", actor=PROVINCE, unit="01") -> dict:
    return roster.import_workbook(actor, "2021", unit, roster_workbook(rows), mode, world.now, world.random_bytes,
                                  stores=world.stores)


def listing(world, actor=PROVINCE, unit="01", *, group=None, search=None, limit=500, cursor=None) -> dict:
    return roster.listing(actor, "2021", unit, group=group, search=search, limit=limit, cursor=cursor,
                          stores=world.stores)


def add(world, body, actor=PROVINCE) -> dict:
    return roster.add_row(actor, "2021", "01", body, world.now, world.random_bytes, stores=world.stores)


def submit(world, actor=PROVINCE, unit="01") -> dict:
    return roster.submit(actor, "2021", unit, world.now, world.random_bytes, stores=world.stores)


def reopen(world, reason, actor=ADMIN) -> dict:
    return roster.reopen(actor, "2021", "01", reason, world.now, world.random_bytes, stores=world.stores)


def stored_rows(world, unit="01") -> list:
    unit_item = world.stores.campaigns.get_unit("2021", unit)
    return world.stores.roster.rows("2021", unit, unit_item.roster_gen)


def twelve(world) -> dict:
    rows = [person(i, group=str(1 + i % 4), agency="Sở Y tế" if i % 4 in (1, 2) else "UBND huyện")
            for i in range(1, 13)]
    return upload(world, rows)


# ------------------------------------------------------------------------------------------------ import

def test_a_clean_import_stores_every_row_with_its_questionnaires_and_ministry(world):
    done = upload(world, [person(1, group="1", agency="HĐND tỉnh Hà Giang"), person(2, agency="Sở Tư pháp"),
                          person(3, group="3", agency="Phòng Kế toán, Sở Tài chính"),
                          person(4, group="4", agency="UBND huyện Bắc Mê"), person(5, agency="Sở Y tế")])
    assert (done["accepted"], done["rejected"], done["added"], done["total"]) == (5, 0, 5, 5)
    listed = listing(world)
    assert [c["count"] for c in listed["counts"]] == [1, 2, 1, 1] and listed["status"] == "draft"
    by_email = {i["email"]: i for i in listed["items"]}
    justice, health = by_email["nguoi2@hagiang.gov.vn"], by_email["nguoi5@hagiang.gov.vn"]
    # the Ministry of Justice is assessed in this campaign: its departments' leaders also answer about it
    assert (justice["ministry"], justice["ministry_unit"], justice["questionnaires"]) == (
        "Bộ Tư pháp", "BTP", ["locality", "ministry"])
    assert (health["ministry"], health["ministry_unit"], health["questionnaires"]) == ("Bộ Y tế", None, ["locality"])
    assert by_email["nguoi3@hagiang.gov.vn"]["ministry"] == "Bộ Tài chính"
    assert by_email["nguoi1@hagiang.gov.vn"]["questionnaires"] == ["locality"]
    assert [i["email"] for i in listed["items"]] == [f"nguoi{i}@hagiang.gov.vn" for i in range(1, 6)]
    [entry] = world.audited("roster_imported")
    assert entry.details["added"] == 5 and entry.details["total"] == 5


def test_importing_the_same_file_twice_gives_the_same_roster(world):
    rows = [person(i) for i in range(1, 6)]
    upload(world, rows)
    rids = [i["rid"] for i in listing(world)["items"]]
    again = upload(world, rows)
    assert (again["added"], again["unchanged"], again["total"]) == (0, 5, 5)
    assert [i["rid"] for i in listing(world)["items"]] == rids
    unit = world.stores.campaigns.get_unit("2021", "01")
    assert len(stored_rows(world)) == 5 and unit.roster_version == 2 and unit.roster_pending is None


def test_merge_adds_and_updates_while_replace_drops_who_is_not_in_the_file(world):
    upload(world, [person(1), person(2)])
    merged = upload(world, [person(2, position="Giám đốc"), person(3)])
    assert (merged["added"], merged["updated"], merged["total"]) == (1, 1, 3)
    replaced = upload(world, [person(3)], mode="replace")
    assert (replaced["removed"], replaced["total"]) == (2, 1)
    assert [r.email for r in stored_rows(world)] == ["nguoi3@hagiang.gov.vn"]
    with pytest.raises(ValidationError, match="Chế độ nhập"):
        upload(world, [person(3)], mode="append")


def test_one_bad_row_rejects_the_whole_file_and_offers_a_marked_error_workbook(world):
    rows = [person(1), person(2, email="khong-phai-email"), person(3, group="9", phone="12345"), person(4)]
    with pytest.raises(ValidationError) as caught:
        upload(world, rows)
    extra = caught.value.extra
    assert (extra["accepted"], extra["rejected"]) == (0, 2) and "chưa lưu dòng nào" in caught.value.message
    assert {(e["row"], e["column"]) for e in extra["errors"]} == {(3, "Email"), (4, "Nhóm đối tượng"),
                                                                 (4, "Số điện thoại")}
    assert stored_rows(world) == [] and listing(world)["total"] == 0
    sheet = load_workbook(io.BytesIO(world.stores.files.fetch(extra["error_workbook_url"])))["Danh sách"]
    assert sheet["F3"].value == "khong-phai-email" and sheet["J3"].value.startswith("Dòng 3: [Email]")
    assert sheet.max_row == 5
    [entry] = world.audited("roster_import_rejected")
    assert entry.details == {"rows": 4, "rejected": 2}


def test_rows_of_an_import_that_died_before_its_swap_are_invisible_and_swept_by_the_next(world):
    upload(world, [person(1)])
    world.stores.roster.begin_generation("2021", "01", "gdead")  # a Lambda killed between its rows and the swap
    world.stores.roster.write_generation([respondent("2021", "01", "gdead", f"{i:06d}-dead", {
        "full_name": "Người Dở Dang", "position": "x", "agency": "x", "group": "2", "email": f"d{i}@x.vn",
        "questionnaires": ["locality"]}, world.now) for i in range(30)])
    assert listing(world)["total"] == 1 and len(listing(world)["items"]) == 1
    upload(world, [person(1), person(2)])
    assert world.stores.roster.rows("2021", "01", "gdead") == []
    assert world.stores.campaigns.get_unit("2021", "01").roster_pending is None and listing(world)["total"] == 2


def test_an_import_racing_another_change_is_refused_and_leaves_no_rows(world, monkeypatch):
    upload(world, [person(1)])
    stale = world.stores.campaigns.get_unit("2021", "01")
    add(world, NEW)  # lands after the import read the roster
    with monkeypatch.context() as patched:
        patched.setattr(world.stores.campaigns, "get_unit", lambda cid, unit: stale)
        with pytest.raises(ConflictError, match="vừa được thay đổi"):
            upload(world, [person(1), person(2)])
    assert [r.email for r in stored_rows(world)] == ["nguoi1@hagiang.gov.vn", NEW["email"]]
    unit = world.stores.campaigns.get_unit("2021", "01")
    gens = {r.sk.split("#")[0] for r in world.stores.roster.rows("2021", "01", unit.roster_gen)}
    assert gens == {unit.roster_gen} and unit.roster_pending is None  # the lost import's generation swept


def test_the_template_lists_the_groups_the_accepted_ministries_and_the_deadline(world):
    data, name = roster.template(PROVINCE, "2021", world.now, stores=world.stores)
    assert name == "mau-danh-sach-dieu-tra-xhh-2021.xlsx"
    wb = load_workbook(io.BytesIO(data))
    accepted = roster.accepted_ministries(world.stores.campaigns.get_campaign("2021"), stores=world.stores)
    assert [r[0] for r in wb["Bộ, ngành"].iter_rows(values_only=True)] == accepted and "Bộ Y tế" in accepted
    guide = " ".join(str(r[0]) for r in wb["Hướng dẫn"].iter_rows(values_only=True) if r[0])
    assert "hết ngày 15/01/2022" in guide


# ------------------------------------------------------------------------------------------------ review

def test_the_roster_is_listed_with_counts_filters_search_and_pages(world):
    twelve(world)
    full = listing(world, limit=5)
    assert full["total"] == 12 and {c["group"]: c["count"] for c in full["counts"]} == {"1": 3, "2": 3, "3": 3,
                                                                                        "4": 3}
    seen, cursor = [], None
    while True:
        page = listing(world, limit=5, cursor=cursor)
        seen += [i["rid"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 12 and seen == sorted(seen)
    only3 = listing(world, group="3")["items"]
    assert {i["group"] for i in only3} == {"3"} and len(only3) == 3
    assert [i["email"] for i in listing(world, search="NGUOI7@")["items"]] == ["nguoi7@hagiang.gov.vn"]
    with pytest.raises(ForbiddenError):
        listing(world, actor=unit_actor("02"))


def test_a_single_row_is_added_edited_and_deleted_with_the_same_rules(world):
    twelve(world)
    added = add(world, NEW)
    assert added["ministry"] == "Bộ Nội vụ" and added["order"] == 13
    rid = added["rid"]
    with pytest.raises(ValidationError) as caught:
        add(world, {**NEW, "email": "NGUOI1@hagiang.gov.vn"})
    assert caught.value.details[0]["field"] == "email"
    with pytest.raises(ValidationError) as caught:
        roster.update_row(PROVINCE, "2021", "01", rid, {"phone": "123"}, world.now, world.random_bytes,
                          stores=world.stores)
    assert caught.value.details[0]["field"] == "phone"
    moved = roster.update_row(PROVINCE, "2021", "01", rid, {"group": "1", "agency": "HĐND tỉnh"}, world.now,
                              world.random_bytes, stores=world.stores)
    assert moved["questionnaires"] == ["locality"]
    assert {c["group"]: c["count"] for c in listing(world)["counts"]} == {"1": 4, "2": 3, "3": 3, "4": 3}
    assert roster.delete_row(PROVINCE, "2021", "01", rid, world.now, world.random_bytes,
                             stores=world.stores) == {"ok": True}
    with pytest.raises(NotFoundError, match="có thể đã bị xóa"):
        roster.delete_row(PROVINCE, "2021", "01", rid, world.now, world.random_bytes, stores=world.stores)
    assert listing(world)["total"] == 12
    assert [e.action for e in world.audited("roster_row_updated")] == ["roster_row_updated"]


def test_the_first_row_typed_by_hand_starts_the_roster(world):
    added = add(world, NEW)
    unit = world.stores.campaigns.get_unit("2021", "01")
    assert unit.roster_gen and unit.roster_counts == {"3": 1} and unit.roster_version == 1
    assert [r.rid for r in stored_rows(world)] == [added["rid"]]


# ------------------------------------------------------------------------------------------------ sending

def test_sending_freezes_the_roster_as_sent_and_only_the_ministry_reopens_it(world):
    twelve(world)
    sent = submit(world)
    assert sent["status"] == "submitted" and sent["submitted_at_label"] == "09:00 10/01/2022"
    unit = world.stores.campaigns.get_unit("2021", "01")
    snapshot = world.stores.files.get_snapshot(unit.roster_snapshot)
    assert [r["rid"] for r in snapshot] == [r.rid for r in stored_rows(world)] and len(snapshot) == 12
    with pytest.raises(ConflictError, match="đã được gửi"):
        add(world, NEW)
    [note] = world.notes("moha")
    assert note.title == "Đã gửi danh sách: Hà Nội"
    with pytest.raises(ForbiddenError):
        reopen(world, "x", actor=PROVINCE)
    with pytest.raises(ValidationError):
        reopen(world, "  ")
    world.at(2022, 1, 11, 8)
    assert reopen(world, "Bổ sung đại biểu HĐND")["status"] == "draft"
    with pytest.raises(ConflictError, match="chưa được gửi"):
        reopen(world, "Lần nữa")
    assert add(world, NEW)["email"] == NEW["email"]
    assert "Bổ sung đại biểu HĐND" in world.notes("01")[0].message
    assert [e.actor for e in world.audited("roster_submitted")] == ["tinh01"]


def test_an_empty_roster_cannot_be_sent(world):
    with pytest.raises(ValidationError, match="chưa có người nào"):
        submit(world, unit_actor("02"), "02")


def test_after_the_deadline_nothing_changes(world):
    twelve(world)
    rid = listing(world)["items"][0]["rid"]
    world.at(2022, 1, 16)
    with pytest.raises(PhaseClosedError):
        add(world, NEW)
    with pytest.raises(PhaseClosedError):
        roster.update_row(PROVINCE, "2021", "01", rid, {"position": "Giám đốc"}, world.now, world.random_bytes,
                          stores=world.stores)
    with pytest.raises(PhaseClosedError):
        roster.delete_row(PROVINCE, "2021", "01", rid, world.now, world.random_bytes, stores=world.stores)
    with pytest.raises(PhaseClosedError):
        submit(world)
    with pytest.raises(PhaseClosedError):
        upload(world, [person(1)])
    assert listing(world)["total"] == 12
