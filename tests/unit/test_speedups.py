"""The tests' moto (tests/speedups.py) keeps DynamoDB's rules with its cheaper copies: a cancelled transaction
leaves every item it touched exactly as it was, a complete one applies every operation; an item restored from the
seeded copy each test starts from still refuses to grow past DynamoDB's 400 KB; responses serialized with the
remembered keys are those moto's own serializer writes."""
import boto3
import pytest
from botocore.exceptions import ClientError


@pytest.fixture
def table(aws):
    ddb = boto3.client("dynamodb")
    ddb.create_table(TableName="rollback-check", BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                           {"AttributeName": "sk", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}])
    for sk, n in (("a", "1"), ("c", "3"), ("e", "5")):
        ddb.put_item(TableName="rollback-check", Item={"pk": {"S": "p"}, "sk": {"S": sk}, "n": {"N": n},
                                                        "tags": {"SS": ["x"]}})
    return ddb


def items(ddb) -> dict:
    return {i["sk"]["S"]: i for i in ddb.scan(TableName="rollback-check")["Items"]}


def operations(last_condition: str) -> list[dict]:
    key = lambda sk: {"pk": {"S": "p"}, "sk": {"S": sk}}  # noqa: E731
    return [
        {"Update": {"TableName": "rollback-check", "Key": key("a"), "UpdateExpression": "SET n = n + :one ADD tags :t",
                    "ExpressionAttributeValues": {":one": {"N": "1"}, ":t": {"SS": ["y"]}}}},
        {"Put": {"TableName": "rollback-check", "Item": {**key("b"), "n": {"N": "2"}}}},
        {"Delete": {"TableName": "rollback-check", "Key": key("c")}},
        {"ConditionCheck": {"TableName": "rollback-check", "Key": key("e"), "ConditionExpression": last_condition}},
    ]


def test_a_cancelled_transaction_leaves_every_touched_item_as_it_was(table):
    from moto.dynamodb.models import DynamoDBBackend

    assert DynamoDBBackend.transact_write_items.__module__ == "speedups"  # the rollback checked here
    before = items(table)
    with pytest.raises(ClientError) as refused:
        table.transact_write_items(TransactItems=operations("attribute_not_exists(pk)"))
    assert refused.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert items(table) == before  # a's update, b's put and c's delete all undone, the set unchanged


def test_a_transaction_naming_one_item_twice_is_refused_and_undone(table):
    before = items(table)
    twice = operations("attribute_exists(pk)")
    twice[3] = {"Put": {"TableName": "rollback-check", "Item": {"pk": {"S": "p"}, "sk": {"S": "b"}}}}
    with pytest.raises(ClientError):
        table.transact_write_items(TransactItems=twice)
    assert items(table) == before


def test_a_complete_transaction_applies_every_operation(table):
    table.transact_write_items(TransactItems=operations("attribute_exists(pk)"))
    after = items(table)
    assert sorted(after) == ["a", "b", "e"]
    assert after["a"]["n"] == {"N": "2"} and sorted(after["a"]["tags"]["SS"]) == ["x", "y"]
    assert after["b"]["n"] == {"N": "2"}


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
