"""Frameworks and self-assessments in DynamoDB, handed out as plain, frozen records.

The invariants live in the writes' conditions: a self-score is written in one transaction with the unit's
assessment record, conditional on that record still being a draft, and bumps its revision; an approval is
conditional on the revision the service checked, so a score changed meanwhile makes the approval fail rather than
approve something unchecked; the deadline lock and the approval cannot both win; an appraisal of a self-scored line
is conditional on the assessment having been submitted (approved or locked).

`AssessmentStore` is the contract services rely on; this module's functions are its DynamoDB implementation (the
module itself is the object: `chalicelib/store/stores.py` wires it), `chalicelib/store/memory.py` its in-memory one,
and `tests/unit/test_store_contract.py` runs the same cases against both."""
from __future__ import annotations

from msgspec import Struct
from datetime import datetime
from typing import Protocol

from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.domain.campaign import PROVINCE
from chalicelib.errors import ConflictError
from chalicelib.store.connection import transactions
from chalicelib.store.errors import condition_failed
from chalicelib.store.models import AssessmentItemModel, AssessmentModel, FrameworkModel

SUBMITTED = ("approved", "locked")


class Framework(Struct, frozen=True):
    cid: str
    definition: dict  # normalised by domain/framework.py
    version: int
    sample: bool
    updated_at: datetime
    updated_by: str
    kind: str = PROVINCE  # the kind of unit it scores: "province" | "ministry"


class Assessment(Struct, frozen=True):
    """One unit's self-assessment as a whole (draft → approved, or locked at the deadline; reopened → draft)."""
    cid: str
    unit: str
    state: str  # draft | approved | locked
    revision: int  # goes up with every change, so an approval is of exactly what was checked
    approval: dict | None
    approved_at: datetime | None
    locked_at: datetime | None
    reopened: list[dict] | None  # [{"at", "by", "reason", "state", "approval"}]
    published_at: datetime | None
    published_by: str | None
    updated_at: datetime | None


class AssessmentItem(Struct, frozen=True):
    """One line: the province's score, note, evidence or explanation, and the ministry's appraisal beside it."""
    unit_key: str
    code: str
    score: float | int | None
    note: str | None
    explanation: str | None
    evidence: list[dict] | None  # [{"id", "key", "filename", "size", "content_type", "uploaded_at"}]
    updated_at: datetime | None
    updated_by: str | None
    appraisal_score: float | int | None
    appraisal_comment: str | None
    appraised_at: datetime | None
    appraised_by: str | None


class AssessmentStore(Protocol):
    """Frameworks, the units' self-assessments and their lines, with the conditions every implementation keeps:
    - `put_framework` puts a framework for its kind of unit only over `expected_version` (None: only where the
      campaign has none for that kind) and answers whether it did; frameworks of two kinds never meet;
    - an assessment never written reads as absent (`find_assessment` None) and is a draft at revision 0; every write
      of its record moves `revision` on by one and sets `updated_at` (`publish_appraisal` excepted);
    - `record_self_score` writes the line (score, note, explanation removed when None; evidence, by, at) and the
      record together, only while the record is a draft (or absent), else raises ConflictError coded
      "assessment_closed" and writes nothing;
    - `approve_assessment` approves a draft only at the revision read (0: never written) and `lock_assessment` locks
      a draft (or an absent one) at the deadline: of an approval and a lock, one wins and the other answers False;
    - `reopen_assessment` turns an approved or locked assessment into a draft, adding `entry` to `history` and
      clearing the approval, approved_at and locked_at; anything else answers False;
    - `record_appraisal` writes the ministry's score, comment (removed when None), by and at on a line; with
      `require_submitted`, only once the assessment is approved or locked, else ConflictError coded
      "assessment_not_submitted" and nothing written;
    - `list_assessments` answers a campaign's by unit, `list_items` a unit's lines by code."""

    def find_framework(self, cid: str, kind: str = PROVINCE) -> Framework | None: ...

    def put_framework(self, framework: Framework, expected_version: int | None) -> bool: ...

    def find_assessment(self, cid: str, unit: str) -> Assessment | None: ...

    def list_assessments(self, cid: str) -> list[Assessment]: ...

    def list_items(self, cid: str, unit: str) -> list[AssessmentItem]: ...

    def find_item(self, cid: str, unit: str, code: str) -> AssessmentItem | None: ...

    def record_self_score(self, cid: str, unit: str, code: str, *, score: float | None, note: str | None,
                          explanation: str | None, evidence: list[dict], by: str, now: datetime) -> None: ...

    def approve_assessment(self, cid: str, unit: str, revision: int, approval: dict, now: datetime) -> bool: ...

    def lock_assessment(self, cid: str, unit: str, now: datetime) -> bool: ...

    def reopen_assessment(self, cid: str, unit: str, entry: dict, history: list[dict], now: datetime) -> bool: ...

    def record_appraisal(self, cid: str, unit: str, code: str, *, score: float, comment: str | None, by: str,
                         now: datetime, require_submitted: bool) -> None: ...

    def publish_appraisal(self, cid: str, unit: str, by: str, now: datetime) -> None: ...


