"""Questionnaires on the in-memory stores: the shipped samples, the ministry replacing them from JSON or a workbook,
versions, what a province may read, and the lock once links go out; the rules tests/api/test_questionnaires.py
checks through the API on moto, here in milliseconds. Nothing here may reach AWS."""
import copy

import pytest
from memory_world import ADMIN, World, refuse_aws, unit_actor

from chalicelib.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from chalicelib.formats import datafiles
from chalicelib.services import questionnaires

NEEDED = ["locality-1", "locality-2", "ministry-2", "locality-3", "ministry-3", "locality-4"]
SCALE = [{"value": "1", "label": "Rất kém", "score": 0}, {"value": "2", "label": "Kém", "score": 1},
         {"value": "3", "label": "Tốt", "score": 2}, {"value": "4", "label": "Rất tốt", "score": 3}]


def official(**over) -> dict:
    data = {"title": "Phiếu đánh giá địa phương (chính thức)", "description": "Lời giới thiệu",
            "sections": [{"title": "Thủ tục hành chính", "questions": [
                {"id": "Q1", "text": "Mức độ công khai thủ tục hành chính", "type": "single", "required": True,
                 "criterion": "3.2", "options": copy.deepcopy(SCALE)},
                {"id": "Q2", "text": "Ý kiến khác", "type": "text", "required": False, "max_length": 500}]}]}
    data.update(over)
    return data


@pytest.fixture
def world(monkeypatch):
    refuse_aws(monkeypatch)
    return World()


def replace(world, body, qid="locality-1", actor=ADMIN):
    return questionnaires.replace(actor, "2021", qid, body, world.now, world.random_bytes, stores=world.stores)


def refused(call) -> ConflictError:
    with pytest.raises(ConflictError) as caught:
        call()
    return caught.value


def test_the_samples_are_seeded_for_every_group_and_purpose_once(world):
    listed = questionnaires.list_for(ADMIN, "2021", stores=world.stores)
    assert [i["qid"] for i in listed["items"]] == NEEDED and listed["missing"] == []
    assert all(i["sample"] and i["version"] == 1 and not i["locked"] and i["title"].startswith("Phiếu mẫu — ")
               for i in listed["items"])
    by_qid = {i["qid"]: i for i in listed["items"]}
    assert by_qid["ministry-2"]["purpose_name"] == "Phiếu đánh giá bộ chủ quản"
    replace(world, official())
    again = questionnaires.seed(world.definition, datafiles.load_questionnaires(world.definition), world.now,
                                stores=world.stores)
    assert again == 0 and world.stores.questionnaires.get("2021", "locality-1").version == 2  # never overwritten


def test_a_sample_no_group_answers_is_an_error_in_the_data(world):
    with pytest.raises(ValidationError, match="ministry-9"):
        questionnaires.seed(world.definition, {"ministry-9": official()}, world.now, stores=world.stores)
    assert world.stores.questionnaires.find("2021", "ministry-9") is None


def test_a_campaign_without_its_questionnaires_lists_them_missing_and_dispatch_is_told(monkeypatch):
    refuse_aws(monkeypatch)
    bare = World(samples=False)
    listed = questionnaires.list_for(ADMIN, "2021", stores=bare.stores)
    assert listed["items"] == [] and [m["qid"] for m in listed["missing"]] == NEEDED
    assert listed["missing"][2] == {"qid": "ministry-2", "purpose": "ministry",
                                    "purpose_name": "Phiếu đánh giá bộ chủ quản", "group": "2",
                                    "group_name": listed["missing"][2]["group_name"]}
    with pytest.raises(NotFoundError, match="ministry-3"):
        questionnaires.for_respondent("2021", "3", "ministry", stores=bare.stores)
    with pytest.raises(NotFoundError):
        questionnaires.lock("2021", "ministry-3", bare.now, stores=bare.stores)
    assert bare.stores.questionnaires.find("2021", "ministry-3") is None
    assert replace(bare, official())["version"] == 1  # the ministry's own is the first version


def test_the_ministry_replaces_a_questionnaire_and_each_change_raises_the_version(world):
    first = replace(world, official())
    assert (first["version"], first["changed"], first["sample"]) == (2, True, False)
    assert first["sections"][0]["questions"][1]["max_length"] == 500
    same = replace(world, official())
    assert (same["version"], same["changed"]) == (2, False)
    world.later(minutes=5)
    changed = replace(world, official(title="Phiếu đánh giá địa phương (sửa đổi)"))
    assert changed["version"] == 3 and changed["updated_by"] == "admin"
    assert changed["updated_at_label"] == "10:05 05/01/2022"
    audited = world.audited("questionnaire_replaced")
    assert sorted((e.details["version"], e.details["previous_version"], e.details["source"]) for e in audited) == [
        (2, 1, "json"), (3, 2, "json")]


def test_a_stale_version_is_refused_so_no_change_is_lost(world):
    replace(world, official(version=1))
    stale = refused(lambda: replace(world, official(title="Sửa từ bản cũ", version=1)))
    assert stale.code == "questionnaire_changed" and "phiên bản 2" in stale.message
    assert world.stores.questionnaires.get("2021", "locality-1").title == "Phiếu đánh giá địa phương (chính thức)"


