"""In-memory implementations of the store contracts, for service tests and tools that need no AWS.

Each class keeps the conditions its Protocol states (`AccountsStore` in `store/accounts.py`, `AuditStore` in
`store/audit.py`, `CampaignsStore` in `store/campaigns.py`, `QuestionnairesStore` in `store/questionnaires.py`,
`AssessmentStore` in `store/assessment.py`, `RosterStore` in `store/roster.py`, `AddressChangesStore` in
`store/address_changes.py`, `ResponsesStore` in `store/responses.py`, `LinksStore` in `store/links.py`,
`DeliveryStore` in `store/delivery.py`, `IntegrityStore` in `store/integrity.py`, `SurveyStore` in
`store/survey.py`, `FilesStore` in `store/files.py`, `Mailer` in `store/mailer.py`, `Queues` in `store/queues.py`)
the way the DynamoDB (and S3) implementation's conditional writes do, and `tests/unit/test_store_contract.py` runs
the same cases against both, so a service tested on these is tested on the rules it will meet in production. Every method holds the store's lock for its whole run:
like one DynamoDB request, it is atomic, and nothing more (a read followed by a write is two requests, as there).

`MemoryFiles` answers links of its own (`memory://<bucket>/<key>`); `fetch` reads one and `post` plays the browser
sending a file with a grant of `presign_upload`, as a test of a service needs. `MemoryMailer` keeps every message it
was handed (`sent`), refuses the addresses in `refused` and `report` plays SES's statistics; `MemoryQueues` keeps every message per queue (`messages`,
and `mails` unpacks the mail queue's batches).

What is not modelled: TTL expiry (DynamoDB deletes expired counters some time after; the throttle forgets them by
their `last_at` anyway), a secondary index's lag, and time zones of stored instants (DynamoDB hands instants back in
UTC; these hand back what they were given, the same instants).

They live in the product package, not in `tests/`, because mypy (which checks `chalicelib/`) then proves they
satisfy the same Protocols as the DynamoDB implementation, the house rules apply to them, and development tools
can run services on them; nothing in the deployed code constructs them."""
from __future__ import annotations

import base64
import copy
import gzip
import hashlib
import json
import threading
from contextlib import contextmanager
from msgspec import Struct, field
from msgspec.structs import replace
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator, Mapping
from urllib.parse import quote, unquote, urlsplit

from chalicelib.config import settings
from chalicelib.domain import throttle
from chalicelib.domain.access import stored_role
from chalicelib.domain.campaign import PROVINCE
from chalicelib.domain.throttle import Admission, Counter, ThrottlePolicy
from chalicelib.errors import ConflictError, NotFoundError
from chalicelib import observability as obs
from chalicelib.store import address_changes as address_store
from chalicelib.store import assessment as assessment_store
from chalicelib.store import delivery as delivery_store
from chalicelib.store import links as link_store
from chalicelib.store import queues as queue_store
from chalicelib.store import roster as roster_store
from chalicelib.store import survey as survey_store
from chalicelib.store.accounts import Account, LoginCounters, Session
from chalicelib.store.address_changes import AddressChange
from chalicelib.store.assessment import Assessment, AssessmentItem, Framework
from chalicelib.store.audit import AuditEntry, Notification, month_of, sort_key
from chalicelib.store.campaigns import Campaign, Unit
from chalicelib.store.delivery import Counters, EventRecord, Preflight, PreflightResult, Retry, Stop
from chalicelib.store.integrity import IntegrityScan
from chalicelib.store.links import DispatchRun, Link, Mail, MinistryCount, Stats, Token
from chalicelib.store.mailer import RejectedError
from chalicelib.store.questionnaires import Questionnaire, refusal
from chalicelib.store.roster import Respondent
from chalicelib.store.stores import Stores
from chalicelib.store.survey import Draft, Gate, Response


class _CounterItem(Struct):
    """One stored counter: `version` None is the attribute's absence (a counter never charged)."""
    failures: int = 0
    last_at: datetime | None = None
    next_at: datetime | None = None
    version: int | None = None
    refused: int = 0

    def counter(self) -> Counter:
        return Counter(min(throttle.MAX_COUNT, max(0, self.failures)), self.last_at, self.next_at, self.version or 0)


class MemoryAccounts:
    """`AccountsStore` in memory."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._accounts: dict[str, Account] = {}
        self._sessions: dict[str, Session] = {}
        self._counters: dict[str, _CounterItem] = {}

    def find_account(self, username: str) -> Account | None:
        with self._lock:
            account = self._accounts.get(username)
        return replace(account, role=stored_role(account.role, account.unit)) if account else None

    def create_account(self, account: Account) -> None:
        with self._lock:
            if account.username in self._accounts:  # a username is taken once
                raise ConflictError(f"Tài khoản “{account.username}” đã tồn tại.")
            self._accounts[account.username] = account

    def set_password(self, username: str, password_hash: str, now: datetime, must_change: bool) -> None:
        with self._lock:
            account = self._accounts.get(username)
            if account is None:  # a password is set on an existing account only
                raise NotFoundError(f"Không tìm thấy tài khoản “{username}”.")
            self._accounts[username] = replace(account, password_hash=password_hash, password_changed_at=now,
                                               must_change_password=must_change)

    def put_session(self, session: Session) -> None:
        with self._lock:
            if session.token_hash in self._sessions:  # a token opens one session, never another's
                raise ConflictError("Phiên đăng nhập đã tồn tại.")
            self._sessions[session.token_hash] = session

    def find_session(self, token_hash: str) -> Session | None:
        with self._lock:
            session = self._sessions.get(token_hash)
        return replace(session, role=stored_role(session.role, session.unit)) if session else None

    def touch_session(self, token_hash: str, now: datetime, every: timedelta) -> bool:
        with self._lock:
            session = self._sessions.get(token_hash)
            # a session that still exists, recorded at most once per `every`
            if session is None or (session.last_seen_at is not None and session.last_seen_at > now - every):
                return False
            self._sessions[token_hash] = replace(session, last_seen_at=now)
            return True

    def clear_must_change(self, token_hash: str) -> None:
        with self._lock:
            session = self._sessions.get(token_hash)
            if session is not None:  # no session recreated
                self._sessions[token_hash] = replace(session, must_change_password=False)

    def delete_session(self, token_hash: str) -> None:
        with self._lock:
            self._sessions.pop(token_hash, None)

    def delete_sessions_of(self, username: str, keep: str | None = None) -> int:
        with self._lock:
            ended = [t for t, s in self._sessions.items() if s.username == username and t != keep]
            for token_hash in ended:
                del self._sessions[token_hash]
            return len(ended)

    # -------------------------------------------------------------------------------------------- login throttle

    def login_counters(self, account: str, source: str) -> LoginCounters:
        keys = (throttle.key_pair(account, source), throttle.key_address(source), throttle.key_account(account))
        with self._lock:
            items = [self._counters.get(key) or _CounterItem() for key in keys]
        pair, address, acct = (item.counter() for item in items)
        return LoginCounters(*keys, pair=pair, address=address, account=acct, refused=items[0].refused)

    def _charge_conflicts(self, read: LoginCounters, window_start: datetime) -> bool:
        for key, before in ((read.pair_key, read.pair), (read.address_key, read.address)):
            stored = self._counters.get(key)
            version = stored.version if stored else None
            # the attempt is charged on exactly the state it was decided on
            if (version is not None) if before.version == 0 else version != before.version:
                return True
        stored_acct = self._counters.get(read.account_key)
        stored_last = stored_acct.last_at if stored_acct else None
        adding = read.account.last_at is not None and read.account.last_at > window_start
        # the spread grows only inside its window, and restarts only when forgotten (or new)
        return adding != (stored_last is not None and stored_last > window_start)

    def charge_login(self, read: LoginCounters, admission: Admission, now: datetime,
                     policy: ThrottlePolicy) -> bool:
        window_start = now - timedelta(seconds=policy.window_s)
        with self._lock:
            if self._charge_conflicts(read, window_start):
                return False
            for key, after in ((read.pair_key, admission.pair), (read.address_key, admission.address)):
                item = self._counters.setdefault(key, _CounterItem())
                item.failures, item.last_at, item.next_at, item.version = (after.failures, after.last_at,
                                                                            after.next_at, after.version)
            account = self._counters.setdefault(read.account_key, _CounterItem())
            if read.account.last_at is not None and read.account.last_at > window_start:
                account.failures += admission.account_increment
            else:
                account.failures = admission.account.failures
            account.last_at = now
            return True

    def note_refused(self, read: LoginCounters, now: datetime, policy: ThrottlePolicy) -> None:
        with self._lock:
            self._counters.setdefault(read.pair_key, _CounterItem()).refused += 1

    def settle_login(self, read: LoginCounters, admission: Admission, account_refund: int) -> None:
        with self._lock:
            pair = self._counters.get(read.pair_key)
            if pair is not None and pair.version == admission.pair.version:  # no other charge since this one
                del self._counters[read.pair_key]
            address = self._counters.get(read.address_key)
            if address is not None and address.failures >= 1:  # never below zero
                address.failures -= 1
                address.version = (address.version or 0) + 1
            account = self._counters.get(read.account_key)
            if account_refund and account is not None and account.failures >= account_refund:
                account.failures -= account_refund


class MemoryAudit:
    """`AuditStore` in memory."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._entries: dict[tuple[str, str], AuditEntry] = {}
        self._notifications: dict[tuple[str, str], Notification] = {}

    def append(self, *, at: datetime, actor: str, role: str, unit_key: str, action: str, target: str | None,
               cid: str | None, source_ip: str | None, details: dict | None, suffix: str) -> None:
        entry = AuditEntry(month=month_of(at), sk=sort_key(at, suffix), at=at, actor=actor, role=role,
                           unit_key=unit_key, action=action, target=target, cid=cid, source_ip=source_ip,
                           details=copy.deepcopy(details))
        with self._lock:
            if (entry.month, entry.sk) in self._entries:  # append-only: an entry is never overwritten
                raise ConflictError("Mục nhật ký này đã được ghi.")
            self._entries[(entry.month, entry.sk)] = entry

    def query(self, *, start: datetime, end: datetime, unit: str | None, actor: str | None, action: str | None,
              cid: str | None, limit: int, cursor: str | None) -> tuple[list[AuditEntry], str | None]:
        after = None
        if cursor:
            state = json.loads(base64.urlsafe_b64decode(cursor.encode()))
            if not isinstance(state, dict):
                raise TypeError("cursor")
            after = str(state["after"])
        lo, hi = sort_key(start, ""), sort_key(end, "~")
        wanted = {"unit_key": unit, "actor": actor, "action": action, "cid": cid}
        with self._lock:
            found = sorted((e for e in self._entries.values()
                            if lo <= e.sk <= hi and (after is None or e.sk < after)
                            and all(getattr(e, name) == value for name, value in wanted.items() if value)),
                           key=lambda e: e.sk, reverse=True)
        page = [replace(e, details=copy.deepcopy(e.details)) for e in found[:limit]]
        more = bool(page) and len(found) > limit
        return page, (base64.urlsafe_b64encode(json.dumps({"after": page[-1].sk}).encode()).decode()
                      if more else None)

    def add_notifications(self, unit_keys: list[str], at: datetime, key: str, *, kind: str, title: str,
                          message: str) -> None:
        with self._lock:
            for unit_key in unit_keys:  # the same instant and key again overwrite
                sk = sort_key(at, key)
                self._notifications[(unit_key, sk)] = Notification(unit_key=unit_key, sk=sk, at=at, kind=kind,
                                                                   title=title, message=message)

    def list_notifications(self, unit_key: str, limit: int) -> list[Notification]:
        with self._lock:
            found = [n for (key, _), n in self._notifications.items() if key == unit_key]
        return sorted(found, key=lambda n: n.sk, reverse=True)[:limit]


