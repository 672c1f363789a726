"""Questionnaires of a campaign: one item per (campaign, qid), the current version.

The invariants live in the writes' conditions, not in a read before them: a new version is put only over the
version the caller read (no lost update) and only while the questionnaire is not locked; locking is one
conditional update, so a change racing with the dispatch either lands before the lock or is refused."""
from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import PutError, UpdateError

from chalicelib.errors import ConflictError, NotFoundError
from chalicelib.store.errors import condition_failed
from chalicelib.store.models import QuestionnaireModel

LOCKED = ("Phiếu khảo sát đã được khóa vì đường dẫn khảo sát theo phiếu này đã được gửi cho người trả lời; "
          "không thể thay đổi nội dung phiếu nữa.")


def get(cid: str, qid: str) -> QuestionnaireModel:
    try:
        return QuestionnaireModel.get(cid, qid)
    except QuestionnaireModel.DoesNotExist:
        raise NotFoundError(f"Không tìm thấy phiếu khảo sát “{qid}” trong đợt đánh giá “{cid}”.") from None


def find(cid: str, qid: str) -> QuestionnaireModel | None:
    try:
        return QuestionnaireModel.get(cid, qid)
    except QuestionnaireModel.DoesNotExist:
        return None


def list_for(cid: str) -> list[QuestionnaireModel]:
    """Every questionnaire of a campaign (one Query)."""
    return list(QuestionnaireModel.query(cid))


def put_version(item: QuestionnaireModel, expected_version: int) -> None:
    """Store `item` (whose `version` is expected_version + 1) as the new current version.

    Refused with 409 when the questionnaire is locked, or when another change landed since `expected_version`
    was read (0: the questionnaire must not exist yet)."""
    if expected_version == 0:
        condition = QuestionnaireModel.qid.does_not_exist()
    else:
        unlocked = QuestionnaireModel.locked.does_not_exist() | (QuestionnaireModel.locked == False)  # noqa: E712
        condition = (QuestionnaireModel.version == expected_version) & unlocked
    try:
        item.save(condition=condition)
    except PutError as exc:
        if not condition_failed(exc):
            raise
        current = find(item.cid, item.qid)
        if current is not None and current.locked:
            raise ConflictError(LOCKED, code="questionnaire_locked",
                                details=[{"qid": item.qid, "version": int(current.version)}]) from None
        raise ConflictError("Phiếu khảo sát vừa được người khác cập nhật (phiên bản "
                            f"{int(current.version) if current else 0}). Vui lòng tải lại phiếu rồi thử lại.",
                            code="questionnaire_changed",
                            details=[{"qid": item.qid, "version": int(current.version) if current else 0}]) from None


def put_if_absent(item: QuestionnaireModel) -> bool:
    """Seed a questionnaire; False (and nothing written) when the campaign already has one with this qid."""
    try:
        item.save(condition=QuestionnaireModel.qid.does_not_exist())
        return True
    except PutError as exc:
        if condition_failed(exc):
            return False
        raise


def lock(cid: str, qid: str, now: datetime) -> tuple[int, bool]:
    """Lock a questionnaire against change (links for it are about to be sent). Idempotent: locking a locked
    questionnaire keeps its first `locked_at`. Returns (the version locked, whether this call locked it)."""
    try:
        item = QuestionnaireModel(cid=cid, qid=qid)
        item.update(actions=[QuestionnaireModel.locked.set(True), QuestionnaireModel.locked_at.set(now)],
                    condition=QuestionnaireModel.qid.exists()
                    & (QuestionnaireModel.locked.does_not_exist() | (QuestionnaireModel.locked == False)))  # noqa: E712
        return int(item.version), True
    except UpdateError as exc:
        if not condition_failed(exc):
            raise
    current = get(cid, qid)  # absent: 404; present: it was locked already
    return int(current.version), False
