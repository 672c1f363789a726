"""The respondent's survey on the in-memory stores: opening is read-only, the first draft records the open once, a
submit stores one response and moves the counters once (a second gets 409 with the receipt), the window and an
annulment refuse (423), also when the submit was decided on the campaign and unit kept from an earlier request;
unknown, malformed and revoked tokens get one answer and an address that keeps guessing gets 429; a token issued
before tokens named their link is found by its record. The links are written as dispatch leaves them
(tests/api/test_survey.py checks the whole path on moto). Nothing here may reach AWS."""
from msgspec.structs import replace

import pytest
from builders import survey_answers
from memory_world import ADMIN, World, refuse_aws

from chalicelib.domain.credentials import new_token, token_hash
from chalicelib.errors import ConflictError, PhaseClosedError, RateLimitedError
from chalicelib.services import campaigns, integrity, survey
from chalicelib.store.links import Token

OFFICE, UA = "203.0.113.20", "Mozilla/5.0 (Windows NT 10.0) Firefox/121.0"


@pytest.fixture
def world(monkeypatch):
    refuse_aws(monkeypatch)
    w = World(("01", "02", "BTP"))
    w.at(2022, 1, 20, 9)  # the survey is open
    return w


def opened(world, token, ip=OFFICE) -> dict:
    return survey.open_survey(token, ip, world.now, stores=world.stores)


def draft(world, token, answers=None, ip=OFFICE, ua=UA) -> dict:
    return survey.save_draft(token, answers or {}, ip, ua, world.now, stores=world.stores)


def submit(world, token, answers, ip=OFFICE) -> dict:
    return survey.submit(token, answers, ip, UA, world.now, world.random_bytes, stores=world.stores)


def the_link(world, unit="01", n=1, purpose="locality"):
    return world.stores.survey.link_now(f"2021#{unit}", f"{n:06d}-{n:06x}#{purpose}")


def totals(world, unit="01") -> dict:
    return world.stores.links.counters([(f"2021#{unit}", "all")])[(f"2021#{unit}", "all")]


def responses(world, unit="01") -> list:
    return world.stores.responses.page(f"2021#{unit}", limit=100, after=None, qid=None)[0]


class Spy:
    """Records the calls made to the named methods of a store, passing them through."""

    def __init__(self, monkeypatch, store, *names):
        self.calls: list[tuple[str, object]] = []
        for name in names:
            monkeypatch.setattr(store, name, self._wrap(name, getattr(store, name)))

    def _wrap(self, name, method):
        def call(*args, **kwargs):
            result = method(*args, **kwargs)
            self.calls.append((name, result))
            return result
        return call


def test_opening_a_link_shows_its_questionnaire_and_changes_nothing(world):
    [token, _] = world.invited("01", 2)
    before, counts = the_link(world), totals(world)
    got = opened(world, token)
    assert (got["state"], got["qid"], got["version"], got["unit"]["name"], got["draft"], got["receipt"]) == (
        "open", "locality-1", 1, "Hà Nội", None, None)
    assert got["purpose_name"] == "Phiếu đánh giá địa phương" and got["seconds_left"] > 0
    assert all("score" not in o for s in got["questionnaire"]["sections"] for q in s["questions"]
               for o in q["options"])
    assert the_link(world) == before and totals(world) == counts  # mail scanners open links: nothing recorded


def test_the_first_draft_records_the_open_once_and_each_device(world):
    [token] = world.invited("01", 1)
    answers = dict(list(survey_answers(opened(world, token)).items())[:3])
    first = world.now
    assert draft(world, token, answers)["saved_at_label"]
    world.later(minutes=5)
    draft(world, token, answers, ip="198.51.100.4", ua="Chrome")
    draft(world, token, answers, ip="198.51.100.4", ua="Chrome")
    link = the_link(world)
    assert (link.state, link.opened_at, link.open_ip, link.open_ua) == ("opened", first, OFFICE, UA)
    assert link.seen == {f"{OFFICE} | {UA}", "198.51.100.4 | Chrome"}
    assert (totals(world)["opened"], totals(world)["sent"]) == (1, 0)  # counted once
    assert opened(world, token)["draft"]["answers"] == answers


