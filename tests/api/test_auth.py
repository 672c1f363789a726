from datetime import timedelta

from chalicelib.store.models import AuditModel, SessionModel


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


def test_repeated_failures_are_slowed_then_locked_even_for_the_right_password(api, seeded, clock):
    user, password = seeded["02"]
    for _ in range(3):
        assert api.call("POST", "/auth/login", {"username": user, "password": "x"}).status_code == 401
    slowed = api.call("POST", "/auth/login", {"username": user, "password": password})
    assert slowed.status_code == 429 and int(slowed.headers["retry-after"]) >= 1
    assert "thử lại sau" in slowed.data["message"]
    for _ in range(7):  # waiting out each delay, keep failing until the lock
        clock.at(clock() + timedelta(minutes=10))
        last = api.call("POST", "/auth/login", {"username": user, "password": "x"})
    assert last.status_code == 429 and "tạm khóa" in last.data["message"]
    clock.at(clock() + timedelta(minutes=5))
    assert api.call("POST", "/auth/login", {"username": user, "password": password}).status_code == 429
    clock.at(clock() + timedelta(minutes=11))
    assert api.call("POST", "/auth/login", {"username": user, "password": password}).status_code == 200


def test_one_source_ip_guessing_across_many_accounts_is_throttled(api, seeded):
    statuses = []
    for unit in ["01", "02", "04", "06", "08", "10", "11", "12", "14", "15", "17"]:
        user, _ = seeded[unit]
        statuses.append(api.call("POST", "/auth/login", {"username": user, "password": "x"}, ip="10.6.6.6")
                        .status_code)
    assert statuses[:10] == [401] * 10 and statuses[10] == 429
    user, password = seeded["19"]
    assert api.call("POST", "/auth/login", {"username": user, "password": password}, ip="10.6.6.6").status_code == 429
    assert api.call("POST", "/auth/login", {"username": user, "password": password}, ip="10.7.7.7").status_code == 200


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
