"""Structured logs and CloudWatch metrics, on stdout: what Lambda sends to CloudWatch Logs.

Every log line carries the correlation id of the request or job it belongs to and the campaign, unit and action
it is about (null where there is none); they are bound once, at the entry (the route decorator, each queue and
schedule handler in app.py), and every line written in that scope has them. Lines are JSON (one object a line)
unless CCHC_LOG_FORMAT=text (the local stack: readable lines).

Metrics are CloudWatch Embedded Metric Format objects on their own stdout line: CloudWatch Logs turns them into
metrics of namespace CCHC with the dimension Stage, without a PutMetricData call (no permission, no latency).

Nothing a caller passes under a name that looks like a secret (token, password, answer, …) is written: its value
is replaced, so a mistake in a call site cannot leak one. Messages are fixed texts; values go in fields."""
from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
import re
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Iterator

NAMESPACE = "CCHC"
MAILS_SENT = "MailsSent"
MAILS_FAILED = "MailsFailed"
MAILS_BOUNCED = "MailsBounced"
SUBMITS = "Submits"
IMPORTS = "Imports"
JOB_RETRIES = "JobRetries"
API_4XX = "Api4xx"
API_5XX = "Api5xx"
METRICS = frozenset({MAILS_SENT, MAILS_FAILED, MAILS_BOUNCED, SUBMITS, IMPORTS, JOB_RETRIES, API_4XX, API_5XX})

CONTEXT = ("correlation_id", "campaign", "unit", "action")
# A field named like one of these (alone or as a word of a snake_case name: survey_token, new_password) is redacted.
SECRET_NAME = re.compile(r"(^|_)(tokens?|password|passwd|secrets?|answers?|authori[sz]ation|cookies?|credentials?)"
                         r"($|_)", re.I)
REDACTED = "[redacted]"
EMAIL = re.compile(r"[\w.+'-]+(@[\w-]+(?:\.[\w-]+)+)")  # an address in a diagnostic: its domain only
MAX_VALUE = 500  # characters of one string field; a diagnostic longer than this is cut

_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("cchc_log_context", default=None)
_write_lock = threading.Lock()

logger = logging.getLogger("cchc")


def text_format() -> bool:
    return os.environ.get("CCHC_LOG_FORMAT", "json").lower() == "text"


def new_id() -> str:
    return str(uuid.uuid4())


# --- the scope of a request or a job --------------------------------------------------------------------------------

@contextlib.contextmanager
def scope(correlation_id: str | None = None, **fields: Any) -> Iterator[dict[str, Any]]:
    """Every line written inside has this correlation id (a new one when none is given) and these fields."""
    ctx: dict[str, Any] = {"correlation_id": correlation_id or new_id(), "campaign": None, "unit": None,
                           "action": None}
    ctx.update({k: v for k, v in fields.items() if v is not None})
    token = _context.set(ctx)
    try:
        yield ctx
    finally:
        _context.reset(token)