CLOSED = "Bản tự đánh giá đã được phê duyệt hoặc đã khóa; không thể sửa điểm."
NOT_SUBMITTED = ("Đơn vị chưa gửi bản tự đánh giá (chưa phê duyệt hoặc chưa khóa); chưa thể thẩm định điểm tự "
                 "chấm.")


def unit_key(cid: str, unit: str) -> str:
    return f"{cid}#{unit}"


# ------------------------------------------------------------------------------------------------ framework

def framework_key(cid: str, kind: str) -> str:
    """Where a campaign's framework for one kind of unit is kept. The table is keyed by a string alone (changing
    its key would replace the table), so the provinces' framework stays under the campaign's id, as it was before
    units had kinds, and another kind's lives under "<cid>#<kind>" ("2021#ministry"); a campaign id never holds a
    "#", so the two can never meet."""
    return cid if kind == PROVINCE else f"{cid}#{kind}"


def _framework(item: FrameworkModel, cid: str, kind: str) -> Framework:
    return Framework(cid=cid, definition=item.definition, version=int(item.version), sample=bool(item.sample),
                     updated_at=item.updated_at, updated_by=item.updated_by, kind=kind)


def find_framework(cid: str, kind: str = PROVINCE) -> Framework | None:
    try:
        return _framework(FrameworkModel.get(framework_key(cid, kind), consistent_read=True), cid, kind)
    except DoesNotExist:
        return None


def put_framework(framework: Framework, expected_version: int | None) -> bool:
    """Put a framework (for its kind of unit) over `expected_version` (None: only where there is none). False when
    the condition failed."""
    item = FrameworkModel(cid=framework_key(framework.cid, framework.kind), definition=framework.definition,
                          version=framework.version, sample=framework.sample, updated_at=framework.updated_at,
                          updated_by=framework.updated_by)
    # no lost update: a framework replaces exactly the version read, and a seed never overwrites one
    condition = (FrameworkModel.cid.does_not_exist() if expected_version is None
                 else FrameworkModel.version == expected_version)
    try:
        item.save(condition=condition)
    except PutError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


# ------------------------------------------------------------------------------------------------ assessments

def _assessment(item: AssessmentModel) -> Assessment:
    return Assessment(cid=item.cid, unit=item.unit, state=item.state or "draft", revision=int(item.revision or 0),
                      approval=item.approval, approved_at=item.approved_at, locked_at=item.locked_at,
                      reopened=item.reopened, published_at=item.published_at, published_by=item.published_by,
                      updated_at=item.updated_at)


def _item(item: AssessmentItemModel) -> AssessmentItem:
    return AssessmentItem(unit_key=item.unit_key, code=item.code, score=item.score, note=item.note,
                          explanation=item.explanation, evidence=item.evidence, updated_at=item.updated_at,
                          updated_by=item.updated_by, appraisal_score=item.appraisal_score,
                          appraisal_comment=item.appraisal_comment, appraised_at=item.appraised_at,
                          appraised_by=item.appraised_by)


def find_assessment(cid: str, unit: str) -> Assessment | None:
    try:
        return _assessment(AssessmentModel.get(cid, unit, consistent_read=True))
    except DoesNotExist:
        return None


def list_assessments(cid: str) -> list[Assessment]:
    return [_assessment(item) for item in AssessmentModel.query(cid)]


def list_items(cid: str, unit: str) -> list[AssessmentItem]:
    return [_item(item) for item in AssessmentItemModel.query(unit_key(cid, unit), consistent_read=True)]


def find_item(cid: str, unit: str, code: str) -> AssessmentItem | None:
    try:
        return _item(AssessmentItemModel.get(unit_key(cid, unit), code, consistent_read=True))
    except DoesNotExist:
        return None


def _draft():
    return AssessmentModel.state.does_not_exist() | (AssessmentModel.state == "draft")


