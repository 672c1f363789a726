"""Load and concurrency against the running local stack, on loopback only.

The stack of `make run` (tests/localstack.py: moto's server, the API on chalice's local server, the site) is
started on free ports; bounded bursts of concurrent HTTP requests then hit one unit's roster, the dispatch and the
survey's submit, and the invariants are checked through the API and the emulator:
- concurrent imports of one unit's roster: every request answered (200, or 409 with a Vietnamese message), and
  the roster is exactly one of the workbooks sent, whole: no mix, no duplicate, no leftover rows;
- concurrent dispatch runs, their jobs run by two queue consumers at once: one link per respondent × questionnaire,
  one mail per link;
- hundreds of concurrent submits, several per link: one response per link, every other submit 409, nothing lost;
- the processes' logs hold no password, session token, survey token or free-text answer.

The API server (dev/serve_api.py) is chalice's ThreadedHTTPServer, a thread per connection, and moto's server is
threaded too: requests overlap (the roster's 409s show it), under one interpreter lock per process. The local
SES quota is moto's 1 mail a second: one mail consumer (CCHC_MAIL_CONSUMERS=1) sends at that rate, which bounds how
many links the suite mails. Figures are printed (pytest -s) and returned in the `figures` fixture."""
from __future__ import annotations

import collections
import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest

from builders import person, roster_workbook
from localstack import running_stack
from stackclient import XLSX, Unanswered, call, drain_until_idle, login_with_new_password, mails_of, queue_depth, \
    roster_rows

PREFIX = "cchc-load-"
IMPORT_UNIT, SURVEY_UNIT = "01", "02"
WORKBOOKS, DISPATCHERS, SUBMITS_PER_LINK = 10, 6, 8
NEW_PASSWORDS = {"admin": "Quản-trị-Bộ-2026!kín", IMPORT_UNIT: "Tỉnh-01-mới!2026#an", SURVEY_UNIT: "Tỉnh-02-mới!2026#an"}
FIGURES: dict[str, dict] = {}


@pytest.fixture(scope="module")
def stack_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("load-stack")


@pytest.fixture(scope="module")
def stack(stack_dir):
    with running_stack(stack_dir, PREFIX, CCHC_MAIL_CONSUMERS="1") as running:
        yield running


@pytest.fixture(scope="module")
def secrets(stack) -> dict[str, str]:
    """Everything that must never reach a log: filled in as the suite goes."""
    found = {f"password {who}": stack.login_of(who)[1] for who in NEW_PASSWORDS}
    found.update({f"new password {who}": pw for who, pw in NEW_PASSWORDS.items()})
    return found


@pytest.fixture(scope="module")
def sessions(stack, secrets) -> dict[str, str]:
    """Each account logs in and changes its handed-out password first."""
    tokens = {who: login_with_new_password(stack, who, pw) for who, pw in NEW_PASSWORDS.items()}
    secrets.update({f"session {who}": token for who, token in tokens.items()})
    for who, pw in NEW_PASSWORDS.items():  # and the new password works
        status, body = call(stack.api_url, "POST", "/auth/login",
                            body={"username": stack.login_of(who)[0], "password": pw})
        assert status == 200, body
        tokens[who] = body["token"]
        secrets[f"second session {who}"] = body["token"]
    return tokens


def burst(requests: list, workers: int) -> tuple[list, float]:
    """Run the callables together (a barrier releases them at once); (results or exceptions, seconds)."""
    gate = threading.Barrier(min(workers, len(requests)))

    def run(request):
        try:
            gate.wait(timeout=30)
        except threading.BrokenBarrierError:
            pass
        try:
            return request()
        except Unanswered as exc:
            return exc

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(run, requests))
    return results, time.monotonic() - started


def report(name: str, **figures) -> None:
    FIGURES[name] = figures
    print(f"\nLOAD {name}: " + ", ".join(f"{k}={v}" for k, v in figures.items()))


# ---- 1. concurrent imports of one roster -------------------------------------------------------------------------

