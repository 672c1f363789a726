"""Frameworks and self-assessments in DynamoDB.

The invariants live in the writes' conditions: a self-score is written in one transaction with the unit's
assessment record, conditional on that record still being a draft, and bumps its revision; an approval is
conditional on the revision the service checked, so a score changed meanwhile makes the approval fail rather than
approve something unchecked; the deadline lock and the approval cannot both win; an appraisal of a self-scored line
is conditional on the assessment having been submitted (approved or locked)."""
from __future__ import annotations

from datetime import datetime

from pynamodb.connection import Connection
from pynamodb.expressions.update import Action
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.config import settings
from chalicelib.errors import ConflictError
from chalicelib.store.errors import condition_failed
from chalicelib.store.models import AssessmentItemModel, AssessmentModel, FrameworkModel

SUBMITTED = ("approved", "locked")


def unit_key(cid: str, unit: str) -> str:
    return f"{cid}#{unit}"


# ------------------------------------------------------------------------------------------------ framework

def find_framework(cid: str) -> FrameworkModel | None:
    try:
        return FrameworkModel.get(cid, consistent_read=True)
    except DoesNotExist:
        return None


def put_framework(item: FrameworkModel, expected_version: int | None) -> bool:
    """Put a framework over `expected_version` (None: only where there is none). False when the condition failed."""
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

def find(cid: str, unit: str) -> AssessmentModel | None:
    try:
        return AssessmentModel.get(cid, unit, consistent_read=True)
    except DoesNotExist:
        return None


def list_for(cid: str) -> list[AssessmentModel]:
    return list(AssessmentModel.query(cid))


def items(cid: str, unit: str) -> list[AssessmentItemModel]:
    return list(AssessmentItemModel.query(unit_key(cid, unit), consistent_read=True))


def find_item(cid: str, unit: str, code: str) -> AssessmentItemModel | None:
    try:
        return AssessmentItemModel.get(unit_key(cid, unit), code, consistent_read=True)
    except DoesNotExist:
        return None


def _draft():
    return AssessmentModel.state.does_not_exist() | (AssessmentModel.state == "draft")


def save_self_score(cid: str, unit: str, code: str, *, score: float | None, note: str | None,
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
        with TransactWrite(connection=Connection(region=settings().region)) as tx:
            tx.update(record, actions=[AssessmentModel.state.set(AssessmentModel.state | "draft"),
                                       AssessmentModel.revision.set((AssessmentModel.revision | 0) + 1),
                                       AssessmentModel.updated_at.set(now)],
                      condition=_draft())
            tx.update(line, actions=actions)
    except TransactWriteError as exc:
        if condition_failed(exc):
            raise ConflictError("Bản tự đánh giá đã được phê duyệt hoặc đã khóa; không thể sửa điểm.",
                                code="assessment_closed") from None
        raise


def approve(cid: str, unit: str, revision: int, approval: dict, now: datetime) -> bool:
    """draft → approved, only if nothing changed since the check (`revision`). False when the condition failed."""
    same = (AssessmentModel.revision.does_not_exist() if revision == 0 else AssessmentModel.revision == revision)
    try:
        AssessmentModel(cid, unit).update(
            actions=[AssessmentModel.state.set("approved"), AssessmentModel.approval.set(approval),
                     AssessmentModel.approved_at.set(now), AssessmentModel.updated_at.set(now),
                     AssessmentModel.revision.set((AssessmentModel.revision | 0) + 1)],
            condition=_draft() & same)
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def lock(cid: str, unit: str, now: datetime) -> bool:
    """draft (or never started) → locked at the deadline. False when it was already approved or locked."""
    try:
        AssessmentModel(cid, unit).update(
            actions=[AssessmentModel.state.set("locked"), AssessmentModel.locked_at.set(now),
                     AssessmentModel.updated_at.set(now),
                     AssessmentModel.revision.set((AssessmentModel.revision | 0) + 1)],
            condition=_draft())
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def reopen(cid: str, unit: str, entry: dict, history: list[dict], now: datetime) -> bool:
    """approved/locked → draft (the ministry sends it back). False when it was not submitted."""
    try:
        AssessmentModel(cid, unit).update(
            actions=[AssessmentModel.state.set("draft"), AssessmentModel.reopened.set([*history, entry]),
                     AssessmentModel.approval.remove(), AssessmentModel.approved_at.remove(),
                     AssessmentModel.locked_at.remove(), AssessmentModel.updated_at.set(now),
                     AssessmentModel.revision.set((AssessmentModel.revision | 0) + 1)],
            condition=AssessmentModel.state.is_in(*SUBMITTED))
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def save_appraisal(cid: str, unit: str, code: str, *, score: float, comment: str | None, by: str, now: datetime,
                   require_submitted: bool) -> None:
    """The ministry's appraisal of one line; for a self-scored line only once the unit has submitted."""
    line = AssessmentItemModel(unit_key(cid, unit), code)
    actions: list[Action] = [AssessmentItemModel.appraisal_score.set(score), AssessmentItemModel.appraised_at.set(now),
               AssessmentItemModel.appraised_by.set(by),
               AssessmentItemModel.appraisal_comment.set(comment) if comment
               else AssessmentItemModel.appraisal_comment.remove()]
    try:
        with TransactWrite(connection=Connection(region=settings().region)) as tx:
            if require_submitted:
                tx.condition_check(AssessmentModel, cid, unit, condition=AssessmentModel.state.is_in(*SUBMITTED))
            tx.update(line, actions=actions)
    except TransactWriteError as exc:
        if condition_failed(exc):
            raise ConflictError("Đơn vị chưa gửi bản tự đánh giá (chưa phê duyệt hoặc chưa khóa); chưa thể thẩm "
                                "định điểm tự chấm.", code="assessment_not_submitted") from None
        raise


def publish(cid: str, unit: str, by: str, now: datetime) -> None:
    AssessmentModel(cid, unit).update(actions=[AssessmentModel.published_at.set(now),
                                               AssessmentModel.published_by.set(by)])
