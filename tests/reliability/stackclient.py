"""Helpers for the suites that drive the running local stack from outside (test_load_loopback.py,
test_faults.py): plain HTTP calls from a chosen loopback address, logins, the mails as moto or an SMTP sink got
them, the app's queue handlers run in a child process, and the API and worker processes started so that a test
may kill them with SIGKILL and start them again."""
from __future__ import annotations

import email
import email.policy
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from localstack import ROOT, Stack
from smtpserver import SmtpServer, certificate

from dev.stack import wait_for_http

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TOKEN_IN_MAIL = re.compile(r"/khao-sat/#([A-Za-z0-9_-]{20,})")


class Unanswered(Exception):
    """The connection failed or broke before an HTTP answer came back."""


def request(base_url: str, method: str, path: str, *, bearer: str | None = None, survey_token: str | None = None,
            data: bytes | None = None, content_type: str | None = None, source: str = "127.0.0.1",
            timeout: float = 120, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """One HTTP request from `source` (any 127.x address: the API records it as the caller's IP): the status and
    the raw body. `headers` add to or replace the default ones (Accept, User-Agent)."""
    host, port = base_url.rsplit("/", 1)[-1].split(":")
    sent = {"Accept": "application/json", "User-Agent": "cchc-reliability/1.0", **(headers or {})}
    if data is not None:
        sent["Content-Type"] = content_type or "application/json"
    if bearer:
        sent["Authorization"] = f"Bearer {bearer}"
    if survey_token:
        sent["X-Survey-Token"] = survey_token
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout, source_address=(source, 0))
    try:
        connection.request(method, path, body=data, headers=sent)
        response = connection.getresponse()
        return response.status, response.read()
    except (OSError, http.client.HTTPException) as exc:
        raise Unanswered(f"{method} {path}: {exc!r}") from exc
    finally:
        connection.close()


def parsed(text: bytes) -> object:
    """A JSON body as data; any other body as it came."""
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text


def call(base_url: str, method: str, path: str, *, bearer: str | None = None, survey_token: str | None = None,
         body: object = None, raw: bytes | None = None, content_type: str | None = None,
         source: str = "127.0.0.1", timeout: float = 120) -> tuple[int, object]:
    """One HTTP request from `source` (any 127.x address: the API records it as the caller's IP)."""
    status, text = request(base_url, method, path, bearer=bearer, survey_token=survey_token,
                           data=json.dumps(body).encode() if body is not None else raw, content_type=content_type,
                           source=source, timeout=timeout)
    return status, parsed(text)


def login(base_url: str, username: str, password: str, source: str = "127.0.0.1") -> str:
    status, body = call(base_url, "POST", "/auth/login", body={"username": username, "password": password},
                        source=source)
    assert status == 200, body
    return body["token"]


def login_with_new_password(stack: Stack, who: str, new_password: str, source: str = "127.0.0.1") -> str:
    """Log in with the handed-out password and change it (required before anything else when the account says so)."""
    username, password = stack.login_of(who)
    token = login(stack.api_url, username, password, source)
    status, body = call(stack.api_url, "POST", "/auth/password", bearer=token, source=source,
                        body={"current_password": password, "new_password": new_password})
    assert status == 200, body
    return token


def roster_rows(base_url: str, bearer: str, cid: str, unit: str) -> list[dict]:
    """The whole roster of a unit through the API, page by page."""
    rows, cursor = [], None
    while True:
        status, page = call(base_url, "GET", f"/campaigns/{cid}/units/{unit}/roster?limit=500"
                            + (f"&cursor={cursor}" if cursor else ""), bearer=bearer)
        assert status == 200, page
        rows += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return rows


def mails_of(paths: list[Path]) -> list[tuple[str, str]]:
    """(recipient, survey token) of each .eml file."""
    out = []
    for path in paths:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        text = message.get_body(preferencelist=("plain",)).get_content()
        out.append((str(message["To"]), TOKEN_IN_MAIL.search(text).group(1)))
    return out


# ---- the queue handlers, run in a child process until the queues stay empty --------------------------------------

_DRAIN_UNTIL_IDLE = """
import os, sys, time
sys.path.insert(0, os.path.join(sys.argv[1], "tests"))
import speedups
sys.path.pop(0)
speedups.share_botocore_loader()
from dev.stack import QueueRunner, load_chalice_app, sqs_sources
overrides = {k: v for k, v in os.environ.items() if k.startswith("CCHC_")}
app, config = load_chalice_app(sys.argv[1], "local", overrides)
endpoint, region = os.environ["AWS_ENDPOINT_URL"], os.environ["AWS_REGION"]
runners = [QueueRunner(app, s, endpoint, config, region, report=lambda m: print(m, flush=True)) for s in sqs_sources(app)]
deadline, handled, idle = time.monotonic() + float(sys.argv[2]), 0, 0
while time.monotonic() < deadline and idle < int(sys.argv[3]):
    done = sum(r.run_once(wait_seconds=0) for r in runners)
    handled, idle = handled + done, 0 if done else idle + 1
    if not done:
        time.sleep(0.3)
print("HANDLED", handled)
"""


