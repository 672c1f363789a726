"""A unit's roster: generations of rows swapped in by one conditional write, and single-row changes in
transactions guarded by the unit's roster version (no lost updates, no half-written import).

`RosterStore` is the contract services rely on; this module's functions are its DynamoDB implementation (the module
itself is the object: `chalicelib/store/stores.py` wires it), `chalicelib/store/memory.py` its in-memory one, and
`tests/unit/test_store_contract.py` runs the same cases against both. The roster's state on the unit (generation,
version, counts, status) is read through `CampaignsStore`'s units."""
from __future__ import annotations

from msgspec import Struct
from msgspec.structs import fields
from datetime import datetime
from typing import Any, Protocol

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.domain.text import fold
from chalicelib.errors import ConflictError, NotFoundError
from chalicelib.store.connection import transactions
from chalicelib.store.errors import condition_failed
from chalicelib.store.models import RespondentModel, UnitModel

CHANGED = "Danh sách vừa được thay đổi bởi một thao tác khác (hoặc đã được gửi). Vui lòng tải lại trang và thử lại."
NO_ROW = "Không tìm thấy người này trong danh sách (có thể đã bị xóa)."
NO_UNIT = "Không tìm thấy đơn vị “{unit}”."


class Respondent(Struct, frozen=True):
    """One person on a unit's roster, in generation `sk` = "<generation>#<rid>" (see RespondentModel)."""
    unit_key: str
    sk: str
    rid: str
    full_name: str
    position: str
    agency: str
    group: str
    email: str
    questionnaires: list[str]
    phone: str | None = None
    note: str | None = None
    ministry: str | None = None
    ministry_source: str | None = None
    ministry_unit: str | None = None  # the code of the assessed ministry they evaluate; None: they evaluate none
    search: str = ""  # folded name and e-mail, for search
    updated_at: datetime | None = None


class RosterStore(Protocol):
    """A unit's roster rows, by generation, and the roster's state on the unit, with what every implementation keeps:
    - `rows` answers a generation's rows in roster order (none without a generation), `get_row` one or None;
      `page` a page of them in order, matching `group` and a `search` contained in the row's folded name and e-mail,
      at most `limit`, with the last rid as the cursor of the next page when there is more (`start`: that cursor);
    - a generation is written aside (`begin_generation` marks it pending on an existing unit, NotFoundError
      otherwise; `write_generation` puts its rows) and becomes the roster in one write: `swap_generation` only over
      the roster version read and only while the roster is a draft (ConflictError otherwise, nothing changed),
      setting its counts, last order and version + 1, and forgetting it as pending; `sweep` deletes the rows
      replaced and those of abandoned generations and forgets those as pending;
    - `change_row` puts and/or deletes one row with the unit's counters, all or nothing: only over the version read,
      only while a draft, and only if the row deleted is still there (ConflictError otherwise);
    - `set_status` sends a draft ("submitted": by whom, when, the snapshot's key) or reopens a sent roster ("draft":
      sender and instant cleared), only over the version read (ConflictError otherwise); the version moves on;
    - `set_email` corrects an existing row only (NotFoundError otherwise, no row created)."""

    def rows(self, cid: str, unit: str, gen: str | None) -> list[Respondent]: ...

    def get_row(self, cid: str, unit: str, gen: str | None, rid: str) -> Respondent | None: ...

    def set_email(self, cid: str, unit: str, gen: str | None, rid: str, email: str, now: datetime) -> None: ...

    def page(self, cid: str, unit: str, gen: str | None, *, group: str | None, search: str | None, limit: int,
             start: str | None) -> tuple[list[Respondent], str | None]: ...

    def begin_generation(self, cid: str, unit: str, gen: str) -> None: ...

    def write_generation(self, items: list[Respondent]) -> None: ...

    def swap_generation(self, cid: str, unit: str, new_gen: str, expected_version: int, counts: dict[str, int],
                        seq: int, now: datetime) -> None: ...

    def sweep(self, cid: str, unit: str, replaced: list[Respondent], abandoned: set[str]) -> int: ...

    def change_row(self, cid: str, unit: str, expected_version: int, *, put: Respondent | None = None,
                   delete: Respondent | None = None, count_delta: dict[str, int], seq: int | None,
                   now: datetime) -> None: ...

    def set_status(self, cid: str, unit: str, expected_version: int, status: str, who: str | None, now: datetime,
                   snapshot: str | None = None) -> None: ...


