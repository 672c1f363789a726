"""Login, sessions and the login throttle, run on the in-memory stores with an injected clock and random source: the
scenarios tests/api/test_auth.py runs through the API on moto (those stay: they test the wiring), here in
milliseconds each. The stores honour the same contracts (tests/unit/test_store_contract.py); nothing here may
reach AWS."""
import random
import threading
from msgspec import Struct, field
from datetime import datetime, timedelta, timezone

import botocore.client
import pytest

from chalicelib.domain import credentials, throttle
from chalicelib.errors import AuthenticationError, RateLimitedError, ValidationError
from chalicelib.services import accounts, audit, auth
from chalicelib.store import memory

T0 = datetime(2022, 1, 5, 3, 0, tzinfo=timezone.utc)
WRONG = "Tên đăng nhập hoặc mật khẩu không đúng."


class Answer(Struct):
    status: int
    message: str = ""
    details: list = field(default_factory=list)
    retry_after: int = 0
    body: dict = field(default_factory=dict)

    @property
    def wait(self) -> int:
        """How long the answer says to wait before the next attempt (a 429's Retry-After, a 401's details)."""
        return self.retry_after or (self.details[0]["retry_after"] if self.details else 0)


class World:
    """Twenty-four provinces' accounts and the organiser's in fresh in-memory stores; a clock the test moves."""

    def __init__(self, units: int = 24):
        self.stores = memory.stores()
        self.now = T0
        self.random_bytes = random.Random(2022).randbytes
        provinces = [{"code": f"{i:02d}", "name": f"Tỉnh Thử {i:02d}"} for i in range(1, units + 1)]
        issued = accounts.provision(provinces, self.now, self.random_bytes, must_change=False, stores=self.stores)
        self.logins = {(i["unit"] or "admin"): (i["username"], i["password"]) for i in issued}

    def later(self, **delta) -> None:
        self.now += timedelta(**delta)

    def login(self, user: str, password: str, ip: str = "127.0.0.1") -> Answer:
        try:
            body = auth.login(user, password, ip, self.now, self.random_bytes, stores=self.stores)
        except AuthenticationError as exc:
            return Answer(401, exc.message, exc.details)
        except RateLimitedError as exc:
            return Answer(429, exc.message, exc.details, exc.retry_after)
        return Answer(200, body=body)

    def token(self, who: str, ip: str = "127.0.0.1") -> str:
        answer = self.login(*self.logins[who], ip)
        assert answer.status == 200, answer
        return answer.body["token"]

    def me(self, token: str):
        return auth.authenticate(f"Bearer {token}", "127.0.0.1", self.now, stores=self.stores)

    def change_password(self, token: str, current: str, new: str, ip: str = "127.0.0.1") -> Answer:
        actor, digest = auth.authenticate(f"Bearer {token}", ip, self.now, stores=self.stores)
        try:
            auth.change_password(actor, digest, current, new, self.now, self.random_bytes, stores=self.stores)
        except ValidationError as exc:
            return Answer(422, exc.message, exc.details)
        except RateLimitedError as exc:
            return Answer(429, exc.message, exc.details, exc.retry_after)
        return Answer(200)

    def audited(self, action: str) -> list:
        items, _ = self.stores.audit.query(start=T0 - timedelta(days=1), end=self.now + timedelta(days=1),
                                           unit=None, actor=None, action=action, cid=None, limit=1000, cursor=None)
        return items


@pytest.fixture
def world(monkeypatch):
    def refuse(self, operation, params):
        raise AssertionError(f"a service test on the in-memory stores reached AWS ({operation})")

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", refuse)
    return World()


def test_an_account_logs_in_and_its_login_is_audited_with_its_address(world):
    user, password = world.logins["01"]
    answer = world.login(user, password, "10.1.2.3")
    assert answer.status == 200 and answer.body["role"] == "province" and answer.body["unit"] == "01"
    assert answer.body["idle_minutes"] == 30 and answer.body["expires_at"] == "2022-01-05T11:00:00Z"
    actor, _ = world.me(answer.body["token"])
    assert (actor.username, actor.role, actor.unit) == (user, "province", "01")
    [entry] = world.audited("login")
    assert (entry.source_ip, entry.unit_key, entry.actor) == ("10.1.2.3", "01", user)


