"""Helpers for tests that need the queues drained and the mails read back (moto in-process)."""
from __future__ import annotations

from email import message_from_bytes, policy
from urllib.parse import unquote, urlparse

import boto3
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from chalicelib.config import settings

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

REGION = "ap-southeast-1"


def ses_backend():
    return ses_backends[DEFAULT_ACCOUNT_ID][REGION]


def sent_mails():
    """Every message moto's SES accepted, parsed."""
    return [message_from_bytes(m.raw_data.encode() if isinstance(m.raw_data, str) else m.raw_data,
                               policy=policy.default) for m in ses_backend().sent_messages]


def body_text(msg) -> str:
    return msg.get_body(preferencelist=("plain",)).get_content()


def token_of(msg) -> str:
    return body_text(msg).split("/khao-sat/#", 1)[1].split()[0]


def drain(api, queue: str, handler: str) -> int:
    """Deliver every waiting message of `queue` to the app's handler, as Lambda's event source would."""
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    delivered = 0
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=0).get("Messages", [])
        if not got:
            return delivered
        event = api.client.events.generate_sqs_event(message_bodies=[got[0]["Body"]], queue_name=queue)
        api.client.lambda_.invoke(handler, event)
        sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
        delivered += 1


def run_all(api) -> None:
    drain(api, settings().jobs_queue, "jobs")
    drain(api, settings().mail_queue, "mail")


def mail_roster(api, tokens, rows: list[list]) -> list:
    """Unit 01 of the demo campaign through the API: `rows` imported (a roster workbook), sent by the province,
    dispatched by the organiser, and the queues run; the mails in the outbox."""
    from builders import roster_workbook

    r = api.call("POST", "/campaigns/demo/units/01/roster/imports", token=tokens["01"],
                 headers={"content-type": XLSX}, raw=roster_workbook(rows))
    assert r.status_code == 200, r.data
    assert api.call("POST", "/campaigns/demo/units/01/roster/submit", token=tokens["01"]).status_code == 200
    assert api.call("POST", "/campaigns/demo/dispatch", {}, token=tokens["admin"]).status_code == 202
    run_all(api)
    return sent_mails()


def download(url: str) -> bytes:
    """The object behind a presigned export link (path-style or virtual-hosted URL)."""
    parsed, bucket = urlparse(url), settings().exports_bucket
    path = unquote(parsed.path).lstrip("/")
    key = path if parsed.hostname.startswith(bucket) else path.split("/", 1)[1]
    return boto3.client("s3", region_name=REGION).get_object(Bucket=bucket, Key=key)["Body"].read()
