"""The login throttle (chalicelib/domain/throttle.py): strangers cannot keep the owner out, guessing is slowed on
every axis with capped delays, parallel attempts are admitted one by one through versioned writes, nothing
overflows."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.domain import throttle as t
from chalicelib.domain.throttle import LOGIN, Counter, ThrottlePolicy

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc)
OWNER, STRANGER, CLERK = "10.1.1.10", "203.0.113.7", "10.1.1.11"


class Store:
    """Counters kept the way a DynamoDB store keeps them: versioned items, a conditional transaction per attempt."""

    def __init__(self) -> None:
        self.items: dict[str, Counter] = {}
        self.lock = threading.Lock()
        self.verified = 0  # attempts that reached the password check
        self.conflicts = 0

    def read(self, account: str, source: str) -> tuple[str, str, str, Counter, Counter, Counter]:
        keys = t.key_pair(account, source), t.key_address(source), t.key_account(account)
        with self.lock:
            return (*keys, *(self.items.get(k, Counter()) for k in keys))  # type: ignore[return-value]

    def write(self, read: dict[str, Counter], new: dict[str, Counter]) -> bool:
        """All or nothing, each item conditioned on the version read (a TransactWriteItems)."""
        with self.lock:
            if any(self.items.get(k, Counter()).version != c.version for k, c in read.items()):
                self.conflicts += 1
                return False
            self.items.update(new)
            return True

    def attempt(self, account: str, source: str, right: bool, now: datetime,
                policy: ThrottlePolicy = LOGIN, before_write=None) -> int:
        """One login attempt; returns 0 when the password was verified, else the Retry-After."""
        for _ in range(50):
            kp, ka, kc, pair, address, acct = self.read(account, source)
            decision = t.admit(policy, now, pair, address, acct)
            if not decision.allowed:
                return decision.wait_seconds
            if before_write:
                before_write()
            if self.write({kp: pair, ka: address, kc: acct},
                          {kp: decision.pair, ka: decision.address, kc: decision.account}):
                break
        else:
            raise AssertionError("no write succeeded")
        with self.lock:
            self.verified += 1
        if right:
            settled = t.on_success(policy, now, decision)
            assert self.write({kp: decision.pair, ka: decision.address, kc: decision.account},
                              {kp: Counter(version=decision.pair.version + 1), ka: settled.address,
                               kc: settled.account})
        return 0


def test_a_strangers_wrong_passwords_never_keep_the_owner_out():
    store = Store()
    waits = []
    now = T0
    for _ in range(200):  # far more than the old rule's lock (10) and its overflow (~49)
        wait = store.attempt("tinh01", STRANGER, right=False, now=now)
        waits.append(wait)
        now += timedelta(seconds=wait or 1)
    assert store.verified >= LOGIN.pair_free
    # the owner, from the office, with the right password: verified at once, every time
    assert store.attempt("tinh01", OWNER, right=True, now=now) == 0
    assert store.attempt("tinh01", OWNER, right=True, now=now + timedelta(seconds=1)) == 0
    # and a clerk's wrong password from another office address is not delayed by the stranger either
    assert store.attempt("tinh01", CLERK, right=False, now=now) == 0


def test_one_address_gets_its_free_attempts_then_doubling_delays_capped():
    store = Store()
    now = T0
    for _ in range(LOGIN.pair_free):
        assert store.attempt("tinh02", STRANGER, right=False, now=now) == 0
    delays = []
    for _ in range(20):
        wait = store.attempt("tinh02", STRANGER, right=False, now=now)
        assert 0 < wait <= LOGIN.pair_cap_s  # refused before the delay has passed
        now += timedelta(seconds=wait)
        assert store.attempt("tinh02", STRANGER, right=False, now=now) == 0  # and admitted once it has
        delays.append(wait)
    assert delays[:5] == [2, 4, 8, 16, 32]
    assert max(delays) == LOGIN.pair_cap_s and delays[-1] == LOGIN.pair_cap_s
    # the owner who mistypes from that very address is slowed, never locked: the right password passes after the cap
    assert store.attempt("tinh02", STRANGER, right=True, now=now + timedelta(seconds=LOGIN.pair_cap_s)) == 0
    assert store.items[t.key_pair("tinh02", STRANGER)].failures == 0  # the right password clears the pair


def test_many_addresses_against_one_account_are_slowed_but_a_fresh_address_with_the_password_is_not():
    store = Store()
    attackers = [f"198.51.100.{i}" for i in range(1, 101)]
    for ip in attackers:
        assert store.attempt("admin", ip, right=False, now=T0) == 0  # each fresh address: one guess
    waits = [store.attempt("admin", ip, right=False, now=T0 + timedelta(seconds=1)) for ip in attackers]
    # beyond spread_free addresses, every failed address waits before its next guess (pair_free no longer applies)
    slowed = [w for w in waits[LOGIN.spread_free:] if w]
    assert len(slowed) == len(attackers) - LOGIN.spread_free
    assert all(w <= LOGIN.spread_cap_s for w in waits) and max(waits) >= LOGIN.spread_cap_s - 1
    # in the next hour, the 100 addresses together get at most a few guesses each
    before = store.verified
    now = T0
    while now < T0 + timedelta(hours=1):
        now += timedelta(seconds=30)
        for ip in attackers:
            store.attempt("admin", ip, right=False, now=now)
    per_address = (store.verified - before) / len(attackers)
    assert per_address <= 3600 / LOGIN.spread_cap_s + 1
    assert store.attempt("admin", "192.0.2.44", right=True, now=now) == 0  # the owner, from anywhere new


def test_an_address_spraying_many_accounts_is_slowed_an_office_logging_in_all_day_is_not():
    store = Store()
    waits = [store.attempt(f"tinh{i:02d}", STRANGER, right=False, now=T0) for i in range(1, 40)]
    assert waits[:LOGIN.address_free] == [0] * LOGIN.address_free
    assert all(0 < w <= LOGIN.address_cap_s for w in waits[LOGIN.address_free:])
    office = Store()
    for i in range(300):  # 300 right passwords through one NAT address, different and repeated accounts
        assert office.attempt(f"tinh{i % 63:02d}", OWNER, right=True, now=T0 + timedelta(seconds=i)) == 0
    assert office.items[t.key_address(OWNER)].failures == 0
    assert office.items[t.key_account("tinh01")].failures == 0


def test_counters_are_forgotten_after_a_quiet_window():
    store = Store()
    now = T0
    for _ in range(12):
        now += timedelta(seconds=store.attempt("tinh03", STRANGER, right=False, now=now) or 1)
    while store.attempt("tinh03", STRANGER, right=False, now=now) > 0:  # the attempt right after an admitted one
        now += timedelta(seconds=1)
    assert store.attempt("tinh03", STRANGER, right=False, now=now) > 0
    later = now + timedelta(seconds=LOGIN.window_s + LOGIN.pair_cap_s)
    for _ in range(LOGIN.pair_free):
        assert store.attempt("tinh03", STRANGER, right=False, now=later) == 0


def test_parallel_wrong_attempts_reach_the_password_check_only_as_the_rule_allows():
    """50 attempts at the same instant from one address, all reading the same state before any writes: the
    versioned writes admit them one by one, so exactly pair_free reach the check and the rest are told to wait."""
    store = Store()
    barrier = threading.Barrier(50)
    results: list[int] = []

    def one() -> None:
        results.append(store.attempt("tinh04", STRANGER, right=False, now=T0, before_write=_once(barrier)))

    threads = [threading.Thread(target=one) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.verified == LOGIN.pair_free
    assert results.count(0) == LOGIN.pair_free and all(w > 0 for w in results if w)
    assert store.conflicts > 0  # they did collide, and the conditions resolved it
    assert store.items[t.key_pair("tinh04", STRANGER)].failures == LOGIN.pair_free


def _once(barrier: threading.Barrier):
    done: list[bool] = []

    def wait() -> None:
        if not done:
            done.append(True)
            barrier.wait(timeout=10)

    return wait


@pytest.mark.parametrize("failures", [49, 50, 64, 1023, 10**6, 10**12, 10**100])
def test_no_count_however_large_overflows_or_exceeds_a_cap(failures):
    stored = Counter(failures, T0, None, 7)
    for now in (T0, T0 + timedelta(seconds=1)):
        decision = t.admit(LOGIN, now, stored, stored, stored)
        assert decision.allowed
        assert decision.pair.failures <= t.MAX_COUNT and decision.account.failures <= t.MAX_COUNT
        assert (decision.pair.next_at - now).total_seconds() <= max(LOGIN.pair_cap_s, LOGIN.spread_cap_s)
        assert (decision.address.next_at - now).total_seconds() <= LOGIN.address_cap_s
        assert t.on_success(LOGIN, now, decision).address.failures < t.MAX_COUNT
    assert t.backoff_seconds(10**100, 3, 2, 900) == 900


def test_a_refused_attempt_says_how_long_to_wait_and_changes_nothing():
    pair = Counter(9, T0, T0 + timedelta(seconds=90, milliseconds=200), 4)
    decision = t.admit(LOGIN, T0 + timedelta(seconds=30), pair, Counter(), Counter())
    assert (decision.allowed, decision.wait_seconds) == (False, 61)
    assert decision.pair is pair
    with pytest.raises(ValueError):
        t.on_success(LOGIN, T0, decision)


def test_addresses_are_counted_per_ipv4_address_and_per_ipv6_64():
    assert t.address_key("203.0.113.7") == "203.0.113.7"
    assert t.address_key("2001:db8:1:2:aaaa::1") == t.address_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert t.address_key("2001:db8:1:3::1") != t.address_key("2001:db8:1:2::1")
    assert t.address_key("::ffff:203.0.113.7") == "203.0.113.7"
    assert t.key_pair(" TINH01 ", "203.0.113.7") == "login#pair#tinh01#203.0.113.7"
    assert t.key_account("Admin") == "login#acct#admin" and t.key_address("x" * 100) == "login#addr#" + "x" * 64
    assert Counter(1, T0).expires_at(LOGIN) == T0 + timedelta(seconds=LOGIN.window_s)


def test_a_policy_whose_window_is_shorter_than_a_delay_is_refused():
    with pytest.raises(ValueError):
        ThrottlePolicy(window_s=60)
    with pytest.raises(ValueError):
        ThrottlePolicy(pair_free=-1)


def test_the_attempts_left_before_a_wait_follow_the_rule():
    assert t.attempts_before_wait(LOGIN, T0, Counter(), Counter(), Counter()) == LOGIN.pair_free
    once = t.admit(LOGIN, T0, Counter(), Counter(), Counter())
    assert t.attempts_before_wait(LOGIN, T0, once.pair, once.address, once.account) == LOGIN.pair_free - 1
    waiting = Counter(LOGIN.pair_free, T0, T0 + timedelta(seconds=2), 3)
    assert t.attempts_before_wait(LOGIN, T0, waiting, Counter(), Counter()) == 0
    assert t.attempts_before_wait(LOGIN, T0 + timedelta(seconds=2), waiting, Counter(), Counter()) == 1
    spraying = Counter(LOGIN.address_free - 1, T0, None, 9)
    assert t.attempts_before_wait(LOGIN, T0, Counter(), spraying, Counter()) == 1
    huge = Counter(10**12, T0, None, 1)
    assert t.attempts_before_wait(LOGIN, T0, huge, huge, huge) == 1
