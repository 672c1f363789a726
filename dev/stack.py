"""Building blocks of the local stack (DESIGN.md §4): every piece starts and stops programmatically so the
launcher (dev/run_local.py) and the tests (tests/test_local_stack.py) assemble the same parts.

- MotoServer: moto's ThreadedMotoServer on 127.0.0.1, with a ChangeTracker that watches the write traffic so
  snapshots can skip what did not change and can freeze writes for a consistent cut.
- Persistence: snapshot/restore of every DynamoDB table and S3 bucket through the public AWS APIs only,
  written atomically (a `kill -9` mid-snapshot leaves the last good snapshot in place).
- OutboxWriter: every mail sent through SES becomes one .eml file in .local/outbox/.
- SiteServer: the static site, a generated /config.js and the outbox page /outbox/.
- run_workers: the scheduled handlers on a timer and the SQS handlers fed from their queues (a subprocess,
  so a crashing handler never takes the launcher down).

Run `python -m dev.stack --help` for the command line entry points (workers, moto, snapshot, restore).
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import email
import email.parser
import email.policy
import email.utils
import fcntl
import functools
import gzip
import hashlib
import html
import io
import json
import logging
import os
import re
import shutil
import signal
import socket
import sys
import threading
import time
import traceback
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterable

log = logging.getLogger("local-stack")

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REGION = "ap-southeast-1"
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
# moto writes table exports into this bucket; it is the launcher's, never the app's, so it is not persisted.
EXPORT_BUCKET = "local-stack-snapshot-exports"
SNAPSHOT_FORMAT = 1


# --------------------------------------------------------------------------------------------------------------
# Ports and environment
# --------------------------------------------------------------------------------------------------------------

def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def wait_for_http(url: str, timeout: float = 20.0, proc=None) -> None:
    """Waits until `url` answers any HTTP status; raises if `proc` exits first or time runs out."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError as exc:
            last = exc
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout}s: {last}")


def aws_environment(moto_url: str, region: str = DEFAULT_REGION) -> dict[str, str]:
    """What every process of the local stack needs to talk to moto and never to a real AWS account."""
    return {"AWS_ENDPOINT_URL": moto_url, "AWS_REGION": region, "AWS_DEFAULT_REGION": region,
            "AWS_EC2_METADATA_DISABLED": "true", **FAKE_CREDENTIALS}


def child_environment(extra: dict[str, str]) -> dict[str, str]:
    """os.environ without any real AWS identity, plus `extra`."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")}
    env.update(extra)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def stage_environment(project_dir: str | Path, stage: str) -> dict[str, str]:
    """The stage's environment variables from .chalice/config.json, merged the way `chalice local` merges them."""
    from chalice.cli.factory import CLIFactory

    config = CLIFactory(str(project_dir), environ={}).create_config_obj(chalice_stage_name=stage)
    return {k: str(v) for k, v in config.environment_variables.items()}


def parse_env_pairs(pairs: Iterable[str]) -> dict[str, str]:
    out = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"--env expects KEY=VALUE, got {pair!r}")
        out[key] = value
    return out


def load_chalice_app(project_dir: str | Path, stage: str, overrides: dict[str, str] | None = None):
    """Imports the project's `app` with the stage's environment applied first (then `overrides`), as
    `chalice local --stage` does. Returns (app, chalice Config)."""
    from chalice.cli.factory import CLIFactory

    project_dir = str(Path(project_dir).resolve())
    factory = CLIFactory(project_dir, environ=os.environ)
    config = factory.create_config_obj(chalice_stage_name=stage)
    os.environ.update({k: str(v) for k, v in config.environment_variables.items()})
    os.environ.update(overrides or {})
    os.chdir(project_dir)
    # environment_variables=None: the environment is already in place, and overrides must win over config.json.
    app = factory.load_chalice_app(environment_variables=None)
    return app, config


def install_parent_watchdog(interval: float = 1.0) -> None:
    """Children of the launcher exit when it disappears (even after kill -9), so no orphan keeps a port.
    Only armed when the launcher said so (CCHC_LOCAL_PARENT_PID), never for a command run by hand."""
    expected = os.environ.get("CCHC_LOCAL_PARENT_PID")
    if not expected or not expected.isdigit():
        return

    def watch() -> None:
        while True:
            if os.getppid() != int(expected):
                os._exit(0)
            time.sleep(interval)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def quiet_logging() -> None:
    """Lambda-like logging (the app's log lines on stdout) without the SDKs' per-call chatter."""
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")
    for name in ("botocore", "boto3", "urllib3", "pynamodb"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _boto_client(service: str, endpoint_url: str, region: str = DEFAULT_REGION):
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        service, endpoint_url=endpoint_url, region_name=region,
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        config=Config(retries={"max_attempts": 5, "mode": "standard"}, max_pool_connections=16,
                      s3={"addressing_style": "path"}))


# --------------------------------------------------------------------------------------------------------------
# moto, with change tracking
# --------------------------------------------------------------------------------------------------------------

# The emulated SES account's sending rate (messages per second) as GetSendQuota reports it. moto's own default is
# 1 a second; SES grants 14 a second to an account out of the sandbox, the rate production starts with. The app
# paces itself on what GetSendQuota says, so this is the local mail rate of `make run` and of the tests alike.
LOCAL_SES_RATE_DEFAULT = 14.0


def local_ses_rate() -> float:
    return float(os.environ.get("CCHC_LOCAL_SES_RATE") or LOCAL_SES_RATE_DEFAULT)


def use_local_ses_rate(rate: float | None = None) -> None:
    """Make moto's SES (in this process: the server's or the in-process mock's) report `rate` (default: the
    local setting) as the account's MaxSendRate. A backend's own `max_send_rate` attribute, when a test sets one,
    wins for that backend."""
    from moto.ses import models

    chosen = local_ses_rate() if rate is None else float(rate)
    if not hasattr(models.SESQuota, "_moto_init"):
        models.SESQuota._moto_init = models.SESQuota.__init__  # type: ignore[attr-defined]
        models.SESBackend._moto_get_send_quota = models.SESBackend.get_send_quota  # type: ignore[attr-defined]

    def init(self, sent: int) -> None:
        models.SESQuota._moto_init(self, sent)  # type: ignore[attr-defined]
        self.max_send_rate = chosen

    def get_send_quota(self):
        quota = models.SESBackend._moto_get_send_quota(self)  # type: ignore[attr-defined]
        if "max_send_rate" in vars(self):
            quota.max_send_rate = self.max_send_rate
        return quota

    models.SESQuota.__init__ = init  # type: ignore[method-assign]
    models.SESBackend.get_send_quota = get_send_quota  # type: ignore[method-assign]