class MemoryCampaigns:
    """`CampaignsStore` in memory. Records are copied in and out: a caller changing a list it was handed changes
    nothing stored, as with DynamoDB."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._campaigns: dict[str, Campaign] = {}
        self._units: dict[tuple[str, str], Unit] = {}

    def get_campaign(self, cid: str) -> Campaign:
        found = self.find_campaign(cid)
        if found is None:
            raise NotFoundError(f"Không tìm thấy đợt đánh giá “{cid}”.")
        return found

    def find_campaign(self, cid: str) -> Campaign | None:
        with self._lock:
            return copy.deepcopy(self._campaigns.get(cid))

    def list_campaigns(self) -> list[Campaign]:
        with self._lock:
            return [copy.deepcopy(self._campaigns[cid]) for cid in sorted(self._campaigns)]

    def create_campaign(self, built: dict, now: datetime) -> Campaign:
        cid = built["id"]
        campaign = Campaign(cid=cid, name=built["name"], year=int(built["year"]), timezone=built["timezone"],
                            groups=built["groups"], questionnaires=built["questionnaires"] or {},
                            phases=built["phases"], departments=built["departments"] or [],
                            ministry_exempt=built["ministry_exempt"] or [], reminder_days=built["reminder_days"] or [],
                            auto_reminders_done=None, grades=built["grades"], created_at=now, version=1,
                            min_responses=built.get("min_responses"), contact=built.get("contact"),
                            mail_guard=built.get("mail_guard"))
        with self._lock:
            if cid in self._campaigns:  # a campaign id is created once
                raise ConflictError(f"Đợt đánh giá “{cid}” đã tồn tại.")
            for unit in built["units"]:  # units first: a campaign found has all its units
                self._units[(cid, unit["code"])] = _fresh_unit(cid, unit)
            self._campaigns[cid] = copy.deepcopy(campaign)
        return campaign

    def save_phases(self, campaign: Campaign, phases: list[dict]) -> None:
        with self._lock:
            stored = self._campaigns.get(campaign.cid)
            if stored is None or stored.version != campaign.version:  # no lost update: still the version read
                raise ConflictError("Đợt đánh giá vừa được người khác cập nhật. Vui lòng tải lại và thử lại.")
            self._campaigns[campaign.cid] = replace(stored, phases=copy.deepcopy(phases), version=stored.version + 1)

    def mark_auto_reminder(self, cid: str, key: str) -> bool:
        with self._lock:
            stored = self.get_campaign(cid)
            done = stored.auto_reminders_done or frozenset()
            if key in done:  # the reminders of one deadline day start once
                return False
            self._campaigns[cid] = replace(stored, auto_reminders_done=done | {key}, version=stored.version + 1)
            return True

    def list_units(self, cid: str, kind: str | None = None) -> list[Unit]:
        with self._lock:
            found = [u for (c, _), u in self._units.items() if c == cid and (kind is None or u.kind == kind)]
        return [copy.deepcopy(u) for u in sorted(found, key=lambda u: u.unit)]

    def find_unit(self, cid: str, unit: str) -> Unit | None:
        with self._lock:
            return copy.deepcopy(self._units.get((cid, unit)))

    def get_unit(self, cid: str, unit: str) -> Unit:
        found = self.find_unit(cid, unit)
        if found is None:
            raise NotFoundError(f"Không tìm thấy đơn vị “{unit}” trong đợt đánh giá “{cid}”.")
        return found

    def set_unit_extension(self, cid: str, unit: str, phase: str, closes_at: str) -> None:
        with self._lock:
            stored = self._units.get((cid, unit))
            if stored is None:  # only a unit of the campaign is extended
                raise NotFoundError(f"Không tìm thấy đơn vị “{unit}”.")
            marks = {code: at for code, at in stored.closed_marks.items() if code != phase}  # the closing re-armed
            self._units[(cid, unit)] = replace(stored, extensions={**stored.extensions, phase: closes_at},
                                               closed_marks=marks)

    def mark_closed(self, cid: str, unit: str, phase: str, closes_at: str) -> bool:
        with self._lock:
            stored = self._units.get((cid, unit))
            # a closing is announced once per close instant, and only to an existing unit
            if stored is None or stored.closed_marks.get(phase) == closes_at:
                return False
            self._units[(cid, unit)] = replace(stored, closed_marks={**stored.closed_marks, phase: closes_at})
            return True

    def put_focal_person(self, cid: str, unit: str, record: dict) -> None:
        with self._lock:
            stored = self._units.get((cid, unit))
            if stored is None:  # only a unit of the campaign
                raise NotFoundError(f"Không tìm thấy đơn vị “{unit}”.")
            self._units[(cid, unit)] = replace(stored, focal_person=copy.deepcopy(record))


def _fresh_unit(cid: str, unit: dict) -> Unit:
    return Unit(cid=cid, unit=unit["code"], name=unit["name"], full_name=unit["full_name"],
                kind=unit.get("kind") or "province", ranked=unit.get("ranked", True) is not False, focal_person=None,
                extensions={}, closed_marks={}, roster_gen=None, roster_version=0, roster_status="draft",
                roster_counts={}, roster_seq=0, roster_pending=None, dispatch_lease=None, dispatch_notified=None,
                dispatch_done=None, annulled_at=None, annulled_by=None, annul_reason=None, roster_updated_at=None,
                roster_submitted_at=None, roster_submitted_by=None, roster_snapshot=None)


class MemoryQuestionnaires:
    """`QuestionnairesStore` in memory."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._items: dict[tuple[str, str], Questionnaire] = {}

    def get(self, cid: str, qid: str) -> Questionnaire:
        found = self.find(cid, qid)
        if found is None:
            raise NotFoundError(f"Không tìm thấy phiếu khảo sát “{qid}” trong đợt đánh giá “{cid}”.")
        return found

    def find(self, cid: str, qid: str) -> Questionnaire | None:
        with self._lock:
            return copy.deepcopy(self._items.get((cid, qid)))

    def list_for(self, cid: str) -> list[Questionnaire]:
        with self._lock:
            return [copy.deepcopy(item) for (c, _), item in sorted(self._items.items()) if c == cid]

    def titles(self, cid: str) -> dict[str, str]:
        with self._lock:
            return {q: item.title for (c, q), item in self._items.items() if c == cid}

    def put_version(self, item: Questionnaire, expected_version: int) -> None:
        with self._lock:
            current = self._items.get((item.cid, item.qid))
            # a first version never overwrites one put meanwhile; a later one only over the version read, unlocked
            if (current is not None) if expected_version == 0 else (
                    current is None or current.version != expected_version or current.locked):
                raise refusal(item.qid, copy.deepcopy(current))
            self._items[(item.cid, item.qid)] = copy.deepcopy(item)

    def put_if_absent(self, item: Questionnaire) -> bool:
        with self._lock:
            if (item.cid, item.qid) in self._items:  # a seed never overwrites a questionnaire already there
                return False
            self._items[(item.cid, item.qid)] = copy.deepcopy(item)
            return True

    def lock(self, cid: str, qid: str, now: datetime) -> tuple[int, bool]:
        with self._lock:
            current = self.get(cid, qid)  # never creates a questionnaire
            if current.locked:  # locked once, keeping its first locked_at
                return current.version, False
            self._items[(cid, qid)] = replace(current, locked=True, locked_at=now)
            return current.version, True


