"""Login throttling that an attacker cannot turn against the account's owner.

The rule
--------
Failures are counted on three kinds of counters, all forgotten after `window_s` seconds without a counted attempt:

- **pair** (account, source address): the attempts of one address against one account. The first `pair_free`
  are free; then each further attempt waits a delay doubling from `pair_base_s`, capped at `pair_cap_s`.
- **address**: the attempts of one address against any account (password spraying). The first `address_free` are
  free; then a doubling delay from `address_base_s`, capped at `address_cap_s`.
- **account**: how many *distinct* addresses failed against the account (the spread of an attack). Beyond
  `spread_free` addresses the account is under a distributed attack: every address that has already failed against
  it waits a doubling delay from `spread_base_s`, capped at `spread_cap_s`, before each further attempt.

Consequences:
- a correct password from an address without recent failures against the account (and not itself spraying) is
  verified at once, whatever strangers elsewhere did: the account's own counter never gates a fresh address, so a
  dozen wrong passwords for `tinhNN` from a stranger's address cannot keep the owner out;
- one address gets `pair_free` quick guesses per account, then one per `pair_cap_s` at most; many addresses
  against one account get one guess each, then one per `spread_cap_s` each;
- every delay is capped: nothing is a lock the owner cannot pass by waiting (at most the largest cap, 15 minutes
  with the defaults, and only for an address that has itself failed);
- IPv6 addresses count per /64 network (one subscriber's allocation), so rotating addresses inside it does not
  reset anything; IPv4-mapped IPv6 addresses count as their IPv4 address;
- counts saturate at `MAX_COUNT` and delays are computed in integer seconds with the exponent bounded, then capped,
  before any `timedelta` is built: nothing overflows, however many failures were recorded.

Counter items (one stored item per key; `key_pair`, `key_address`, `key_account` give the keys)::

    key        str       "login#pair#<account>#<address>" | "login#addr#<address>" | "login#acct#<account>"
    failures   int       attempts counted in the current window (for "acct": distinct failing addresses)
    last_at    datetime  the last counted attempt (the window runs from it: quiet for window_s -> forgotten)
    next_at    datetime  no password verification for this key before this instant (pair and address only)
    version    int       incremented on every write: the condition of the next write
    expires_at TTL       last_at + window_s (the store may let the database delete forgotten counters)

A missing item is `Counter()` (version 0; the store writes it with `attribute_not_exists(key)`).

One attempt, with one conditional write
---------------------------------------
1. The store reads the three items (one BatchGetItem).
2. `admit(policy, now, pair, address, account)` decides. Refused: `Admission.allowed` is False and `wait_seconds`
   (>= 1) is the Retry-After; nothing is written and the password is not verified. Allowed: the attempt is
   *charged in advance* as a failure: `Admission.pair`, `.address` and `.account` are the new states.
3. The store writes them in one TransactWriteItems: the pair and address items conditioned on the versions it read
   (`version = :read`, or `attribute_not_exists` for version 0), the account item likewise (or, to avoid contention
   between the addresses of a distributed attack, by `ADD failures :account_increment` without condition: it only
   feeds the spread, a racy count is harmless there). If the condition fails, another attempt came first: read
   again and decide again (a few times, then answer with a short Retry-After). So N parallel wrong attempts are N
   recorded attempts, and only those the rule admits, one by one, reach the password check.
4. The password is verified only after a successful write. If it is right, `on_success(policy, now, admission)`
   gives the states to write (again conditioned on the versions just written; on conflict, retry from a fresh read):
   the pair counter cleared (the store may delete the item) and the advance charge refunded on the address and the
   account counters, so that an office whose staff all log in through one address never accumulates anything. If
   it is wrong, nothing more is written: the failure is already counted.

A crash between steps 3 and 4 leaves the attempt counted as a failure: the safe side.
"""
from __future__ import annotations

import ipaddress
from msgspec import Struct
from msgspec.structs import asdict, replace
from datetime import datetime, timedelta

MAX_COUNT = 1_000_000  # counts saturate here (a stored number, and every comparison, stays small)
_MAX_SHIFT = 40  # the exponent of a doubling delay never exceeds this before the cap applies


class ThrottlePolicy(Struct, frozen=True):
    window_s: int = 1800
    pair_free: int = 3
    pair_base_s: int = 2
    pair_cap_s: int = 900
    address_free: int = 20
    address_base_s: int = 1
    address_cap_s: int = 300
    spread_free: int = 5
    spread_base_s: int = 5
    spread_cap_s: int = 600

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer")
        if self.window_s < max(self.pair_cap_s, self.address_cap_s, self.spread_cap_s):
            raise ValueError("the window must outlast every delay (a waiting counter must not be forgotten)")


LOGIN = ThrottlePolicy()


class Counter(Struct, frozen=True):
    failures: int = 0
    last_at: datetime | None = None
    next_at: datetime | None = None
    version: int = 0

    def expires_at(self, policy: ThrottlePolicy) -> datetime | None:
        return self.last_at + timedelta(seconds=policy.window_s) if self.last_at else None


