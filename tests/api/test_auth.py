import threading
from datetime import timedelta

import pytest

from chalicelib.store.models import AuditModel, SessionModel, ThrottleModel


def audit_actions(action):
    return [e for e in AuditModel.scan() if e.action == action]


def test_an_account_logs_in_and_sees_itself(api, seeded):
    user, password = seeded["01"]
    r = api.call("POST", "/auth/login", {"username": user, "password": password}, ip="10.1.2.3")
    assert r.status_code == 200
    assert r.data["role"] == "province" and r.data["unit"] == "01"
    me = api.call("GET", "/me", token=r.data["token"])
    assert me.status_code == 200 and me.data["username"] == user
    [entry] = audit_actions("login")
    assert entry.source_ip == "10.1.2.3" and entry.unit_key == "01"


def test_sessions_are_stored_only_as_hashes(api, seeded):
    token = api.login(*seeded["admin"])
    stored = [s.token_hash for s in SessionModel.scan()]
    assert token not in stored and len(stored[0]) == 64


def test_a_wrong_password_is_refused_in_vietnamese_and_audited_with_its_ip(api, seeded):
    user, _ = seeded["01"]
    r = api.call("POST", "/auth/login", {"username": user, "password": "sai-mat-khau"}, ip="10.9.9.9")
    assert r.status_code == 401
    assert r.data["message"] == "Tên đăng nhập hoặc mật khẩu không đúng."
    [entry] = audit_actions("login_failed")
    assert entry.source_ip == "10.9.9.9" and entry.actor == user


def test_an_unknown_user_gets_the_same_answer_as_a_wrong_password(api, seeded):
    r = api.call("POST", "/auth/login", {"username": "khong-co", "password": "x"})
    assert r.status_code == 401 and r.data["code"] == "unauthenticated"


def login(api, user, password, ip):
    return api.call("POST", "/auth/login", {"username": user, "password": password}, ip=ip)


def wait_of(r) -> int:
    """How long an answer says to wait before the next attempt (a 429's Retry-After, a 401's details)."""
    return int(r.headers.get("retry-after") or 0) or int(r.data["details"][0]["retry_after"] if r.data else 0)


def test_an_address_gets_three_quick_guesses_then_waits_as_long_as_it_is_told(api, seeded, clock):
    user, password = seeded["02"]
    answers = [login(api, user, "x", "10.2.2.2") for _ in range(3)]
    assert [r.status_code for r in answers] == [401] * 3
    assert [r.data["details"][0]["attempts_left"] for r in answers] == [2, 1, 0]
    assert answers[-1].data["details"][0]["retry_after"] == 2  # the page can count down before the next try
    assert all(r.data["message"] == "Tên đăng nhập hoặc mật khẩu không đúng." for r in answers)
    slowed = login(api, user, password, "10.2.2.2")  # even the right password waits, from this address only
    assert slowed.status_code == 429 and slowed.headers["retry-after"] == "2"
    assert slowed.data["message"] == "Đăng nhập sai nhiều lần. Vui lòng chờ 2 giây rồi thử lại."
    assert slowed.data["details"] == [{"retry_after": 2, "attempts_left": 0, "attempts_after_wait": 1}]
    clock.at(clock() + timedelta(seconds=2))
    assert login(api, user, password, "10.2.2.2").status_code == 200
    # the right password started this address afresh: three quick guesses again
    assert login(api, user, "x", "10.2.2.2").data["details"][0]["attempts_left"] == 2


def test_a_strangers_wrong_passwords_never_keep_the_owner_out(api, seeded, clock):
    """The lockout as a weapon: a stranger's address sends wrong passwords for tinh04 as fast as it is let, and
    hammers in between; the owner, from the office's address, logs in with the right password at once."""
    user, password = seeded["04"]
    stranger, owner = "127.0.0.2", "127.0.0.3"
    statuses = []
    for _ in range(14):
        r = login(api, user, "doan-mat-khau", stranger)
        statuses.append(r.status_code)
        statuses += [login(api, user, "doan-tiep", stranger).status_code for _ in range(2)]  # not waiting
        clock.at(clock() + timedelta(seconds=max(1, wait_of(r))))
    assert statuses.count(401) >= 12 and set(statuses) == {401, 429}
    assert len(audit_actions("login_failed")) == statuses.count(401)
    r = login(api, user, password, owner)
    assert r.status_code == 200 and r.data["username"] == user
    guess = login(api, user, "doan-nua", stranger)  # the stranger's address stays slowed: the cap after each guess
    assert guess.status_code == 401 and guess.data["details"][0] == {"attempts_left": 0, "retry_after": 900}


def test_a_hundred_failures_only_slow_the_address_never_overflow_never_lock(api, seeded, clock):
    user, password = seeded["06"]
    statuses, waits = [], []
    for _ in range(100):
        r = login(api, user, "x", "10.4.4.4")
        statuses.append(r.status_code)
        wait = wait_of(r)
        waits.append(wait)
        clock.at(clock() + timedelta(seconds=max(wait, 1)))
    assert set(statuses) <= {401, 429} and statuses.count(401) >= 50
    assert max(waits) == 900  # the cap, never more
    clock.at(clock() + timedelta(seconds=900))
    assert login(api, user, password, "10.4.4.4").status_code == 200  # waiting always lets the owner in


