"""Login, sessions, logout and password change.

Failed logins are counted per account and per source IP: after a few failures each attempt must wait
(doubling), and after many the account or IP is locked for a while. Every login and failure is audited
with its source IP (the integrity rules use province login IPs)."""
from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import Callable

from chalicelib.config import settings
from chalicelib.domain import credentials as cred
from chalicelib.domain.access import Actor
from chalicelib.domain.timefmt import utc_iso
from chalicelib.errors import AuthenticationError, RateLimitedError, ValidationError
from chalicelib.services import audit
from chalicelib.store import accounts as store
from chalicelib.store.accounts import Session


@functools.lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Verifying against this keeps a login for an unknown user as slow as one for a known user.
    Computed on first need, not at import: it costs a full scrypt run (cold start)."""
    return cred.hash_password("not-a-password", b"0123456789abcdef", settings().password_scrypt_n)


def _wait_text(seconds: int) -> str:
    return f"{seconds} giây" if seconds < 120 else f"{(seconds + 59) // 60} phút"


def login(username: str, password: str, source_ip: str, now: datetime,
          random_bytes: Callable[[int], bytes]) -> dict:
    username = (username or "").strip().lower()
    if not username or not password:
        raise ValidationError("Vui lòng nhập tên đăng nhập và mật khẩu.",
                              details=[{"field": f, "message": f"Vui lòng nhập {label}."}
                                       for f, label in (("username", "tên đăng nhập"), ("password", "mật khẩu"))
                                       if not (username if f == "username" else password)])
    if len(username) > 64 or len(password) > 256:
        raise AuthenticationError("Tên đăng nhập hoặc mật khẩu không đúng.")
    keys = [(f"acct:{username}", cred.ACCOUNT_POLICY), (f"ip:{source_ip}", cred.IP_POLICY)]
    wait = 0
    for key, policy in keys:
        state = store.throttle_state(key)
        if state:
            wait = max(wait, cred.wait_seconds(policy, state.failures, state.last_failure_at,
                                               state.locked_until, now))
    attempt = Actor(username=username, role="anonymous", unit=None, source_ip=source_ip)
    if wait:
        audit.record(attempt, "login_throttled", now, target=username, details={"wait_seconds": wait},
                     suffix=random_bytes(4).hex())
        raise RateLimitedError(f"Đăng nhập sai nhiều lần. Vui lòng thử lại sau {_wait_text(wait)}.", wait)

    account = store.find_account(username)
    ok = cred.verify_password(password, account.password_hash if account else _dummy_hash()) and account is not None
    if not ok:
        locked = False
        for key, policy in keys:
            failures = store.record_failure(key, now, policy.window)
            until = cred.lock_until(policy, failures, now)
            if until:
                store.lock(key, until)
                locked = True
        audit.record(attempt, "login_failed", now, target=username, details={"locked": locked},
                     suffix=random_bytes(4).hex())
        if locked:
            raise RateLimitedError("Đăng nhập sai quá nhiều lần; tài khoản tạm khóa 15 phút.",
                                   int(cred.ACCOUNT_POLICY.lock_for.total_seconds()))
        raise AuthenticationError("Tên đăng nhập hoặc mật khẩu không đúng.")

    store.clear(keys[0][0])
    token = cred.new_token(random_bytes(32))
    expires = now + timedelta(hours=settings().session_hours)
    store.put_session(Session(token_hash=cred.token_hash(token), username=account.username, role=account.role,
                              unit=account.unit, display_name=account.display_name, source_ip=source_ip,
                              must_change_password=account.must_change_password, created_at=now,
                              expires_at=expires))
    actor = Actor(account.username, account.role, account.unit, account.display_name, source_ip)
    audit.record(actor, "login", now, target=account.username, suffix=random_bytes(4).hex())
    return {"token": token, "role": account.role, "unit": account.unit, "username": account.username,
            "display_name": account.display_name, "expires_at": utc_iso(expires),
            "must_change_password": bool(account.must_change_password)}


def authenticate(authorization: str | None, source_ip: str, now: datetime) -> tuple[Actor, str]:
    """The actor behind a bearer token, and the token's hash."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or len(token) > 128:
        raise AuthenticationError("Bạn cần đăng nhập để sử dụng chức năng này.")
    digest = cred.token_hash(token.strip())
    session = store.find_session(digest)
    if session is None or session.expires_at <= now:
        raise AuthenticationError("Phiên đăng nhập đã hết hạn hoặc không hợp lệ. Vui lòng đăng nhập lại.")
    return Actor(session.username, session.role, session.unit, session.display_name, source_ip,
                 bool(session.must_change_password)), digest


def logout(actor: Actor, token_hash: str, now: datetime, suffix: str) -> None:
    store.delete_session(token_hash)
    audit.record(actor, "logout", now, target=actor.username, suffix=suffix)


def change_password(actor: Actor, token_hash: str, current: str, new: str, now: datetime,
                    random_bytes: Callable[[int], bytes]) -> None:
    account = store.find_account(actor.username)
    if account is None or not cred.verify_password(current or "", account.password_hash):
        raise ValidationError("Mật khẩu hiện tại không đúng.",
                              details=[{"field": "current_password", "message": "Mật khẩu hiện tại không đúng."}])
    problem = cred.password_problem(new or "", actor.username)
    if new and new == current:
        problem = "Mật khẩu mới phải khác mật khẩu hiện tại."
    if problem:
        raise ValidationError(problem, details=[{"field": "new_password", "message": problem}])
    store.set_password(actor.username, cred.hash_password(new, random_bytes(16), settings().password_scrypt_n),
                       now, must_change=False)
    store.clear_must_change(token_hash)
    ended = store.delete_sessions_of(actor.username, keep=token_hash)
    audit.record(actor, "password_changed", now, target=actor.username, details={"other_sessions_ended": ended},
                 suffix=random_bytes(4).hex())
