"""Dispatch on the in-memory stores: a run issues one link per respondent and questionnaire and queues each
invitation once; a job delivered again, whole or after dying midway, issues and counts nothing twice; a later run
mails only who was not mailed, and not while an earlier invitation may still be on its way; managing-ministry forms
count for the ministry; reminders reach only those who have not answered, once per interval; re-addressing gives a
new only token and drops the old one and the draft; roles and phases are refused. Nothing here may reach AWS."""
from msgspec.structs import replace
from datetime import timedelta

import pytest
from builders import person, roster_workbook
from memory_world import ADMIN, World, refuse_aws, unit_actor

from chalicelib.config import settings
from chalicelib.domain import links as link_rules
from chalicelib.domain.credentials import token_hash
from chalicelib.errors import ConflictError, ForbiddenError, PhaseClosedError, ValidationError
from chalicelib.services import address_changes, dispatch, mailing, roster
from chalicelib.store.links import MinistryCount
from chalicelib.store.queues import unpack

PROVINCE = unit_actor("01")
PEOPLE = [person(1, agency="Sở Tư pháp"), person(2), person(3, group="3", agency="Phòng Tổ chức, Sở Tài chính"),
          person(4, group="1", agency="HĐND tỉnh")]  # the first answers about the Ministry of Justice as well
SLOTS = 5  # links of PEOPLE: one each, two for the first


@pytest.fixture
def world(monkeypatch):
    refuse_aws(monkeypatch)
    w = World()
    w.at(2022, 1, 10, 9)  # the roster phase is open
    sent_roster(w, "01", PEOPLE)
    w.at(2022, 1, 20, 9)  # the survey is open (16/01 to 20/02)
    return w


def sent_roster(world, unit: str, rows: list) -> None:
    actor = unit_actor(unit)
    roster.import_workbook(actor, "2021", unit, roster_workbook(rows), "merge", world.now, world.random_bytes,
                           stores=world.stores)
    roster.submit(actor, "2021", unit, world.now, world.random_bytes, stores=world.stores)


def start(world, units=None, actor=ADMIN) -> dict:
    return dispatch.start(actor, "2021", units, world.now, world.random_bytes, stores=world.stores)


def jobs(world) -> list[dict]:
    """The jobs queue's bodies receivable now (taken off the queue)."""
    return world.stores.queues.receive(settings().jobs_queue)


def run(world, bodies: list[dict]) -> list[dict]:
    """The jobs queue's handler on each body."""
    return [dispatch.run_job(body, world.now, world.random_bytes, stores=world.stores) for body in bodies]


def mails(world) -> list[dict]:
    """The mails queued for the sender since the last call (taken off the queue), each with its batch's kind."""
    return [{"kind": body["kind"], **mail} for body in world.stores.queues.receive(settings().mail_queue)
            for mail in unpack(body["mails"])]


def links(world, unit="01") -> dict:
    return {link.slot: link for link in world.stores.links.unit_links(f"2021#{unit}")}


def assert_each_link_mailed_once_with_its_only_token(world, queued: list[dict], unit="01") -> None:
    by_slot = {mail["slot"]: mail for mail in queued}
    assert len(by_slot) == len(queued)  # one mail per link
    for slot, link in links(world, unit).items():
        assert link.token_hashes == (token_hash(by_slot[slot]["token"]),) and by_slot[slot]["to"] == link.email
        assert world.stores.links.get_token(link.token_hashes[0]).slot == slot


def progress(world) -> dict:
    [only] = dispatch.progress(ADMIN, "2021", stores=world.stores)["runs"]
    return {k: only[k] for k in ("units_done", "links_issued", "mails_queued")}