def test_a_session_is_stored_only_under_its_tokens_hash(world):
    token = world.token("admin")
    assert world.stores.accounts.find_session(token) is None
    assert world.stores.accounts.find_session(credentials.token_hash(token)).username == "admin"


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer_and_are_audited(world):
    user, _ = world.logins["01"]
    wrong = world.login(user, "sai-mat-khau", "10.9.9.9")
    world.later(milliseconds=1)
    unknown = world.login("khong-co", "x", "10.9.9.9")
    assert (wrong.status, wrong.message) == (unknown.status, unknown.message) == (401, WRONG)
    assert [(e.actor, e.source_ip) for e in world.audited("login_failed")] == [("khong-co", "10.9.9.9"),
                                                                                (user, "10.9.9.9")]


def test_an_address_gets_three_quick_guesses_then_waits_as_long_as_it_is_told(world):
    user, password = world.logins["02"]
    answers = [world.login(user, "x", "10.2.2.2") for _ in range(3)]
    assert [a.status for a in answers] == [401] * 3 and all(a.message == WRONG for a in answers)
    assert [a.details[0]["attempts_left"] for a in answers] == [2, 1, 0]
    assert answers[-1].details[0]["retry_after"] == 2
    slowed = world.login(user, password, "10.2.2.2")  # even the right password waits, from this address only
    assert (slowed.status, slowed.retry_after) == (429, 2)
    assert slowed.message == "Đăng nhập sai nhiều lần. Vui lòng chờ 2 giây rồi thử lại."
    assert slowed.details == [{"retry_after": 2, "attempts_left": 0, "attempts_after_wait": 1}]
    assert world.login(user, password, "10.2.2.3").status == 200
    world.later(milliseconds=1999)
    assert world.login(user, password, "10.2.2.2").retry_after == 1  # a part of a second is told as one
    world.later(milliseconds=1)
    assert world.login(user, password, "10.2.2.2").status == 200
    assert world.login(user, "x", "10.2.2.2").details[0]["attempts_left"] == 2  # started afresh


def test_a_strangers_wrong_passwords_never_keep_the_owner_out(world):
    user, password = world.logins["04"]
    stranger, owner = "127.0.0.2", "127.0.0.3"
    statuses = []
    for _ in range(14):
        answer = world.login(user, "doan-mat-khau", stranger)
        statuses.append(answer.status)
        statuses += [world.login(user, "doan-tiep", stranger).status for _ in range(2)]  # not waiting
        world.later(seconds=max(1, answer.wait))
    assert statuses.count(401) >= 12 and set(statuses) == {401, 429}
    assert len(world.audited("login_failed")) == statuses.count(401)
    assert len(world.audited("login_throttled")) == statuses.count(429)
    assert world.login(user, password, owner).status == 200
    guess = world.login(user, "doan-nua", stranger)
    assert guess.status == 401 and guess.details[0] == {"attempts_left": 0, "retry_after": 900}


def test_a_hundred_failures_only_slow_the_address_never_overflow_never_lock(world):
    user, password = world.logins["06"]
    statuses, waits = [], []
    for _ in range(100):
        answer = world.login(user, "x", "10.4.4.4")
        statuses.append(answer.status)
        waits.append(answer.wait)
        world.later(seconds=max(answer.wait, 1))
    assert set(statuses) <= {401, 429} and statuses.count(401) >= 50
    assert max(waits) == 900
    world.later(seconds=900)
    assert world.login(user, password, "10.4.4.4").status == 200


