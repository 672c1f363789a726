"""The tests' moto (tests/speedups.py) keeps DynamoDB's rules with its cheaper copies: an item restored from the
seeded copy each test starts from still refuses to grow past DynamoDB's 400 KB; responses serialized with the
remembered keys are those moto's own serializer writes. (Its transactions' item-level rollback is the local stack's,
dev/stack/moto_patches.py, checked by tests/unit/test_moto_transactions.py.)"""
import boto3
import pytest
from botocore.exceptions import ClientError


def test_an_item_of_the_restored_seed_still_refuses_to_grow_past_400_kb(seeded):
    from chalicelib.store.models import CampaignModel

    ddb, table = boto3.client("dynamodb"), CampaignModel.Meta.table_name
    key = {k: v for k, v in ddb.scan(TableName=table, Limit=1)["Items"][0].items() if k in ("pk", "cid")}
    with pytest.raises(ClientError) as refused:
        ddb.update_item(TableName=table, Key=key, UpdateExpression="SET padding = :p",
                        ExpressionAttributeValues={":p": {"S": "x" * 405_000}})
    assert "Item size" in refused.value.response["Error"]["Message"]
    ddb.update_item(TableName=table, Key=key, UpdateExpression="SET padding = :p",
                    ExpressionAttributeValues={":p": {"S": "x" * 1000}})


def test_the_serializer_with_remembered_keys_writes_what_moto_writes(seeded, monkeypatch):
    from moto.core import serialize

    from chalicelib.store.models import ALL_MODELS

    ddb, sqs, s3 = boto3.client("dynamodb"), boto3.client("sqs"), boto3.client("s3")

    def answers() -> list:
        out = []
        for model in ALL_MODELS:
            out.append(ddb.scan(TableName=model.Meta.table_name))
            out.append(ddb.describe_table(TableName=model.Meta.table_name))
        out += [sqs.list_queues(), s3.list_buckets(), ddb.list_tables()]
        for answer in out:
            answer.pop("ResponseMetadata", None)
        return out

    remembered = answers()
    assert sum(len(a.get("Items", [])) for a in remembered) > 100
    monkeypatch.setattr(serialize.AttributePicker, "__call__", serialize.AttributePicker.__call__.original)
    assert answers() == remembered