def record_self_score(cid: str, unit: str, code: str, *, score: float | None, note: str | None,
                      explanation: str | None, evidence: list[dict], by: str, now: datetime) -> None:
    """Write the province's part of one line, in one transaction with the assessment record (still a draft)."""
    record = AssessmentModel(cid, unit)
    line = AssessmentItemModel(unit_key(cid, unit), code)
    actions: list[Action] = [
        AssessmentItemModel.updated_at.set(now), AssessmentItemModel.updated_by.set(by),
        AssessmentItemModel.evidence.set(evidence),
        AssessmentItemModel.score.set(score) if score is not None else AssessmentItemModel.score.remove(),
        AssessmentItemModel.note.set(note) if note is not None else AssessmentItemModel.note.remove(),
        AssessmentItemModel.explanation.set(explanation) if explanation is not None
        else AssessmentItemModel.explanation.remove()]
    try:
        with TransactWrite(connection=transactions()) as tx:
            tx.update(record, actions=[AssessmentModel.state.set(AssessmentModel.state | "draft"),
                                       AssessmentModel.revision.set((AssessmentModel.revision | 0) + 1),
                                       AssessmentModel.updated_at.set(now)],
                      condition=_draft())  # a score cannot change once the assessment is approved or locked
            tx.update(line, actions=actions)
    except TransactWriteError as exc:
        if condition_failed(exc):
            raise ConflictError(CLOSED, code="assessment_closed") from None
        raise


def approve_assessment(cid: str, unit: str, revision: int, approval: dict, now: datetime) -> bool:
    """draft → approved, only if nothing changed since the check (`revision`). False when the condition failed."""
    same = (AssessmentModel.revision.does_not_exist() if revision == 0 else AssessmentModel.revision == revision)
    try:
        AssessmentModel(cid, unit).update(
            actions=[AssessmentModel.state.set("approved"), AssessmentModel.approval.set(approval),
                     AssessmentModel.approved_at.set(now), AssessmentModel.updated_at.set(now),
                     AssessmentModel.revision.set((AssessmentModel.revision | 0) + 1)],
            # only a draft is approved, and only as checked: a score changed since makes the approval fail
            condition=_draft() & same)
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def lock_assessment(cid: str, unit: str, now: datetime) -> bool:
    """draft (or never started) → locked at the deadline. False when it was already approved or locked."""
    try:
        AssessmentModel(cid, unit).update(
            actions=[AssessmentModel.state.set("locked"), AssessmentModel.locked_at.set(now),
                     AssessmentModel.updated_at.set(now),
                     AssessmentModel.revision.set((AssessmentModel.revision | 0) + 1)],
            condition=_draft())  # the deadline lock and an approval cannot both win
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def reopen_assessment(cid: str, unit: str, entry: dict, history: list[dict], now: datetime) -> bool:
    """approved/locked → draft (the ministry sends it back). False when it was not submitted."""
    try:
        AssessmentModel(cid, unit).update(
            actions=[AssessmentModel.state.set("draft"), AssessmentModel.reopened.set([*history, entry]),
                     AssessmentModel.approval.remove(), AssessmentModel.approved_at.remove(),
                     AssessmentModel.locked_at.remove(), AssessmentModel.updated_at.set(now),
                     AssessmentModel.revision.set((AssessmentModel.revision | 0) + 1)],
            condition=AssessmentModel.state.is_in(*SUBMITTED))  # only a submitted assessment is reopened, once
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def record_appraisal(cid: str, unit: str, code: str, *, score: float, comment: str | None, by: str,
                     now: datetime, require_submitted: bool) -> None:
    """The ministry's appraisal of one line; for a self-scored line only once the unit has submitted."""
    line = AssessmentItemModel(unit_key(cid, unit), code)
    actions: list[Action] = [AssessmentItemModel.appraisal_score.set(score),
                             AssessmentItemModel.appraised_at.set(now), AssessmentItemModel.appraised_by.set(by),
                             AssessmentItemModel.appraisal_comment.set(comment) if comment
                             else AssessmentItemModel.appraisal_comment.remove()]
    try:
        with TransactWrite(connection=transactions()) as tx:
            if require_submitted:
                # a self-scored line is appraised only once the unit has submitted (approved or locked)
                tx.condition_check(AssessmentModel, cid, unit, condition=AssessmentModel.state.is_in(*SUBMITTED))
            tx.update(line, actions=actions)
    except TransactWriteError as exc:
        if condition_failed(exc):
            raise ConflictError(NOT_SUBMITTED, code="assessment_not_submitted") from None
        raise


def publish_appraisal(cid: str, unit: str, by: str, now: datetime) -> None:
    """Unconditional: the service checked the assessment was submitted; publishing again moves the instant."""
    AssessmentModel(cid, unit).update(actions=[AssessmentModel.published_at.set(now),
                                               AssessmentModel.published_by.set(by)])
