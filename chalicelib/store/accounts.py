"""Accounts, sessions and failed-login counters."""
from __future__ import annotations

from datetime import datetime, timedelta

from pynamodb.exceptions import PutError, UpdateError

from chalicelib.errors import ConflictError
from chalicelib.store.errors import condition_failed
from chalicelib.store.models import AccountModel, SessionModel, ThrottleModel


def find_account(username: str) -> AccountModel | None:
    try:
        return AccountModel.get(username)
    except AccountModel.DoesNotExist:
        return None


def create_account(account: AccountModel) -> None:
    try:
        account.save(condition=AccountModel.username.does_not_exist())
    except PutError as exc:
        if condition_failed(exc):
            raise ConflictError(f"Tài khoản “{account.username}” đã tồn tại.") from None
        raise


def set_password(username: str, password_hash: str, now: datetime, must_change: bool) -> None:
    AccountModel(username=username).update(
        actions=[AccountModel.password_hash.set(password_hash), AccountModel.password_changed_at.set(now),
                 AccountModel.must_change_password.set(must_change)],
        condition=AccountModel.username.exists())


def put_session(session: SessionModel) -> None:
    session.save(condition=SessionModel.token_hash.does_not_exist())


def find_session(token_hash: str) -> SessionModel | None:
    try:
        return SessionModel.get(token_hash)
    except SessionModel.DoesNotExist:
        return None


def clear_must_change(token_hash: str) -> None:
    SessionModel(token_hash=token_hash).update(actions=[SessionModel.must_change_password.set(False)],
                                               condition=SessionModel.token_hash.exists())


def delete_session(token_hash: str) -> None:
    SessionModel(token_hash=token_hash).delete()


def delete_sessions_of(username: str, keep: str | None = None) -> int:
    count = 0
    for session in SessionModel.by_user.query(username):
        if session.token_hash != keep:
            SessionModel(token_hash=session.token_hash).delete()
            count += 1
    return count


def throttle_state(key: str) -> ThrottleModel | None:
    try:
        return ThrottleModel.get(key)
    except ThrottleModel.DoesNotExist:
        return None


def record_failure(key: str, now: datetime, window: timedelta) -> int:
    """Count one failed attempt; failures older than `window` start the count afresh. Returns the count."""
    item = ThrottleModel(key=key)
    expires = now + window * 2
    try:
        item.update(actions=[ThrottleModel.failures.add(1), ThrottleModel.last_failure_at.set(now),
                             ThrottleModel.expires_at.set(expires)],
                    condition=ThrottleModel.last_failure_at >= now - window)
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
