"""Local SES events: the local mail capture answers each mail it captures with the events SES would publish for it,
through the same path as on AWS (the events topic in SNS → the app's `mail-events` handler).

- `answers_from_env`: CCHC_LOCAL_BOUNCE and CCHC_LOCAL_COMPLAIN (comma-separated addresses or mail domains, e.g.
  `bounce.example,nguoi3@hagiang.gov.vn`) say which recipients bounce (refused by policy, `550 5.7.1 …`) or
  complain; every other mail is delivered.
- `events_for`: Send, then Delivery, a permanent Bounce, or Delivery and a Complaint, in SES's published shape.
- `publish_captured`: read captured .eml files (message id and envelope recipient) and publish their events;
  `Publisher` does the publishing for a process that publishes again and again (the launcher's capture).
- `MailEventRunner`: an SQS queue subscribed to the topic (as a Lambda subscription would be), whose messages are
  handed to the app's SNS handler in the event Lambda receives (the local workers run one).

    python -m dev.mail_events deliver --project-dir . [--timeout 30]   # hand the waiting events to the app once
"""
from __future__ import annotations

import argparse
import email
import email.policy
import json
import os
import sys
import threading
import traceback
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping

DEFAULT_REGION = "ap-southeast-1"
QUEUE_SUFFIX = "-local-subscriber"
POLICY_REFUSAL = ("550 5.7.1 Message rejected by policy: sender domain not allowed by the receiving organisation",
                  "5.7.1")


@dataclass(frozen=True)
class Answers:
    bounce: frozenset[str] = frozenset()
    complain: frozenset[str] = frozenset()

    def of(self, address: str) -> str:
        """"bounce", "complaint" or "delivery" for a recipient (its address or its domain listed)."""
        address = address.strip().lower()
        domain = address.rsplit("@", 1)[-1]
        for answer, listed in (("bounce", self.bounce), ("complaint", self.complain)):
            if address in listed or domain in listed:
                return answer
        return "delivery"


def _listed(text: str) -> frozenset[str]:
    return frozenset(part.strip().lower() for part in (text or "").split(",") if part.strip())


def answers_from_env(env: Mapping[str, str] | None = None) -> Answers:
    env = os.environ if env is None else env
    return Answers(bounce=_listed(env.get("CCHC_LOCAL_BOUNCE", "")), complain=_listed(env.get("CCHC_LOCAL_COMPLAIN", "")))


