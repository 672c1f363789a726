"""Accounts, sessions and the login throttle's counters, handed out as plain, frozen records.

`AccountsStore` is the contract services rely on; this module's functions are its DynamoDB implementation (the module
itself is the object: `chalicelib/store/stores.py` wires it), `chalicelib/store/memory.py` its in-memory one, and
`tests/unit/test_store_contract.py` runs the same cases against both."""
from __future__ import annotations

from msgspec import Struct
from datetime import datetime, timedelta
from typing import Protocol

from pynamodb.exceptions import DeleteError, PutError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from chalicelib.domain import throttle
from chalicelib.domain.access import stored_role
from chalicelib.domain.throttle import Admission, Counter, ThrottlePolicy
from chalicelib.errors import ConflictError, NotFoundError
from chalicelib.store.connection import transactions
from chalicelib.store.errors import condition_failed
from chalicelib.store.models import AccountModel, SessionModel, ThrottleModel


class Account(Struct, frozen=True):
    username: str
    role: str  # "moha" | "province" | "ministry" (chalicelib/domain/access.py)
    unit: str | None
    display_name: str
    password_hash: str
    must_change_password: bool
    password_changed_at: datetime | None
    created_at: datetime


class Session(Struct, frozen=True):
    """A login: stored under the hash of its bearer token, never the token itself."""
    token_hash: str
    username: str
    role: str
    unit: str | None
    display_name: str
    source_ip: str | None
    must_change_password: bool
    created_at: datetime
    expires_at: datetime
    last_seen_at: datetime | None = None  # the last request (recorded at most once a minute); None: created_at


class LoginCounters(Struct, frozen=True):
    """The three counters one login attempt is decided on (chalicelib/domain/throttle.py), as read."""
    pair_key: str
    address_key: str
    account_key: str
    pair: Counter
    address: Counter
    account: Counter
    refused: int = 0  # attempts answered "wait" on the pair counter (recorded, never part of a decision)


class AccountsStore(Protocol):
    """Accounts, sessions and login counters, with the conditions every implementation keeps:
    - a username is created once (a second create raises ConflictError and leaves the first as it was); a password
      is set on an existing account only (NotFoundError otherwise);
    - a token opens one session (ConflictError for a second put); a session's activity is written only while it
      exists and at most once per `every` (`touch_session` answers whether it wrote); `clear_must_change` never
      recreates a session; deleting is idempotent; `delete_sessions_of` ends every session of a user but `keep`;
    - the login counters are read together; `charge_login` writes the three counters all or nothing, only if the
      pair and address versions are those read (else False: decide again); the account's spread counter is added
      to inside its window and restarted only if forgotten; `note_refused` counts on the pair without moving its
      version; `settle_login` clears the pair only at the version charged and never refunds below zero."""

    def find_account(self, username: str) -> Account | None: ...

    def create_account(self, account: Account) -> None: ...

    def set_password(self, username: str, password_hash: str, now: datetime, must_change: bool) -> None: ...

    def put_session(self, session: Session) -> None: ...

    def find_session(self, token_hash: str) -> Session | None: ...

    def touch_session(self, token_hash: str, now: datetime, every: timedelta) -> bool: ...

    def clear_must_change(self, token_hash: str) -> None: ...

    def delete_session(self, token_hash: str) -> None: ...

    def delete_sessions_of(self, username: str, keep: str | None = None) -> int: ...

    def login_counters(self, account: str, source: str) -> LoginCounters: ...

    def charge_login(self, read: LoginCounters, admission: Admission, now: datetime,
                     policy: ThrottlePolicy) -> bool: ...

    def note_refused(self, read: LoginCounters, now: datetime, policy: ThrottlePolicy) -> None: ...

    def settle_login(self, read: LoginCounters, admission: Admission, account_refund: int) -> None: ...


def find_account(username: str) -> Account | None:
    try:
        item = AccountModel.get(username)
    except AccountModel.DoesNotExist:
        return None
    return Account(username=item.username, role=stored_role(item.role, item.unit), unit=item.unit, display_name=item.display_name,
                   password_hash=item.password_hash, must_change_password=bool(item.must_change_password),
                   password_changed_at=item.password_changed_at, created_at=item.created_at)


