"""Integrity scans, the data they read (a unit's responses, its account's login addresses), and the annulment mark
on a unit. Functions take and return plain records; the tables' models never leave this module.

`IntegrityStore` is the contract services rely on; this module's functions are its DynamoDB implementation (the
module itself is the object: `chalicelib/store/stores.py` wires it), `chalicelib/store/memory.py` its in-memory one,
and `tests/unit/test_store_contract.py` runs the same cases against both. The links' counters the results read are
the links store's (`LinksStore.counters`)."""
from __future__ import annotations

import base64
import json
import zlib
from msgspec import Struct, field
from msgspec.structs import fields
from datetime import datetime
from typing import Protocol

from pynamodb.exceptions import UpdateError

from chalicelib.store.audit import sort_key
from chalicelib.store.errors import condition_failed
from chalicelib.store.models import AuditModel, IntegrityModel, ResponseModel, UnitModel
from chalicelib.store.survey import Response, response_of


class IntegrityScan(Struct, frozen=True):
    """The last integrity scan of a unit: flags, risk score and evidence."""
    cid: str
    unit: str
    score: int
    flags: list[dict]
    submitted: int
    responses: int
    activity: str  # the unit's counters when scanned: unchanged means nothing new to scan
    scanned_at: datetime
    answer_counts: dict = field(default_factory=dict)  # the unit's answers by view class (the national reference)
    score_counts: dict = field(default_factory=dict)  # the unit's responses tallied for the results (par_index)


class IntegrityStore(Protocol):
    """The units' last scans, what a scan reads, and the annulment mark, with what every implementation keeps:
    - a unit has one scan record per campaign: `save` and `save_many` replace the unit's last scan whole, and
      `by_campaign` answers the campaign's last scans in unit order, each as saved (its flags, answer counts and
      score counts as JSON carries them: keys are strings, tuples lists);
    - `responses` answers every stored response of a unit in response-id order, as the submit wrote it and without
      identity; `response_scores` the same responses without their answers (group, questionnaire, purpose, the
      ministry evaluated, points per criterion);
    - `login_addresses` answers the distinct source addresses of the unit's "login" audit entries whose instant lies
      in [start, end];
    - a unit's results are annulled once: `set_annulled` marks an existing unit not annulled yet (its
      `annulled_at`, `annulled_by`, `annul_reason`, as the campaigns store reads the unit) and answers True;
      annulling again, or a unit that does not exist, answers False and the first mark stays; `clear_annulled`
      removes the mark of an annulled unit only (True), False for any other unit."""

    def save(self, item: IntegrityScan) -> None: ...

    def save_many(self, items: list[IntegrityScan]) -> None: ...

    def by_campaign(self, cid: str) -> list[IntegrityScan]: ...

    def responses(self, unit_key: str) -> list[Response]: ...

    def response_scores(self, unit_key: str) -> list[dict]: ...

    def login_addresses(self, unit: str, start: datetime, end: datetime) -> set[str]: ...

    def set_annulled(self, cid: str, unit: str, now: datetime, who: str, reason: str) -> bool: ...

    def clear_annulled(self, cid: str, unit: str) -> bool: ...


def _pack(counts: dict) -> str | None:
    if not counts:
        return None
    return base64.b64encode(zlib.compress(json.dumps(counts, separators=(",", ":")).encode(), 9)).decode()


def _unpack(text: str | None) -> dict:
    return json.loads(zlib.decompress(base64.b64decode(text))) if text else {}


def _scan(item: IntegrityModel) -> IntegrityScan:
    return IntegrityScan(cid=item.cid, unit=item.unit, score=int(item.score), flags=item.flags,
                         submitted=int(item.submitted), responses=int(item.responses), activity=item.activity,
                         scanned_at=item.scanned_at, answer_counts=_unpack(item.answer_counts),
                         score_counts=_unpack(item.score_counts))


def _model(item: IntegrityScan) -> IntegrityModel:
    values = {f.name: getattr(item, f.name) for f in fields(IntegrityScan)}
    values["answer_counts"] = _pack(item.answer_counts)
    values["score_counts"] = _pack(item.score_counts)
    return IntegrityModel(**values)


def save(item: IntegrityScan) -> None:
    # unconditional: a unit's scan replaces its last one whole (the key is the campaign and the unit)
    _model(item).save()


def save_many(items: list[IntegrityScan]) -> None:
    """Several units' scans in batches of 25 writes."""
    with IntegrityModel.batch_write() as batch:
        for item in items:
            batch.save(_model(item))


def by_campaign(cid: str) -> list[IntegrityScan]:
    return [_scan(i) for i in IntegrityModel.query(cid)]


def responses(unit_key: str) -> list[Response]:
    """Every stored response of a unit (answers only, no identity)."""
    return [response_of(i) for i in ResponseModel.query(unit_key)]


def response_scores(unit_key: str) -> list[dict]:
    """Every stored response of a unit without its answers: group, questionnaire, purpose, the ministry it
    evaluates and its points per criterion (one Query, projected to those)."""
    return [{"group": i.group, "qid": i.qid, "purpose": i.purpose, "ministry": i.ministry, "scores": i.scores or {}}
            for i in ResponseModel.query(unit_key, attributes_to_get=["group", "qid", "purpose", "ministry",
                                                                      "scores"])]


def login_addresses(unit: str, start: datetime, end: datetime) -> set[str]:
    """Addresses the province account logged in from (audit log, by unit)."""
    return {e.source_ip for e in AuditModel.by_unit.query(unit, AuditModel.sk.between(sort_key(start, ""),
                                                                                         sort_key(end, "~")),
                                                           filter_condition=AuditModel.action == "login")
            if e.source_ip}


def set_annulled(cid: str, unit: str, now: datetime, who: str, reason: str) -> bool:
    try:
        UnitModel(cid=cid, unit=unit).update(
            actions=[UnitModel.annulled_at.set(now), UnitModel.annulled_by.set(who), UnitModel.annul_reason.set(reason)],
            # a unit's results are annulled once (annulling again is refused, not repeated)
            condition=UnitModel.unit.exists() & UnitModel.annulled_at.does_not_exist())
        return True
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise


def clear_annulled(cid: str, unit: str) -> bool:
    try:
        UnitModel(cid=cid, unit=unit).update(
            actions=[UnitModel.annulled_at.remove(), UnitModel.annulled_by.remove(), UnitModel.annul_reason.remove()],
            # only annulled results are reinstated (and a unit that does not exist is never created by the removal)
            condition=UnitModel.annulled_at.exists())
        return True
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise
