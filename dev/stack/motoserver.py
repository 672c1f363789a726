"""moto's server on 127.0.0.1 with change tracking (what a snapshot must copy) and the local SES sending rate."""
from __future__ import annotations

import contextlib
import functools
import io
import json
import logging
import os
import threading
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Callable, Iterable

from . import moto_patches
from .env import EXPORT_BUCKET



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


def list_moto_services_once() -> None:
    """moto's server asks, for every request whose host is no AWS endpoint (here 127.0.0.1), whether the host names
    one of its service packages, by listing its package folder and testing each of its ~150 entries on disk. The
    folder does not change while the server runs: it is listed once. Idempotent."""
    from moto import backends

    if getattr(backends.list_of_moto_modules, "listed_once", False):
        return
    original = backends.list_of_moto_modules
    names = tuple(original())

    def list_of_moto_modules() -> tuple[str, ...]:
        return names

    list_of_moto_modules.listed_once = True  # type: ignore[attr-defined]
    list_of_moto_modules.original = original  # type: ignore[attr-defined]
    backends.list_of_moto_modules = list_of_moto_modules  # type: ignore[assignment]


class MotoServer:
    """moto's ThreadedMotoServer on `host:port`, optionally behind a ChangeTracker.

    moto keeps its state per process: stopping and starting again in the same process keeps the data
    (call `reset()` for an empty emulator); a separate process (`python -m dev.stack moto`) starts empty."""

    def __init__(self, host: str = "127.0.0.1", port: int = 5055, tracker: ChangeTracker | None = None,
                 verbose: bool = False, counter: "RequestCounter | None" = None):
        from moto.server import ThreadedMotoServer

        use_local_ses_rate()
        moto_patches.install()  # transactions back up the items they name, not whole tables
        list_moto_services_once()
        self.host, self.port, self.tracker = host, port, tracker
        tracker_ref, counter_ref = tracker, counter

        class _Server(ThreadedMotoServer):
            def _server_entry(self) -> None:
                # ThreadedMotoServer._server_entry, with the app wrapped by the tracker.
                from moto.moto_server.werkzeug_app import (
                    DomainDispatcherApplication,
                    MotoRequestHandler,
                    create_backend_app,
                )
                from werkzeug.serving import make_server

                app = serialise_dynamodb(DomainDispatcherApplication(create_backend_app))
                if tracker_ref is not None:
                    app = tracker_ref.wrap(app)
                if counter_ref is not None:
                    app = counter_ref.wrap(app)
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




# DynamoDB operations by what they cost: reads in 4 KB read units, writes in 1 KB write units.
_DDB_READS = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"}
_DDB_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


def _units(size: int, unit: int) -> int:
    return max(1, -(-size // unit))


def _item_size(item: object) -> int:
    return len(json.dumps(item, separators=(",", ":")))


def _ddb_capacity(op: str, request: dict, response: dict) -> tuple[float, float]:
    """(read units, write units) of one DynamoDB call, estimated as on-demand DynamoDB bills them from the items'
    sizes as JSON (a little above the billed size, which counts names and values without the type tags):
    eventually consistent reads half a unit per 4 KB, strongly consistent one, transactions twice. Updates and
    deletes count one write unit (their items here are far below 1 KB)."""
    half = 1.0 if request.get("ConsistentRead") else 0.5
    if op == "GetItem":
        return _units(_item_size(response.get("Item", {})), 4096) * half, 0.0
    if op == "Query" or op == "Scan":
        return _units(sum(_item_size(i) for i in response.get("Items", [])), 4096) * half, 0.0
    if op == "BatchGetItem":
        items = [i for rows in response.get("Responses", {}).values() for i in rows]
        return sum(_units(_item_size(i), 4096) * 0.5 for i in items), 0.0
    if op == "TransactGetItems":
        return sum(2.0 * _units(_item_size(r.get("Item", {})), 4096) for r in response.get("Responses", [])), 0.0
    if op == "PutItem":
        return 0.0, float(_units(_item_size(request.get("Item", {})), 1024))
    if op in ("UpdateItem", "DeleteItem"):
        return 0.0, 1.0
    if op == "BatchWriteItem":
        return 0.0, float(sum(_units(_item_size(w.get("PutRequest", {}).get("Item", {})), 1024)
                              for rows in request.get("RequestItems", {}).values() for w in rows))
    if op == "TransactWriteItems":
        return 0.0, float(sum(2 * _units(_item_size(a.get("Put", {}).get("Item", {})), 1024)
                              for a in request.get("TransactItems", [])))
    return 0.0, 0.0


class RequestCounter:
    """WSGI middleware counting the AWS requests a moto server answers, by service and operation, with the bytes
    in and out and, for DynamoDB, the read and write units the calls would consume on demand. `GET
    /_cchc/requests` answers the totals so far as JSON; nothing else is changed. Enabled for
    `python -m dev.stack moto` by CCHC_MOTO_REQUEST_COUNTS=1 (bench/rehearsal.py)."""

    PATH = "/_cchc/requests"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, dict[str, float]] = {}

    def snapshot(self) -> dict[str, dict[str, float]]:
        with self._lock:
            return {key: dict(value) for key, value in self._counts.items()}

    def wrap(self, app: Callable) -> Callable:
        return functools.partial(self._call, app)

    def _call(self, app: Callable, environ: dict, start_response: Callable):
        if environ.get("PATH_INFO") == self.PATH and environ.get("REQUEST_METHOD") == "GET":
            body = json.dumps(self.snapshot()).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        request = ChangeTracker._read_body(environ)
        result = app(environ, start_response)
        try:
            response = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        try:
            self._count(environ, request, response)
        except Exception:  # counting never breaks the emulator
            pass
        return [response]

    def _count(self, environ: dict, request: bytes, response: bytes) -> None:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        reads = writes = 0.0
        if target.startswith("DynamoDB_"):
            op = target.partition(".")[2]
            key = f"dynamodb.{op}"
            if op in _DDB_READS or op in _DDB_WRITES:
                reads, writes = _ddb_capacity(op, json.loads(request or b"{}"), json.loads(response or b"{}"))
        elif target:
            service, _, op = target.partition(".")
            key = f"{service.split('_')[0].lower().replace('amazon', '')}.{op}"
        elif environ.get("REQUEST_METHOD") == "POST" and environ.get("PATH_INFO", "/") == "/" and \
                environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
            form = urllib.parse.parse_qs(request.decode("utf-8", "replace"))
            action = (form.get("Action") or ["?"])[0]
            auth = environ.get("HTTP_AUTHORIZATION", "")
            service = auth.split("/")[3] if auth.count("/") >= 4 else "query"
            key = f"{service}.{action}"
        elif environ.get("PATH_INFO", "").startswith("/moto-api/"):
            key = "moto-api"
        else:
            auth = environ.get("HTTP_AUTHORIZATION", "")
            service = auth.split("/")[3] if auth.count("/") >= 4 else "s3"
            key = f"{service}.{environ.get('REQUEST_METHOD', 'GET')}"
        with self._lock:
            entry = self._counts.setdefault(key, {"requests": 0, "bytes_in": 0, "bytes_out": 0, "read_units": 0.0,
                                                  "write_units": 0.0})
            entry["requests"] += 1
            entry["bytes_in"] += len(request)
            entry["bytes_out"] += len(response)
            entry["read_units"] += reads
            entry["write_units"] += writes
