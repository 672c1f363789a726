"""The ministry-only responses route says nothing about when each response came: no submit time is handed out and
the order is that of the random response ids (so joined with the progress view it names nobody), stable over pages."""
from datetime import timedelta

from builders import person, survey_answers
from outbox import mail_roster, ses_backend, token_of

from chalicelib.store.models import ResponseModel

N = 8


answers = survey_answers


def test_responses_come_in_random_id_order_without_submit_times_and_page_stably(api, tokens, clock):
    ses_backend().max_send_rate = 1000
    rows = [person(i, group="1", agency="HĐND tỉnh") for i in range(1, N + 1)]
    for n, mail in enumerate(mail_roster(api, tokens, rows)):
        token = token_of(mail)
        data = api.call("GET", "/survey", headers={"x-survey-token": token}).data
        clock.at(clock() + timedelta(minutes=7))
        r = api.call("POST", "/survey/submit", {"answers": answers(data, n)}, headers={"x-survey-token": token})
        assert r.status_code == 201, r.data
    by_time = [r.response_id for r in sorted(ResponseModel.query("demo#01"), key=lambda r: r.submitted_at)]
    assert len(by_time) == N

    seen, cursor = [], None
    while True:
        page = api.call("GET", "/campaigns/demo/units/01/responses?limit=3" + (f"&cursor={cursor}" if cursor else ""),
                        token=tokens["admin"])
        assert page.status_code == 200, page.data
        assert all(set(item) >= {"id", "answers"} and not {"submitted_at", "at", "time"} & set(item)
                   for item in page.data["items"])
        seen += [item["id"] for item in page.data["items"]]
        cursor = page.data["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(by_time) and len(set(seen)) == N  # every response once over the pages
    assert seen == sorted(by_time)  # in the order of their random ids, whatever the order they came in
    whole = api.call("GET", "/campaigns/demo/units/01/responses", token=tokens["admin"]).data["items"]
    assert [item["id"] for item in whole] == seen  # the same order however it is paged
