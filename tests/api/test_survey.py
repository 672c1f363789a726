"""The respondent's survey through the API: reading, drafts, the exactly-once submit, abuse limits."""
import json
import threading
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from builders import person, survey_answers
from outbox import mail_roster, ses_backend, token_of

from chalicelib.store.models import DraftModel, LinkModel, ResponseModel, StatsModel

VN = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture
def links(api, tokens, clock):
    """Demo campaign, unit 01: `n` respondents of group 1 dispatched; returns their tokens from the mails."""
    def make(n: int = 2) -> list[str]:
        ses_backend().max_send_rate = 1000
        rows = [person(i, group="1", agency="HĐND tỉnh") for i in range(1, n + 1)]
        return [token_of(m) for m in mail_roster(api, tokens, rows)]
    return make


def get(api, token, ip="10.20.0.1"):
    return api.call("GET", "/survey", headers={"x-survey-token": token}, ip=ip)


answers_for = survey_answers


def test_opening_a_link_shows_the_questionnaire_and_changes_nothing(api, links):
    [token, _] = links()
    before = LinkModel.get("demo#01", LinkModel.query("demo#01").next().slot)
    r = get(api, token)
    assert r.status_code == 200, r.data
    body = r.data
    assert body["state"] == "open" and body["unit"]["name"] == "Hà Nội"
    assert body["group"]["name"] == "Đại biểu HĐND cấp tỉnh" and body["purpose_name"] == "Phiếu đánh giá địa phương"
    assert body["questionnaire"]["sample"] is True and "Bảo mật" not in body["confidentiality"][:0]
    assert all("score" not in o for s in body["questionnaire"]["sections"] for q in s["questions"]
               for o in q["options"])
    after = [link for link in LinkModel.query("demo#01")]
    assert {link.state for link in after} == {"sent"} and all(link.opened_at is None for link in after)
    assert before.state == "sent"


def test_a_draft_is_saved_restored_and_its_first_save_records_the_open(api, links):
    [token, _] = links()
    survey = get(api, token).data
    some = dict(list(answers_for(survey).items())[:3])
    r = api.call("PUT", "/survey/draft", {"answers": some}, headers={"x-survey-token": token,
                                                                      "user-agent": "Mozilla/5.0 Test"}, ip="10.20.0.7")
    assert r.status_code == 200 and r.data["saved_at_label"]
    assert get(api, token).data["draft"]["answers"] == some
    opened = [link for link in LinkModel.query("demo#01") if link.state == "opened"]
    assert len(opened) == 1 and opened[0].open_ip == "10.20.0.7" and opened[0].open_ua == "Mozilla/5.0 Test"
    assert opened[0].seen == {"10.20.0.7 | Mozilla/5.0 Test"}  # where the link is used from, for integrity
    assert int(StatsModel.get("demo#01", "all").opened) == 1


def test_a_submit_stores_the_answers_apart_from_the_identity_and_only_once(api, links, clock):
    [token, _] = links()
    survey = get(api, token).data
    api.call("PUT", "/survey/draft", {"answers": {}}, headers={"x-survey-token": token})
    clock.at(clock() + timedelta(minutes=12))
    r = api.call("POST", "/survey/submit", {"answers": answers_for(survey)}, headers={"x-survey-token": token},
                 ip="10.20.0.9")
    assert r.status_code == 201, r.data
    assert len(r.data["receipt"]) == 9 and r.data["receipt"][4] == "-"
    [response] = list(ResponseModel.query("demo#01"))
    stored = json.dumps(response.attribute_values, default=str)
    link = next(link for link in LinkModel.query("demo#01") if link.state == "submitted")
    assert link.email not in stored and link.full_name not in stored and link.rid not in stored
    assert link.seconds_spent == 720 and link.submit_ip == "10.20.0.9" and link.receipt == r.data["receipt"]
    assert DraftModel.count() == 0
    again = api.call("POST", "/survey/submit", {"answers": answers_for(survey)}, headers={"x-survey-token": token})
    assert again.status_code == 409 and again.data["code"] == "already_submitted"
    assert again.data["submitted_at_label"] == r.data["submitted_at_label"]
    reopened = get(api, token).data
    assert reopened["state"] == "submitted" and reopened["receipt"] == r.data["receipt"]
    assert len(list(ResponseModel.query("demo#01"))) == 1
    totals = StatsModel.get("demo#01", "all")
    assert (int(totals.submitted), int(totals.sent) + int(totals.opened)) == (1, 1)