def test_concurrent_imports_of_one_units_roster_leave_exactly_one_whole_workbook(stack, sessions, capsys):
    books = {k: [person(100 * k + i, group=str(1 + i % 4), agency="UBND huyện Sóc Sơn" if i % 4 == 3 else
                        "Sở Tư pháp" if i % 4 else "HĐND tỉnh", email=f"so{k}.nguoi{i}@hanoi.gov.vn")
                 for i in range(25 + 4 * k)] for k in range(WORKBOOKS)}
    expected = {k: {row[5] for row in rows} for k, rows in books.items()}
    path = f"/campaigns/demo/units/{IMPORT_UNIT}/roster/imports?mode=replace"
    results, seconds = burst([lambda k=k: call(stack.api_url, "POST", path, bearer=sessions[IMPORT_UNIT],
                                                raw=roster_workbook(books[k]), content_type=XLSX)
                              for k in range(WORKBOOKS)], WORKBOOKS)
    unanswered = [r for r in results if isinstance(r, Exception)]
    assert unanswered == []
    statuses = collections.Counter(status for status, _ in results)
    assert set(statuses) <= {200, 409} and statuses[200] >= 1, results
    for status, body in results:
        if status == 409:  # a clear refusal: the roster changed under this import, nothing of it was stored
            assert body["code"] == "conflict" and "Danh sách vừa được thay đổi" in body["message"]
        else:
            assert body["rejected"] == 0 and body["accepted"] == body["total"]

    rows = roster_rows(stack.api_url, sessions[IMPORT_UNIT], "demo", IMPORT_UNIT)
    emails = [row["email"] for row in rows]
    assert len(emails) == len(set(emails))  # no one twice
    [winner] = [k for k, want in expected.items() if set(emails) == want]  # exactly one workbook, whole
    assert results[winner][0] == 200
    status, page = call(stack.api_url, "GET", f"/campaigns/demo/units/{IMPORT_UNIT}/roster?limit=1",
                        bearer=sessions[IMPORT_UNIT])
    assert page["total"] == len(expected[winner]) and page["version"] >= 1
    assert {c["group"]: c["count"] for c in page["counts"] if c["count"]} == dict(
        collections.Counter(str(1 + i % 4) for i in range(len(books[winner]))))
    # in the table itself: only the rows of the roster's current generation (the losers swept theirs)
    ddb = boto3.client("dynamodb", endpoint_url=stack.moto_url, region_name="ap-southeast-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    keys = [item["sk"]["S"] for p in ddb.get_paginator("query").paginate(
        TableName=f"{PREFIX}respondents", KeyConditionExpression="unit_key = :k",
        ExpressionAttributeValues={":k": {"S": f"demo#{IMPORT_UNIT}"}}) for item in p["Items"]]
    assert len(keys) == len(expected[winner]) and len({key.split("#", 1)[0] for key in keys}) == 1
    unit = ddb.get_item(TableName=f"{PREFIX}units", Key={"cid": {"S": "demo"}, "unit": {"S": IMPORT_UNIT}})["Item"]
    assert not unit.get("roster_pending", {}).get("SS")
    with capsys.disabled():
        report("imports", requests=WORKBOOKS, seconds=round(seconds, 2), answered=len(results),
               ok=statuses[200], conflict=statuses[409], unanswered=0, final_rows=len(emails), mixed=0,
               duplicates=0)


# ---- 2. concurrent dispatch runs, their jobs run by two consumers at once ----------------------------------------

ROSTER = [person(i, group="1", agency="HĐND tỉnh", email=f"dai.bieu{i}@hagiang.gov.vn") for i in range(12)] + \
         [person(50 + i, group="2", agency="Sở Y tế", email=f"lanh.dao{i}@hagiang.gov.vn") for i in range(8)]
LINKS = 12 + 8 * 2  # group 2 answers the locality and the managing-ministry questionnaires


