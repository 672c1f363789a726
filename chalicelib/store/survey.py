"""The respondent's side: drafts, the first interaction, the exactly-once submit, and guessing limits.

`SurveyStore` is the contract the survey service relies on; this module's functions are its DynamoDB implementation
(the module itself is the object: `chalicelib/store/stores.py` wires it), `chalicelib/store/memory.py` its in-memory
one (`MemorySurvey`), and `tests/unit/test_store_contract.py` runs the same cases against both."""
from __future__ import annotations

from msgspec import Struct
from msgspec.structs import fields
from datetime import datetime, timedelta
from typing import Any, Protocol

from pynamodb.exceptions import TransactGetError, TransactWriteError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactGet, TransactWrite

from chalicelib.store import campaigns as campaign_store
from chalicelib.store.campaigns import Campaign, Unit
from chalicelib.store.campaigns import campaign_of, unit_of
from chalicelib.store.connection import transactions
from chalicelib.store.errors import condition_failed
from chalicelib.store.links import Link, get_link, link_of, ministry_counter
from chalicelib.store.models import (CampaignModel, DraftModel, LinkModel, ResponseModel, StatsModel, ThrottleModel,
                                     UnitModel)


class Draft(Struct, frozen=True):
    """Answers saved as the respondent goes."""
    answers: dict
    saved_at: datetime


class Response(Struct, frozen=True):
    """Submitted answers, stored apart from who gave them: no respondent id, name or e-mail."""
    unit_key: str
    response_id: str
    qid: str
    q_version: int
    group: str
    purpose: str
    answers: dict
    scores: dict
    submitted_at: datetime
    ministry: str | None = None  # a managing-ministry form: the code of the ministry unit it evaluates


def _values(record: Any, cls: type) -> dict[str, Any]:
    return {f.name: getattr(record, f.name) for f in fields(cls)}


def response_of(item: ResponseModel) -> Response:
    return Response(**_values(item, Response))


class Gate(Struct, frozen=True):
    """What a decision that the survey is open for a link's unit was made on: the campaign's version (its phases
    change only with a new version) and the unit's own survey extension. The submit transaction checks both, so a
    decision made on a copy kept between requests holds at the very moment the response is written."""
    cid: str
    unit: str
    campaign_version: int
    extension: str | None


class SurveyStore(Protocol):
    """What the respondent's survey reads and writes, with what every implementation keeps:
    - `link_in_context` answers a link with its campaign and unit as they are at one moment (a strongly consistent
      read of the three together), None for what does not exist; `link_now` the link alone, strongly consistent;
    - `get_draft` answers the draft last saved for a link (answers as JSON hands them back), None when there is
      none; `save_draft` replaces it whole; `delete_draft` removes it (nothing when there is none);
    - `record_seen` adds the device (`device(ip, ua)`) to an existing link's `seen`, a set: once per device;
    - `record_open` moves a link `sent → opened` once, with its instant, address and user agent (first 400
      characters), and moves its counters ("all" and "<group>#<purpose>": opened +1, sent −1) in the same step;
      False, and nothing written, when the stored link is not `sent` or was opened already (or does not exist);
    - `record_submission` is one all-or-nothing step: the link moves to `submitted` (with the instant, address,
      user agent, receipt, seconds since it was opened, the open recorded now if it never was, the device in
      `seen`) only from the state it was read in (`link.state`, never "submitted") and only while it still holds
      the token's hash `digest`; the response is written once (an id already stored refuses the step); the
      counters move with it (submitted +1, the state read −1, on "all" and "<group>#<purpose>"), and a
      managing-ministry form counts one answer on the counter of the ministry it evaluates
      (`links.ministry_counter`); with `drop_draft` the link's draft is deleted in it; with `gate` the campaign
      must still be at `campaign_version` and the unit neither annulled nor with a survey extension other than
      `gate.extension` (none when None). False, and nothing written, when any condition fails: of any number of
      submits of one link, exactly one is True;
    - `count_miss` counts one unknown-token attempt from an address in the current window (windows of `window`
      from the epoch) and answers the count in that window so far, this one included."""

    def link_in_context(self, unit_key: str, slot: str) -> tuple[Link | None, Campaign | None, Unit | None]: ...

    def link_now(self, unit_key: str, slot: str) -> Link | None: ...

    def get_draft(self, link: Link) -> Draft | None: ...

    def save_draft(self, link: Link, answers: dict, now: datetime, expires: datetime) -> None: ...

    def record_seen(self, link: Link, ip: str, ua: str) -> None: ...

    def delete_draft(self, link: Link) -> None: ...

    def record_open(self, link: Link, now: datetime, ip: str, ua: str) -> bool: ...

    def record_submission(self, link: Link, digest: str, response: Response, now: datetime, *, ip: str, ua: str,
                          receipt: str, drop_draft: bool = False, gate: Gate | None = None) -> bool: ...

    def count_miss(self, ip: str, now: datetime, window: timedelta) -> int: ...