def _new_assessment(cid: str, unit: str) -> Assessment:
    """A record never written, as the DynamoDB implementation reads one: a draft at revision 0."""
    return Assessment(cid=cid, unit=unit, state="draft", revision=0, approval=None, approved_at=None, locked_at=None,
                      reopened=None, published_at=None, published_by=None, updated_at=None)


def _new_line(cid: str, unit: str, code: str) -> AssessmentItem:
    return AssessmentItem(unit_key=assessment_store.unit_key(cid, unit), code=code, score=None, note=None,
                          explanation=None, evidence=None, updated_at=None, updated_by=None, appraisal_score=None,
                          appraisal_comment=None, appraised_at=None, appraised_by=None)


class MemoryAssessment:
    """`AssessmentStore` in memory."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._frameworks: dict[tuple[str, str], Framework] = {}
        self._records: dict[tuple[str, str], Assessment] = {}
        self._lines: dict[tuple[str, str, str], AssessmentItem] = {}

    def find_framework(self, cid: str, kind: str = PROVINCE) -> Framework | None:
        with self._lock:
            return copy.deepcopy(self._frameworks.get((cid, kind)))

    def put_framework(self, framework: Framework, expected_version: int | None) -> bool:
        with self._lock:
            current = self._frameworks.get((framework.cid, framework.kind))
            # no lost update: a framework replaces exactly the version read, and a seed never overwrites one
            if (current is not None) if expected_version is None else (
                    current is None or current.version != expected_version):
                return False
            self._frameworks[(framework.cid, framework.kind)] = copy.deepcopy(framework)
            return True

    def find_assessment(self, cid: str, unit: str) -> Assessment | None:
        with self._lock:
            return copy.deepcopy(self._records.get((cid, unit)))

    def list_assessments(self, cid: str) -> list[Assessment]:
        with self._lock:
            return [copy.deepcopy(r) for (c, _), r in sorted(self._records.items()) if c == cid]

    def list_items(self, cid: str, unit: str) -> list[AssessmentItem]:
        with self._lock:
            return [copy.deepcopy(line) for (c, u, _), line in sorted(self._lines.items()) if (c, u) == (cid, unit)]

    def find_item(self, cid: str, unit: str, code: str) -> AssessmentItem | None:
        with self._lock:
            return copy.deepcopy(self._lines.get((cid, unit, code)))

    def _record(self, cid: str, unit: str) -> Assessment:
        return self._records.get((cid, unit)) or _new_assessment(cid, unit)

    def _line(self, cid: str, unit: str, code: str) -> AssessmentItem:
        return self._lines.get((cid, unit, code)) or _new_line(cid, unit, code)

    def record_self_score(self, cid: str, unit: str, code: str, *, score: float | None, note: str | None,
                          explanation: str | None, evidence: list[dict], by: str, now: datetime) -> None:
        with self._lock:
            record = self._record(cid, unit)
            if record.state != "draft":  # a score cannot change once the assessment is approved or locked
                raise ConflictError(assessment_store.CLOSED, code="assessment_closed")
            self._records[(cid, unit)] = replace(record, revision=record.revision + 1, updated_at=now)
            self._lines[(cid, unit, code)] = replace(self._line(cid, unit, code), score=score, note=note,
                                                     explanation=explanation, evidence=copy.deepcopy(evidence),
                                                     updated_at=now, updated_by=by)

    def approve_assessment(self, cid: str, unit: str, revision: int, approval: dict, now: datetime) -> bool:
        with self._lock:
            record = self._record(cid, unit)
            # only a draft is approved, and only as checked: a score changed since makes the approval fail
            if record.state != "draft" or record.revision != revision:
                return False
            self._records[(cid, unit)] = replace(record, state="approved", approval=copy.deepcopy(approval),
                                                 approved_at=now, updated_at=now, revision=record.revision + 1)
            return True

    def lock_assessment(self, cid: str, unit: str, now: datetime) -> bool:
        with self._lock:
            record = self._record(cid, unit)
            if record.state != "draft":  # the deadline lock and an approval cannot both win
                return False
            self._records[(cid, unit)] = replace(record, state="locked", locked_at=now, updated_at=now,
                                                 revision=record.revision + 1)
            return True

    def reopen_assessment(self, cid: str, unit: str, entry: dict, history: list[dict], now: datetime) -> bool:
        with self._lock:
            record = self._records.get((cid, unit))
            if record is None or record.state not in assessment_store.SUBMITTED:  # only a submitted one, once
                return False
            self._records[(cid, unit)] = replace(record, state="draft", reopened=copy.deepcopy([*history, entry]),
                                                 approval=None, approved_at=None, locked_at=None, updated_at=now,
                                                 revision=record.revision + 1)
            return True

    def record_appraisal(self, cid: str, unit: str, code: str, *, score: float, comment: str | None, by: str,
                         now: datetime, require_submitted: bool) -> None:
        with self._lock:
            record = self._records.get((cid, unit))
            # a self-scored line is appraised only once the unit has submitted (approved or locked)
            if require_submitted and (record is None or record.state not in assessment_store.SUBMITTED):
                raise ConflictError(assessment_store.NOT_SUBMITTED, code="assessment_not_submitted")
            self._lines[(cid, unit, code)] = replace(self._line(cid, unit, code), appraisal_score=score,
                                                     appraisal_comment=comment or None, appraised_at=now,
                                                     appraised_by=by)

    def publish_appraisal(self, cid: str, unit: str, by: str, now: datetime) -> None:
        with self._lock:
            self._records[(cid, unit)] = replace(self._record(cid, unit), published_at=now, published_by=by)


class _Object(Struct, frozen=True):
    body: bytes
    content_type: str | None = None
    metadata: dict | None = None


class MemoryFiles:
    """`FilesStore` in memory: the exports and evidence buckets as dictionaries."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._objects: dict[tuple[str, str], _Object] = {}

    def _put(self, bucket: str, key: str, obj: _Object) -> str:
        with self._lock:
            self._objects[(bucket, key)] = obj
        return f"memory://{bucket}/{quote(key)}"

    def _get(self, bucket: str, key: str) -> _Object:
        with self._lock:
            found = self._objects.get((bucket, key))
        if found is None:
            raise KeyError(f"{bucket}/{key}")  # S3 raises NoSuchKey
        return found

    def put_export(self, key: str, data: bytes, content_type: str, filename: str, expires: int = 3600) -> str:
        return self._put(settings().exports_bucket, key, _Object(bytes(data), content_type))

    def put_snapshot(self, key: str, rows: list[dict]) -> None:
        body = gzip.compress(json.dumps(rows, ensure_ascii=False).encode(), 6)
        self._put(settings().evidence_bucket, key, _Object(body, "application/json"))

    def get_snapshot(self, key: str) -> list[dict]:
        return json.loads(gzip.decompress(self._get(settings().evidence_bucket, key).body))

    def get_export(self, key: str) -> bytes:
        return self._get(settings().exports_bucket, key).body

    def presign_upload(self, key: str, content_type: str, filename: str, max_bytes: int,
                       expires: int = 900) -> dict:
        return {"url": f"memory://{settings().evidence_bucket}/",
                "fields": {"key": key, "Content-Type": content_type, "x-amz-meta-filename": quote(filename, safe="")}}

    def pin_upload(self, upload_key: str, pinned_key: str, head_bytes: int = 16) -> dict | None:
        bucket = settings().evidence_bucket
        with self._lock:
            found = self._objects.get((bucket, upload_key))
            if found is None:  # nothing arrived
                return None
            self._objects[(bucket, pinned_key)] = found  # a copy: a later post to the upload key leaves it alone
        return {"size": len(found.body), "sha256": hashlib.sha256(found.body).hexdigest(),
                "metadata": dict(found.metadata or {}), "content_type": found.content_type,
                "head": found.body[:head_bytes]}

    def delete_evidence(self, key: str) -> None:
        with self._lock:
            self._objects.pop((settings().evidence_bucket, key), None)

    def evidence_link(self, key: str, filename: str, expires: int = 900) -> str:
        return f"memory://{settings().evidence_bucket}/{quote(key)}"

    # ------------------------------------------------------------------------------------ the browser's side

    def post(self, granted: dict, content: bytes) -> None:
        """Send a file with a grant of `presign_upload`, as the browser does (S3's checks of the policy's size
        range are not modelled)."""
        fields = granted["fields"]
        bucket = urlsplit(granted["url"]).netloc
        metadata = {name[len("x-amz-meta-"):].lower(): value for name, value in fields.items()
                    if name.lower().startswith("x-amz-meta-")}
        self._put(bucket, fields["key"], _Object(bytes(content), fields.get("Content-Type"), metadata))

    def fetch(self, url: str) -> bytes:
        """The bytes a link of this store downloads."""
        parts = urlsplit(url)
        return self._get(parts.netloc, unquote(parts.path.lstrip("/"))).body

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        with self._lock:
            return sorted(key for b, key in self._objects if b == bucket and key.startswith(prefix))


