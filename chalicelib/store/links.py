"""Links, their tokens, the mails sent for them, dispatch runs and the counters kept on every change of a link's
state. Functions take and return the plain records below; the tables' models never leave this module."""
from __future__ import annotations

from msgspec import Struct
from msgspec.structs import fields, replace
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.errors import ConflictError
from chalicelib.store.connection import transactions
from chalicelib.store.errors import condition_failed
from chalicelib.store.models import DispatchModel, LinkModel, MailModel, StatsModel, TokenModel, UnitModel

STATES = ("issued", "sent", "opened", "submitted", "bounced", "failed")


class Link(Struct, frozen=True):
    """One survey link: a respondent × a questionnaire purpose (see LinkModel for each field)."""
    unit_key: str
    slot: str
    rid: str
    purpose: str
    qid: str
    q_version: int
    group: str
    email: str
    full_name: str
    state: str
    issued_at: datetime
    updated_at: datetime
    agency: str | None = None
    position: str | None = None
    ministry: str | None = None  # a managing-ministry form: the code of the ministry unit it evaluates
    token_hashes: tuple[str, ...] = ()
    queued_at: datetime | None = None
    issued_run: str | None = None
    queued_run: str | None = None
    sent_at: datetime | None = None
    last_mail_at: datetime | None = None
    reminders: int = 0
    problem: str | None = None
    opened_at: datetime | None = None
    open_ip: str | None = None
    open_ua: str | None = None
    submitted_at: datetime | None = None
    submit_ip: str | None = None
    submit_ua: str | None = None
    seconds_spent: int | None = None
    receipt: str | None = None
    seen: frozenset[str] | None = None
    delivery: str | None = None
    delivery_at: datetime | None = None
    no_mail: bool | None = None


class Token(Struct, frozen=True):
    """A token's hash and the link it opens."""
    token_hash: str
    unit_key: str
    slot: str
    kind: str  # "invite" | "reminder"
    issued_at: datetime
    expires_at: datetime | None = None


class Stats(Struct, frozen=True):
    """A unit's counters of links by current state, for the unit ("all") or one "<group>#<purpose>"."""
    unit_key: str
    key: str
    issued: int = 0
    sent: int = 0
    opened: int = 0
    submitted: int = 0
    bounced: int = 0
    failed: int = 0
    reminders: int = 0


class Mail(Struct, frozen=True):
    """A message handed to the mail service, by its message id."""
    message_id: str
    unit_key: str
    slot: str
    kind: str
    sent_at: datetime
    outcome: str = "sent"
    detail: str | None = None
    expires_at: datetime | None = None
    recipient: str | None = None
    attempt: int = 1
    preflight: str | None = None


class DispatchRun(Struct, frozen=True):
    """One dispatch run started by the ministry, with its progress."""
    cid: str
    run: str
    started_by: str
    started_at: datetime
    units: list[str]
    units_done: int = 0
    links_issued: int = 0
    mails_queued: int = 0
    mails_sent: int = 0
    mails_failed: int = 0
    finished_at: datetime | None = None


def _values(record: Any, cls: type) -> dict[str, Any]:
    return {f.name: getattr(record, f.name) for f in fields(cls)}


def link_of(item: LinkModel) -> Link:
    """The plain record of a stored link."""
    values = _values(item, Link)
    values["token_hashes"] = tuple(item.token_hashes or ())
    values["seen"] = frozenset(item.seen) if item.seen else None
    values["reminders"] = int(item.reminders or 0)
    return Link(**values)


_LINK_FIELDS = tuple(f.name for f in fields(Link))
_TOKEN_FIELDS = tuple(f.name for f in fields(Token))


