"""SQS: jobs fanned out one per unit, and batches of mail for the sender.

`Queues` is the contract services rely on; this module's functions are its implementation (the module itself is the
object: `chalicelib/store/stores.py` wires it), `chalicelib/store/memory.py` holds an in-memory one that records the
messages, and `tests/unit/test_store_contract.py` runs the same cases against both (moto for SQS)."""
from __future__ import annotations

import functools
import json
from typing import Protocol

from chalicelib import observability as obs
from chalicelib.config import settings


class Queues(Protocol):
    """The queues, with what every implementation keeps:
    - `send` puts every body on the named queue as its own JSON message, however many there are, each carrying the
      correlation id of the work that sent it (`origin`) when there is one; a message refused raises, so nothing is
      lost silently; with `delay`, messages can be received only that many seconds later (at most 900);
    - `send_job` puts one body on the jobs queue;
    - `send_mail_batches` puts each batch that has mails on the mail queue with its mails packed (`unpack` gives
      them back as they were), and skips a batch without mails."""

    def send(self, queue: str, bodies: list[dict], delay: int = 0) -> None: ...

    def send_job(self, body: dict) -> None: ...

    def send_mail_batches(self, batches: list[dict], delay: int = 0) -> None: ...


@functools.lru_cache(maxsize=1)
def _sqs():
    import boto3

    return boto3.client("sqs", region_name=settings().region)


@functools.lru_cache(maxsize=4)
def _url(name: str) -> str:
    return _sqs().get_queue_url(QueueName=name)["QueueUrl"]


def send(queue: str, bodies: list[dict], delay: int = 0) -> None:
    """Send messages in batches of 10 (the SQS limit); a partial failure raises so nothing is silently lost.
    `delay`: seconds before they can be received (at most 900). Each body carries the correlation id of the request
    that set it off (`origin`), so the job's log lines lead back to it."""
    url = _url(queue)
    origin = obs.origin()
    if origin:
        bodies = [{"origin": origin, **body} for body in bodies]
    extra = {"DelaySeconds": min(900, max(0, delay))} if delay else {}  # SQS's longest delay
    for start in range(0, len(bodies), 10):
        chunk = bodies[start:start + 10]
        result = _sqs().send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "MessageBody": json.dumps(body, ensure_ascii=False), **extra}
            for i, body in enumerate(chunk)])
        if result.get("Failed"):
            raise RuntimeError(f"SQS refused {len(result['Failed'])} messages: {result['Failed'][0]}")


def send_job(body: dict) -> None:
    send(settings().jobs_queue, [body])


def send_mail_batches(batches: list[dict], delay: int = 0) -> None:
    """Rendered mails travel compressed (HTML shrinks about tenfold): fewer and cheaper SQS messages."""
    send(settings().mail_queue, [{**b, "mails": pack(b["mails"])} for b in batches if b["mails"]], delay)


def pack(items: list[dict]) -> str:
    import base64
    import zlib

    return base64.b64encode(zlib.compress(json.dumps(items, ensure_ascii=False).encode(), 1)).decode()


def unpack(data: str | list) -> list[dict]:
    import base64
    import zlib

    if isinstance(data, list):
        return data
    return json.loads(zlib.decompress(base64.b64decode(data)))