def test_a_submit_is_stored_once_apart_from_identity_and_a_second_gets_409_with_the_receipt(world):
    [token, other] = world.invited("01", 2)
    answers = survey_answers(opened(world, token))
    draft(world, token, answers)
    opened_at = world.now
    world.later(minutes=12)
    receipt = submit(world, token, answers, ip="198.51.100.9")
    assert len(receipt["receipt"]) == 9 and receipt["receipt"][4] == "-"
    link = the_link(world)
    assert (link.state, link.receipt, link.submit_ip, link.seconds_spent, link.opened_at) == (
        "submitted", receipt["receipt"], "198.51.100.9", 720, opened_at)
    [stored] = responses(world)
    assert (stored.qid, stored.group, stored.answers) == ("locality-1", "1", answers)
    assert link.email not in repr(stored) and link.full_name not in repr(stored) and link.rid not in repr(stored)
    assert world.stores.survey.get_draft(link) is None  # dropped with the submit
    with pytest.raises(ConflictError) as again:
        submit(world, token, answers)
    assert again.value.code == "already_submitted" and again.value.extra["receipt"] == receipt["receipt"]
    assert again.value.extra["submitted_at_label"] == receipt["submitted_at_label"]
    with pytest.raises(ConflictError):
        draft(world, token, answers)
    assert len(responses(world)) == 1
    assert (totals(world)["submitted"], totals(world)["sent"], totals(world)["opened"]) == (1, 1, 0)
    shown = opened(world, token)
    assert (shown["state"], shown["receipt"]) == ("submitted", receipt["receipt"])
    assert opened(world, other)["state"] == "open"


def test_a_managing_ministry_form_counts_an_answer_for_the_ministry_it_evaluates(world):
    [token] = world.invited("01", 1, qid="ministry-2", ministry="BTP")
    submit(world, token, survey_answers(opened(world, token)))
    [count] = world.stores.links.ministry_counts("2021", "BTP")
    assert (count.province, count.group, count.answered) == ("01", "2", 1)
    assert responses(world)[0].ministry == "BTP"


def test_after_the_deadline_and_for_an_annulled_unit_the_survey_refuses_writes(world):
    [token, other] = world.invited("01", 2)
    [elsewhere] = world.invited("02", 1)
    answers = survey_answers(opened(world, token))
    submit(world, other, answers)
    integrity.annul(ADMIN, "2021", "02", "Can thiệp trái quy định", world.now, world.random_bytes,
                    stores=world.stores)
    for call in (lambda: opened(world, elsewhere), lambda: draft(world, elsewhere),
                 lambda: submit(world, elsewhere, answers)):
        with pytest.raises(PhaseClosedError) as annulled:
            call()
        assert annulled.value.code == "results_annulled"
    world.at(2022, 2, 21, 0, 1)  # the survey closed at the end of 20/02
    for call in (lambda: opened(world, token), lambda: draft(world, token), lambda: submit(world, token, answers)):
        with pytest.raises(PhaseClosedError) as closed:
            call()
        assert closed.value.code == "survey_closed" and closed.value.status == 423
    assert opened(world, other)["state"] == "submitted"  # a respondent can still see their receipt
    assert len(responses(world)) == 1 and responses(world, "02") == []


def change_phase(world, closes, unit=None) -> None:
    body = {"closes": closes, "reason": "Điều chỉnh thời hạn khảo sát", **({"unit": unit} if unit else {})}
    campaigns.change_phase(ADMIN, "2021", "survey", body, world.now, world.random_bytes, stores=world.stores)


def test_a_submit_decided_on_the_kept_copy_is_refused_once_the_deadline_was_shortened(world, monkeypatch):
    [token] = world.invited("01", 1)
    answers = survey_answers(opened(world, token))  # keeps the campaign and unit: the survey is open
    change_phase(world, "2022-01-19")  # closed since yesterday
    spy = Spy(monkeypatch, world.stores.survey, "record_submission", "link_in_context", "link_now")
    with pytest.raises(PhaseClosedError) as late:
        submit(world, token, answers)
    assert late.value.code == "survey_closed"
    # decided on the kept copy (open), refused by the write's gate, then decided again on fresh reads
    assert spy.calls[:3] == [("link_now", spy.calls[0][1]), ("record_submission", False),
                             ("link_in_context", spy.calls[2][1])]
    assert the_link(world).state == "sent" and responses(world) == [] and totals(world)["submitted"] == 0