def create_account(account: Account) -> None:
    item = AccountModel(username=account.username, role=account.role, unit=account.unit,
                        display_name=account.display_name, password_hash=account.password_hash,
                        must_change_password=account.must_change_password,
                        password_changed_at=account.password_changed_at, created_at=account.created_at)
    try:
        item.save(condition=AccountModel.username.does_not_exist())  # a username is taken once
    except PutError as exc:
        if condition_failed(exc):
            raise ConflictError(f"Tài khoản “{account.username}” đã tồn tại.") from None
        raise


def set_password(username: str, password_hash: str, now: datetime, must_change: bool) -> None:
    try:
        AccountModel(username=username).update(
            actions=[AccountModel.password_hash.set(password_hash), AccountModel.password_changed_at.set(now),
                     AccountModel.must_change_password.set(must_change)],
            condition=AccountModel.username.exists())  # a password is set on an existing account only
    except UpdateError as exc:
        if condition_failed(exc):
            raise NotFoundError(f"Không tìm thấy tài khoản “{username}”.") from None
        raise


def put_session(session: Session) -> None:
    item = SessionModel(token_hash=session.token_hash, username=session.username, role=session.role,
                        unit=session.unit, display_name=session.display_name, source_ip=session.source_ip,
                        must_change_password=session.must_change_password, created_at=session.created_at,
                        expires_at=session.expires_at, last_seen_at=session.last_seen_at)
    try:
        item.save(condition=SessionModel.token_hash.does_not_exist())  # a token opens one session, never another's
    except PutError as exc:
        if condition_failed(exc):
            raise ConflictError("Phiên đăng nhập đã tồn tại.") from None
        raise


def find_session(token_hash: str) -> Session | None:
    try:
        item = SessionModel.get(token_hash)
    except SessionModel.DoesNotExist:
        return None
    return Session(token_hash=item.token_hash, username=item.username, role=stored_role(item.role, item.unit), unit=item.unit,
                   display_name=item.display_name, source_ip=item.source_ip,
                   must_change_password=bool(item.must_change_password), created_at=item.created_at,
                   expires_at=item.expires_at, last_seen_at=item.last_seen_at)


def touch_session(token_hash: str, now: datetime, every: timedelta) -> bool:
    """Record a request as the session's last activity, unless one was recorded less than `every` ago (then nothing
    is written: False). One conditional update, whichever of parallel requests comes first."""
    try:
        SessionModel(token_hash=token_hash).update(
            actions=[SessionModel.last_seen_at.set(now)],
            # a session that still exists (a logged-out one is never revived), recorded at most once per `every`
            condition=SessionModel.token_hash.exists() & (SessionModel.last_seen_at.does_not_exist()
                                                          | (SessionModel.last_seen_at <= now - every)))
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def clear_must_change(token_hash: str) -> None:
    """A session ended meanwhile (a parallel logout) stays ended: nothing to clear."""
    try:
        SessionModel(token_hash=token_hash).update(actions=[SessionModel.must_change_password.set(False)],
                                                   condition=SessionModel.token_hash.exists())  # no session recreated
    except UpdateError as exc:
        if not condition_failed(exc):
            raise


def delete_session(token_hash: str) -> None:
    SessionModel(token_hash=token_hash).delete()


def delete_sessions_of(username: str, keep: str | None = None) -> int:
    """End every session of `username` but `keep`; returns how many ended."""
    count = 0
    for session in SessionModel.by_user.query(username):
        if session.token_hash != keep:
            SessionModel(token_hash=session.token_hash).delete()
            count += 1
    return count


# ------------------------------------------------------------------------------------------------ login throttle
# One attempt = one read of its three counters, then one conditional write (see chalicelib/domain/throttle.py).

def _counter(item: ThrottleModel | None) -> Counter:
    if item is None:
        return Counter()
    failures = min(throttle.MAX_COUNT, max(0, int(item.failures or 0)))
    return Counter(failures, item.last_at, item.next_at, int(item.version or 0))


def login_counters(account: str, source: str) -> LoginCounters:
    """The counters of (account, address), of the address and of the account, read consistently (one BatchGetItem):
    a decision is never made on a state older than the last write it could conflict with."""
    keys = (throttle.key_pair(account, source), throttle.key_address(source), throttle.key_account(account))
    found = {item.key: item for item in ThrottleModel.batch_get(list(keys), consistent_read=True)}
    pair, address, acct = (_counter(found.get(key)) for key in keys)
    refused = int(getattr(found.get(keys[0]), "refused", None) or 0)
    return LoginCounters(*keys, pair=pair, address=address, account=acct, refused=refused)