@contextlib.contextmanager
def about(**fields: Any) -> Iterator[None]:
    """Inside a scope, lines about one item of a job that spans many (a schedule's run over every unit): the same
    correlation id, these fields instead of the scope's for as long as the block lasts."""
    ctx = _context.get() or {"correlation_id": None, "campaign": None, "unit": None, "action": None}
    token = _context.set({**ctx, **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def bind(**fields: Any) -> None:
    """Add fields (campaign, unit, action, …) to the current scope; None values are left out."""
    ctx = _context.get()
    if ctx is not None:
        ctx.update({k: v for k, v in fields.items() if v is not None})


def current() -> dict[str, Any]:
    return dict(_context.get() or {})


def correlation_id() -> str | None:
    return (_context.get() or {}).get("correlation_id")


def origin() -> str | None:
    """What a message queued now carries: the correlation id of the request that set off the current work (a
    job queued by a job keeps its origin), so one search finds every job a request led to."""
    ctx = _context.get() or {}
    return ctx.get("origin") or ctx.get("correlation_id")


@contextlib.contextmanager
def job(action: str, correlation_id: str | None = None, *, origin: str | None = None, receive_count: int = 1,
        **fields: Any) -> Iterator[dict[str, Any]]:
    """The scope of one job (a queue message, an SNS event, a schedule's run): lines when it starts and ends (with
    its duration and what the handler put in the dict it gets), its failure with the traceback, and a JobRetries
    metric when the queue delivers the message again. `origin`: the correlation id of what queued it."""
    with scope(correlation_id, action=action, origin=origin, **fields):
        if receive_count > 1:
            metric(JOB_RETRIES, retry="redelivery", receive_count=receive_count)
        started = time.monotonic()
        info("job started", receive_count=receive_count)
        outcome: dict[str, Any] = {}
        try:
            yield outcome
        except Exception:
            exception("job failed", duration_ms=_since(started))
            raise
        info("job done", duration_ms=_since(started), **outcome)


def queue_job(action: str, message: dict[str, Any], body: dict[str, Any],
              **fields: Any) -> contextlib.AbstractContextManager[dict[str, Any]]:
    """`job` for an SQS record (as Lambda delivers it): its message id, how often it was received, and the
    correlation id of the request or job that queued it (carried in the body)."""
    count = str((message.get("attributes") or {}).get("ApproximateReceiveCount") or "1")
    return job(action, message.get("messageId"), origin=body.get("origin"),
               receive_count=int(count) if count.isdigit() else 1, **fields)


def _since(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


# --- log lines ----------------------------------------------------------------------------------------------------

def info(message: str, **fields: Any) -> None:
    logger.info(message, extra={"fields": fields})


def warning(message: str, **fields: Any) -> None:
    logger.warning(message, extra={"fields": fields})


def error(message: str, **fields: Any) -> None:
    logger.error(message, extra={"fields": fields})


def exception(message: str, **fields: Any) -> None:
    """An error with the traceback of the exception being handled."""
    logger.exception(message, extra={"fields": fields})


def _clean(fields: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if SECRET_NAME.search(key):
            out[key] = REDACTED
        elif isinstance(value, str):
            value = EMAIL.sub(r"***\1", value)
            out[key] = value[:MAX_VALUE] + "…" if len(value) > MAX_VALUE else value
        elif isinstance(value, dict):
            out[key] = _clean(value)
        else:
            out[key] = value
    return out


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = getattr(record, "fields", None)
    return _clean(fields) if isinstance(fields, dict) else {}


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, message, the scope's correlation id, campaign, unit, action, stage,
    then the call's own fields."""

    def format(self, record: logging.LogRecord) -> str:
        ctx = _context.get() or {}
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname, "message": record.getMessage(), "logger": record.name,
            **{k: ctx.get(k) for k in CONTEXT}, "stage": _stage()}
        line.update({k: v for k, v in ctx.items() if k not in line})
        line.update({k: v for k, v in _fields(record).items() if k not in line})
        if record.exc_info and record.exc_info[1] is not None:
            line["error"] = f"{type(record.exc_info[1]).__name__}"
            line["traceback"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """A readable line for a person watching the local stack: time, level, message, the scope, the fields."""

    def format(self, record: logging.LogRecord) -> str:
        ctx = _context.get() or {}
        when = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        where = "/".join(str(ctx[k]) for k in ("campaign", "unit") if ctx.get(k))
        head = " ".join(p for p in (ctx.get("action"), where, (ctx.get("correlation_id") or "")[:8]) if p)
        extra = " ".join(f"{k}={v}" for k, v in _fields(record).items())
        text = f"{when} {record.levelname:<7} {record.getMessage()}" + (f" [{head}]" if head else "") + \
            (f" {extra}" if extra else "")
        if record.exc_info and record.exc_info[1] is not None:
            text += "\n" + self.formatException(record.exc_info)
        return text


class StdoutHandler(logging.StreamHandler):
    """Writes to whatever sys.stdout is when the line is written (Lambda's log stream, a test's capture)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)


def configure() -> None:
    """The app's logger: its own handler on stdout, at CCHC_LOG_LEVEL (INFO by default), not passed on to the root
    logger (Lambda's own handler there would write every line a second time)."""
    for handler in list(logger.handlers):
        if isinstance(handler, StdoutHandler):
            logger.removeHandler(handler)
    handler = StdoutHandler(sys.stdout)
    handler.setFormatter(TextFormatter() if text_format() else JsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(os.environ.get("CCHC_LOG_LEVEL", "INFO").upper())
    logger.propagate = False


def _stage() -> str:
    from chalicelib.config import settings

    return settings().stage


# --- metrics ------------------------------------------------------------------------------------------------------

def metric(name: str, value: float = 1, **properties: Any) -> None:
    """One metric value as an EMF line (namespace CCHC, dimension Stage), with the scope's correlation id,
    campaign, unit and action and `properties` as searchable fields beside it. Written whatever the log level."""
    if name not in METRICS:
        raise ValueError(f"unknown metric {name!r}")
    ctx = _context.get() or {}
    stage = _stage()
    if text_format():
        extra = " ".join(f"{k}={v}" for k, v in _clean(properties).items())
        where = "/".join(str(ctx[k]) for k in ("campaign", "unit") if ctx.get(k))
        _write(f"{datetime.now().strftime('%H:%M:%S')} METRIC  {name}={value:g} [{ctx.get('action') or ''} "
               f"{where}]" + (f" {extra}" if extra else ""))
        return
    line: dict[str, Any] = {
        "_aws": {"Timestamp": int(time.time() * 1000),
                 "CloudWatchMetrics": [{"Namespace": NAMESPACE, "Dimensions": [["Stage"]],
                                        "Metrics": [{"Name": name, "Unit": "Count"}]}]},
        "Stage": stage, name: value, **{k: ctx.get(k) for k in CONTEXT}}
    line.update({k: v for k, v in _clean(properties).items() if k not in line})
    _write(json.dumps(line, ensure_ascii=False, default=str))


def _write(text: str) -> None:
    with _write_lock:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


configure()