class MemoryRoster:
    """`RosterStore` in memory. The roster's state lives on the units, as in DynamoDB, so this store writes the
    units its `MemoryCampaigns` hands out, under that store's lock."""

    def __init__(self, campaigns: MemoryCampaigns) -> None:
        self._campaigns = campaigns
        self._lock = campaigns._lock
        self._rows: dict[tuple[str, str], Respondent] = {}

    def _unit(self, cid: str, unit: str) -> Unit | None:
        return self._campaigns._units.get((cid, unit))

    def _set_unit(self, unit: Unit) -> None:
        self._campaigns._units[(unit.cid, unit.unit)] = unit

    def _generation(self, cid: str, unit: str, gen: str) -> list[Respondent]:
        unit_key, prefix = roster_store.key(cid, unit), f"{gen}#"
        return [row for (k, sk), row in sorted(self._rows.items()) if k == unit_key and sk.startswith(prefix)]

    def rows(self, cid: str, unit: str, gen: str | None) -> list[Respondent]:
        if not gen:
            return []
        with self._lock:
            return copy.deepcopy(self._generation(cid, unit, gen))

    def get_row(self, cid: str, unit: str, gen: str | None, rid: str) -> Respondent | None:
        if not gen:
            return None
        with self._lock:
            return copy.deepcopy(self._rows.get((roster_store.key(cid, unit), f"{gen}#{rid}")))

    def set_email(self, cid: str, unit: str, gen: str | None, rid: str, email: str, now: datetime) -> None:
        where = (roster_store.key(cid, unit), f"{gen}#{rid}")
        with self._lock:
            row = self._rows.get(where)
            if row is None:  # an existing row is corrected, never a row created
                raise NotFoundError(roster_store.NO_ROW)
            self._rows[where] = replace(row, email=email, updated_at=now)

    def page(self, cid: str, unit: str, gen: str | None, *, group: str | None, search: str | None, limit: int,
             start: str | None) -> tuple[list[Respondent], str | None]:
        if not gen:
            return [], None
        with self._lock:
            found = [row for row in self._generation(cid, unit, gen)
                     if (not start or row.rid > start) and (not group or row.group == group)
                     and (not search or search in row.search)]
        items = copy.deepcopy(found[:limit])
        return items, (items[-1].rid if len(found) > limit and items else None)

    def begin_generation(self, cid: str, unit: str, gen: str) -> None:
        with self._lock:
            found = self._unit(cid, unit)
            if found is None:  # only a unit of the campaign gets a roster
                raise NotFoundError(roster_store.NO_UNIT.format(unit=unit))
            self._set_unit(replace(found, roster_pending=(found.roster_pending or frozenset()) | {gen}))

    def write_generation(self, items: list[Respondent]) -> None:
        with self._lock:
            for item in items:
                self._rows[(item.unit_key, item.sk)] = copy.deepcopy(item)

    def _unchanged(self, cid: str, unit: str, expected_version: int) -> Unit:
        found = self._unit(cid, unit)
        # no lost update: the roster is still the version that was read, and still a draft (not sent)
        if found is None or found.roster_version != expected_version or found.roster_status != "draft":
            raise ConflictError(roster_store.CHANGED)
        return found

    def swap_generation(self, cid: str, unit: str, new_gen: str, expected_version: int, counts: dict[str, int],
                        seq: int, now: datetime) -> None:
        with self._lock:
            found = self._unchanged(cid, unit, expected_version)
            pending = (found.roster_pending or frozenset()) - {new_gen}
            self._set_unit(replace(found, roster_gen=new_gen, roster_pending=pending or None,
                                   roster_version=expected_version + 1, roster_counts=dict(counts), roster_seq=seq,
                                   roster_updated_at=now))

    def sweep(self, cid: str, unit: str, replaced: list[Respondent], abandoned: set[str]) -> int:
        with self._lock:
            stale = [(row.unit_key, row.sk) for row in replaced]
            for gen in abandoned:
                stale += [(row.unit_key, row.sk) for row in self._generation(cid, unit, gen)]
            for where in stale:
                self._rows.pop(where, None)
            found = self._unit(cid, unit)
            if abandoned and found is not None:
                pending = (found.roster_pending or frozenset()) - abandoned
                self._set_unit(replace(found, roster_pending=pending or None))
            return len(stale)

    def change_row(self, cid: str, unit: str, expected_version: int, *, put: Respondent | None = None,
                   delete: Respondent | None = None, count_delta: dict[str, int], seq: int | None,
                   now: datetime) -> None:
        with self._lock:
            found = self._unchanged(cid, unit, expected_version)  # one change per roster version, only to a draft
            gone = (delete.unit_key, delete.sk) if delete is not None and (put is None or put.sk != delete.sk) else None
            if gone is not None and gone not in self._rows:  # the row deleted is still there
                raise ConflictError(roster_store.CHANGED)
            counts = dict(found.roster_counts)
            for group, delta in count_delta.items():
                if delta:
                    counts[group] = counts.get(group, 0) + delta
            self._set_unit(replace(found, roster_version=expected_version + 1, roster_updated_at=now,
                                   roster_counts=counts, roster_seq=found.roster_seq if seq is None else seq))
            if gone is not None:
                del self._rows[gone]
            if put is not None:
                self._rows[(put.unit_key, put.sk)] = copy.deepcopy(put)

    def set_status(self, cid: str, unit: str, expected_version: int, status: str, who: str | None, now: datetime,
                   snapshot: str | None = None) -> None:
        if status == "submitted" and who is None:
            raise ValueError("a roster is submitted by someone")
        with self._lock:
            found = self._unit(cid, unit)
            expected_status = "draft" if status == "submitted" else "submitted"
            # no lost update, and only a draft is sent / only a sent roster is reopened
            if found is None or found.roster_version != expected_version or found.roster_status != expected_status:
                raise ConflictError(roster_store.CHANGED)
            if status == "submitted":
                changed = replace(found, roster_submitted_at=now, roster_submitted_by=who,
                                  roster_snapshot=snapshot or found.roster_snapshot)
            else:
                changed = replace(found, roster_submitted_at=None, roster_submitted_by=None)
            self._set_unit(replace(changed, roster_status=status, roster_version=expected_version + 1))


class MemoryAddressChanges:
    """`AddressChangesStore` in memory."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._changes: dict[tuple[str, str, str], AddressChange] = {}
        self._pending: set[tuple[str, str, str]] = set()  # (cid, unit, rid) with a request pending: the guards

    def add_correction(self, change: AddressChange) -> None:
        with self._lock:
            if (change.cid, change.unit, change.id) in self._changes:  # an id names one change
                raise ConflictError(address_store.TAKEN)
            self._changes[(change.cid, change.unit, change.id)] = copy.deepcopy(change)

    def add_request(self, change: AddressChange) -> bool:
        with self._lock:
            # at most one pending request per respondent; an id names one change
            if (change.cid, change.unit, change.rid) in self._pending \
                    or (change.cid, change.unit, change.id) in self._changes:
                return False
            self._pending.add((change.cid, change.unit, change.rid))
            self._changes[(change.cid, change.unit, change.id)] = copy.deepcopy(change)
            return True

    def decide(self, change: AddressChange, state: str, who: str, at: datetime, note: str | None) -> bool:
        where = (change.cid, change.unit, change.id)
        with self._lock:
            stored = self._changes.get(where)
            if stored is None or stored.state != "pending":  # decided once, from pending only
                return False
            self._changes[where] = replace(stored, state=state, decided_by=who, decided_at=at,
                                           decision_note=note or stored.decision_note)
            self._pending.discard((change.cid, change.unit, change.rid))
            return True

    def set_reissued(self, change: AddressChange, slots: list[str], at: datetime) -> None:
        where = (change.cid, change.unit, change.id)
        with self._lock:
            stored = self._changes.get(where)
            if stored is not None and stored.state == "approved":  # only an approved request re-issues links
                self._changes[where] = replace(stored, reissued=list(slots), reissued_at=at)

    def get(self, cid: str, unit: str, change_id: str) -> AddressChange | None:
        with self._lock:
            return copy.deepcopy(self._changes.get((cid, unit, change_id)))

    def of_unit(self, cid: str, unit: str) -> list[AddressChange]:
        with self._lock:
            return [copy.deepcopy(c) for (c_id, u, _), c in sorted(self._changes.items()) if (c_id, u) == (cid, unit)]

    def of_campaign(self, cid: str, state: str | None = None) -> list[AddressChange]:
        with self._lock:
            return [copy.deepcopy(c) for (c_id, _, _), c in sorted(self._changes.items())
                    if c_id == cid and (not state or c.state == state)]


class MemoryResponses:
    """`ResponsesStore` in memory. `add` writes a response as the submit does (`MemorySurvey.record_submission`
    calls it), for tests that seed answers; services never call it."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._responses: dict[str, dict[str, Response]] = {}  # unit key -> response id -> response

    def add(self, response: Response) -> None:
        with self._lock:
            of_unit = self._responses.setdefault(response.unit_key, {})
            if response.response_id in of_unit:  # a response is written once and never overwritten
                raise ValueError(f"response {response.response_id} is stored already")
            of_unit[response.response_id] = copy.deepcopy(response)

    def page(self, unit_key: str, *, limit: int, after: str | None,
             qid: str | None) -> tuple[list[Response], str | None]:
        with self._lock:
            found = [copy.deepcopy(r) for rid, r in sorted(self._responses.get(unit_key, {}).items())
                     if (after is None or rid > after) and (not qid or r.qid == qid)]
        items = found[:limit]
        return items, (items[-1].response_id if len(found) > limit and items else None)