def key(cid: str, unit: str) -> str:
    return f"{cid}#{unit}"


def respondent(cid: str, unit: str, gen: str, rid: str, record: dict, now: datetime | None) -> Respondent:
    """A row of generation `gen` from a validated record (the fields of the roster's columns)."""
    return Respondent(unit_key=key(cid, unit), sk=f"{gen}#{rid}", rid=rid, full_name=record["full_name"],
                      position=record["position"], agency=record["agency"], group=record["group"],
                      email=record["email"], questionnaires=record["questionnaires"], phone=record.get("phone"),
                      note=record.get("note"), ministry=record.get("ministry"),
                      ministry_source=record.get("ministry_source"), ministry_unit=record.get("ministry_unit"),
                      search=fold(f"{record['full_name']} {record['email']}"), updated_at=now)


def from_snapshot(cid: str, unit: str, gen: str | None, row: dict) -> Respondent:
    """A row of a roster's frozen copy (as sent to the ministry: "rid" and the record's fields)."""
    return respondent(cid, unit, gen or "", row["rid"], row, None)


def _respondent(item: RespondentModel) -> Respondent:
    return Respondent(**{f.name: getattr(item, f.name) for f in fields(Respondent)})


def _model(row: Respondent) -> RespondentModel:
    return RespondentModel(**{f.name: getattr(row, f.name) for f in fields(Respondent)})


def rows(cid: str, unit: str, gen: str | None) -> list[Respondent]:
    """The current roster in its order."""
    if not gen:
        return []
    return [_respondent(i) for i in RespondentModel.query(key(cid, unit), RespondentModel.sk.startswith(f"{gen}#"))]


def get_row(cid: str, unit: str, gen: str | None, rid: str) -> Respondent | None:
    if not gen:
        return None
    try:
        return _respondent(RespondentModel.get(key(cid, unit), f"{gen}#{rid}"))
    except RespondentModel.DoesNotExist:
        return None


def set_email(cid: str, unit: str, gen: str | None, rid: str, email: str, now: datetime) -> None:
    """Correct one person's address in the current roster."""
    try:
        RespondentModel(unit_key=key(cid, unit), sk=f"{gen}#{rid}").update(
            actions=[RespondentModel.email.set(email), RespondentModel.updated_at.set(now)],
            # an existing row is corrected, never a row created
            condition=RespondentModel.sk.exists())
    except UpdateError as exc:
        if condition_failed(exc):
            raise NotFoundError(NO_ROW) from None
        raise


def page(cid: str, unit: str, gen: str | None, *, group: str | None, search: str | None, limit: int,
         start: str | None) -> tuple[list[Respondent], str | None]:
    """One page in roster order, filtered on the server side; `start` is the last rid of the previous page."""
    if not gen:
        return [], None
    cond: Any = None
    if group:
        cond = RespondentModel.group == group
    if search:
        match = RespondentModel.search.contains(search)
        cond = match if cond is None else cond & match
    range_cond: Any = RespondentModel.sk.startswith(f"{gen}#")
    if start:
        range_cond = RespondentModel.sk.between(f"{gen}#{start}\x00", f"{gen}#\uffff")
    items: list[Respondent] = []
    results = RespondentModel.query(key(cid, unit), range_cond, filter_condition=cond, page_size=max(limit, 100))
    for item in results:
        items.append(_respondent(item))
        if len(items) > limit:
            break
    more = len(items) > limit
    items = items[:limit]
    return items, (items[-1].rid if more and items else None)


def begin_generation(cid: str, unit: str, gen: str) -> None:
    """Record that `gen` is being written, so rows left by a crash before the swap can be found and swept."""
    try:
        UnitModel(cid=cid, unit=unit).update(actions=[UnitModel.roster_pending.add({gen})],
                                             # only a unit of the campaign gets a roster
                                             condition=UnitModel.unit.exists())
    except UpdateError as exc:
        if condition_failed(exc):
            raise NotFoundError(NO_UNIT.format(unit=unit)) from None
        raise


def write_generation(items: list[Respondent]) -> None:
    with RespondentModel.batch_write() as batch:
        for item in items:
            batch.save(_model(item))