def test_a_run_issues_one_link_per_respondent_and_questionnaire_and_queues_each_invitation_once(world):
    started = start(world)
    assert (started["units"], started["units_total"], started["finished"]) == (["01"], 1, False)
    [job] = jobs(world)
    assert (job["type"], job["unit"], job["run"]) == ("dispatch_unit", "01", started["run"])
    assert run(world, [job]) == [{"unit": "01", "issued": SLOTS, "queued": SLOTS, "skipped": False}]
    issued = links(world)
    rows = world.stores.roster.rows("2021", "01", world.stores.campaigns.get_unit("2021", "01").roster_gen)
    assert sorted(issued) == sorted(f"{row.rid}#{purpose}" for row in rows for purpose in row.questionnaires)
    assert {x.state for x in issued.values()} == {"issued"}
    [form] = [x for x in issued.values() if x.purpose == "ministry"]
    assert (form.ministry, form.qid, form.issued_run, form.queued_run) == ("BTP", "ministry-2", started["run"],
                                                                           started["run"])
    queued = mails(world)
    assert {m["kind"] for m in queued} == {"invite"} and len(queued) == SLOTS
    assert_each_link_mailed_once_with_its_only_token(world, queued)
    assert progress(world) == {"units_done": 1, "links_issued": SLOTS, "mails_queued": SLOTS}
    assert world.stores.links.unit_totals("2021#01").issued == SLOTS
    # the managing-ministry form counts for the ministry it is about, under the province and group
    assert world.stores.links.ministry_counts("2021", "BTP") == [MinistryCount("01", "2", asked=1)]
    assert [n.title for n in world.notes("01")][:1] == ["Bộ Nội vụ đã phát hành phiếu khảo sát"]
    assert [len(world.audited(a)) for a in ("dispatch_started", "dispatch_unit_done")] == [1, 1]


def test_a_job_delivered_again_after_it_finished_issues_nothing(world):
    start(world)
    [job] = jobs(world)
    run(world, [job])
    first, queued = links(world), mails(world)
    assert run(world, [job, job]) == [{"unit": "01", "issued": 0, "queued": 0, "skipped": True}] * 2
    assert links(world) == first and mails(world) == [] and len(queued) == SLOTS
    assert progress(world) == {"units_done": 1, "links_issued": SLOTS, "mails_queued": SLOTS}
    assert world.stores.links.unit_totals("2021#01").issued == SLOTS


def test_a_job_that_died_midway_and_is_delivered_again_issues_counts_and_mails_every_link_once(world, monkeypatch):
    monkeypatch.setattr(dispatch, "CHUNK", 2)  # two respondents a round: rounds of 3 and 2 links
    start(world)
    [job] = jobs(world)
    queues, sends = world.stores.queues, []
    real_send = queues.send

    def dies_at_the_second_rounds_mails(queue, bodies, delay=0):
        sends.append(queue)
        if queue == settings().mail_queue and sends.count(queue) == 2:
            raise TimeoutError("the job ran out of time here")
        real_send(queue, bodies, delay)

    monkeypatch.setattr(queues, "send", dies_at_the_second_rounds_mails)
    with pytest.raises(TimeoutError):
        run(world, [job])
    monkeypatch.setattr(queues, "send", real_send)
    died = links(world)
    assert len(died) == SLOTS and world.stores.links.unit_totals("2021#01").issued == SLOTS  # written and counted
    assert run(world, [job]) == [{"unit": "01", "issued": 2, "queued": 2, "skipped": False}]  # the second round
    queued = mails(world)
    assert len(queued) == SLOTS
    assert_each_link_mailed_once_with_its_only_token(world, queued)
    for slot, link in links(world).items():  # the round that died re-armed with fresh tokens; its old ones are gone
        if link.token_hashes != died[slot].token_hashes:
            assert world.stores.links.get_token(died[slot].token_hashes[0]) is None
    assert world.stores.links.unit_totals("2021#01").issued == SLOTS  # counted once
    assert world.stores.links.ministry_counts("2021", "BTP") == [MinistryCount("01", "2", asked=1)]
    assert progress(world) == {"units_done": 1, "links_issued": SLOTS, "mails_queued": SLOTS}


def test_a_held_lease_refuses_a_second_job_of_the_unit_and_writes_nothing(world):
    start(world)
    [job] = jobs(world)
    assert world.stores.links.acquire_lease("2021", "01", world.now, world.now + timedelta(minutes=15))
    with pytest.raises(ConflictError, match="đang được phát hành"):
        run(world, [job])
    assert links(world) == {} and mails(world) == []
    world.later(minutes=16)  # the other job died: its lease ran out
    assert run(world, [job])[0]["issued"] == SLOTS


