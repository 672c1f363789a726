"""Questionnaires of a campaign: one item per (campaign, qid), the current version.

The invariants live in the writes' conditions, not in a read before them: a new version is put only over the
version the caller read (no lost update) and only while the questionnaire is not locked; locking is one
conditional update, so a change racing with the dispatch either lands before the lock or is refused.

`QuestionnairesStore` is the contract services rely on; this module's functions are its DynamoDB implementation (the
module itself is the object: `chalicelib/store/stores.py` wires it), `chalicelib/store/memory.py` its in-memory one,
and `tests/unit/test_store_contract.py` runs the same cases against both."""
from __future__ import annotations

from msgspec import Struct
from datetime import datetime
from typing import Protocol

from pynamodb.exceptions import PutError, UpdateError

from chalicelib.errors import ConflictError, NotFoundError
from chalicelib.store.errors import condition_failed
from chalicelib.store.models import QuestionnaireModel


class Questionnaire(Struct, frozen=True):
    """One questionnaire of a campaign, its current version: qid = "<purpose>-<group>" ("locality-1")."""
    cid: str
    qid: str
    purpose: str  # "locality" | "ministry"
    group: str
    title: str
    description: str | None
    version: int
    sections: list[dict]
    sample: bool
    locked: bool  # links for it were sent: no change is accepted any more
    locked_at: datetime | None
    updated_at: datetime
    updated_by: str


class QuestionnairesStore(Protocol):
    """A campaign's questionnaires, the current version of each, with the conditions every implementation keeps:
    - `get` raises NotFoundError where `find` answers None; `list_for` answers a campaign's questionnaires by qid,
      `titles` their titles by qid;
    - `put_version` puts version n + 1 only over version n as read (0: only where there is none yet) and only while
      unlocked; refused, it raises ConflictError coded "questionnaire_locked" (locked) or "questionnaire_changed"
      (another version landed, its number in the details) and keeps what was stored;
    - `put_if_absent` never overwrites (False, nothing written, when the qid is taken);
    - `lock` locks an existing questionnaire once: the first call answers (its version, True) and sets
      `locked_at`, a later one (its version, False) keeping the first `locked_at`; an unknown qid raises
      NotFoundError and creates nothing. A change and a lock racing: the change lands before the lock or not at
      all."""

    def get(self, cid: str, qid: str) -> Questionnaire: ...

    def find(self, cid: str, qid: str) -> Questionnaire | None: ...

    def list_for(self, cid: str) -> list[Questionnaire]: ...

    def titles(self, cid: str) -> dict[str, str]: ...

    def put_version(self, item: Questionnaire, expected_version: int) -> None: ...

    def put_if_absent(self, item: Questionnaire) -> bool: ...

    def lock(self, cid: str, qid: str, now: datetime) -> tuple[int, bool]: ...


def _questionnaire(item: QuestionnaireModel) -> Questionnaire:
    return Questionnaire(cid=item.cid, qid=item.qid, purpose=item.purpose, group=item.group, title=item.title,
                         description=item.description, version=int(item.version), sections=item.sections,
                         sample=bool(item.sample), locked=bool(item.locked), locked_at=item.locked_at,
                         updated_at=item.updated_at, updated_by=item.updated_by)


def _model(item: Questionnaire) -> QuestionnaireModel:
    return QuestionnaireModel(cid=item.cid, qid=item.qid, purpose=item.purpose, group=item.group, title=item.title,
                              description=item.description, version=item.version, sections=item.sections,
                              sample=item.sample, locked=item.locked, locked_at=item.locked_at,
                              updated_at=item.updated_at, updated_by=item.updated_by)


LOCKED = ("Phiếu khảo sát đã được khóa vì đường dẫn khảo sát theo phiếu này đã được gửi cho người trả lời; "
          "không thể thay đổi nội dung phiếu nữa.")


def get(cid: str, qid: str) -> Questionnaire:
    found = find(cid, qid)
    if found is None:
        raise NotFoundError(f"Không tìm thấy phiếu khảo sát “{qid}” trong đợt đánh giá “{cid}”.")
    return found


def find(cid: str, qid: str) -> Questionnaire | None:
    try:
        return _questionnaire(QuestionnaireModel.get(cid, qid))
    except QuestionnaireModel.DoesNotExist:
        return None


def list_for(cid: str) -> list[Questionnaire]:
    """Every questionnaire of a campaign (one Query)."""
    return [_questionnaire(item) for item in QuestionnaireModel.query(cid)]


def put_version(item: Questionnaire, expected_version: int) -> None:
    """Store `item` (whose `version` is expected_version + 1) as the new current version.

    Refused with 409 when the questionnaire is locked, or when another change landed since `expected_version`
    was read (0: the questionnaire must not exist yet)."""
    if expected_version == 0:
        condition = QuestionnaireModel.qid.does_not_exist()  # a first version never overwrites one put meanwhile
    else:
        unlocked = QuestionnaireModel.locked.does_not_exist() | (QuestionnaireModel.locked == False)  # noqa: E712
        # no lost update, and no change once links for it were sent: still the version read, still unlocked
        condition = (QuestionnaireModel.version == expected_version) & unlocked
    try:
        _model(item).save(condition=condition)
    except PutError as exc:
        if not condition_failed(exc):
            raise
        raise refusal(item.qid, find(item.cid, item.qid)) from None


def refusal(qid: str, current: Questionnaire | None) -> ConflictError:
    """Why a new version was refused, given what is stored now: locked, or changed since it was read."""
    if current is not None and current.locked:
        return ConflictError(LOCKED, code="questionnaire_locked", details=[{"qid": qid, "version": current.version}])
    version = current.version if current else 0
    return ConflictError(f"Phiếu khảo sát vừa được người khác cập nhật (phiên bản {version}). Vui lòng tải lại "
                         "phiếu rồi thử lại.", code="questionnaire_changed", details=[{"qid": qid, "version": version}])


def put_if_absent(item: Questionnaire) -> bool:
    """Seed a questionnaire; False (and nothing written) when the campaign already has one with this qid."""
    try:
        # a seed never overwrites a questionnaire already there (the ministry's own import)
        _model(item).save(condition=QuestionnaireModel.qid.does_not_exist())
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
                    # locked once, keeping its first locked_at; never creates a questionnaire
                    condition=QuestionnaireModel.qid.exists()
                    & (QuestionnaireModel.locked.does_not_exist() | (QuestionnaireModel.locked == False)))  # noqa: E712
        return int(item.version), True
    except UpdateError as exc:
        if not condition_failed(exc):
            raise
    current = get(cid, qid)  # absent: 404; present: it was locked already
    return current.version, False


def titles(cid: str) -> dict[str, str]:
    """Every questionnaire's title by qid (one Query, projected to those two: no sections read)."""
    return {item.qid: item.title for item in QuestionnaireModel.query(cid, attributes_to_get=["qid", "title"])}