def test_one_address_spraying_many_accounts_is_slowed_and_other_addresses_are_not(api, seeded):
    units = [u for u in seeded if u != "admin"][:22]
    statuses = [login(api, seeded[u][0], "x", "10.6.6.6").status_code for u in units[:21]]
    assert statuses[:20] == [401] * 20 and statuses[20] == 429
    user, password = seeded[units[21]]
    assert login(api, user, password, "10.6.6.6").status_code == 429
    assert login(api, user, password, "10.7.7.7").status_code == 200


def test_many_addresses_against_one_account_are_slowed_a_fresh_address_with_the_password_is_not(api, seeded):
    user, password = seeded["08"]
    attackers = [f"10.5.0.{i}" for i in range(1, 11)]
    assert [login(api, user, "x", ip).status_code for ip in attackers] == [401] * 10
    again = [login(api, user, "x", ip) for ip in attackers]
    assert [r.status_code for r in again[5:]] == [429] * 5  # beyond five failing addresses, each waits
    assert all(1 <= int(r.headers["retry-after"]) <= 600 for r in again[5:])
    assert login(api, user, password, "10.5.1.1").status_code == 200


@pytest.fixture
def atomic_requests(monkeypatch):
    """DynamoDB applies each request atomically; moto in-process does not guard its state against threads, so a
    lock around each emulated request gives it the service's per-request atomicity (and nothing more)."""
    from moto.core.botocore_stubber import BotocoreStubber

    lock = threading.Lock()
    original = BotocoreStubber.__call__

    def serialized(self, event_name, request, **kwargs):
        with lock:
            return original(self, event_name, request, **kwargs)

    monkeypatch.setattr(BotocoreStubber, "__call__", serialized)


def test_fifty_parallel_wrong_attempts_are_all_recorded_and_only_the_allowed_reach_the_password_check(
        api, seeded, clock, monkeypatch, atomic_requests):
    from chalicelib.domain import credentials, throttle
    from chalicelib.errors import AuthenticationError, RateLimitedError
    from chalicelib.runtime import runtime
    from chalicelib.services import auth

    checked, lock = [], threading.Lock()
    verify = credentials.verify_password

    def counted(password, stored):
        with lock:
            checked.append(password)
        return verify(password, stored)

    monkeypatch.setattr(auth.cred, "verify_password", counted)
    user, _ = seeded["10"]
    barrier, outcomes = threading.Barrier(50), []

    def attempt(i: int) -> None:
        barrier.wait(timeout=30)
        try:
            auth.login(user, f"sai-{i}", "127.0.0.2", clock(), runtime.random_bytes)
            outcome = "in"
        except AuthenticationError:
            outcome = "401"
        except RateLimitedError as exc:
            outcome = f"429:{exc.retry_after}"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 50 and len(checked) == throttle.LOGIN.pair_free == outcomes.count("401")
    assert all(o.startswith("429:") for o in outcomes if o != "401")
    pair = ThrottleModel.get(throttle.key_pair(user, "127.0.0.2"))
    assert int(pair.failures) + int(pair.refused) == 50  # every attempt recorded: 3 charged, 47 refused
    assert len(audit_actions("login_failed")) + len(audit_actions("login_throttled")) == 50


def test_the_password_change_is_throttled_on_the_same_counters(api, seeded, clock):
    user, password = seeded["11"]
    token = api.login(user, password, ip="10.7.0.7")
    body = {"current_password": "doan", "new_password": "Moi-Mat-Khau-9"}
    answers = [api.call("POST", "/auth/password", body, token=token, ip="10.7.0.7") for _ in range(3)]
    assert [r.status_code for r in answers] == [422] * 3
    assert [r.data["details"][0]["attempts_left"] for r in answers] == [2, 1, 0]
    assert answers[0].data["details"][0]["field"] == "current_password"
    right = {"current_password": password, "new_password": "Moi-Mat-Khau-9"}
    slowed = api.call("POST", "/auth/password", right, token=token, ip="10.7.0.7")
    assert slowed.status_code == 429 and slowed.headers["retry-after"] == "2" and "2 giây" in slowed.data["message"]
    assert login(api, user, password, "10.7.0.7").status_code == 429  # the same counters as the login
    clock.at(clock() + timedelta(seconds=2))
    assert api.call("POST", "/auth/password", right, token=token, ip="10.7.0.7").status_code == 200