def test_answers_are_checked_against_the_questionnaire_naming_each_question(api, links):
    [token, _] = links()
    survey = get(api, token).data
    first = survey["questionnaire"]["sections"][0]["questions"][0]
    partial = answers_for(survey)
    del partial[first["id"]]
    r = api.call("POST", "/survey/submit", {"answers": partial}, headers={"x-survey-token": token})
    assert r.status_code == 422 and r.data["details"][0]["question"] == first["id"]
    bad = api.call("PUT", "/survey/draft", {"answers": {first["id"]: "không-có"}}, headers={"x-survey-token": token})
    assert bad.status_code == 422 and bad.data["details"][0]["question"] == first["id"]
    assert list(ResponseModel.query("demo#01")) == []


def test_unknown_and_malformed_tokens_get_the_same_answer_and_guessers_are_stopped(api, links):
    [token, _] = links()
    unknown = get(api, "A" * 43, ip="10.99.0.1")
    malformed = get(api, "<script>", ip="10.99.0.1")
    missing = api.call("GET", "/survey", ip="10.99.0.1")
    assert unknown.status_code == malformed.status_code == missing.status_code == 404
    assert unknown.body == malformed.body == missing.body
    for i in range(17):
        assert get(api, f"guess{i}", ip="10.99.0.1").status_code == 404
    blocked = get(api, "guess-more", ip="10.99.0.1")
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
    assert get(api, "guess-more", ip="10.99.0.2").status_code == 404
    # a real respondent behind the same office address still gets in
    assert get(api, token, ip="10.99.0.1").status_code == 200


def test_after_the_deadline_a_link_no_longer_works(api, links, clock):
    [token, other] = links()
    survey = get(api, token).data
    assert api.call("POST", "/survey/submit", {"answers": answers_for(survey)},
                    headers={"x-survey-token": other}).status_code == 201
    clock.at(clock() + timedelta(days=62))
    closed = get(api, token)
    assert closed.status_code == 423 and closed.data["code"] == "survey_closed"
    late = api.call("POST", "/survey/submit", {"answers": answers_for(survey)}, headers={"x-survey-token": token})
    assert late.status_code == 423
    assert get(api, other).data["state"] == "submitted"  # a respondent can still see their receipt


def test_a_deadline_moved_or_a_unit_annulled_counts_at_the_very_next_request(api, links, tokens, clock):
    # a refusal is decided on the campaign and unit as they are now, never on a copy kept between requests
    [token, other] = links()
    survey = get(api, token).data
    clock.at(clock() + timedelta(days=62))
    assert api.call("POST", "/survey/submit", {"answers": answers_for(survey)},
                    headers={"x-survey-token": token}).status_code == 423
    closes = (clock() + timedelta(days=7)).astimezone(VN).date().isoformat()
    moved = api.call("PATCH", "/campaigns/demo/phases/survey", {"closes": closes, "reason": "Gia hạn khảo sát"},
                     token=tokens["admin"])
    assert moved.status_code == 200, moved.data
    assert api.call("POST", "/survey/submit", {"answers": answers_for(survey)},
                    headers={"x-survey-token": token}).status_code == 201
    annulled = api.call("POST", "/campaigns/demo/units/01/annulment", {"reason": "Can thiệp trái quy định"},
                        token=tokens["admin"])
    assert annulled.status_code == 201, annulled.data
    late = api.call("PUT", "/survey/draft", {"answers": {}}, headers={"x-survey-token": other})
    assert late.status_code == 423 and late.data["code"] == "results_annulled"


def test_a_submit_decided_on_the_kept_campaign_and_unit_is_refused_once_they_changed(api, links, tokens, clock):
    # the submit decides on the campaign and unit an earlier request read; its transaction checks they still hold
    [token, other] = links()
    survey = get(api, token).data
    clock.at(clock() + timedelta(days=3))
    assert get(api, token).status_code == 200  # the kept copy: the survey is open
    shortened = (clock() - timedelta(days=1)).astimezone(VN).date().isoformat()
    moved = api.call("PATCH", "/campaigns/demo/phases/survey", {"closes": shortened, "reason": "Rút ngắn thời hạn"},
                     token=tokens["admin"])
    assert moved.status_code == 200, moved.data
    late = api.call("POST", "/survey/submit", {"answers": answers_for(survey)}, headers={"x-survey-token": token})
    assert late.status_code == 423 and late.data["code"] == "survey_closed", late.data
    reopened = (clock() + timedelta(days=7)).astimezone(VN).date().isoformat()
    assert api.call("PATCH", "/campaigns/demo/phases/survey", {"closes": reopened, "reason": "Gia hạn khảo sát"},
                    token=tokens["admin"]).status_code == 200
    assert get(api, other).status_code == 200  # kept again, open
    annulled = api.call("POST", "/campaigns/demo/units/01/annulment", {"reason": "Can thiệp trái quy định"},
                        token=tokens["admin"])
    assert annulled.status_code == 201, annulled.data
    refused = api.call("POST", "/survey/submit", {"answers": answers_for(survey)}, headers={"x-survey-token": other})
    assert refused.status_code == 423 and refused.data["code"] == "results_annulled", refused.data
    assert ResponseModel.count("demo#01") == 0
    assert {link.state for link in LinkModel.query("demo#01")} == {"sent"}