class _SharedExclusiveLock:
    """Many writers share it; a snapshot takes it exclusively (and is preferred, so it is never starved)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._shared = 0
        self._exclusive = False
        self._waiting_exclusive = 0

    @contextlib.contextmanager
    def shared(self):
        with self._cond:
            while self._exclusive or self._waiting_exclusive:
                self._cond.wait()
            self._shared += 1
        try:
            yield
        finally:
            with self._cond:
                self._shared -= 1
                self._cond.notify_all()

    @contextlib.contextmanager
    def exclusive(self):
        with self._cond:
            self._waiting_exclusive += 1
            while self._exclusive or self._shared:
                self._cond.wait()
            self._waiting_exclusive -= 1
            self._exclusive = True
        try:
            yield
        finally:
            with self._cond:
                self._exclusive = False
                self._cond.notify_all()


_DDB_ITEM_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
_DDB_SCHEMA_WRITES = {"CreateTable", "DeleteTable", "UpdateTable", "UpdateTimeToLive", "ImportTable",
                      "RestoreTableFromBackup", "RestoreTableToPointInTime"}
_DDB_PARTIQL = {"ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction"}


@dataclass
class Changes:
    tables: set[str] = field(default_factory=set)
    all_tables: bool = False
    s3: bool = False

    def __bool__(self) -> bool:
        return bool(self.tables or self.all_tables or self.s3)


class ChangeTracker:
    """WSGI middleware in front of moto that records which tables and whether S3 were written, and lets a
    snapshot freeze every write for the few hundred milliseconds its export takes (one consistent cut across
    tables). It only reads the HTTP traffic: what changed is decided from public request shapes."""

    def __init__(self, exclude_buckets: Iterable[str] = (EXPORT_BUCKET,)):
        self.exclude_buckets = set(exclude_buckets)
        self._lock = threading.Lock()
        self._changes = Changes(all_tables=True, s3=True)
        self._barrier = _SharedExclusiveLock()

    # -- used by Persistence
    def take(self) -> Changes:
        with self._lock:
            changes, self._changes = self._changes, Changes()
            return changes

    def put_back(self, changes: Changes) -> None:
        with self._lock:
            self._changes.tables |= changes.tables
            self._changes.all_tables |= changes.all_tables
            self._changes.s3 |= changes.s3

    def clear(self) -> None:
        self.take()

    def pending(self) -> Changes:
        with self._lock:
            return Changes(set(self._changes.tables), self._changes.all_tables, self._changes.s3)

    def frozen(self):
        """Context manager: no tracked write runs while it is held; in-flight writes finish first."""
        return self._barrier.exclusive()

    # -- WSGI
    def wrap(self, app: Callable) -> Callable:
        return functools.partial(self._call, app)

    def _call(self, app: Callable, environ: dict, start_response: Callable):
        try:
            kind = self._classify(environ)
        except Exception:  # never let bookkeeping break the emulator; assume everything changed
            kind = ("all", None)
        if kind is None:
            return app(environ, start_response)
        with self._barrier.shared():
            try:
                result = app(environ, start_response)
                try:
                    return [b"".join(result)]
                finally:
                    if hasattr(result, "close"):
                        result.close()
            finally:
                self._mark(*kind)

    def _mark(self, what: str, tables: set[str] | None) -> None:
        with self._lock:
            if what == "s3":
                self._changes.s3 = True
            elif what == "tables" and tables:
                self._changes.tables |= tables
            else:
                self._changes.all_tables = True
                self._changes.s3 = True

    @staticmethod
    def _read_body(environ: dict) -> bytes:
        length = environ.get("CONTENT_LENGTH")
        stream = environ["wsgi.input"]
        if length:
            body = stream.read(int(length))
        elif environ.get("wsgi.input_terminated"):
            body = stream.read()
        else:
            body = b""
        environ["wsgi.input"] = io.BytesIO(body)
        return body

    def _classify(self, environ: dict) -> tuple[str, set[str] | None] | None:
        method = environ.get("REQUEST_METHOD", "GET")
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.startswith("DynamoDB_"):
            op = target.partition(".")[2]
            if op not in _DDB_ITEM_WRITES | _DDB_SCHEMA_WRITES | _DDB_PARTIQL:
                return None
            body = json.loads(self._read_body(environ) or b"{}")
            return "tables", _tables_written(op, body)
        if target or method in ("GET", "HEAD", "OPTIONS"):
            return None  # another JSON-protocol service (SQS, EventBridge ...) or a read
        path = environ.get("PATH_INFO", "/")
        if path.startswith("/moto-api/"):
            return ("all", None) if "reset" in path else None
        content_type = environ.get("CONTENT_TYPE", "")
        if method == "POST" and path == "/" and content_type.startswith("application/x-www-form-urlencoded"):
            return None  # query-protocol services (SES, SQS, STS ...)
        bucket = urllib.parse.unquote(path.lstrip("/").split("/", 1)[0])
        if bucket in self.exclude_buckets:
            return None
        if environ.get("CONTENT_LENGTH") and int(environ["CONTENT_LENGTH"]) <= 256 * 1024 * 1024:
            self._read_body(environ)  # upload the body before taking the shared lock
        return "s3", None


def _table_name(value: str) -> str:
    return value.split(":table/", 1)[1].split("/", 1)[0] if value.startswith("arn:") else value


def _tables_written(op: str, body: dict) -> set[str] | None:
    """Names of the tables a DynamoDB write touches; None when it cannot tell (the caller assumes all)."""
    if op in ("PutItem", "UpdateItem", "DeleteItem", "CreateTable", "DeleteTable", "UpdateTable",
              "UpdateTimeToLive", "RestoreTableFromBackup"):
        name = body.get("TableName") or body.get("TargetTableName")
        return {_table_name(name)} if name else None
    if op == "RestoreTableToPointInTime":
        return {_table_name(body["TargetTableName"])} if body.get("TargetTableName") else None
    if op == "BatchWriteItem":
        return {_table_name(n) for n in body.get("RequestItems", {})}
    if op == "TransactWriteItems":
        names = set()
        for action in body.get("TransactItems", []):
            for spec in action.values():
                names.add(_table_name(spec["TableName"]))
        return names
    if op == "ExecuteStatement" and str(body.get("Statement", "")).lstrip().upper().startswith("SELECT"):
        return set()
    return None


def serialise_dynamodb(app: Callable) -> Callable:
    """WSGI middleware: one DynamoDB request at a time.

    moto applies a TransactWriteItems item by item and, when a condition fails, puts back copies of whole tables
    taken when the transaction began. Beside other requests (the server is threaded), two transactions can then
    both pass their conditions, and a rollback reverts writes other requests made meanwhile: concurrent survey
    submits stored more responses than links (tests/reliability/test_load_loopback.py). DynamoDB isolates
    transactions; run alone, moto's do too. It costs little: the emulator holds one interpreter lock anyway."""
    lock = threading.Lock()

    def call(environ: dict, start_response: Callable):
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            return app(environ, start_response)
        with lock:
            result = app(environ, start_response)
            try:
                return [b"".join(result)]
            finally:
                if hasattr(result, "close"):
                    result.close()

    return call


class MotoServer:
    """moto's ThreadedMotoServer on `host:port`, optionally behind a ChangeTracker.

    moto keeps its state per process: stopping and starting again in the same process keeps the data
    (call `reset()` for an empty emulator); a separate process (`python -m dev.stack moto`) starts empty."""

    def __init__(self, host: str = "127.0.0.1", port: int = 5055, tracker: ChangeTracker | None = None,
                 verbose: bool = False):
        from moto.server import ThreadedMotoServer

        use_local_ses_rate()
        self.host, self.port, self.tracker = host, port, tracker
        tracker_ref = tracker

        class _Server(ThreadedMotoServer):
            def _server_entry(self) -> None:
                # ThreadedMotoServer._server_entry, with the app wrapped by the tracker.
                from werkzeug.serving import make_server
                from moto.moto_server.werkzeug_app import (DomainDispatcherApplication, MotoRequestHandler,
                                                           create_backend_app)

                app = serialise_dynamodb(DomainDispatcherApplication(create_backend_app))
                if tracker_ref is not None:
                    app = tracker_ref.wrap(app)
                self._server = make_server(self._ip_address, self._port, app, True,
                                           request_handler=MotoRequestHandler)
                self._server_ready_event.set()
                self._server.serve_forever()

        if not verbose:
            logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server = _Server(ip_address=host, port=port, verbose=False)
        self._started = False

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "MotoServer":
        self._server.start()
        self._started = True
        return self

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        inner = self._server._server
        self._server.stop()
        if inner is not None:
            inner.server_close()

    def reset(self) -> None:
        """Empties every moto backend of this process (public moto endpoint)."""
        request = urllib.request.Request(self.url + "/moto-api/reset", method="POST", data=b"")
        urllib.request.urlopen(request, timeout=10).read()


# --------------------------------------------------------------------------------------------------------------
# Persistence: snapshot and restore through the public AWS APIs
# --------------------------------------------------------------------------------------------------------------

def _b64_binaries(value: dict) -> dict:
    """botocore's DynamoDB-JSON (bytes for B/BS) -> the JSON-safe DynamoDB-JSON of an export (base64)."""
    (kind, inner), = value.items()
    if kind == "B":
        return {"B": base64.b64encode(inner).decode("ascii")}
    if kind == "BS":
        return {"BS": [base64.b64encode(v).decode("ascii") for v in inner]}
    if kind == "M":
        return {"M": {k: _b64_binaries(v) for k, v in inner.items()}}
    if kind == "L":
        return {"L": [_b64_binaries(v) for v in inner]}
    return value


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_durable(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)
        _fsync_file(dst)


_OBJECT_FIELDS = ("ContentType", "ContentEncoding", "ContentDisposition", "ContentLanguage", "CacheControl")


@dataclass
class SnapshotResult:
    path: Path
    tables: int
    items: int
    objects: int
    exported: list[str]
    seconds: float