def swap_generation(cid: str, unit: str, new_gen: str, expected_version: int, counts: dict[str, int], seq: int,
                    now: datetime) -> None:
    """Make `new_gen` the roster, only if nobody changed the roster since it was read and it is still a draft."""
    try:
        UnitModel(cid=cid, unit=unit).update(
            actions=[UnitModel.roster_gen.set(new_gen), UnitModel.roster_pending.delete({new_gen}),
                     UnitModel.roster_version.set(expected_version + 1),
                     UnitModel.roster_counts.set(counts), UnitModel.roster_seq.set(seq),
                     UnitModel.roster_updated_at.set(now)],
            # the roster is swapped only over the version that was read, and only while it is a draft
            condition=_unchanged(expected_version))
    except UpdateError as exc:
        if condition_failed(exc):
            raise ConflictError(CHANGED) from None
        raise


def _unchanged(expected_version: int) -> Any:
    """No lost update: the roster is still the version that was read, and still a draft (not sent)."""
    version_ok = (UnitModel.roster_version == expected_version) if expected_version else (
        UnitModel.roster_version.does_not_exist() | (UnitModel.roster_version == 0))
    return UnitModel.unit.exists() & version_ok & (
        UnitModel.roster_status.does_not_exist() | (UnitModel.roster_status == "draft"))


def sweep(cid: str, unit: str, replaced: list[Respondent], abandoned: set[str]) -> int:
    """Delete the rows of the replaced generation (already known) and of generations whose writing was
    abandoned (a crash or a lost race), then forget those generations."""
    stale = [RespondentModel(unit_key=row.unit_key, sk=row.sk) for row in replaced]
    for gen in abandoned:
        stale += list(RespondentModel.query(key(cid, unit), RespondentModel.sk.startswith(f"{gen}#"),
                                            attributes_to_get=["unit_key", "sk"]))
    with RespondentModel.batch_write() as batch:
        for item in stale:
            batch.delete(item)
    if abandoned:
        UnitModel(cid=cid, unit=unit).update(actions=[UnitModel.roster_pending.delete(abandoned)])
    return len(stale)


def change_row(cid: str, unit: str, expected_version: int, *, put: Respondent | None = None,
               delete: Respondent | None = None, count_delta: dict[str, int], seq: int | None,
               now: datetime) -> None:
    """Add, replace or delete one row together with the unit's counters, in one transaction."""
    actions: list[Action] = [UnitModel.roster_version.set(expected_version + 1),
                             UnitModel.roster_updated_at.set(now)]
    for group, delta in count_delta.items():
        if delta:
            counter = UnitModel.roster_counts[group]
            actions.append(counter.set((counter | 0) + delta))  # "|" is if_not_exists
    if seq is not None:
        actions.append(UnitModel.roster_seq.set(seq))
    try:
        with TransactWrite(connection=transactions()) as tx:
            # one change per roster version, and only to a draft
            tx.update(UnitModel(cid=cid, unit=unit), actions=actions, condition=_unchanged(expected_version))
            if delete is not None and (put is None or put.sk != delete.sk):
                # the row deleted is still there (a concurrent delete would count twice)
                tx.delete(RespondentModel(unit_key=delete.unit_key, sk=delete.sk),
                          condition=RespondentModel.sk.exists())
            if put is not None:
                tx.save(_model(put))
    except TransactWriteError as exc:
        if condition_failed(exc):
            raise ConflictError(CHANGED) from None
        raise


def set_status(cid: str, unit: str, expected_version: int, status: str, who: str | None, now: datetime,
               snapshot: str | None = None) -> None:
    """Send a draft roster ("submitted") or reopen a sent one ("draft"), over the version read."""
    expected_status = "draft" if status == "submitted" else "submitted"
    actions: list[Action] = [UnitModel.roster_status.set(status), UnitModel.roster_version.set(expected_version + 1)]
    if status == "submitted":
        if who is None:
            raise ValueError("a roster is submitted by someone")
        actions += [UnitModel.roster_submitted_at.set(now), UnitModel.roster_submitted_by.set(who)]
        if snapshot:
            actions.append(UnitModel.roster_snapshot.set(snapshot))
    else:
        actions += [UnitModel.roster_submitted_at.remove(), UnitModel.roster_submitted_by.remove()]
    try:
        UnitModel(cid=cid, unit=unit).update(
            actions=actions,
            # no lost update, and only a draft is sent / only a sent roster is reopened
            condition=UnitModel.unit.exists() & (UnitModel.roster_version == expected_version) & (
                UnitModel.roster_status == expected_status if status == "draft" else
                UnitModel.roster_status.does_not_exist() | (UnitModel.roster_status == "draft")))
    except UpdateError as exc:
        if condition_failed(exc):
            raise ConflictError(CHANGED) from None
        raise