class MemoryLinks:
    """`LinksStore` in memory. `add_counts` and `record_mail_outcome` play the writes of the same names in
    `store/links.py` (counters written as the survey's submit and dispatch's `count_issued` write them, and the
    outcome `MemoryDelivery`'s events set on a mail's record, as DynamoDB's event transaction does); services never
    call them. The survey's writes to links and counters are `MemorySurvey`'s, on this store's records. Dispatch
    runs are kept as created, and the counters that `mark_done` and moves of links add to them in `progress`
    ((campaign, run) -> counter -> n); `runs` answers the sum. The unit's "invitations are out" mark, its dispatch
    lease and its done parts are kept on `MemoryCampaigns`' units, under that store's lock, as DynamoDB keeps them
    on the unit item. Not modelled: a write of a record that does not exist where DynamoDB's unconditional update
    would create a stub (a reminder recorded for a link never written, an event's outcome for a mail never
    recorded, a lease released or a run's counters added for a unit or run never written: the sender writes the
    link and the mail first, dispatch the run and the lease)."""

    def __init__(self, campaigns: MemoryCampaigns) -> None:
        self._lock = threading.RLock()
        self._links: dict[tuple[str, str], Link] = {}
        self._tokens: dict[str, Token] = {}
        self._counts: dict[tuple[str, str], dict[str, int]] = {}
        self._applied: dict[tuple[str, str], set[str]] = {}
        self._campaigns = campaigns
        self._mails: dict[str, Mail] = {}
        self.progress: dict[tuple[str, str], dict[str, int]] = {}
        self._runs: dict[tuple[str, str], DispatchRun] = {}

    def write_issued(self, links: list[Link], tokens: list[Token]) -> None:
        with self._lock:
            self._links.update({(link.unit_key, link.slot): link for link in links})
            self._tokens.update({token.token_hash: token for token in tokens})

    def add_counts(self, unit_key: str, deltas: dict[str, dict[str, int]], once: str | None = None) -> None:
        with self._lock:
            for key, changes in deltas.items():
                moved = {name: n for name, n in changes.items() if n}
                applied = self._applied.setdefault((unit_key, key), set())
                if not moved or (once is not None and once in applied):  # one `once` key at most once
                    continue
                if once is not None:
                    applied.add(once)
                counts = self._counts.setdefault((unit_key, key), {})
                for name, n in moved.items():
                    counts[name] = counts.get(name, 0) + n

    def unit_links(self, unit_key: str, rid: str | None = None) -> list[Link]:
        with self._lock:
            return [link for (k, slot), link in sorted(self._links.items())
                    if k == unit_key and (not rid or slot.startswith(f"{rid}#"))]

    @staticmethod
    def _stats(unit_key: str, key: str, counts: dict[str, int]) -> Stats:
        return Stats(unit_key=unit_key, key=key, **{name: counts.get(name, 0) for name in (*link_store.STATES,
                                                                                          "reminders")})

    def stats(self, unit_key: str) -> list[Stats]:
        with self._lock:
            return [self._stats(k, key, counts) for (k, key), counts in sorted(self._counts.items()) if k == unit_key]

    def totals_of(self, unit_keys: list[str]) -> list[Stats]:
        with self._lock:
            return [self._stats(k, "all", self._counts[(k, "all")]) for k in unit_keys if (k, "all") in self._counts]

    def counters(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], dict[str, int]]:
        with self._lock:
            return {k: {state: self._counts[k].get(state, 0) for state in link_store.STATES}
                    for k in keys if k in self._counts}

    def get_token(self, token_hash: str) -> Token | None:
        with self._lock:
            return self._tokens.get(token_hash)

    def ministry_counts(self, cid: str, ministry: str) -> list[MinistryCount]:
        unit_key = link_store.ministry_counter(cid, ministry, "", "")[0]
        with self._lock:
            out = []
            for (k, key), counts in sorted(self._counts.items()):
                province, _, group = key.partition("#")
                if k == unit_key and group and ("asked" in counts or "answered" in counts):
                    out.append(MinistryCount(province=province, group=group, asked=counts.get("asked", 0),
                                             answered=counts.get("answered", 0)))
            return out

    # --- the mail sender's and the transient retries' reads and writes

    def get_link(self, unit_key: str, slot: str) -> Link | None:
        with self._lock:
            return self._links.get((unit_key, slot))

    def delete_tokens(self, hashes: list[str]) -> None:
        with self._lock:
            for digest in hashes:
                self._tokens.pop(digest, None)

    def _move(self, link: Link, to_state: str, from_states: tuple[str, ...], now: datetime, *,
              sets: dict[str, Any] | None = None, removes: tuple[str, ...] = (), need_token: str | None = None,
              progress: tuple[str, str, str] | None = None, need_email: str | None = None) -> bool:
        if link.state not in from_states:
            return False
        with self._lock:
            stored = self._links.get((link.unit_key, link.slot))
            # the link is still in the state it was read in (so its counters move from that state exactly once),
            # still holds the token the caller acts for and still goes to the address the caller's mail went to
            if stored is None or stored.state != link.state or \
                    (need_token and need_token not in stored.token_hashes) or \
                    (need_email and stored.email != need_email):
                return False
            self._write(stored, {**(sets or {}), **dict.fromkeys(removes), "state": to_state, "updated_at": now})
            if link.state != to_state:
                self.add_counts(link.unit_key, {key: {to_state: 1, link.state: -1}
                                                for key in ("all", f"{link.group}#{link.purpose}")})
            if progress:
                cid, run, counter = progress
                counts = self.progress.setdefault((cid, run), {})
                counts[counter] = counts.get(counter, 0) + 1
            return True

    def _write(self, stored: Link, changes: dict[str, Any]) -> None:
        if "token_hashes" in changes:
            changes["token_hashes"] = tuple(changes["token_hashes"])
        self._links[(stored.unit_key, stored.slot)] = replace(stored, **changes)

    def mark_sent(self, link: Link, digest: str, at: datetime, progress: tuple[str, str, str] | None) -> bool:
        return self._move(link, "sent", ("issued",), at, sets={"sent_at": at, "last_mail_at": at}, need_token=digest,
                          progress=progress)

    def mark_failed(self, link: Link, reason: str, now: datetime, progress: tuple[str, str, str] | None) -> bool:
        return self._move(link, "failed", ("issued",), now, sets={"problem": reason[:500]}, progress=progress)

    def record_delivery(self, link: Link, delivery: str, now: datetime, *, problem: str | None = None,
                        stop_mail: bool = False, state: str | None = None, from_states: tuple[str, ...] = ()) -> bool:
        sets = link_store.delivery_sets(delivery, now, problem, stop_mail)
        if state is not None and state != link.state:
            return self._move(link, state, from_states, now, sets=sets, need_email=link.email)
        with self._lock:
            stored = self._links.get((link.unit_key, link.slot))
            if stored is None or stored.email != link.email:  # the event is about the mail sent to this address
                return False
            self._write(stored, sets)
            return True

    def readdress(self, link: Link, email: str, digest: str, from_states: tuple[str, ...],
                  now: datetime) -> Link | None:
        if not self._move(link, "issued", from_states, now, sets={"email": email, "token_hashes": [digest],
                                                                  "queued_at": now},
                          removes=link_store.READDRESS_REMOVES):
            return None
        return link_store.readdressed(link, email, digest, now)

    def record_reminder_sent(self, link: Link, at: datetime) -> None:
        with self._lock:
            stored = self._links.get((link.unit_key, link.slot))
            if stored is not None:
                self._write(stored, {"reminders": stored.reminders + 1, "last_mail_at": at})
            self.add_counts(link.unit_key, {"all": {"reminders": 1}, f"{link.group}#{link.purpose}": {"reminders": 1}})

    def unit_totals(self, unit_key: str) -> Stats | None:
        with self._lock:
            counts = self._counts.get((unit_key, "all"))
            return None if counts is None else self._stats(unit_key, "all", counts)

    def mark_notified(self, cid: str, unit: str, run: str) -> bool:
        with self._campaigns._lock:
            stored = self._campaigns._units.get((cid, unit))
            # a unit of the campaign is told once per run that its invitations are out
            if stored is None or stored.dispatch_notified == run:
                return False
            self._campaigns._units[(cid, unit)] = replace(stored, dispatch_notified=run)
            return True

    def record_mail(self, mail: Mail) -> bool:
        with self._lock:
            if mail.message_id in self._mails:  # a message id names one mail: its record is written once
                return False
            self._mails[mail.message_id] = mail
            return True

    def find_mail(self, message_id: str) -> Mail | None:
        with self._lock:
            return self._mails.get(message_id)

    def record_mail_outcome(self, message_id: str, outcome: str, detail: str | None = None) -> None:
        with self._lock:
            mail = self._mails.get(message_id)
            if mail is not None:
                self._mails[message_id] = replace(mail, outcome=outcome,
                                                  detail=detail[:500] if detail is not None else mail.detail)

    # --- dispatch's

    def has_links(self, unit_key: str) -> bool:
        total = self.unit_totals(unit_key)
        return total is not None and any(getattr(total, state) for state in link_store.STATES)

    def _rewrite(self, link: Link, changes: dict[str, Any], holds: Callable[[Link], bool]) -> bool:
        """Write `changes` on the stored link only while `holds` says its condition holds."""
        with self._lock:
            stored = self._links.get((link.unit_key, link.slot))
            if stored is None or not holds(stored):
                return False
            self._write(stored, changes)
            return True

    def requeue_invitation(self, link: Link, digest: str, run: str, now: datetime, in_flight: timedelta) -> bool:
        # only an invitation still waiting to leave is re-issued, and not while another run's invitation for it may
        # still be in the mail queue
        return self._rewrite(link, {"token_hashes": [digest], "queued_at": now, "queued_run": run, "updated_at": now},
                             lambda x: x.state == "issued" and (x.queued_run == run or x.queued_at is None or
                                                                x.queued_at <= now - in_flight))

    def claim_link_for_reminder(self, link: Link, digest: str, now: datetime, remindable: tuple[str, ...],
                                interval: timedelta) -> bool:
        with self._lock:
            stored = self._links.get((link.unit_key, link.slot))
            # at most one reminder per interval, only to someone who can still answer and has not reported our mail
            # as spam
            if stored is None or stored.state not in remindable or stored.no_mail is not None or \
                    (stored.last_mail_at is not None and stored.last_mail_at >= now - interval):
                return False
            self._write(stored, {"last_mail_at": now, "queued_at": now, "token_hashes": (*stored.token_hashes, digest)})
            return True

    def count_issued(self, cid: str, unit: str, deltas: dict[str, dict[str, int]],
                     asked: dict[str, dict[str, int]], once: str) -> None:
        with self._lock:  # each counter takes the part's counts once, as DynamoDB's transaction (or its fallback)
            self.add_counts(f"{cid}#{unit}", deltas, once)
            for ministry, by_group in asked.items():
                for group, forms in by_group.items():
                    unit_key, key = link_store.ministry_counter(cid, ministry, unit, group)
                    self.add_counts(unit_key, {key: {"asked": forms}}, once)

    def _set_unit(self, cid: str, unit: str, holds: Callable[[Unit], bool], **changes: Any) -> bool:
        with self._campaigns._lock:
            stored = self._campaigns._units.get((cid, unit))
            if stored is None or not holds(stored):
                return False
            self._campaigns._units[(cid, unit)] = replace(stored, **changes)
            return True

    def acquire_lease(self, cid: str, unit: str, now: datetime, until: datetime) -> bool:
        # one dispatch job per unit at a time (a lease left by a dead job expires)
        return self._set_unit(cid, unit, lambda u: u.dispatch_lease is None or u.dispatch_lease < now,
                              dispatch_lease=until)

    def release_lease(self, cid: str, unit: str) -> None:
        self._set_unit(cid, unit, lambda u: True, dispatch_lease=None)

    def mark_done(self, cid: str, unit: str, run: str, mark: str, **adds: int) -> bool:
        with self._campaigns._lock, self._lock:
            stored = self._campaigns._units.get((cid, unit))
            done = (stored.dispatch_done or frozenset()) if stored else frozenset()
            # each part of a unit's job counts in the run's progress once, whichever delivery gets there
            if not self._set_unit(cid, unit, lambda u: mark not in done, dispatch_done=done | {mark}):
                return False
            counts = self.progress.setdefault((cid, run), {})
            for name, n in adds.items():
                if n:
                    counts[name] = counts.get(name, 0) + n
            return True

    def create_run(self, run: DispatchRun) -> None:
        with self._lock:
            if (run.cid, run.run) in self._runs:  # a run id names one run
                raise ConflictError("Đợt phát hành này đã được tạo.")
            self._runs[(run.cid, run.run)] = run

    def runs(self, cid: str, limit: int = 10) -> list[DispatchRun]:
        with self._lock:
            found = sorted((r for (c, _), r in self._runs.items() if c == cid), key=lambda r: r.run, reverse=True)
            return [replace(r, **{name: getattr(r, name) + n for name, n in self.progress.get((cid, r.run), {}).items()})
                    for r in found[:limit]]