class Persistence:
    """Snapshots of moto's DynamoDB tables and S3 buckets in `root` (`root/current` -> `root/gen-...`).

    A snapshot is built in `root/tmp-...`, every file fsynced, renamed to `gen-...`, and only then does the
    `current` symlink flip (an atomic rename), so an interrupted snapshot never replaces the last good one.
    Tables are read with ExportTableToPointInTime (DynamoDB-JSON lines, ~15x faster than Scan through moto)
    while the tracker holds writes, falling back to a paginated Scan. Unchanged tables and unchanged objects
    (same ETag) are hard-linked from the previous generation, so an idle stack costs nothing."""

    def __init__(self, root: str | Path, endpoint_url: str, region: str = DEFAULT_REGION,
                 tracker: ChangeTracker | None = None, use_export: bool = True, full_every: float = 300.0):
        self.root = Path(root)
        self.endpoint_url = endpoint_url
        self.region = region
        self.tracker = tracker
        self.use_export = use_export
        self.full_every = full_every
        self._ddb = _boto_client("dynamodb", endpoint_url, region)
        self._s3 = _boto_client("s3", endpoint_url, region)
        self._sqs = _boto_client("sqs", endpoint_url, region)
        self._lock = threading.Lock()
        self._last_full = 0.0
        self._pitr_enabled: set[str] = set()
        self._export_bucket_ready = False
        self._timer: threading.Thread | None = None
        self._stop = threading.Event()
        self.last_error: str | None = None

    # ---------------------------------------------------------------- generations on disk
    def current(self) -> Path | None:
        """The directory of the last complete snapshot, or None."""
        link = self.root / "current"
        if link.is_symlink() or link.exists():
            target = link.resolve()
            if (target / "manifest.json").exists():
                return target
        # `current` missing (never flipped, or removed by hand): the newest complete generation wins.
        gens = sorted(p for p in self.root.glob("gen-*") if (p / "manifest.json").exists())
        return gens[-1] if gens else None

    def manifest(self, gen: Path | None = None) -> dict | None:
        gen = gen or self.current()
        if gen is None:
            return None
        return json.loads((gen / "manifest.json").read_text(encoding="utf-8"))

    def _flip(self, gen: Path) -> None:
        tmp_link = self.root / f".current-{os.getpid()}"
        if tmp_link.is_symlink() or tmp_link.exists():
            tmp_link.unlink()
        os.symlink(gen.name, tmp_link)
        os.replace(tmp_link, self.root / "current")
        _fsync_dir(self.root)

    def _prune(self, keep: Path) -> None:
        """Drops older generations (keeping the previous one as a spare) and leftovers of interrupted runs."""
        gens = sorted(p for p in self.root.glob("gen-*") if p != keep)
        for old in gens[:-1]:
            shutil.rmtree(old, ignore_errors=True)
        for tmp in self.root.glob("tmp-*"):
            shutil.rmtree(tmp, ignore_errors=True)

    @contextlib.contextmanager
    def _root_lock(self):
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    # ---------------------------------------------------------------- snapshot
    def snapshot(self, force: bool = False, include_queues: bool = False) -> SnapshotResult | None:
        """Writes a new generation if anything changed since the last one (or `force`). Returns None if skipped."""
        with self._lock, self._root_lock():
            started = time.monotonic()
            prev = self.current()
            prev_manifest = self.manifest(prev) if prev else None
            full = (self.tracker is None or prev_manifest is None
                    or time.monotonic() - self._last_full > self.full_every)
            if self.use_export:
                self._ensure_export_prerequisites(self._list_tables())
            freeze = self.tracker.frozen() if self.tracker is not None else contextlib.nullcontext()
            with freeze:
                # Taken inside the freeze: one cut for every table, no write lands between "what changed"
                # and the exports.
                changes = self.tracker.take() if self.tracker is not None else Changes()
                if full:
                    changes = Changes(all_tables=True, s3=True)
                if not (changes or force or include_queues or (prev_manifest or {}).get("queues")):
                    return None
                try:
                    capture = self._capture(prev_manifest, changes)
                except BaseException:
                    if self.tracker is not None:
                        self.tracker.put_back(changes)
                    raise
            try:
                result = self._write_generation(prev, prev_manifest, capture, include_queues, started)
            except BaseException:
                if self.tracker is not None:
                    self.tracker.put_back(changes)
                raise
            if full:
                self._last_full = time.monotonic()
            return result

    def _capture(self, prev_manifest: dict | None, changes: Changes) -> dict[str, Any]:
        """Runs while writes are frozen: table shapes, started-and-finished exports, the S3 listing."""
        prev_tables = (prev_manifest or {}).get("tables", {})
        names = self._list_tables()
        dirty = [n for n in names if changes.all_tables or n in changes.tables or n not in prev_tables]
        schemas = {n: self._describe(n) for n in dirty}
        exports = self._wait_exports(self._start_exports(dirty)) if self.use_export else {}
        listing = self._list_buckets_and_objects() if (changes.s3 or not prev_manifest) else None
        return {"clean": [n for n in names if n not in dirty], "dirty": dirty, "schemas": schemas,
                "exports": exports, "listing": listing}

    def _write_generation(self, prev: Path | None, prev_manifest: dict | None, capture: dict,
                          include_queues: bool, started: float) -> SnapshotResult:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        tmp = self.root / f"tmp-{stamp}-{os.getpid()}"
        (tmp / "tables").mkdir(parents=True)
        (tmp / "s3").mkdir()
        prev_tables = (prev_manifest or {}).get("tables", {})
        prev_buckets = (prev_manifest or {}).get("buckets", {})
        manifest: dict[str, Any] = {"format": SNAPSHOT_FORMAT, "created_at": datetime.now(timezone.utc).isoformat(),
                                    "tables": {}, "buckets": {}}
        exported: list[str] = []

        for name in capture["clean"]:
            entry = dict(prev_tables[name])
            _link_or_copy(prev / entry["file"], tmp / entry["file"])
            manifest["tables"][name] = entry
        for name in capture["dirty"]:
            schema = capture["schemas"][name]
            if schema is None:  # deleted meanwhile
                continue
            rel = f"tables/{name}.jsonl.gz"
            count = None
            if name in capture["exports"]:
                count = self._fetch_export(capture["exports"][name], tmp / rel)
            if count is None:
                count = self._scan_to_file(name, tmp / rel)
            else:
                exported.append(name)
            manifest["tables"][name] = {"schema": schema, "file": rel, "items": count}

        objects = 0
        if capture["listing"] is None:
            for bucket, entry in prev_buckets.items():
                (tmp / "s3" / entry["dir"]).mkdir()
                for obj in entry["objects"]:
                    _link_or_copy(prev / obj["file"], tmp / obj["file"])
                    objects += 1
                manifest["buckets"][bucket] = entry
        else:
            for bucket, listed in capture["listing"].items():
                entry = self._snapshot_bucket(bucket, listed, prev, prev_buckets.get(bucket), tmp)
                manifest["buckets"][bucket] = entry
                objects += len(entry["objects"])

        if include_queues:
            manifest["queues"] = self._drain_queues()

        _write_durable(tmp / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8"))
        for sub in [tmp / "tables", *(tmp / "s3").iterdir(), tmp / "s3", tmp]:
            _fsync_dir(sub)
        final = self.root / f"gen-{stamp}"
        os.rename(tmp, final)
        _fsync_dir(self.root)
        self._flip(final)
        self._prune(final)
        items = sum(t["items"] for t in manifest["tables"].values())
        return SnapshotResult(final, len(manifest["tables"]), items, objects, exported,
                              time.monotonic() - started)

    def _list_tables(self) -> list[str]:
        names: list[str] = []
        for page in self._ddb.get_paginator("list_tables").paginate():
            names.extend(page["TableNames"])
        return names

    def _describe(self, name: str) -> dict | None:
        """The table's shape: keys, attribute definitions, indexes, TTL and stream spec."""
        try:
            table = self._ddb.describe_table(TableName=name)["Table"]
        except self._ddb.exceptions.ResourceNotFoundException:
            return None
        spec: dict[str, Any] = {"KeySchema": table["KeySchema"],
                                "AttributeDefinitions": table["AttributeDefinitions"]}
        for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            if table.get(key):
                spec[key] = [{"IndexName": i["IndexName"], "KeySchema": i["KeySchema"],
                              "Projection": i["Projection"]} for i in table[key]]
        stream = table.get("StreamSpecification")
        if stream and stream.get("StreamEnabled"):
            spec["StreamSpecification"] = stream
        ttl = self._ddb.describe_time_to_live(TableName=name).get("TimeToLiveDescription", {})
        if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") and ttl.get("AttributeName"):
            spec["TimeToLive"] = {"AttributeName": ttl["AttributeName"], "Enabled": True}
        return spec

    def _ensure_export_prerequisites(self, tables: list[str]) -> None:
        if not self._export_bucket_ready:
            try:
                kwargs = ({} if self.region == "us-east-1"
                          else {"CreateBucketConfiguration": {"LocationConstraint": self.region}})
                self._s3.create_bucket(Bucket=EXPORT_BUCKET, **kwargs)
            except (self._s3.exceptions.BucketAlreadyOwnedByYou, self._s3.exceptions.BucketAlreadyExists):
                pass
            self._export_bucket_ready = True
        for name in tables:
            if name in self._pitr_enabled:
                continue
            with contextlib.suppress(Exception):
                self._ddb.update_continuous_backups(
                    TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
                self._pitr_enabled.add(name)

    def _start_exports(self, tables: list[str]) -> dict[str, str]:
        arns: dict[str, str] = {}
        run = uuid.uuid4().hex
        for name in tables:
            try:
                arn = self._ddb.describe_table(TableName=name)["Table"]["TableArn"]
                arns[name] = self._ddb.export_table_to_point_in_time(
                    TableArn=arn, S3Bucket=EXPORT_BUCKET, S3Prefix=f"{run}/{name}",
                    ExportFormat="DYNAMODB_JSON")["ExportDescription"]["ExportArn"]
            except Exception as exc:  # PITR off after a re-create, or no export support: Scan this one
                self._pitr_enabled.discard(name)
                log.debug("export of %s not started: %s", name, exc)
        return arns

    def _wait_exports(self, arns: dict[str, str], timeout: float = 60.0) -> dict[str, dict]:
        done: dict[str, dict] = {}
        deadline = time.monotonic() + timeout
        pending = dict(arns)
        while pending and time.monotonic() < deadline:
            for name, arn in list(pending.items()):
                desc = self._ddb.describe_export(ExportArn=arn)["ExportDescription"]
                if desc["ExportStatus"] == "IN_PROGRESS":
                    continue
                del pending[name]
                if desc["ExportStatus"] == "COMPLETED":
                    done[name] = desc
                else:
                    log.warning("export of %s failed (%s); falling back to Scan", name, desc.get("FailureMessage"))
            if pending:
                time.sleep(0.01)
        return done

    def _fetch_export(self, desc: dict, dest: Path) -> int | None:
        """Copies the export's DynamoDB-JSON lines into `dest` and returns the item count (None if unusable)."""
        prefix = desc["S3Prefix"] + "/"
        keys = [o["Key"] for page in self._s3.get_paginator("list_objects_v2").paginate(
            Bucket=EXPORT_BUCKET, Prefix=prefix) for o in page.get("Contents", [])]
        try:
            data_keys = [k for k in keys if "/data/" in k]
            chunks = [gzip.decompress(self._s3.get_object(Bucket=EXPORT_BUCKET, Key=k)["Body"].read())
                      for k in data_keys]
        finally:
            for k in keys:
                self._s3.delete_object(Bucket=EXPORT_BUCKET, Key=k)
        raw = b"".join(c if c.endswith(b"\n") or not c else c + b"\n" for c in chunks)
        count = raw.count(b"\n")
        if len(data_keys) == 0 or count != desc.get("ItemCount", count):
            return None
        _write_durable(dest, gzip.compress(raw, compresslevel=1))
        return count

    def _scan_to_file(self, name: str, dest: Path) -> int:
        lines: list[bytes] = []
        for page in self._ddb.get_paginator("scan").paginate(TableName=name, ConsistentRead=True):
            for item in page["Items"]:
                lines.append(json.dumps({"Item": {k: _b64_binaries(v) for k, v in item.items()}}).encode() + b"\n")
        _write_durable(dest, gzip.compress(b"".join(lines), compresslevel=1))
        return len(lines)

    def _list_buckets_and_objects(self) -> dict[str, list[dict]]:
        listing: dict[str, list[dict]] = {}
        for bucket in self._s3.list_buckets().get("Buckets", []):
            name = bucket["Name"]
            if name == EXPORT_BUCKET:
                continue
            objects = []
            for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=name):
                objects.extend(page.get("Contents", []))
            listing[name] = objects
        return listing

    def _snapshot_bucket(self, bucket: str, listed: list[dict], prev: Path | None, prev_entry: dict | None,
                         tmp: Path) -> dict:
        bucket_dir = hashlib.sha256(bucket.encode()).hexdigest()[:24]
        (tmp / "s3" / bucket_dir).mkdir()
        previous = {o["key"]: o for o in (prev_entry or {}).get("objects", [])}
        entry: dict[str, Any] = {"dir": bucket_dir, "objects": []}

        def one(obj: dict) -> dict | None:
            key = obj["Key"]
            rel = f"s3/{bucket_dir}/{hashlib.sha256(key.encode('utf-8')).hexdigest()}"
            old = previous.get(key)
            if old and prev is not None and old.get("etag") == obj["ETag"] and old.get("size") == obj["Size"]:
                _link_or_copy(prev / old["file"], tmp / rel)
                return {**old, "file": rel}
            try:
                response = self._s3.get_object(Bucket=bucket, Key=key)
            except self._s3.exceptions.NoSuchKey:
                if self.tracker is not None:
                    self.tracker.put_back(Changes(s3=True))
                return None
            body = response["Body"].read()
            _write_durable(tmp / rel, body)
            record = {"key": key, "file": rel, "etag": response.get("ETag", obj["ETag"]), "size": len(body),
                      "metadata": response.get("Metadata", {})}
            for name in _OBJECT_FIELDS:
                if response.get(name):
                    record[name] = response[name]
            return record

        with ThreadPoolExecutor(max_workers=4) as pool:
            for record in pool.map(one, listed):
                if record is not None:
                    entry["objects"].append(record)
        return entry

    def _drain_queues(self) -> dict[str, dict]:
        """At shutdown only: the messages still waiting in each queue (receiving them is harmless then)."""
        queues: dict[str, dict] = {}
        urls = self._sqs.list_queues().get("QueueUrls", [])
        for url in urls:
            name = url.rstrip("/").rsplit("/", 1)[-1]
            messages, seen = [], set()
            while True:
                got = self._sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                                VisibilityTimeout=600, MessageAttributeNames=["All"],
                                                AttributeNames=["All"]).get("Messages", [])
                fresh = [m for m in got if m["MessageId"] not in seen]
                if not fresh:
                    break
                for m in fresh:
                    seen.add(m["MessageId"])
                    record = {"body": m["Body"]}
                    if m.get("MessageAttributes"):
                        record["attributes"] = {
                            k: {kk: (base64.b64encode(vv).decode() if isinstance(vv, bytes) else vv)
                                for kk, vv in v.items() if kk in ("DataType", "StringValue", "BinaryValue")}
                            for k, v in m["MessageAttributes"].items()}
                    if m.get("Attributes", {}).get("MessageGroupId"):
                        record["group"] = m["Attributes"]["MessageGroupId"]
                    messages.append(record)
            if messages:
                queues[name] = {"messages": messages}
        return queues

    # ---------------------------------------------------------------- restore
    def restore(self, gen: Path | None = None, threads: int = 4) -> dict[str, int]:
        """Recreates the tables (PAY_PER_REQUEST) and buckets of the snapshot and writes their content back.
        Meant for an empty emulator, before the app bootstraps. Queue messages are restored separately
        (restore_queues), after the bootstrap has created the queues with their attributes."""
        gen = gen or self.current()
        if gen is None:
            return {"tables": 0, "items": 0, "objects": 0}
        manifest = self.manifest(gen)
        existing = set(self._list_tables())
        items = 0
        for name, entry in manifest.get("tables", {}).items():
            if name not in existing:
                self._create_table(name, entry["schema"])
            items += self._load_items(name, gen / entry["file"], threads)
        objects = 0
        existing_buckets = {b["Name"] for b in self._s3.list_buckets().get("Buckets", [])}
        for bucket, entry in manifest.get("buckets", {}).items():
            if bucket not in existing_buckets:
                kwargs = ({} if self.region == "us-east-1"
                          else {"CreateBucketConfiguration": {"LocationConstraint": self.region}})
                self._s3.create_bucket(Bucket=bucket, **kwargs)

            def put(obj: dict, bucket=bucket) -> None:
                extra = {name: obj[name] for name in _OBJECT_FIELDS if obj.get(name)}
                self._s3.put_object(Bucket=bucket, Key=obj["key"], Body=(gen / obj["file"]).read_bytes(),
                                    Metadata=obj.get("metadata") or {}, **extra)

            with ThreadPoolExecutor(max_workers=threads) as pool:
                list(pool.map(put, entry["objects"]))
            objects += len(entry["objects"])
        if self.tracker is not None:
            self.tracker.clear()  # moto now holds exactly this generation
            self._last_full = time.monotonic()
        return {"tables": len(manifest.get("tables", {})), "items": items, "objects": objects}

    def restore_queues(self, gen: Path | None = None) -> int:
        """Sends back the messages a final snapshot drained from the queues; creates a missing queue."""
        manifest = self.manifest(gen)
        count = 0
        for name, entry in ((manifest or {}).get("queues") or {}).items():
            try:
                url = self._sqs.get_queue_url(QueueName=name)["QueueUrl"]
            except self._sqs.exceptions.QueueDoesNotExist:
                attrs = {"FifoQueue": "true"} if name.endswith(".fifo") else {}
                url = self._sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
            for m in entry["messages"]:
                kwargs: dict[str, Any] = {"QueueUrl": url, "MessageBody": m["body"]}
                if m.get("attributes"):
                    kwargs["MessageAttributes"] = {
                        k: {**v, **({"BinaryValue": base64.b64decode(v["BinaryValue"])} if "BinaryValue" in v else {})}
                        for k, v in m["attributes"].items()}
                if name.endswith(".fifo"):
                    kwargs["MessageGroupId"] = m.get("group") or "restored"
                    kwargs["MessageDeduplicationId"] = uuid.uuid4().hex
                self._sqs.send_message(**kwargs)
                count += 1
        return count

    def _create_table(self, name: str, schema: dict) -> None:
        kwargs: dict[str, Any] = {"TableName": name, "KeySchema": schema["KeySchema"],
                                  "AttributeDefinitions": schema["AttributeDefinitions"],
                                  "BillingMode": "PAY_PER_REQUEST"}
        for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes", "StreamSpecification"):
            if schema.get(key):
                kwargs[key] = schema[key]
        self._ddb.create_table(**kwargs)
        self._ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
        if schema.get("TimeToLive"):
            self._ddb.update_time_to_live(TableName=name, TimeToLiveSpecification=schema["TimeToLive"])

    def _load_items(self, name: str, path: Path, threads: int) -> int:
        """BatchWriteItem with the snapshot's lines as they are: they already are the API's wire format
        (DynamoDB-JSON, binaries in base64), so botocore's per-item (de)serialization is skipped (~40% faster
        for 20k items). Requests are SigV4-signed like any SDK call."""
        raw = gzip.decompress(path.read_bytes())
        lines = [line for line in raw.splitlines() if line.strip()]
        batches = [lines[i:i + 25] for i in range(0, len(lines), 25)]
        local = threading.local()

        def write(batch: list[bytes]) -> None:
            body = (b'{"RequestItems": {' + json.dumps(name).encode() + b": ["
                    + b",".join(b'{"PutRequest": ' + line + b"}" for line in batch) + b"]}}")
            delay = 0.05
            while True:
                response = self._dynamodb_wire_call(local, "BatchWriteItem", body)
                unprocessed = response.get("UnprocessedItems") or {}
                if not unprocessed:
                    return
                body = json.dumps({"RequestItems": unprocessed}).encode()
                time.sleep(delay)
                delay = min(delay * 2, 1.0)

        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(write, batches))
        return len(lines)

    def _dynamodb_wire_call(self, local: threading.local, operation: str, body: bytes) -> dict:
        import http.client

        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        url = urllib.parse.urlsplit(self.endpoint_url)
        request = AWSRequest(method="POST", url=self.endpoint_url.rstrip("/") + "/", data=body, headers={
            "X-Amz-Target": f"DynamoDB_20120810.{operation}", "Content-Type": "application/x-amz-json-1.0"})
        SigV4Auth(Credentials(FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"], FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]),
                  "dynamodb", self.region).add_auth(request)
        for attempt in range(3):
            connection = getattr(local, "connection", None)
            if connection is None:
                cls = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
                connection = local.connection = cls(url.hostname, url.port, timeout=60)
            try:
                connection.request("POST", "/", body=body, headers=dict(request.headers.items()))
                response = connection.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException):
                connection.close()
                local.connection = None
                if attempt == 2:
                    raise
                continue
            if response.status != 200:
                raise RuntimeError(f"DynamoDB {operation} failed ({response.status}): {data[:500]!r}")
            return json.loads(data)
        raise RuntimeError("unreachable")

    # ---------------------------------------------------------------- timer
    def start_timer(self, interval: float = 3.0, on_error: Callable[[BaseException], None] | None = None) -> None:
        self._stop.clear()

        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    self.snapshot()
                    self.last_error = None
                except Exception as exc:  # keep snapshotting; report once per distinct error
                    message = f"{type(exc).__name__}: {exc}"
                    if message != self.last_error and on_error is not None:
                        on_error(exc)
                    self.last_error = message

        self._timer = threading.Thread(target=loop, name="snapshot-timer", daemon=True)
        self._timer.start()

    def stop_timer(self) -> None:
        self._stop.set()
        if self._timer is not None:
            self._timer.join(timeout=120)
            self._timer = None


