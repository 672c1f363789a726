import boto3

from chalicelib.store.bootstrap import ensure_resources
from chalicelib.store.models import AuditModel


def test_bootstrap_is_idempotent_and_adds_an_index_a_restored_table_lacks(aws):
    ddb = boto3.client("dynamodb")
    ddb.delete_table(TableName=AuditModel.Meta.table_name)
    ddb.create_table(TableName=AuditModel.Meta.table_name, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "month", "AttributeType": "S"},
                                           {"AttributeName": "sk", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "month", "KeyType": "HASH"},
                                {"AttributeName": "sk", "KeyType": "RANGE"}])
    added = ensure_resources()
    assert sorted(added) == [f"{AuditModel.Meta.table_name}.by_actor", f"{AuditModel.Meta.table_name}.by_unit"]
    assert ensure_resources() == []


def test_a_province_account_is_named_for_its_department_with_the_unit_kind_in_lower_case():
    from chalicelib.services.accounts import department_name
    assert department_name({"name": "Hà Giang", "full_name": "Tỉnh Hà Giang"}) == "Sở Nội vụ tỉnh Hà Giang"
    assert department_name({"name": "Hà Nội", "full_name": "Thành phố Hà Nội"}) == "Sở Nội vụ thành phố Hà Nội"
    assert department_name({"name": "Huế"}) == "Sở Nội vụ Huế"