def test_a_later_run_mails_only_who_was_not_mailed_and_not_while_an_invitation_is_on_its_way(world):
    start(world)
    run(world, jobs(world))
    queued = {m["slot"]: m for m in mails(world)}
    first = links(world)
    mailed = first[min(first)]
    assert world.stores.links.mark_sent(mailed, token_hash(queued[mailed.slot]["token"]), world.now, None)
    world.later(hours=1)  # the other invitations may still be in the mail queue
    start(world)
    assert run(world, jobs(world))[0] == {"unit": "01", "issued": 0, "queued": 0, "skipped": False}
    assert mails(world) == []
    world.later(hours=2)  # their mails never left: a third run re-arms them
    third = start(world)
    assert run(world, jobs(world))[0] == {"unit": "01", "issued": 0, "queued": SLOTS - 1, "skipped": False}
    again = mails(world)
    assert sorted(m["slot"] for m in again) == sorted(slot for slot in first if slot != mailed.slot)
    for mail in again:
        link = world.stores.links.get_link("2021#01", mail["slot"])
        assert link.token_hashes == (token_hash(mail["token"]),) and link.queued_run == third["run"]
        assert world.stores.links.get_token(token_hash(queued[mail["slot"]]["token"])) is None  # the old one died
    assert world.stores.links.get_link("2021#01", mailed.slot).state == "sent"
    assert world.stores.links.unit_totals("2021#01").issued == SLOTS - 1  # no link counted twice
    assert world.stores.links.ministry_counts("2021", "BTP") == [MinistryCount("01", "2", asked=1)]


def sent_all(world) -> None:
    """Dispatch's invitations handed to the mail service by the sender."""
    for body in world.stores.queues.receive(settings().mail_queue):
        mailing.send_batch(body, lambda: world.now, lambda: 0.0, lambda seconds: None, stores=world.stores)


def test_reminders_go_only_to_who_has_not_answered_once_per_interval(world):
    start(world)
    run(world, jobs(world))
    sent_all(world)
    by_rid = {}
    for link in links(world).values():
        by_rid.setdefault(link.rid, []).append(link)
    rids = sorted(by_rid)
    answered, complained = by_rid[rids[1]][0], by_rid[rids[2]][0]
    world.stores.links.write_issued([replace(answered, state="submitted", submitted_at=world.now),
                                     replace(complained, no_mail=True)], [])
    remind = lambda: dispatch.remind(PROVINCE, "2021", "01", None, world.now, world.random_bytes,  # noqa: E731
                                     stores=world.stores)
    world.later(hours=23)
    assert remind()["people"] == {"queued": 0, "recent": 2, "answered": 1, "undeliverable": 1}
    world.later(hours=2)
    preview = dispatch.reminder_preview(PROVINCE, "2021", "01", None, world.now, stores=world.stores)
    assert preview["people"] == {"now": 2, "recent": 0, "answered": 1, "undeliverable": 1}
    done = remind()
    assert (done["queued"], done["people"]) == (3, {"queued": 2, "recent": 0, "answered": 1, "undeliverable": 1})
    reminders = mails(world)
    assert sorted(m["slot"] for m in reminders) == sorted(x.slot for r in (rids[0], rids[3]) for x in by_rid[r])
    for mail in reminders:
        link = world.stores.links.get_link("2021#01", mail["slot"])
        assert mail["kind"] == "reminder" and link.token_hashes[-1] == token_hash(mail["token"])
        assert len(link.token_hashes) == 2  # the invitation's token stays valid
    assert remind()["people"]["queued"] == 0 and mails(world) == []  # once per interval
    world.later(hours=25)
    assert remind()["queued"] == 3
    assert sorted(e.details["queued"] for e in world.audited("reminders_queued")) == [0, 0, 3, 3]


