"""A cheaper rollback for moto's DynamoDB transactions, used by the local stack and the tests alike.

moto's TransactWriteItems takes a deep copy of every table a transaction names before applying it, so that a failed
condition can put the tables back. The cost grows with the tables, not with the transaction: on the local stack,
where the links and counters tables hold every unit's data, each mail recorded as sent (one transaction) copied
thousands of items, and the emulator's CPU became what paced local mail.

`install()` keeps moto's transaction code and its semantics (all-or-nothing, every condition checked) and replaces
only the backup: before the transaction runs, a copy of each item it names (or the fact that it is absent); when
it fails, those items and only those are put back. A transaction can only change the items it names, so the
tables end exactly as a whole-table restore would leave them, without copying the rest. Idempotent."""
from __future__ import annotations

import copy
from typing import Any

_INSTALLED = False


class _TablesNotCopied:
    """Stands in for the `copy` module inside moto's DynamoDB backend: a table is "copied" as itself (the item
    backup below does the restoring); everything else is copied as before."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: dict | None = None) -> Any:
        from moto.dynamodb.models.table import Table

        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def _item_keys(backend: Any, transact_items: list[dict]) -> list[tuple[Any, Any, Any]]:
    """(table, hash value, range value) of every item the transaction names, as moto stores them."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    keys = []
    for entry in transact_items:
        if len(entry) != 1:
            continue  # moto refuses it before changing anything
        (_, op), = entry.items()
        table = backend.tables.get(op.get("TableName") or "")
        key = op.get("Key") or op.get("Item")
        if table is None or not isinstance(key, dict) or table.hash_key_attr not in key:
            continue  # refused by moto before any write: nothing to restore
        range_value = None
        if table.range_key_attr is not None:
            if table.range_key_attr not in key:
                continue
            range_value = DynamoType(key[table.range_key_attr])
        keys.append((table, DynamoType(key[table.hash_key_attr]), range_value))
    return keys


def _restore(saved: list[tuple[Any, Any, Any, Any]]) -> None:
    for table, hash_value, range_value, item in reversed(saved):
        if range_value is None:
            if item is None:
                table.items.pop(hash_value, None)
            else:
                table.items[hash_value] = item
        elif item is None:
            table.items.get(hash_value, {}).pop(range_value, None)
        else:
            table.items[hash_value][range_value] = item


def install() -> None:
    global _INSTALLED
    if _INSTALLED:
        return
    from moto.dynamodb import models
    from moto.dynamodb.models import DynamoDBBackend

    original = DynamoDBBackend.transact_write_items
    models.copy = _TablesNotCopied()  # type: ignore[assignment]

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved = [(table, h, r, copy.deepcopy(table.get_item(h, r))) for table, h, r in _item_keys(self, transact_items)]
        try:
            original(self, transact_items)
        except BaseException:
            _restore(saved)
            raise

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    _INSTALLED = True
