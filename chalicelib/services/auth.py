"""Login, sessions, logout and password change.

Wrong passwords are throttled by chalicelib/domain/throttle.py: counted per (account, source address), per address
and by how many addresses fail against an account, each with a capped, doubling delay, so that a stranger's wrong
passwords never keep the owner out (a correct password from an address without recent failures gets in) and
nothing is a lock that waiting cannot pass. Every attempt leaves exactly one atomic write:
- an admitted attempt is charged as a failure *before* its password is verified (one conditional transaction on the
  versions read; a parallel attempt that wrote first makes it decide again), and refunded if the password is right:
  N parallel wrong attempts are N charged decisions, and only those the rule admits reach the password check;
- an attempt that arrives while its address must still wait is answered 429 with `Retry-After` and counted as
  refused on its (account, address) counter: recorded, but it lengthens no delay, because a delay that grew with
  every refused attempt would again be a lock (the owner's own impatient retries would push it out of reach).
The password-change route is throttled the same way, on the same counters (a session's holder guessing the
current password is guessing the account's password). Every login, failure and refusal is audited with its source
address (the integrity rules use province login addresses).

A session ends at its absolute limit (`session_hours`) or after `session_idle_minutes` without a request; the last
activity is written at most once a minute per session (one conditional update).

Every function reaches storage through `stores` (the DynamoDB wiring unless a caller hands another, such as
`chalicelib/store/memory.stores()` in tests) and passes it on to the audit."""
from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import Callable

from chalicelib.config import settings
from chalicelib.domain import credentials as cred
from chalicelib.domain import throttle
from chalicelib.domain.access import Actor
from chalicelib.domain.timefmt import utc_iso
from chalicelib.errors import AuthenticationError, RateLimitedError, ValidationError
from chalicelib.services import audit
from chalicelib.store.accounts import LoginCounters, Session
from chalicelib.store.stores import DYNAMODB, Stores

POLICY = throttle.LOGIN
TRIES = 8  # decisions per attempt when parallel attempts keep writing first (each conflict is another's success)
ACTIVITY_EVERY = timedelta(minutes=1)  # a session's last activity is written at most this often
WRONG_PASSWORD = "Tên đăng nhập hoặc mật khẩu không đúng."


@functools.lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Verifying against this keeps a login for an unknown user as slow as one for a known user.
    Computed on first need, not at import: it costs a full scrypt run (cold start)."""
    return cred.hash_password("not-a-password", b"0123456789abcdef", settings().password_scrypt_n)


def _wait_text(seconds: int) -> str:
    return f"{seconds} giây" + (f" (khoảng {(seconds + 59) // 60} phút)" if seconds >= 120 else "")


def _left(now: datetime, pair: throttle.Counter, address: throttle.Counter, account: throttle.Counter) -> int:
    return throttle.attempts_before_wait(POLICY, now, pair, address, account)


def _admit(username: str, actor: Actor, now: datetime, random_bytes: Callable[[int], bytes],
           stores: Stores) -> tuple[LoginCounters, throttle.Admission]:
    """Charge this attempt on the counters, or answer 429 (counted as refused, audited)."""
    store = stores.accounts
    wait = 1
    for _ in range(TRIES):
        read = store.login_counters(username, actor.source_ip or "")
        decision = throttle.admit(POLICY, now, read.pair, read.address, read.account)
        if not decision.allowed:
            wait = decision.wait_seconds
            break
        if store.charge_login(read, decision, now, POLICY):
            return read, decision
    store.note_refused(read, now, POLICY)
    later = now + timedelta(seconds=wait)
    after = _left(later, read.pair, read.address, read.account)
    audit.record(actor, "login_throttled", now, target=username, details={"wait_seconds": wait},
                 suffix=random_bytes(4).hex(), stores=stores)
    raise RateLimitedError(f"Đăng nhập sai nhiều lần. Vui lòng chờ {_wait_text(wait)} rồi thử lại.", wait,
                           details=[{"retry_after": wait, "attempts_left": 0, "attempts_after_wait": after}])


def _failed(now: datetime, admission: throttle.Admission, field: str | None = None) -> dict:
    """What a refused password's answer tells the page: attempts left before a wait, and the wait then."""
    left = _left(now, admission.pair, admission.address, admission.account)
    next_at = max((c.next_at for c in (admission.pair, admission.address) if c.next_at), default=None)
    wait = 0 if left or next_at is None else max(1, int((next_at - now).total_seconds() + 0.999))
    return {**({"field": field} if field else {}), "attempts_left": left, "retry_after": wait}