def snapshot(directory: str | Path, endpoint_url: str, region: str = DEFAULT_REGION) -> SnapshotResult:
    """One full snapshot of every table and bucket of the moto at `endpoint_url` into `directory`."""
    return Persistence(directory, endpoint_url, region).snapshot(force=True)


def restore(directory: str | Path, endpoint_url: str, region: str = DEFAULT_REGION) -> dict[str, int]:
    """Recreates every table and bucket of the last snapshot in `directory` on the moto at `endpoint_url`."""
    return Persistence(directory, endpoint_url, region).restore()


# --------------------------------------------------------------------------------------------------------------
# Mail capture: SES -> .local/outbox/*.eml
# --------------------------------------------------------------------------------------------------------------

@dataclass
class CapturedMail:
    id: str
    raw: bytes


def _eml_from_fields(fields: dict) -> bytes:
    """An .eml for an SES SendEmail message (moto keeps source, subject, body and destinations)."""
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = fields.get("source") or ""
    dest = fields.get("destinations") or {}
    if isinstance(dest, dict):
        for header, key in (("To", "ToAddresses"), ("Cc", "CcAddresses"), ("Bcc", "BccAddresses")):
            if dest.get(key):
                msg[header] = ", ".join(dest[key])
    elif dest:
        msg["To"] = ", ".join(dest)
    msg["Subject"] = fields.get("subject") or ""
    msg["Date"] = email.utils.format_datetime(datetime.now(timezone.utc))
    msg["Message-ID"] = f"<{fields['id']}@local.ses>"
    body = fields.get("body") or ""
    if fields.get("template"):
        body = f"Template: {fields['template']}\n\n{fields.get('template_data') or ''}"
    if re.search(r"<(html|body|p|a|div|table|br)\b", body, re.I):
        msg.set_content(body, subtype="html")
    else:
        msg.set_content(body)
    return msg.as_bytes()


