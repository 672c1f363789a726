"""Create every table, bucket and queue the app uses when they are missing (local stack and tests).

On AWS the same resources come from infra/; this exists so the emulator matches them."""
from __future__ import annotations

import boto3

from chalicelib.config import settings
from chalicelib.store.models import ALL_MODELS


def _add_missing_indexes(ddb, model) -> list[str]:
    """A table restored from an older local snapshot gains the global indexes added to its model since."""
    table = model.Meta.table_name
    existing = {i["IndexName"] for i in ddb.describe_table(TableName=table)["Table"].get("GlobalSecondaryIndexes", [])}
    schema = model._get_schema()
    added = []
    for index in schema["global_secondary_indexes"]:
        if index["index_name"] in existing:
            continue
        ddb.update_table(TableName=table, AttributeDefinitions=index["attribute_definitions"],
                         GlobalSecondaryIndexUpdates=[{"Create": {
                             "IndexName": index["index_name"], "KeySchema": index["key_schema"],
                             "Projection": index["projection"]}}])
        added.append(f"{table}.{index['index_name']}")
    return added


def table_names() -> set[str]:
    """The full names (with the stage's prefix) of every table the application uses."""
    return {model.Meta.table_name for model in ALL_MODELS}


def ensure_resources() -> list[str]:
    cfg = settings()
    created = []
    ddb = boto3.client("dynamodb", region_name=cfg.region)
    for model in ALL_MODELS:
        if not model.exists():
            model.create_table(wait=True)
            created.append(model.Meta.table_name)
        else:
            created += _add_missing_indexes(ddb, model)
    s3 = boto3.client("s3", region_name=cfg.region)
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    for bucket in (cfg.exports_bucket, cfg.evidence_bucket):
        if bucket not in existing:
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": cfg.region})
            created.append(bucket)
    sqs = boto3.client("sqs", region_name=cfg.region)
    for queue in (cfg.jobs_queue, cfg.mail_queue):
        dlq = sqs.create_queue(QueueName=f"{queue}-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sqs.create_queue(QueueName=queue, Attributes={
            "VisibilityTimeout": "960",
            "RedrivePolicy": f'{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"5"}}'})
    ses = boto3.client("ses", region_name=cfg.region)
    ses.verify_email_identity(EmailAddress=cfg.mail_from)
    topic = boto3.client("sns", region_name=cfg.region).create_topic(Name=cfg.mail_events_topic)["TopicArn"]
    for kind in ("Bounce", "Complaint", "Delivery"):
        ses.set_identity_notification_topic(Identity=cfg.mail_from, NotificationType=kind, SnsTopic=topic)
    return created