def test_one_address_spraying_many_accounts_is_slowed_and_other_addresses_are_not(world):
    units = [f"{i:02d}" for i in range(1, 23)]
    statuses = [world.login(world.logins[u][0], "x", "10.6.6.6").status for u in units[:21]]
    assert statuses[:20] == [401] * 20 and statuses[20] == 429
    assert world.login(*world.logins[units[21]], "10.6.6.6").status == 429
    assert world.login(*world.logins[units[21]], "10.7.7.7").status == 200


def test_many_addresses_against_one_account_are_slowed_a_fresh_address_with_the_password_is_not(world):
    user, password = world.logins["08"]
    attackers = [f"10.5.0.{i}" for i in range(1, 11)]
    assert [world.login(user, "x", ip).status for ip in attackers] == [401] * 10
    again = [world.login(user, "x", ip) for ip in attackers]
    assert [a.status for a in again[5:]] == [429] * 5
    assert all(1 <= a.retry_after <= 600 for a in again[5:])
    assert world.login(user, password, "10.5.1.1").status == 200


def test_fifty_parallel_wrong_attempts_are_all_recorded_and_only_the_allowed_reach_the_password_check(
        world, monkeypatch):
    checked, lock = [], threading.Lock()
    verify = credentials.verify_password

    def counted(password, stored):
        with lock:
            checked.append(password)
        return verify(password, stored)

    monkeypatch.setattr(auth.cred, "verify_password", counted)
    user, _ = world.logins["10"]
    barrier, outcomes = threading.Barrier(50), []

    def attempt(i: int) -> None:
        barrier.wait(timeout=30)
        answer = world.login(user, f"sai-{i}", "127.0.0.2")
        with lock:
            outcomes.append(answer)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = [a.status for a in outcomes]
    assert len(outcomes) == 50 and len(checked) == throttle.LOGIN.pair_free == statuses.count(401)
    assert statuses.count(429) == 47 and all(a.retry_after >= 1 for a in outcomes if a.status == 429)
    read = world.stores.accounts.login_counters(user, "127.0.0.2")
    assert read.pair.failures + read.refused == 50  # every attempt recorded: 3 charged, 47 refused
    assert len(world.audited("login_failed")) + len(world.audited("login_throttled")) == 50


def test_the_password_change_is_throttled_on_the_same_counters(world):
    user, password = world.logins["11"]
    token = world.token("11", ip="10.7.0.7")
    answers = [world.change_password(token, "doan", "Moi-Mat-Khau-9", "10.7.0.7") for _ in range(3)]
    assert [a.status for a in answers] == [422] * 3
    assert [a.details[0]["attempts_left"] for a in answers] == [2, 1, 0]
    assert answers[0].details[0]["field"] == "current_password"
    slowed = world.change_password(token, password, "Moi-Mat-Khau-9", "10.7.0.7")
    assert (slowed.status, slowed.retry_after) == (429, 2) and "2 giây" in slowed.message
    assert world.login(user, password, "10.7.0.7").status == 429  # the same counters as the login
    world.later(seconds=2)
    assert world.change_password(token, password, "Moi-Mat-Khau-9", "10.7.0.7").status == 200
    assert [e.details for e in world.audited("password_changed")] == [{"other_sessions_ended": 0}]


def test_a_session_ends_after_thirty_minutes_without_a_request(world):
    token = world.token("12")
    start = world.now
    for minutes in (29, 58, 87):  # each request within 30 minutes of the last keeps the session
        world.now = start + timedelta(minutes=minutes)
        world.me(token)
    world.now = start + timedelta(minutes=87 + 30)
    with pytest.raises(AuthenticationError, match="hết hạn"):
        world.me(token)


def test_a_sessions_activity_is_written_at_most_once_a_minute(world):
    token = world.token("14")
    digest, start = credentials.token_hash(token), world.now
    for seconds in (20, 40, 59):
        world.now = start + timedelta(seconds=seconds)
        world.me(token)
    assert world.stores.accounts.find_session(digest).last_seen_at == start
    world.now = start + timedelta(seconds=61)
    world.me(token)
    assert world.stores.accounts.find_session(digest).last_seen_at == start + timedelta(seconds=61)


