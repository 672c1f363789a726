"""A national dress rehearsal: a whole campaign of the `2021` shape, at a chosen scale, through the public HTTP API
of the running local stack, then checks that every number adds up, and prices the campaign at full size.

    SCALE=0.1 .venv/bin/python bench/rehearsal.py        # `make rehearsal`; SCALE=1 is the real size (slow)

Environment: SCALE (default 0.1: ~4,960 respondents), REHEARSAL_PROVINCES (default 63: how many provinces take
part; the test uses 3), REHEARSAL_MINISTRIES (default all 19: how many ministries score their self-assessment and
are appraised, the unranked ones first; the others stay unassessed, in the results all the same; the test uses 4),
REHEARSAL_SEED, REHEARSAL_WORKERS (concurrent clients, default 6), CCHC_LOCAL_SES_RATE
(the emulated SES account's rate, default 200 mails a second here: the production rate of 14 a second is a
setting of the account, not of the code, and would make the rehearsal wait on the mail pacing alone).

Which campaign. `2021`'s phases closed in 2022, so the stack refuses its rosters and answers (423). `demo` is the
same campaign data (`"base": "2021"`: 63 provinces, the 4 respondent groups and their questionnaires, the sample
framework) with phases opening on the day the stack is seeded, so every step of the flow is open: the rehearsal
drives `demo`.

What it does, stage by stage, each from its own loopback address (the stack records the real peer address):
1. rosters: each province logs in (127.0.1.<n>), changes its handed-out password, uploads its roster as a real
   .xlsx workbook (the 4 groups in the proportions below, department and division leaders in real departments so
   the managing ministry is found) and sends it;
2. dispatch: the ministry dispatches; the app's queue handlers (jobs, then mails) run in a child process as the
   local workers run them; every mail becomes an .eml in the stack's outbox, and the survey links are read there;
3. survey: simulated respondents, each from their own address (127.<a>.<b>.<c>), open their link, save a draft
   and submit over 14 simulated working days, with reading times of 6 to 25 minutes; 60 % answer in the first
   week, the province reminds the others on day 8 (new links by mail), 25 % more answer after it, 15 % never do.
   The stack's clock is moved through those days (CCHC_LOCAL_CLOCK_FILE, dev/stack/clock.py: the API and the
   workers read the same file), so every server timestamp (drafts, submits, paradata, mails) is the simulated
   one; nothing sleeps. Three provinces interfere: one official fills in everyone's forms from one computer in an
   afternoon (`proxy_officer`), the province's own account computer opens the links (`province_account`), and
   everyone sends the same answer sheet (`copied_answers`) — styles of bench/simulate_integrity.py;
4. integrity: the ministry scans; 5. annulment: the ministry annuls the most suspicious interfering province;
6. assessment: every province scores every self-scored line, uploads its signed report (presigned POST) and
   approves; the ministry appraises every line, enters the imported ones and publishes; ministries (units of kind
   `ministry`) get the same when the campaign has them (skipped otherwise; REHEARSAL_MINISTRIES of them);
7. results: the results, the national progress and every unit's raw responses read back.

Invariants, checked independently of the app's counters: every submit answered 201 is stored exactly once (and
nothing else is stored); every progress counter equals the recount from the rehearsal's own log (national totals
without the annulled unit); every survey token was mailed exactly once, one invitation per respondent and
questionnaire, reminders at most one per link; the annulled province is absent from every aggregate (no survey
points, outside the national totals); each unit's index recomputed here with `chalicelib.domain.par_index` from the
raw responses (rescored from their answers with the ministry's copy of the questionnaires) and the scores the
rehearsal entered equals the results route's.

Measurement: each stage's wall time against a floor measured in the same run, against the same moto server, right
after the stage: what any implementation of the stage must spend. A floor is two parts. The HTTP part: the stage's
own number of requests made as `GET /health` at the stage's concurrency (the requests are the users' actions; each
costs at least the HTTP path and the API's routing). The bare part: the AWS work the stage cannot avoid, done with
raw boto3 calls (writes into a scratch table and bucket, `Bare`; reads from the app's own tables):
- rosters: each province's workbook bytes put in storage and its rows written with BatchWriteItem;
- dispatch: each province's roster rows read (Query pages), a link and a token item written per form
  (BatchWriteItem), each invitation's bytes handed to SES (SendRawEmail), never faster than the emulated account's
  sending rate (CCHC_LOCAL_SES_RATE) allows;
- survey: per form opened a GetItem (its link), per draft a PutItem of its answers, per submit a PutItem of the
  response and an UpdateItem of the link, per reminder a token written and the mail sent;
- integrity: every province's links (the access and submit events: addresses, browsers, times), its stored
  responses (answers) and its account's logins (the audit log by unit) read with Query pages;
- annulment: the unit's mark and its audit entry written;
- assessment: every line scored or appraised written, every signed report's bytes put, every approval and
  publication written;
- results: every province's stored responses read with Query pages, answers included (the stage reads each one
  back) and their points summed per unit and criterion in plain Python, every unit's assessment lines and every
  province's counters (its progress) read.
Long floors are measured on an evenly spread sample of their operations and scaled. The stage prints
`BENCH rehearsal_<stage> ratio=<time/floor> budget=<b>`; the budget is 1.5 × the floor for every stage (the
README gives the last run's ratios and, for the stages over budget, where their time goes). Requests, bytes, items and mails per
stage are counted on the client side; DynamoDB read and write units, S3, SQS and SES requests from the moto
server's own count (CCHC_MOTO_REQUEST_COUNTS, dev/stack/motoserver.py RequestCounter), the floors' own calls left
out. The counts are scaled to the full campaign and priced with bench/prices.json: Lambda GB-seconds from the
measured request and handler durations (on moto, far slower than DynamoDB: an upper bound) × each function's memory
(infra/build.py). Exit status 1 when an invariant fails.
"""
from __future__ import annotations

import collections
import email
import email.policy
import http.client
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "reliability")]

import stackclient  # noqa: E402
from builders import HEADER, name, roster_workbook  # noqa: E402

from chalicelib.domain import par_index  # noqa: E402
from chalicelib.domain.questionnaire import max_points, score  # noqa: E402
from dev.stack.clock import set_offset  # noqa: E402

VN = ZoneInfo("Asia/Ho_Chi_Minh")
CID = "demo"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TOKEN_IN_MAIL = re.compile(r"/khao-sat/#([A-Za-z0-9_-]{20,})")

# The full campaign the costs are scaled to (2021: more than 49,600 leaders answered; 63 provinces, 19 ministries).
FULL_RESPONDENTS, FULL_PROVINCES, FULL_MINISTRIES = 49_600, 63, 19
# Shares of the 4 groups among a province's respondents. The letter fixes the groups, not their sizes; these follow
# a province's structure: 50-95 provincial People's Council delegates, ~20 departments with 2-4 leaders each and
# their divisions' heads and deputies, and the district chairs and vice-chairs.
GROUP_SHARES = {"1": 0.11, "2": 0.09, "3": 0.62, "4": 0.18}
ANSWER_WEEK1, ANSWER_AFTER_REMINDER = 0.60, 0.25
SURVEY_DAYS, REMINDER_DAY = 14, 8
STYLES = ("proxy_officer", "province_account", "copied_answers")
# Budgets for ratio = stage time / its floor (the stage's requests as trivial ones + the bare AWS work it cannot
# avoid, see the docstring): 1.5 for every stage, the plan's (printed, not enforced: the machine is shared). Met by
# integrity; the results stage is near it; the others are far from it: the README says where their time goes.
BUDGETS = {"rosters": 1.5, "dispatch": 1.5, "survey": 1.5, "integrity": 1.5, "annulment": 1.5,
           "assessment": 1.5, "results": 1.5}

# --------------------------------------------------------------------------------------------------- HTTP client


