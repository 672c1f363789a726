"""Fuzzing the running API from its own OpenAPI document (schemathesis).

The whole local stack runs (moto's server, the API on chalice's local server); the spec is read from its
`GET /openapi.json`, so every route is covered, new ones included. Every operation is called with data generated
from its schema (valid and invalid) by three callers: nobody, a province (unit 01) and the ministry, each from its
own loopback address (failed logins and unknown survey links are counted per address). Path parameters are
sometimes the real campaign and unit (demo, 01) so the calls get past the lookups, sometimes generated.

Every answer must be: not a 5xx; a status code the operation documents; the documented content type; a body that
validates against the documented schema. A finding is fixed in the product, never by loosening these checks.
The sessions must survive the run (logout and password change are not fuzzed with them), so the calls stay
meaningful to the end; the run is derandomized, so it is the same on every machine.
"""
from __future__ import annotations

import collections
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from requests.adapters import HTTPAdapter
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from localstack import running_stack

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Generated examples per operation, per generation mode and per path variant: about 2,000 requests in all, a few
# minutes on two cores. Anonymous calls of operations that need a session all stop at the same 401: fewer.
EXAMPLES = 5
EXAMPLES_REFUSED = 2
REAL_PATH = {"cid": "demo", "unit": "01"}
# Calls that would end the session the rest of the run relies on.
SESSION_ENDING = {("POST", "/auth/logout"), ("POST", "/auth/password")}
# (address, account): the API sees loopback addresses as distinct peers.
CALLERS = {"anonymous": ("127.0.0.2", None), "province": ("127.0.0.3", "01"), "ministry": ("127.0.0.4", "admin")}


class SourceAddress(HTTPAdapter):
    """Connections from a chosen local address, so the API sees each caller as its own peer."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        return super().init_poolmanager(*args, **kwargs)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def stack(workdir):
    with running_stack(workdir, "cchc-fuzz-") as running:
        yield running


@pytest.fixture(scope="module")
def sessions(stack):
    """A requests session per caller; the accounts' handed-out passwords are changed first, as people must."""
    out = {}
    for role, (address, account) in CALLERS.items():
        session = requests.Session()
        session.mount("http://", SourceAddress(address))
        if account:
            username, password = stack.login_of(account)
            r = session.post(f"{stack.api_url}/auth/login", json={"username": username, "password": password})
            assert r.status_code == 200, r.text
            token = r.json()["token"]
            r = session.post(f"{stack.api_url}/auth/password", headers={"Authorization": f"Bearer {token}"},
                             json={"current_password": password, "new_password": f"Fuzz-{password}-9x"})
            assert r.status_code == 200, r.text
            session.headers["Authorization"] = f"Bearer {token}"
        out[role] = session
    return out


@pytest.fixture(scope="module")
def schema(stack):
    return schemathesis.openapi.from_url(f"{stack.api_url}/openapi.json")


def operations(schema) -> list:
    return [result.ok() for result in schema.get_all_operations()]


def secured(operation) -> bool:
    return bool(operation.definition.raw.get("security"))


def server_errors(log: Path) -> list[str]:
    """The last line of each traceback the API logged (what a 500 hid)."""
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    return re.findall(r"unhandled error in \w+\n(?:.*\n)*?(\w+(?:Error|Exception)\b[^\n]*)", text)


def test_the_served_document_describes_every_route_and_every_one_but_itself_is_fuzzed(stack, schema):
    from app import app

    document = requests.get(f"{stack.api_url}/openapi.json", timeout=30).json()
    served = {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}
    assert served == {(m, p) for p, methods in app.routes.items() for m in methods}
    assert {(op.method.upper(), op.path) for op in operations(schema)} == served - {("GET", "/openapi.json")}


def plans(role: str, ops: list) -> list[tuple]:
    """(operation, generation mode, path parameters, examples) for every strategy a caller's run draws from."""
    out = []
    for op in ops:
        refused = role == "anonymous" and secured(op)
        fixed = {k: v for k, v in REAL_PATH.items() if "{" + k + "}" in op.path}
        modes = [GenerationMode.POSITIVE] if refused else [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
        out += [(op, mode, path_parameters, EXAMPLES_REFUSED if refused else EXAMPLES)
                for mode in modes for path_parameters in ([fixed, None] if fixed else [None])]
    return out


# Each plan's cases, by (operation, mode, path parameters, examples): the province and the ministry run the same
# plans, and derandomized generation draws the same cases for a plan every time, so they are drawn once.
_GENERATED: dict[tuple, list] = {}


def cases_of(plan: tuple) -> list:
    """The cases hypothesis generates for one plan: derandomized, and drawn without sending anything (no answer
    steers the generation phase), so the same on every machine and for every caller."""
    op, mode, path_parameters, examples = plan
    key = (op.label, mode, tuple(sorted((path_parameters or {}).items())), path_parameters is None, examples)
    if key not in _GENERATED:
        _GENERATED[key] = _generate(plan)
    return _GENERATED[key]


def _generate(plan: tuple) -> list:
    op, mode, path_parameters, examples = plan
    found: list = []

    @settings(max_examples=examples, derandomize=True, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=op.as_strategy(generation_mode=mode, path_parameters=path_parameters))
    def collect(case):
        found.append(case)

    try:
        collect()
    except Unsatisfiable:
        pass  # nothing to make invalid (no parameters, no body)
    return found


@pytest.mark.parametrize("role", list(CALLERS))
def test_every_operation_answers_within_its_spec_and_never_with_a_5xx(stack, workdir, sessions, schema, role):
    session = sessions[role]
    failures: dict[tuple, str] = {}
    statuses: collections.Counter = collections.Counter()
    answered_2xx: set[str] = set()
    started, sent = time.monotonic(), 0
    ops = [op for op in operations(schema)
           if not (CALLERS[role][1] and (op.method.upper(), op.path) in SESSION_ENDING)]
    # Generating a case costs about as much as the API's answer to it: one thread generates every plan's cases, in
    # order, while this one sends those already generated, in the same order (hypothesis runs on that thread alone).
    generator = ThreadPoolExecutor(max_workers=1)
    try:
        for generated in [generator.submit(cases_of, plan) for plan in plans(role, ops)]:
            for case in generated.result():
                response = case.call(base_url=stack.api_url, session=session, timeout=60)
                sent += 1
                statuses[response.status_code // 100] += 1
                if 200 <= response.status_code < 300:
                    answered_2xx.add(case.operation.label)
                try:
                    case.validate_response(response, checks=CHECKS)
                except (AssertionError, BaseExceptionGroup) as found:
                    kinds = tuple(sorted({type(f).__name__ for f in getattr(found, "exceptions", [found])}))
                    failures.setdefault((case.operation.label, response.status_code, kinds), str(found)[:3000])
    finally:
        generator.shutdown(cancel_futures=True)
    took = time.monotonic() - started
    figures = (f"{role}: {len(ops)} operations, {sent} requests in {took:.0f} s, answers by class "
               f"{dict(sorted(statuses.items()))}, {len(answered_2xx)} operations answered 2xx, "
               f"{len(failures)} failures")
    print(f"\nFUZZ {figures}")
    assert not failures, (f"{figures}\n" + "\n".join(f"--- {key}\n{text}" for key, text in failures.items())
                          + "\nAPI errors:\n" + "\n".join(server_errors(workdir / "api.log")))
    if CALLERS[role][1]:
        # the session lasted: the calls above were made as this caller, not as nobody
        assert session.get(f"{stack.api_url}/me").status_code == 200
        assert len(answered_2xx) >= 5, figures
