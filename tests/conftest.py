"""Shared fixtures: moto in-process (mock_aws), the app's real resources, seeded campaigns and accounts.

Environment is set before anything from chalicelib is imported: settings are read once."""
from __future__ import annotations

import contextlib
import copy
import gc
import json
import os
import pickle
import sys
from datetime import datetime, timezone
from pathlib import Path

os.environ.update({
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "ap-southeast-1", "AWS_REGION": "ap-southeast-1",
    "CCHC_STAGE": "test", "CCHC_TABLE_PREFIX": "cchc-test-",
    # A cheaper scrypt cost keeps 64 accounts per test fast; the production cost is asserted separately.
    "CCHC_SCRYPT_N": "1024",
})
os.environ.pop("AWS_ENDPOINT_URL", None)

import pytest  # noqa: E402
from chalice.test import Client  # noqa: E402
from moto import mock_aws  # noqa: E402

from chalicelib.runtime import runtime  # noqa: E402
from speedups import install_moto, picklable_backends, share_botocore_loader  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


share_botocore_loader()
install_moto()


@contextlib.contextmanager
def _environment_as_set(self, environment_variables):
    yield


# chalice's test client swaps `os.environ` for a copy holding its stage's variables (the `dev` stage's table
# prefix) around every request, and puts back what it saw on entry: two requests from different threads (the
# concurrent-submit tests) can leave the process on the `dev` copy for good, and settings read afterwards then name
# the dev stage's tables. The tests set the app's environment themselves (above), so the swap is switched off.
import chalice.test  # noqa: E402

chalice.test.BaseClient._patched_env_vars = _environment_as_set  # type: ignore[method-assign]


SEED_MOMENT = datetime(2022, 1, 5, 3, 0, tzinfo=timezone.utc)  # every test's clock starts here


class FixedClock:
    """Pins runtime.now() for a test; `at` moves it."""

    def __init__(self, moment: datetime):
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment

    def at(self, moment: datetime) -> None:
        self.moment = moment


@pytest.fixture
def clock(monkeypatch):
    fixed = FixedClock(SEED_MOMENT)
    monkeypatch.setattr(runtime, "now", fixed)
    return fixed


class MotoState:
    """Copies of moto's in-process backends, put back in place in a few milliseconds.

    Creating the app's tables, buckets and queues and seeding two campaigns with 64 accounts costs seconds; every
    test needs the same starting point, so it is built once per session and each test starts from a fresh copy of
    it (nothing a test writes reaches the next one)."""

    def __init__(self):
        from moto.core.base_backend import BackendDict

        self.places = [(backends, account) for backends in BackendDict._instances for account in backends]
        with picklable_backends(), _no_garbage_collection():
            self.blob = pickle.dumps([dict(backends[account]) for backends, account in self.places])

    def restore(self) -> None:
        from moto.core.base_backend import BackendDict

        with _no_garbage_collection():
            BackendDict.reset()
            with picklable_backends():
                copies = pickle.loads(self.blob)
        for (backends, account), regions in zip(self.places, copies):
            for region, backend in regions.items():
                backends[account][region] = backend


