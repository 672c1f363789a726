"""Faults: the mail service failing, queue jobs dying midway, processes killed with kill -9.

Fault model: AWS (moto here) does not crash; what dies is our code, at any instant, as a Lambda does (timeout,
out of memory, an exception from an AWS call). SQS then delivers the message again once its visibility timeout
has passed. Every scenario ends by checking the invariants through the API and the emulator: one link per
respondent × questionnaire, every link mailed with its live token, no response lost, counters that match. A mail
can be sent twice only when the sender dies between handing it to the mail server and recording it (no mail API
takes an idempotency key): at most one per kill, counted and bounded below.

1. In-process moto (tests/conftest.py): SES answering Throttling, MessageRejected, ServiceUnavailable and dropped
   connections (botocore event hooks at the AWS API boundary); a dispatch job failing at each step of its work
   (an AWS call raising) and delivered again.
2. The running local stack (tests/localstack.py) with its API server and queue worker started here so that they
   can be killed with SIGKILL mid-operation and started again, moto running on: a roster import, a dispatch and
   its mails, survey submits. Then the `make run` launcher itself (dev/run_local.py) killed with SIGKILL and
   restarted: what was acknowledged before its last snapshot is still there.

The scenarios run one after the other, never two at once: `make test` hands the whole file to one worker, in its
order (tests/conftest.py), while the other worker runs other files.

Figures of each scenario are printed (pytest -s shows them) and checked."""
from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timezone

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import EndpointConnectionError

from builders import person, roster_workbook
from localstack import ROOT, running_stack, with_shared_loader
from stackclient import (SmtpSink, Unanswered, api_process, call, login, queue_depth, roster_rows, wait_until,
                         worker_process)
from outbox import REGION, sent_mails, token_of
from chalicelib.config import settings
from chalicelib.domain.credentials import token_hash
from chalicelib.store.models import AuditModel, DispatchModel, LinkModel, StatsModel, TokenModel
from dev.stack import free_port, port_is_free, wait_for_http

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(autouse=True)
def fast_ses(monkeypatch):
    """The mock account's SES sending quota: 1,000 mails a second, as an account with production access has a
    high rate (moto 5 answers GetSendQuota with 1 a second whatever its backend says). The app still paces
    itself at the quota it reads, shared by its mail consumers."""
    from moto.ses import models

    original = models.SESQuota.__init__

    def init(self, sent: int) -> None:
        original(self, sent)
        self.max_send_rate = 1000

    monkeypatch.setattr(models.SESQuota, "__init__", init)


# ---- helpers: faults at the AWS API boundary, and SQS delivery with redelivery -----------------------------------

def aws_error(code: str, message: str, status: int = 400):
    """What a before-call hook returns to make botocore raise ClientError(code) without calling the service."""
    return (AWSResponse("https://aws.invalid", status, {}, None),
            {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}})


@contextmanager
def hooked(client, event: str, handler, first: bool = False):
    """`handler` on one botocore client's `event` for the duration of the block."""
    (client.meta.events.register_first if first else client.meta.events.register)(event, handler)
    try:
        yield
    finally:
        client.meta.events.unregister(event, handler)


def deliver(api, queue: str, handler: str, limit: int = 50) -> dict:
    """Feed `queue` to the app's handler as the SQS event source does: delete on success; on failure leave the
    message, which SQS delivers again after the visibility timeout (here at once, as if it had passed)."""
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    seen = {"handled": 0, "failed": 0}
    for _ in range(limit):
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=0).get("Messages", [])
        if not got:
            return seen
        event = api.client.events.generate_sqs_event(message_bodies=[got[0]["Body"]], queue_name=queue)
        try:
            api.client.lambda_.invoke(handler, event)
        except Exception:
            seen["failed"] += 1
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"], VisibilityTimeout=0)
            continue
        sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
        seen["handled"] += 1
    raise AssertionError(f"{queue} still had messages after {limit} deliveries: {seen}")


def roster_sent(api, tokens, rows: list[list], unit: str = "01") -> None:
    r = api.call("POST", f"/campaigns/demo/units/{unit}/roster/imports", token=tokens[unit],
                 headers={"content-type": XLSX}, raw=roster_workbook(rows))
    assert r.status_code == 200, r.data
    assert api.call("POST", f"/campaigns/demo/units/{unit}/roster/submit", token=tokens[unit]).status_code == 200


def mails_by_recipient() -> collections.Counter:
    return collections.Counter(str(m["To"]) for m in sent_mails())