def login(username: str, password: str, source_ip: str, now: datetime, random_bytes: Callable[[int], bytes], *,
          stores: Stores = DYNAMODB) -> dict:
    username = (username or "").strip().lower()
    if not username or not password:
        raise ValidationError("Vui lòng nhập tên đăng nhập và mật khẩu.",
                              details=[{"field": f, "message": f"Vui lòng nhập {label}."}
                                       for f, label in (("username", "tên đăng nhập"), ("password", "mật khẩu"))
                                       if not (username if f == "username" else password)])
    if len(username) > 64 or len(password) > 256:
        raise AuthenticationError(WRONG_PASSWORD)
    attempt = Actor(username=username, role="anonymous", unit=None, source_ip=source_ip)
    read, admission = _admit(username, attempt, now, random_bytes, stores)
    store = stores.accounts
    account = store.find_account(username)
    ok = cred.verify_password(password, account.password_hash if account else _dummy_hash()) and account is not None
    if not ok or account is None:
        audit.record(attempt, "login_failed", now, target=username, suffix=random_bytes(4).hex(), stores=stores)
        raise AuthenticationError(WRONG_PASSWORD, details=[_failed(now, admission)])

    settled = throttle.on_success(POLICY, now, admission)
    store.settle_login(read, admission, settled.account_refund)
    token = cred.new_token(random_bytes(32))
    expires = now + timedelta(hours=settings().session_hours)
    store.put_session(Session(token_hash=cred.token_hash(token), username=account.username, role=account.role,
                              unit=account.unit, display_name=account.display_name, source_ip=source_ip,
                              must_change_password=account.must_change_password, created_at=now,
                              expires_at=expires, last_seen_at=now))
    actor = Actor(account.username, account.role, account.unit, account.display_name, source_ip)
    audit.record(actor, "login", now, target=account.username, suffix=random_bytes(4).hex(), stores=stores)
    return {"token": token, "role": account.role, "unit": account.unit, "username": account.username,
            "display_name": account.display_name, "expires_at": utc_iso(expires),
            "must_change_password": bool(account.must_change_password),
            "idle_minutes": settings().session_idle_minutes}


def authenticate(authorization: str | None, source_ip: str, now: datetime, *,
                 stores: Stores = DYNAMODB) -> tuple[Actor, str]:
    """The actor behind a bearer token, and the token's hash."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or len(token) > 128:
        raise AuthenticationError("Bạn cần đăng nhập để sử dụng chức năng này.")
    digest = cred.token_hash(token.strip())
    session = stores.accounts.find_session(digest)
    idle = timedelta(minutes=settings().session_idle_minutes)
    if session is None or session.expires_at <= now or (session.last_seen_at or session.created_at) + idle <= now:
        raise AuthenticationError("Phiên đăng nhập đã hết hạn hoặc không hợp lệ. Vui lòng đăng nhập lại.")
    if now - (session.last_seen_at or session.created_at) >= ACTIVITY_EVERY:
        stores.accounts.touch_session(digest, now, ACTIVITY_EVERY)
    return Actor(session.username, session.role, session.unit, session.display_name, source_ip,
                 bool(session.must_change_password)), digest


def logout(actor: Actor, token_hash: str, now: datetime, suffix: str, *, stores: Stores = DYNAMODB) -> None:
    stores.accounts.delete_session(token_hash)
    audit.record(actor, "logout", now, target=actor.username, suffix=suffix, stores=stores)


def change_password(actor: Actor, token_hash: str, current: str, new: str, now: datetime,
                    random_bytes: Callable[[int], bytes], *, stores: Stores = DYNAMODB) -> None:
    read, admission = _admit(actor.username, actor, now, random_bytes, stores)
    store = stores.accounts
    account = store.find_account(actor.username)
    if account is None or len(current or "") > 256 or not cred.verify_password(current or "", account.password_hash):
        audit.record(actor, "password_change_failed", now, target=actor.username, suffix=random_bytes(4).hex(),
                     stores=stores)
        raise ValidationError("Mật khẩu hiện tại không đúng.",
                              details=[{**_failed(now, admission, "current_password"),
                                        "message": "Mật khẩu hiện tại không đúng."}])
    store.settle_login(read, admission, throttle.on_success(POLICY, now, admission).account_refund)
    problems = cred.password_problems(new or "", actor.username)
    if new and new == current:
        problems.insert(0, "Mật khẩu mới phải khác mật khẩu hiện tại.")
    if problems:
        # One message naming every broken rule, shown beside the field: no fixing them one attempt at a time.
        message = " ".join(problems)
        raise ValidationError(message, details=[{"field": "new_password", "message": message, "rules": problems}])
    store.set_password(actor.username, cred.hash_password(new, random_bytes(16), settings().password_scrypt_n),
                       now, must_change=False)
    store.clear_must_change(token_hash)
    ended = store.delete_sessions_of(actor.username, keep=token_hash)
    audit.record(actor, "password_changed", now, target=actor.username, details={"other_sessions_ended": ended},
                 suffix=random_bytes(4).hex(), stores=stores)
