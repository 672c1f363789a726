"""Links, their tokens and the counters kept on every change of a link's state."""
from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.store.connection import transactions
from chalicelib.store.errors import condition_failed
from chalicelib.store.models import DispatchModel, LinkModel, MailModel, StatsModel, TokenModel, UnitModel


def unit_links(unit_key: str, rid: str | None = None) -> list[LinkModel]:
    if rid:
        return list(LinkModel.query(unit_key, LinkModel.slot.startswith(f"{rid}#")))
    return list(LinkModel.query(unit_key))


def has_links(unit_key: str) -> bool:
    """Whether a unit has any link yet (its counters exist), without reading its links."""
    try:
        total = StatsModel.get(unit_key, "all", consistent_read=True)
    except StatsModel.DoesNotExist:
        return False
    return any(int(getattr(total, s) or 0) for s in ("issued", "sent", "opened", "submitted", "bounced", "failed"))


def get_link(unit_key: str, slot: str) -> LinkModel | None:
    try:
        return LinkModel.get(unit_key, slot)
    except LinkModel.DoesNotExist:
        return None


def get_token(token_hash: str) -> TokenModel | None:
    try:
        return TokenModel.get(token_hash)
    except TokenModel.DoesNotExist:
        return None


def write_issued(links: list[LinkModel], tokens: list[TokenModel]) -> None:
    with LinkModel.batch_write() as batch:
        for link in links:
            batch.save(link)
    with TokenModel.batch_write() as batch:
        for token in tokens:
            batch.save(token)


def delete_tokens(hashes: list[str]) -> None:
    with TokenModel.batch_write() as batch:
        for h in hashes:
            batch.delete(TokenModel(token_hash=h))


def add_counts(unit_key: str, deltas: dict[str, dict[str, int]], once: str | None = None) -> None:
    """deltas: stats key ("all" or "<group>#<purpose>") -> {state: +n/-n}. With `once`, each counter takes the
    deltas only the first time they come with that key (a job that died after counting counts again when retried)."""
    for key, changes in deltas.items():
        actions = [getattr(StatsModel, state).add(n) for state, n in changes.items() if n]
        if not actions:
            continue
        if once is None:
            StatsModel(unit_key=unit_key, key=key).update(actions=actions)
            continue
        try:
            StatsModel(unit_key=unit_key, key=key).update(
                actions=actions + [StatsModel.applied.add({once})],
                condition=StatsModel.applied.does_not_exist() | ~StatsModel.applied.contains(once))
        except UpdateError as exc:
            if not condition_failed(exc):
                raise


def stats(unit_key: str) -> list[StatsModel]:
    return list(StatsModel.query(unit_key))


def move(link: LinkModel, to_state: str, from_states: tuple[str, ...], now: datetime, *,
         actions: list | None = None, need_token: str | None = None,
         progress: tuple[str, str, str] | None = None) -> bool:
    """Change a link's state and its counters in one transaction, only if it is still in the state it was read
    in (one of `from_states`) and still holds `need_token`. False when someone else moved it first.
    `progress` (campaign, run, counter): a dispatch run's counter that goes up by one with it."""
    if link.state not in from_states:
        return False
    condition = LinkModel.state == link.state
    if need_token:
        condition &= LinkModel.token_hashes.contains(need_token)
    updates = [LinkModel.state.set(to_state), LinkModel.updated_at.set(now)] + (actions or [])
    try:
        with TransactWrite(connection=transactions()) as tx:
            tx.update(link, actions=updates, condition=condition)
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
    link.state = to_state
    return True


def update_link(link: LinkModel, actions: list, condition=None) -> bool:
    try:
        link.update(actions=actions, condition=condition)
        return True
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise


def record_mail(mail: MailModel) -> None:
    mail.save()


def find_mail(message_id: str) -> MailModel | None:
    try:
        return MailModel.get(message_id)
    except MailModel.DoesNotExist:
        return None


def acquire_lease(cid: str, unit: str, now: datetime, until: datetime) -> bool:
    try:
        UnitModel(cid=cid, unit=unit).update(
            actions=[UnitModel.dispatch_lease.set(until)],
            condition=UnitModel.unit.exists() & (UnitModel.dispatch_lease.does_not_exist() |
                                                 (UnitModel.dispatch_lease < now)))
        return True
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise


def release_lease(cid: str, unit: str) -> None:
    UnitModel(cid=cid, unit=unit).update(actions=[UnitModel.dispatch_lease.remove()])


def mark_notified(cid: str, unit: str, run: str) -> bool:
    try:
        UnitModel(cid=cid, unit=unit).update(
            actions=[UnitModel.dispatch_notified.set(run)],
            condition=UnitModel.dispatch_notified.does_not_exist() | (UnitModel.dispatch_notified != run))
        return True
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise


def create_run(run: DispatchModel) -> None:
    run.save(condition=DispatchModel.run.does_not_exist())


def runs(cid: str, limit: int = 10) -> list[DispatchModel]:
    return list(DispatchModel.query(cid, scan_index_forward=False, limit=limit))


def mark_done(cid: str, unit: str, run: str, mark: str, **adds: int) -> bool:
    """Record on the unit, together with what it adds to the run's progress and only once, that a part of the
    unit's job (`mark`: "<run>#<chunk>") or the whole of it (`mark` = run) is done. False when an earlier
    delivery of the same job got there first."""
    actions = [getattr(DispatchModel, k).add(v) for k, v in adds.items() if v]
    try:
        with TransactWrite(connection=transactions()) as tx:
            tx.update(UnitModel(cid=cid, unit=unit), actions=[UnitModel.dispatch_done.add({mark})],
                      condition=UnitModel.unit.exists() & (UnitModel.dispatch_done.does_not_exist() |
                                                           ~UnitModel.dispatch_done.contains(mark)))
            if actions:
                tx.update(DispatchModel(cid=cid, run=run), actions=actions)
        return True
    except TransactWriteError as exc:
        if condition_failed(exc):
            return False
        raise