@pytest.fixture(scope="module")
def dispatched(stack, sessions, secrets):
    """The survey unit's roster sent; DISPATCHERS concurrent dispatch requests; the jobs and mails handled by two
    queue consumers at once (jobs queue with a 3 s visibility timeout, so a job refused by the unit's lease comes
    back soon); then every mail collected from moto's SES."""
    status, body = call(stack.api_url, "POST", f"/campaigns/demo/units/{SURVEY_UNIT}/roster/imports",
                        bearer=sessions[SURVEY_UNIT], raw=roster_workbook(ROSTER), content_type=XLSX)
    assert status == 200, body
    status, body = call(stack.api_url, "POST", f"/campaigns/demo/units/{SURVEY_UNIT}/roster/submit",
                        bearer=sessions[SURVEY_UNIT], body={})
    assert status == 200, body
    sqs = boto3.client("sqs", endpoint_url=stack.moto_url, region_name="ap-southeast-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    urls = [sqs.get_queue_url(QueueName=f"{PREFIX}{name}")["QueueUrl"] for name in ("jobs", "mail")]
    sqs.set_queue_attributes(QueueUrl=urls[0], Attributes={"VisibilityTimeout": "3"})

    results, seconds = burst([lambda: call(stack.api_url, "POST", "/campaigns/demo/dispatch",
                                           bearer=sessions["admin"], body={"units": [SURVEY_UNIT]})
                              for _ in range(DISPATCHERS)], DISPATCHERS)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=2) as pool:  # two consumers, as Lambda runs jobs side by side
        first = list(pool.map(lambda _: drain_until_idle(stack, 120, 8), range(2)))
    handled, outputs = [n for n, _ in first], [out for _, out in first]
    deadline = time.monotonic() + 60
    while any(queue_depth(sqs, url) for url in urls) and time.monotonic() < deadline:  # refused jobs come back
        time.sleep(1)
        n, out = drain_until_idle(stack, 60, 8)
        handled.append(n)
        outputs.append(out)
    assert not any(queue_depth(sqs, url) for url in urls)
    mails = mails_of(stack.collect_mail())
    secrets.update({f"survey token {i}": token for i, (_, token) in enumerate(mails)})
    return {"results": results, "seconds": seconds, "drain_seconds": time.monotonic() - started, "mails": mails,
            "handled": sum(handled), "outputs": outputs}


def test_concurrent_dispatch_runs_issue_one_link_per_respondent_and_questionnaire_and_mail_it_once(
        stack, sessions, dispatched, capsys):
    results = dispatched["results"]
    assert not [r for r in results if isinstance(r, Exception)]
    statuses = collections.Counter(status for status, _ in results)
    assert set(statuses) <= {202, 409}, results
    runs = {body["run"] for status, body in results if status == 202}
    assert len(runs) == statuses[202] >= 1

    mails = dispatched["mails"]
    per_recipient = collections.Counter(to for to, _ in mails)
    expected = {row[5]: 2 if row[4] == "2" else 1 for row in ROSTER}
    assert dict(per_recipient) == expected  # one mail per link: nobody missed, nobody mailed twice
    assert len({token for _, token in mails}) == len(mails) == LINKS

    status, progress = call(stack.api_url, "GET", f"/campaigns/demo/units/{SURVEY_UNIT}/progress?limit=500",
                            bearer=sessions[SURVEY_UNIT])
    assert status == 200, progress
    links = [link for p in progress["people"] for link in p["links"]]
    assert len(links) == LINKS and {link["state"] for link in links} == {"sent"}
    assert (progress["totals"]["sent"], progress["totals"]["issued"], progress["totals"]["total"]) == (LINKS, 0, LINKS)
    status, body = call(stack.api_url, "GET", "/campaigns/demo/dispatch", bearer=sessions["admin"])
    ours = [r for r in body["runs"] if r["run"] in runs]
    assert len(ours) == len(runs) and all(r["units_done"] == 1 and r["finished"] for r in ours)
    assert sum(r["links_issued"] for r in ours) == sum(r["mails_queued"] for r in ours) == LINKS
    assert sum(r["mails_sent"] for r in ours) == LINKS
    with capsys.disabled():
        report("dispatch", requests=DISPATCHERS, seconds=round(dispatched["seconds"], 2), answered=len(results),
               accepted=statuses[202], runs=len(runs), consumers=2, messages_handled=dispatched["handled"],
               drain_seconds=round(dispatched["drain_seconds"], 1), links=len(links), mails=len(mails),
               duplicates=sum(per_recipient.values()) - LINKS, lost=0)


# ---- 3. hundreds of concurrent submits, several per link ---------------------------------------------------------

def _answers(survey: dict, pick: int, note: str) -> dict:
    out = {}
    for section in survey["questionnaire"]["sections"]:
        for q in section["questions"]:
            if q["type"] == "single":
                out[q["id"]] = q["options"][pick % len(q["options"])]["value"]
            elif q["type"] == "multi":
                out[q["id"]] = [q["options"][pick % len(q["options"])]["value"]]
            else:
                out[q["id"]] = note
    return out