def test_automatic_reminders_queue_one_job_per_sent_roster_once_on_each_configured_day(world):
    start(world)
    run(world, jobs(world))
    sent_all(world)
    auto = lambda: dispatch.auto_reminders(world.now, world.random_bytes, stores=world.stores)  # noqa: E731
    world.at(2022, 2, 12, 9)  # eight days before the deadline (20/02): not a configured day
    assert auto() == 0 and jobs(world) == []
    world.at(2022, 2, 13, 9)  # seven days before
    assert auto() == 1 and auto() == 0  # once that day, whichever tick comes first
    [job] = jobs(world)
    assert (job["type"], job["cid"], job["unit"]) == ("remind_unit", "2021", "01")
    assert run(world, [job])[0]["queued"] == SLOTS
    assert {m["kind"] for m in mails(world)} == {"reminder"}


def test_re_addressing_gives_a_new_only_token_and_drops_the_old_one_and_the_draft(world):
    start(world)
    run(world, jobs(world))
    first = mails(world)
    stale = {link.slot: link for link in links(world).values() if link.rid == first[0]["slot"].split("#")[0]}
    for link in stale.values():  # the mail service refused the address for good; a draft was saved meanwhile
        assert world.stores.links.mark_failed(link, "550 5.1.1 no such user", world.now, None)
        world.stores.survey.save_draft(link, {"q1": "3"}, world.now, world.now + timedelta(days=30))
    rid = next(iter(stale.values())).rid
    done = address_changes.correct_email(PROVINCE, "2021", "01", rid, "moi.dung@hagiang.gov.vn", world.now,
                                         world.random_bytes, stores=world.stores)
    assert done == {"rid": rid, "email": "moi.dung@hagiang.gov.vn", "reissued": len(stale)}
    again = {m["slot"]: m for m in mails(world)}
    assert sorted(again) == sorted(stale)
    for slot, old in stale.items():
        link = world.stores.links.get_link("2021#01", slot)
        assert (link.state, link.email, link.problem) == ("issued", "moi.dung@hagiang.gov.vn", None)
        assert link.token_hashes == (token_hash(again[slot]["token"]),) and again[slot]["to"] == link.email
        assert world.stores.links.get_token(old.token_hashes[0]) is None  # the old token died
        assert world.stores.survey.get_draft(link) is None and world.stores.survey.get_draft(old) is None
    # a link that moved on since it was read is not re-addressed
    moved = next(iter(stale.values()))
    campaign, unit = (world.stores.campaigns.get_campaign("2021"), world.stores.campaigns.get_unit("2021", "01"))
    assert dispatch.reissue(campaign, unit, [moved], "khac@hagiang.gov.vn", link_rules.DELIVERY_FAILED, world.now,
                            world.random_bytes, stores=world.stores) == []
    assert mails(world) == []


def test_roles_and_phases_are_refused(world):
    with pytest.raises(ForbiddenError):
        start(world, actor=PROVINCE)
    with pytest.raises(ForbiddenError):
        dispatch.progress(PROVINCE, "2021", stores=world.stores)
    with pytest.raises(ForbiddenError):
        dispatch.remind(unit_actor("02"), "2021", "01", None, world.now, world.random_bytes, stores=world.stores)
    with pytest.raises(ValidationError, match="Không có đơn vị: 99"):
        start(world, ["01", "99"])
    with pytest.raises(ConflictError, match="chưa gửi danh sách: 02"):
        start(world, ["01", "02"])
    world.at(2022, 1, 12, 9)  # before the survey opens
    with pytest.raises(PhaseClosedError):
        start(world)
    with pytest.raises(PhaseClosedError):
        dispatch.remind(PROVINCE, "2021", "01", None, world.now, world.random_bytes, stores=world.stores)
    assert jobs(world) == [] and world.stores.links.runs("2021") == []
    world.at(2022, 1, 20, 9)
    start(world)
    [job] = jobs(world)
    world.at(2022, 3, 1, 9)  # the survey closed before the job ran: skipped, and the unit counted done
    assert run(world, [job]) == [{"unit": "01", "issued": 0, "queued": 0, "skipped": True}]
    assert links(world) == {} and progress(world)["units_done"] == 1


def test_no_run_starts_before_a_roster_was_sent(monkeypatch):
    refuse_aws(monkeypatch)
    w = World()
    w.at(2022, 1, 20, 9)
    with pytest.raises(ConflictError, match="Chưa có đơn vị nào gửi danh sách"):
        start(w)
    assert w.stores.links.runs("2021") == [] and jobs(w) == []