def _eml_from_raw(fields: dict) -> bytes:
    raw = fields.get("raw_data") or ""
    data = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else bytes(raw)
    # Envelope headers go on top, as an MTA adds Return-Path/Delivered-To: the raw message stays intact.
    newline = b"\r\n" if b"\r\n" in data[:2000] else b"\n"
    envelope = b""
    if fields.get("source"):
        envelope += b"X-Envelope-From: " + str(fields["source"]).encode("utf-8") + newline
    if fields.get("destinations"):
        envelope += b"X-Envelope-To: " + ", ".join(fields["destinations"]).encode("utf-8") + newline
    return envelope + data


def _mail_from_fields(kind: str, fields: dict) -> CapturedMail | None:
    if kind == "RawMessage":
        return CapturedMail(str(fields["id"]), _eml_from_raw(fields))
    if kind in ("Message", "TemplateMessage"):
        return CapturedMail(str(fields["id"]), _eml_from_fields(fields))
    return None


class DataJsonMailSource:
    """Reads sent mail from moto's debug view GET /moto-api/data.json (["ses"]["RawMessage"|"Message"]).
    Works against a moto in any process; it serializes every tracked moto object, so poll it sparingly
    when the emulator holds many items."""

    def __init__(self, moto_url: str):
        self.url = moto_url.rstrip("/") + "/moto-api/data.json"

    def fetch(self) -> list[CapturedMail]:
        with urllib.request.urlopen(self.url, timeout=30) as response:
            data = json.loads(response.read())
        ses = data.get("ses", {})
        out = []
        for kind in ("RawMessage", "Message", "TemplateMessage"):
            for fields in ses.get(kind, []):
                mail = _mail_from_fields(kind, fields)
                if mail:
                    out.append(mail)
        return out