class MemorySurvey:
    """`SurveyStore` in memory. The links and their counters are `MemoryLinks`', the campaigns and units
    `MemoryCampaigns`' and the responses `MemoryResponses`', as in DynamoDB they are those tables' items; the drafts
    and the unknown-token counters are its own. A step that reads or writes several of them holds their locks
    together (campaigns, links, responses, then its own: always in that order), so a submit is as atomic as its
    transaction."""

    def __init__(self, links: MemoryLinks, campaigns: MemoryCampaigns, responses: MemoryResponses) -> None:
        self._links = links
        self._campaigns = campaigns
        self._responses = responses
        self._lock = threading.RLock()
        self._drafts: dict[str, Draft] = {}
        self._misses: dict[str, int] = {}

    @contextmanager
    def _together(self) -> Iterator[None]:
        with self._campaigns._lock, self._links._lock, self._responses._lock, self._lock:
            yield

    def link_in_context(self, unit_key: str, slot: str) -> tuple[Link | None, Campaign | None, Unit | None]:
        cid, unit = unit_key.split("#", 1)
        with self._together():  # the three as they are at one moment
            return (self._links._links.get((unit_key, slot)), copy.deepcopy(self._campaigns._campaigns.get(cid)),
                    copy.deepcopy(self._campaigns._units.get((cid, unit))))

    def link_now(self, unit_key: str, slot: str) -> Link | None:
        with self._links._lock:
            return self._links._links.get((unit_key, slot))

    def get_draft(self, link: Link) -> Draft | None:
        with self._lock:
            return copy.deepcopy(self._drafts.get(survey_store.link_key(link)))

    def save_draft(self, link: Link, answers: dict, now: datetime, expires: datetime) -> None:
        with self._lock:  # a draft replaces the last one whole
            self._drafts[survey_store.link_key(link)] = Draft(answers=_as_json(answers), saved_at=now)

    def delete_draft(self, link: Link) -> None:
        with self._lock:
            self._drafts.pop(survey_store.link_key(link), None)

    def record_seen(self, link: Link, ip: str, ua: str) -> None:
        with self._links._lock:
            stored = self._links._links.get((link.unit_key, link.slot))
            if stored is not None:  # a set: one device is added once
                self._links._links[(link.unit_key, link.slot)] = replace(
                    stored, seen=(stored.seen or frozenset()) | {survey_store.device(ip, ua)})

    def _move_counts(self, link: Link, changes: dict[str, int]) -> None:
        self._links.add_counts(link.unit_key, {"all": changes, f"{link.group}#{link.purpose}": changes})

    def record_open(self, link: Link, now: datetime, ip: str, ua: str) -> bool:
        with self._links._lock:
            stored = self._links._links.get((link.unit_key, link.slot))
            # a link is opened once, and only after its invitation was sent
            if stored is None or stored.state != "sent" or stored.opened_at is not None:
                return False
            self._links._links[(link.unit_key, link.slot)] = replace(
                stored, state="opened", opened_at=now, open_ip=ip, open_ua=ua[:400], updated_at=now)
            self._move_counts(link, {"opened": 1, "sent": -1})
            return True

    def _gate_holds(self, gate: Gate) -> bool:
        campaign = self._campaigns._campaigns.get(gate.cid)
        unit = self._campaigns._units.get((gate.cid, gate.unit))  # absent: checked as DynamoDB checks no item
        # the campaign is still the version the window was computed from; the unit was not annulled since, and its
        # own survey deadline is still the one the window used
        return campaign is not None and campaign.version == gate.campaign_version and \
            (unit.annulled_at if unit else None) is None and \
            (unit.extensions.get("survey") if unit else None) == gate.extension

    def _submitted(self, link: Link, stored: Link, now: datetime, ip: str, ua: str, receipt: str) -> Link:
        moved = replace(stored, state="submitted", submitted_at=now, submit_ip=ip, submit_ua=ua[:400],
                        receipt=receipt, updated_at=now,
                        seconds_spent=max(0, int((now - (link.opened_at or now)).total_seconds())),
                        seen=(stored.seen or frozenset()) | {survey_store.device(ip, ua)})
        return moved if link.opened_at else replace(moved, opened_at=now, open_ip=ip, open_ua=ua[:400])

    def record_submission(self, link: Link, digest: str, response: Response, now: datetime, *, ip: str, ua: str,
                          receipt: str, drop_draft: bool = False, gate: Gate | None = None) -> bool:
        with self._together():
            stored = self._links._links.get((link.unit_key, link.slot))
            # all or nothing: the link moves only from the state it was read in and while it holds this token; the
            # response is written once; the gate still holds
            if link.state == "submitted" or stored is None or stored.state != link.state \
                    or digest not in stored.token_hashes \
                    or response.response_id in self._responses._responses.get(response.unit_key, {}) \
                    or (gate is not None and not self._gate_holds(gate)):
                return False
            self._links._links[(link.unit_key, link.slot)] = self._submitted(link, stored, now, ip, ua, receipt)
            self._responses.add(response)
            self._move_counts(link, {"submitted": 1, link.state: -1})
            if link.ministry:  # the ministry the form evaluates counts one answer, in the same step
                cid, province = link.unit_key.split("#", 1)
                unit_key, key = link_store.ministry_counter(cid, link.ministry, province, link.group)
                self._links.add_counts(unit_key, {key: {"answered": 1}})
            if drop_draft:
                self._drafts.pop(survey_store.link_key(link), None)
            return True

    def count_miss(self, ip: str, now: datetime, window: timedelta) -> int:
        key = f"survey-miss:{ip}:{int(now.timestamp() // window.total_seconds())}"
        with self._lock:
            self._misses[key] = self._misses.get(key, 0) + 1
            return self._misses[key]