def test_the_absolute_limit_ends_an_active_session(world):
    token = world.token("15")
    start = world.now
    for minutes in range(20, 8 * 60, 20):
        world.now = start + timedelta(minutes=minutes)
        world.me(token)
    world.now = start + timedelta(hours=8)
    with pytest.raises(AuthenticationError):
        world.me(token)


def test_logout_ends_the_session_and_is_audited(world):
    token = world.token("01")
    actor, digest = world.me(token)
    auth.logout(actor, digest, world.now, "abcd", stores=world.stores)
    with pytest.raises(AuthenticationError, match="đăng nhập"):
        world.me(token)
    assert [e.actor for e in world.audited("logout")] == [actor.username]


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer ", "Bearer " + "x" * 129, "Bearer unknown"])
def test_a_missing_or_unknown_token_is_refused(world, header):
    with pytest.raises(AuthenticationError):
        auth.authenticate(header, "127.0.0.1", world.now, stores=world.stores)


def test_a_password_change_checks_the_rules_and_ends_other_sessions(world):
    user, password = world.logins["01"]
    first, second = world.token("01"), world.token("01")
    weak = world.change_password(first, password, "ngan")
    assert weak.status == 422 and [d["field"] for d in weak.details] == ["new_password"]
    assert weak.details[0]["rules"] == ["Mật khẩu mới phải có ít nhất 10 ký tự.",
                                        "Mật khẩu mới cần có ít nhất 3 trong 4 loại ký tự: chữ thường, "
                                        "chữ hoa, chữ số, ký tự đặc biệt."]
    assert world.change_password(first, password, password).details[0]["rules"][0] == \
        "Mật khẩu mới phải khác mật khẩu hiện tại."
    assert world.change_password(first, "x", "Moi-Mat-Khau-9").message == "Mật khẩu hiện tại không đúng."
    assert world.change_password(first, password, "Moi-Mat-Khau-9").status == 200
    world.me(first)
    with pytest.raises(AuthenticationError):
        world.me(second)
    assert world.login(user, password).status == 401
    assert world.login(user, "Moi-Mat-Khau-9").status == 200


def test_a_handed_out_password_must_be_changed_and_provisioning_again_resets_it(world):
    old = world.token("admin")
    [issued] = accounts.provision([], world.now, world.random_bytes, reset=True, stores=world.stores)
    assert issued["username"] == "admin"
    with pytest.raises(AuthenticationError):
        world.me(old)  # a reset ends the account's sessions
    assert world.login("admin", world.logins["admin"][1]).status == 401
    answer = world.login("admin", issued["password"])
    actor, _ = world.me(answer.body["token"])
    assert answer.body["must_change_password"] is True and actor.must_change_password is True
    assert world.change_password(answer.body["token"], issued["password"], "Mat-Khau-Rieng-2022").status == 200
    assert world.me(answer.body["token"])[0].must_change_password is False


def test_notifications_and_the_audit_search_go_through_the_stores_given(world):
    audit.notify("2021", ["01", "02"], world.now, "phase", "Mở giai đoạn", "Giai đoạn tự đánh giá đã mở.", "p1",
                 stores=world.stores)
    assert [n["title"] for n in audit.notifications("2021", "01", stores=world.stores)["items"]] == ["Mở giai đoạn"]
    admin, _ = world.me(world.token("admin"))
    found = audit.search(admin, world.now + timedelta(seconds=1), start=None, end=None, unit=None, who=None,
                         action="account_created", cid=None, limit=10, cursor=None, stores=world.stores)
    assert len(found["items"]) == 10 and found["next_cursor"]
    rest = audit.search(admin, world.now + timedelta(seconds=1), start=None, end=None, unit=None, who=None,
                        action="account_created", cid=None, limit=200, cursor=found["next_cursor"],
                        stores=world.stores)
    assert len(rest["items"]) == 15 and rest["next_cursor"] is None  # 24 provinces and the organiser