def _stamp(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def events_for(message_id: str, recipient: str, source: str, answers: Answers, at: datetime | None = None) -> list[dict]:
    """The records SES publishes for one mail to one recipient (configuration-set event publishing)."""
    at = at or datetime.now(timezone.utc)
    stamp = _stamp(at)
    mail = {"timestamp": stamp, "source": source, "sendingAccountId": "123456789012", "messageId": message_id,
            "destination": [recipient], "headersTruncated": False, "headers": [],
            "commonHeaders": {"from": [source], "to": [recipient], "messageId": message_id}, "tags": {}}
    events: list[dict] = [{"eventType": "Send", "mail": mail, "send": {}}]
    answer = answers.of(recipient)
    if answer == "bounce":
        diagnostic, status = POLICY_REFUSAL
        events.append({"eventType": "Bounce", "mail": mail, "bounce": {
            "bounceType": "Permanent", "bounceSubType": "General", "timestamp": stamp,
            "feedbackId": str(uuid.uuid4()), "reportingMTA": "dsn; mx." + recipient.rsplit("@", 1)[-1],
            "bouncedRecipients": [{"emailAddress": recipient, "action": "failed", "status": status,
                                   "diagnosticCode": f"smtp; {diagnostic}"}]}})
        return events
    events.append({"eventType": "Delivery", "mail": mail, "delivery": {
        "timestamp": stamp, "processingTimeMillis": 120, "recipients": [recipient],
        "smtpResponse": "250 2.6.0 Message received", "reportingMTA": "a8-70.smtp-out.amazonses.com"}})
    if answer == "complaint":
        events.append({"eventType": "Complaint", "mail": mail, "complaint": {
            "complainedRecipients": [{"emailAddress": recipient}], "timestamp": stamp,
            "feedbackId": str(uuid.uuid4()), "complaintFeedbackType": "abuse"}})
    return events


def _clients(endpoint_url: str | None, region: str):
    import boto3

    kwargs: dict[str, Any] = {"region_name": region}
    if endpoint_url:
        kwargs["endpoint_url"] = endpoint_url
    return boto3.client("sns", **kwargs), boto3.client("sqs", **kwargs)


def ensure_subscription(topic_name: str, endpoint_url: str | None = None, region: str = DEFAULT_REGION) -> tuple[str, str]:
    """The topic and an SQS queue subscribed to it (created once): (topic ARN, queue URL)."""
    sns, sqs = _clients(endpoint_url, region)
    topic = sns.create_topic(Name=topic_name)["TopicArn"]
    url = sqs.create_queue(QueueName=topic_name + QUEUE_SUFFIX)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    subscribed = sns.list_subscriptions_by_topic(TopicArn=topic).get("Subscriptions", [])
    if not any(s.get("Endpoint") == arn for s in subscribed):
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    return topic, url


class Publisher:
    """Publishes SES event records to the topic: its clients and the topic's subscription are set up once, on first
    use (and again after a failure), and records go ten to a PublishBatch call."""

    def __init__(self, topic_name: str, endpoint_url: str | None = None, region: str = DEFAULT_REGION):
        self.topic_name, self.endpoint_url, self.region = topic_name, endpoint_url, region
        self._topic: str | None = None
        self._sns: Any = None

    def publish(self, events: list[dict]) -> int:
        if self._topic is None:
            self._topic, _ = ensure_subscription(self.topic_name, self.endpoint_url, self.region)
            self._sns, _ = _clients(self.endpoint_url, self.region)
        try:
            for start in range(0, len(events), 10):
                entries = [{"Id": str(n), "Message": json.dumps(record),
                            "Subject": "Amazon SES Email Event Notification"}
                           for n, record in enumerate(events[start:start + 10])]
                failed = self._sns.publish_batch(TopicArn=self._topic, PublishBatchRequestEntries=entries).get(
                    "Failed") or []
                if failed:
                    raise RuntimeError(f"SNS refused {len(failed)} events: {failed[0]}")
        except Exception:
            self._topic = None  # the topic or its queue may be gone (moto restarted): set them up again next time
            raise
        return len(events)


def publish(events: list[dict], topic_name: str, endpoint_url: str | None = None, region: str = DEFAULT_REGION) -> int:
    return Publisher(topic_name, endpoint_url, region).publish(events)


def captured(path: Path) -> tuple[str, list[str], str]:
    """(message id, envelope recipients, sender) of an .eml the outbox writer made from moto's SES."""
    message_id = path.stem.split("-", 1)[1] if "-" in path.stem else path.stem
    with path.open("rb") as handle:
        msg = email.message_from_binary_file(handle, policy=email.policy.default)
    to = str(msg.get("X-Envelope-To") or msg.get("To") or "")
    recipients = list(dict.fromkeys(address.lower() for _, address in email.utils.getaddresses([to]) if address))
    return message_id, recipients, str(msg.get("X-Envelope-From") or msg.get("From") or "")


def captured_events(paths: list[Path], answers: Answers) -> list[dict]:
    """The events SES would publish for these captured mails, in order."""
    events = []
    for path in paths:
        message_id, recipients, source = captured(path)
        for recipient in recipients:
            events += events_for(message_id, recipient, source, answers)
    return events


def publish_captured(paths: list[Path], topic_name: str, answers: Answers, endpoint_url: str | None = None,
                     region: str = DEFAULT_REGION) -> int:
    events = captured_events(paths, answers)
    return publish(events, topic_name, endpoint_url, region) if events else 0


class CapturedEventPublisher:
    """The capture's side of SES events, on its own thread: the outbox writer hands it each mail it wrote (`put`)
    and goes on capturing; this thread publishes the events of every mail waiting, in batches, as soon as they are
    there."""

    def __init__(self, topic_name: str, answers: Answers, endpoint_url: str | None = None,
                 region: str = DEFAULT_REGION, report: Callable[[str], None] = print):
        import queue

        self.publisher = Publisher(topic_name, endpoint_url, region)
        self.answers, self.report = answers, report
        self._paths: queue.Queue[Path] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def put(self, path: Path) -> None:
        self._paths.put(path)

    def publish_waiting(self, wait: float = 0.0) -> int:
        """Publish the events of every mail handed over so far (waiting up to `wait` seconds for the first)."""
        import queue

        paths = []
        try:
            paths.append(self._paths.get(timeout=wait) if wait else self._paths.get_nowait())
            while True:
                paths.append(self._paths.get_nowait())
        except queue.Empty:
            pass
        if not paths:
            return 0
        try:
            return self.publisher.publish(captured_events(paths, self.answers))
        except Exception as exc:
            self.report(f"✗ Lỗi khi tạo sự kiện thư cho {len(paths)} thư ({paths[0].name}…): {exc}")
            return 0

    def start(self) -> None:
        def loop() -> None:
            while not self._stop.is_set():
                self.publish_waiting(wait=0.5)

        self._thread = threading.Thread(target=loop, name="mail-event-publisher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.publish_waiting()


def sns_lambda_event(envelope: dict, subscription: str) -> dict:
    """The event an SNS subscription hands a Lambda function."""
    return {"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0", "EventSubscriptionArn": subscription,
                         "Sns": {"Type": envelope.get("Type", "Notification"), "MessageId": envelope.get("MessageId"),
                                 "TopicArn": envelope.get("TopicArn"), "Subject": envelope.get("Subject"),
                                 "Message": envelope.get("Message", ""), "Timestamp": envelope.get("Timestamp"),
                                 "SignatureVersion": "1", "Signature": "", "SigningCertUrl": "",
                                 "UnsubscribeUrl": "", "MessageAttributes": {}}}]}