def _as_json(value: Any) -> Any:
    """A value as a JSON attribute hands it back (keys strings, tuples lists)."""
    return json.loads(json.dumps(value))


class MemoryIntegrity:
    """`IntegrityStore` in memory. What a scan reads lives in the other stores, as in DynamoDB it lives in their
    tables: the responses `MemoryResponses` keeps (its `add` plays the submit), the login entries of `MemoryAudit`,
    and the annulment mark on `MemoryCampaigns`' units, written under that store's lock as the roster's state is."""

    def __init__(self, campaigns: MemoryCampaigns, responses: MemoryResponses, audit: MemoryAudit) -> None:
        self._campaigns = campaigns
        self._responses = responses
        self._audit = audit
        self._lock = threading.RLock()
        self._scans: dict[tuple[str, str], IntegrityScan] = {}

    def save(self, item: IntegrityScan) -> None:
        self.save_many([item])

    def save_many(self, items: list[IntegrityScan]) -> None:
        with self._lock:
            for item in items:  # a unit's scan replaces its last one whole
                self._scans[(item.cid, item.unit)] = replace(
                    item, flags=_as_json(item.flags), answer_counts=_as_json(item.answer_counts),
                    score_counts=_as_json(item.score_counts))

    def by_campaign(self, cid: str) -> list[IntegrityScan]:
        with self._lock:
            return [copy.deepcopy(scan) for (c, _), scan in sorted(self._scans.items()) if c == cid]

    def responses(self, unit_key: str) -> list[Response]:
        with self._responses._lock:
            return [copy.deepcopy(r) for _, r in sorted(self._responses._responses.get(unit_key, {}).items())]

    def response_scores(self, unit_key: str) -> list[dict]:
        return [{"group": r.group, "qid": r.qid, "purpose": r.purpose, "ministry": r.ministry,
                 "scores": r.scores or {}} for r in self.responses(unit_key)]

    def login_addresses(self, unit: str, start: datetime, end: datetime) -> set[str]:
        lo, hi = sort_key(start, ""), sort_key(end, "~")
        with self._audit._lock:
            return {e.source_ip for e in self._audit._entries.values()
                    if e.unit_key == unit and e.action == "login" and lo <= e.sk <= hi and e.source_ip}

    def set_annulled(self, cid: str, unit: str, now: datetime, who: str, reason: str) -> bool:
        with self._campaigns._lock:
            stored = self._campaigns._units.get((cid, unit))
            # a unit's results are annulled once (annulling again is refused, not repeated)
            if stored is None or stored.annulled_at is not None:
                return False
            self._campaigns._units[(cid, unit)] = replace(stored, annulled_at=now, annulled_by=who,
                                                          annul_reason=reason)
            return True

    def clear_annulled(self, cid: str, unit: str) -> bool:
        with self._campaigns._lock:
            stored = self._campaigns._units.get((cid, unit))
            if stored is None or stored.annulled_at is None:  # only annulled results are reinstated
                return False
            self._campaigns._units[(cid, unit)] = replace(stored, annulled_at=None, annulled_by=None,
                                                          annul_reason=None)
            return True


class _DeliveryItem(Struct):
    """One record of the delivery table (see DeliveryModel): counters, what came last (`last`: the `last_*`
    attributes written so far, by name), a stop, a preflight's data."""
    counts: dict[str, int] = field(default_factory=dict)
    last: dict[str, Any] = field(default_factory=dict)
    notified_at: datetime | None = None
    stopped_at: datetime | None = None
    stop: dict | None = None
    resumed_at: datetime | None = None
    resumed_by: str | None = None
    baseline: dict | None = None
    data: dict | None = None


