"""Accounts, sessions and failed-login counters, handed out as plain, frozen records."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pynamodb.exceptions import PutError, UpdateError

from chalicelib.errors import ConflictError
from chalicelib.store.errors import condition_failed
from chalicelib.store.models import AccountModel, SessionModel, ThrottleModel


@dataclass(frozen=True)
class Account:
    username: str
    role: str  # "ministry" | "province"
    unit: str | None
    display_name: str
    password_hash: str
    must_change_password: bool
    password_changed_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class Session:
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


@dataclass(frozen=True)
class Throttle:
    """Failed logins counted under one key (an account or a source IP)."""
    key: str
    failures: int
    last_failure_at: datetime | None
    locked_until: datetime | None


def find_account(username: str) -> Account | None:
    try:
        item = AccountModel.get(username)
    except AccountModel.DoesNotExist:
        return None
    return Account(username=item.username, role=item.role, unit=item.unit, display_name=item.display_name,
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
    AccountModel(username=username).update(
        actions=[AccountModel.password_hash.set(password_hash), AccountModel.password_changed_at.set(now),
                 AccountModel.must_change_password.set(must_change)],
        condition=AccountModel.username.exists())  # a password is set on an existing account only


def put_session(session: Session) -> None:
    item = SessionModel(token_hash=session.token_hash, username=session.username, role=session.role,
                        unit=session.unit, display_name=session.display_name, source_ip=session.source_ip,
                        must_change_password=session.must_change_password, created_at=session.created_at,
                        expires_at=session.expires_at)
    item.save(condition=SessionModel.token_hash.does_not_exist())  # a token opens one session, never another's


def find_session(token_hash: str) -> Session | None:
    try:
        item = SessionModel.get(token_hash)
    except SessionModel.DoesNotExist:
        return None
    return Session(token_hash=item.token_hash, username=item.username, role=item.role, unit=item.unit,
                   display_name=item.display_name, source_ip=item.source_ip,
                   must_change_password=bool(item.must_change_password), created_at=item.created_at,
                   expires_at=item.expires_at)


def clear_must_change(token_hash: str) -> None:
    SessionModel(token_hash=token_hash).update(actions=[SessionModel.must_change_password.set(False)],
                                               condition=SessionModel.token_hash.exists())  # no session recreated


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


def throttle_state(key: str) -> Throttle | None:
    try:
        item = ThrottleModel.get(key)
    except ThrottleModel.DoesNotExist:
        return None
    return Throttle(key=item.key, failures=int(item.failures or 0), last_failure_at=item.last_failure_at,
                    locked_until=item.locked_until)


def record_failure(key: str, now: datetime, window: timedelta) -> int:
    """Count one failed attempt; failures older than `window` start the count afresh. Returns the count."""
    item = ThrottleModel(key=key)
    expires = now + window * 2
    try:
        item.update(actions=[ThrottleModel.failures.add(1), ThrottleModel.last_failure_at.set(now),
                             ThrottleModel.expires_at.set(expires)],
                    condition=ThrottleModel.last_failure_at >= now - window)  # only failures within the window add up
    except UpdateError as exc:
        if not condition_failed(exc):
            raise
        item.update(actions=[ThrottleModel.failures.set(1), ThrottleModel.last_failure_at.set(now),
                             ThrottleModel.locked_until.remove(), ThrottleModel.expires_at.set(expires)])
    return int(item.failures)


def lock(key: str, until: datetime) -> None:
    ThrottleModel(key=key).update(actions=[ThrottleModel.locked_until.set(until),
                                           ThrottleModel.expires_at.set(until + timedelta(hours=1))])


def clear(key: str) -> None:
    ThrottleModel(key=key).delete()