def assert_exactly_one_mailed_link_each(api, unit_key: str, expected_slots: int, mails: collections.Counter) -> None:
    """One link per respondent × questionnaire, each sent once, its mailed token the live one, counters exact."""
    links = list(LinkModel.query(unit_key))
    assert len(links) == len({link.slot for link in links}) == expected_slots
    assert collections.Counter(link.state for link in links) == {"sent": expected_slots}
    assert all(len(link.token_hashes) == 1 for link in links)
    assert sum(mails.values()) == expected_slots and set(mails.values()) == {1}
    live = {link.token_hashes[0] for link in links}
    mailed = {token_hash(token_of(m)) for m in sent_mails()}
    assert mailed == live  # every mail carries the link's live token: none dead, none missing
    assert sum(1 for _ in TokenModel.scan(TokenModel.token_hash.is_in(*live))) == expected_slots
    counters = {item.key: {s: int(getattr(item, s)) for s in ("issued", "sent", "failed")}
                for item in StatsModel.query(unit_key)}
    by_group = [c for key, c in counters.items() if key != "all"]
    assert counters["all"] == {"issued": 0, "sent": expected_slots, "failed": 0}
    assert {k: sum(c[k] for c in by_group) for k in ("issued", "sent", "failed")} == counters["all"]


# ---- 1a. the mail service failing --------------------------------------------------------------------------------

def test_throttled_rejected_unavailable_and_disconnected_sends_are_retried_or_recorded_never_lost_or_doubled(
        api, tokens, capsys):
    from chalicelib.store import mailer

    rows = [person(i, group="1", agency="HĐND tỉnh") for i in range(1, 9)]
    rows.append(person(9, group="1", agency="HĐND tỉnh", email="hop.thu.khong.ton.tai@hanoi.gov.vn"))
    roster_sent(api, tokens, rows)
    assert api.call("POST", "/campaigns/demo/dispatch", {}, token=tokens["admin"]).status_code == 202
    assert deliver(api, settings().jobs_queue, "jobs") == {"handled": 1, "failed": 0}

    calls = collections.Counter()
    injected = collections.Counter()

    def faults(params, **_):
        """SES as it misbehaves: slows us down, refuses an address for good, is briefly unavailable."""
        calls["SendRawEmail"] += 1
        n = calls["SendRawEmail"]
        if n in (1, 2):
            injected["Throttling"] += 1
            return aws_error("Throttling", "Maximum sending rate exceeded.")
        if "hop.thu.khong.ton.tai" in json.dumps(params, default=str):
            injected["MessageRejected"] += 1
            return aws_error("MessageRejected", "Email address is not verified: hop.thu.khong.ton.tai@hanoi.gov.vn")
        if n == 6:
            injected["ServiceUnavailable"] += 1
            return aws_error("ServiceUnavailable", "Service is unavailable. Please try again later.", 503)
        return None

    def disconnect(request, **_):
        """The connection drops before SES answers, twice in a row (botocore retries it)."""
        if calls["SendRawEmail"] == 8 and injected["connection"] < 2:
            injected["connection"] += 1
            raise EndpointConnectionError(endpoint_url=request.url)
        return None

    ses = mailer._ses()
    with hooked(ses, "before-call.ses.SendRawEmail", faults), \
            hooked(ses, "before-send.ses.SendRawEmail", disconnect, first=True):
        delivered = deliver(api, settings().mail_queue, "mail")
    assert delivered == {"handled": 1, "failed": 1}  # the batch hit ServiceUnavailable once and came back
    assert injected == {"Throttling": 2, "MessageRejected": 1, "ServiceUnavailable": 1, "connection": 2}

    mails = mails_by_recipient()
    good = {f"nguoi{i}@hagiang.gov.vn" for i in range(1, 9)}
    assert set(mails) == good and set(mails.values()) == {1}  # nobody missed, nobody twice, the bad address never
    links = {link.email: link for link in LinkModel.query("demo#01")}
    assert {e: links[e].state for e in good} == dict.fromkeys(good, "sent")
    failed = links["hop.thu.khong.ton.tai@hanoi.gov.vn"]
    assert failed.state == "failed" and "not verified" in failed.problem  # recorded, shown as "Gửi lỗi"
    run = next(DispatchModel.query("demo"))
    assert (int(run.mails_queued), int(run.mails_sent), int(run.mails_failed)) == (9, 8, 1)
    totals = StatsModel.get("demo#01", "all")
    assert (int(totals.issued), int(totals.sent), int(totals.failed)) == (0, 8, 1)
    progress = api.call("GET", "/campaigns/demo/units/01/progress", token=tokens["01"]).data
    assert (progress["totals"]["sent"], progress["totals"]["failed"]) == (8, 1)
    with capsys.disabled():
        print(f"\nFAULTS mail: {sum(injected.values())} injected ({dict(injected)}), {calls['SendRawEmail']} SES "
              f"calls, 9 links, 8 mails delivered once, 1 recorded as failed, lost 0, duplicated 0")


