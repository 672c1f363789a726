"""The emulator's cheaper transaction rollback (dev/stack/moto_patches.py), which the tests and the local stack run
on: a cancelled transaction leaves every item it named as it was (created ones gone, updated and deleted ones back),
touches no other item, and a transaction that passes applies whole, as DynamoDB does."""
import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from dev.stack import moto_patches

S, N = (lambda v: {"S": v}), (lambda v: {"N": str(v)})


@pytest.fixture
def ddb():
    with mock_aws():
        moto_patches.install()
        client = boto3.client("dynamodb", region_name="ap-southeast-1")
        client.create_table(TableName="ranged", BillingMode="PAY_PER_REQUEST",
                            KeySchema=[{"AttributeName": "h", "KeyType": "HASH"},
                                       {"AttributeName": "r", "KeyType": "RANGE"}],
                            AttributeDefinitions=[{"AttributeName": "h", "AttributeType": "S"},
                                                  {"AttributeName": "r", "AttributeType": "S"}])
        client.create_table(TableName="plain", BillingMode="PAY_PER_REQUEST",
                            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}])
        for i in range(5):
            client.put_item(TableName="ranged", Item={"h": S("a"), "r": S(f"{i}"), "v": N(i)})
            client.put_item(TableName="plain", Item={"k": S(f"p{i}"), "v": N(i)})
        yield client


def everything(client) -> dict:
    return {table: sorted((str(sorted(item.items())) for item in client.scan(TableName=table)["Items"]))
            for table in ("ranged", "plain")}


def test_a_cancelled_transaction_puts_back_every_item_it_named_and_nothing_else_moves(ddb):
    before = everything(ddb)
    with pytest.raises(ClientError) as refused:
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": "ranged", "Item": {"h": S("a"), "r": S("new"), "v": N(9)}}},
            {"Update": {"TableName": "ranged", "Key": {"h": S("a"), "r": S("1")}, "UpdateExpression": "SET v = :x",
                        "ExpressionAttributeValues": {":x": N(100)}}},
            {"Delete": {"TableName": "plain", "Key": {"k": S("p2")}}},
            {"Put": {"TableName": "plain", "Item": {"k": S("p3"), "v": N(33)}}},
            {"Update": {"TableName": "plain", "Key": {"k": S("fresh")}, "UpdateExpression": "SET v = :x",
                        "ExpressionAttributeValues": {":x": N(1)}}},
            # the last condition fails: nothing of the above may remain
            {"ConditionCheck": {"TableName": "plain", "Key": {"k": S("p4")}, "ConditionExpression": "v = :no",
                                "ExpressionAttributeValues": {":no": N(-1)}}},
        ])
    assert refused.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert everything(ddb) == before


def test_naming_one_item_twice_is_refused_and_changes_nothing(ddb):
    before = everything(ddb)
    with pytest.raises(ClientError):
        ddb.transact_write_items(TransactItems=[
            {"Update": {"TableName": "plain", "Key": {"k": S("p1")}, "UpdateExpression": "SET v = :x",
                        "ExpressionAttributeValues": {":x": N(7)}}},
            {"Delete": {"TableName": "plain", "Key": {"k": S("p1")}}},
        ])
    assert everything(ddb) == before


def test_a_transaction_that_passes_applies_whole(ddb):
    ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": "ranged", "Item": {"h": S("b"), "r": S("0"), "v": N(1)}},
         },
        {"Update": {"TableName": "plain", "Key": {"k": S("p0")}, "UpdateExpression": "SET v = v + :one",
                    "ConditionExpression": "v = :zero",
                    "ExpressionAttributeValues": {":one": N(1), ":zero": N(0)}}},
        {"Delete": {"TableName": "ranged", "Key": {"h": S("a"), "r": S("4")}}},
    ])
    assert ddb.get_item(TableName="plain", Key={"k": S("p0")})["Item"]["v"] == N(1)
    assert "Item" in ddb.get_item(TableName="ranged", Key={"h": S("b"), "r": S("0")})
    assert "Item" not in ddb.get_item(TableName="ranged", Key={"h": S("a"), "r": S("4")})
    assert len(ddb.scan(TableName="ranged")["Items"]) == 5