def test_a_change_read_before_another_landed_is_refused_by_the_store(world, monkeypatch):
    before = world.stores.questionnaires.get("2021", "locality-1")
    replace(world, official())
    monkeypatch.setattr(world.stores.questionnaires, "find", lambda cid, qid: before)
    lost = refused(lambda: replace(world, official(title="Thay đổi thứ hai")))
    assert lost.code == "questionnaire_changed" and lost.details == [{"qid": "locality-1", "version": 2}]


def test_only_the_ministry_replaces_and_only_what_the_campaign_needs(world):
    with pytest.raises(ForbiddenError, match="chỉ dành cho Bộ Nội vụ"):
        replace(world, official(), actor=unit_actor("02"))
    for qid in ("ministry-1", "locality-9", "other-1"):
        with pytest.raises(NotFoundError, match=qid):
            replace(world, official(), qid=qid)
    bad = official()
    bad["sections"][0]["questions"][1]["id"] = "Q1"
    with pytest.raises(ValidationError) as caught:
        replace(world, bad)
    assert [d["field"] for d in caught.value.details] == ["sections[0].questions[1].id"]
    assert world.stores.questionnaires.get("2021", "locality-1").version == 1


def _scored(definition: dict) -> tuple[set, set]:
    questions = [q for section in definition["sections"] for q in section["questions"]]
    return ({q["criterion"] for q in questions if q.get("criterion")},
            {o["score"] for q in questions for o in q.get("options") or [] if "score" in o})


def test_a_province_of_the_campaign_reads_questionnaires_as_respondents_see_them(world):
    for qid in NEEDED:
        ministry = questionnaires.get(ADMIN, "2021", qid, stores=world.stores)
        province = questionnaires.get(unit_actor("01"), "2021", qid, stores=world.stores)
        assert all(_scored(ministry)) and _scored(province) == (set(), set())
        assert province["version"] == ministry["version"] and province["title"] == ministry["title"]
    with pytest.raises(NotFoundError):  # a province outside the campaign
        questionnaires.get(unit_actor("05"), "2021", "locality-1", stores=world.stores)
    data, name = questionnaires.export_workbook(unit_actor("01"), "2021", "locality-1", stores=world.stores)
    assert name == "phieu-khao-sat-2021-locality-1-v1.xlsx" and data[:2] == b"PK"


def test_an_exported_workbook_imports_back_unchanged(world):
    data, _ = questionnaires.export_workbook(ADMIN, "2021", "ministry-3", stores=world.stores)
    back = questionnaires.import_workbook(ADMIN, "2021", "ministry-3", data, world.now, world.random_bytes,
                                          stores=world.stores)
    assert back["changed"] is False and back["version"] == 1
    with pytest.raises(ForbiddenError):
        questionnaires.import_workbook(unit_actor("01"), "2021", "ministry-3", data, world.now, world.random_bytes,
                                       stores=world.stores)


def test_once_locked_a_questionnaire_can_no_longer_change(world):
    qid, version, title = questionnaires.for_respondent("2021", "2", "locality", stores=world.stores)
    assert (qid, version) == ("locality-2", 1) and title.startswith("Phiếu mẫu — ")
    assert questionnaires.lock("2021", "locality-2", world.now, stores=world.stores) == 1
    first = world.stores.questionnaires.get("2021", "locality-2").locked_at
    world.later(hours=1)
    assert questionnaires.lock("2021", "locality-2", world.now, stores=world.stores) == 1  # idempotent
    assert world.stores.questionnaires.get("2021", "locality-2").locked_at == first
    locked = refused(lambda: replace(world, official(), qid="locality-2"))
    assert locked.code == "questionnaire_locked" and "đã được gửi" in locked.message
    data, _ = questionnaires.export_workbook(ADMIN, "2021", "locality-1", stores=world.stores)
    assert refused(lambda: questionnaires.import_workbook(ADMIN, "2021", "locality-2", data, world.now,
                                                          world.random_bytes, stores=world.stores)).code == (
        "questionnaire_locked")
    item = questionnaires.get(ADMIN, "2021", "locality-2", stores=world.stores)
    assert item["locked"] is True and item["version"] == 1 and item["locked_at_label"] == "10:00 05/01/2022"
    assert [(e.target, e.actor) for e in world.audited("questionnaire_locked")] == [("locality-2", "system")]
    assert replace(world, official(), qid="locality-3")["version"] == 2


def test_a_change_racing_the_lock_is_refused_by_the_store(world, monkeypatch):
    unlocked = world.stores.questionnaires.get("2021", "locality-1")
    questionnaires.lock("2021", "locality-1", world.now, stores=world.stores)
    with monkeypatch.context() as patched:  # the change read the questionnaire before the lock
        patched.setattr(world.stores.questionnaires, "find", lambda cid, qid: unlocked)
        assert refused(lambda: replace(world, official())).code == "questionnaire_locked"
    assert world.stores.questionnaires.get("2021", "locality-1").version == 1


def test_the_survey_reads_a_questionnaires_content_and_version(world):
    replace(world, official(), qid="locality-3")
    version, definition = questionnaires.content("2021", "locality-3", stores=world.stores)
    assert version == 2 and definition["title"] == "Phiếu đánh giá địa phương (chính thức)"
    with pytest.raises(NotFoundError):
        questionnaires.content("2021", "ministry-9", stores=world.stores)