def test_throttling_that_outlasts_the_retries_hands_the_batch_back_and_nothing_is_lost_or_doubled(
        api, tokens, clock):
    from chalicelib.services import mailing
    from chalicelib.store import mailer

    roster_sent(api, tokens, [person(i, group="1", agency="HĐND tỉnh") for i in range(1, 6)])
    assert api.call("POST", "/campaigns/demo/dispatch", {}, token=tokens["admin"]).status_code == 202
    deliver(api, settings().jobs_queue, "jobs")
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.get_queue_url(QueueName=settings().mail_queue)["QueueUrl"]
    message = sqs.receive_message(QueueUrl=url)["Messages"][0]
    throttled = collections.Counter()

    def throttle_from_the_third(**_):
        throttled["calls"] += 1
        if throttled["calls"] >= 3:
            throttled["throttled"] += 1
            return aws_error("Throttling", "Maximum sending rate exceeded.")
        return None

    fake = {"t": 0.0}
    mailing._pace = None  # paced on the test's clock from here

    def sleep(seconds: float) -> None:
        fake["t"] += seconds

    with hooked(mailer._ses(), "before-call.ses.SendRawEmail", throttle_from_the_third):
        with pytest.raises(mailer.ThrottledError):  # the handler fails: SQS keeps the batch
            mailing.send_batch(json.loads(message["Body"]), clock, monotonic=lambda: fake["t"], sleep=sleep)
    assert throttled["throttled"] == mailing.MAX_ATTEMPTS and len(sent_mails()) == 2
    mailing._pace = None  # the sender's pacing ran on the test's clock above; the real one takes over
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    assert deliver(api, settings().mail_queue, "mail") == {"handled": 1, "failed": 0}
    assert_exactly_one_mailed_link_each(api, "demo#01", 5, mails_by_recipient())


# ---- 1b. a dispatch job that dies midway and is delivered again --------------------------------------------------

CHUNK = 30  # respondents per round of the job (500 in the code; smaller here, each mail sent is a transaction):
ROWS = 70  # three rounds of 30, 30 and 10, each chunk's links written 25 then 5, its mails queued in one message


def _model_client(model):
    return model._get_connection().connection.client


POINTS = {
    # where the job dies: (which client, which call, which occurrence of it)
    "after the first links, before their counters": ("transactions", "TransactWriteItems", 1),
    "after the first chunk's mails, before it is recorded as done": ("transactions", "TransactWriteItems", 2),
    "after the first counters, before their mails are queued": ("sqs", "SendMessageBatch", 1),
    "half-way through writing the second chunk's links": ("links", "BatchWriteItem", 4),
    "after the second chunk's counters, before its mails": ("sqs", "SendMessageBatch", 2),
    "at the very end, before the unit is recorded as done": ("audit", "PutItem", 1),
}


@pytest.mark.parametrize("point", list(POINTS))
def test_a_dispatch_job_that_dies_midway_and_is_delivered_again_issues_and_mails_every_link_once(
        api, tokens, point, capsys, monkeypatch):
    from chalicelib.services import dispatch
    from chalicelib.store import queues
    from chalicelib.store.connection import transactions

    monkeypatch.setattr(dispatch, "CHUNK", CHUNK)
    roster_sent(api, tokens, [person(i, group="1", agency="HĐND tỉnh") for i in range(ROWS)])
    assert api.call("POST", "/campaigns/demo/dispatch", {}, token=tokens["admin"]).status_code == 202
    target, operation, occurrence = POINTS[point]
    client = {"transactions": lambda: transactions().client, "links": lambda: _model_client(LinkModel),
              "audit": lambda: _model_client(AuditModel), "sqs": queues._sqs}[target]()
    seen = collections.Counter()

    def die(params, **_):
        if target == "sqs" and settings().mail_queue not in json.dumps(params, default=str):
            return None  # only the mail queue's sends
        seen[operation] += 1
        if seen[operation] == occurrence:
            return aws_error("InternalServerError", "Lambda ran out of time here.", 500)
        return None

    with hooked(client, f"before-call.{client.meta.service_model.service_id.hyphenize()}.{operation}", die):
        delivered = deliver(api, settings().jobs_queue, "jobs")
    assert delivered == {"handled": 1, "failed": 1}, point
    assert deliver(api, settings().mail_queue, "mail", limit=200)["failed"] == 0
    mails = mails_by_recipient()
    assert_exactly_one_mailed_link_each(api, "demo#01", ROWS, mails)
    run = next(DispatchModel.query("demo"))
    assert (int(run.units_done), int(run.links_issued), int(run.mails_sent)) == (1, ROWS, ROWS)
    with capsys.disabled():
        print(f"\nFAULTS job died {point}: {ROWS} links, {sum(mails.values())} mails, lost 0, duplicated 0")