def link_key(link: Link) -> str:
    return f"{link.unit_key}|{link.slot}"


def link_in_context(unit_key: str, slot: str) -> tuple[Link | None, Campaign | None, Unit | None]:
    """A link with its campaign and its unit, as they are now: one strongly consistent round trip (TransactGetItems).
    Nothing here is kept between requests: a deadline extended or a unit annulled a moment ago already counts.
    None for what does not exist."""
    cid, unit = unit_key.split("#", 1)
    try:
        with TransactGet(connection=transactions()) as tx:
            link_future = tx.get(LinkModel, unit_key, slot)
            unit_future = tx.get(UnitModel, cid, unit)
            campaign_future = tx.get(CampaignModel, "CAMPAIGN", cid)
    except TransactGetError:
        # a transaction writing one of the three is under way (DynamoDB refuses the read then): read them one by one
        return get_link(unit_key, slot), campaign_store.find_campaign(cid), campaign_store.find_unit(cid, unit)
    try:
        link: Link | None = link_of(link_future.get())
    except LinkModel.DoesNotExist:
        link = None
    try:
        found_unit: Unit | None = unit_of(unit_future.get())
    except UnitModel.DoesNotExist:
        found_unit = None
    try:
        campaign: Campaign | None = campaign_of(campaign_future.get())
    except CampaignModel.DoesNotExist:
        campaign = None
    return link, campaign, found_unit


def link_now(unit_key: str, slot: str) -> Link | None:
    """A link as it is now (a strongly consistent read), or None."""
    try:
        return link_of(LinkModel.get(unit_key, slot, consistent_read=True))
    except LinkModel.DoesNotExist:
        return None


def get_draft(link: Link) -> Draft | None:
    try:
        item = DraftModel.get(link_key(link))
    except DraftModel.DoesNotExist:
        return None
    return Draft(answers=item.answers, saved_at=item.saved_at)


def save_draft(link: Link, answers: dict, now: datetime, expires: datetime) -> None:
    DraftModel(link_key=link_key(link), answers=answers, saved_at=now, expires_at=expires).save()


def device(ip: str, ua: str) -> str:
    return f"{ip} | {ua[:160]}"


def record_seen(link: Link, ip: str, ua: str) -> None:
    """Remember where the link is used from (a set: repeated saves from one device add nothing)."""
    LinkModel(unit_key=link.unit_key, slot=link.slot).update(actions=[LinkModel.seen.add({device(ip, ua)})])


def delete_draft(link: Link) -> None:
    DraftModel(link_key=link_key(link)).delete()


def record_open(link: Link, now: datetime, ip: str, ua: str) -> bool:
    """The first interaction (not the first GET, which mail scanners make): sent → opened, once."""
    try:
        with TransactWrite(connection=transactions()) as tx:
            tx.update(LinkModel(unit_key=link.unit_key, slot=link.slot),
                      actions=[LinkModel.state.set("opened"), LinkModel.opened_at.set(now),
                               LinkModel.open_ip.set(ip), LinkModel.open_ua.set(ua[:400]),
                               LinkModel.updated_at.set(now)],
                      # a link is opened once, and only after its invitation was sent
                      condition=(LinkModel.state == "sent") & LinkModel.opened_at.does_not_exist())
            for key in ("all", f"{link.group}#{link.purpose}"):
                tx.update(StatsModel(unit_key=link.unit_key, key=key),
                          actions=[StatsModel.opened.add(1), StatsModel.sent.add(-1)])
        return True
    except TransactWriteError as exc:
        if condition_failed(exc):
            return False
        raise