class InProcessMailSource:
    """Reads sent mail straight from moto's SES backends when moto runs in this process (the launcher): the
    same records data.json shows, read incrementally, without serializing every DynamoDB item each second."""

    def __init__(self) -> None:
        self._cursors: dict[int, int] = {}

    def fetch(self) -> list[CapturedMail]:
        from moto.ses.models import ses_backends

        out = []
        for account in list(dict.values(ses_backends)):
            for backend in list(dict.values(account)):
                sent = backend.sent_messages
                start = self._cursors.get(id(sent), 0)
                if start > len(sent):
                    start = 0
                for message in sent[start:]:
                    kind = type(message).__name__
                    mail = _mail_from_fields(kind, {k: v for k, v in vars(message).items()})
                    if mail:
                        out.append(mail)
                self._cursors[id(sent)] = len(sent)
        return out


class OutboxWriter:
    """Writes each new mail once as `<UTC timestamp>-<id>.eml`; ids already written (from the index file and
    from the file names) are skipped, so restarts and repeated polls never duplicate a mail."""

    INDEX = ".index"

    def __init__(self, outbox_dir: str | Path, source, interval: float = 1.0):
        self.dir = Path(outbox_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.source = source
        self.interval = interval
        self._seen = self._load_seen()
        self._last_stamp = ""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _load_seen(self) -> set[str]:
        seen = set()
        index = self.dir / self.INDEX
        if index.exists():
            seen.update(line.strip() for line in index.read_text(encoding="utf-8").splitlines() if line.strip())
        for path in self.dir.glob("*.eml"):
            seen.add(path.stem.split("-", 1)[1] if "-" in path.stem else path.stem)
        return seen

    def _stamp(self) -> str:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        if stamp <= self._last_stamp:  # keep names strictly increasing: the outbox sorts by them
            last = datetime.strptime(self._last_stamp, "%Y%m%dT%H%M%S%fZ")
            stamp = (last + timedelta(microseconds=1)).strftime("%Y%m%dT%H%M%S%fZ")
        self._last_stamp = stamp
        return stamp

    def poll_once(self) -> list[Path]:
        with self._lock:
            written = []
            for mail in self.source.fetch():
                safe_id = re.sub(r"[^A-Za-z0-9_.@=+-]", "_", mail.id)[:120]
                if safe_id in self._seen:
                    continue
                path = self.dir / f"{self._stamp()}-{safe_id}.eml"
                tmp = self.dir / f".{path.name}.tmp"
                tmp.write_bytes(mail.raw)
                os.replace(tmp, path)
                with open(self.dir / self.INDEX, "a", encoding="utf-8") as index:
                    index.write(safe_id + "\n")
                self._seen.add(safe_id)
                written.append(path)
            return written

    def start(self, on_mail: Callable[[Path], None] | None = None,
              on_error: Callable[[BaseException], None] | None = None) -> None:
        self._stop.clear()

        def loop() -> None:
            last_error = None
            while not self._stop.wait(self.interval):
                try:
                    for path in self.poll_once():
                        if on_mail:
                            on_mail(path)
                    last_error = None
                except Exception as exc:
                    if on_error and repr(exc) != last_error:
                        on_error(exc)
                    last_error = repr(exc)

        self._thread = threading.Thread(target=loop, name="outbox-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        with contextlib.suppress(Exception):
            self.poll_once()


# --------------------------------------------------------------------------------------------------------------
# Site server: site/, /config.js and the outbox page
# --------------------------------------------------------------------------------------------------------------

try:
    from zoneinfo import ZoneInfo

    VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
except Exception:  # no tz database: Vietnam has no daylight saving time
    VN_TZ = timezone(timedelta(hours=7))

_EML_NAME = re.compile(r"^[0-9]{8}T[0-9]{12}Z-[A-Za-z0-9_.@=+-]+\.eml$")
_OUTBOX_PAGE_SIZE = 100
_OUTBOX_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;margin:0;background:#f5f6f8;
color:#1d2330}
header{background:#8b1a1a;color:#fff;padding:12px 24px}header h1{margin:0;font-size:1.25rem}
header p{margin:4px 0 0;font-size:.9rem;opacity:.9}main{padding:16px 24px;max-width:1200px}
table{border-collapse:collapse;width:100%;background:#fff;box-shadow:0 1px 2px rgba(0,0,0,.08)}
th,td{text-align:left;padding:8px 10px;border-bottom:1px solid #e4e6eb;vertical-align:top}
th{background:#eef0f4;font-weight:600}tr:hover td{background:#fafbfc}td.time{white-space:nowrap;color:#555}
a{color:#0b57d0}form{margin:0 0 12px}input[type=search]{padding:6px 8px;width:320px;max-width:70%}
button{padding:6px 12px}.meta{background:#fff;padding:12px 16px;box-shadow:0 1px 2px rgba(0,0,0,.08);margin-bottom:12px}
.meta dt{font-weight:600;float:left;clear:left;width:110px}.meta dd{margin:0 0 4px 120px}
iframe{width:100%;height:70vh;border:1px solid #d5d8de;background:#fff}
pre{white-space:pre-wrap;word-wrap:break-word;background:#fff;padding:16px;border:1px solid #d5d8de}
.empty{padding:24px;background:#fff}.pager{margin:12px 0;display:flex;gap:16px}
"""


def _decode_header(value: Any) -> str:
    return str(value) if value is not None else ""


@functools.lru_cache(maxsize=20000)
def _eml_summary(path_str: str, mtime: float) -> dict[str, str]:
    with open(path_str, "rb") as fh:
        msg = email.parser.BytesHeaderParser(policy=email.policy.default).parse(fh)
    to = _decode_header(msg.get("To")) or _decode_header(msg.get("X-Envelope-To"))
    return {"to": to, "subject": _decode_header(msg.get("Subject")) or "(không có tiêu đề)",
            "from": _decode_header(msg.get("From")) or _decode_header(msg.get("X-Envelope-From"))}


def _eml_time(name: str) -> str:
    stamp = datetime.strptime(name.split("-", 1)[0], "%Y%m%dT%H%M%S%fZ").replace(tzinfo=timezone.utc)
    return stamp.astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M:%S")


def _linkify(text: str) -> str:
    escaped = html.escape(text)
    return re.sub(r"(https?://[^\s<>&\"']+(?:&amp;[^\s<>&\"']+)*)",
                  lambda m: f'<a href="{m.group(1)}" target="_blank" rel="noopener">{m.group(1)}</a>', escaped)


def _page(title: str, body: str, refresh: bool = False) -> bytes:
    meta = '<meta http-equiv="refresh" content="10">' if refresh else ""
    return (f'<!doctype html><html lang="vi"><head><meta charset="utf-8">{meta}'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title><style>{_OUTBOX_CSS}</style></head><body>"
            f'<header><h1>{html.escape(title)}</h1><p>Thư do phần mềm gửi khi chạy cục bộ: không thư nào ra khỏi '
            f"máy này. Bấm vào một thư để đọc; liên kết khảo sát trong thư bấm được.</p></header>"
            f"<main>{body}</main></body></html>").encode("utf-8")


class SiteServer:
    """ThreadingHTTPServer for `site_dir` on host:port, with a generated /config.js and the outbox page."""

    def __init__(self, site_dir: str | Path, outbox_dir: str | Path, api_url: str,
                 host: str = "127.0.0.1", port: int = 8080):
        self.site_dir = Path(site_dir)
        self.outbox_dir = Path(outbox_dir)
        self.api_url = api_url
        self.host, self.port = host, port
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "SiteServer":
        server = self
        config_js = ("window.CCHC_CONFIG = " + json.dumps({"apiUrl": self.api_url}) + ";\n").encode("utf-8")

        class Handler(SimpleHTTPRequestHandler):
            extensions_map = {**SimpleHTTPRequestHandler.extensions_map,
                              ".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8",
                              ".css": "text/css; charset=utf-8", ".html": "text/html; charset=utf-8",
                              ".json": "application/json", ".svg": "image/svg+xml", ".webmanifest":
                              "application/manifest+json", ".xlsx":
                              "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}

            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(server.site_dir), **kwargs)

            def log_message(self, fmt: str, *args) -> None:  # the launcher's console is for the API's log
                pass

            def end_headers(self) -> None:
                self.send_header("Cache-Control", "no-store")
                super().end_headers()

            def _send(self, status: int, body: bytes, content_type: str, headers: dict | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do_HEAD(self) -> None:
                self.do_GET()

            def do_GET(self) -> None:
                if self.path.split("?", 1)[0] in ("/config.js", "/outbox") or self.path.startswith("/outbox/"):
                    return self._route()
                if self.command == "HEAD":
                    return self._route(static=super().do_HEAD)
                return self._route(static=super().do_GET)

            def _route(self, static: Callable[[], None] | None = None) -> None:
                parsed = urllib.parse.urlsplit(self.path)
                path = urllib.parse.unquote(parsed.path)
                if path == "/config.js":
                    return self._send(200, config_js, "text/javascript; charset=utf-8")
                if path == "/outbox":
                    self.send_response(301)
                    self.send_header("Location", "/outbox/")
                    self.send_header("Content-Length", "0")
                    return self.end_headers()
                if path.startswith("/outbox/"):
                    return self._outbox(path[len("/outbox/"):], urllib.parse.parse_qs(parsed.query))
                if path == "/" and not (server.site_dir / "index.html").exists():
                    body = _page("Chỉ số CCHC: môi trường cục bộ",
                                 '<p>Thư mục <code>site/</code> chưa có trang <code>index.html</code>.</p>'
                                 '<p><a href="/outbox/">Hộp thư đi</a></p>')
                    return self._send(200, body, "text/html; charset=utf-8")
                if os.path.isdir(self.translate_path(self.path)) and not os.path.exists(
                        os.path.join(self.translate_path(self.path), "index.html")):
                    return self._send(404, _page("Không tìm thấy", "<p>Không có trang này.</p>"),
                                      "text/html; charset=utf-8")
                return static() if static else None

            # ---- outbox
            def _outbox(self, rest: str, query: dict) -> None:
                if rest == "":
                    return self._outbox_list(query)
                name, _, sub = rest.partition("/")
                if not _EML_NAME.match(name) or not (server.outbox_dir / name).is_file():
                    return self._send(404, _page("Không tìm thấy thư", '<p>Thư này không có trong hộp thư đi. '
                                                 '<a href="/outbox/">Quay lại danh sách</a></p>'),
                                      "text/html; charset=utf-8")
                raw = (server.outbox_dir / name).read_bytes()
                msg = email.message_from_bytes(raw, policy=email.policy.default)
                if sub == "":
                    return self._outbox_mail(name, msg)
                if sub == "raw":
                    return self._send(200, raw, "message/rfc822",
                                      {"Content-Disposition": f'attachment; filename="{name}"'})
                if sub == "html":
                    part = msg.get_body(preferencelist=("html",))
                    content = part.get_content() if part is not None else ""
                    # Links open outside the frame; the sandbox CSP keeps mail HTML away from the site's origin.
                    base = '<base target="_blank">'
                    content, found = re.subn(r"(<head\b[^>]*>)", lambda m: m.group(1) + base, content,
                                             count=1, flags=re.I)
                    if not found:
                        content = base + content
                    return self._send(200, content.encode("utf-8"), "text/html; charset=utf-8", {
                        "Content-Security-Policy": "sandbox allow-popups allow-popups-to-escape-sandbox; "
                                                   "script-src 'none'; object-src 'none'"})
                if sub.startswith("part/") and sub[5:].isdigit():
                    parts = list(msg.iter_attachments())
                    index = int(sub[5:])
                    if index < len(parts):
                        part = parts[index]
                        filename = part.get_filename() or f"tep-{index}"
                        quoted = urllib.parse.quote(filename)
                        return self._send(200, part.get_payload(decode=True) or b"",
                                          "application/octet-stream",
                                          {"Content-Disposition": f"attachment; filename*=UTF-8''{quoted}"})
                return self._send(404, _page("Không tìm thấy", "<p>Không có trang này.</p>"),
                                  "text/html; charset=utf-8")

            def _outbox_list(self, query: dict) -> None:
                q = (query.get("q") or [""])[0].strip().lower()
                try:
                    page = max(1, int((query.get("trang") or ["1"])[0]))
                except ValueError:
                    page = 1
                names = sorted((p.name for p in server.outbox_dir.glob("*.eml") if _EML_NAME.match(p.name)),
                               reverse=True) if server.outbox_dir.is_dir() else []
                total = len(names)

                def summary(n: str) -> dict[str, str]:
                    path = server.outbox_dir / n
                    return _eml_summary(str(path), path.stat().st_mtime)

                if q:
                    names = [n for n in names if q in (summary(n)["to"] + " " + summary(n)["subject"]).lower()]
                start = (page - 1) * _OUTBOX_PAGE_SIZE
                shown = names[start:start + _OUTBOX_PAGE_SIZE]
                search = (f'<form method="get"><input type="search" name="q" value="{html.escape(q)}" '
                          f'placeholder="Tìm theo người nhận hoặc tiêu đề"> <button>Tìm</button> '
                          f'<span>{total} thư</span></form>')
                if not shown:
                    body = search + '<div class="empty">Chưa có thư nào.</div>' if not q else \
                        search + '<div class="empty">Không có thư nào khớp với nội dung tìm.</div>'
                    return self._send(200, _page("Hộp thư đi (cục bộ)", body, refresh=not q),
                                      "text/html; charset=utf-8")
                rows = []
                for n in shown:
                    s = summary(n)
                    rows.append(f'<tr><td class="time">{_eml_time(n)}</td><td>{html.escape(s["to"])}</td>'
                                f'<td><a href="/outbox/{n}">{html.escape(s["subject"])}</a></td></tr>')
                pager = []
                qs = f"&q={urllib.parse.quote(q)}" if q else ""
                if page > 1:
                    pager.append(f'<a href="/outbox/?trang={page - 1}{qs}">← Trang trước</a>')
                if start + _OUTBOX_PAGE_SIZE < len(names):
                    pager.append(f'<a href="/outbox/?trang={page + 1}{qs}">Trang sau →</a>')
                body = (search + "<table><thead><tr><th>Thời gian</th><th>Người nhận</th><th>Tiêu đề</th></tr>"
                        "</thead><tbody>" + "".join(rows) + "</tbody></table>"
                        + f'<div class="pager">{"".join(pager)}</div>')
                self._send(200, _page("Hộp thư đi (cục bộ)", body, refresh=(page == 1 and not q)),
                           "text/html; charset=utf-8")

            def _outbox_mail(self, name: str, msg) -> None:
                fields = [("Thời gian", _eml_time(name)),
                          ("Người gửi", _decode_header(msg.get("From")) or _decode_header(msg.get("X-Envelope-From"))),
                          ("Người nhận", _decode_header(msg.get("To")) or _decode_header(msg.get("X-Envelope-To"))),
                          ("Tiêu đề", _decode_header(msg.get("Subject")))]
                if msg.get("Cc"):
                    fields.insert(3, ("Đồng gửi", _decode_header(msg.get("Cc"))))
                meta = "".join(f"<dt>{k}</dt><dd>{html.escape(v)}</dd>" for k, v in fields)
                attachments = list(msg.iter_attachments())
                if attachments:
                    links = ", ".join(
                        f'<a href="/outbox/{name}/part/{i}">{html.escape(p.get_filename() or f"tệp {i + 1}")}</a>'
                        for i, p in enumerate(attachments))
                    meta += f"<dt>Tệp đính kèm</dt><dd>{links}</dd>"
                html_part = msg.get_body(preferencelist=("html",))
                text_part = msg.get_body(preferencelist=("plain",))
                if html_part is not None:
                    content = (f'<iframe src="/outbox/{name}/html" title="Nội dung thư" '
                               f'sandbox="allow-popups allow-popups-to-escape-sandbox"></iframe>')
                    if text_part is not None:
                        content += (f"<details><summary>Phần văn bản thuần</summary>"
                                    f"<pre>{_linkify(text_part.get_content())}</pre></details>")
                elif text_part is not None:
                    content = f"<pre>{_linkify(text_part.get_content())}</pre>"
                else:
                    content = '<div class="empty">Thư không có nội dung hiển thị được.</div>'
                body = (f'<p><a href="/outbox/">← Quay lại danh sách</a> · '
                        f'<a href="/outbox/{name}/raw">Tải tệp .eml</a></p>'
                        f'<dl class="meta">{meta}</dl>{content}')
                self._send(200, _page(_decode_header(msg.get("Subject")) or "Thư", body),
                           "text/html; charset=utf-8")

        class _Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._httpd = _Server((self.host, self.port), Handler)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="site-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None


# --------------------------------------------------------------------------------------------------------------
# Workers: scheduled handlers and SQS queue handlers
# --------------------------------------------------------------------------------------------------------------

def _lambda_context(config, name: str):
    from chalice.local import LambdaContext

    memory = 128
    timeout = None
    if config is not None:
        scoped = config.scope(config.chalice_stage, name)
        memory = scoped.lambda_memory_size or 128
        timeout = scoped.lambda_timeout
    return LambdaContext(name, memory_size=memory, max_runtime_ms=(timeout or 900) * 1000)


def scheduled_event(rule_name: str, region: str, when: datetime | None = None) -> dict:
    """The event EventBridge hands a scheduled Lambda."""
    when = when or datetime.now(timezone.utc)
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "region": region,
            "resources": [f"arn:aws:events:{region}:123456789012:rule/{rule_name}"], "detail": {}}


def sqs_event(messages: list[dict], queue_arn: str, region: str) -> dict:
    """The event the SQS event source mapping hands a Lambda, built from ReceiveMessage results."""
    records = []
    for m in messages:
        attributes = {}
        for name, value in (m.get("MessageAttributes") or {}).items():
            record = {"dataType": value["DataType"], "stringListValues": [], "binaryListValues": []}
            if "StringValue" in value:
                record["stringValue"] = value["StringValue"]
            if "BinaryValue" in value:
                record["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode("ascii")
            attributes[name] = record
        records.append({"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                        "attributes": m.get("Attributes", {}), "messageAttributes": attributes,
                        "md5OfBody": m.get("MD5OfBody", ""), "eventSource": "aws:sqs",
                        "eventSourceARN": queue_arn, "awsRegion": region})
    return {"Records": records}


class Scheduler:
    """Invokes every @app.schedule handler every `interval` seconds (first run right away)."""

    def __init__(self, app, config=None, interval: float = 60.0, region: str = DEFAULT_REGION,
                 stage: str = "local", report: Callable[[str], None] = print):
        from chalice.app import ScheduledEventConfig

        self.app, self.config, self.interval, self.region, self.report = app, config, interval, region, report
        self.stage = stage
        self.handlers = [s for s in app.event_sources if isinstance(s, ScheduledEventConfig)]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> dict[str, Any]:
        results = {}
        for source in self.handlers:
            if self._stop.is_set():
                break
            event = scheduled_event(f"{self.app.app_name}-{self.stage}-{source.name}", self.region)
            try:
                context = _lambda_context(self.config, source.name)
                results[source.name] = self.app.handler_map[source.name](event, context)
            except Exception:
                self.report(f"lịch {source.name}: lỗi\n{traceback.format_exc()}")
                results[source.name] = None
        return results

    def start(self) -> None:
        def loop() -> None:
            while not self._stop.is_set():
                self.run_once()
                self._stop.wait(self.interval)

        self._thread = threading.Thread(target=loop, name="scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


class QueueRunner:
    """Feeds one @app.on_sqs_message handler from its queue, as the SQS event source mapping does: long-poll,
    invoke with a batch, delete on success (or all but the reported batchItemFailures), leave the messages
    for redelivery after the visibility timeout on failure."""

    def __init__(self, app, source, endpoint_url: str | None = None, config=None, region: str = DEFAULT_REGION,
                 wait_seconds: int = 2, report: Callable[[str], None] = print):
        self.app, self.source, self.config, self.region, self.report = app, source, config, region, report
        self.wait_seconds = wait_seconds
        self.queue_name = source.queue or (source.queue_arn or "").rsplit(":", 1)[-1]
        self.batch_size = max(1, min(int(source.batch_size or 1), 10))
        import boto3

        self._sqs = (_boto_client("sqs", endpoint_url, region) if endpoint_url
                     else boto3.client("sqs", region_name=region))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.url: str | None = None
        self.arn: str | None = None

    def _resolve(self) -> None:
        try:
            self.url = self._sqs.get_queue_url(QueueName=self.queue_name)["QueueUrl"]
        except self._sqs.exceptions.QueueDoesNotExist:
            attrs = {"FifoQueue": "true"} if self.queue_name.endswith(".fifo") else {}
            self.url = self._sqs.create_queue(QueueName=self.queue_name, Attributes=attrs)["QueueUrl"]
        self.arn = self._sqs.get_queue_attributes(QueueUrl=self.url,
                                                  AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    def run_once(self, wait_seconds: int | None = None) -> int:
        """One receive + invoke; returns how many messages were handled successfully."""
        if self.url is None:
            self._resolve()
        wait = self.wait_seconds if wait_seconds is None else wait_seconds
        messages = self._sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=self.batch_size,
                                             WaitTimeSeconds=wait, AttributeNames=["All"],
                                             MessageAttributeNames=["All"]).get("Messages", [])
        if not messages:
            return 0
        event = sqs_event(messages, self.arn, self.region)
        try:
            result = self.app.handler_map[self.source.name](event, _lambda_context(self.config, self.source.name))
        except Exception:
            self.report(f"hàng đợi {self.queue_name} → {self.source.name}: lỗi, {len(messages)} thư sẽ được "
                        f"giao lại sau thời gian ẩn\n{traceback.format_exc()}")
            return 0
        failed = set()
        if isinstance(result, dict) and isinstance(result.get("batchItemFailures"), list):
            failed = {f.get("itemIdentifier") for f in result["batchItemFailures"]}
        done = [m for m in messages if m["MessageId"] not in failed]
        for i in range(0, len(done), 10):
            self._sqs.delete_message_batch(QueueUrl=self.url, Entries=[
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(done[i:i + 10])])
        return len(done)

    def start(self) -> None:
        def loop() -> None:
            backoff = 1.0
            while not self._stop.is_set():
                try:
                    self.run_once()
                    backoff = 1.0
                except Exception:
                    self.report(f"hàng đợi {self.queue_name}: lỗi khi nhận thư\n{traceback.format_exc()}")
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, 30.0)

        self._thread = threading.Thread(target=loop, name=f"queue-{self.queue_name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


def sqs_sources(app) -> list:
    from chalice.app import SQSEventConfig

    return [s for s in app.event_sources if isinstance(s, SQSEventConfig)]


def run_workers(project_dir: str | Path, stage: str, schedule_seconds: float,
                overrides: dict[str, str] | None = None) -> int:
    """The worker process: scheduler + one queue runner per SQS handler, until SIGTERM/SIGINT."""
    quiet_logging()
    app, config = load_chalice_app(project_dir, stage, overrides)
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())

    def report(message: str) -> None:
        print(message, flush=True)

    scheduler = Scheduler(app, config, schedule_seconds, region, stage, report)
    runners = [QueueRunner(app, s, endpoint, config, region, report=report) for s in sqs_sources(app)]
    names = [s.name for s in scheduler.handlers]
    report(f"lịch: {', '.join(names) or 'không có'} (mỗi {schedule_seconds:g} giây); "
           f"hàng đợi: {', '.join(r.queue_name + ' → ' + r.source.name for r in runners) or 'không có'}")
    scheduler.start()
    for runner in runners:
        runner.start()
    while not stop.wait(0.5):
        pass
    scheduler.stop()
    for runner in runners:
        runner.stop()
    return 0


# --------------------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dev.stack", description="Local stack pieces")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("workers", help="scheduled handlers on a timer + SQS queue handlers")
    p.add_argument("--project-dir", default=str(ROOT))
    p.add_argument("--stage", default="local")
    p.add_argument("--schedule-seconds", type=float,
                   default=float(os.environ.get("CCHC_LOCAL_SCHEDULE_SECONDS", "60")))
    p.add_argument("--env", action="append", default=[], help="KEY=VALUE applied after the stage's variables")
    p = sub.add_parser("moto", help="a moto server in its own process (starts empty)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5055)
    for name in ("snapshot", "restore"):
        p = sub.add_parser(name, help=f"{name} tables and buckets of a running moto")
        p.add_argument("directory")
        p.add_argument("--endpoint-url", default=os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:5055"))
        p.add_argument("--region", default=os.environ.get("AWS_REGION", DEFAULT_REGION))
    args = parser.parse_args(argv)

    if args.command == "workers":
        install_parent_watchdog()
        return run_workers(args.project_dir, args.stage, args.schedule_seconds, parse_env_pairs(args.env))
    if args.command == "moto":
        install_parent_watchdog()
        server = MotoServer(args.host, args.port).start()
        print(f"moto on {server.url}", flush=True)
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        stop.wait()
        server.stop()
        return 0
    if args.command == "snapshot":
        result = snapshot(args.directory, args.endpoint_url, args.region)
        print(f"{result.path}: {result.tables} tables, {result.items} items, {result.objects} objects, "
              f"{result.seconds:.2f}s")
        return 0
    if args.command == "restore":
        print(restore(args.directory, args.endpoint_url, args.region))
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