def drain_until_idle(stack: Stack, timeout: float = 120, idle_polls: int = 5) -> tuple[int, str]:
    """The app's SQS handlers fed from moto until the queues stay empty for `idle_polls` polls; (handled, output)."""
    done = subprocess.run([sys.executable, "-c", _DRAIN_UNTIL_IDLE, str(ROOT), str(timeout), str(idle_polls)],
                          env=stack.env, cwd=ROOT, capture_output=True, timeout=timeout + 60)
    output = done.stdout.decode() + done.stderr.decode()
    assert done.returncode == 0, output
    return int(output.rsplit("HANDLED", 1)[1].split()[0]), output


def queue_depth(sqs, url: str) -> int:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


# ---- processes a test may kill ---------------------------------------------------------------------------------------

@dataclass
class Killable:
    """A process of the stack started by the test in its own session: `kill9()` sends SIGKILL to its group, as
    when a Lambda instance disappears; `start()` starts it again with the same command."""
    name: str
    argv: list[str]
    env: dict
    log: Path
    url: str | None = None  # answered once the process is ready
    proc: subprocess.Popen | None = None
    kills: int = 0
    logs: list[Path] = field(default_factory=list)

    @property
    def base(self) -> str:
        """The server's address (for a process that serves HTTP)."""
        return self.url.rsplit("/", 1)[0]

    def start(self, timeout: float = 60) -> "Killable":
        log = self.log.with_name(f"{self.log.stem}-{len(self.logs)}{self.log.suffix}")
        self.logs.append(log)
        with log.open("wb") as handle:
            self.proc = subprocess.Popen(self.argv, env=self.env, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        if self.url:
            wait_for_http(self.url, timeout=timeout, proc=self.proc)
        return self

    def kill9(self) -> None:
        assert self.proc is not None and self.proc.poll() is None, f"{self.name} is not running"
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.kills += 1

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        except ProcessLookupError:
            pass

    def output(self) -> str:
        return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in self.logs if p.exists())


def _overrides(stack: Stack) -> list[str]:
    return [arg for k, v in stack.env.items() if k.startswith("CCHC_") for arg in ("--env", f"{k}={v}")]


def api_process(stack: Stack, port: int, log: Path) -> Killable:
    """The API (dev/serve_api.py, as the launcher runs it) on `port`, against the stack's moto."""
    return Killable("api", [sys.executable, str(ROOT / "dev" / "serve_api.py"), "--host", "127.0.0.1", "--port",
                            str(port), "--stage", "local", "--project-dir", str(ROOT), *_overrides(stack)],
                    stack.env, log, url=f"http://127.0.0.1:{port}/health")


def worker_process(stack: Stack, log: Path) -> Killable:
    """The launcher's worker (`python -m dev.stack workers`): the SQS handlers fed from moto, and the schedules
    (once at start, then hourly). One consumer per queue: the queues here hand a message out again after a few
    seconds (to replay a killed worker's redelivery quickly), less than a batch of mails takes, so a second consumer
    would take a batch the first is still sending; on AWS that wait is 6 x the function's time limit."""
    return Killable("worker", [sys.executable, "-m", "dev.stack", "workers", "--project-dir", str(ROOT), "--stage",
                               "local", "--schedule-seconds", "3600", "--max-consumers", "1", *_overrides(stack)],
                    stack.env, log)


# ---- an SMTP server that keeps every message (the government mail server of CCHC_MAIL_MODE=smtp) ----------------

class SmtpSink(SmtpServer):
    """tests/smtpserver.py's server with a certificate of its own: the app reaches it over STARTTLS, verified
    against `ca_bundle` (CCHC_SMTP_CA_BUNDLE). Keeps the messages."""

    def __init__(self, directory: Path) -> None:
        cert = certificate(directory)
        self.ca_bundle = str(cert[0])
        super().__init__(cert)

    def mails(self) -> list[tuple[str, str]]:
        """(recipient, survey token) of every message received so far."""
        with self._lock:
            raw = list(self.messages)
        out = []
        for data in raw:
            message = email.message_from_bytes(data, policy=email.policy.default)
            text = message.get_body(preferencelist=("plain",)).get_content()
            found = TOKEN_IN_MAIL.search(text)
            out.append((str(message["To"]), found.group(1) if found else ""))
        return out


def wait_until(predicate, timeout: float, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{what} not reached within {timeout:.0f}s")