def record_submission(link: Link, digest: str, response: Response, now: datetime, *, ip: str, ua: str,
                      receipt: str, drop_draft: bool = False, gate: Gate | None = None) -> bool:
    """One conditional transaction: the link moves to submitted only from the state it was read in and while it
    still holds this token; the response (without identity) is written with it; the counters move too.
    A managing-ministry form counts as answered for the ministry it evaluates in the same transaction.
    With `drop_draft`, the link's draft is deleted in it as well (it has served its purpose). With `gate`, the
    campaign and the unit must still be as the survey's window was decided on (see `Gate`).
    False when a condition fails (another submit won, the link changed, or the gate no longer holds)."""
    if link.state == "submitted":  # a link is submitted at most once: never again from "submitted"
        return False
    first_seen = link.opened_at or now
    actions: list[Action] = [
        LinkModel.state.set("submitted"), LinkModel.submitted_at.set(now), LinkModel.submit_ip.set(ip),
        LinkModel.submit_ua.set(ua[:400]), LinkModel.receipt.set(receipt), LinkModel.updated_at.set(now),
        LinkModel.seconds_spent.set(max(0, int((now - first_seen).total_seconds())))]
    if link.opened_at is None:
        actions += [LinkModel.opened_at.set(now), LinkModel.open_ip.set(ip), LinkModel.open_ua.set(ua[:400])]
    actions.append(LinkModel.seen.add({device(ip, ua)}))
    try:
        with TransactWrite(connection=transactions()) as tx:
            tx.update(LinkModel(unit_key=link.unit_key, slot=link.slot), actions=actions,
                      # a link is submitted at most once: only from the state it was read in (never "submitted"),
                      # and only with a token it still holds
                      condition=(LinkModel.state == link.state) & LinkModel.token_hashes.contains(digest))
            # a response is written once and never overwritten
            tx.save(ResponseModel(**_values(response, Response)),
                    condition=ResponseModel.response_id.does_not_exist())
            for key in ("all", f"{link.group}#{link.purpose}"):
                tx.update(StatsModel(unit_key=link.unit_key, key=key),
                          actions=[StatsModel.submitted.add(1), getattr(StatsModel, link.state).add(-1)])
            if link.ministry:
                # the ministry the form evaluates counts one answer from this province and group, in the same
                # transaction: exactly once, as the link's move to submitted is
                cid, province = link.unit_key.split("#", 1)
                unit_key, key = ministry_counter(cid, link.ministry, province, link.group)
                tx.update(StatsModel(unit_key=unit_key, key=key), actions=[StatsModel.answered.add(1)])
            if drop_draft:
                tx.delete(DraftModel(link_key=link_key(link)))
            if gate:
                _check_gate(tx, gate)
        return True
    except TransactWriteError as exc:
        if condition_failed(exc):
            return False
        raise


def _check_gate(tx: TransactWrite, gate: Gate) -> None:
    # the campaign is still the version the window was computed from: its phases have not moved since
    tx.condition_check(CampaignModel, "CAMPAIGN", gate.cid, condition=CampaignModel.version == gate.campaign_version)
    # the unit's results were not annulled since, and its own survey deadline is still the one the window used
    extension = UnitModel.extensions["survey"]
    tx.condition_check(UnitModel, gate.cid, gate.unit,
                       condition=UnitModel.annulled_at.does_not_exist() & (
                           (extension == gate.extension) if gate.extension else extension.does_not_exist()))


def count_miss(ip: str, now: datetime, window: timedelta) -> int:
    """Count one unknown-token attempt from `ip` in the current window; returns the count so far."""
    bucket = int(now.timestamp() // window.total_seconds())
    item = ThrottleModel(key=f"survey-miss:{ip}:{bucket}")
    item.update(actions=[ThrottleModel.failures.add(1), ThrottleModel.expires_at.set(now + window * 2)])
    return int(item.failures)


def responses_page(unit_key: str, *, limit: int, after: str | None,
                   qid: str | None) -> tuple[list[Response], str | None]:
    """One page of a unit's stored responses (one Query, in response-id order, which is random and so says
    nothing about who answered when); `after` is the last response id of the previous page."""
    range_cond = ResponseModel.response_id > after if after else None
    results = ResponseModel.query(unit_key, range_cond, filter_condition=(ResponseModel.qid == qid) if qid else None,
                                  page_size=max(limit, 100))
    items: list[Response] = []
    for item in results:
        items.append(response_of(item))
        if len(items) > limit:
            break
    more = len(items) > limit
    items = items[:limit]
    return items, (items[-1].response_id if more and items else None)