def test_a_session_ends_after_thirty_minutes_without_a_request(api, seeded, clock):
    token = api.login(*seeded["12"])
    start = clock()
    for minutes in (29, 58, 87):  # each request within 30 minutes of the last keeps the session
        clock.at(start + timedelta(minutes=minutes))
        assert api.call("GET", "/me", token=token).status_code == 200
    clock.at(start + timedelta(minutes=87 + 30))
    r = api.call("GET", "/me", token=token)
    assert r.status_code == 401 and "hết hạn" in r.data["message"]
    assert login(api, *seeded["12"], "127.0.0.1").data["idle_minutes"] == 30


def test_a_sessions_activity_is_written_at_most_once_a_minute(api, seeded, clock):
    token = api.login(*seeded["14"])
    [session] = [s for s in SessionModel.scan() if s.username == seeded["14"][0]]
    start = clock()
    for seconds in (20, 40, 59):
        clock.at(start + timedelta(seconds=seconds))
        assert api.call("GET", "/me", token=token).status_code == 200
    assert SessionModel.get(session.token_hash).last_seen_at == start
    clock.at(start + timedelta(seconds=61))
    assert api.call("GET", "/me", token=token).status_code == 200
    assert SessionModel.get(session.token_hash).last_seen_at == start + timedelta(seconds=61)


def test_the_absolute_limit_still_ends_an_active_session(api, seeded, clock):
    token = api.login(*seeded["15"])
    start = clock()
    for minutes in range(20, 8 * 60, 20):
        clock.at(start + timedelta(minutes=minutes))
        assert api.call("GET", "/me", token=token).status_code == 200
    clock.at(start + timedelta(hours=8))
    assert api.call("GET", "/me", token=token).status_code == 401


def test_logout_ends_the_session(api, seeded):
    token = api.login(*seeded["01"])
    assert api.call("POST", "/auth/logout", token=token).status_code == 200
    r = api.call("GET", "/me", token=token)
    assert r.status_code == 401 and "đăng nhập" in r.data["message"]


def test_an_expired_session_is_refused(api, seeded, clock):
    token = api.login(*seeded["01"])
    clock.at(clock() + timedelta(hours=8, seconds=1))
    assert api.call("GET", "/me", token=token).status_code == 401


def test_a_password_change_checks_the_rules_and_ends_other_sessions(api, seeded):
    user, password = seeded["01"]
    first, second = api.login(user, password), api.login(user, password)
    weak = api.call("POST", "/auth/password", {"current_password": password, "new_password": "ngan"}, token=first)
    assert weak.status_code == 422 and weak.data["details"][0]["field"] == "new_password"
    # every broken rule at once: too short and only lower-case letters
    assert [d["field"] for d in weak.data["details"]] == ["new_password"]
    assert weak.data["details"][0]["rules"] == ["Mật khẩu mới phải có ít nhất 10 ký tự.",
                                                "Mật khẩu mới cần có ít nhất 3 trong 4 loại ký tự: chữ thường, "
                                                "chữ hoa, chữ số, ký tự đặc biệt."]
    assert weak.data["message"] == " ".join(weak.data["details"][0]["rules"])
    wrong = api.call("POST", "/auth/password", {"current_password": "x", "new_password": "Moi-Mat-Khau-9"},
                     token=first)
    assert wrong.status_code == 422 and wrong.data["message"] == "Mật khẩu hiện tại không đúng."
    ok = api.call("POST", "/auth/password", {"current_password": password, "new_password": "Moi-Mat-Khau-9"},
                  token=first)
    assert ok.status_code == 200
    assert api.call("GET", "/me", token=first).status_code == 200
    assert api.call("GET", "/me", token=second).status_code == 401
    assert api.call("POST", "/auth/login", {"username": user, "password": password}).status_code == 401
    assert api.call("POST", "/auth/login", {"username": user, "password": "Moi-Mat-Khau-9"}).status_code == 200


def test_a_malformed_body_gets_a_vietnamese_400(api, seeded):
    r = api.call("POST", "/auth/login", raw=b"{not json")
    assert r.status_code == 400 and r.data["code"] == "bad_request" and "JSON" in r.data["message"]


def test_an_account_with_a_handed_out_password_must_change_it_before_anything_else(api, aws, clock):
    from chalicelib.formats import datafiles
    from chalicelib.runtime import runtime
    from chalicelib.services import accounts, campaigns

    campaigns.create_from_files("2021", clock(), runtime.random_bytes)
    _, units = datafiles.load_campaign("2021")
    issued = {i["username"]: i["password"] for i in accounts.provision(units[:1], clock(), runtime.random_bytes)}
    login = api.call("POST", "/auth/login", {"username": "tinh01", "password": issued["tinh01"]})
    assert login.data["must_change_password"] is True
    token = login.data["token"]
    blocked = api.call("GET", "/campaigns", token=token)
    assert blocked.status_code == 403 and blocked.data["code"] == "password_change_required"
    assert api.call("GET", "/me", token=token).data["must_change_password"] is True
    changed = api.call("POST", "/auth/password", {"current_password": issued["tinh01"],
                                                  "new_password": "Mat-Khau-Rieng-2022"}, token=token)
    assert changed.status_code == 200
    assert api.call("GET", "/campaigns", token=token).status_code == 200
