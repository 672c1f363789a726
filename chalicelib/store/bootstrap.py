"""Create every table, bucket and queue the app uses when they are missing (local stack and tests).

On AWS the same resources come from infra/; this exists so the emulator matches them."""
from __future__ import annotations

import boto3

from chalicelib.config import settings
from chalicelib.store.models import ALL_MODELS


def ensure_resources() -> list[str]:
    cfg = settings()
    created = []
    for model in ALL_MODELS:
        if not model.exists():
            model.create_table(wait=True)
            created.append(model.Meta.table_name)
    s3 = boto3.client("s3", region_name=cfg.region)
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    for bucket in (cfg.exports_bucket, cfg.evidence_bucket):
        if bucket not in existing:
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": cfg.region})
            created.append(bucket)
    sqs = boto3.client("sqs", region_name=cfg.region)
    dlq = sqs.create_queue(QueueName=f"{cfg.jobs_queue}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.create_queue(QueueName=cfg.jobs_queue, Attributes={
        "VisibilityTimeout": "360",
        "RedrivePolicy": f'{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"5"}}'})
    boto3.client("ses", region_name=cfg.region).verify_email_identity(EmailAddress=cfg.mail_from)
    return created
