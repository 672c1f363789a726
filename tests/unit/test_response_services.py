"""The ministry reading a unit's survey answers, on the in-memory stores: only the organiser reads them, page by page
in response-id order with their questionnaire's title and the group's name and no identity, every read audited.
Writing the responses is the survey's submit (tests/api/test_survey.py); here they are stored as it stores them.
Nothing here may reach AWS."""
from msgspec.structs import replace
from datetime import timedelta

import pytest
from memory_world import ADMIN, World, refuse_aws, unit_actor

from chalicelib.domain.access import MOHA, Actor
from chalicelib.errors import ForbiddenError, NotFoundError, ValidationError
from chalicelib.services import integrity, responses
from chalicelib.store.survey import Response

IDS = ["%024x" % n for n in (0x9a, 0x13, 0xe0, 0x47, 0x2c)]


@pytest.fixture
def world(monkeypatch):
    refuse_aws(monkeypatch)
    w = World()
    w.at(2022, 2, 1, 9)
    for n, rid in enumerate(IDS):
        qid = "locality-2" if n % 2 else "ministry-2"
        w.stores.responses.add(Response(
            unit_key="2021#01", response_id=rid, qid=qid, q_version=1, group="2",
            purpose=qid.split("-")[0], answers={"1": str(n)}, scores={"1": float(n)},
            submitted_at=w.now - timedelta(hours=n), ministry="BTP" if qid.startswith("ministry") else None))
    w.stores.responses.add(replace(w.stores.responses.page("2021#01", limit=1, after=None, qid=None)[0][0],
                                   unit_key="2021#02", response_id="f" * 24))  # another unit's
    return w


def read(world, actor=ADMIN, unit="01", **kw):
    args = {"qid": None, "limit": 50, "cursor": None, **kw}
    return responses.unit_responses(actor, "2021", unit, now=world.now, random_bytes=world.random_bytes,
                                    stores=world.stores, **args)


def test_the_organiser_reads_a_units_responses_with_titles_and_group_names_without_identity(world):
    page = read(world)
    assert page["unit"] == {"code": "01", "name": "Hà Nội", "full_name": "Thành phố Hà Nội"}
    assert page["count"] == 5 and page["next_cursor"] is None and page["annulled"] is False
    assert [item["id"] for item in page["items"]] == sorted(IDS)  # id order, not the order they came in
    first = page["items"][0]  # 0x13: the second stored, a locality form
    assert first == {"id": IDS[1], "qid": "locality-2", "version": 1,
                     "title": world.stores.questionnaires.get("2021", "locality-2").title,
                     "purpose": "locality", "purpose_name": first["purpose_name"],
                     "group": {"code": "2", "name": "Lãnh đạo cấp sở"}, "ministry": None,
                     "answers": {"1": "1"}, "scores": {"1": 1.0}}
    assert first["purpose_name"] and all("submitted_at" not in item for item in page["items"])
    assert {item["ministry"] for item in page["items"] if item["qid"] == "ministry-2"} == {"BTP"}


def test_pages_follow_the_cursor_and_every_page_read_is_audited(world):
    seen, cursor, pages = [], None, 0
    while True:
        page = read(world, limit=2, cursor=cursor)
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(IDS) and pages == 3
    entries = world.audited("responses_read")
    assert len(entries) == 3 and {e.actor for e in entries} == {"admin"} and {e.unit_key for e in entries} == {"01"}
    assert sorted((e.details["responses"], e.details["first_page"], e.details["next_page"]) for e in entries) == \
        [(1, False, False), (2, False, True), (2, True, True)]


def test_a_page_is_of_one_questionnaire_when_asked_and_its_size_is_bounded(world):
    page = read(world, qid="locality-2")
    assert [item["id"] for item in page["items"]] == sorted(IDS[1::2])
    assert read(world, limit=0)["count"] == 1  # at least one per page
    assert read(world, limit=10_000)["count"] == 5  # at most MAX_LIMIT: all five here


def test_annulled_results_stay_readable_and_are_flagged(world):
    integrity.annul(ADMIN, "2021", "01", "Kết quả bất thường", world.now, world.random_bytes, stores=world.stores)
    page = read(world)
    assert page["annulled"] is True and page["count"] == 5


def test_only_the_organiser_reads_and_a_cursor_must_be_a_response_id(world):
    for actor in (unit_actor("01"), unit_actor("BTP")):
        with pytest.raises(ForbiddenError):
            read(world, actor=actor)
    with pytest.raises(ValidationError) as refused:
        read(world, cursor="not-an-id")
    assert refused.value.details == [{"field": "cursor"}]
    with pytest.raises(NotFoundError):
        read(world, unit="99")
    other_moha = Actor(username="vu-cchc", role=MOHA, unit=None, display_name="Vụ CCHC", source_ip="10.0.0.9")
    assert read(world, actor=other_moha)["count"] == 5
    assert world.audited("responses_read")[0].actor == "vu-cchc"  # the refused reads left no entry
    assert len(world.audited("responses_read")) == 1
