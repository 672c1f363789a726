"""Workers: the scheduled handlers on a timer and the SQS handlers fed from their queues."""
from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import threading
import traceback
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from .env import DEFAULT_REGION, _boto_client, load_chalice_app, quiet_logging



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


def concurrency(source) -> int:
    """How many consumers of an SQS handler run at once: its maximum_concurrency, as the event source mapping
    allows on AWS (one when unset: the local stack has no use for more)."""
    return max(1, int(getattr(source, "maximum_concurrency", None) or 1))


class ConsumerProcess:
    """One more consumer of an SQS handler, in its own process as each concurrent Lambda runs in its own
    environment (its module state, e.g. the mailer's pace, its own): `python -m dev.stack workers --only NAME`.
    It exits when this process disappears (install_parent_watchdog)."""

    def __init__(self, project_dir: str | Path, stage: str, name: str, overrides: dict[str, str] | None,
                 report: Callable[[str], None] = print):
        from .env import ROOT

        self.name, self.report = name, report
        self.argv = [sys.executable, "-m", "dev.stack", "workers", "--project-dir", str(project_dir), "--stage",
                     stage, "--only", name,
                     *[arg for k, v in (overrides or {}).items() for arg in ("--env", f"{k}={v}")]]
        self.env = {**os.environ, "CCHC_LOCAL_PARENT_PID": str(os.getpid()),
                    "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        self.cwd = str(ROOT)
        self.proc: subprocess.Popen | None = None

    def start(self) -> "ConsumerProcess":
        self.proc = subprocess.Popen(self.argv, env=self.env, cwd=self.cwd, stdin=subprocess.DEVNULL)
        return self

    def check(self) -> None:
        """Starts it again when it died (a crash, a kill)."""
        if self.proc is not None and self.proc.poll() is not None:
            self.report(f"hàng đợi → {self.name}: tiến trình nhận thư thêm dừng (mã {self.proc.returncode}); "
                        f"khởi động lại")
            self.start()

    def terminate(self) -> None:
        """Asks it to stop (SIGTERM) without waiting."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()

    def stop(self, timeout: float = 30.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def run_workers(project_dir: str | Path, stage: str, schedule_seconds: float,
                overrides: dict[str, str] | None = None, only: str | None = None,
                max_consumers: int | None = None) -> int:
    """The worker process: scheduler + one queue runner per SQS handler, and for a handler that may run several at
    once (maximum_concurrency) as many consumer processes in all, until SIGTERM/SIGINT. With `only`: just one
    consumer of that SQS handler (what those extra processes run). `max_consumers` caps the consumers per handler."""
    quiet_logging()
    app, config = load_chalice_app(project_dir, stage, overrides)
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())

    def report(message: str) -> None:
        print(message, flush=True)

    sources = sqs_sources(app)
    if only is not None:
        sources = [s for s in sources if s.name == only]
        if not sources:
            report(f"không có hàng đợi nào cho hàm {only}")
            return 2
        runner = QueueRunner(app, sources[0], endpoint, config, region, report=report)
        runner._resolve()
        runner.start()
        report(f"hàng đợi: {runner.queue_name} → {only}, thêm một tiến trình nhận")
        while not stop.wait(0.5):
            pass
        runner.stop()
        return 0

    scheduler = Scheduler(app, config, schedule_seconds, region, stage, report)
    runners = [QueueRunner(app, s, endpoint, config, region, report=report) for s in sources]
    names = [s.name for s in scheduler.handlers]
    report(f"lịch: {', '.join(names) or 'không có'} (mỗi {schedule_seconds:g} giây); "
           f"hàng đợi: {', '.join(r.queue_name + ' → ' + r.source.name + _times(min(concurrency(r.source), max_consumers or 99)) for r in runners) or 'không có'}")
    from dev.mail_events import MailEventRunner, sns_sources

    # the SES events the local mail capture publishes reach the app's SNS handler through the topic's queue
    runners += [MailEventRunner(app, s, endpoint, region, report=report) for s in sns_sources(app)]
    extra = [ConsumerProcess(project_dir, stage, s.name, overrides, report)
             for s in sources for _ in range(min(concurrency(s), max_consumers or concurrency(s)) - 1)]
    scheduler.start()
    for runner in runners:
        runner.start()
    for consumer in extra:
        consumer.start()
    while not stop.wait(0.5):
        for consumer in extra:
            consumer.check()
    # Every part told to stop first, then each awaited: a runner finishes the poll it is in (up to its wait), and
    # waiting for them one after another made a stop take the sum of those waits.
    for consumer in extra:
        consumer.terminate()
    for part in [scheduler, *runners]:
        part._stop.set()
    for consumer in extra:
        consumer.stop()
    scheduler.stop()
    for runner in runners:
        runner.stop()
    return 0


def _times(n: int) -> str:
    return f" (×{n})" if n > 1 else ""
