"""Changes of a respondent's address after dispatch: direct corrections of failed deliveries and the requests the
ministry decides. Functions take and return the plain records below; the table's model never leaves this module.

`AddressChangesStore` is the contract services rely on; this module's functions are its DynamoDB implementation (the
module itself is the object: `chalicelib/store/stores.py` wires it), `chalicelib/store/memory.py` its in-memory one,
and `tests/unit/test_store_contract.py` runs the same cases against both."""
from __future__ import annotations

from msgspec import Struct
from msgspec.structs import fields
from datetime import datetime
from typing import Any, Protocol

from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.errors import ConflictError
from chalicelib.store.connection import transactions
from chalicelib.store.errors import condition_failed
from chalicelib.store.models import AddressChangeModel


class AddressChange(Struct, frozen=True):
    """One change of address (see AddressChangeModel for each field); `id` is "<UTC instant>-<random>", so a
    unit's changes sort in time order."""
    cid: str
    unit: str
    id: str
    kind: str
    state: str
    rid: str
    full_name: str
    old_email: str
    new_email: str
    requested_by: str
    requested_at: datetime
    reason: str | None = None
    links: list[dict] | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None
    reissued: list[str] | None = None
    reissued_at: datetime | None = None


class AddressChangesStore(Protocol):
    """A campaign's address changes, with what every implementation keeps:
    - an id names one change: `add_correction` never overwrites one (ConflictError), `add_request` neither;
    - a respondent has at most one pending request: `add_request` answers False (nothing written) while one is;
    - `decide` turns a pending request into "approved" or "refused" once (by whom, when, the note when given) and
      frees the respondent for a next request; a request decided already (or unknown) answers False, unchanged;
    - `set_reissued` records the links re-issued by an approved request only (anything else: nothing written);
    - `get` answers a change or None; `of_unit` a unit's changes in time order (by id); `of_campaign` every unit's,
      unit by unit, only those in `state` when given."""

    def add_correction(self, change: AddressChange) -> None: ...

    def add_request(self, change: AddressChange) -> bool: ...

    def decide(self, change: AddressChange, state: str, who: str, at: datetime, note: str | None) -> bool: ...

    def set_reissued(self, change: AddressChange, slots: list[str], at: datetime) -> None: ...

    def get(self, cid: str, unit: str, change_id: str) -> AddressChange | None: ...

    def of_unit(self, cid: str, unit: str) -> list[AddressChange]: ...

    def of_campaign(self, cid: str, state: str | None = None) -> list[AddressChange]: ...


TAKEN = "Mã thay đổi địa chỉ này đã được dùng."

_STORED = [f.name for f in fields(AddressChange) if f.name not in ("cid", "unit", "id")]


def _sk(unit: str, change_id: str) -> str:
    return f"{unit}#{change_id}"


def _guard_sk(unit: str, rid: str) -> str:
    return f"pending#{unit}#{rid}"


def _change(item: AddressChangeModel) -> AddressChange:
    unit, change_id = item.sk.split("#", 1)
    return AddressChange(cid=item.cid, unit=unit, id=change_id, **{name: getattr(item, name) for name in _STORED})


def _model(change: AddressChange) -> AddressChangeModel:
    return AddressChangeModel(cid=change.cid, sk=_sk(change.unit, change.id), unit=change.unit,
                              **{name: getattr(change, name) for name in _STORED})


def add_correction(change: AddressChange) -> None:
    """Record a direct correction (already carried out)."""
    try:
        # an id names one change: a record is never overwritten
        _model(change).save(condition=AddressChangeModel.sk.does_not_exist())
    except PutError as exc:
        if condition_failed(exc):
            raise ConflictError(TAKEN) from None
        raise


def add_request(change: AddressChange) -> bool:
    """Record a pending request, with the guard that holds it. False when the respondent already has one pending."""
    try:
        with TransactWrite(connection=transactions()) as tx:
            # at most one pending request per respondent: the guard exists exactly while one is pending
            tx.save(AddressChangeModel(cid=change.cid, sk=_guard_sk(change.unit, change.rid),
                                       requested_at=change.requested_at),
                    condition=AddressChangeModel.sk.does_not_exist())
            # an id names one change: a record is never overwritten
            tx.save(_model(change), condition=AddressChangeModel.sk.does_not_exist())
        return True
    except TransactWriteError as exc:
        if condition_failed(exc):
            return False
        raise


def decide(change: AddressChange, state: str, who: str, at: datetime, note: str | None) -> bool:
    """Approve or refuse a pending request and release its guard, in one transaction. False when it was decided
    meanwhile (by another click or another official)."""
    actions: list[Any] = [AddressChangeModel.state.set(state), AddressChangeModel.decided_by.set(who),
                          AddressChangeModel.decided_at.set(at)]
    if note:
        actions.append(AddressChangeModel.decision_note.set(note))
    try:
        with TransactWrite(connection=transactions()) as tx:
            # a request is decided once, from pending only: approve and refuse cannot both happen
            tx.update(AddressChangeModel(cid=change.cid, sk=_sk(change.unit, change.id)), actions=actions,
                      condition=AddressChangeModel.state == "pending")
            tx.delete(AddressChangeModel(cid=change.cid, sk=_guard_sk(change.unit, change.rid)))
        return True
    except TransactWriteError as exc:
        if condition_failed(exc):
            return False
        raise


def set_reissued(change: AddressChange, slots: list[str], at: datetime) -> None:
    """The links an approved request re-issued to the new address."""
    try:
        AddressChangeModel(cid=change.cid, sk=_sk(change.unit, change.id)).update(
            actions=[AddressChangeModel.reissued.set(slots), AddressChangeModel.reissued_at.set(at)],
            # only an approved request re-issues links
            condition=AddressChangeModel.state == "approved")
    except UpdateError as exc:
        if not condition_failed(exc):
            raise


def get(cid: str, unit: str, change_id: str) -> AddressChange | None:
    try:
        item = AddressChangeModel.get(cid, _sk(unit, change_id))
    except AddressChangeModel.DoesNotExist:
        return None
    return _change(item) if item.kind else None


def of_unit(cid: str, unit: str) -> list[AddressChange]:
    """A unit's changes in time order: one Query."""
    return [_change(i) for i in AddressChangeModel.query(cid, AddressChangeModel.sk.startswith(f"{unit}#"))
            if i.kind]


def of_campaign(cid: str, state: str | None = None) -> list[AddressChange]:
    """A campaign's changes (every unit), optionally in one state: one Query (changes are few)."""
    condition: Any = AddressChangeModel.kind.exists()
    if state:
        condition &= AddressChangeModel.state == state
    return [_change(i) for i in AddressChangeModel.query(cid, filter_condition=condition)]