def test_hundreds_of_concurrent_submits_store_exactly_one_response_per_link_and_lose_none(
        stack, sessions, dispatched, secrets, capsys):
    tokens = [token for _, token in dispatched["mails"]]
    forms = {}
    for token in tokens:
        status, survey = call(stack.api_url, "GET", "/survey", survey_token=token)
        assert status == 200 and survey["state"] == "open", survey
        forms[token] = survey
    requests, notes = [], {}
    for i, token in enumerate(tokens):
        for j in range(SUBMITS_PER_LINK):
            note = f"Góp ý riêng tư số {i}-{j}: cần rút ngắn thời gian giải quyết hồ sơ (mã KIN-{i:02d}{j})"
            notes[(i, j)] = note
            body = {"answers": _answers(forms[token], j, note)}
            requests.append(lambda token=token, body=body, i=i: call(
                stack.api_url, "POST", "/survey/submit", survey_token=token, body=body, source=f"127.0.2.{i + 1}"))
    secrets.update({f"answer {i}-{j}": note for (i, j), note in notes.items()})
    results, seconds = burst(requests, 48)
    unanswered = [r for r in results if isinstance(r, Exception)]
    assert unanswered == []
    statuses = collections.Counter(status for status, _ in results)
    assert set(statuses) <= {201, 409}, statuses
    winners: dict[int, tuple[int, str]] = {}
    for n, (status, body) in enumerate(results):
        i, j = divmod(n, SUBMITS_PER_LINK)
        if status == 201:
            assert i not in winners, f"link {i} accepted twice"
            winners[i] = (j, body["receipt"])
        else:
            assert body["code"] in ("already_submitted", "conflict") and body["message"], body
    assert sorted(winners) == list(range(len(tokens)))  # every link answered once
    for n, (status, body) in enumerate(results):
        i = n // SUBMITS_PER_LINK
        if status == 409 and body["code"] == "already_submitted":
            assert body["receipt"] == winners[i][1]  # the receipt of the submit that won
    for i, token in enumerate(tokens):  # nothing acknowledged is lost
        status, survey = call(stack.api_url, "GET", "/survey", survey_token=token)
        assert (survey["state"], survey["receipt"]) == ("submitted", winners[i][1])

    stored, cursor = [], None
    while True:
        status, page = call(stack.api_url, "GET", f"/campaigns/demo/units/{SURVEY_UNIT}/responses?limit=100"
                            + (f"&cursor={cursor}" if cursor else ""), bearer=sessions["admin"])
        assert status == 200, page
        stored += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    marks = sorted(m.group(1) for item in stored for value in item["answers"].values() if isinstance(value, str)
                   for m in [re.search(r"KIN-(\d{3})", value)] if m)
    assert len(stored) == len(tokens) and marks == sorted(f"{i:02d}{j}" for i, (j, _) in winners.items())
    status, progress = call(stack.api_url, "GET", f"/campaigns/demo/units/{SURVEY_UNIT}/progress?people=false",
                            bearer=sessions[SURVEY_UNIT])
    assert progress["totals"]["submitted"] == len(tokens) and progress["totals"]["rate"] == 100.0
    with capsys.disabled():
        report("submits", requests=len(requests), links=len(tokens), seconds=round(seconds, 2),
               per_second=round(len(requests) / seconds, 1), answered=len(results), created=statuses[201],
               conflict=statuses[409], unanswered=0, responses_stored=len(stored), duplicates=0, lost=0)


# ---- 4. the processes' logs ----------------------------------------------------------------------------------------

def test_the_stacks_process_logs_hold_no_password_token_or_answer(stack, stack_dir, dispatched, secrets, capsys):
    assert any(k.startswith("answer") for k in secrets) and any(k.startswith("survey token") for k in secrets)
    logs = {path.name: path.read_text(encoding="utf-8", errors="replace") for path in stack_dir.glob("*.log")}
    logs.update({f"queue consumer {n}": out for n, out in enumerate(dispatched["outputs"])})
    assert "api.log" in logs and "POST /survey/submit" in logs["api.log"]
    leaked = [(label, name) for name, text in logs.items() for label, secret in secrets.items()
              if secret in text or json.dumps(secret)[1:-1] in text]
    assert leaked == []
    with capsys.disabled():
        report("logs", files=len(logs), bytes=sum(len(t) for t in logs.values()), secrets_checked=len(secrets),
               leaks=0)