@contextlib.contextmanager
def _no_garbage_collection():
    """Unpickling a state allocates tens of thousands of objects, enough to set off the cyclic garbage collector's
    full passes over the whole process (moto's and botocore's models: half a million objects): most of a restore's
    time. Nothing the restore allocates is garbage, so the collector waits until it is done."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@pytest.fixture(scope="session")
def moto_session():
    """moto in-process for the whole session (started when the first test needs it), with the local SES rate;
    returns the two starting points: empty resources, and the seeded campaigns with their accounts."""
    from dev.stack import use_local_ses_rate

    use_local_ses_rate()
    mock = mock_aws()
    mock.start()
    try:
        from chalicelib.formats import datafiles
        from chalicelib.services import accounts, campaigns
        from chalicelib.store.bootstrap import ensure_resources

        ensure_resources()
        empty = MotoState()
        moment = FixedClock(SEED_MOMENT)
        for name in ("2021", "demo"):
            campaigns.create_from_files(name, moment(), runtime.random_bytes)
        _, units = datafiles.load_campaign("2021", datafiles.UNIT_KINDS)  # provinces and assessed ministries
        issued = accounts.provision(units, moment(), runtime.random_bytes, must_change=False)
        logins = {(i["unit"] or "admin"): (i["username"], i["password"]) for i in issued}
        seeded = MotoState()
        # What is alive now (the SDK's and moto's models, the app, the seed) lives as long as the session: the
        # cyclic garbage collector's full passes, set off by every restore's allocations, no longer walk it.
        gc.freeze()
        yield {"empty": empty, "seeded": seeded, "logins": logins}
    finally:
        mock.stop()


@pytest.fixture
def aws(request, moto_session):
    """The app's tables, buckets and queues, empty, in moto in-process."""
    from chalicelib.config import settings
    from chalicelib.services import mailing, survey
    from chalicelib.store import files, mailer, queues

    for cached in (files._s3, mailer._ses, queues._sqs, queues._url):
        cached.cache_clear()  # a client a test changed (hooks, patched methods) must not serve the next test
    # Each test starts from settings read from the tests' environment (a test that changed it clears them after).
    settings.cache_clear()
    settings()
    if "seeded" not in request.fixturenames:  # else `seeded` puts its own state in place of all of moto's
        moto_session["empty"].restore()
    mailer._quota.clear()
    mailing._pace = None
    survey.forget_cached()  # the store is rewound: what the container kept of it no longer holds
    yield


class Api:
    """chalice.test.Client with JSON, bearer tokens and a chosen source IP."""

    def __init__(self, client: Client):
        self.client = client

    def call(self, method: str, path: str, body=None, token: str | None = None, ip: str = "127.0.0.1",
             headers: dict | None = None, raw: bytes | None = None):
        hdrs = {"content-type": "application/json"}
        if token:
            hdrs["authorization"] = f"Bearer {token}"
        hdrs.update(headers or {})
        self.client.http._local_gateway.event_converter.LOCAL_SOURCE_IP = ip
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        response = self.client.http.request(method, path, headers=hdrs, body=data)
        response.headers = {k.lower(): v for k, v in response.headers.items()}
        response.data = json.loads(response.body) if response.body and response.headers.get(
            "content-type", "").startswith("application/json") else None
        return response

    def login(self, username: str, password: str, ip: str = "127.0.0.1") -> str:
        response = self.call("POST", "/auth/login", {"username": username, "password": password}, ip=ip)
        assert response.status_code == 200, response.body
        return response.data["token"]


@pytest.fixture
def api(aws):
    from app import app

    with Client(app) as client:
        yield Api(client)


@pytest.fixture
def seeded(aws, clock, moto_session):
    """Campaigns 2021 and demo (seeded at the test clock's starting moment) and every account; returns
    {"admin": (user, pw), "01": (user, pw), ...}."""
    assert clock() == SEED_MOMENT
    moto_session["seeded"].restore()
    return dict(moto_session["logins"])


class Tokens:
    """Bearer tokens by account ("admin", "01", ...), logged in at the test clock's current time and
    logged in again when the test has moved the clock past the session's idle limit (30 minutes; the last
    activity is recorded at most once a minute, hence the margin) or its life."""

    def __init__(self, api: Api, seeded: dict, clock: FixedClock):
        self.api, self.seeded, self.clock, self.cache = api, seeded, clock, {}

    def __getitem__(self, who: str) -> str:
        now = self.clock()
        token, login_at, used_at = self.cache.get(who, (None, now, now))
        if token is None or abs((now - used_at).total_seconds()) > 25 * 60 \
                or abs((now - login_at).total_seconds()) > 3600:
            token, login_at = self.api.login(*self.seeded[who]), now
        self.cache[who] = (token, login_at, now)  # each use is the session's activity (recorded within a minute)
        return token


@pytest.fixture
def tokens(api, seeded, clock):
    return Tokens(api, seeded, clock)


class _Built:
    """A state one test built on top of the seed, kept for the other tests of its module."""

    def __init__(self, value, tokens, api, clock: FixedClock):
        self.state = MotoState()
        self.tokens, self.api = tokens, api  # the builder's objects, mapped to each later test's own
        self.value = copy.deepcopy(value, {id(tokens): tokens, id(api): api})
        self.sessions = dict(tokens.cache) if tokens is not None else None
        self.moment = clock()