def _same_version(version: int) -> Condition:
    return ThrottleModel.version.does_not_exist() if version == 0 else ThrottleModel.version == version


def _stamped(counter: Counter, policy: ThrottlePolicy) -> tuple[datetime, datetime]:
    """The last attempt and the expiry of a counter state an admitted attempt writes."""
    expires_at = counter.expires_at(policy)
    # throttle.admit stamps every state it admits with the attempt's time, and the expiry follows from it
    assert counter.last_at is not None and expires_at is not None
    return counter.last_at, expires_at


def charge_login(read: LoginCounters, admission: Admission, now: datetime, policy: ThrottlePolicy) -> bool:
    """Charge an admitted attempt as a failure on its three counters, all or nothing (one TransactWriteItems).
    False when another attempt wrote first: the caller reads again and decides again."""
    window_start = now - timedelta(seconds=policy.window_s)
    spread = admission.account
    try:
        with TransactWrite(connection=transactions()) as tx:
            for key, before, after in ((read.pair_key, read.pair, admission.pair),
                                       (read.address_key, read.address, admission.address)):
                last_at, expires_at = _stamped(after, policy)
                tx.update(ThrottleModel(key=key), actions=[
                    ThrottleModel.failures.set(after.failures), ThrottleModel.last_at.set(last_at),
                    ThrottleModel.next_at.set(after.next_at) if after.next_at else ThrottleModel.next_at.remove(),
                    ThrottleModel.version.set(after.version), ThrottleModel.expires_at.set(expires_at)],
                    # the attempt is charged on exactly the state it was decided on: if a parallel attempt wrote
                    # first, this one is decided again on the new state, so N attempts are admitted one by one
                    condition=_same_version(before.version))
            if read.account.last_at is not None and read.account.last_at > window_start:
                tx.update(ThrottleModel(key=read.account_key), actions=[
                    ThrottleModel.failures.add(admission.account_increment), ThrottleModel.last_at.set(now),
                    ThrottleModel.expires_at.set(_stamped(spread, policy)[1])],
                    # the spread of failing addresses grows only inside its window; addresses attacking together
                    # do not conflict on this item (an ADD), only a window's end makes them decide again
                    condition=ThrottleModel.last_at > window_start)
            else:
                tx.update(ThrottleModel(key=read.account_key), actions=[
                    ThrottleModel.failures.set(spread.failures), ThrottleModel.last_at.set(now),
                    ThrottleModel.expires_at.set(_stamped(spread, policy)[1])],
                    # only a forgotten (or new) spread count starts afresh: two attempts restarting it together
                    # cannot both set it, the second adds to the first
                    condition=ThrottleModel.last_at.does_not_exist() | (ThrottleModel.last_at <= window_start))
    except TransactWriteError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def note_refused(read: LoginCounters, now: datetime, policy: ThrottlePolicy) -> None:
    """Count an attempt answered "wait" on its (account, address) counter. Unconditional and touching neither the
    version nor what a decision reads: counting refusals never makes an attempt in flight decide again."""
    ThrottleModel(key=read.pair_key).update(actions=[
        ThrottleModel.refused.add(1),
        ThrottleModel.expires_at.set(ThrottleModel.expires_at | (now + timedelta(seconds=policy.window_s)))])


def settle_login(read: LoginCounters, admission: Admission, account_refund: int) -> None:
    """The right password after an admitted attempt: the (account, address) counter starts afresh and the advance
    charge is refunded on the address and account counters. Three single-item writes, each safe on its own; one
    that finds its condition false leaves the counter as it is (the safe side)."""
    try:
        # cleared only if no other attempt from this address was charged since this one: a wrong guess made
        # alongside the right password stays counted
        ThrottleModel(key=read.pair_key).delete(condition=ThrottleModel.version == admission.pair.version)
    except DeleteError as exc:
        if not condition_failed(exc):
            raise
    refunds = [(read.address_key, 1, [ThrottleModel.version.add(1)])]
    if account_refund:
        refunds.append((read.account_key, account_refund, []))
    for key, amount, more in refunds:
        try:
            ThrottleModel(key=key).update(actions=[ThrottleModel.failures.add(-amount), *more],
                                          # a refund never takes a count below zero (a counter restarted since
                                          # the charge keeps what it has); the address's version moves, so an
                                          # attempt decided on the unrefunded count decides again
                                          condition=ThrottleModel.failures >= amount)
        except UpdateError as exc:
            if not condition_failed(exc):
                raise