def test_a_job_delivered_twice_after_it_succeeded_changes_nothing(api, tokens):
    roster_sent(api, tokens, [person(i, group="1", agency="HĐND tỉnh") for i in range(1, 5)])
    assert api.call("POST", "/campaigns/demo/dispatch", {}, token=tokens["admin"]).status_code == 202
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.get_queue_url(QueueName=settings().jobs_queue)["QueueUrl"]
    job = sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"]
    for _ in range(2):  # SQS is at-least-once: the same message may come twice
        api.client.lambda_.invoke("jobs", api.client.events.generate_sqs_event(message_bodies=[job], queue_name="j"))
    deliver(api, settings().mail_queue, "mail")
    assert_exactly_one_mailed_link_each(api, "demo#01", 4, mails_by_recipient())
    run = next(DispatchModel.query("demo"))
    assert (int(run.units_done), int(run.links_issued), int(run.mails_queued), int(run.mails_sent)) == (1, 4, 4, 4)


# ---- 2. the running stack: the API and the worker killed with SIGKILL and started again ------------------------------

RUNNING = "cchc-fault-"
VISIBILITY = 4  # seconds before SQS hands a killed worker's message out again (the bootstrap's 960, on AWS 6 x the
#                 handler's timeout: shortened here through SQS's own API so the suite need not wait)
ROSTER_UNIT, DISPATCH_UNIT = "04", "06"
DISPATCH_ROWS = 300  # one chunk of the job (the resumption of later chunks is checked in-process above)