def _present(record: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """A record's fields that hold a value: what a new item is built from (an absent attribute is None anyway, and
    dispatch builds tens of thousands of them)."""
    return {name: value for name in names if (value := getattr(record, name)) is not None}


def _link_model(link: Link) -> LinkModel:
    values = _present(link, _LINK_FIELDS)
    values["token_hashes"] = list(link.token_hashes)
    if link.seen:
        values["seen"] = set(link.seen)
    else:
        values.pop("seen", None)
    return LinkModel(**values)


def _stats(item: StatsModel) -> Stats:
    counts = {name: int(getattr(item, name) or 0) for name in (*STATES, "reminders")}
    return Stats(unit_key=item.unit_key, key=item.key, **counts)


def _run(item: DispatchModel) -> DispatchRun:
    return DispatchRun(**_values(item, DispatchRun))


# --- links and tokens ---------------------------------------------------------------------------------------------

def unit_links(unit_key: str, rid: str | None = None) -> list[Link]:
    """A unit's links in slot order (one respondent's with `rid`): one Query."""
    if rid:
        return [link_of(i) for i in LinkModel.query(unit_key, LinkModel.slot.startswith(f"{rid}#"))]
    return [link_of(i) for i in LinkModel.query(unit_key)]


def has_links(unit_key: str) -> bool:
    """Whether a unit has any link yet (its counters count one), without reading its links."""
    total = unit_totals(unit_key)
    return total is not None and any(getattr(total, s) for s in STATES)


def get_link(unit_key: str, slot: str) -> Link | None:
    try:
        return link_of(LinkModel.get(unit_key, slot))
    except LinkModel.DoesNotExist:
        return None


def get_token(token_hash: str) -> Token | None:
    try:
        item = TokenModel.get(token_hash)
    except TokenModel.DoesNotExist:
        return None
    return Token(**_values(item, Token))


def write_issued(links: list[Link], tokens: list[Token]) -> None:
    """Write new links and new tokens (batches; a link's slot key makes a second live link for a pair impossible)."""
    with LinkModel.batch_write() as batch:
        for link in links:
            batch.save(_link_model(link))
    with TokenModel.batch_write() as batch:
        for token in tokens:
            batch.save(TokenModel(**_present(token, _TOKEN_FIELDS)))


def delete_tokens(hashes: list[str]) -> None:
    with TokenModel.batch_write() as batch:
        for h in hashes:
            batch.delete(TokenModel(token_hash=h))


def requeue_invitation(link: Link, digest: str, run: str, now: datetime, in_flight: timedelta) -> bool:
    """Give an invitation that never left a fresh token (the only live one) and mark it queued by `run`.
    False when the link has moved on meanwhile (its invitation was sent) or another run's invitation is still on
    its way (queued less than `in_flight` ago)."""
    item = LinkModel(unit_key=link.unit_key, slot=link.slot)
    return _update(item, [LinkModel.token_hashes.set(cast(Any, [digest])), LinkModel.queued_at.set(now),
                          LinkModel.queued_run.set(run), LinkModel.updated_at.set(now)],
                   # only an invitation still waiting to leave is re-issued, and not while another run's
                   # invitation for it may still be in the mail queue (one invitation in flight per link)
                   condition=(LinkModel.state == "issued") & (
                       (LinkModel.queued_run == run) | LinkModel.queued_at.does_not_exist() |
                       (LinkModel.queued_at <= now - in_flight)))


def claim_link_for_reminder(link: Link, digest: str, now: datetime, remindable: tuple[str, ...],
                            interval: timedelta) -> bool:
    """Claim a reminder for a link and add the reminder's token to it (earlier ones stay valid). False when the link
    is no longer remindable or another reminder claimed it within `interval`."""
    item = LinkModel(unit_key=link.unit_key, slot=link.slot)
    return _update(item, [LinkModel.last_mail_at.set(now), LinkModel.queued_at.set(now),
                          LinkModel.token_hashes.set(LinkModel.token_hashes.append([digest]))],
                   # at most one reminder per interval, only to someone who can still answer and has not
                   # reported our mail as spam
                   condition=LinkModel.state.is_in(*remindable) & LinkModel.no_mail.does_not_exist() & (
                       LinkModel.last_mail_at.does_not_exist() | (LinkModel.last_mail_at < now - interval)))


def record_reminder_sent(link: Link, at: datetime) -> None:
    """A reminder left: the link's count and last mail, and the unit's reminder counters."""
    # unconditional: the sender calls it once per reminder that left, whatever the link's state by then
    LinkModel(unit_key=link.unit_key, slot=link.slot).update(
        actions=[LinkModel.reminders.add(1), LinkModel.last_mail_at.set(at)])
    add_counts(link.unit_key, {"all": {"reminders": 1}, f"{link.group}#{link.purpose}": {"reminders": 1}})


def _update(item: LinkModel, actions: list, condition: Any) -> bool:
    try:
        item.update(actions=actions, condition=condition)
        return True
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise


# --- state changes, with their counters ---------------------------------------------------------------------------

def move(link: Link, to_state: str, from_states: tuple[str, ...], now: datetime, *,
         progress: tuple[str, str, str] | None = None) -> bool:
    """Change a link's state and its counters in one transaction, only if it is still in the state it was read
    in (one of `from_states`). False when someone else moved it first.
    `progress` (campaign, run, counter): a dispatch run's counter that goes up by one with it."""
    return _move(link, to_state, from_states, now, progress=progress)


def mark_sent(link: Link, digest: str, at: datetime, progress: tuple[str, str, str] | None) -> bool:
    """The invitation carrying `digest` left: issued → sent, only while that token is still the link's."""
    return _move(link, "sent", ("issued",), at, sets={"sent_at": at, "last_mail_at": at}, need_token=digest,
                 progress=progress)


def mark_failed(link: Link, reason: str, now: datetime, progress: tuple[str, str, str] | None) -> bool:
    """The mail service refused the invitation for good: issued → failed, with the reason."""
    return _move(link, "failed", ("issued",), now, sets={"problem": reason[:500]}, progress=progress)


def mark_bounced(link: Link, reason: str, now: datetime) -> bool:
    """A delivered invitation bounced for good: sent or opened → bounced, with the reason."""
    return _move(link, "bounced", ("sent", "opened"), now, sets={"problem": reason[:500]})


def record_delivery(link: Link, delivery: str, now: datetime, *, problem: str | None = None, stop_mail: bool = False,
                    state: str | None = None, from_states: tuple[str, ...] = ()) -> bool:
    """What an SES event says of the link's mail: its delivery outcome (and problem), a stop to further mail,
    and with `state` the link's new state (from one of `from_states`, with its counters). False when the link
    moved on or was re-addressed meanwhile."""
    sets = delivery_sets(delivery, now, problem, stop_mail)
    if state is not None and state != link.state:
        return _move(link, state, from_states, now, sets=sets, need_email=link.email)
    actions: list[Action] = [getattr(LinkModel, name).set(value) for name, value in sets.items()]
    # the event is about the mail sent to this address: a corrected address's link is not the old mail's
    return _update(LinkModel(unit_key=link.unit_key, slot=link.slot), actions, condition=LinkModel.email == link.email)


def delivery_sets(delivery: str, now: datetime, problem: str | None, stop_mail: bool) -> dict[str, Any]:
    """The link's attributes `record_delivery` writes (every implementation writes the same)."""
    sets: dict[str, Any] = {"delivery": delivery, "delivery_at": now}
    if problem is not None:
        sets["problem"] = problem[:500]
    if stop_mail:
        sets["no_mail"] = True
    return sets


READDRESS_REMOVES = ("problem", "opened_at", "open_ip", "open_ua")


def readdress(link: Link, email: str, digest: str, from_states: tuple[str, ...], now: datetime) -> Link | None:
    """Send the link to a corrected address: back to issued with a new (only) token, no problem and no first
    interaction (the new holder's open is recorded afresh). The link as written, or None when it moved on meanwhile
    (answered, or out of `from_states`)."""
    sets: dict[str, Any] = {"email": email, "token_hashes": [digest], "queued_at": now}
    if not _move(link, "issued", from_states, now, sets=sets, removes=READDRESS_REMOVES):
        return None
    return readdressed(link, email, digest, now)


def readdressed(link: Link, email: str, digest: str, now: datetime) -> Link:
    """The link as `readdress` writes it."""
    return replace(link, state="issued", updated_at=now, email=email, token_hashes=(digest,), queued_at=now,
                   problem=None, opened_at=None, open_ip=None, open_ua=None)


def _move(link: Link, to_state: str, from_states: tuple[str, ...], now: datetime, *,
          sets: dict[str, Any] | None = None, removes: tuple[str, ...] = (), need_token: str | None = None,
          progress: tuple[str, str, str] | None = None, need_email: str | None = None) -> bool:
    if link.state not in from_states:
        return False
    # the link is still in the state it was read in (so its counters move from that state exactly once) ...
    condition = LinkModel.state == link.state
    if need_token:
        # ... and still holds the token the caller acts for (a re-issued link's old mails change nothing)
        condition &= LinkModel.token_hashes.contains(need_token)
    if need_email:
        # ... and still goes to the address the caller's mail went to (a corrected address is left alone)
        condition &= LinkModel.email == need_email
    actions: list[Action] = [LinkModel.state.set(to_state), LinkModel.updated_at.set(now)]
    actions += [getattr(LinkModel, name).set(value) for name, value in (sets or {}).items()]
    actions += [getattr(LinkModel, name).remove() for name in removes]
    try:
        with TransactWrite(connection=transactions()) as tx:
            tx.update(LinkModel(unit_key=link.unit_key, slot=link.slot), actions=actions, condition=condition)
            if link.state != to_state:
                counts = [getattr(StatsModel, to_state).add(1), getattr(StatsModel, link.state).add(-1)]
                for key in ("all", f"{link.group}#{link.purpose}"):
                    tx.update(StatsModel(unit_key=link.unit_key, key=key), actions=counts)
            if progress:
                cid, run, counter = progress
                tx.update(DispatchModel(cid=cid, run=run), actions=[getattr(DispatchModel, counter).add(1)])
    except TransactWriteError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


# --- counters -----------------------------------------------------------------------------------------------------

TRANSACTION_ITEMS = 100  # DynamoDB's limit of items in one transaction


def add_counts(unit_key: str, deltas: dict[str, dict[str, int]], once: str | None = None) -> None:
    """deltas: stats key ("all" or "<group>#<purpose>"; a ministry's "<province>#<group>") -> {counter: +n/-n}
    (a state, or a ministry's "asked"). With `once`, each counter takes the
    deltas only the first time they come with that key (a job that died after counting counts again when retried)."""
    for key, changes in deltas.items():
        actions = _count_actions(changes)
        if not actions:
            continue
        if once is None:
            StatsModel(unit_key=unit_key, key=key).update(actions=actions)
        else:
            _count_once(unit_key, key, actions, once)


def _count_actions(changes: dict[str, int]) -> list[Action]:
    return [getattr(StatsModel, counter).add(n) for counter, n in changes.items() if n]


def _once_condition(once: str) -> Any:
    # a counter takes the deltas of one `once` key at most once
    return StatsModel.applied.does_not_exist() | ~StatsModel.applied.contains(once)


def _count_once(unit_key: str, key: str, actions: list[Action], once: str) -> None:
    try:
        StatsModel(unit_key=unit_key, key=key).update(actions=actions + [StatsModel.applied.add({once})],
                                                      condition=_once_condition(once))
    except UpdateError as exc:
        if not condition_failed(exc):
            raise


def count_issued(cid: str, unit: str, deltas: dict[str, dict[str, int]], asked: dict[str, dict[str, int]],
                 once: str) -> None:
    """The counters of a part of a unit's dispatch job: the unit's own (`deltas`, as in add_counts) and the
    managing-ministry forms issued to its respondents (`asked`: ministry code -> group -> forms), each counter
    taking them once for the key `once`. One transaction for them all (up to TRANSACTION_ITEMS counters each);
    when it is refused (a counter took `once` already, from an attempt that counted counter by counter and died, or
    another transaction holds one of them), counter by counter, each still once."""
    items: list[tuple[str, str, list[Action]]] = []
    for key, changes in deltas.items():
        items.append((f"{cid}#{unit}", key, _count_actions(changes)))
    for ministry, by_group in asked.items():
        for group, forms in by_group.items():
            items.append((*ministry_counter(cid, ministry, unit, group), _count_actions({"asked": forms})))
    items = [item for item in items if item[2]]
    for start in range(0, len(items), TRANSACTION_ITEMS):
        part = items[start:start + TRANSACTION_ITEMS]
        try:
            with TransactWrite(connection=transactions()) as tx:
                for unit_key, key, actions in part:
                    tx.update(StatsModel(unit_key=unit_key, key=key),
                              actions=actions + [StatsModel.applied.add({once})], condition=_once_condition(once))
        except TransactWriteError as exc:
            if not condition_failed(exc):  # cancelled (a condition, a conflict) or else a failure to report
                raise
            for unit_key, key, actions in part:
                _count_once(unit_key, key, actions, once)


class MinistryCount(Struct, frozen=True):
    """An assessed ministry's survey counters for one province's respondents of one group: the managing-ministry
    forms about the ministry they were given (`asked`) and sent back (`answered`)."""
    province: str
    group: str
    asked: int = 0
    answered: int = 0


def ministry_counter(cid: str, ministry: str, province: str, group: str) -> tuple[str, str]:
    """The key of a ministry's counter item: under the ministry unit's key, one item per province and group."""
    return f"{cid}#{ministry}", f"{province}#{group}"


def ministry_counts(cid: str, ministry: str) -> list[MinistryCount]:
    """Every counter of an assessed ministry (one Query), by province and group."""
    out = []
    for item in StatsModel.query(ministry_counter(cid, ministry, "", "")[0]):
        province, _, group = item.key.partition("#")
        if group and (item.asked is not None or item.answered is not None):
            out.append(MinistryCount(province=province, group=group, asked=int(item.asked or 0),
                                     answered=int(item.answered or 0)))
    return out


def stats(unit_key: str) -> list[Stats]:
    """All of a unit's counters ("all" and every "<group>#<purpose>")."""
    return [_stats(i) for i in StatsModel.query(unit_key)]


def unit_totals(unit_key: str) -> Stats | None:
    """A unit's "all" counters, read consistently; None before its first link."""
    try:
        return _stats(StatsModel.get(unit_key, "all", consistent_read=True))
    except StatsModel.DoesNotExist:
        return None


def totals_of(unit_keys: list[str]) -> list[Stats]:
    """The "all" counters of many units in one batch (units without links are missing)."""
    return [_stats(i) for i in StatsModel.batch_get([(k, "all") for k in unit_keys])]


def counters(keys: list[tuple[str, str]]) -> dict[tuple[str, str], dict[str, int]]:
    """Several units' counter records ((unit key, counter key) pairs) read in batches of 100: each found one's
    counts by link state; records not written yet are missing."""
    return {(i.unit_key, i.key): {state: int(getattr(i, state) or 0) for state in STATES}
            for i in StatsModel.batch_get(keys)}


# --- mails --------------------------------------------------------------------------------------------------------

def record_mail(mail: Mail) -> bool:
    """Keep a message handed to the mail service, for its events to find. False when a record of that message id
    exists already (left as it is)."""
    try:
        # a message id names one mail: its record is written once, never over one whose outcome an event set
        MailModel(**_values(mail, Mail)).save(condition=MailModel.message_id.does_not_exist())
        return True
    except PutError as exc:
        if condition_failed(exc):
            return False
        raise


def find_mail(message_id: str) -> Mail | None:
    try:
        values = _values(MailModel.get(message_id), Mail)
    except MailModel.DoesNotExist:
        return None
    values["attempt"] = int(values["attempt"] or 1)
    return Mail(**values)


def record_mail_outcome(message_id: str, outcome: str, detail: str | None = None) -> None:
    """What the mail service reported for a message (delivered, bounced with its reason, complaint)."""
    actions: list[Action] = [MailModel.outcome.set(outcome)]
    if detail is not None:
        actions.append(MailModel.detail.set(detail[:500]))
    MailModel(message_id=message_id).update(actions=actions)


# --- a unit's dispatch job and the runs -----------------------------------------------------------------------------

def acquire_lease(cid: str, unit: str, now: datetime, until: datetime) -> bool:
    try:
        UnitModel(cid=cid, unit=unit).update(
            actions=[UnitModel.dispatch_lease.set(until)],
            # one dispatch job per unit at a time (a lease left by a dead job expires)
            condition=UnitModel.unit.exists() & (UnitModel.dispatch_lease.does_not_exist() |
                                                 (UnitModel.dispatch_lease < now)))
        return True
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise


def release_lease(cid: str, unit: str) -> None:
    # unconditional: only the job holding the lease releases it, at its end (finished or failed)
    UnitModel(cid=cid, unit=unit).update(actions=[UnitModel.dispatch_lease.remove()])


def mark_notified(cid: str, unit: str, run: str) -> bool:
    try:
        UnitModel(cid=cid, unit=unit).update(
            actions=[UnitModel.dispatch_notified.set(run)],
            # a unit of the campaign is told once per run that its invitations are out
            condition=UnitModel.unit.exists() & (UnitModel.dispatch_notified.does_not_exist() |
                                                 (UnitModel.dispatch_notified != run)))
        return True
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise


def create_run(run: DispatchRun) -> None:
    try:
        # a run id names one run: a second with the same id never overwrites the first and its counters
        DispatchModel(**_values(run, DispatchRun)).save(condition=DispatchModel.run.does_not_exist())
    except PutError as exc:
        if condition_failed(exc):
            raise ConflictError("Đợt phát hành này đã được tạo.") from exc
        raise


def runs(cid: str, limit: int = 10) -> list[DispatchRun]:
    """A campaign's latest runs, newest first."""
    return [_run(i) for i in DispatchModel.query(cid, scan_index_forward=False, limit=limit)]


def mark_done(cid: str, unit: str, run: str, mark: str, **adds: int) -> bool:
    """Record on the unit, together with what it adds to the run's progress and only once, that a part of the
    unit's job (`mark`: "<run>#<chunk>") or the whole of it (`mark` = run) is done. False when an earlier
    delivery of the same job got there first."""
    actions = [getattr(DispatchModel, k).add(v) for k, v in adds.items() if v]
    try:
        with TransactWrite(connection=transactions()) as tx:
            tx.update(UnitModel(cid=cid, unit=unit), actions=[UnitModel.dispatch_done.add({mark})],
                      # each part of a unit's job counts in the run's progress once, whichever delivery gets there
                      condition=UnitModel.unit.exists() & (UnitModel.dispatch_done.does_not_exist() |
                                                           ~UnitModel.dispatch_done.contains(mark)))
            if actions:
                tx.update(DispatchModel(cid=cid, run=run), actions=actions)
        return True
    except TransactWriteError as exc:
        if condition_failed(exc):
            return False
        raise


# --- the contract services rely on --------------------------------------------------------------------------------

class LinksStore(Protocol):
    """The links and their counters as the services that are handed stores read them (the progress views, the
    integrity scan, the results and the survey's token lookup) and as the mail sender and the transient retries
    write them, and as dispatch issues, counts and re-queues them and keeps its runs and its jobs' leases and done
    parts; the survey's writes are `SurveyStore`'s (`store/survey.py`). This module's functions are its DynamoDB
    implementation (`chalicelib/store/stores.py` wires the module), `chalicelib/store/memory.py` its in-memory one,
    and `tests/unit/test_store_contract.py` runs the same cases against both. What every implementation keeps:
    - `unit_links` answers a unit's links in slot order (so a respondent's links come together, in roster order),
      only one respondent's with `rid`; never an answer (links carry none);
    - `stats` answers every counter record of a unit ("all" and each "<group>#<purpose>") in key order, each with
      every state (0 when never moved); `totals_of` the "all" record of each unit that has one, in no particular
      order, leaving out units without links;
    - `ministry_counts` answers an assessed ministry's counters, one per province and group that was given forms
      or answers, in "<province>#<group>" order, with `asked` and `answered` as counted (0 for the one never
      counted);
    - `counters` answers, for each (unit key, counter key) pair whose record exists, its counts of links by state
      (every state, 0 when never moved); pairs without a record are missing;
    - `get_token` answers the token record of a token's hash as it was written (the link it opens), None when
      there is none (how tokens that do not name their link are found);
    - `get_link` answers a link as last written, None for a slot never written; `write_issued` writes links whole
      (replacing one of the same unit and slot) and token records; `delete_tokens` removes token records (an
      unknown hash is no error);
    - a link changes state only from the state it was read in (the record handed in, which must be one of the
      states the method names), and the unit's counters ("all" and the link's "<group>#<purpose>") move from that
      state to the new one in the same step, with the dispatch run's counter `progress` names (campaign, run,
      counter) when given: two callers acting on one read, one wins; a refused move writes nothing and answers
      False (or None). `mark_sent`: issued → sent (sent and last mail instants), only while the link still holds
      the token `digest`; `mark_failed`: issued → failed with the reason (500 characters); `record_delivery`: the
      event's outcome and instant, its problem (500 characters) and the stop to further mail, only while the link
      still goes to the address it was read with, and with `state` the move from one of `from_states` (no move
      when the link is in `state` already); `readdress`: back to issued for `email` with `digest` its only token,
      queued now, no problem and no first open, from one of `from_states`, answering the link as written;
    - `record_reminder_sent` adds one to the link's reminders and to the unit's reminder counters and sets its last
      mail, unconditionally (each reminder that left counts once, from the one call the sender makes for it);
    - `unit_totals` answers a unit's "all" counters as last written, None before its first link;
    - `mark_notified` answers True once per unit and run (and False for a unit the campaign does not have);
    - `record_mail` writes a mail's record once: a second record of the same message id is refused (False) and
      the first, with the outcome its events set, stays; `find_mail` answers it (None for an unknown id);
    dispatch's:
    - `has_links` answers whether a unit's "all" counters count a link in some state (False before its first);
    - `requeue_invitation` gives a link `digest` as its only token, queued now by `run`, only while the link is
      issued and its invitation is not in flight (queued by `run` itself, never queued, or queued at least
      `in_flight` before now); refused: False, nothing written;
    - `claim_link_for_reminder` adds `digest` to the link's tokens (earlier ones stay valid) with its last mail and
      queued instants now, only while the link is in one of `remindable`, no stop to mail was recorded on it and
      it was not mailed within `interval` before now: one reminder per interval, whoever claims first; refused:
      False, nothing written;
    - `count_issued` adds a part of a unit's job's counts to the unit's counters (`deltas`, "all" and
      "<group>#<purpose>" -> counter -> n) and to the managing ministries' `asked` counters (`asked`: ministry ->
      group -> forms, on the records `ministry_counter` names), each counter taking them once for the key `once`:
      the same part counted again adds nothing, whether the first counting was whole or cut short;
    - `acquire_lease` answers True and holds the unit's dispatch lease until `until` only for a unit the campaign
      has that holds no lease, or one that ran out before `now`: one job per unit at a time (False: nothing
      written); `release_lease` drops it;
    - `mark_done` records `mark` among the unit's done parts (`Unit.dispatch_done`) and adds `adds` to the run's
      counters (`units_done`, `links_issued`, `mails_queued`) in the same step, once per mark: the same mark again,
      or a unit the campaign does not have, writes nothing and answers False;
    - `create_run` writes a run once: a second with the same campaign and run id raises ConflictError and the
      first stays; `runs` answers a campaign's latest `limit` runs, newest first (a run id starts with its
      instant), each with the counters `mark_done` and the moves' `progress` added to it."""

    def unit_links(self, unit_key: str, rid: str | None = None) -> list[Link]: ...

    def stats(self, unit_key: str) -> list[Stats]: ...

    def totals_of(self, unit_keys: list[str]) -> list[Stats]: ...

    def ministry_counts(self, cid: str, ministry: str) -> list[MinistryCount]: ...

    def counters(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], dict[str, int]]: ...

    def get_token(self, token_hash: str) -> Token | None: ...

    def get_link(self, unit_key: str, slot: str) -> Link | None: ...

    def write_issued(self, links: list[Link], tokens: list[Token]) -> None: ...

    def delete_tokens(self, hashes: list[str]) -> None: ...

    def mark_sent(self, link: Link, digest: str, at: datetime, progress: tuple[str, str, str] | None) -> bool: ...

    def mark_failed(self, link: Link, reason: str, now: datetime, progress: tuple[str, str, str] | None) -> bool: ...

    def record_delivery(self, link: Link, delivery: str, now: datetime, *, problem: str | None = None,
                        stop_mail: bool = False, state: str | None = None,
                        from_states: tuple[str, ...] = ()) -> bool: ...

    def readdress(self, link: Link, email: str, digest: str, from_states: tuple[str, ...],
                  now: datetime) -> Link | None: ...

    def record_reminder_sent(self, link: Link, at: datetime) -> None: ...

    def unit_totals(self, unit_key: str) -> Stats | None: ...

    def mark_notified(self, cid: str, unit: str, run: str) -> bool: ...

    def record_mail(self, mail: Mail) -> bool: ...

    def find_mail(self, message_id: str) -> Mail | None: ...

    def has_links(self, unit_key: str) -> bool: ...

    def requeue_invitation(self, link: Link, digest: str, run: str, now: datetime, in_flight: timedelta) -> bool: ...

    def claim_link_for_reminder(self, link: Link, digest: str, now: datetime, remindable: tuple[str, ...],
                                interval: timedelta) -> bool: ...

    def count_issued(self, cid: str, unit: str, deltas: dict[str, dict[str, int]],
                     asked: dict[str, dict[str, int]], once: str) -> None: ...

    def acquire_lease(self, cid: str, unit: str, now: datetime, until: datetime) -> bool: ...

    def release_lease(self, cid: str, unit: str) -> None: ...

    def mark_done(self, cid: str, unit: str, run: str, mark: str, **adds: int) -> bool: ...

    def create_run(self, run: DispatchRun) -> None: ...

    def runs(self, cid: str, limit: int = 10) -> list[DispatchRun]: ...