def test_a_token_issued_before_tokens_named_their_link_still_opens_it(api, links):
    from chalicelib.domain.credentials import new_token, token_hash
    from chalicelib.store.models import TokenModel

    [token, _] = links()
    link = next(iter(LinkModel.query("demo#01")))
    older = new_token(b"o" * 32)  # 43 characters, no link named: found through its token record
    TokenModel(token_hash=token_hash(older), unit_key=link.unit_key, slot=link.slot, kind="invite",
               issued_at=link.issued_at, expires_at=link.issued_at + timedelta(days=90)).save()
    link.update(actions=[LinkModel.token_hashes.set(LinkModel.token_hashes.append([token_hash(older)]))])
    assert get(api, older).status_code == 200
    submitted = api.call("POST", "/survey/submit", {"answers": answers_for(get(api, older).data)},
                         headers={"x-survey-token": older})
    assert submitted.status_code == 201, submitted.data
    assert ResponseModel.count("demo#01") == 1


def test_a_link_read_while_a_transaction_holds_it_is_read_item_by_item(api, links, monkeypatch):
    # DynamoDB refuses a TransactGetItems that meets a transaction under way on one of its items
    from pynamodb.exceptions import TransactGetError
    from pynamodb.transactions import TransactGet

    [token, _] = links()
    survey = get(api, token).data

    def conflict(self):
        raise TransactGetError("TransactionCanceledException: TransactionConflict")

    monkeypatch.setattr(TransactGet, "_commit", conflict)
    assert get(api, token).data["qid"] == survey["qid"]
    r = api.call("POST", "/survey/submit", {"answers": answers_for(survey)}, headers={"x-survey-token": token})
    assert r.status_code == 201, r.data


def test_a_body_over_the_limit_is_refused(api, links):
    [token, _] = links()
    r = api.call("PUT", "/survey/draft", raw=b'{"answers": {"x": "' + b"a" * 300_000 + b'"}}',
                 headers={"x-survey-token": token})
    assert r.status_code == 413


@pytest.fixture
def atomic_requests(monkeypatch):
    """DynamoDB applies each request atomically; moto in-process does not guard its state against threads, so a
    lock around each emulated request gives it the service's per-request atomicity (and nothing more)."""
    from moto.core.botocore_stubber import BotocoreStubber

    lock = threading.Lock()
    original = BotocoreStubber.__call__

    def serialized(self, event_name, request, **kwargs):
        with lock:
            return original(self, event_name, request, **kwargs)

    monkeypatch.setattr(BotocoreStubber, "__call__", serialized)


@pytest.mark.slow
def test_two_hundred_concurrent_submits_at_twenty_links_store_exactly_twenty_responses(api, links, atomic_requests):
    tokens = links(20)
    assert len(tokens) == 20
    survey = get(api, tokens[0]).data
    answers = answers_for(survey)
    statuses, lock = [], threading.Lock()
    barrier = threading.Barrier(40)

    def fire(token: str) -> None:
        barrier.wait()
        r = api.call("POST", "/survey/submit", {"answers": answers}, headers={"x-survey-token": token})
        with lock:
            statuses.append(r.status_code)

    for wave in range(5):  # 5 waves of 40 threads: 10 submits per link in all
        threads = [threading.Thread(target=fire, args=(tokens[(wave * 40 + i) % 20],)) for i in range(40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(statuses) == 200
    assert statuses.count(201) == 20 and statuses.count(409) == 180
    assert len(list(ResponseModel.query("demo#01"))) == 20
    assert int(StatsModel.get("demo#01", "all").submitted) == 20