def moto_client(stack, service: str):
    return boto3.client(service, endpoint_url=stack.moto_url, region_name="ap-southeast-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture(scope="module")
def sink(tmp_path_factory):
    server = SmtpSink(tmp_path_factory.mktemp("smtp-tls"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def killable(tmp_path_factory, sink):
    """The local stack (moto keeps running throughout) with its mail going to an SMTP server at 200 mails a second
    (CCHC_MAIL_MODE=smtp: a government mail server; moto's SES allows 1 a second), a short visibility timeout on
    the queues, and an API server and a worker started here, to be killed."""
    tmp = tmp_path_factory.mktemp("fault-stack")
    with running_stack(tmp, RUNNING, CCHC_MAIL_MODE="smtp", CCHC_SMTP_HOST="127.0.0.1",
                       CCHC_SMTP_PORT=str(sink.port), CCHC_SMTP_CA_BUNDLE=sink.ca_bundle,
                       CCHC_MAIL_MAX_RATE="200") as stack:
        sqs = moto_client(stack, "sqs")
        for name in ("jobs", "mail"):
            sqs.set_queue_attributes(QueueUrl=sqs.get_queue_url(QueueName=f"{RUNNING}{name}")["QueueUrl"],
                                     Attributes={"VisibilityTimeout": str(VISIBILITY)})
        api = api_process(stack, free_port(), tmp / "killable-api.log").start()
        worker = worker_process(stack, tmp / "killable-worker.log")
        try:
            yield collections.namedtuple("Killable", "stack api worker sink ddb sqs tmp")(
                stack, api, worker, sink, moto_client(stack, "dynamodb"), sqs, tmp)
        finally:
            worker.stop()
            api.stop()


def unit_item(env, unit: str) -> dict:
    return env.ddb.get_item(TableName=f"{RUNNING}units", Key={"cid": {"S": "demo"}, "unit": {"S": unit}},
                            ConsistentRead=True).get("Item", {})


def generations(env, unit: str) -> collections.Counter:
    """Rows of the unit's roster table partition, by generation (what the API never shows: it reads the current)."""
    found = collections.Counter()
    for page in env.ddb.get_paginator("query").paginate(
            TableName=f"{RUNNING}respondents", KeyConditionExpression="unit_key = :k", ProjectionExpression="sk",
            ExpressionAttributeValues={":k": {"S": f"demo#{unit}"}}, ConsistentRead=True):
        found.update(item["sk"]["S"].split("#", 1)[0] for item in page["Items"])
    return found


def book(n: int, size: int) -> list[list]:
    return [person(i, group=str(1 + i % 4), agency="UBND huyện Kiến Xương" if i % 4 == 3 else
                   "Sở Tài chính" if i % 4 else "HĐND tỉnh", email=f"lan{n}.nguoi{i}@thaibinh.gov.vn")
            for i in range(size)]


def test_kill_9_of_the_api_during_roster_imports_leaves_the_old_roster_or_the_new_one_whole(killable, capsys):
    env, stack = killable, killable.stack
    token = login(stack.api_url, *stack.login_of(ROSTER_UNIT))
    path = f"/campaigns/demo/units/{ROSTER_UNIT}/roster/imports?mode=replace"
    status, body = call(stack.api_url, "POST", path, bearer=token, raw=roster_workbook(book(0, 40)), content_type=XLSX)
    assert status == 200, body
    current = {row[5] for row in book(0, 40)}

    def new_rows_written(old_gen: str):
        pending = set(unit_item(env, ROSTER_UNIT).get("roster_pending", {}).get("SS", [])) - {old_gen}
        return any(generations(env, ROSTER_UNIT)[gen] >= 300 for gen in pending)

    moments = {"while the workbook is read": lambda old_gen, t0: time.monotonic() - t0 > 0.25,
               "while the new rows are written": lambda old_gen, t0: new_rows_written(old_gen),
               "right after the new roster is swapped in":
                   lambda old_gen, t0: unit_item(env, ROSTER_UNIT)["roster_gen"]["S"] != old_gen}
    outcomes = []
    for n, (moment, ready) in enumerate(moments.items(), start=1):
        rows = book(n, 1500)
        new = {row[5] for row in rows}
        old_gen = unit_item(env, ROSTER_UNIT)["roster_gen"]["S"]
        answer: dict = {}

        def post(rows=rows, answer=answer):
            try:
                answer["reply"] = call(env.api.base, "POST", path, bearer=token,
                                       raw=roster_workbook(rows), content_type=XLSX)
            except Unanswered as exc:
                answer["error"] = exc

        thread = threading.Thread(target=post)
        started = time.monotonic()
        thread.start()
        hit = wait_until(lambda ready=ready, old_gen=old_gen, started=started, thread=thread: ready(old_gen, started)
                         or ("finished" if not thread.is_alive() else None), timeout=60, interval=0.03, what=moment)
        env.api.kill9()
        thread.join(30)
        env.api.start()
        emails = [row["email"] for row in roster_rows(stack.api_url, token, "demo", ROSTER_UNIT)]
        assert len(emails) == len(set(emails)), moment
        assert set(emails) in (current, new), moment  # the old roster or the new one, whole
        if "reply" in answer:
            assert answer["reply"][0] == 200 and set(emails) == new, moment  # acknowledged: kept
        status, page = call(stack.api_url, "GET", f"/campaigns/demo/units/{ROSTER_UNIT}/roster?limit=1", bearer=token)
        assert page["total"] == len(emails)
        outcomes.append({"moment": moment, "killed": hit is True, "acknowledged": "reply" in answer,
                         "roster": "new" if set(emails) == new else "old"})
        current = set(emails)

    # the next import through the restarted API sweeps the rows of every generation a kill abandoned
    status, body = call(env.api.base, "POST", path, bearer=token, raw=roster_workbook(book(9, 60)),
                        content_type=XLSX)
    assert status == 200, body
    emails = {row["email"] for row in roster_rows(stack.api_url, token, "demo", ROSTER_UNIT)}
    assert emails == {row[5] for row in book(9, 60)}
    item = unit_item(env, ROSTER_UNIT)
    assert not item.get("roster_pending", {}).get("SS")
    rows_by_gen = generations(env, ROSTER_UNIT)
    assert rows_by_gen[item["roster_gen"]["S"]] == 60
    # rows of a generation replaced while the API died between the swap and the sweep are never read again (every
    # read is by the current generation) but stay in the table: reported, not hidden
    leftovers = sum(n for gen, n in rows_by_gen.items() if gen != item["roster_gen"]["S"])
    with capsys.disabled():
        print(f"\nFAULTS roster import: {len(outcomes)} kill -9 of the API ({outcomes}); roster always old or new "
              f"whole, acknowledged imports kept, half rosters 0; replaced rows left in the table: {leftovers}")


def links_in_moto(env, unit: str) -> list[dict]:
    items = []
    for page in env.ddb.get_paginator("query").paginate(
            TableName=f"{RUNNING}links", KeyConditionExpression="unit_key = :k", ConsistentRead=True,
            ExpressionAttributeValues={":k": {"S": f"demo#{unit}"}}):
        items += page["Items"]
    return items


@pytest.fixture(scope="module")
def dispatch_killed(killable):
    """A unit of DISPATCH_ROWS respondents dispatched while the worker is killed three times: while the links
    are written, and twice while the mails are sent. After each kill the worker starts again; SQS hands the job and
    the mails out again after VISIBILITY."""
    env, stack = killable, killable.stack
    province = login(stack.api_url, *stack.login_of(DISPATCH_UNIT))
    rows = [person(i, group="1", agency="HĐND tỉnh", email=f"dai.bieu{i}@thaibinh.gov.vn") for i in range(DISPATCH_ROWS)]
    status, body = call(stack.api_url, "POST", f"/campaigns/demo/units/{DISPATCH_UNIT}/roster/imports",
                        bearer=province, raw=roster_workbook(rows), content_type=XLSX)
    assert status == 200, body
    assert call(stack.api_url, "POST", f"/campaigns/demo/units/{DISPATCH_UNIT}/roster/submit", bearer=province,
                body={})[0] == 200
    admin = login(stack.api_url, *stack.login_of("admin"))
    status, run = call(stack.api_url, "POST", "/campaigns/demo/dispatch", bearer=admin,
                       body={"units": [DISPATCH_UNIT]})
    assert status == 202, run
    started = time.monotonic()
    env.worker.start()
    stages = {"while the links are written": lambda: len(links_in_moto(env, DISPATCH_UNIT)) >= 100,
              "while the mails are sent": lambda: len(env.sink.messages) >= 80,
              "while the mails are sent, again": lambda: len(env.sink.messages) >= 200}
    kills = []
    for stage, ready in stages.items():
        wait_until(ready, timeout=120, interval=0.05, what=stage)
        env.worker.kill9()
        kills.append({"stage": stage, "links": len(links_in_moto(env, DISPATCH_UNIT)),
                      "mails": len(env.sink.messages)})
        # A killed Lambda keeps the unit's dispatch lease until it expires (15 minutes, the jobs' time limit),
        # before SQS, waiting 6 x that limit, delivers the job again. Here SQS waits VISIBILITY seconds, so the
        # expiry is played out too.
        env.ddb.update_item(TableName=f"{RUNNING}units", UpdateExpression="REMOVE dispatch_lease",
                            Key={"cid": {"S": "demo"}, "unit": {"S": DISPATCH_UNIT}})
        env.worker.start()
    urls = [env.sqs.get_queue_url(QueueName=f"{RUNNING}{name}")["QueueUrl"] for name in ("jobs", "mail")]
    wait_until(lambda: not any(queue_depth(env.sqs, url) for url in urls), timeout=180, interval=0.5,
               what="every job and mail handled")
    env.worker.stop()
    return {"run": run["run"], "admin": admin, "province": province, "kills": kills,
            "seconds": time.monotonic() - started, "mails": env.sink.mails()}


def test_kill_9_of_the_worker_during_a_dispatch_and_its_mails_leaves_one_mailed_link_per_respondent(
        killable, dispatch_killed, capsys):
    env, stack = killable, killable.stack
    links = links_in_moto(env, DISPATCH_UNIT)
    slots = [item["slot"]["S"] for item in links]
    assert len(slots) == len(set(slots)) == DISPATCH_ROWS  # no duplicate link, none missing
    assert collections.Counter(item["state"]["S"] for item in links) == {"sent": DISPATCH_ROWS}
    live = {item["token_hashes"]["L"][0]["S"]: item["email"]["S"] for item in links}
    assert all(len(item["token_hashes"]["L"]) == 1 for item in links)
    mails = dispatch_killed["mails"]
    per_token = collections.Counter(token_hash(token) for _, token in mails)
    assert set(live) <= set(per_token)  # every link's live token was mailed: nothing lost
    assert all(to == live[h] for to, token in mails for h in [token_hash(token)] if h in live)
    repeated = sum(n - 1 for h, n in per_token.items() if h in live)  # a mail handed to the server as the worker died
    superseded = sum(n for h, n in per_token.items() if h not in live)  # a token replaced when a job was retried
    assert repeated + superseded <= len(dispatch_killed["kills"])  # at most the mail in flight at each kill

    status, progress = call(stack.api_url, "GET", f"/campaigns/demo/units/{DISPATCH_UNIT}/progress?people=false",
                            bearer=dispatch_killed["province"])
    assert (progress["totals"]["sent"], progress["totals"]["issued"]) == (DISPATCH_ROWS, 0)
    status, runs = call(stack.api_url, "GET", "/campaigns/demo/dispatch", bearer=dispatch_killed["admin"])
    [run] = [r for r in runs["runs"] if r["run"] == dispatch_killed["run"]]
    assert (run["units_done"], run["links_issued"], run["mails_queued"]) == (1, DISPATCH_ROWS, DISPATCH_ROWS)
    assert run["finished"] and run["mails_sent"] >= DISPATCH_ROWS
    with capsys.disabled():
        print(f"\nFAULTS dispatch: {len(dispatch_killed['kills'])} kill -9 of the worker "
              f"({dispatch_killed['kills']}), {DISPATCH_ROWS} links (duplicates 0, missing 0), {len(mails)} mails in "
              f"{dispatch_killed['seconds']:.0f}s, lost 0, repeated at a kill {repeated}, with a superseded token "
              f"{superseded}")


def test_kill_9_of_the_api_during_concurrent_submits_loses_no_acknowledged_response(killable, dispatch_killed, capsys):
    env, stack = killable, killable.stack
    tokens = sorted({token for _, token in dispatch_killed["mails"]})[:60]
    status, survey = call(stack.api_url, "GET", "/survey", survey_token=tokens[0])
    answers = {q["id"]: q["options"][0]["value"] if q["type"] == "single" else
               [q["options"][0]["value"]] if q["type"] == "multi" else "Ý kiến gửi lúc máy chủ bị tắt"
               for section in survey["questionnaire"]["sections"] for q in section["questions"]}
    live = {}
    for token in tokens:  # only the links' live tokens (a superseded one would be answered 404)
        if call(stack.api_url, "GET", "/survey", survey_token=token)[0] == 200:
            live[token] = True
    tokens = list(live)
    replies: dict[tuple[str, int], tuple[int, dict]] = {}
    lost_connections = 0

    def submit(key: tuple[str, int]):
        return call(env.api.base, "POST", "/survey/submit", survey_token=key[0], body={"answers": answers},
                    source=f"127.0.3.{tokens.index(key[0]) + 1}")

    keys = [(token, n) for token in tokens for n in range(3)]
    with ThreadPoolExecutor(max_workers=24) as pool:
        futures = {key: pool.submit(submit, key) for key in keys}
        wait_until(lambda: sum(f.done() for f in futures.values()) >= 30, timeout=60, interval=0.01,
                   what="the first answers")
        env.api.kill9()  # with some submits answered, some in flight and the rest still to be sent
        for key, future in futures.items():
            try:
                replies[key] = future.result(timeout=60)
            except Unanswered:
                lost_connections += 1
    env.api.start()
    again = [key for key in keys if key not in replies]  # what the form does when the connection drops
    with ThreadPoolExecutor(max_workers=12) as pool:
        replies.update(zip(again, pool.map(submit, again)))
    assert {status for status, _ in replies.values()} <= {201, 409}
    receipts = {}
    for (token, _), (status, body) in replies.items():
        if status == 201:
            assert token not in receipts, "two submits of one link acknowledged"
            receipts[token] = body["receipt"]
    for token in tokens:  # every link ends with one response; the acknowledged one is the one kept
        status, survey = call(stack.api_url, "GET", "/survey", survey_token=token)
        assert survey["state"] == "submitted"
        if token in receipts:
            assert survey["receipt"] == receipts[token]
    stored = env.ddb.query(TableName=f"{RUNNING}responses", KeyConditionExpression="unit_key = :k", Select="COUNT",
                           ExpressionAttributeValues={":k": {"S": f"demo#{DISPATCH_UNIT}"}}, ConsistentRead=True)
    assert stored["Count"] == len(tokens)
    with capsys.disabled():
        print(f"\nFAULTS submits: {len(keys)} concurrent submits at {len(tokens)} links, 1 kill -9 of the API, "
              f"{len(keys) - lost_connections} answered before it, {lost_connections} cut or refused and sent again, "
              f"{len(receipts)} acknowledged (201) in all, {stored['Count']} responses stored, lost 0, "
              f"duplicated 0")


# ---- 3. the whole `make run` launcher killed with SIGKILL ---------------------------------------------------------------


def test_kill_9_of_the_whole_launcher_keeps_what_was_acknowledged_before_its_last_snapshot(tmp_path, capsys):
    """dev/run_local.py holds moto in its own process and snapshots it to .local/state/ every
    CCHC_LOCAL_SNAPSHOT_SECONDS (1 here, 3 by default): a kill -9 of the launcher loses moto's memory, and the
    restart restores the last snapshot. Guaranteed: what was acknowledged before that snapshot, and no half
    roster (a snapshot is one cut of every table, taken with writes held). Not guaranteed: what was acknowledged
    in the last seconds, and messages waiting in SQS (saved only by a graceful stop)."""
    project = tmp_path / "project"  # its own .local/, never the repository's
    project.mkdir()
    for name in ("app.py", "chalicelib", ".chalice", "site"):
        (project / name).symlink_to(ROOT / name)
    ports = {"CCHC_MOTO_PORT": free_port(), "CCHC_API_PORT": free_port(), "CCHC_SITE_PORT": free_port()}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CCHC_"))}
    env.update({k: str(v) for k, v in ports.items()})
    env.update(CCHC_LOCAL_SNAPSHOT_SECONDS="1", CCHC_LOCAL_RELOAD="0", CCHC_LOCAL_SCHEDULE_SECONDS="3600",
               CCHC_SCRYPT_N="1024", PYTHONUNBUFFERED="1")
    # Every Python process of the launcher (itself, its bootstrap and seed, the API, the workers) shares one loader
    # of the SDK's JSON models (tests/localstack.py): the two start-ups this test waits on otherwise parse the
    # DynamoDB model again for each PynamoDB model class.
    env = with_shared_loader(env, tmp_path / "site-python")
    api = f"http://127.0.0.1:{ports['CCHC_API_PORT']}"
    moto = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{ports['CCHC_MOTO_PORT']}",
                        region_name="ap-southeast-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    launches: list[subprocess.Popen] = []

    def launch() -> subprocess.Popen:
        with (tmp_path / f"launcher-{len(launches)}.log").open("wb") as log:
            proc = subprocess.Popen([sys.executable, str(ROOT / "dev" / "run_local.py"), "--project-dir", str(project)],
                                    env=env, cwd=project, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        launches.append(proc)
        wait_for_http(api + "/health", timeout=180, proc=proc)
        return proc

    def gone() -> bool:  # the launcher's children (API, worker, site) exit when it disappears
        return all(port_is_free(port) for port in ports.values())

    def snapshot_after(moment: datetime) -> bool:
        manifest = project / ".local" / "state" / "current" / "manifest.json"
        try:
            return datetime.fromisoformat(json.loads(manifest.read_text())["created_at"]) > moment
        except (OSError, ValueError, KeyError):
            return False

    try:
        launcher = launch()
        credentials = json.loads((project / ".local" / "credentials.json").read_text())
        user, password = credentials["units"]["08"]["username"], credentials["units"]["08"]["password"]
        new_password = "Sau-khi-tắt-đột-ngột!2026"
        token = login(api, user, password)
        assert call(api, "POST", "/auth/password", bearer=token,
                    body={"current_password": password, "new_password": new_password})[0] == 200
        focal = {"full_name": "Phạm Thị Hồng Nhung", "position": "Chuyên viên Sở Nội vụ", "mobile": "0912345678"}
        assert call(api, "PUT", "/campaigns/demo/units/08/focal-person", bearer=token, body=focal)[0] == 200
        kept = book(20, 30)
        assert call(api, "POST", "/campaigns/demo/units/08/roster/imports", bearer=token,
                    raw=roster_workbook(kept), content_type=XLSX)[0] == 200
        assert call(api, "POST", "/campaigns/demo/units/08/roster/submit", bearer=token, body={})[0] == 200
        acknowledged = datetime.now(timezone.utc)
        wait_until(lambda: snapshot_after(acknowledged), timeout=30, what="a snapshot after the last acknowledgement")

        # now a big import on another unit, and the launcher killed while its rows are being written
        other = login(api, credentials["units"]["10"]["username"], credentials["units"]["10"]["password"])
        big = book(21, 1500)
        answer: dict = {}

        def post() -> None:
            try:
                answer["reply"] = call(api, "POST", "/campaigns/demo/units/10/roster/imports", bearer=other,
                                       raw=roster_workbook(big), content_type=XLSX)
            except Unanswered as exc:
                answer["error"] = exc

        def rows_being_written() -> bool:
            return moto.query(TableName="cchc-local-respondents", KeyConditionExpression="unit_key = :k",
                              ExpressionAttributeValues={":k": {"S": "demo#10"}}, Select="COUNT")["Count"] >= 300

        thread = threading.Thread(target=post)
        thread.start()
        wait_until(rows_being_written, timeout=60, interval=0.02, what="the import writing its rows")
        os.kill(launcher.pid, signal.SIGKILL)
        launcher.wait(timeout=10)
        thread.join(30)
        wait_until(gone, timeout=30, what="the launcher's children gone")

        launcher = launch()
        token = login(api, user, new_password)  # the password change survived; the handed-out one is gone
        assert call(api, "POST", "/auth/login", body={"username": user, "password": password})[0] == 401
        status, got = call(api, "GET", "/campaigns/demo/units/08/focal-person", bearer=token)
        assert {k: got[k] for k in focal} == focal
        rows = roster_rows(api, token, "demo", "08")
        assert {row["email"] for row in rows} == {row[5] for row in kept} and len(rows) == len(kept)
        status, page = call(api, "GET", "/campaigns/demo/units/08/roster?limit=1", bearer=token)
        assert page["status"] == "submitted"
        other = login(api, credentials["units"]["10"]["username"], credentials["units"]["10"]["password"])
        emails = {row["email"] for row in roster_rows(api, other, "demo", "10")}
        assert emails in (set(), {row[5] for row in big})  # never half a roster
        unacknowledged = "kept" if emails else "lost"
        launcher.send_signal(signal.SIGTERM)  # a graceful stop saves a last snapshot
        assert launcher.wait(timeout=120) == 0
    finally:
        for proc in launches:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
    with capsys.disabled():
        print(f"\nFAULTS launcher: 1 kill -9 of the whole launcher mid-import; acknowledged before the last snapshot "
              f"(password change, focal person, roster of 30 sent): kept; the import cut by the kill "
              f"({'answered' if 'reply' in answer else 'unanswered'}): {unacknowledged}, never half")