class MailEventRunner:
    """Feeds the app's SNS handler from the topic's subscribed queue, as SNS invokes a subscribed Lambda."""

    def __init__(self, app, source, endpoint_url: str | None = None, region: str = DEFAULT_REGION,
                 report: Callable[[str], None] = print):
        self.app, self.source, self.endpoint_url, self.region, self.report = app, source, endpoint_url, region, report
        self.topic_name = source.topic
        _, self._sqs = _clients(endpoint_url, region)
        self.url: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self, wait_seconds: int = 2) -> int:
        if self.url is None:
            _, self.url = ensure_subscription(self.topic_name, self.endpoint_url, self.region)
        messages = self._sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10,
                                             WaitTimeSeconds=wait_seconds).get("Messages", [])
        handled = 0
        for message in messages:
            try:
                envelope = json.loads(message["Body"])
                self.app.handler_map[self.source.name](sns_lambda_event(envelope, self.topic_name), None)
            except Exception:
                self.report(f"sự kiện thư → {self.source.name}: lỗi, sẽ được giao lại\n{traceback.format_exc()}")
                continue
            self._sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
            handled += 1
        return handled

    def start(self) -> None:
        def loop() -> None:
            while not self._stop.is_set():
                try:
                    self.run_once()
                except Exception:
                    self.report(f"sự kiện thư: lỗi khi nhận\n{traceback.format_exc()}")
                    self._stop.wait(2)

        self._thread = threading.Thread(target=loop, name="mail-events", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


def sns_sources(app) -> list:
    from chalice.app import SNSEventConfig

    return [s for s in app.event_sources if isinstance(s, SNSEventConfig)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dev.mail_events")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("deliver", help="hand the events waiting on the topic's queue to the app, until it is empty")
    p.add_argument("--project-dir", default=str(Path(__file__).resolve().parents[1]))
    p.add_argument("--stage", default="local")
    p.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args(argv)
    import time

    from dev.stack import load_chalice_app

    overrides = {k: v for k, v in os.environ.items() if k.startswith("CCHC_")}
    app, _ = load_chalice_app(args.project_dir, args.stage, overrides)
    endpoint, region = os.environ.get("AWS_ENDPOINT_URL"), os.environ.get("AWS_REGION", DEFAULT_REGION)
    runners = [MailEventRunner(app, source, endpoint, region) for source in sns_sources(app)]
    deadline, handled, idle = time.monotonic() + args.timeout, 0, 0
    while time.monotonic() < deadline and idle < 2:
        done = sum(r.run_once(wait_seconds=1) for r in runners)
        handled, idle = handled + done, 0 if done else idle + 1
    print(handled)
    return 0


if __name__ == "__main__":
    sys.exit(main())