def test_a_submit_decided_on_the_kept_copy_is_refused_once_the_unit_was_annulled(world, monkeypatch):
    [token] = world.invited("01", 1)
    answers = survey_answers(opened(world, token))
    integrity.annul(ADMIN, "2021", "01", "Can thiệp trái quy định", world.now, world.random_bytes,
                    stores=world.stores)
    spy = Spy(monkeypatch, world.stores.survey, "record_submission")
    with pytest.raises(PhaseClosedError) as refused:
        submit(world, token, answers)
    assert refused.value.code == "results_annulled" and spy.calls == [("record_submission", False)]
    assert the_link(world).state == "sent" and responses(world) == []


def test_a_submit_after_the_deadline_is_accepted_once_the_unit_was_extended(world, monkeypatch):
    [token, other] = world.invited("01", 2)
    answers = survey_answers(opened(world, token))  # kept: the common deadline, 20/02
    world.at(2022, 2, 22, 9)
    change_phase(world, "2022-02-28", unit="01")
    spy = Spy(monkeypatch, world.stores.survey, "record_submission", "link_in_context")
    assert submit(world, token, answers)["receipt"]
    # the kept copy said closed: decided again on fresh reads, which hold the extension
    assert [name for name, _ in spy.calls] == ["link_in_context", "record_submission"]
    assert the_link(world).state == "submitted" and len(responses(world)) == 1
    assert submit(world, other, answers)["receipt"]  # kept afresh by the first: decided on the copy at once
    assert [name for name, _ in spy.calls[2:]] == ["record_submission"]


def test_a_fresh_set_of_stores_starts_with_nothing_kept(world, monkeypatch):
    [token] = world.invited("01", 1)
    opened(world, token)
    other = World(("01",))
    other.at(2022, 1, 20, 9)
    [token_there] = other.invited("01", 1)
    spy = Spy(monkeypatch, other.stores.survey, "link_in_context", "link_now")
    submit(other, token_there, survey_answers(opened(world, token)))
    assert [name for name, _ in spy.calls] == ["link_in_context"]  # read afresh: no copy from the other set


def test_unknown_malformed_and_revoked_tokens_get_one_answer_and_guessers_429(world):
    [token] = world.invited("01", 1)
    named_but_wrong = token[:-43] + new_token(b"x" * 32)  # names a real link, with a secret it never held
    answers = []
    for guess in (new_token(b"g" * 32), "<script>", None, "", named_but_wrong):
        with pytest.raises(survey.LinkGoneError) as gone:
            opened(world, guess, ip="10.99.0.1")
        answers.append((gone.value.status, gone.value.code, gone.value.message))
    assert set(answers) == {(404, "link_unknown", survey.UNKNOWN)}
    for n in range(survey.MISS_LIMIT - len(answers)):
        with pytest.raises(survey.LinkGoneError):
            draft(world, f"doan-{n}", ip="10.99.0.1")
    with pytest.raises(RateLimitedError) as blocked:
        submit(world, "doan-nua", {}, ip="10.99.0.1")
    assert blocked.value.status == 429
    with pytest.raises(survey.LinkGoneError):
        opened(world, "doan-nua", ip="10.99.0.2")  # another address: its own count
    assert opened(world, token, ip="10.99.0.1")["state"] == "open"  # a real respondent behind that address
    world.later(minutes=10)
    with pytest.raises(survey.LinkGoneError):
        opened(world, "doan-nua", ip="10.99.0.1")  # the next window counts afresh


def test_a_token_issued_before_tokens_named_their_link_is_found_by_its_record(world):
    [token] = world.invited("01", 1)
    link = the_link(world)
    older = new_token(b"o" * 32)  # 43 characters: names no link
    world.stores.links.write_issued(
        [replace(link, token_hashes=(*link.token_hashes, token_hash(older)))],
        [Token(token_hash=token_hash(older), unit_key=link.unit_key, slot=link.slot, kind="invite",
               issued_at=world.now)])
    assert opened(world, older)["qid"] == "locality-1"
    assert submit(world, older, survey_answers(opened(world, older)))["receipt"]
    assert the_link(world).state == "submitted" and len(responses(world)) == 1
    with pytest.raises(ConflictError):
        submit(world, token, survey_answers(opened(world, token)))  # the newer token opens the same, answered link