@dataclass
class Meter:
    """Client-side counts of one stage."""
    requests: int = 0
    bytes_out: int = 0
    bytes_in: int = 0
    seconds: float = 0.0  # sum of request durations (the API function's billed time, upper bound)
    statuses: collections.Counter = field(default_factory=collections.Counter)
    items: int = 0  # rows uploaded, forms submitted, lines scored …
    mails: int = 0
    handler_invocations: int = 0
    handler_seconds: dict = field(default_factory=lambda: collections.defaultdict(float))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, status: int, sent: int, received: int, seconds: float) -> None:
        with self.lock:
            self.requests += 1
            self.bytes_out += sent
            self.bytes_in += received
            self.seconds += seconds
            self.statuses[status] += 1


class Client:
    """tests/reliability/stackclient's requests, retried when the connection fails before an answer (a busy
    server's refused or reset connection: nothing was done) and metered."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.meter = Meter()

    def call(self, method: str, path: str, *, bearer: str | None = None, survey_token: str | None = None,
             body: object = None, raw: bytes | None = None, content_type: str | None = None,
             source: str = "127.0.0.1", agent: str = "Mozilla/5.0 (rehearsal)",
             accept: str = "application/json") -> tuple[int, object]:
        data = json.dumps(body).encode() if body is not None else raw
        started = time.perf_counter()
        for attempt in range(5):
            try:
                status, text = stackclient.request(self.base_url, method, path, bearer=bearer,
                                                   survey_token=survey_token, data=data, content_type=content_type,
                                                   source=source, timeout=300,
                                                   headers={"Accept": accept, "User-Agent": agent})
                break
            except stackclient.Unanswered as exc:
                if attempt == 4 or not isinstance(exc.__cause__, ConnectionError):
                    raise
                time.sleep(0.2 * (attempt + 1))
        self.meter.add(status, len(data or b""), len(text), time.perf_counter() - started)
        return status, stackclient.parsed(text)


class Account:
    """A logged-in account that logs in again when its session has ended (the clock moves by days)."""

    def __init__(self, client: Client, username: str, password: str, source: str) -> None:
        self.client, self.username, self.password, self.source = client, username, password, source
        self.token = ""
        self.lock = threading.Lock()

    def login(self, first: bool = False) -> None:
        status, body = self.client.call("POST", "/auth/login", body={"username": self.username,
                                                                      "password": self.password}, source=self.source)
        assert status == 200, (self.username, status, body)
        self.token = body["token"]
        if first and body.get("must_change_password"):
            new = f"Đổi-{self.username}-{random.Random(self.username).randrange(10**8)}!Aa"
            status, body = self.client.call("POST", "/auth/password", bearer=self.token, source=self.source,
                                            body={"current_password": self.password, "new_password": new})
            assert status == 200, body
            self.password = new
            self.login()

    def call(self, method: str, path: str, **kw) -> tuple[int, object]:
        status, body = self.client.call(method, path, bearer=self.token, source=self.source, **kw)
        if status == 401:
            with self.lock:
                self.login()
            status, body = self.client.call(method, path, bearer=self.token, source=self.source, **kw)
        return status, body

    def ok(self, method: str, path: str, expect: tuple[int, ...] = (200, 201, 202), **kw) -> object:
        status, body = self.call(method, path, **kw)
        assert status in expect, (method, path, status, body)
        return body


def pool_map(fn: Callable, items: list, workers: int) -> list:
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(fn, items))


class Bare:
    """The bare AWS work a stage cannot avoid, done with raw boto3 calls against the stack's moto server: writes go
    to a scratch table and bucket of their own (the app's data stays as the stage left it), reads to the app's own
    tables. `timed` runs a list of operations at a concurrency and returns its wall time (measured on an evenly
    spread sample of at most `sample` operations and scaled to all of them)."""

    def __init__(self, moto_url: str, prefix: str) -> None:
        import boto3
        from botocore.config import Config

        session = boto3.session.Session()
        options = {"endpoint_url": moto_url, "region_name": "ap-southeast-1", "aws_access_key_id": "testing",
                   "aws_secret_access_key": "testing", "config": Config(max_pool_connections=32)}
        self.ddb, self.s3, self.ses = (session.client(name, **options) for name in ("dynamodb", "s3", "ses"))
        self.prefix = prefix
        self.table, self.bucket = f"{prefix}rehearsal-floor", "rehearsal-floor"

    def ready(self) -> None:
        names = self.ddb.list_tables()["TableNames"]
        if self.table not in names:
            self.ddb.create_table(TableName=self.table, BillingMode="PAY_PER_REQUEST",
                                  AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                                        {"AttributeName": "sk", "AttributeType": "S"}],
                                  KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                             {"AttributeName": "sk", "KeyType": "RANGE"}])
            self.s3.create_bucket(Bucket=self.bucket,
                                  CreateBucketConfiguration={"LocationConstraint": "ap-southeast-1"})

    @staticmethod
    def timed(ops: list[Callable[[], object]], concurrency: int, sample: int | None = None) -> float:
        if not ops:
            return 0.0
        chosen = ops if not sample or len(ops) <= sample else [ops[i * len(ops) // sample] for i in range(sample)]
        started = time.perf_counter()
        pool_map(lambda op: op(), chosen, concurrency)
        return (time.perf_counter() - started) * len(ops) / len(chosen)

    # -- operations
    def put_object(self, key: str, body: bytes) -> Callable[[], object]:
        return lambda: self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)

    def batch_write(self, items: list[dict]) -> list[Callable[[], object]]:
        """Items ({name: string}) written in batches of 25, each one BatchWriteItem (unprocessed ones again)."""
        def one(chunk: list[dict]) -> None:
            request = {self.table: [{"PutRequest": {"Item": {k: {"S": v} for k, v in item.items()}}}
                                    for item in chunk]}
            while request:
                request = self.ddb.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
        return [lambda chunk=items[i:i + 25]: one(chunk) for i in range(0, len(items), 25)]

    def put_item(self, item: dict) -> Callable[[], object]:
        return lambda: self.ddb.put_item(TableName=self.table, Item={k: {"S": v} for k, v in item.items()})

    def set_state(self, pk: str, sk: str, state: str) -> Callable[[], object]:
        return lambda: self.ddb.update_item(TableName=self.table, Key={"pk": {"S": pk}, "sk": {"S": sk}},
                                            UpdateExpression="SET #s = :s", ExpressionAttributeNames={"#s": "state"},
                                            ExpressionAttributeValues={":s": {"S": state}})

    def get_item(self, pk: str, sk: str) -> Callable[[], object]:
        return lambda: self.ddb.get_item(TableName=self.table, Key={"pk": {"S": pk}, "sk": {"S": sk}})

    def send(self, raw: bytes) -> Callable[[], object]:
        return lambda: self.ses.send_raw_email(RawMessage={"Data": raw})

    def query(self, table: str, key: str, value: str, index: str | None = None,
              each: Callable[[dict], None] | None = None) -> Callable[[], int]:
        """Every item of one partition of the app's table `table`, page after page (`each` sees every item)."""
        def run() -> int:
            args = {"TableName": f"{self.prefix}{table}", "KeyConditionExpression": "#k = :v",
                    "ExpressionAttributeNames": {"#k": key}, "ExpressionAttributeValues": {":v": {"S": value}}}
            if index:
                args["IndexName"] = index
            count = 0
            while True:
                page = self.ddb.query(**args)
                for item in page["Items"]:
                    if each:
                        each(item)
                count += page["Count"]
                if "LastEvaluatedKey" not in page:
                    return count
                args["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return run


# ------------------------------------------------------------------------------------- queue handlers, with time

_DRAIN = """
import json, os, sys, time
from dev.stack import QueueRunner, load_chalice_app, sqs_sources
overrides = {k: v for k, v in os.environ.items() if k.startswith("CCHC_")}
app, config = load_chalice_app(sys.argv[1], "local", overrides)
endpoint, region = os.environ["AWS_ENDPOINT_URL"], os.environ["AWS_REGION"]
runners = [QueueRunner(app, s, endpoint, config, region) for s in sqs_sources(app)]
deadline, idle = time.monotonic() + float(sys.argv[2]), 0
seconds, invocations, handled = {}, {}, 0
while time.monotonic() < deadline and idle < 4:
    done = 0
    for r in runners:
        started = time.perf_counter()
        n = r.run_once(wait_seconds=0)
        if n:
            seconds[r.source.name] = seconds.get(r.source.name, 0.0) + time.perf_counter() - started
            invocations[r.source.name] = invocations.get(r.source.name, 0) + 1
        done += n
    handled, idle = handled + done, 0 if done else idle + 1
    if not done:
        time.sleep(0.3)
print("DRAINED " + json.dumps({"handled": handled, "seconds": seconds, "invocations": invocations}))
"""


def drain(env: dict, meter: Meter, timeout: float = 3600) -> int:
    """The app's SQS handlers, fed from moto until the queues stay empty; their durations go to `meter`."""
    done = subprocess.run([sys.executable, "-c", _DRAIN, str(ROOT), str(timeout)], env=env, cwd=ROOT,
                          capture_output=True, timeout=timeout + 120)
    output = done.stdout.decode() + done.stderr.decode()
    assert done.returncode == 0 and "DRAINED " in output, output[-3000:]
    report = json.loads(output.rsplit("DRAINED ", 1)[1].splitlines()[0])
    for handler, seconds in report["seconds"].items():
        meter.handler_seconds[handler] += seconds
    meter.handler_invocations += sum(report["invocations"].values())
    return report["handled"]


# ------------------------------------------------------------------------------------------ the simulated world


@dataclass
class Link:
    unit: str
    email: str
    group: str
    purpose: str  # "locality" | "ministry"
    token: str  # the invitation's
    reminder_token: str | None = None
    address: str = ""
    plan: str = "never"  # "week1" | "after_reminder" | "never" | interference style
    drafted: bool = False
    submitted: bool = False
    submit_status: int | None = None
    answers: dict | None = None


class World:
    def __init__(self, stack, scale: float, provinces: int, seed: int, workers: int, clock_file: Path,
                 ministries: int | None = None) -> None:
        self.stack, self.scale, self.seed, self.workers = stack, scale, seed, workers
        self.ministry_count = ministries  # how many ministries are assessed (None: every one)
        self.rng = random.Random(seed)
        self.client = Client(stack.api_url)
        self.clock_file = clock_file
        self.offset = 0.0
        self.meters: dict[str, Meter] = {}
        self.times: dict[str, float] = {}
        self.floors: dict[str, float] = {}
        self.moto: dict[str, dict] = {}
        self.campaign: dict = {}
        self.units: list[str] = []  # the provinces taking part
        self.ministries: list[dict] = []  # the campaign's assessed ministries: {"code", "name", "ranked"}
        self.evaluates: dict[str, str | None] = {}  # a department or division leader's e-mail -> ministry unit
        self.rosters: dict[str, list[list]] = {}
        self.links: dict[str, Link] = {}  # by token (invitation's)
        self.mails: list[dict] = []
        self.interfering: dict[str, str] = {}
        self.annulled: str | None = None
        self.scores: dict[str, dict[str, dict]] = {}  # unit -> code -> {"score", "appraisal_score"}
        self.results: dict = {}
        self.ministry_results: dict = {}
        self.progress: dict = {}
        self.responses: dict[str, list[dict]] = {}
        self.questionnaires: dict[str, dict] = {}
        self.integrity: dict = {}
        self.accounts: dict[str, Account] = {}
        self.failures: list[str] = []
        self.checks: list[str] = []
        self.dispatch_at: datetime | None = None
        self.reminded: dict[str, int] = collections.Counter()
        self.province_count = provinces
        self.bare = Bare(stack.moto_url, stack.env.get("CCHC_TABLE_PREFIX", "cchc-rehearsal-"))
        self.bare_seconds: dict[str, float] = {}  # each stage's bare AWS work (its floor without the HTTP part)
        self.workbooks: dict[str, bytes] = {}
        self.survey_log: list[tuple[str, str, str]] = []  # (action, key, payload) of every survey request
        self.lines_written = 0  # assessment lines scored or appraised

    # -- clock
    def now(self) -> datetime:
        return datetime.now(timezone.utc) + timedelta(seconds=self.offset)

    def move_to(self, moment: datetime) -> None:
        """Every process of the stack now reads `moment` as the current time (and the clock runs on from there)."""
        target = (moment - datetime.now(timezone.utc)).total_seconds()
        if target > self.offset:
            self.offset = target
            set_offset(self.clock_file, target)

    # -- stages
    def stage(self, name: str, fn: Callable[[], None], concurrency: int) -> None:
        meter = self.meters[name] = Meter()
        self.client.meter = meter
        before = self.moto_counts()
        started = time.perf_counter()
        fn()
        self.times[name] = time.perf_counter() - started
        self.moto[name] = diff(self.moto_counts(), before)
        self.bare.ready()
        self.bare_seconds[name] = getattr(self, f"bare_{name}")()
        self.floors[name] = self.floor(meter.requests, concurrency) + self.bare_seconds[name]
        print(f"stage {name}: {self.times[name]:.1f} s, {meter.requests} requests, {meter.items} items, "
              f"{meter.mails} mails, {meter.bytes_out + meter.bytes_in} bytes", flush=True)

    def floor(self, count: int, concurrency: int) -> float:
        """The time of `count` GET /health requests at the same concurrency (measured on up to 400 of them and
        scaled linearly): what the HTTP path and the API's routing alone cost here."""
        sample = max(1, min(count, 400))
        probe = Client(self.stack.api_url)
        started = time.perf_counter()
        pool_map(lambda i: probe.call("GET", "/health", source=f"127.0.9.{1 + i % 200}"), list(range(sample)),
                 concurrency)
        return (time.perf_counter() - started) * count / sample

    # -- the bare work of each stage (the floor's AWS part; see the module's docstring)
    def bare_rosters(self) -> float:
        """Each province's workbook bytes put in storage and its rows written (BatchWriteItem), provinces side by
        side at the stage's concurrency."""
        def one(unit: str) -> Callable[[], None]:
            rows = [{"pk": f"{CID}#{unit}", "sk": f"r{n:05d}", "row": json.dumps(row, ensure_ascii=False)}
                    for n, row in enumerate(self.rosters[unit])]
            ops = [self.bare.put_object(f"rosters/{unit}.xlsx", self.workbooks[unit]), *self.bare.batch_write(rows)]
            return lambda: [op() for op in ops]
        return self.bare.timed([one(unit) for unit in self.units], self.workers)

    def send_floor(self, mails: list[dict], sample: int = 300) -> float:
        """Every mail's bytes handed to SES (SendRawEmail, one after another; measured on a sample), and never
        faster than the emulated account's sending rate allows. The copies land in the outbox and are set aside."""
        if not mails:
            return 0.0
        chosen = mails if len(mails) <= sample else [mails[i * len(mails) // sample] for i in range(sample)]
        ops = [self.bare.send(m["path"].read_bytes()) for m in chosen]
        seconds = self.bare.timed(ops, 1) * len(mails) / len(chosen)
        self.stack.collect_mail()  # the copies are not the campaign's mails
        rate = float(self.stack.env.get("CCHC_LOCAL_SES_RATE") or 14)
        return max(seconds, len(mails) / rate)

    def bare_dispatch(self) -> float:
        """Each province's roster rows read (Query pages), a link and a token item written per form
        (BatchWriteItem), and each invitation sent (send_floor)."""
        ops: list[Callable[[], object]] = []
        for unit in self.units:
            ops.append(self.bare.query("rehearsal-floor", "pk", f"{CID}#{unit}"))
            own = [ln for ln in self.links.values() if ln.unit == unit]
            items = [item for ln in own for item in (
                {"pk": f"{CID}#{unit}", "sk": f"link#{ln.email}#{ln.purpose}", "state": "sent", "qid": ln.group},
                {"pk": f"token#{ln.token[:16]}", "sk": ln.token, "unit": unit, "slot": ln.email})]
            ops += self.bare.batch_write(items)
        invitations = [m for m in self.mails if not m["reminder"]]
        return self.bare.timed(ops, 1, sample=400) + self.send_floor(invitations)

    def bare_survey(self) -> float:
        """Per request of a respondent: opening a form reads its link (GetItem); a draft is written (PutItem of
        its answers); a submit writes the response (PutItem of the answers) and moves the link (UpdateItem); per
        reminder a new token written and the mail sent (send_floor). At the stage's concurrency, on a sample."""
        ops: list[Callable[[], object]] = []
        for action, key, payload in self.survey_log:
            if action == "get":
                ops.append(self.bare.get_item(f"token#{key[:16]}", key))
            elif action == "draft":
                ops.append(self.bare.put_item({"pk": f"draft#{key}", "sk": "-", "answers": payload}))
            else:
                put = self.bare.put_item({"pk": f"response#{key[:16]}", "sk": key, "answers": payload})
                move = self.bare.set_state(f"token#{key[:16]}", key, "submitted")
                ops.append(lambda put=put, move=move: (put(), move()))
        reminders = [m for m in self.mails if m["reminder"]]
        ops += self.bare.batch_write([{"pk": f"token#{m['token'][:16]}", "sk": m["token"]} for m in reminders])
        return self.bare.timed(ops, self.workers, sample=2000) + self.send_floor(reminders)

    def bare_integrity(self) -> float:
        """What the scan reads: every province's links (the access and submit events: addresses, browsers,
        times), its stored responses (answers) and its account's logins (the audit log by unit), Query pages one
        after another."""
        ops = [op for unit in self.units for op in (
            self.bare.query("links", "unit_key", f"{CID}#{unit}"),
            self.bare.query("responses", "unit_key", f"{CID}#{unit}"),
            self.bare.query("audit", "unit_key", unit, index="by_unit"))]
        return self.bare.timed(ops, 1)

    def bare_annulment(self) -> float:
        """The unit's mark (UpdateItem) and its audit entry (PutItem)."""
        return self.bare.timed([self.bare.set_state(f"{CID}#unit", self.annulled or "", "annulled"),
                                self.bare.put_item({"pk": "audit", "sk": f"annul#{self.annulled}"})], 1)

    def bare_assessment(self) -> float:
        """Every line scored or appraised written (PutItem), every signed report's bytes put in storage, every
        approval and publication (UpdateItem), at the stage's concurrency."""
        pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
        units = list(self.scores)
        ops: list[Callable[[], object]] = [self.bare.put_item({"pk": f"line#{n % 97}", "sk": f"{n}", "score": "1"})
                                           for n in range(self.lines_written)]
        ops += [self.bare.put_object(f"reports/{unit}.pdf", pdf) for unit in units]
        ops += [self.bare.set_state(f"assessment#{unit}", step, "done") for unit in units
                for step in ("approved", "published")]
        return self.bare.timed(ops, self.workers, sample=1500)

    def bare_results(self) -> float:
        """What the results and the read-back need: every province's stored responses, answers included (Query
        pages), their points summed per unit and criterion in plain Python, every unit's assessment lines and every
        province's counters (Query), one after another."""
        sums: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)

        def add(unit: str) -> Callable[[dict], None]:
            def each(item: dict) -> None:
                for code, points in json.loads(item["scores"]["S"]).items():
                    sums[unit][code] += points or 0
            return each
        ops = [self.bare.query("responses", "unit_key", f"{CID}#{unit}", each=add(unit)) for unit in self.units]
        ops += [self.bare.query("assessment_items", "unit_key", f"{CID}#{unit}")
                for unit in self.units + [m["code"] for m in self.ministries]]
        ops += [self.bare.query("stats", "unit_key", f"{CID}#{unit}") for unit in self.units]
        return self.bare.timed(ops, 1)

    def moto_counts(self) -> dict:
        connection = http.client.HTTPConnection("127.0.0.1", int(self.stack.moto_url.rsplit(":", 1)[1]), timeout=30)
        try:
            connection.request("GET", "/_cchc/requests")
            return json.loads(connection.getresponse().read())
        finally:
            connection.close()

    # ---------------------------------------------------------------------------------------------- 1. rosters
    def rosters_stage(self) -> None:
        admin_user, admin_password = self.stack.login_of("admin")
        self.accounts["admin"] = Account(self.client, admin_user, admin_password, "127.0.0.1")
        self.accounts["admin"].login(first=True)
        self.campaign = self.accounts["admin"].ok("GET", f"/campaigns/{CID}")
        self.units = [u["code"] for u in self.campaign["units"]
                      if u.get("kind", "province") == "province"][:self.province_count]
        self.ministries = [{"code": u["code"], "name": u["name"], "ranked": u.get("ranked", True)}
                           for u in self.campaign["units"] if u.get("kind") == "ministry"]
        departments = json.loads((ROOT / "chalicelib/data/reference/departments-2021.json").read_text("utf-8"))
        agencies = [d["name"] for d in departments["in_every_province"]]
        # the ministry a department's leaders evaluate: its managing ministry when that one is assessed this year
        assessed = {m["name"]: m["code"] for m in self.ministries}
        managing = {d["name"]: assessed.get(d["ministry"]) for d in departments["in_every_province"]}
        per_unit = max(len(GROUP_SHARES), round(FULL_RESPONDENTS * self.scale / FULL_PROVINCES))
        people = 0
        for unit in self.units:
            rows, counts = [], {g: max(1, round(per_unit * s)) for g, s in GROUP_SHARES.items()}
            for group, count in counts.items():
                for _ in range(count):
                    i = people
                    people += 1
                    agency = {"1": "HĐND tỉnh", "4": f"UBND huyện số {i % 9 + 1}"}.get(group) or \
                        (agencies[i % len(agencies)] if group == "2" else f"Phòng {i % 5 + 1}, {agencies[i % len(agencies)]}")
                    email = f"nguoi{i}.t{unit}@tinh{unit}.gov.vn"
                    rows.append([len(rows) + 1, name(i % 3500), "Phó Giám đốc" if group == "2" else "Trưởng phòng",
                                 agency, group, email, f"09{i:08d}"[:10], None])
                    if group in ("2", "3"):
                        self.evaluates[email] = managing[agencies[i % len(agencies)]]
            self.rosters[unit] = rows

        def one(n_unit: tuple[int, str]) -> None:
            n, unit = n_unit
            user, password = self.stack.login_of(unit)
            account = self.accounts[unit] = Account(self.client, user, password, f"127.0.1.{n + 1}")
            account.login(first=True)
            account.ok("GET", f"/campaigns/{CID}/roster-template.xlsx", accept=XLSX)
            self.workbooks[unit] = roster_workbook(self.rosters[unit], header=HEADER)
            body = account.ok("POST", f"/campaigns/{CID}/units/{unit}/roster/imports", raw=self.workbooks[unit],
                              content_type=XLSX)
            assert body["accepted"] == len(self.rosters[unit]) and body["rejected"] == 0, body
            account.ok("POST", f"/campaigns/{CID}/units/{unit}/roster/submit", body={})
            self.client.meter.items += len(self.rosters[unit])

        pool_map(one, list(enumerate(self.units)), self.workers)

    # --------------------------------------------------------------------------------------------- 2. dispatch
    def dispatch_stage(self) -> None:
        self.dispatch_at = self.now()
        self.accounts["admin"].ok("POST", f"/campaigns/{CID}/dispatch", body={"units": self.units})
        drain(self.stack.env, self.client.meter)
        for mail in self.collect():
            unit = re.search(r"\.t(\d+)@", mail["to"]).group(1)
            purpose = "ministry" if "bộ chủ quản" in mail["subject"] else "locality"
            group = next(r[4] for r in self.rosters[unit] if r[5] == mail["to"])
            self.links[mail["token"]] = Link(unit, mail["to"], group, purpose, mail["token"])

    def collect(self) -> list[dict]:
        out = []
        for path in self.stack.collect_mail():
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            text = message.get_body(preferencelist=("plain",)).get_content()
            found = TOKEN_IN_MAIL.search(text)
            mail = {"to": str(message["To"]), "subject": str(message["Subject"]),
                    "token": found.group(1) if found else None, "file": path.name, "path": path,
                    "reminder": str(message["Subject"]).split("] ", 1)[-1].startswith("Nhắc")}
            out.append(mail)
        self.mails += out
        self.client.meter.mails += len(out)
        return out

    # ----------------------------------------------------------------------------------------------- 3. survey
    def survey_stage(self) -> None:
        rng = random.Random(self.seed + 1)
        self.interfering = {unit: style for unit, style in zip(self.units[-len(STYLES):], STYLES)}
        for n, link in enumerate(sorted(self.links.values(), key=lambda ln: ln.token)):
            link.address = f"127.{20 + n // 62500}.{(n // 250) % 250 + 1}.{n % 250 + 1}"
            link.plan = self.interfering.get(link.unit) or (
                "week1" if (r := rng.random()) < ANSWER_WEEK1 else
                "after_reminder" if r < ANSWER_WEEK1 + ANSWER_AFTER_REMINDER else "never")
        day0 = (self.dispatch_at.astimezone(VN) + timedelta(days=1)).replace(hour=0, minute=0, second=0,
                                                                              microsecond=0)
        events: list[tuple[datetime, int, str, Link]] = []  # (when, order, action, link)

        def working_moment(day: int) -> datetime:
            return day0 + timedelta(days=day, hours=rng.uniform(8, 16.5))

        for link in self.links.values():
            if link.plan == "never":
                if rng.random() < 0.3:  # opened, a draft, never sent
                    events.append((working_moment(rng.randrange(REMINDER_DAY - 1)), 0, "draft", link))
                continue
            if link.plan in ("week1", "after_reminder", "copied_answers", "province_account"):
                day = rng.randrange(REMINDER_DAY - 1) if link.plan != "after_reminder" else \
                    rng.randrange(REMINDER_DAY, SURVEY_DAYS)
                start = working_moment(day)
                reading = timedelta(minutes=rng.uniform(6, 25))
                events.append((start, 0, "draft", link))
                events.append((start + reading, 1, "submit", link))
            elif link.plan == "proxy_officer":
                pass  # scheduled together below
        for unit, style in self.interfering.items():
            if style != "proxy_officer":
                continue
            own = sorted((ln for ln in self.links.values() if ln.unit == unit), key=lambda ln: ln.token)
            moment = day0 + timedelta(days=2, hours=14)
            for link in own:  # one official, one computer, 2-3 minutes a form, one after another
                link.address = "127.0.250.7"
                events.append((moment, 0, "draft", link))
                moment += timedelta(minutes=rng.uniform(2.0, 3.0))
                events.append((moment, 1, "submit", link))
        reminder_at = day0 + timedelta(days=REMINDER_DAY - 1, hours=8)
        events.append((reminder_at, 2, "remind", None))  # type: ignore[arg-type]
        events.sort(key=lambda e: (e[0], e[1]))

        forms: dict[str, dict] = {}
        forms_lock = threading.Lock()

        def form_of(link: Link) -> dict:
            status, survey = self.client.call("GET", "/survey", survey_token=link.reminder_token or link.token,
                                              source=self.source_of(link), agent=self.agent_of(link))
            assert status == 200, (status, survey)
            self.survey_log.append(("get", link.reminder_token or link.token, ""))
            return survey

        def answers_for(link: Link, survey: dict) -> dict:
            style = self.interfering.get(link.unit)
            key = f"{link.unit}#{survey['questionnaire'].get('id', link.group + link.purpose)}"
            if style == "copied_answers":
                with forms_lock:
                    if key not in forms:
                        forms[key] = honest_answers(survey, random.Random(key), view=3.6)
                    return forms[key]
            return honest_answers(survey, random.Random(link.token), view=None)

        def act(event: tuple[datetime, int, str, Link]) -> None:
            _, _, action, link = event
            token = link.reminder_token if link.reminder_token else link.token
            if action == "draft":
                survey = form_of(link)
                link.answers = answers_for(link, survey)
                partial = dict(list(link.answers.items())[: max(1, len(link.answers) // 2)])
                status, body = self.client.call("PUT", "/survey/draft", survey_token=token, body={"answers": partial},
                                                source=self.source_of(link), agent=self.agent_of(link))
                assert status == 200, (status, body)
                self.survey_log.append(("draft", token, json.dumps(partial, ensure_ascii=False)))
                link.drafted = True
            elif action == "submit":
                status, body = self.client.call("POST", "/survey/submit", survey_token=token,
                                                body={"answers": link.answers}, source=self.source_of(link),
                                                agent=self.agent_of(link))
                link.submit_status = status
                assert status == 201, (status, body)
                self.survey_log.append(("submit", token, json.dumps(link.answers, ensure_ascii=False)))
                link.submitted = True
                self.client.meter.items += 1

        # Run the events in windows of 2 simulated minutes: the clock is set to the window, its events run at once.
        window: list = []
        for event in events + [(datetime.max.replace(tzinfo=timezone.utc), 9, "end", None)]:
            if window and (event[0] - window[0][0] > timedelta(minutes=2) or event[2] in ("remind", "end")):
                self.move_to(window[0][0])
                pool_map(act, window, self.workers)
                window = []
            if event[2] == "remind":
                self.move_to(event[0])
                self.remind()
                continue
            if event[2] != "end":
                window.append(event)
        self.move_to(day0 + timedelta(days=SURVEY_DAYS, hours=9))

    def source_of(self, link: Link) -> str:
        if self.interfering.get(link.unit) == "province_account":
            return self.accounts[link.unit].source  # the province account's own computer
        return link.address

    def agent_of(self, link: Link) -> str:
        if self.interfering.get(link.unit) == "proxy_officer":
            return "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/96.0 office-pc-7"
        return f"Mozilla/5.0 (rehearsal) device-{int.from_bytes(link.token[:6].encode(), 'big') % 9973}"

    def remind(self) -> None:
        """Each province reminds those who have not answered (new links by mail)."""
        def one(unit: str) -> None:
            body = self.accounts[unit].ok("POST", f"/campaigns/{CID}/units/{unit}/reminders", body={})
            self.reminded[unit] += body.get("queued", 0)

        reminding = [u for u in self.units if u not in self.interfering]
        if not reminding:
            return  # every province taking part interferes (the test's 3): nobody reminds, nothing is queued
        pool_map(one, reminding, self.workers)
        drain(self.stack.env, self.client.meter)
        by_key = {(ln.email, ln.purpose): ln for ln in self.links.values()}
        for mail in self.collect():
            assert mail["reminder"], mail
            purpose = "ministry" if "bộ chủ quản" in mail["subject"] else "locality"
            link = by_key[(mail["to"], purpose)]
            link.reminder_token = mail["token"]

    # ------------------------------------------------------------------------------ 4-5. integrity, annulment
    def integrity_stage(self) -> None:
        self.accounts["admin"].ok("POST", f"/campaigns/{CID}/integrity/scan", body={})  # synchronous, queues nothing
        self.integrity = self.accounts["admin"].ok("GET", f"/campaigns/{CID}/integrity")
        self.accounts["admin"].ok("GET", f"/campaigns/{CID}/integrity.xlsx")

    def annulment_stage(self) -> None:
        scores = {u["unit"]: u["score"] for u in self.integrity["units"]}
        self.annulled = max(self.interfering, key=lambda u: (scores.get(u, 0), u))
        self.accounts["admin"].ok("POST", f"/campaigns/{CID}/units/{self.annulled}/annulment",
                                  body={"reason": "Cán bộ trả lời thay người được khảo sát (diễn tập)"})

    # ----------------------------------------------------------------------------------------- 6. assessment
    def assessment_stage(self) -> None:
        rng = random.Random(self.seed + 2)
        plans = {}
        for unit in self.units:
            plans[unit] = random.Random(rng.random())
        pool_map(lambda unit: self.assess_unit(unit, plans[unit]), self.units, self.workers)
        pool_map(lambda unit: self.appraise_unit(unit, plans[unit]), self.units, self.workers)
        # the unranked ministries first, so that a short list still ranks scored ones among the ranked only
        ministries = [m["code"] for m in sorted(self.ministries, key=lambda m: m["ranked"])][:self.ministry_count]
        if ministries:
            self.ministries_stage(ministries)

    def assess_unit(self, unit: str, rng: random.Random) -> None:
        account, base = self.accounts[unit], f"/campaigns/{CID}/units/{unit}/assessment"
        view = account.ok("GET", base)
        lines = self.scores.setdefault(unit, {})
        for leaf in leaves(view["fields"]):
            if leaf["method"] != "self":
                continue
            value = stepped(leaf, rng.choice((1.0, 1.0, 1.0, 0.75, 0.5, 0.0)))
            account.ok("PUT", f"{base}/items/{leaf['code']}", body={"score": value,
                                                                   "explanation": "Có văn bản lưu tại Sở Nội vụ"})
            lines[leaf["code"]] = {"score": value, "appraisal_score": None}
            self.client.meter.items += 1
            self.lines_written += 1
        pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
        grant = account.ok("POST", f"{base}/evidence", body={"code": "report", "filename": "Bao cao tu danh gia.pdf",
                                                              "size": len(pdf)})
        post_form(grant["url"], grant["fields"], "Bao cao tu danh gia.pdf", pdf, self.client.meter)
        province = unit.isdigit()
        account.ok("POST", f"{base}/approve", body={
            "leader_name": "Nguyễn Văn An", "leader_position": "Phó Chủ tịch UBND tỉnh" if province else "Thứ trưởng",
            "decision_number": f"{100 + int(unit)}/QĐ-UBND" if province else f"{len(unit) * 37}/QĐ-{unit}",
            "decision_date": self.now().astimezone(VN).strftime("%d/%m/%Y"), "report": grant["evidence_id"]})

    def appraise_unit(self, unit: str, rng: random.Random) -> None:
        admin, base = self.accounts["admin"], f"/campaigns/{CID}/units/{unit}/assessment"
        view = admin.ok("GET", base)
        lines = self.scores.setdefault(unit, {})
        for leaf in leaves(view["fields"]):
            if leaf["method"] == "self":
                own = lines[leaf["code"]]["score"]
                value = own if rng.random() < 0.8 else stepped(leaf, 0.5)
            elif leaf["method"] == "imported":
                value = stepped(leaf, rng.uniform(0.6, 1.0))
            else:
                continue
            admin.ok("PUT", f"{base}/items/{leaf['code']}/appraisal", body={"score": value, "comment": "Diễn tập"})
            lines.setdefault(leaf["code"], {"score": None, "appraisal_score": None})["appraisal_score"] = value
            self.client.meter.items += 1
            self.lines_written += 1
        admin.ok("POST", f"{base}/publish", body={})

    def ministries_stage(self, ministries: list[str]) -> None:
        """Units of kind `ministry`: the same self-assessment, appraisal and publication, each by its own account
        (`bo<code>`) on the ministries' framework."""
        def one(n_unit: tuple[int, str]) -> None:
            n, unit = n_unit
            user, password = self.stack.login_of(unit)
            self.accounts[unit] = Account(self.client, user, password, f"127.0.2.{n + 1}")
            self.accounts[unit].login(first=True)
            self.assess_unit(unit, random.Random(unit))
            self.appraise_unit(unit, random.Random(unit))

        pool_map(one, list(enumerate(ministries)), self.workers)

    # -------------------------------------------------------------------------------------------- 7. results
    def results_stage(self) -> None:
        admin = self.accounts["admin"]
        self.results = admin.ok("GET", f"/campaigns/{CID}/results")
        self.ministry_results = admin.ok("GET", f"/campaigns/{CID}/results?kind=ministry")
        admin.ok("GET", f"/campaigns/{CID}/results.xlsx")
        self.progress = admin.ok("GET", f"/campaigns/{CID}/progress")
        self.unit_progress = {}
        for unit in self.units:
            self.unit_progress[unit] = self.accounts[unit].ok(
                "GET", f"/campaigns/{CID}/units/{unit}/progress?people=false")  # its counters, no one named
            items, cursor = [], None
            while True:
                page = admin.ok("GET", f"/campaigns/{CID}/units/{unit}/responses?limit=500"
                                + (f"&cursor={cursor}" if cursor else ""))
                items += page["items"]
                self.client.meter.items += len(page["items"])
                cursor = page["next_cursor"]
                if not cursor:
                    break
            self.responses[unit] = items
        for qid in sorted({r["qid"] for items in self.responses.values() for r in items}):
            self.questionnaires[qid] = admin.ok("GET", f"/campaigns/{CID}/questionnaires/{qid}")

    # ----------------------------------------------------------------------------------------- invariants
    def check(self, what: str, ok: bool, detail: str = "") -> None:
        (self.checks if ok else self.failures).append(what + ("" if ok else f": {detail}"))
        print(f"INVARIANT {'ok  ' if ok else 'FAIL'} {what}" + ("" if ok else f" — {detail}"), flush=True)

    def invariants(self) -> None:
        links = list(self.links.values())
        submitted = [ln for ln in links if ln.submitted]
        # every submit answered 201 stored exactly once, nothing else stored
        stored = collections.Counter((r["qid"].split("-")[0], u) for u, items in self.responses.items() for r in items)
        expected = collections.Counter((ln.purpose, ln.unit) for ln in submitted)
        ids = [r["id"] for items in self.responses.values() for r in items]
        self.check("every submitted response stored exactly once", stored == expected and len(ids) == len(set(ids)),
                   f"stored {sum(stored.values())}, submitted {len(submitted)}")
        answers_seen = collections.Counter(json.dumps(r["answers"], sort_keys=True) for items in
                                           self.responses.values() for r in items)
        answers_sent = collections.Counter(json.dumps(ln.answers, sort_keys=True) for ln in submitted)
        self.check("the stored answers are the answers submitted", answers_seen == answers_sent)
        # progress counters = recount from the log
        bad = []
        for unit in self.units:
            own = [ln for ln in links if ln.unit == unit]
            recount = {"total": len(own), "submitted": sum(ln.submitted for ln in own),
                       "opened": sum(ln.drafted for ln in own),  # ever opened (a draft saved), submitted or not
                       "sent": sum(not ln.drafted and not ln.submitted for ln in own)}
            totals = self.unit_progress[unit]["totals"]
            got = {k: totals[k] for k in recount}
            if got != recount:
                bad.append(f"{unit}: {got} != {recount}")
            reminders = sum(1 for m in self.mails if m["reminder"] and m["to"].endswith(f"@tinh{unit}.gov.vn"))
            if totals["reminders"] != reminders:
                bad.append(f"{unit}: reminders {totals['reminders']} != {reminders}")
        counted = [ln for ln in links if ln.unit != self.annulled]
        national = {"total": len(counted), "submitted": sum(ln.submitted for ln in counted)}
        got = {k: self.progress["totals"][k] for k in national}
        if got != national:
            bad.append(f"national {got} != {national} (without {self.annulled})")
        self.check("every progress counter equals the recount from the rehearsal's log", not bad, "; ".join(bad[:5]))
        # mail: every token mailed once; one invitation per respondent × questionnaire; reminders ≤ 1 per link
        per_token = collections.Counter(m["token"] for m in self.mails)
        invites = collections.Counter((m["to"], m["subject"].split(": ", 1)[-1]) for m in self.mails if not m["reminder"])
        reminders = collections.Counter((m["to"], m["subject"].split(": ", 1)[-1]) for m in self.mails if m["reminder"])
        # department and division leaders get a second form, about their managing ministry, when it is assessed
        roster_forms = sum(2 if self.evaluates.get(r[5]) else 1 for rows in self.rosters.values() for r in rows)
        self.check("no link mailed twice except reminders, and every reminder queued mailed",
                   max(per_token.values()) == 1 and None not in per_token and max(invites.values()) == 1
                   and len(invites) == roster_forms and (not reminders or max(reminders.values()) == 1)
                   and sum(reminders.values()) == sum(self.reminded.values()),
                   f"tokens mailed >1: {sum(1 for v in per_token.values() if v > 1)}, invitations {len(invites)} "
                   f"of {roster_forms}, reminders mailed {sum(reminders.values())} of "
                   f"{sum(self.reminded.values())} queued")
        # the annulled province absent from every aggregate
        row = next(u for u in self.results["units"] if u["unit"] == self.annulled)
        national_units = {u["code"]: u for u in self.progress["units"]}
        sum_without = sum(u["submitted"] for c, u in national_units.items() if c != self.annulled)
        self.check("the annulled province is absent from every aggregate",
                   row["annulled"] and row["parts"]["survey"]["points"] == 0 and row["responses"] == 0
                   and self.progress["totals"]["submitted"] == sum_without
                   and national_units[self.annulled]["annulled"],
                   json.dumps({"parts": row["parts"], "responses": row["responses"]}))
        # each unit's index recomputed from the raw responses and the scores entered
        framework = self.accounts["admin"].ok("GET", f"/campaigns/{CID}/framework")
        definition = framework.get("definition", framework)
        best = {qid: max_points(q) for qid, q in self.questionnaires.items() if qid.startswith("locality")}
        for qid in (q for q in self.all_locality_qids() if q not in best):
            best[qid] = max_points(self.accounts["admin"].ok("GET", f"/campaigns/{CID}/questionnaires/{qid}"))
        grades = self.results["grades"]
        mismatches, rescored = [], 0
        for unit in self.units:
            responses = []
            for r in self.responses[unit]:
                if r["purpose"] != "locality":
                    continue
                mine = score(self.questionnaires[r["qid"]], r["answers"])
                rescored += 1
                if {k: Decimal(str(v)) for k, v in mine.items()} != {k: Decimal(str(v)) for k, v in
                                                                      (r["scores"] or {}).items()}:
                    mismatches.append(f"{unit}: response {r['id']} scored {r['scores']} != {mine}")
                responses.append({"group": r["group"]["code"], "qid": r["qid"], "scores": mine})
            annulled = unit == self.annulled
            mine = par_index.unit_result(definition, par_index.UnitInput(unit, unit, self.scores.get(unit, {}),
                                                                         [] if annulled else responses, annulled),
                                         best, grades)
            theirs = next(u for u in self.results["units"] if u["unit"] == unit)
            if Decimal(str(mine["index"])) != Decimal(str(theirs["index"])) or mine["grade"] != theirs["grade"]:
                mismatches.append(f"{unit}: index {mine['index']} ({mine['grade']}) != {theirs['index']} "
                                  f"({theirs['grade']})")
        self.check(f"each unit's index recomputed from raw responses ({rescored} rescored) and scores equals the "
                   "results", not mismatches, "; ".join(mismatches[:5]))
        if self.ministries:
            self.ministry_invariants(links, grades)

    def ministry_invariants(self, links: list, grades: list[dict]) -> None:
        """The ministries' side: each stored managing-ministry answer names the ministry its respondent evaluates;
        the national per-ministry counters equal the recount (without the annulled province); each ministry's
        index recomputed from every other province's raw answers about it and its scores equals the results."""
        admin = self.accounts["admin"]
        submitted = [ln for ln in links if ln.submitted and ln.purpose == "ministry"]
        stored = collections.Counter((u, r["ministry"]) for u, items in self.responses.items() for r in items
                                     if r["purpose"] == "ministry")
        expected = collections.Counter((ln.unit, self.evaluates.get(ln.email)) for ln in submitted)
        self.check("each managing-ministry answer names the ministry its respondent evaluates", stored == expected,
                   f"stored {dict(stored)} != {dict(expected)}")
        bad = []
        counted = [ln for ln in links if ln.purpose == "ministry" and ln.unit != self.annulled]
        for row in self.progress.get("ministries", []):
            mine = [ln for ln in counted if self.evaluates.get(ln.email) == row["code"]]
            recount = (len(mine), sum(ln.submitted for ln in mine))
            if (row["asked"], row["answered"]) != recount:
                bad.append(f"{row['code']}: {(row['asked'], row['answered'])} != {recount}")
        self.check("every ministry's asked and answered counters equal the recount", not bad and bool(
            self.progress.get("ministries")), "; ".join(bad[:5]))
        framework = admin.ok("GET", f"/campaigns/{CID}/framework?kind=ministry")
        definition = framework.get("definition", framework)
        best = {f"ministry-{g['code']}": max_points(admin.ok("GET", f"/campaigns/{CID}/questionnaires/ministry-"
                                                                    f"{g['code']}"))
                for g in self.campaign["groups"] if "ministry" in g.get("questionnaires", [])}
        responses = [{"unit": u, "ministry": r["ministry"], "group": r["group"]["code"], "qid": r["qid"],
                      "purpose": "ministry", "scores": score(self.questionnaires[r["qid"]], r["answers"])}
                     for u, items in self.responses.items() for r in items if r["purpose"] == "ministry"]
        mine = {r["unit"]: r for r in par_index.ministry_results(
            definition, self.ministries, {m["code"]: self.scores.get(m["code"], {}) for m in self.ministries},
            responses, [self.annulled] if self.annulled else [], best, grades)}
        mismatches = [f"{code}: index {row['index']} rank {row.get('rank')} != {theirs['index']} {theirs.get('rank')}"
                      for code, row in mine.items()
                      for theirs in [next(u for u in self.ministry_results["units"] if u["unit"] == code)]
                      if Decimal(str(row["index"])) != Decimal(str(theirs["index"]))
                      or row.get("rank") != theirs.get("rank")]
        self.check(f"each ministry's index recomputed from {len(responses)} raw answers and its scores equals the "
                   "results, ranked among the ranked only", not mismatches, "; ".join(mismatches[:5]))

    def all_locality_qids(self) -> list[str]:
        return [f"locality-{g['code']}" for g in self.campaign["groups"]]


# ------------------------------------------------------------------------------------------------------ helpers


def honest_answers(survey: dict, rng: random.Random, view: float | None) -> dict:
    """An answer set around the respondent's own view (mean option position ~2.8 of 5, spread per question), the
    way the integrity simulator's honest respondents answer; `view` fixes it (a template's all-positive sheet)."""
    centre = view if view is not None else min(4.6, max(0.4, rng.gauss(2.8, 0.6)))
    out: dict = {}
    for section in survey["questionnaire"]["sections"]:
        for q in section["questions"]:
            options = q.get("options") or []
            if q["type"] == "single" and options:
                position = centre / 4.6 * (len(options) - 1) + (0 if view is not None else rng.gauss(0, 0.8))
                out[q["id"]] = options[min(len(options) - 1, max(0, round(position)))]["value"]
            elif q["type"] == "multi" and options:
                out[q["id"]] = [o["value"] for o in options if rng.random() < 0.4] or [options[0]["value"]]
            elif q.get("required"):
                out[q["id"]] = "Ý kiến của tôi" if view is None else "Đồng ý"
    return out


def leaves(nodes: list[dict]):
    for node in nodes:
        if node.get("children"):
            yield from leaves(node["children"])
        elif node.get("method"):
            yield node


def stepped(leaf: dict, share: float) -> float:
    step = Decimal(str(leaf.get("step") or leaf["max"]))
    top = Decimal(str(leaf["max"]))
    value = (top * Decimal(str(share)) / step).to_integral_value(rounding="ROUND_FLOOR") * step
    value = min(top, max(Decimal(0), value))
    return float(value)


def post_form(url: str, fields: dict, filename: str, content: bytes, meter: Meter) -> None:
    """The browser's presigned POST straight to storage (multipart/form-data)."""
    boundary = f"----rehearsal{random.randrange(10**12)}"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                 f"Content-Type: application/pdf\r\n\r\n".encode() + content + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    target = url.split("://", 1)[1]
    hostport, _, path = target.partition("/")
    host, port = hostport.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        connection.request("POST", "/" + path, body=body,
                           headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        response = connection.getresponse()
        response.read()
        assert response.status in (200, 201, 204), response.status
    finally:
        connection.close()
    meter.bytes_out += len(body)


def diff(after: dict, before: dict) -> dict:
    out = {}
    for key, value in after.items():
        base = before.get(key, {})
        delta = {k: v - base.get(k, 0) for k, v in value.items()}
        if delta.get("requests"):
            out[key] = delta
    return out


# ------------------------------------------------------------------------------------------------ cost and report


def memory_gb() -> dict[str, float]:
    from infra.build import BY_EVENT, SIZES

    return {"api": SIZES["APIHandler"][1] / 1024, "jobs": SIZES["Jobs"][1] / 1024, "mail": SIZES["Mail"][1] / 1024,
            "other": BY_EVENT["SQS"][1] / 1024}


def stage_factor(world: World, stage: str) -> float:
    """How many times the full campaign repeats what this stage did: the self-assessment and appraisal per unit
    assessed (63 provinces and 19 ministries in full), everything else per respondent."""
    if stage == "assessment":
        return (FULL_PROVINCES + FULL_MINISTRIES) / max(1, len(world.scores))
    return FULL_RESPONDENTS / max(1, sum(len(rows) for rows in world.rosters.values()))


def totals_of(world: World, full: bool = False) -> dict[str, float]:
    """The rehearsal's counts over every stage; `full`: each stage scaled to the full campaign."""
    memory = memory_gb()
    out: collections.Counter = collections.Counter()
    for stage, meter in world.meters.items():
        k = stage_factor(world, stage) if full else 1.0
        out["api_requests"] += meter.requests * k
        out["lambda_gb_seconds"] += meter.seconds * memory["api"] * k
        for handler, seconds in meter.handler_seconds.items():
            out["lambda_gb_seconds"] += seconds * memory.get(handler, memory["other"]) * k
        out["lambda_requests"] += (meter.requests + meter.handler_invocations) * k
        out["mails"] += meter.mails * k
        for key, value in world.moto[stage].items():
            service = key.split(".", 1)[0]
            out["ddb_read_units"] += value.get("read_units", 0) * k
            out["ddb_write_units"] += value.get("write_units", 0) * k
            if service == "s3":
                out["s3_put" if key.endswith((".PUT", ".POST", ".DELETE")) else "s3_get"] += value["requests"] * k
            elif service == "sqs":
                out["sqs_requests"] += value["requests"] * k
    return dict(out)


def cost_table(world: World, prices: dict) -> tuple[str, float]:
    counts, full = totals_of(world), totals_of(world, full=True)
    respondents = sum(len(rows) for rows in world.rosters.values())
    p = prices["prices"]
    rows = [
        ("API Gateway (REST)", "requests", "api_requests", p["apigateway_rest_per_million"] / 1e6),
        ("Lambda requests", "invocations", "lambda_requests", p["lambda_per_million_requests"] / 1e6),
        ("Lambda compute", "GB-seconds", "lambda_gb_seconds", p["lambda_per_gb_second"]),
        ("DynamoDB reads", "read request units", "ddb_read_units", p["dynamodb_per_million_rru"] / 1e6),
        ("DynamoDB writes", "write request units", "ddb_write_units", p["dynamodb_per_million_wru"] / 1e6),
        ("SES", "mails", "mails", p["ses_per_thousand_mails"] / 1e3),
        ("S3 PUT/POST", "requests", "s3_put", p["s3_put_per_thousand"] / 1e3),
        ("S3 GET", "requests", "s3_get", p["s3_get_per_thousand"] / 1e3),
        ("SQS", "requests", "sqs_requests", p["sqs_per_million_requests"] / 1e6),
    ]
    lines = [f"| service | unit | rehearsal ({respondents:,} respondents, {len(world.units)} units) | full campaign | "
             "unit price (USD) | cost (USD) |", "|---|---|---|---|---|---|"]
    total = 0.0
    for service, unit, key, price in rows:
        total += full.get(key, 0) * price
        lines.append(f"| {service} | {unit} | {counts.get(key, 0):,.0f} | {full.get(key, 0):,.0f} | {price:.10g} | "
                     f"{full.get(key, 0) * price:,.2f} |")
    lines.append(f"| **total** | | | | | **{total:,.2f}** |")
    return "\n".join(lines), total


def report(world: World) -> None:
    print("\n| stage | time (s) | floor (s) | ratio | budget | requests | items | mails | bytes | DynamoDB RRU/WRU | "
          "S3 | SQS | SES |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for stage, meter in world.meters.items():
        moto = world.moto[stage]
        rru = sum(v.get("read_units", 0) for v in moto.values())
        wru = sum(v.get("write_units", 0) for v in moto.values())
        by = collections.Counter()
        for key, value in moto.items():
            by[key.split(".", 1)[0]] += value["requests"]
        ratio = world.times[stage] / max(world.floors[stage], 1e-6)
        print(f"| {stage} | {world.times[stage]:.1f} | {world.floors[stage]:.1f} | {ratio:.2f} | "
              f"{BUDGETS[stage]} | {meter.requests:,} | {meter.items:,} | {meter.mails:,} | "
              f"{meter.bytes_in + meter.bytes_out:,} | {rru:,.0f}/{wru:,.0f} | {by['s3']:,} | {by['sqs']:,} | "
              f"{by['ses']:,} |")
    for stage in world.meters:
        ratio = world.times[stage] / max(world.floors[stage], 1e-6)
        print(f"BENCH rehearsal_{stage} ratio={ratio:.2f} budget={BUDGETS[stage]}")
    prices = json.loads((ROOT / "bench" / "prices.json").read_text(encoding="utf-8"))
    table, total = cost_table(world, prices)
    print(f"\nCost of the full campaign ({FULL_RESPONDENTS:,} respondents, {FULL_PROVINCES} provinces; prices "
          f"{prices['region']}, {prices['date']}):\n")
    print(table)


# ------------------------------------------------------------------------------------------------------- main


def run(scale: float, provinces: int, seed: int = 2021, workers: int = 6, stack=None,
        ministries: int | None = None) -> World:
    """The rehearsal against `stack` (tests/localstack.py's Stack), started here when None; `ministries`: how many
    ministries are assessed (None: every one)."""
    from localstack import running_stack

    clock_file = Path(tempfile.mkdtemp(prefix="rehearsal-clock-")) / "offset"
    set_offset(clock_file, 0)
    if stack is None:
        tmp = Path(tempfile.mkdtemp(prefix="rehearsal-stack-"))
        os.environ.setdefault("CCHC_LOCAL_SES_RATE", "200")
        with running_stack(tmp, "cchc-rehearsal-", CCHC_MOTO_REQUEST_COUNTS="1",
                           CCHC_LOCAL_CLOCK_FILE=str(clock_file),
                           CCHC_LOCAL_SES_RATE=os.environ["CCHC_LOCAL_SES_RATE"]) as started:
            return _run(started, scale, provinces, seed, workers, clock_file, ministries)
    return _run(stack, scale, provinces, seed, workers, Path(stack.env["CCHC_LOCAL_CLOCK_FILE"]), ministries)


def _run(stack, scale: float, provinces: int, seed: int, workers: int, clock_file: Path,
         ministries: int | None) -> World:
    world = World(stack, scale, provinces, seed, workers, clock_file, ministries)
    world.stage("rosters", world.rosters_stage, workers)
    world.stage("dispatch", world.dispatch_stage, 1)
    world.stage("survey", world.survey_stage, workers)
    world.stage("integrity", world.integrity_stage, 1)
    world.stage("annulment", world.annulment_stage, 1)
    world.stage("assessment", world.assessment_stage, workers)
    world.stage("results", world.results_stage, 1)
    flagged = sorted(u["unit"] for u in world.integrity["units"] if u.get("flagged"))
    print(f"integrity: flagged {flagged}; interfering {world.interfering}; annulled {world.annulled}")
    world.invariants()
    report(world)
    return world


def main() -> int:
    scale = float(os.environ.get("SCALE", "0.1"))
    provinces = int(os.environ.get("REHEARSAL_PROVINCES", str(FULL_PROVINCES)))
    started = time.perf_counter()
    assessed = os.environ.get("REHEARSAL_MINISTRIES", "").strip()
    world = run(scale, provinces, int(os.environ.get("REHEARSAL_SEED", "2021")),
                int(os.environ.get("REHEARSAL_WORKERS", "6")), ministries=int(assessed) if assessed else None)
    respondents = sum(len(rows) for rows in world.rosters.values())
    print(f"\nrehearsal: SCALE={scale}, {len(world.units)} provinces, {respondents:,} respondents, "
          f"{len(world.links):,} links, {sum(ln.submitted for ln in world.links.values()):,} submitted, "
          f"{len(world.mails):,} mails; {time.perf_counter() - started:.0f} s; invariants "
          f"{len(world.checks)} held, {len(world.failures)} failed")
    return 1 if world.failures else 0


if __name__ == "__main__":
    sys.exit(main())
