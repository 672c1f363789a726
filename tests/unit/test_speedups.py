"""The tests' moto (tests/speedups.py) keeps DynamoDB's rules with its cheaper copies: an item restored from the
seeded copy each test starts from still refuses to grow past DynamoDB's 400 KB; responses serialized with the
remembered keys, and with DynamoDB's attribute values written directly (every kind, nested), are those moto's own
serializer writes. (Its transactions' item-level rollback is the local stack's, dev/stack/moto_patches.py,
checked by tests/unit/test_moto_transactions.py.)"""
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
    monkeypatch.setattr(serialize.BaseJSONSerializer, "_serialize_type_structure",
                        serialize.BaseJSONSerializer._serialize_type_structure.original)
    assert answers() == remembered


def test_attribute_values_written_directly_are_what_motos_walk_writes(seeded, monkeypatch):
    """Every kind of DynamoDB attribute value, nested too, read back by each read and write that returns items."""
    from moto.core import serialize

    ddb = boto3.client("dynamodb")
    ddb.create_table(TableName="speedups-kinds", BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    every_kind = {"s": {"S": "Đánh giá"}, "empty": {"S": ""}, "n": {"N": "-12.50"}, "b": {"B": b"\x00\xffnh"},
                  "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2.5"]}, "bs": {"BS": [b"x", b"\x01"]},
                  "null": {"NULL": True}, "yes": {"BOOL": True}, "no": {"BOOL": False}, "none": {"M": {}},
                  "nothing": {"L": []},
                  "m": {"M": {"inner": {"L": [{"S": "x"}, {"N": "3"}, {"M": {"deep": {"BOOL": False}}},
                                              {"B": b"\x02"}, {"NULL": True}]}, "set": {"SS": ["z"]}}}}
    for n in range(3):
        ddb.put_item(TableName="speedups-kinds", Item={"pk": {"S": f"k{n}"}, **every_kind})

    def answers() -> list:
        key = {"pk": {"S": "k1"}}
        out = [ddb.get_item(TableName="speedups-kinds", Key=key), ddb.scan(TableName="speedups-kinds"),
               ddb.query(TableName="speedups-kinds", KeyConditionExpression="pk = :k",
                         ExpressionAttributeValues={":k": {"S": "k2"}}),
               ddb.batch_get_item(RequestItems={"speedups-kinds": {"Keys": [key, {"pk": {"S": "k0"}}]}}),
               ddb.update_item(TableName="speedups-kinds", Key=key, UpdateExpression="SET n = :n",
                               ExpressionAttributeValues={":n": {"N": "-12.50"}}, ReturnValues="ALL_NEW")]
        for answer in out:
            answer.pop("ResponseMetadata", None)
        return out

    direct = answers()
    assert direct[0]["Item"] == {"pk": {"S": "k1"}, **every_kind}
    monkeypatch.setattr(serialize.BaseJSONSerializer, "_serialize_type_structure",
                        serialize.BaseJSONSerializer._serialize_type_structure.original)
    assert answers() == direct