class Admission(Struct, frozen=True):
    allowed: bool
    wait_seconds: int  # 0 when allowed; the Retry-After (>= 1) when refused
    pair: Counter  # allowed: the states to write (conditioned on the versions read); refused: as read
    address: Counter
    account: Counter
    account_increment: int = 0  # 1 when this attempt is the first failure of its address against the account


def address_key(source: str) -> str:
    """The unit an address is counted by: IPv4 as is, IPv6 by its /64 network, IPv4-mapped IPv6 as IPv4."""
    try:
        ip = ipaddress.ip_address(source.strip())
    except ValueError:
        return source.strip().lower()[:64] or "-"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(ip) >> 64 << 64, 64)))
    return str(ip)


def key_pair(account: str, source: str) -> str:
    return f"login#pair#{account.strip().lower()}#{address_key(source)}"


def key_address(source: str) -> str:
    return f"login#addr#{address_key(source)}"


def key_account(account: str) -> str:
    return f"login#acct#{account.strip().lower()}"


def backoff_seconds(count: int, free: int, base_s: int, cap_s: int) -> int:
    """The wait after `count` counted attempts: 0 while count < free, then base_s, 2*base_s, 4*base_s … capped."""
    if count < free or base_s == 0:
        return 0
    shift = min(count - free, _MAX_SHIFT)
    return min(cap_s, base_s << shift)


def _current(counter: Counter, policy: ThrottlePolicy, now: datetime) -> Counter:
    """The counter as it stands now: forgotten (zero, same version) after a quiet window."""
    if counter.last_at is not None and (now - counter.last_at).total_seconds() >= policy.window_s:
        return Counter(version=counter.version)
    return counter


def _wait(next_at: datetime | None, now: datetime) -> int:
    if next_at is None or now >= next_at:
        return 0
    seconds = (next_at - now).total_seconds()
    return max(1, int(seconds) + (0 if seconds == int(seconds) else 1))


def _later(now: datetime, seconds: int) -> datetime | None:
    return now + timedelta(seconds=seconds) if seconds else None


def admit(policy: ThrottlePolicy, now: datetime, pair: Counter, address: Counter, account: Counter) -> Admission:
    """Whether this attempt may have its password verified now, and the counters charged with it (see above)."""
    pair_now, address_now, account_now = (_current(c, policy, now) for c in (pair, address, account))
    wait = max(_wait(pair_now.next_at, now), _wait(address_now.next_at, now))
    if wait:
        return Admission(False, wait, pair, address, account)
    first_from_here = pair_now.failures == 0
    spread = min(MAX_COUNT, account_now.failures + (1 if first_from_here else 0))
    pair_count = min(MAX_COUNT, pair_now.failures + 1)
    address_count = min(MAX_COUNT, address_now.failures + 1)
    pair_delay = max(backoff_seconds(pair_count, policy.pair_free, policy.pair_base_s, policy.pair_cap_s),
                     backoff_seconds(spread, policy.spread_free + 1, policy.spread_base_s, policy.spread_cap_s))
    address_delay = backoff_seconds(address_count, policy.address_free, policy.address_base_s, policy.address_cap_s)
    return Admission(
        True, 0,
        Counter(pair_count, now, _later(now, pair_delay), pair.version + 1),
        Counter(address_count, now, _later(now, address_delay), address.version + 1),
        Counter(spread, now, None, account.version + 1),
        1 if first_from_here else 0)


class Settlement(Struct, frozen=True):
    clear_pair: bool  # the pair counter starts afresh (the store may delete the item)
    address: Counter  # conditioned on admission.address.version
    account: Counter  # conditioned on admission.account.version (or ADD -account_refund with failures >= 1)
    account_refund: int


def on_success(policy: ThrottlePolicy, now: datetime, admission: Admission) -> Settlement:
    """The right password after an allowed attempt: clear the pair, refund the advance charge elsewhere."""
    if not admission.allowed:
        raise ValueError("only an admitted attempt can succeed")
    address = admission.address
    new_address = replace(address, failures=max(0, address.failures - 1), version=address.version + 1)
    account = admission.account
    new_account = replace(account, failures=max(0, account.failures - admission.account_increment),
                          version=account.version + 1)
    return Settlement(True, new_address, new_account, admission.account_increment)


def attempts_before_wait(policy: ThrottlePolicy, now: datetime, pair: Counter, address: Counter,
                         account: Counter) -> int:
    """How many attempts this address may still make against the account at `now` before one is told to wait
    (each assumed to fail): what a login page can show before the next try. 0 when the next one must wait."""
    count = 0
    while count <= max(policy.pair_free, policy.address_free):
        decision = admit(policy, now, pair, address, account)
        if not decision.allowed:
            break
        count += 1
        pair, address, account = decision.pair, decision.address, decision.account
    return count