class MemoryDelivery:
    """`DeliveryStore` in memory. The mail's outcome an event sets lives on the mail's record, which the links store
    keeps (`MemoryLinks.find_mail` answers it), as in DynamoDB."""

    def __init__(self, links: MemoryLinks) -> None:
        self._lock = threading.RLock()
        self._items: dict[tuple[str, str], _DeliveryItem] = {}
        self._links = links

    def _item(self, scope: str, key: str) -> _DeliveryItem:
        return self._items.setdefault((scope, key), _DeliveryItem())  # an update creates the record, as there

    @staticmethod
    def _counters(scope: str, key: str, item: _DeliveryItem | None) -> Counters:
        if item is None:
            return Counters(scope, key)
        return Counters(scope=scope, key=key, counts={n: item.counts.get(n, 0) for n in delivery_store.COUNTERS},
                        notified_at=item.notified_at, **item.last)

    @staticmethod
    def _stop(item: _DeliveryItem | None) -> Stop:
        if item is None:
            return Stop(None, None, {}, None, None, {})
        stop = item.stop or {}
        return Stop(stopped_at=item.stopped_at, reason=stop.get("reason"),
                    figures=copy.deepcopy(stop.get("figures") or {}), resumed_at=item.resumed_at,
                    resumed_by=item.resumed_by, baseline=copy.deepcopy(item.baseline or {}))

    def apply_event(self, event: EventRecord, now: datetime) -> bool:
        with self._lock:
            if (f"event#{event.message_id}", event.key) in self._items:  # an event moves the counters once
                return False
            self._items[(f"event#{event.message_id}", event.key)] = _DeliveryItem()
            deltas = {name: n for name, n in event.deltas.items() if n}
            moved = [self._item(event.unit_key, "unit"), self._item(delivery_store.ACCOUNT, "totals")] if deltas \
                else []
            if event.domain and (deltas or event.kind != "send"):
                domain = self._item(event.unit_key, f"domain#{event.domain}")
                moved.append(domain)
                if event.kind != "send":
                    self._said(domain, event)
                    domain.last["last_recipient"] = event.recipient
            for item in moved:
                for name, n in deltas.items():
                    item.counts[name] = item.counts.get(name, 0) + n
            self._links.record_mail_outcome(event.message_id, event.outcome, event.diagnostic or None)
            if event.preflight_key and event.kind != "send":
                self._said(self._item(event.unit_key, event.preflight_key), event)
            return True

    @staticmethod
    def _said(item: _DeliveryItem, event: EventRecord) -> None:
        item.last.update(last_kind=event.kind, last_at=event.at, last_diagnostic=event.diagnostic[:500],
                         last_status=event.status)

    def unit_counters(self, unit_key: str) -> Counters:
        with self._lock:
            return self._counters(unit_key, "unit", self._items.get((unit_key, "unit")))

    def domain_counters(self, unit_key: str, domain: str) -> Counters:
        with self._lock:
            key = f"domain#{domain}"
            return self._counters(unit_key, key, self._items.get((unit_key, key)))

    def account_counters(self) -> Counters:
        with self._lock:
            return self._counters(delivery_store.ACCOUNT, "totals", self._items.get((delivery_store.ACCOUNT, "totals")))

    def unit_domains(self, unit_key: str) -> list[Counters]:
        with self._lock:
            return [self._counters(scope, key, item) for (scope, key), item in sorted(self._items.items())
                    if scope == unit_key and key.startswith("domain#")]

    def mark_domain_notified(self, unit_key: str, domain: str, now: datetime) -> bool:
        with self._lock:
            item = self._item(unit_key, f"domain#{domain}")
            if item.notified_at is not None:  # one notice per domain
                return False
            item.notified_at = now
            return True

    def unit_stop(self, unit_key: str) -> Stop:
        with self._lock:
            return self._stop(self._items.get((unit_key, "unit")))

    def unit_state(self, unit_key: str) -> tuple[Counters, Stop]:
        with self._lock:
            item = self._items.get((unit_key, "unit"))
            return self._counters(unit_key, "unit", item), self._stop(item)

    def breaker(self) -> Stop:
        with self._lock:
            return self._stop(self._items.get((delivery_store.ACCOUNT, "breaker")))

    def unit_stops(self, unit_keys: list[str]) -> dict[str, Stop]:
        with self._lock:
            return {k: self._stop(self._items[(k, "unit")]) for k in unit_keys if (k, "unit") in self._items}

    def _set_stop(self, scope: str, key: str, reason: str, figures: dict, now: datetime) -> bool:
        with self._lock:
            item = self._item(scope, key)
            # a stop is recorded once, until the ministry resumes: the first reason stays
            if item.stopped_at is not None and (item.resumed_at is None or item.resumed_at < item.stopped_at):
                return False
            item.stopped_at, item.stop = now, {"reason": reason, "figures": copy.deepcopy(figures)}
            return True

    def _resume(self, scope: str, key: str, by: str, baseline: dict, now: datetime) -> bool:
        with self._lock:
            item = self._items.get((scope, key))
            # only a stop in force is resumed (and once)
            if item is None or item.stopped_at is None or \
                    (item.resumed_at is not None and item.resumed_at >= item.stopped_at):
                return False
            item.resumed_at, item.resumed_by, item.baseline = now, by, copy.deepcopy(baseline)
            return True

    def pause_unit(self, unit_key: str, reason: str, figures: dict, now: datetime) -> bool:
        return self._set_stop(unit_key, "unit", reason, figures, now)

    def resume_unit(self, unit_key: str, by: str, baseline: dict, now: datetime) -> bool:
        return self._resume(unit_key, "unit", by, baseline, now)

    def trip_breaker(self, reason: str, figures: dict, now: datetime) -> bool:
        return self._set_stop(delivery_store.ACCOUNT, "breaker", reason, figures, now)

    def reset_breaker(self, by: str, baseline: dict, now: datetime) -> bool:
        return self._resume(delivery_store.ACCOUNT, "breaker", by, baseline, now)

    @staticmethod
    def _retry_key(retry: Retry) -> tuple[str, str]:
        return "retry", f"{retry.at.isoformat()}#{retry.unit_key}#{retry.slot}"

    def schedule_retry(self, retry: Retry) -> None:
        with self._lock:
            self._items[self._retry_key(retry)] = _DeliveryItem(data={"retry": retry})  # replaces one kept there

    def due_retries(self, now: datetime, limit: int = 500) -> list[Retry]:
        with self._lock:
            due = [item.data["retry"] for (scope, key), item in sorted(self._items.items())
                   if scope == "retry" and key <= f"{now.isoformat()}#~" and item.data]
            return due[:limit]

    def take_retry(self, retry: Retry) -> bool:
        with self._lock:
            return self._items.pop(self._retry_key(retry), None) is not None  # one run acts on a retry

    def start_preflight(self, unit_key: str, preflight: Preflight, now: datetime) -> None:
        with self._lock:
            # the new preflight replaces the unit's last one whole, and each test mail starts "queued"
            self._items[(unit_key, "preflight")] = _DeliveryItem(data={"preflight": copy.deepcopy(preflight)})
            for address in preflight.addresses:
                self._items[(unit_key, delivery_store.preflight_key(preflight.pid, address))] = _DeliveryItem(
                    last={"last_kind": "queued"}, data={"address": address, "domain": address.rsplit("@", 1)[-1]})

    def last_preflight(self, unit_key: str) -> tuple[Preflight | None, list[PreflightResult]]:
        with self._lock:
            head = self._items.get((unit_key, "preflight"))
            if head is None or not head.data:
                return None, []
            preflight: Preflight = copy.deepcopy(head.data["preflight"])
            prefix = f"preflight#{preflight.pid}#"
            return preflight, [PreflightResult(preflight=preflight.pid, address=(item.data or {}).get("address", ""),
                                               domain=(item.data or {}).get("domain", ""),
                                               outcome=item.last.get("last_kind") or "queued",
                                               diagnostic=item.last.get("last_diagnostic"), at=item.last.get("last_at"))
                               for (scope, key), item in sorted(self._items.items())
                               if scope == unit_key and key.startswith(prefix)]

    def preflights_of(self, unit_keys: list[str]) -> dict[str, list[PreflightResult]]:
        with self._lock:
            out = {}
            for unit_key in sorted({k for k in unit_keys if (k, "preflight") in self._items}):
                _, results = self.last_preflight(unit_key)
                if results:
                    out[unit_key] = results
            return out

    def record_preflight_refusal(self, unit_key: str, pid: str, address: str, reason: str, now: datetime) -> None:
        with self._lock:
            item = self._item(unit_key, delivery_store.preflight_key(pid, address))
            item.last.update(last_kind="reject", last_at=now, last_diagnostic=reason[:500])


class SentMail(Struct, frozen=True):
    """A message `MemoryMailer` was handed."""
    message_id: str
    sender: str
    to: str
    raw: bytes


class MemoryMailer:
    """`Mailer` in memory: it accepts the configured sender (as SES accepts a verified identity), refuses for good the
    addresses in `refused` (a test puts them there), keeps every message in `sent`, and answers one statistics point
    counting them, beside those `report` adds (SES's own figures: bounces and complaints come to SES from the
    receiving servers). Throttling is not modelled."""

    def __init__(self, senders: tuple[str, ...] | None = None, rate: float = 14.0) -> None:
        self._lock = threading.RLock()
        self.senders = senders if senders is not None else (settings().mail_from,)
        self.rate = rate
        self.sent: list[SentMail] = []
        self.refused: set[str] = set()
        self._reported: list[dict] = []

    def max_send_rate(self) -> float:
        return self.rate

    def send_raw(self, sender: str, to: str, raw: bytes) -> str:
        with self._lock:
            if sender not in self.senders:  # a sender the service does not accept: nothing sent
                raise RejectedError(f"Did not have authority to send from email {sender}")
            if to in self.refused:  # an address refused for good: nothing sent
                raise RejectedError("Address blacklisted.")
            message_id = hashlib.sha256(b"%d|%s|" % (len(self.sent), to.encode()) + raw).hexdigest()[:32]
            self.sent.append(SentMail(message_id, sender, to, raw))
            return message_id

    def report(self, at: datetime, *, delivery_attempts: int = 0, bounces: int = 0, complaints: int = 0,
               rejects: int = 0) -> None:
        with self._lock:
            self._reported.append({"Timestamp": at, "DeliveryAttempts": delivery_attempts, "Bounces": bounces,
                                   "Complaints": complaints, "Rejects": rejects})

    def send_statistics(self) -> list[Mapping[str, Any]]:
        with self._lock:
            points: list[Mapping[str, Any]] = [dict(p) for p in self._reported]
            if self.sent:
                points.append({"Timestamp": datetime.now(timezone.utc), "DeliveryAttempts": len(self.sent),
                               "Bounces": 0, "Complaints": 0, "Rejects": 0})
            return points


class QueuedMessage(Struct, frozen=True):
    """A message `MemoryQueues` was handed: its body as the queue carries it (JSON), and its delay in seconds."""
    body: dict
    delay: int


class MemoryQueues:
    """`Queues` in memory: every message, per queue name, in `messages`; nothing consumes them."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.messages: dict[str, list[QueuedMessage]] = {}

    def send(self, queue: str, bodies: list[dict], delay: int = 0) -> None:
        origin = obs.origin()
        with self._lock:
            for body in bodies:
                carried = {"origin": origin, **body} if origin else body  # where the work came from
                self.messages.setdefault(queue, []).append(QueuedMessage(
                    json.loads(json.dumps(carried, ensure_ascii=False)), min(900, max(0, delay))))

    def send_job(self, body: dict) -> None:
        self.send(settings().jobs_queue, [body])

    def send_mail_batches(self, batches: list[dict], delay: int = 0) -> None:
        self.send(settings().mail_queue, [{**b, "mails": queue_store.pack(b["mails"])} for b in batches if b["mails"]],
                  delay)

    def receive(self, queue: str) -> list[dict]:
        """A consumer's receive: takes the bodies receivable now off the queue (a delayed message stays; there is
        no clock here to let its delay pass)."""
        with self._lock:
            held = self.messages.get(queue, [])
            self.messages[queue] = [m for m in held if m.delay]
            return [m.body for m in held if not m.delay]

    def mails(self) -> list[dict]:
        """Every mail queued for the sender, each with its batch's fields (`kind`, `cid` …) beside its own."""
        with self._lock:
            queued = list(self.messages.get(settings().mail_queue, []))
        return [{**{k: v for k, v in m.body.items() if k != "mails"}, **mail}
                for m in queued for mail in queue_store.unpack(m.body["mails"])]


def stores() -> Stores:
    """A fresh, empty set of in-memory stores."""
    campaigns, audit, responses = MemoryCampaigns(), MemoryAudit(), MemoryResponses()
    links = MemoryLinks(campaigns)
    return Stores(accounts=MemoryAccounts(), audit=audit, campaigns=campaigns,
                  questionnaires=MemoryQuestionnaires(), assessment=MemoryAssessment(), files=MemoryFiles(),
                  roster=MemoryRoster(campaigns), address_changes=MemoryAddressChanges(),
                  responses=responses, links=links, delivery=MemoryDelivery(links), mailer=MemoryMailer(),
                  queues=MemoryQueues(), integrity=MemoryIntegrity(campaigns, responses, audit),
                  survey=MemorySurvey(links, campaigns, responses))