@pytest.fixture(scope="module")
def _built_states() -> dict:
    return {}


@pytest.fixture
def built(request, _built_states, aws, clock):
    """built(name, build) -> what build() returned, with moto in the state build() left.

    A module's tests that start from the same state (rosters sent, a dispatch mailed, answers submitted …, made
    through the API) build it once: the first test that asks runs build(); the others start from a copy of the
    state it left (moto's backends, the test clock, the sessions of `tokens`) and get a copy of what it returned,
    in milliseconds. build() must change nothing outside moto, the clock and `tokens` (no monkeypatching)."""
    from chalicelib.services import mailing, survey
    from chalicelib.store import mailer

    def use(name: str, build):
        tokens = request.getfixturevalue("tokens") if "tokens" in request.fixturenames else None
        api = request.getfixturevalue("api") if "api" in request.fixturenames else None
        entry = _built_states.get(name)
        if entry is None:
            value = build()
            _built_states[name] = _Built(value, tokens, api, clock)
            return value
        entry.state.restore()
        mailer._quota.clear()
        mailing._pace = None
        survey.forget_cached()
        if tokens is not None:
            tokens.cache = dict(entry.sessions)
        clock.at(entry.moment)
        return copy.deepcopy(entry.value, {id(entry.tokens): tokens, id(entry.api): api})

    return use


# ---- running on several workers (pytest-xdist, `make test`) ---------------------------------------------------------

def _xdist_scope(nodeid: str) -> str:
    """The tests that must run on one worker, in their order: those of one file (a file's local stack or build is
    module- or session-scoped), and the whole browser suite (one local stack and one Chromium per session, whose
    state the pages leave to each other)."""
    path = nodeid.split("::", 1)[0]
    return "tests/browser" if path.startswith("tests/browser/") else path


# The longest scopes (minutes each on two cores; README, Tests), longest first: the first ones start at once, one on
# each worker, and each of the others goes to the worker that is free first.
_LONGEST = ("tests/reliability/test_faults.py", "tests/browser", "tests/reliability/test_fuzz_spec.py",
            "tests/test_rehearsal.py")


def _heavy_first(nodeid: str) -> int:
    """The suites that start local stacks and run for minutes are handed out first, the longest before the
    others; the short API and unit files then fill in at the end, so that the workers finish together."""
    scope = _xdist_scope(nodeid)
    if scope in _LONGEST:
        return _LONGEST.index(scope)
    if scope.startswith("tests/reliability/"):
        return len(_LONGEST)
    return len(_LONGEST) + (1 if scope in ("tests/test_local_stack.py", "tests/test_infra.py") else 2)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """With `--dist loadscope` (make test): pytest-xdist's load-by-scope scheduling with the scopes and order above
    (its `xdist_group` marks do not reach the scheduler with this version of pytest). Other modes are xdist's own
    (make test-fast: test by test, no test there shares a stack)."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class Scheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _xdist_scope(nodeid)

        def schedule(self) -> None:
            # LoadScopeScheduling.schedule of pytest-xdist 3.8, its work queue in the order above rather than by
            # the number of tests per scope.
            assert self.collection_is_completed
            if self.collection is not None:
                for node in self.nodes:
                    self._reschedule(node)
                return
            if not self._check_nodes_have_same_collection():
                self.log("**Different tests collected, aborting run**")
                return
            self.collection = list(next(iter(self.registered_collections.values())))
            if not self.collection:
                return
            for nodeid in sorted(self.collection, key=_heavy_first):  # stable: a scope keeps its order
                self.workqueue.setdefault(self._split_scope(nodeid), {})[nodeid] = False
            for _ in range(len(self.nodes) - len(self.workqueue)):
                unused, _ = self.assigned_work.popitem()
                unused.shutdown()
            for node in self.nodes:
                self._assign_work_unit(node)
            for node in self.nodes:
                self._reschedule(node)
            if not self.workqueue:
                for node in self.nodes:
                    node.shutdown()

    return Scheduling(config, log)
