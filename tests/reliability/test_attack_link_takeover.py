"""The link takeover, tried as a province clerk would, against the running local stack (tests/localstack.py).

The clerk (loopback 127.0.0.3, province 01) sent the roster; the ministry (127.0.0.1) dispatched; a respondent
(127.0.0.4) opened their link and saved a draft. The clerk then tries to redirect respondents' links to the
province's own mailbox: through the direct correction (refused: their invitations were delivered), through a request
nobody approved (nothing moves), by approving the request themselves (refused), and by correcting again while a
request is pending. The respondent's own link keeps working with their draft, and they submit. Then the legitimate
path: the ministry approves a request for someone who had not opened their link: a new link goes to the new address,
the old one is dead, and no draft travels with it.

Figures (attempts, let through, 5xx) are printed (pytest -s) for the README's Reliability section."""
from __future__ import annotations

import collections

import pytest

from builders import person, roster_workbook
from localstack import running_stack
from stackclient import XLSX, call, drain_until_idle, login_with_new_password, mails_of, roster_rows

PREFIX = "cchc-takeover-"
UNIT = "01"
MINISTRY, CLERK, RESPONDENT = "127.0.0.1", "127.0.0.3", "127.0.0.4"
CLERK_MAILBOX = "van.thu.snv@hanoi.gov.vn"
PASSWORDS = {"admin": "Bộ-Nội-vụ-kiểm-tra!2026", UNIT: "Sở-Nội-vụ-01-mới!2026"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with running_stack(tmp_path_factory.mktemp("takeover-stack"), PREFIX, CCHC_MAIL_CONSUMERS="1") as running:
        yield running


@pytest.fixture(scope="module")
def world(stack):
    """Roster of three sent by the clerk, dispatched by the ministry, every invitation delivered."""
    sessions = {"admin": login_with_new_password(stack, "admin", PASSWORDS["admin"], MINISTRY),
                UNIT: login_with_new_password(stack, UNIT, PASSWORDS[UNIT], CLERK)}
    rows = [person(i, group="1", agency="HĐND tỉnh", email=f"dai.bieu{i}@hanoi.gov.vn") for i in (1, 2, 3)]
    status, body = call(stack.api_url, "POST", f"/campaigns/demo/units/{UNIT}/roster/imports", bearer=sessions[UNIT],
                        raw=roster_workbook(rows), content_type=XLSX, source=CLERK)
    assert status == 200, body
    status, body = call(stack.api_url, "POST", f"/campaigns/demo/units/{UNIT}/roster/submit", bearer=sessions[UNIT],
                        body={}, source=CLERK)
    assert status == 200, body
    status, body = call(stack.api_url, "POST", "/campaigns/demo/dispatch", bearer=sessions["admin"],
                        body={"units": [UNIT]}, source=MINISTRY)
    assert status == 202, body
    drain_until_idle(stack, 120, 8)
    tokens = dict(mails_of(stack.collect_mail()))
    assert set(tokens) == {row[5] for row in rows}
    rids = {row["email"]: row["rid"] for row in roster_rows(stack.api_url, sessions[UNIT], "demo", UNIT)}
    return {"sessions": sessions, "tokens": tokens, "rids": rids}


def survey(stack, token, source=RESPONDENT):
    return call(stack.api_url, "GET", "/survey", survey_token=token, source=source)


def test_a_clerk_cannot_take_over_a_delivered_link(stack, world, capsys):
    sessions, tokens, rids = world["sessions"], world["tokens"], world["rids"]
    victim = "dai.bieu1@hanoi.gov.vn"
    status, form = survey(stack, tokens[victim])
    assert status == 200, form
    question = form["questionnaire"]["sections"][0]["questions"][0]
    draft = {question["id"]: question["options"][1]["value"]}
    status, body = call(stack.api_url, "PUT", "/survey/draft", survey_token=tokens[victim], body={"answers": draft},
                        source=RESPONDENT)
    assert status == 200, body  # the respondent has opened their link and saved a draft

    outcomes: list[tuple[str, int, dict]] = []

    def attempt(name: str, method: str, path: str, body: dict) -> tuple[int, dict]:
        status, answer = call(stack.api_url, method, path, bearer=sessions[UNIT], body=body, source=CLERK)
        outcomes.append((name, status, answer))
        return status, answer

    base = f"/campaigns/demo/units/{UNIT}"
    # 1. the direct correction, on every delivered link (the opened one and the two merely sent)
    for email in sorted(tokens):
        status, answer = attempt("direct", "POST", f"{base}/roster/{rids[email]}/email", {"email": CLERK_MAILBOX})
        assert status == 409 and answer["code"] == "email_change_needs_approval", answer
        assert "Bộ Nội vụ xem xét" in answer["message"]
    # 2. a request: accepted as a request, but nothing is re-addressed until the ministry decides
    status, request = call(stack.api_url, "POST", f"{base}/roster/{rids[victim]}/email-requests", bearer=sessions[UNIT],
                           body={"email": CLERK_MAILBOX, "reason": "Đại biểu nhờ Văn phòng nhận thư hộ."},
                           source=CLERK)
    assert status == 201 and request["state"] == "pending", request
    # 3. the clerk approving their own request, then correcting again while it is pending
    status, answer = attempt("self-approve", "POST", f"{base}/address-changes/{request['id']}/approve", {})
    assert status == 403, answer
    status, answer = attempt("direct while pending", "POST", f"{base}/roster/{rids[victim]}/email",
                             {"email": CLERK_MAILBOX})
    assert status == 409, answer
    status, answer = attempt("second request", "POST", f"{base}/roster/{rids[victim]}/email-requests",
                             {"email": "hop.thu.khac@hanoi.gov.vn", "reason": "Đổi lại hộp thư khác."})
    assert status == 409 and answer["code"] == "email_change_pending", answer

    drain_until_idle(stack, 60, 5)
    assert stack.collect_mail() == []  # nothing was mailed to anyone, least of all the clerk's mailbox
    # the respondent's link still opens, with their draft, and they answer it
    status, form = survey(stack, tokens[victim])
    assert status == 200 and form["draft"]["answers"] == draft
    answers = {}
    for section in form["questionnaire"]["sections"]:
        for q in section["questions"]:
            if q["type"] == "single":
                answers[q["id"]] = q["options"][0]["value"]
            elif q["type"] == "multi":
                answers[q["id"]] = [q["options"][0]["value"]]
            elif q["required"]:
                answers[q["id"]] = "Ý kiến của đại biểu"
    status, receipt = call(stack.api_url, "POST", "/survey/submit", survey_token=tokens[victim],
                           body={"answers": answers}, source=RESPONDENT)
    assert status == 201, receipt
    # the ministry sees the request pending, addresses masked, and the clerk's address behind it
    status, listing = call(stack.api_url, "GET", "/campaigns/demo/address-changes?state=pending",
                           bearer=sessions["admin"], source=MINISTRY)
    assert status == 200 and [c["id"] for c in listing["items"]] == [request["id"]]
    assert listing["items"][0]["new"]["masked"] == "v•••@hanoi.gov.vn" and CLERK_MAILBOX not in str(listing)

    let_through = [o for o in outcomes if o[1] < 400]
    server_errors = [o for o in outcomes if o[1] >= 500]
    assert let_through == [] and server_errors == []
    with capsys.disabled():
        print(f"\nATTACK link takeover: attempts={len(outcomes)}, let through={len(let_through)}, "
              f"5xx={len(server_errors)}, statuses={dict(collections.Counter(s for _, s, _ in outcomes))}; "
              f"respondent's link kept its draft and was submitted: 201")


def test_an_approved_request_moves_the_link_without_its_draft(stack, world):
    sessions, tokens, rids = world["sessions"], world["tokens"], world["rids"]
    mover = "dai.bieu2@hanoi.gov.vn"
    status, form = survey(stack, tokens[mover])
    question = form["questionnaire"]["sections"][0]["questions"][0]
    status, _ = call(stack.api_url, "PUT", "/survey/draft", survey_token=tokens[mover],
                     body={"answers": {question["id"]: question["options"][0]["value"]}}, source=RESPONDENT)
    assert status == 200
    base = f"/campaigns/demo/units/{UNIT}"
    status, request = call(stack.api_url, "POST", f"{base}/roster/{rids[mover]}/email-requests", bearer=sessions[UNIT],
                           body={"email": "dai.bieu2.moi@hanoi.gov.vn", "reason": "Đại biểu đổi hộp thư công vụ."},
                           source=CLERK)
    assert status == 201, request
    status, decided = call(stack.api_url, "POST", f"{base}/address-changes/{request['id']}/approve",
                           bearer=sessions["admin"], body={}, source=MINISTRY)
    assert status == 200 and decided["state"] == "approved" and decided["reissued"] == 1, decided
    drain_until_idle(stack, 60, 5)
    [(to, new_token)] = mails_of(stack.collect_mail())
    assert to == "dai.bieu2.moi@hanoi.gov.vn"
    assert survey(stack, tokens[mover])[0] == 404  # the old link is dead
    status, fresh = survey(stack, new_token, source="127.0.0.5")
    assert status == 200 and fresh["draft"] is None  # no draft carried to the new holder
    status, notes = call(stack.api_url, "GET", f"{base}/notifications", bearer=sessions[UNIT], source=CLERK)
    assert any(n["title"] == "Bộ Nội vụ đồng ý đổi email" for n in notes["items"])
