"""The emulator's cheaper transaction rollback (dev/stack/moto_patches.py), which the tests and the local stack run
on: a cancelled transaction leaves every item it named as it was (created ones gone, updated and deleted ones back),
touches no other item, and a transaction that passes applies whole, as DynamoDB does."""
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError

S, N = (lambda v: {"S": v}), (lambda v: {"N": str(v)})


class Tables:
    """Two tables of the test's own (unique names): one with a range key, one without."""

    def __init__(self, client):
        self.client, suffix = client, uuid.uuid4().hex[:8]
        self.ranged, self.plain = f"tx-ranged-{suffix}", f"tx-plain-{suffix}"


@pytest.fixture
def ddb(aws):
    """The session's emulator (tests/conftest.py installs the patch), with two fresh tables."""
    client = boto3.client("dynamodb", region_name="ap-southeast-1")
    t = Tables(client)
    client.create_table(TableName=t.ranged, BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "h", "KeyType": "HASH"},
                                   {"AttributeName": "r", "KeyType": "RANGE"}],
                        AttributeDefinitions=[{"AttributeName": "h", "AttributeType": "S"},
                                              {"AttributeName": "r", "AttributeType": "S"}])
    client.create_table(TableName=t.plain, BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}])
    for i in range(5):
        client.put_item(TableName=t.ranged, Item={"h": S("a"), "r": S(f"{i}"), "v": N(i)})
        client.put_item(TableName=t.plain, Item={"k": S(f"p{i}"), "v": N(i)})
    return t


def everything(t: Tables) -> dict:
    return {table: sorted((str(sorted(item.items())) for item in t.client.scan(TableName=table)["Items"]))
            for table in (t.ranged, t.plain)}


def test_a_cancelled_transaction_puts_back_every_item_it_named_and_nothing_else_moves(ddb):
    before = everything(ddb)
    with pytest.raises(ClientError) as refused:
        ddb.client.transact_write_items(TransactItems=[
            {"Put": {"TableName": ddb.ranged, "Item": {"h": S("a"), "r": S("new"), "v": N(9)}}},
            {"Update": {"TableName": ddb.ranged, "Key": {"h": S("a"), "r": S("1")},
                        "UpdateExpression": "SET v = :x ADD tags :t",
                        "ExpressionAttributeValues": {":x": N(100), ":t": {"SS": ["y"]}}}},
            {"Delete": {"TableName": ddb.plain, "Key": {"k": S("p2")}}},
            {"Put": {"TableName": ddb.plain, "Item": {"k": S("p3"), "v": N(33)}}},
            {"Update": {"TableName": ddb.plain, "Key": {"k": S("fresh")}, "UpdateExpression": "SET v = :x",
                        "ExpressionAttributeValues": {":x": N(1)}}},
            # the last condition fails: nothing of the above may remain
            {"ConditionCheck": {"TableName": ddb.plain, "Key": {"k": S("p4")}, "ConditionExpression": "v = :no",
                                "ExpressionAttributeValues": {":no": N(-1)}}},
        ])
    assert refused.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert everything(ddb) == before


def test_naming_one_item_twice_is_refused_and_changes_nothing(ddb):
    before = everything(ddb)
    with pytest.raises(ClientError):
        ddb.client.transact_write_items(TransactItems=[
            {"Update": {"TableName": ddb.plain, "Key": {"k": S("p1")}, "UpdateExpression": "SET v = :x",
                        "ExpressionAttributeValues": {":x": N(7)}}},
            {"Delete": {"TableName": ddb.plain, "Key": {"k": S("p1")}}},
        ])
    assert everything(ddb) == before


def test_a_transaction_that_passes_applies_whole(ddb):
    ddb.client.transact_write_items(TransactItems=[
        {"Put": {"TableName": ddb.ranged, "Item": {"h": S("b"), "r": S("0"), "v": N(1)}},
         },
        {"Update": {"TableName": ddb.plain, "Key": {"k": S("p0")}, "UpdateExpression": "SET v = v + :one",
                    "ConditionExpression": "v = :zero",
                    "ExpressionAttributeValues": {":one": N(1), ":zero": N(0)}}},
        {"Delete": {"TableName": ddb.ranged, "Key": {"h": S("a"), "r": S("4")}}},
    ])
    assert ddb.client.get_item(TableName=ddb.plain, Key={"k": S("p0")})["Item"]["v"] == N(1)
    assert "Item" in ddb.client.get_item(TableName=ddb.ranged, Key={"h": S("b"), "r": S("0")})
    assert "Item" not in ddb.client.get_item(TableName=ddb.ranged, Key={"h": S("a"), "r": S("4")})
    assert len(ddb.client.scan(TableName=ddb.ranged)["Items"]) == 5
