"""The store contracts (`AccountsStore`, `AuditStore`, `CampaignsStore`, `QuestionnairesStore`, `AssessmentStore`,
`FilesStore`, `RosterStore`, `AddressChangesStore`, `ResponsesStore`, `LinksStore`, `DeliveryStore`, `Mailer`,
`Queues`, `IntegrityStore`, `SurveyStore`): every case runs against the in-memory implementation
(chalicelib/store/memory.py) and against the DynamoDB one on moto, so a service tested on the first meets the same
rules on the second (and on moto's SES and SQS for the mailer and the queues)."""
import base64
import hashlib
import json
from msgspec.structs import replace
from datetime import date, datetime, timedelta, timezone

import pytest
import requests

from chalicelib.domain import campaign as campaign_rules
from chalicelib.domain import throttle
from chalicelib.domain.links import REMINDABLE
from chalicelib.domain.throttle import Counter
from chalicelib.errors import ConflictError, NotFoundError
from chalicelib.formats import datafiles
from chalicelib.store import memory
from chalicelib.store.accounts import Account, Session
from chalicelib.store.address_changes import AddressChange
from chalicelib.store.assessment import Framework
from chalicelib.store.audit import sort_key
from chalicelib.store.questionnaires import Questionnaire
from chalicelib.store.roster import respondent
from chalicelib import observability as obs
from chalicelib.config import settings
from chalicelib.store import links as link_store
from chalicelib.store import queues as queue_store
from chalicelib.store.delivery import EventRecord, Preflight, Retry
from chalicelib.store.integrity import IntegrityScan
from chalicelib.store.links import DispatchRun, Link, Mail, MinistryCount, Token
from chalicelib.store.mailer import RejectedError
from chalicelib.store.models import ResponseModel
from chalicelib.store.stores import DYNAMODB
from chalicelib.store.survey import Draft, Gate, Response, device

T0 = datetime(2022, 1, 5, 3, 0, tzinfo=timezone.utc)
POLICY = throttle.LOGIN
EVERY = timedelta(minutes=1)
VN = timezone(timedelta(hours=7))


@pytest.fixture(params=["memory", "dynamodb"])
def stores(request):
    if request.param == "memory":
        return memory.stores()
    request.getfixturevalue("aws")  # the app's tables, empty, in moto
    return DYNAMODB


def account(username="tinh01", unit="01", **changes) -> Account:
    values = dict(username=username, role="province", unit=unit, display_name="Sở Nội vụ tỉnh Hà Giang",
                  password_hash="scrypt$1", must_change_password=True, password_changed_at=None, created_at=T0)
    return Account(**{**values, **changes})


def session(token_hash="a" * 64, username="tinh01", last_seen_at=T0, **changes) -> Session:
    values = dict(token_hash=token_hash, username=username, role="province", unit="01",
                  display_name="Sở Nội vụ tỉnh Hà Giang", source_ip="10.0.0.1", must_change_password=False,
                  created_at=T0, expires_at=T0 + timedelta(hours=8), last_seen_at=last_seen_at)
    return Session(**{**values, **changes})


# ------------------------------------------------------------------------------------------------------- accounts

def test_an_account_is_created_once_and_found(stores):
    s = stores.accounts
    assert s.find_account("tinh01") is None
    s.create_account(account())
    assert s.find_account("tinh01") == account()
    with pytest.raises(ConflictError):
        s.create_account(account(display_name="Kẻ khác", password_hash="scrypt$2"))
    assert s.find_account("tinh01") == account()  # the first stays as it was


def test_a_password_is_set_on_an_existing_account_only(stores):
    s = stores.accounts
    s.create_account(account())
    later = T0 + timedelta(days=1)
    s.set_password("tinh01", "scrypt$new", later, must_change=False)
    assert s.find_account("tinh01") == account(password_hash="scrypt$new", password_changed_at=later,
                                               must_change_password=False)
    with pytest.raises(NotFoundError):
        s.set_password("khong-co", "scrypt$x", later, must_change=False)
    assert s.find_account("khong-co") is None


# ------------------------------------------------------------------------------------------------------- sessions

def test_a_session_is_put_once_and_found_by_its_hash(stores):
    s = stores.accounts
    assert s.find_session("a" * 64) is None
    s.put_session(session())
    assert s.find_session("a" * 64) == session()
    with pytest.raises(ConflictError):
        s.put_session(session(username="tinh02"))
    assert s.find_session("a" * 64) == session()
    s.put_session(session("b" * 64, last_seen_at=None))
    assert s.find_session("b" * 64) == session("b" * 64, last_seen_at=None)


def test_activity_is_written_at_most_once_a_minute_and_never_revives_a_session(stores):
    s = stores.accounts
    s.put_session(session())
    assert s.touch_session("a" * 64, T0 + timedelta(seconds=59), EVERY) is False
    assert s.find_session("a" * 64).last_seen_at == T0
    assert s.touch_session("a" * 64, T0 + timedelta(seconds=60), EVERY) is True
    assert s.find_session("a" * 64).last_seen_at == T0 + timedelta(seconds=60)
    assert s.touch_session("a" * 64, T0 + timedelta(seconds=90), EVERY) is False
    s.put_session(session("b" * 64, last_seen_at=None))
    assert s.touch_session("b" * 64, T0, EVERY) is True  # never recorded: recorded now
    assert s.find_session("b" * 64).last_seen_at == T0
    s.delete_session("a" * 64)
    assert s.touch_session("a" * 64, T0 + timedelta(hours=1), EVERY) is False
    assert s.find_session("a" * 64) is None


def test_clearing_must_change_never_recreates_a_session(stores):
    s = stores.accounts
    s.put_session(session(must_change_password=True))
    s.clear_must_change("a" * 64)
    assert s.find_session("a" * 64) == session(must_change_password=False)
    s.clear_must_change("c" * 64)
    assert s.find_session("c" * 64) is None


def test_sessions_end_one_by_one_or_all_of_a_user_but_one(stores):
    s = stores.accounts
    for token, user in (("a", "tinh01"), ("b", "tinh01"), ("c", "tinh01"), ("d", "tinh02")):
        s.put_session(session(token * 64, username=user))
    assert s.delete_sessions_of("tinh01", keep="b" * 64) == 2
    assert [s.find_session(t * 64) is not None for t in "abcd"] == [False, True, False, True]
    assert s.delete_sessions_of("tinh01") == 1
    assert s.find_session("b" * 64) is None and s.find_session("d" * 64) is not None
    assert s.delete_sessions_of("khong-co") == 0
    s.delete_session("d" * 64)
    s.delete_session("d" * 64)  # deleting twice is deleting once
    assert s.find_session("d" * 64) is None


# -------------------------------------------------------------------------------------------------- login throttle

def charge(s, account_name, ip, now):
    """One attempt's read, decision and charge; returns (read, admission, charged)."""
    read = s.login_counters(account_name, ip)
    admission = throttle.admit(POLICY, now, read.pair, read.address, read.account)
    assert admission.allowed
    return read, admission, s.charge_login(read, admission, now, POLICY)


def test_fresh_counters_are_empty_and_keyed_by_the_throttle(stores):
    read = stores.accounts.login_counters("TINH01", "10.0.0.1")
    assert (read.pair_key, read.address_key, read.account_key) == (
        throttle.key_pair("tinh01", "10.0.0.1"), throttle.key_address("10.0.0.1"), throttle.key_account("tinh01"))
    assert (read.pair, read.address, read.account, read.refused) == (Counter(), Counter(), Counter(), 0)


def test_a_charge_writes_the_admitted_states(stores):
    s = stores.accounts
    _, admission, charged = charge(s, "tinh01", "10.0.0.1", T0)
    assert charged
    read = s.login_counters("tinh01", "10.0.0.1")
    assert read.pair == admission.pair == Counter(1, T0, None, 1)
    assert read.address == admission.address == Counter(1, T0, None, 1)
    assert read.account == Counter(1, T0, None, 0)  # the spread counter is added to, never versioned
    for n in range(2, 4):  # the third failure of the pair sets its delay
        _, admission, charged = charge(s, "tinh01", "10.0.0.1", T0 + timedelta(seconds=n))
        assert charged
    assert s.login_counters("tinh01", "10.0.0.1").pair == Counter(3, T0 + timedelta(seconds=3),
                                                                  T0 + timedelta(seconds=5), 3)


def test_two_charges_on_the_same_read_only_one_succeeds(stores):
    s = stores.accounts
    read = s.login_counters("tinh01", "10.0.0.1")
    first = throttle.admit(POLICY, T0, read.pair, read.address, read.account)
    second = throttle.admit(POLICY, T0 + timedelta(milliseconds=5), read.pair, read.address, read.account)
    assert s.charge_login(read, first, T0, POLICY) is True
    assert s.charge_login(read, second, T0 + timedelta(milliseconds=5), POLICY) is False
    after = s.login_counters("tinh01", "10.0.0.1")
    assert (after.pair, after.address, after.account.failures) == (first.pair, first.address, 1)
    _, _, charged = charge(s, "tinh01", "10.0.0.1", T0 + timedelta(milliseconds=5))  # decided again: charged
    assert charged and s.login_counters("tinh01", "10.0.0.1").pair.failures == 2


def test_a_charge_is_all_or_nothing_when_only_the_address_moved(stores):
    s = stores.accounts
    read = s.login_counters("tinh01", "10.0.0.1")
    _, _, charged = charge(s, "tinh02", "10.0.0.1", T0)  # the same address, another account
    assert charged
    admission = throttle.admit(POLICY, T0, read.pair, read.address, read.account)
    assert s.charge_login(read, admission, T0, POLICY) is False
    assert s.login_counters("tinh01", "10.0.0.1").pair == Counter()  # nothing of the refused charge written


def test_the_spread_grows_inside_its_window_and_restarts_once_forgotten(stores):
    s = stores.accounts
    late_read = s.login_counters("tinh01", "10.0.0.2")  # read before the first address charged
    charge(s, "tinh01", "10.0.0.1", T0)
    admission = throttle.admit(POLICY, T0, late_read.pair, late_read.address, late_read.account)
    assert s.charge_login(late_read, admission, T0, POLICY) is False  # two restarts together: one decides again
    _, _, charged = charge(s, "tinh01", "10.0.0.2", T0 + timedelta(seconds=1))
    assert charged and s.login_counters("tinh01", "10.0.0.3").account == Counter(2, T0 + timedelta(seconds=1))
    _, _, charged = charge(s, "tinh01", "10.0.0.1", T0 + timedelta(seconds=2))  # the same address again: no growth
    assert charged and s.login_counters("tinh01", "10.0.0.3").account.failures == 2
    later = T0 + timedelta(seconds=2 + POLICY.window_s)
    _, _, charged = charge(s, "tinh01", "10.0.0.4", later)
    assert charged and s.login_counters("tinh01", "10.0.0.3").account == Counter(1, later)


def test_a_refusal_is_counted_without_moving_the_version(stores):
    s = stores.accounts
    fresh = s.login_counters("tinh01", "10.0.0.1")
    s.note_refused(fresh, T0, POLICY)
    read = s.login_counters("tinh01", "10.0.0.1")
    assert read.refused == 1 and read.pair == Counter()
    charge(s, "tinh01", "10.0.0.1", T0)
    read = s.login_counters("tinh01", "10.0.0.1")
    s.note_refused(read, T0, POLICY)
    s.note_refused(read, T0, POLICY)
    admission = throttle.admit(POLICY, T0, read.pair, read.address, read.account)
    assert s.charge_login(read, admission, T0, POLICY) is True  # an attempt in flight is not made to decide again
    after = s.login_counters("tinh01", "10.0.0.1")
    assert after.refused == 3 and after.pair == Counter(2, T0, None, 2)


def test_the_right_password_clears_the_pair_and_refunds_the_charge(stores):
    s = stores.accounts
    charge(s, "tinh01", "10.0.0.1", T0)
    read, admission, _ = charge(s, "tinh01", "10.0.0.1", T0 + timedelta(seconds=1))
    s.settle_login(read, admission, throttle.on_success(POLICY, T0, admission).account_refund)
    after = s.login_counters("tinh01", "10.0.0.1")
    assert after.pair == Counter()
    assert after.address == Counter(1, T0 + timedelta(seconds=1), None, 3)  # refunded; the version moved
    assert after.account.failures == 1  # this address's first failure was the earlier attempt: kept


def test_a_settlement_keeps_a_pair_charged_since_and_never_refunds_below_zero(stores):
    s = stores.accounts
    read, admission, _ = charge(s, "tinh01", "10.0.0.1", T0)
    _, since, _ = charge(s, "tinh01", "10.0.0.1", T0 + timedelta(seconds=1))  # a wrong guess alongside
    s.settle_login(read, admission, throttle.on_success(POLICY, T0, admission).account_refund)
    after = s.login_counters("tinh01", "10.0.0.1")
    assert after.pair == since.pair  # the guess made alongside stays counted
    assert after.address.failures == 1 and after.account.failures == 0
    s.settle_login(read, admission, 1)  # nothing left to refund on the account, one on the address
    s.settle_login(read, admission, 1)
    after = s.login_counters("tinh01", "10.0.0.1")
    assert after.address == Counter(0, T0 + timedelta(seconds=1), None, 4)  # one refund written, one refused
    assert after.account.failures == 0 and after.pair == since.pair
    nothing = s.login_counters("tinh09", "10.9.9.9")
    unwritten = throttle.admit(POLICY, T0, nothing.pair, nothing.address, nothing.account)
    s.settle_login(nothing, unwritten, 1)  # counters never written stay unwritten
    assert s.login_counters("tinh09", "10.9.9.9") == nothing


# ----------------------------------------------------------------------------------------------------------- audit

def entry(s, at, suffix, *, actor="admin", unit_key="-", action="login", cid=None, details=None):
    s.append(at=at, actor=actor, role="moha" if actor == "admin" else "province", unit_key=unit_key, action=action,
             target=actor, cid=cid, source_ip="10.0.0.1", details=details, suffix=suffix)


def query(s, start=T0 - timedelta(days=400), end=T0 + timedelta(days=1), limit=50, cursor=None, **filters):
    wanted = {"unit": None, "actor": None, "action": None, "cid": None, **filters}
    return s.query(start=start, end=end, limit=limit, cursor=cursor, **wanted)


def suffixes(items):
    return [item.sk.split("#")[1] for item in items]


def test_an_entry_is_appended_once_with_every_field(stores):
    s = stores.audit
    entry(s, T0, "e1", details={"wait_seconds": 2, "rows": [1, 2]})
    with pytest.raises(ConflictError):
        entry(s, T0, "e1", actor="tinh01", details={"other": True})
    [found], cursor = query(s)
    assert cursor is None
    assert (found.month, found.sk, found.at, found.actor, found.role, found.unit_key, found.action, found.target,
            found.cid, found.source_ip, found.details) == (
        "2022-01", sort_key(T0, "e1"), T0, "admin", "moha", "-", "login", "admin", None, "10.0.0.1",
        {"wait_seconds": 2, "rows": [1, 2]})


def seed_filters(s):
    minute = timedelta(minutes=1)
    entry(s, T0, "e1")
    entry(s, T0 + minute, "e2", actor="tinh01", unit_key="01")
    entry(s, T0 + 2 * minute, "e3", unit_key="01", action="roster_uploaded", cid="2021")
    entry(s, T0 + 3 * minute, "e4", actor="tinh01", unit_key="01", action="submitted", cid="2021")
    entry(s, T0 + 4 * minute, "e5", actor="tinh02", unit_key="02", cid="demo")


@pytest.mark.parametrize("filters, expected", [
    ({}, ["e5", "e4", "e3", "e2", "e1"]),
    ({"unit": "01"}, ["e4", "e3", "e2"]),
    ({"actor": "admin"}, ["e3", "e1"]),
    ({"unit": "01", "actor": "admin"}, ["e3"]),
    ({"action": "login"}, ["e5", "e2", "e1"]),
    ({"cid": "2021"}, ["e4", "e3"]),
    ({"unit": "01", "action": "login"}, ["e2"]),
    ({"actor": "tinh01", "cid": "2021"}, ["e4"]),
    ({"start": T0 + timedelta(minutes=1), "end": T0 + timedelta(minutes=3)}, ["e4", "e3", "e2"]),
    ({"unit": "01", "start": T0 + timedelta(minutes=3)}, ["e4"]),
    ({"unit": "03"}, []),
])
def test_the_log_is_filtered_newest_first(stores, filters, expected):
    seed_filters(stores.audit)
    items, cursor = query(stores.audit, **filters)
    assert suffixes(items) == expected and cursor is None


def seed_months(s) -> list[str]:
    """Seven entries over three months (two partitions' boundaries), for tinh01 and admin alternately."""
    moments = [datetime(2021, 11, 20, tzinfo=timezone.utc), datetime(2021, 11, 30, 23, 59, tzinfo=timezone.utc),
               datetime(2021, 12, 1, tzinfo=timezone.utc), datetime(2021, 12, 15, tzinfo=timezone.utc),
               datetime(2021, 12, 31, 20, tzinfo=timezone.utc), datetime(2022, 1, 1, 1, tzinfo=timezone.utc), T0]
    for i, at in enumerate(moments):
        entry(s, at, f"m{i}", actor="tinh01" if i % 2 else "admin", unit_key="01" if i % 2 else "-")
    return [f"m{i}" for i in reversed(range(len(moments)))]


def walk(s, limit, **filters) -> list[list[str]]:
    pages, cursor = [], None
    for _ in range(20):
        items, cursor = query(s, limit=limit, cursor=cursor, **filters)
        assert len(items) == limit if cursor else len(items) <= limit  # a page with a cursor is full
        pages.append(suffixes(items))
        if cursor is None:
            return pages
    raise AssertionError("paging does not end")


@pytest.mark.parametrize("limit", [1, 2, 3, 7, 10])
def test_paging_walks_every_entry_once_across_months(stores, limit):
    everything = seed_months(stores.audit)
    assert sum(walk(stores.audit, limit), []) == everything
    assert sum(walk(stores.audit, limit, unit="01"), []) == [m for m in everything if int(m[1]) % 2]
    assert sum(walk(stores.audit, limit, action="login"), []) == everything


def test_a_range_in_vietnam_time_finds_entries_across_the_utc_month_boundary(stores):
    seed_months(stores.audit)
    items, _ = query(stores.audit, start=datetime(2022, 1, 1, 0, tzinfo=VN), end=datetime(2022, 1, 1, 9, tzinfo=VN))
    assert suffixes(items) == ["m5", "m4"]  # 2021-12-31 20:00 UTC is 1 January in Vietnam


def test_a_cursor_not_made_by_the_store_is_refused(stores):
    seed_months(stores.audit)
    for cursor in ("not a cursor!", base64.urlsafe_b64encode(b"[1, 2]").decode()):
        with pytest.raises((ValueError, KeyError, TypeError)):
            query(stores.audit, limit=2, cursor=cursor)


def test_notifications_are_one_per_unit_newest_first_and_overwritten_by_their_key(stores):
    s = stores.audit
    s.add_notifications(["2021#01", "2021#02"], T0, "phase", kind="phase", title="Mở", message="Giai đoạn mở")
    s.add_notifications(["2021#01"], T0 + timedelta(minutes=1), "roster", kind="roster", title="Danh sách",
                        message="Đã nhận")
    s.add_notifications(["2021#01", "2021#02"], T0, "phase", kind="phase", title="Mở lại", message="Giai đoạn")
    first = s.list_notifications("2021#01", 10)
    assert [(n.unit_key, n.kind, n.title, n.at) for n in first] == [
        ("2021#01", "roster", "Danh sách", T0 + timedelta(minutes=1)), ("2021#01", "phase", "Mở lại", T0)]
    assert [n.sk for n in first] == [sort_key(T0 + timedelta(minutes=1), "roster"), sort_key(T0, "phase")]
    assert [n.title for n in s.list_notifications("2021#02", 10)] == ["Mở lại"]
    assert [n.kind for n in s.list_notifications("2021#01", 1)] == ["roster"]
    assert s.list_notifications("2021#03", 10) == []


# ------------------------------------------------------------------------------------------------------- campaigns

def built(cid="kiem-thu", **changes) -> dict:
    """The 2021 campaign's definition, built as the service builds it, with three provinces and two ministries."""
    definition, units = datafiles.load_campaign("2021", datafiles.UNIT_KINDS)
    result = campaign_rules.build({**definition, "id": cid}, units[:3] + units[-2:], date(2022, 1, 5))
    return {**result, **changes}


def test_a_campaign_is_created_once_with_all_its_units(stores):
    s = stores.campaigns
    assert s.find_campaign("kiem-thu") is None and s.list_units("kiem-thu") == []
    with pytest.raises(NotFoundError):
        s.get_campaign("kiem-thu")
    made = s.create_campaign(built(), T0)
    found = s.get_campaign("kiem-thu")
    assert found == made and s.find_campaign("kiem-thu") == made
    b = built()
    assert (found.cid, found.name, found.year, found.timezone, found.groups, found.questionnaires, found.phases,
            found.departments, found.reminder_days, found.grades, found.min_responses, found.contact,
            found.mail_guard, found.created_at, found.version, found.auto_reminders_done) == (
        "kiem-thu", b["name"], 2021, "Asia/Ho_Chi_Minh", b["groups"], b["questionnaires"], b["phases"],
        b["departments"], [7, 3, 1], b["grades"], 10, b["contact"], b["mail_guard"], T0, 1, None)
    with pytest.raises(ConflictError):
        s.create_campaign(built(name="Đợt khác"), T0 + timedelta(days=1))
    assert s.get_campaign("kiem-thu") == made  # the first stays as it was
    units = s.list_units("kiem-thu")
    assert [(u.unit, u.kind, u.ranked) for u in units] == [
        ("01", "province", True), ("02", "province", True), ("04", "province", True),
        ("TTCP", "ministry", False), ("UBDT", "ministry", False)]
    fresh = units[0]
    assert (fresh.cid, fresh.name, fresh.full_name, fresh.focal_person, fresh.extensions, fresh.closed_marks,
            fresh.roster_status, fresh.roster_version, fresh.roster_counts, fresh.roster_seq, fresh.roster_gen,
            fresh.dispatch_done, fresh.annulled_at) == (
        "kiem-thu", "Hà Nội", "Thành phố Hà Nội", None, {}, {}, "draft", 0, {}, 0, None, None, None)
    assert [u.unit for u in s.list_units("kiem-thu", "ministry")] == ["TTCP", "UBDT"]
    assert s.get_unit("kiem-thu", "02") == units[1] and s.find_unit("kiem-thu", "99") is None
    with pytest.raises(NotFoundError):
        s.get_unit("kiem-thu", "99")


def test_campaigns_are_listed_by_id(stores):
    s = stores.campaigns
    assert s.list_campaigns() == []
    for cid in ("thu-b", "thu-a", "thu-c"):
        s.create_campaign(built(cid), T0)
    assert [c.cid for c in s.list_campaigns()] == ["thu-a", "thu-b", "thu-c"]


def test_phases_are_saved_only_over_the_version_read(stores):
    s = stores.campaigns
    read = s.create_campaign(built(), T0)
    moved = [dict(p, closes_at="2022-01-20T17:00:00Z") if p["code"] == "focal_person" else p for p in read.phases]
    s.save_phases(read, moved)
    after = s.get_campaign("kiem-thu")
    assert after.phases == moved and after.version == 2
    with pytest.raises(ConflictError):
        s.save_phases(read, read.phases)  # read before the change above: refused
    assert s.get_campaign("kiem-thu") == after
    with pytest.raises(ConflictError):
        s.save_phases(replace(read, cid="khong-co"), read.phases)
    assert s.find_campaign("khong-co") is None


def test_a_days_automatic_reminders_start_once(stores):
    s = stores.campaigns
    s.create_campaign(built(), T0)
    assert s.mark_auto_reminder("kiem-thu", "2022-02-20:7") is True
    assert s.mark_auto_reminder("kiem-thu", "2022-02-20:7") is False
    assert s.mark_auto_reminder("kiem-thu", "2022-02-20:3") is True
    after = s.get_campaign("kiem-thu")
    assert after.auto_reminders_done == frozenset({"2022-02-20:7", "2022-02-20:3"}) and after.version == 3
    with pytest.raises(NotFoundError):
        s.mark_auto_reminder("khong-co", "2022-02-20:7")


def test_a_closing_is_announced_once_per_close_instant_and_an_extension_rearms_it(stores):
    s = stores.campaigns
    s.create_campaign(built(), T0)
    assert s.mark_closed("kiem-thu", "01", "roster", "2022-01-15T17:00:00Z") is True
    assert s.mark_closed("kiem-thu", "01", "roster", "2022-01-15T17:00:00Z") is False
    assert s.mark_closed("kiem-thu", "01", "focal_person", "2022-01-10T17:00:00Z") is True
    s.set_unit_extension("kiem-thu", "01", "roster", "2022-01-20T17:00:00Z")
    unit = s.get_unit("kiem-thu", "01")
    assert unit.extensions == {"roster": "2022-01-20T17:00:00Z"}
    assert unit.closed_marks == {"focal_person": "2022-01-10T17:00:00Z"}  # only the extended phase re-armed
    assert s.mark_closed("kiem-thu", "01", "roster", "2022-01-20T17:00:00Z") is True
    assert s.get_unit("kiem-thu", "02").closed_marks == {} and s.get_unit("kiem-thu", "02").extensions == {}
    assert s.mark_closed("kiem-thu", "99", "roster", "2022-01-15T17:00:00Z") is False  # never a stray unit
    with pytest.raises(NotFoundError):
        s.set_unit_extension("kiem-thu", "99", "roster", "2022-01-20T17:00:00Z")
    assert s.find_unit("kiem-thu", "99") is None


def test_a_focal_person_is_put_on_an_existing_unit_only(stores):
    s = stores.campaigns
    s.create_campaign(built(), T0)
    record = {"full_name": "Nguyễn Văn An", "position": "Chuyên viên", "mobile": "0912345678",
              "updated_at": "2022-01-05T03:00:00Z", "updated_by": "tinh01"}
    s.put_focal_person("kiem-thu", "01", record)
    s.put_focal_person("kiem-thu", "01", {**record, "full_name": "Trần Thị Bình"})
    assert s.get_unit("kiem-thu", "01").focal_person == {**record, "full_name": "Trần Thị Bình"}
    with pytest.raises(NotFoundError):
        s.put_focal_person("kiem-thu", "99", record)
    assert s.find_unit("kiem-thu", "99") is None


def test_records_handed_out_are_copies(stores):
    s = stores.campaigns
    s.create_campaign(built(), T0)
    s.get_campaign("kiem-thu").phases.clear()
    s.get_unit("kiem-thu", "01").extensions["roster"] = "2030-01-01T00:00:00Z"
    assert len(s.get_campaign("kiem-thu").phases) == 5 and s.get_unit("kiem-thu", "01").extensions == {}


# -------------------------------------------------------------------------------------------------- questionnaires

def questionnaire(qid="locality-1", version=1, **changes) -> Questionnaire:
    values = dict(cid="kiem-thu", qid=qid, purpose=qid.split("-")[0], group=qid.split("-")[1],
                  title="Phiếu đánh giá địa phương", description=None, version=version,
                  sections=[{"title": "Phần 1", "questions": [{"id": "q1", "text": "Câu hỏi một"}]}], sample=True,
                  locked=False, locked_at=None, updated_at=T0, updated_by="system")
    return Questionnaire(**{**values, **changes})


def refused_code(call) -> tuple[str, list]:
    with pytest.raises(ConflictError) as caught:
        call()
    return caught.value.code, caught.value.details


def test_a_questionnaire_is_seeded_once_and_listed_by_qid(stores):
    s = stores.questionnaires
    assert s.find("kiem-thu", "locality-1") is None and s.list_for("kiem-thu") == []
    with pytest.raises(NotFoundError):
        s.get("kiem-thu", "locality-1")
    assert s.put_if_absent(questionnaire("locality-2")) is True
    assert s.put_if_absent(questionnaire("locality-1", description="Mô tả")) is True
    assert s.put_if_absent(questionnaire("locality-1", title="Phiếu khác")) is False
    assert s.get("kiem-thu", "locality-1") == questionnaire("locality-1", description="Mô tả")
    assert [q.qid for q in s.list_for("kiem-thu")] == ["locality-1", "locality-2"]
    assert s.list_for("khac") == []
    assert s.titles("kiem-thu") == {"locality-1": questionnaire("locality-1").title,
                                    "locality-2": questionnaire("locality-2").title}
    assert s.titles("khac") == {}


def test_a_version_is_put_only_over_the_version_read(stores):
    s = stores.questionnaires
    s.put_version(questionnaire(), 0)
    assert refused_code(lambda: s.put_version(questionnaire(title="Cũng là bản một"), 0)) == (
        "questionnaire_changed", [{"qid": "locality-1", "version": 1}])
    later = T0 + timedelta(hours=1)
    s.put_version(questionnaire(version=2, title="Bản hai", sample=False, updated_at=later, updated_by="admin"), 1)
    assert refused_code(lambda: s.put_version(questionnaire(version=2, title="Bản hai khác"), 1)) == (
        "questionnaire_changed", [{"qid": "locality-1", "version": 2}])
    assert s.get("kiem-thu", "locality-1") == questionnaire(version=2, title="Bản hai", sample=False,
                                                             updated_at=later, updated_by="admin")
    assert refused_code(lambda: s.put_version(questionnaire("locality-3", version=4), 3)) == (
        "questionnaire_changed", [{"qid": "locality-3", "version": 0}])
    assert s.find("kiem-thu", "locality-3") is None


def test_a_locked_questionnaire_is_locked_once_and_never_changed(stores):
    s = stores.questionnaires
    s.put_version(questionnaire(), 0)
    assert s.lock("kiem-thu", "locality-1", T0) == (1, True)
    assert s.lock("kiem-thu", "locality-1", T0 + timedelta(hours=1)) == (1, False)
    locked = s.get("kiem-thu", "locality-1")
    assert locked.locked and locked.locked_at == T0  # the first lock's instant stays
    assert refused_code(lambda: s.put_version(questionnaire(version=2, title="Bản hai"), 1)) == (
        "questionnaire_locked", [{"qid": "locality-1", "version": 1}])
    assert s.get("kiem-thu", "locality-1") == locked
    with pytest.raises(NotFoundError):
        s.lock("kiem-thu", "ministry-2", T0)
    assert s.find("kiem-thu", "ministry-2") is None


# ------------------------------------------------------------------------------------------------------ assessment

def framework(version=1, kind="province", **changes) -> Framework:
    values = dict(cid="kiem-thu", definition={"title": f"Bộ tiêu chí {kind}", "fields": [{"code": "1", "max": 10}]},
                  version=version, sample=True, updated_at=T0, updated_by="system", kind=kind)
    return Framework(**{**values, **changes})


def score(s, code="1.1", value=2.0, now=T0, **changes):
    values = dict(score=value, note="Ghi chú", explanation=None, evidence=[{"id": "e1", "key": "attached/e1"}],
                  by="tinh01", now=now)
    s.record_self_score("kiem-thu", "01", code, **{**values, **changes})


def test_a_framework_is_put_per_kind_only_over_the_version_read(stores):
    s = stores.assessment
    assert s.find_framework("kiem-thu") is None
    assert s.put_framework(framework(), None) is True
    assert s.put_framework(framework(definition={"title": "Khác"}), None) is False  # a seed never overwrites
    assert s.find_framework("kiem-thu", "ministry") is None  # the two kinds never meet
    assert s.put_framework(framework(kind="ministry"), None) is True
    assert s.put_framework(framework(2, updated_by="admin"), 1) is True
    assert s.put_framework(framework(3), 1) is False  # read before version 2 landed
    assert s.find_framework("kiem-thu") == framework(2, updated_by="admin")
    assert s.find_framework("kiem-thu", "ministry") == framework(kind="ministry")


def test_a_self_score_writes_the_line_and_moves_the_draft_on(stores):
    s = stores.assessment
    assert s.find_assessment("kiem-thu", "01") is None and s.list_items("kiem-thu", "01") == []
    score(s)
    record = s.find_assessment("kiem-thu", "01")
    assert (record.state, record.revision, record.updated_at, record.approval) == ("draft", 1, T0, None)
    line = s.find_item("kiem-thu", "01", "1.1")
    assert (line.unit_key, line.score, line.note, line.explanation, line.evidence, line.updated_by,
            line.updated_at, line.appraisal_score) == (
        "kiem-thu#01", 2, "Ghi chú", None, [{"id": "e1", "key": "attached/e1"}], "tinh01", T0, None)
    later = T0 + timedelta(minutes=1)
    score(s, value=None, note=None, explanation="Không có tài liệu", evidence=[], now=later)
    line = s.find_item("kiem-thu", "01", "1.1")
    assert (line.score, line.note, line.explanation, line.evidence) == (None, None, "Không có tài liệu", [])
    score(s, "1.2", 1.5)
    assert [i.code for i in s.list_items("kiem-thu", "01")] == ["1.1", "1.2"]
    assert s.find_assessment("kiem-thu", "01").revision == 3 and s.list_items("kiem-thu", "02") == []


def test_an_approval_is_of_exactly_the_revision_checked_and_closes_the_scores(stores):
    s = stores.assessment
    score(s)
    approval = {"leader_name": "Nguyễn Văn An", "report": {"id": "r1"}}
    assert s.approve_assessment("kiem-thu", "01", 0, approval, T0) is False  # a score was written since
    score(s, "1.2")
    assert s.approve_assessment("kiem-thu", "01", 1, approval, T0) is False
    later = T0 + timedelta(hours=1)
    assert s.approve_assessment("kiem-thu", "01", 2, approval, later) is True
    record = s.find_assessment("kiem-thu", "01")
    assert (record.state, record.revision, record.approval, record.approved_at, record.updated_at) == (
        "approved", 3, approval, later, later)
    with pytest.raises(ConflictError) as caught:
        score(s, "1.1", 0.0)
    assert caught.value.code == "assessment_closed"
    assert s.find_item("kiem-thu", "01", "1.1").score == 2 and s.find_assessment("kiem-thu", "01") == record
    assert s.approve_assessment("kiem-thu", "01", 3, approval, later) is False  # approved once
    assert s.lock_assessment("kiem-thu", "01", later) is False  # an approval and the lock: one wins
    assert s.find_assessment("kiem-thu", "01") == record


def test_the_deadline_locks_a_draft_or_one_never_started_once(stores):
    s = stores.assessment
    assert s.lock_assessment("kiem-thu", "02", T0) is True  # never started: locked as it stands
    record = s.find_assessment("kiem-thu", "02")
    assert (record.state, record.locked_at, record.revision) == ("locked", T0, 1)
    assert s.lock_assessment("kiem-thu", "02", T0 + timedelta(hours=1)) is False
    assert s.approve_assessment("kiem-thu", "02", 1, {"leader_name": "X"}, T0) is False
    assert s.find_assessment("kiem-thu", "02") == record
    with pytest.raises(ConflictError):
        s.record_self_score("kiem-thu", "02", "1.1", score=1.0, note=None, explanation=None, evidence=[],
                            by="tinh02", now=T0)
    assert s.find_item("kiem-thu", "02", "1.1") is None


def test_only_a_submitted_assessment_is_reopened_and_its_approval_cleared(stores):
    s = stores.assessment
    assert s.reopen_assessment("kiem-thu", "01", {"reason": "x"}, [], T0) is False  # never written
    score(s)
    assert s.reopen_assessment("kiem-thu", "01", {"reason": "x"}, [], T0) is False  # a draft
    s.approve_assessment("kiem-thu", "01", 1, {"leader_name": "A"}, T0)
    later = T0 + timedelta(days=1)
    first = {"at": "2022-01-06T03:00:00Z", "reason": "Thiếu tài liệu", "state": "approved"}
    assert s.reopen_assessment("kiem-thu", "01", first, [], later) is True
    record = s.find_assessment("kiem-thu", "01")
    assert (record.state, record.approval, record.approved_at, record.locked_at, record.reopened, record.revision,
            record.updated_at) == ("draft", None, None, None, [first], 3, later)
    assert s.reopen_assessment("kiem-thu", "01", first, [first], later) is False  # reopened once
    score(s, value=3.0, now=later)
    s.lock_assessment("kiem-thu", "01", later)
    second = {**first, "state": "locked"}
    assert s.reopen_assessment("kiem-thu", "01", second, [first], later) is True
    record = s.find_assessment("kiem-thu", "01")
    assert record.reopened == [first, second] and record.locked_at is None and record.state == "draft"


def test_a_self_scored_line_is_appraised_only_once_submitted(stores):
    s = stores.assessment
    score(s)
    with pytest.raises(ConflictError) as caught:
        s.record_appraisal("kiem-thu", "01", "1.1", score=1.5, comment="Thiếu", by="admin", now=T0,
                           require_submitted=True)
    assert caught.value.code == "assessment_not_submitted"
    assert s.find_item("kiem-thu", "01", "1.1").appraisal_score is None
    with pytest.raises(ConflictError):
        s.record_appraisal("kiem-thu", "09", "1.1", score=1.5, comment=None, by="admin", now=T0,
                           require_submitted=True)
    assert s.find_item("kiem-thu", "09", "1.1") is None
    s.record_appraisal("kiem-thu", "01", "6.2", score=4.25, comment=None, by="admin", now=T0,
                       require_submitted=False)  # an imported line: before submission
    s.lock_assessment("kiem-thu", "01", T0)
    s.record_appraisal("kiem-thu", "01", "1.1", score=1.5, comment="Thiếu", by="admin", now=T0,
                       require_submitted=True)
    s.record_appraisal("kiem-thu", "01", "1.1", score=1.75, comment=None, by="admin", now=T0,
                       require_submitted=True)
    line = s.find_item("kiem-thu", "01", "1.1")
    assert (line.score, line.appraisal_score, line.appraisal_comment, line.appraised_by, line.appraised_at) == (
        2, 1.75, None, "admin", T0)
    imported = s.find_item("kiem-thu", "01", "6.2")
    assert (imported.score, imported.appraisal_score, imported.updated_at) == (None, 4.25, None)


def test_publishing_keeps_the_state_and_the_revision(stores):
    s = stores.assessment
    score(s)
    s.lock_assessment("kiem-thu", "01", T0)
    before = s.find_assessment("kiem-thu", "01")
    s.publish_appraisal("kiem-thu", "01", "admin", T0 + timedelta(days=1))
    after = s.find_assessment("kiem-thu", "01")
    assert after == replace(before, published_at=T0 + timedelta(days=1), published_by="admin")
    s.publish_appraisal("kiem-thu", "02", "admin", T0)  # never started: a draft, published (the service refuses it)
    unstarted = s.find_assessment("kiem-thu", "02")
    assert (unstarted.state, unstarted.revision, unstarted.published_by) == ("draft", 0, "admin")
    assert s.approve_assessment("kiem-thu", "02", 0, {"leader_name": "B"}, T0) is True  # still at revision 0
    assert [a.unit for a in s.list_assessments("kiem-thu")] == ["01", "02"] and s.list_assessments("khac") == []


# ----------------------------------------------------------------------------------------------------------- files

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40


def browser_post(stores, granted: dict, filename: str, content: bytes) -> None:
    """The browser sending a file with a grant: to S3 (moto) over HTTP, or to the in-memory store."""
    if isinstance(stores.files, memory.MemoryFiles):
        stores.files.post(granted, content)
        return
    sent = requests.post(granted["url"], data=granted["fields"], files={"file": (filename, content)}, timeout=10)
    assert sent.status_code in (200, 204), sent.text


def fetch(stores, url: str) -> bytes:
    if isinstance(stores.files, memory.MemoryFiles):
        return stores.files.fetch(url)
    got = requests.get(url, timeout=10)
    assert got.status_code == 200
    return got.content


def test_an_export_is_kept_and_its_link_downloads_it(stores):
    s = stores.files
    url = s.put_export("exports/kiem-thu/ket-qua.xlsx", b"PK\x03\x04 workbook", "application/vnd.ms-excel",
                       "Kết quả 2021.xlsx", expires=900)
    assert fetch(stores, url) == b"PK\x03\x04 workbook"
    assert s.get_export("exports/kiem-thu/ket-qua.xlsx") == b"PK\x03\x04 workbook"
    rows = [{"full_name": "Nguyễn Văn An", "email": "an@hanoi.gov.vn"}, {"full_name": "Trần Thị Bình"}]
    s.put_snapshot("rosters/kiem-thu/01.json.gz", rows)
    assert s.get_snapshot("rosters/kiem-thu/01.json.gz") == rows


def test_an_upload_is_pinned_and_described_and_a_later_post_leaves_the_copy(stores):
    s = stores.files
    assert s.pin_upload("evidence/kiem-thu/01/a", "attached/kiem-thu/01/a-1") is None  # nothing arrived
    granted = s.presign_upload("evidence/kiem-thu/01/a", "application/pdf", "Kế hoạch CCHC.pdf", 20 * 1024 * 1024)
    assert set(granted) == {"url", "fields"}
    browser_post(stores, granted, "Kế hoạch CCHC.pdf", PDF)
    found = s.pin_upload("evidence/kiem-thu/01/a", "attached/kiem-thu/01/a-1")
    assert found == {"size": len(PDF), "sha256": hashlib.sha256(PDF).hexdigest(),
                     "metadata": {"filename": "K%E1%BA%BF%20ho%E1%BA%A1ch%20CCHC.pdf"},
                     "content_type": "application/pdf", "head": PDF[:16]}
    browser_post(stores, granted, "Kế hoạch CCHC.pdf", b"swapped afterwards")  # the grant used again
    assert fetch(stores, s.evidence_link("attached/kiem-thu/01/a-1", "Kế hoạch CCHC.pdf")) == PDF
    s.delete_evidence("evidence/kiem-thu/01/a")
    s.delete_evidence("evidence/kiem-thu/01/a")  # deleting twice is deleting once
    assert s.pin_upload("evidence/kiem-thu/01/a", "attached/kiem-thu/01/a-2") is None
    s.delete_evidence("attached/kiem-thu/01/a-1")
    assert s.pin_upload("attached/kiem-thu/01/a-1", "attached/kiem-thu/01/a-3") is None


# ---------------------------------------------------------------------------------------------------------- roster

def person(i: int, group="1", **changes) -> dict:
    values = {"full_name": f"Nguyễn Văn Thử {i}", "position": "Chuyên viên", "agency": "Sở Nội vụ", "group": group,
              "email": f"thu{i}@hanoi.gov.vn", "questionnaires": ["locality"], "phone": None, "note": None,
              "ministry": None, "ministry_source": None, "ministry_unit": None}
    return {**values, **changes}


def imported(stores, gen: str, people: list[dict], version=0, unit="01") -> list:
    """A generation written aside and swapped in, as an import does; returns its rows."""
    s = stores.roster
    rows = [respondent("kiem-thu", unit, gen, f"{i + 1:06d}-aa", p, T0) for i, p in enumerate(people)]
    s.begin_generation("kiem-thu", unit, gen)
    s.write_generation(rows)
    counts: dict[str, int] = {}
    for p in people:
        counts[p["group"]] = counts.get(p["group"], 0) + 1
    s.swap_generation("kiem-thu", unit, gen, version, counts, len(people), T0)
    return rows


def test_a_generation_becomes_the_roster_in_one_swap_over_the_version_read(stores):
    stores.campaigns.create_campaign(built(), T0)
    s = stores.roster
    assert s.rows("kiem-thu", "01", None) == [] and s.page("kiem-thu", "01", None, group=None, search=None,
                                                          limit=10, start=None) == ([], None)
    rows = imported(stores, "g1", [person(1), person(2, "2"), person(3)])
    unit = stores.campaigns.get_unit("kiem-thu", "01")
    assert (unit.roster_gen, unit.roster_version, unit.roster_counts, unit.roster_seq, unit.roster_pending,
            unit.roster_updated_at) == ("g1", 1, {"1": 2, "2": 1}, 3, None, T0)
    assert s.rows("kiem-thu", "01", "g1") == rows and s.get_row("kiem-thu", "01", "g1", "000002-aa") == rows[1]
    assert s.get_row("kiem-thu", "01", "g1", "000009-aa") is None and s.rows("kiem-thu", "02", "g1") == []
    s.begin_generation("kiem-thu", "01", "g2")
    s.write_generation([respondent("kiem-thu", "01", "g2", "000001-aa", person(9), T0)])
    with pytest.raises(ConflictError):
        s.swap_generation("kiem-thu", "01", "g2", 0, {"1": 1}, 1, T0)  # read before g1 was swapped in
    after = stores.campaigns.get_unit("kiem-thu", "01")
    assert (after.roster_gen, after.roster_version, after.roster_pending) == ("g1", 1, frozenset({"g2"}))
    assert s.sweep("kiem-thu", "01", [], {"g2"}) == 1
    assert s.rows("kiem-thu", "01", "g2") == [] and stores.campaigns.get_unit("kiem-thu", "01").roster_pending is None
    replacement = imported(stores, "g3", [person(4)], version=1)
    assert s.sweep("kiem-thu", "01", rows, set()) == 3
    assert s.rows("kiem-thu", "01", "g1") == [] and s.rows("kiem-thu", "01", "g3") == replacement
    with pytest.raises(NotFoundError):
        s.begin_generation("kiem-thu", "99", "g4")
    assert stores.campaigns.find_unit("kiem-thu", "99") is None


def test_a_roster_is_paged_in_order_by_group_and_search(stores):
    stores.campaigns.create_campaign(built(), T0)
    people = [person(i, "2" if i % 3 == 0 else "1") for i in range(1, 11)]
    people[4] = person(5, full_name="Trần Thị Bình", email="binh@hanoi.gov.vn")
    imported(stores, "g1", people)

    def walk(**filters):
        pages, start = [], None
        for _ in range(20):
            items, start = stores.roster.page("kiem-thu", "01", "g1", start=start, **filters)
            pages.append([i.rid[:6] for i in items])
            if start is None:
                return pages
        raise AssertionError("paging does not end")

    assert walk(group=None, search=None, limit=4) == [["000001", "000002", "000003", "000004"],
                                                      ["000005", "000006", "000007", "000008"],
                                                      ["000009", "000010"]]
    assert walk(group="2", search=None, limit=2) == [["000003", "000006"], ["000009"]]
    assert walk(group=None, search="tran thi binh", limit=5) == [["000005"]]
    assert walk(group="2", search="binh", limit=5) == [[]]
    assert walk(group=None, search=None, limit=10) == [[f"{i:06d}" for i in range(1, 11)]]


def test_one_row_changes_with_the_counters_all_or_nothing(stores):
    stores.campaigns.create_campaign(built(), T0)
    s = stores.roster
    first, second = imported(stores, "g1", [person(1), person(2)])
    later = T0 + timedelta(minutes=1)
    added = respondent("kiem-thu", "01", "g1", "000003-bb", person(3, "2"), later)
    s.change_row("kiem-thu", "01", 1, put=added, count_delta={"2": 1}, seq=3, now=later)
    moved = respondent("kiem-thu", "01", "g1", first.rid, person(1, "2"), later)
    s.change_row("kiem-thu", "01", 2, put=moved, delete=first, count_delta={"1": -1, "2": 1}, seq=None, now=later)
    unit = stores.campaigns.get_unit("kiem-thu", "01")
    assert (unit.roster_version, unit.roster_counts, unit.roster_seq, unit.roster_updated_at) == (
        3, {"1": 1, "2": 2}, 3, later)
    assert [r.group for r in s.rows("kiem-thu", "01", "g1")] == ["2", "1", "2"]
    with pytest.raises(ConflictError):  # read at version 2
        s.change_row("kiem-thu", "01", 2, delete=second, count_delta={"1": -1}, seq=None, now=later)
    s.change_row("kiem-thu", "01", 3, delete=second, count_delta={"1": -1}, seq=None, now=later)
    with pytest.raises(ConflictError):  # deleted already: a second delete would count twice
        s.change_row("kiem-thu", "01", 4, delete=second, count_delta={"1": -1}, seq=None, now=later)
    unit = stores.campaigns.get_unit("kiem-thu", "01")
    assert (unit.roster_version, unit.roster_counts) == (4, {"1": 0, "2": 2})
    assert [r.rid for r in s.rows("kiem-thu", "01", "g1")] == [first.rid, added.rid]


def test_a_sent_roster_is_frozen_until_reopened(stores):
    stores.campaigns.create_campaign(built(), T0)
    s = stores.roster
    [row] = imported(stores, "g1", [person(1)])
    with pytest.raises(ConflictError):
        s.set_status("kiem-thu", "01", 1, "draft", None, T0)  # not sent: nothing to reopen
    with pytest.raises(ConflictError):
        s.set_status("kiem-thu", "01", 0, "submitted", "tinh01", T0)  # an old version
    later = T0 + timedelta(hours=1)
    s.set_status("kiem-thu", "01", 1, "submitted", "tinh01", later, snapshot="rosters/kiem-thu/01/v2.json.gz")
    sent = stores.campaigns.get_unit("kiem-thu", "01")
    assert (sent.roster_status, sent.roster_version, sent.roster_submitted_at, sent.roster_submitted_by,
            sent.roster_snapshot) == ("submitted", 2, later, "tinh01", "rosters/kiem-thu/01/v2.json.gz")
    added = respondent("kiem-thu", "01", "g1", "000002-bb", person(2), later)
    with pytest.raises(ConflictError):
        s.change_row("kiem-thu", "01", 2, put=added, count_delta={"1": 1}, seq=2, now=later)
    with pytest.raises(ConflictError):
        s.swap_generation("kiem-thu", "01", "g2", 2, {}, 0, later)
    with pytest.raises(ConflictError):
        s.set_status("kiem-thu", "01", 2, "submitted", "tinh01", later)  # sent once
    assert s.rows("kiem-thu", "01", "g1") == [row]
    s.set_status("kiem-thu", "01", 2, "draft", None, later)
    reopened = stores.campaigns.get_unit("kiem-thu", "01")
    assert (reopened.roster_status, reopened.roster_version, reopened.roster_submitted_at,
            reopened.roster_submitted_by, reopened.roster_snapshot) == (
        "draft", 3, None, None, "rosters/kiem-thu/01/v2.json.gz")
    s.change_row("kiem-thu", "01", 3, put=added, count_delta={"1": 1}, seq=2, now=later)


def test_an_address_is_corrected_on_an_existing_row_only(stores):
    stores.campaigns.create_campaign(built(), T0)
    s = stores.roster
    [row] = imported(stores, "g1", [person(1)])
    later = T0 + timedelta(days=1)
    s.set_email("kiem-thu", "01", "g1", row.rid, "moi@hanoi.gov.vn", later)
    assert s.get_row("kiem-thu", "01", "g1", row.rid) == replace(row, email="moi@hanoi.gov.vn", updated_at=later)
    with pytest.raises(NotFoundError):
        s.set_email("kiem-thu", "01", "g1", "000009-zz", "x@hanoi.gov.vn", later)
    assert s.get_row("kiem-thu", "01", "g1", "000009-zz") is None


# ------------------------------------------------------------------------------------------------- address changes

def change(change_id="20220105T030000Z-aa", unit="01", rid="000001-aa", kind="request", **changes) -> AddressChange:
    values = dict(cid="kiem-thu", unit=unit, id=change_id, kind=kind, state="pending" if kind == "request" else "done",
                  rid=rid, full_name="Nguyễn Văn An", old_email="an@hanoi.gov.vn", new_email="an.nv@hanoi.gov.vn",
                  requested_by="tinh01", requested_at=T0, reason="Đổi cơ quan" if kind == "request" else None,
                  links=[{"slot": "locality-1", "state": "delivered", "sent_at": "2022-01-05T03:00:00Z",
                          "opened_at": None}])
    return AddressChange(**{**values, **changes})


def test_a_respondent_has_one_pending_request_at_a_time(stores):
    s = stores.address_changes
    first = change()
    assert s.add_request(first) is True
    assert s.add_request(change("20220105T040000Z-bb")) is False  # the same respondent, still pending
    assert s.get("kiem-thu", "01", "20220105T040000Z-bb") is None
    assert s.add_request(change("20220105T040000Z-cc", rid="000002-aa")) is True  # another respondent
    assert s.add_request(change("20220105T040000Z-cc", rid="000003-aa")) is False  # an id names one change
    assert s.get("kiem-thu", "01", "20220105T030000Z-aa") == first
    later = T0 + timedelta(hours=2)
    assert s.decide(first, "refused", "admin", later, "Không có căn cứ") is True
    assert s.decide(first, "approved", "admin", later, None) is False  # decided once
    assert s.get("kiem-thu", "01", first.id) == replace(first, state="refused", decided_by="admin", decided_at=later,
                                                         decision_note="Không có căn cứ")
    assert s.add_request(change("20220105T050000Z-dd")) is True  # free for a next request
    assert s.decide(change("20220105T090000Z-zz"), "approved", "admin", later, None) is False  # unknown


def test_only_an_approved_request_records_its_reissued_links(stores):
    s = stores.address_changes
    request = change()
    s.add_request(request)
    s.set_reissued(request, ["locality-1"], T0)  # pending: nothing written
    assert s.get("kiem-thu", "01", request.id).reissued is None
    later = T0 + timedelta(hours=1)
    s.decide(request, "approved", "admin", later, None)
    s.set_reissued(request, ["locality-1", "ministry-1"], later)
    stored = s.get("kiem-thu", "01", request.id)
    assert (stored.state, stored.decision_note, stored.reissued, stored.reissued_at) == (
        "approved", None, ["locality-1", "ministry-1"], later)


def test_corrections_and_requests_are_listed_by_unit_in_time_order_and_by_state(stores):
    s = stores.address_changes
    s.add_correction(change("20220105T050000Z-cc", kind="correction", reissued=["locality-1"], reissued_at=T0))
    with pytest.raises(ConflictError):
        s.add_correction(change("20220105T050000Z-cc", kind="correction"))
    s.add_request(change("20220105T030000Z-aa"))
    s.add_request(change("20220105T040000Z-bb", unit="02"))
    s.add_request(change("20220105T060000Z-dd", rid="000009-aa"))
    s.decide(change("20220105T060000Z-dd", rid="000009-aa"), "approved", "admin", T0, "Đồng ý")
    assert [c.id for c in s.of_unit("kiem-thu", "01")] == ["20220105T030000Z-aa", "20220105T050000Z-cc",
                                                             "20220105T060000Z-dd"]
    assert [(c.unit, c.id) for c in s.of_campaign("kiem-thu")] == [
        ("01", "20220105T030000Z-aa"), ("01", "20220105T050000Z-cc"), ("01", "20220105T060000Z-dd"),
        ("02", "20220105T040000Z-bb")]
    assert [c.id for c in s.of_campaign("kiem-thu", "pending")] == ["20220105T030000Z-aa", "20220105T040000Z-bb"]
    assert [c.kind for c in s.of_campaign("kiem-thu", "done")] == ["correction"]
    assert s.of_unit("kiem-thu", "03") == [] and s.of_campaign("khac") == []


# ------------------------------------------------------------------------------------------------------ responses

def stored_response(stores, response_id: str, unit_key="2021#01", qid="locality-1", **changes) -> Response:
    """A response as the submit transaction writes it (written directly here, to test the reads alone)."""
    response = Response(**{**dict(unit_key=unit_key, response_id=response_id, qid=qid, q_version=1, group="1",
                                  purpose="locality", answers={"1.1": "4"}, scores={"1.1": 4.0}, submitted_at=T0),
                           **changes})
    if stores is DYNAMODB:
        ResponseModel(**{name: getattr(response, name) for name in Response.__struct_fields__}).save()
    else:
        stores.responses.add(response)
    return response


def walk_responses(s, limit, unit_key="2021#01", qid=None) -> list[list[str]]:
    pages, after = [], None
    while True:
        items, after = s.page(unit_key, limit=limit, after=after, qid=qid)
        pages.append([r.response_id for r in items])
        if after is None:
            return pages


@pytest.mark.parametrize("limit, sizes", [(1, [1] * 5), (2, [2, 2, 1]), (5, [5]), (50, [5])])
def test_a_units_responses_are_paged_once_each_in_id_order(stores, limit, sizes):
    ids = ["%024x" % n for n in (0xc0, 0x0a, 0xff, 0x3b, 0x71)]
    stored = {i: stored_response(stores, i) for i in ids}
    stored_response(stores, "%024x" % 0x50, unit_key="2021#02")  # another unit's: never on this unit's pages
    pages = walk_responses(stores.responses, limit)
    assert [len(p) for p in pages] == sizes
    assert sum(pages, []) == sorted(ids)  # every response once, in id order (which is random, not time order)
    items, _ = stores.responses.page("2021#01", limit=50, after=None, qid=None)
    assert items == [stored[i] for i in sorted(ids)]  # the records as written, without identity
    assert walk_responses(stores.responses, 2, unit_key="2021#99") == [[]]


def test_responses_are_filtered_by_questionnaire_and_started_after_the_cursor(stores):
    ids = ["%024x" % n for n in range(1, 8)]
    for n, i in enumerate(ids):
        stored_response(stores, i, qid="locality-1" if n % 2 == 0 else "locality-2")
    assert sum(walk_responses(stores.responses, 2, qid="locality-2"), []) == ids[1::2]
    assert sum(walk_responses(stores.responses, 3, qid="locality-1"), []) == ids[0::2]
    items, after = stores.responses.page("2021#01", limit=10, after=ids[4], qid=None)
    assert [r.response_id for r in items] == ids[5:] and after is None


# ------------------------------------------------------------------------------------------------------- delivery

def event(message_id="m1", key="delivery", unit_key="2021#01", domain="hanoi.gov.vn", kind="delivery",
          outcome="delivered", deltas=None, diagnostic="", **changes) -> EventRecord:
    values = dict(key=key, message_id=message_id, unit_key=unit_key, domain=domain,
                  deltas={"delivered": 1} if deltas is None else deltas, kind=kind, outcome=outcome,
                  diagnostic=diagnostic, status="2.0.0" if kind == "delivery" else "5.1.1",
                  recipient=f"an@{domain}", at=T0)
    return EventRecord(**{**values, **changes})


def mail_outcome(stores, message_id: str) -> tuple[str, str | None]:
    """What the event set on the mail's record, which the links store keeps."""
    mail = stores.links.find_mail(message_id)
    return mail.outcome, mail.detail


def sent_mail(stores, message_id: str) -> None:
    """The mail's record exists before its events, as the sender writes it."""
    assert stores.links.record_mail(Mail(message_id=message_id, unit_key="2021#01", slot="000001-aa#locality",
                                         kind="invite", sent_at=T0)) is True


def test_an_event_moves_every_counter_once_however_often_it_comes(stores):
    s = stores.delivery
    assert s.unit_counters("2021#01").counts == {} and s.account_counters().counts == {}
    for message_id in ("m1", "m2"):
        sent_mail(stores, message_id)
        assert s.apply_event(event(message_id, key="send", kind="send", outcome="sent",
                                   deltas={"accepted": 1}), T0) is True
    bounce = event("m2", key="bounce", kind="bounce_permanent", outcome="bounced", deltas={"bounced": 1},
                   diagnostic="550 5.1.1 user unknown " + "x" * 600)
    assert s.apply_event(bounce, T0) is True
    assert s.apply_event(bounce, T0 + timedelta(hours=1)) is False  # redelivered: nothing moves twice
    assert s.apply_event(event("m1"), T0) is True
    unit = s.unit_counters("2021#01")
    assert unit.counts == {"accepted": 2, "delivered": 1, "bounced": 1, "bounced_transient": 0, "complaints": 0,
                           "rejected": 0, "delayed": 0, "policy_rejections": 0}
    assert s.account_counters().counts == unit.counts
    domain = s.domain_counters("2021#01", "hanoi.gov.vn")
    assert domain.counts == unit.counts and domain.last_kind == "delivery" and domain.last_at == T0
    assert mail_outcome(stores, "m2") == ("bounced", bounce.diagnostic[:500])
    assert mail_outcome(stores, "m1") == ("delivered", None)
    assert s.domain_counters("2021#01", "other.vn").counts == {}


def test_a_domain_keeps_what_came_last_and_is_noticed_once(stores):
    s = stores.delivery
    for n, (domain, kind) in enumerate((("hanoi.gov.vn", "send"), ("hanoi.gov.vn", "bounce_permanent"),
                                        ("gmail.com", "send"))):
        sent_mail(stores, f"m{n}")
        s.apply_event(event(f"m{n}", key=kind, domain=domain, kind=kind, outcome="x", diagnostic="550 no such user",
                            deltas={"accepted": 1} if kind == "send" else {"bounced": 1}), T0)
    hanoi = s.domain_counters("2021#01", "hanoi.gov.vn")
    assert (hanoi.last_kind, hanoi.last_diagnostic, hanoi.last_status, hanoi.last_recipient) == \
        ("bounce_permanent", "550 no such user", "5.1.1", "an@hanoi.gov.vn")
    gmail = s.domain_counters("2021#01", "gmail.com")
    assert gmail.counts["accepted"] == 1 and gmail.last_kind is None  # a "send" only counts
    assert [c.key for c in s.unit_domains("2021#01")] == ["domain#gmail.com", "domain#hanoi.gov.vn"]
    assert s.unit_domains("2021#02") == []
    assert s.mark_domain_notified("2021#01", "hanoi.gov.vn", T0) is True
    assert s.mark_domain_notified("2021#01", "hanoi.gov.vn", T0 + timedelta(hours=1)) is False
    assert s.domain_counters("2021#01", "hanoi.gov.vn").notified_at == T0


@pytest.mark.parametrize("scope", ["unit", "breaker"])
def test_a_stop_is_recorded_once_until_resumed_and_resumed_once(stores, scope):
    s = stores.delivery
    if scope == "unit":
        pause, resume, read = (lambda *a: s.pause_unit("2021#01", *a), lambda *a: s.resume_unit("2021#01", *a),
                               lambda: s.unit_stop("2021#01"))
    else:
        pause, resume, read = s.trip_breaker, s.reset_breaker, s.breaker
    assert read().active is False and read().stopped_at is None
    assert resume("admin", {}, T0) is False  # nothing to resume
    assert pause("tỉ lệ thư bị trả lại 9%", {"bounced": 9}, T0) is True
    assert pause("lý do khác", {}, T0 + timedelta(minutes=5)) is False  # the first reason stays
    stop = read()
    assert stop.active and (stop.reason, stop.figures, stop.stopped_at) == ("tỉ lệ thư bị trả lại 9%", {"bounced": 9}, T0)
    later = T0 + timedelta(hours=1)
    assert resume("admin", {"accepted": 100}, later) is True
    assert resume("admin2", {}, later + timedelta(minutes=1)) is False  # once
    stop = read()
    assert not stop.active and (stop.resumed_at, stop.resumed_by, stop.baseline) == (later, "admin", {"accepted": 100})
    assert pause("lần hai", {}, later + timedelta(hours=1)) is True  # a stop after a resumption is a new one
    assert read().active and read().reason == "lần hai"


def test_unit_stops_answer_only_units_with_a_record(stores):
    s = stores.delivery
    s.pause_unit("2021#01", "dừng", {}, T0)
    sent_mail(stores, "m1")
    s.apply_event(event("m1", unit_key="2021#02"), T0)
    stops = s.unit_stops(["2021#01", "2021#02", "2021#03"])
    assert set(stops) == {"2021#01", "2021#02"} and stops["2021#01"].active and not stops["2021#02"].active
    counters, stop = s.unit_state("2021#01")
    assert counters.counts["accepted"] == 0 and stop.active  # a pause alone makes the record
    assert s.unit_state("2021#03") == (s.unit_counters("2021#03"), s.unit_stop("2021#03"))


def test_a_due_retry_is_taken_by_one_run_oldest_first(stores):
    s = stores.delivery
    retries = [Retry(at=T0 + timedelta(minutes=m), unit_key="2021#01", slot=f"00000{m}-aa#locality",
                     email=f"r{m}@hanoi.gov.vn", attempt=2, message_id=f"m{m}") for m in (30, 10, 20)]
    for r in retries:
        s.schedule_retry(r)
    s.schedule_retry(replace(retries[0], attempt=3))  # the same instant and slot: replaced
    assert s.due_retries(T0) == []
    assert s.due_retries(T0 + timedelta(minutes=20)) == [retries[1], retries[2]]
    assert s.due_retries(T0 + timedelta(hours=1), limit=2) == [retries[1], retries[2]]
    assert s.due_retries(T0 + timedelta(hours=1))[-1].attempt == 3
    assert s.take_retry(retries[1]) is True and s.take_retry(retries[1]) is False
    assert [r.message_id for r in s.due_retries(T0 + timedelta(hours=1))] == ["m20", "m30"]


def test_a_preflight_replaces_the_last_and_its_mails_move_from_queued(stores):
    s = stores.delivery
    assert s.last_preflight("2021#01") == (None, []) and s.preflights_of(["2021#01"]) == {}
    first = Preflight(pid="p1", at=T0, by="tinh01", domains=["hanoi.gov.vn"], addresses=["b@hanoi.gov.vn"])
    s.start_preflight("2021#01", first, T0)
    second = Preflight(pid="p2", at=T0 + timedelta(hours=1), by="admin", domains=["hanoi.gov.vn", "gmail.com"],
                       addresses=["focal@gmail.com", "a@hanoi.gov.vn", "c@hanoi.gov.vn"])
    s.start_preflight("2021#01", second, second.at)
    sent_mail(stores, "m1")
    s.apply_event(event("m1", kind="bounce_permanent", outcome="bounced", deltas={"bounced": 1},
                        diagnostic="550 5.1.1", recipient="a@hanoi.gov.vn",
                        preflight_key="preflight#p2#a@hanoi.gov.vn"), T0)
    s.record_preflight_refusal("2021#01", "p2", "c@hanoi.gov.vn", "Địa chỉ bị từ chối", T0)
    preflight, results = s.last_preflight("2021#01")
    assert preflight == second
    assert [(r.address, r.domain, r.outcome, r.diagnostic) for r in results] == [
        ("a@hanoi.gov.vn", "hanoi.gov.vn", "bounce_permanent", "550 5.1.1"),
        ("c@hanoi.gov.vn", "hanoi.gov.vn", "reject", "Địa chỉ bị từ chối"),
        ("focal@gmail.com", "gmail.com", "queued", None)]
    assert results[0].at == T0 and {r.preflight for r in results} == {"p2"}
    assert s.preflights_of(["2021#01", "2021#02"]) == {"2021#01": results}


# ------------------------------------------------------------------------------------------------ mailer and queues

def test_the_mailer_sends_from_the_accepted_sender_only_and_counts_what_it_sent(stores):
    m = stores.mailer
    assert m.max_send_rate() > 0
    raw = "Subject: Thư mời khảo sát\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nXin chào".encode()
    ids = [m.send_raw(settings().mail_from, to, raw) for to in ("an@hanoi.gov.vn", "binh@hanoi.gov.vn")]
    assert len(set(ids)) == 2 and all(ids)
    with pytest.raises(RejectedError):
        m.send_raw("khong-xac-minh@example.com", "an@hanoi.gov.vn", raw)
    points = m.send_statistics()
    assert sum(int(p.get("DeliveryAttempts") or 0) for p in points) == 2
    assert all({"Bounces", "Complaints", "Rejects", "Timestamp"} <= set(p) for p in points)


def queued(stores, queue: str) -> list[dict]:
    """The bodies a consumer receives now (and takes off the queue)."""
    if stores is DYNAMODB:
        sqs, url, out = queue_store._sqs(), queue_store._url(queue), []
        while True:
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages") or []
            if not got:
                return out
            out += [json.loads(m["Body"]) for m in got]
    return stores.queues.receive(queue)


def test_every_body_is_queued_with_where_it_came_from(stores):
    q, jobs = stores.queues, settings().jobs_queue
    bodies = [{"type": "dispatch_unit", "unit": f"{n:02d}", "tên": "Hà Nội"} for n in range(23)]  # past SQS's 10
    q.send(jobs, bodies)
    with obs.scope("req-42"):
        q.send_job({"type": "remind_unit", "unit": "01"})
    got = sorted(queued(stores, jobs), key=lambda b: (b["type"], b["unit"]))
    assert got == sorted(bodies, key=lambda b: b["unit"]) + [{"origin": "req-42", "type": "remind_unit", "unit": "01"}]


def test_mail_batches_travel_packed_and_empty_ones_are_not_sent(stores):
    q = stores.queues
    mails = [{"unit_key": "2021#01", "to": "an@hanoi.gov.vn", "subject": "Thư mời", "html": "<p>Xin chào</p>"}]
    q.send_mail_batches([{"kind": "invite", "cid": "2021", "mails": mails}, {"kind": "invite", "mails": []}])
    got = queued(stores, settings().mail_queue)
    assert len(got) == 1 and got[0]["kind"] == "invite" and queue_store.unpack(got[0]["mails"]) == mails
    q.send_mail_batches([{"kind": "reminder", "mails": mails}], delay=60)
    assert queued(stores, settings().mail_queue) == []  # received already, and the next not before its delay


# ---------------------------------------------------------------------------------------------------------- links

def writer(stores):
    """Where counters are written by dispatch and the survey (`add_counts`, not in the contract yet), which the fake
    plays under the same name."""
    return link_store if stores is DYNAMODB else stores.links


def link(rid: str, purpose="locality", unit_key="2021#01", **changes) -> Link:
    values = dict(unit_key=unit_key, slot=f"{rid}#{purpose}", rid=rid, purpose=purpose, qid=f"{purpose}-2",
                  q_version=1, group="2", email=f"{rid}@hanoi.gov.vn", full_name="Nguyễn Văn An", state="issued",
                  issued_at=T0, updated_at=T0, agency="Sở Nội vụ", position="Phó Giám đốc",
                  token_hashes=(hashlib.sha256(rid.encode()).hexdigest(),))
    return Link(**{**values, **changes})


def test_a_units_links_come_in_slot_order_and_by_respondent(stores):
    links = [link("000002-bb", "ministry", ministry="BNV"), link("000001-aa"), link("000002-bb"),
             link("000001-aa", unit_key="2021#02"), link("000003-cc", state="submitted", submitted_at=T0)]
    writer(stores).write_issued(links, [Token(token_hash=h, unit_key=x.unit_key, slot=x.slot, kind="invite",
                                              issued_at=T0) for x in links for h in x.token_hashes])
    got = stores.links.unit_links("2021#01")
    assert [x.slot for x in got] == ["000001-aa#locality", "000002-bb#locality", "000002-bb#ministry",
                                     "000003-cc#locality"]
    assert got[2] == links[0] and got[3] == links[4]  # every field as written
    assert [x.slot for x in stores.links.unit_links("2021#01", "000002-bb")] == ["000002-bb#locality",
                                                                                "000002-bb#ministry"]
    assert stores.links.unit_links("2021#03") == []


def test_counters_answer_every_state_and_totals_only_units_with_links(stores):
    w = writer(stores)
    w.add_counts("2021#01", {"all": {"issued": 3, "sent": 0}, "2#locality": {"issued": 2}, "1#locality": {"issued": 1}})
    w.add_counts("2021#01", {"all": {"issued": -1, "sent": 1}, "2#locality": {"issued": -1, "sent": 1}})
    w.add_counts("2021#02", {"all": {"issued": 5}}, once="job-1")
    w.add_counts("2021#02", {"all": {"issued": 5}}, once="job-1")  # the same job's counting: once
    stats = stores.links.stats("2021#01")
    assert [x.key for x in stats] == ["1#locality", "2#locality", "all"]
    assert (stats[2].issued, stats[2].sent, stats[2].opened, stats[2].reminders) == (2, 1, 0, 0)
    assert (stats[1].issued, stats[1].sent) == (1, 1)
    totals = stores.links.totals_of(["2021#01", "2021#02", "2021#03"])
    assert sorted((x.unit_key, x.key, x.issued) for x in totals) == [("2021#01", "all", 2), ("2021#02", "all", 5)]
    assert stores.links.stats("2021#03") == [] and stores.links.totals_of([]) == []


def test_a_ministrys_counters_are_by_province_and_group(stores):
    w = writer(stores)
    for province, group, asked, answered in (("02", "3", 4, 0), ("01", "2", 5, 2), ("01", "3", 1, 0)):
        unit_key, key = link_store.ministry_counter("2021", "BNV", province, group)
        w.add_counts(unit_key, {key: {"asked": asked}}, once=f"{province}-run")
        if answered:
            w.add_counts(unit_key, {key: {"answered": answered}})
    w.add_counts("2021#BNV", {"all": {"issued": 1}})  # the ministry's own links' counters: not a ministry count
    assert stores.links.ministry_counts("2021", "BNV") == [
        MinistryCount("01", "2", asked=5, answered=2), MinistryCount("01", "3", asked=1, answered=0),
        MinistryCount("02", "3", asked=4, answered=0)]
    assert stores.links.ministry_counts("2021", "BTP") == []


def test_counter_records_are_read_by_unit_and_key_with_every_state(stores):
    w = writer(stores)
    w.add_counts("2021#01", {"all": {"issued": 2, "submitted": 1}, "2#locality": {"sent": 1}})
    w.add_counts("2021#02", {"all": {"opened": 4}})
    got = stores.links.counters([("2021#01", "all"), ("2021#01", "2#locality"), ("2021#01", "3#locality"),
                                 ("2021#02", "all"), ("2021#03", "all")])
    assert got == {("2021#01", "all"): {"issued": 2, "sent": 0, "opened": 0, "submitted": 1, "bounced": 0,
                                        "failed": 0},
                   ("2021#01", "2#locality"): {"issued": 0, "sent": 1, "opened": 0, "submitted": 0, "bounced": 0,
                                               "failed": 0},
                   ("2021#02", "all"): {"issued": 0, "sent": 0, "opened": 4, "submitted": 0, "bounced": 0,
                                        "failed": 0}}
    assert stores.links.counters([]) == {}


def test_a_token_record_names_the_link_it_opens(stores):
    tokens = [Token(token_hash="a" * 64, unit_key="2021#01", slot="000001-aa#locality", kind="invite", issued_at=T0,
                    expires_at=T0 + timedelta(days=90)),
              Token(token_hash="b" * 64, unit_key="2021#01", slot="000001-aa#locality", kind="reminder",
                    issued_at=T0 + timedelta(days=3))]
    stores.links.write_issued([link("000001-aa")], tokens)
    assert stores.links.get_token("a" * 64) == tokens[0] and stores.links.get_token("b" * 64) == tokens[1]
    assert stores.links.get_token("c" * 64) is None


# --------------------------------------------------------------------------- links: the mail sender's and retries'

SLOT_COUNTERS = [("2021#01", "all"), ("2021#01", "2#locality")]


def issued(stores, *links: Link) -> list[Link]:
    """Links written as dispatch writes them: with their tokens and the unit's counters of issued links."""
    stores.links.write_issued(list(links), [Token(token_hash=h, unit_key=x.unit_key, slot=x.slot, kind="invite",
                                                  issued_at=T0) for x in links for h in x.token_hashes])
    for x in links:
        writer(stores).add_counts(x.unit_key, {"all": {x.state: 1}, f"{x.group}#{x.purpose}": {x.state: 1}})
    return list(links)


def token_of(stores, digest: str) -> Token | None:
    """A token record (reading tokens is the survey's, not in this contract: the fake's own record here)."""
    return link_store.get_token(digest) if stores is DYNAMODB else stores.links._tokens.get(digest)


RUN_COUNTERS = ("units_done", "links_issued", "mails_queued", "mails_sent", "mails_failed")


def progress_of(stores, cid: str, run: str) -> dict[str, int]:
    """A dispatch run's counters that moved."""
    [found] = [r for r in stores.links.runs(cid) if r.run == run]
    return {name: n for name in RUN_COUNTERS if (n := getattr(found, name))}


def started_run(stores, cid="2021", run="2022-01-05T03:00:00#aa") -> tuple[str, str]:
    """A run, created as dispatch creates it before any of its jobs or mails."""
    stores.links.create_run(DispatchRun(cid=cid, run=run, started_by="admin", started_at=T0, units=["01"]))
    return cid, run


def counts(stores) -> dict:
    return stores.links.counters(SLOT_COUNTERS)


def state_counts(n_issued=0, sent=0, failed=0, bounced=0, **more) -> dict:
    return {"issued": n_issued, "sent": sent, "opened": 0, "submitted": 0, "bounced": bounced, "failed": failed,
            **more}


def test_a_link_is_read_as_written_and_tokens_are_written_and_deleted(stores):
    s = stores.links
    first, second = issued(stores, link("000001-aa"), link("000002-bb"))
    assert s.get_link("2021#01", first.slot) == first and s.get_link("2021#01", "000009-zz#locality") is None
    assert token_of(stores, first.token_hashes[0]) == Token(token_hash=first.token_hashes[0], unit_key="2021#01",
                                                            slot=first.slot, kind="invite", issued_at=T0)
    rewritten = replace(first, full_name="Trần Thị Bình", agency=None)
    s.write_issued([rewritten], [])  # a link of the same slot is replaced whole
    assert s.get_link("2021#01", first.slot) == rewritten
    s.delete_tokens([first.token_hashes[0], "f" * 64])  # an unknown hash is no error
    assert token_of(stores, first.token_hashes[0]) is None and token_of(stores, second.token_hashes[0]) is not None
    s.delete_tokens([])


def test_an_invitation_is_marked_sent_once_only_while_its_token_is_the_links(stores):
    s, later = stores.links, T0 + timedelta(minutes=5)
    run = started_run(stores)
    [read] = issued(stores, link("000001-aa"))
    digest = read.token_hashes[0]
    assert s.mark_sent(read, "0" * 64, later, (*run, "mails_sent")) is False  # a token the link never held
    assert s.get_link("2021#01", read.slot) == read and counts(stores)[SLOT_COUNTERS[0]] == state_counts(1)
    assert progress_of(stores, *run) == {}
    assert s.mark_sent(read, digest, later, (*run, "mails_sent")) is True
    assert s.get_link("2021#01", read.slot) == replace(read, state="sent", sent_at=later, last_mail_at=later,
                                                       updated_at=later)
    assert s.mark_sent(read, digest, later, (*run, "mails_sent")) is False  # the same read again: moved already
    assert counts(stores) == {key: state_counts(sent=1) for key in SLOT_COUNTERS}  # each counter moved once
    assert progress_of(stores, *run) == {"mails_sent": 1}
    assert s.mark_sent(s.get_link("2021#01", read.slot), digest, later, None) is False  # only from issued


def test_a_reissued_invitations_old_mail_changes_nothing(stores):
    s, later = stores.links, T0 + timedelta(minutes=5)
    [read] = issued(stores, link("000001-aa", state="failed", problem="550 no such user"))
    old = read.token_hashes[0]
    written = s.readdress(read, "moi@hanoi.gov.vn", "1" * 64, ("failed", "bounced"), later)
    assert written == s.get_link("2021#01", read.slot) == replace(
        read, state="issued", email="moi@hanoi.gov.vn", token_hashes=("1" * 64,), queued_at=later, updated_at=later,
        problem=None)
    assert counts(stores)[SLOT_COUNTERS[0]] == state_counts(1)
    assert s.mark_sent(replace(read, state="issued"), old, later, None) is False  # the old token is gone
    assert s.readdress(read, "khac@hanoi.gov.vn", "2" * 64, ("failed", "bounced"), later) is None  # stale read
    assert s.readdress(written, "khac@hanoi.gov.vn", "2" * 64, ("failed", "bounced"), later) is None  # not from issued
    assert s.get_link("2021#01", read.slot) == written and counts(stores)[SLOT_COUNTERS[0]] == state_counts(1)


def test_a_refused_invitation_fails_once_with_its_reason(stores):
    s, later = stores.links, T0 + timedelta(minutes=5)
    run = started_run(stores)
    [read] = issued(stores, link("000001-aa"))
    reason = "Địa chỉ không tồn tại " + "x" * 600
    assert s.mark_failed(read, reason, later, (*run, "mails_failed")) is True
    assert s.get_link("2021#01", read.slot) == replace(read, state="failed", problem=reason[:500], updated_at=later)
    assert s.mark_failed(read, "lần hai", later, (*run, "mails_failed")) is False
    assert s.get_link("2021#01", read.slot).problem == reason[:500]
    assert counts(stores) == {key: state_counts(failed=1) for key in SLOT_COUNTERS}
    assert progress_of(stores, *run) == {"mails_failed": 1}


def test_a_delivery_outcome_is_recorded_only_for_the_address_the_mail_went_to(stores):
    s, later = stores.links, T0 + timedelta(hours=1)
    [read] = issued(stores, link("000001-aa", state="sent", sent_at=T0))
    assert s.record_delivery(read, "delivered", later) is True  # no state change: the outcome alone
    delivered = replace(read, delivery="delivered", delivery_at=later)
    assert s.get_link("2021#01", read.slot) == delivered
    assert s.record_delivery(read, "bounced", later, problem="550 " + "x" * 600, state="bounced",
                             from_states=("sent", "opened")) is True
    bounced = replace(delivered, state="bounced", delivery="bounced", problem=("550 " + "x" * 600)[:500],
                      updated_at=later)
    assert s.get_link("2021#01", read.slot) == bounced
    assert counts(stores) == {key: state_counts(bounced=1) for key in SLOT_COUNTERS}
    assert s.record_delivery(read, "bounced", later, state="bounced", from_states=("sent", "opened")) is False
    assert s.record_delivery(bounced, "complained", later, stop_mail=True, state="bounced",
                             from_states=("sent",)) is True  # in that state already: no move, the outcome
    complained = replace(bounced, delivery="complained", no_mail=True)
    assert s.get_link("2021#01", read.slot) == complained
    moved = s.readdress(complained, "moi@hanoi.gov.vn", "1" * 64, ("bounced",), later)
    for call in (lambda: s.record_delivery(complained, "delivered", later + timedelta(minutes=1)),
                 lambda: s.record_delivery(replace(moved, email=read.email), "bounced", later, state="bounced",
                                           from_states=("issued",))):
        assert call() is False  # the link goes to another address now: the old mail's events change nothing
    assert s.get_link("2021#01", read.slot) == moved
    assert s.record_delivery(link("000009-zz"), "delivered", later) is False  # no such link: nothing written
    assert s.get_link("2021#01", "000009-zz#locality") is None


def test_a_reminder_sent_counts_on_the_link_and_the_units_counters(stores):
    s, later = stores.links, T0 + timedelta(days=3)
    [read] = issued(stores, link("000001-aa", state="sent", sent_at=T0, last_mail_at=T0))
    s.record_reminder_sent(read, later)
    s.record_reminder_sent(read, later + timedelta(days=1))
    assert s.get_link("2021#01", read.slot) == replace(read, reminders=2, last_mail_at=later + timedelta(days=1))
    assert counts(stores) == {key: state_counts(sent=1) for key in SLOT_COUNTERS}
    assert [(x.key, x.reminders, x.sent) for x in s.stats("2021#01")] == [("2#locality", 2, 1), ("all", 2, 1)]
    assert s.unit_totals("2021#01").reminders == 2


def test_a_units_totals_are_read_once_it_has_links(stores):
    s = stores.links
    assert s.unit_totals("2021#01") is None
    issued(stores, link("000001-aa"), link("000002-bb", group="3"))
    total = s.unit_totals("2021#01")
    assert (total.unit_key, total.key, total.issued, total.sent, total.reminders) == ("2021#01", "all", 2, 0, 0)


def test_a_unit_is_told_once_per_run_that_its_invitations_are_out(stores):
    stores.campaigns.create_campaign(built(), T0)
    s = stores.links
    assert s.mark_notified("kiem-thu", "01", "run-1") is True
    assert s.mark_notified("kiem-thu", "01", "run-1") is False
    assert stores.campaigns.get_unit("kiem-thu", "01").dispatch_notified == "run-1"
    assert s.mark_notified("kiem-thu", "01", "run-2") is True  # a later run tells it again
    assert s.mark_notified("kiem-thu", "02", "run-1") is True
    assert s.mark_notified("kiem-thu", "99", "run-1") is False  # no such unit: nothing written
    assert stores.campaigns.find_unit("kiem-thu", "99") is None


def test_a_mails_record_is_written_once_and_found_by_its_message_id(stores):
    s = stores.links
    mail = Mail(message_id="m1", unit_key="2021#01", slot="000001-aa#locality", kind="invite", sent_at=T0,
                expires_at=T0 + timedelta(days=365), recipient="an@hanoi.gov.vn", attempt=2)
    assert s.find_mail("m1") is None
    assert s.record_mail(mail) is True and s.find_mail("m1") == mail
    own = Mail(message_id="m2", unit_key="2021#01", slot="preflight#an@hanoi.gov.vn", kind="preflight",
               sent_at=T0, recipient="an@hanoi.gov.vn", preflight="p1")
    assert s.record_mail(own) is True and s.find_mail("m2") == own
    stores.delivery.apply_event(event("m1", kind="bounce_permanent", outcome="bounced", deltas={"bounced": 1},
                                      diagnostic="550 5.1.1"), T0)
    bounced = replace(mail, outcome="bounced", detail="550 5.1.1")
    assert s.find_mail("m1") == bounced
    assert s.record_mail(replace(mail, kind="reminder", attempt=1)) is False  # the first, with its outcome, stays
    assert s.find_mail("m1") == bounced


# --------------------------------------------------------------------------------------------- links: dispatch's

def test_a_unit_has_links_once_its_counters_count_one(stores):
    s = stores.links
    assert s.has_links("2021#01") is False
    writer(stores).add_counts("2021#01", {"all": {"issued": 1}})
    writer(stores).add_counts("2021#01", {"all": {"issued": -1}})
    assert s.has_links("2021#01") is False  # a record that counts no link
    issued(stores, link("000001-aa", state="sent"))
    assert s.has_links("2021#01") is True and s.has_links("2021#02") is False


def test_a_run_is_created_once_and_runs_come_newest_first_with_their_counters(stores):
    s = stores.links
    stores.campaigns.create_campaign(built(), T0)
    first = DispatchRun(cid="kiem-thu", run="2022-01-05T03:00:00Z#aa", started_by="admin", started_at=T0,
                        units=["01", "02"])
    later = replace(first, run="2022-01-05T04:00:00Z#bb", started_at=T0 + timedelta(hours=1), units=["01"])
    assert s.runs("kiem-thu") == []
    s.create_run(first)
    with pytest.raises(ConflictError):
        s.create_run(replace(first, started_by="khac", units=["03"]))
    s.create_run(later)
    s.create_run(replace(first, cid="2021"))  # another campaign's run of the same id
    assert s.runs("kiem-thu") == [later, first] and s.runs("kiem-thu", limit=1) == [later]
    assert s.mark_done("kiem-thu", "01", first.run, f"{first.run}#0", links_issued=3, mails_queued=2) is True
    [read] = issued(stores, link("000001-aa", unit_key="kiem-thu#01"))
    assert s.mark_sent(read, read.token_hashes[0], T0, ("kiem-thu", first.run, "mails_sent")) is True
    assert s.runs("kiem-thu") == [later, replace(first, links_issued=3, mails_queued=2, mails_sent=1)]
    assert s.runs("2021") == [replace(first, cid="2021")]


def test_a_units_lease_is_held_by_one_job_until_released_or_run_out(stores):
    s, until = stores.links, T0 + timedelta(minutes=15)
    stores.campaigns.create_campaign(built(), T0)
    assert s.acquire_lease("kiem-thu", "01", T0, until) is True
    assert s.acquire_lease("kiem-thu", "01", T0 + timedelta(minutes=1), T0 + timedelta(minutes=16)) is False
    assert stores.campaigns.get_unit("kiem-thu", "01").dispatch_lease == until  # the refusal wrote nothing
    assert s.acquire_lease("kiem-thu", "02", T0, until) is True  # another unit: its own lease
    later = until + timedelta(seconds=1)  # a dead job's lease has run out
    assert s.acquire_lease("kiem-thu", "01", later, later + timedelta(minutes=15)) is True
    s.release_lease("kiem-thu", "01")
    assert stores.campaigns.get_unit("kiem-thu", "01").dispatch_lease is None
    assert s.acquire_lease("kiem-thu", "01", later, later + timedelta(minutes=15)) is True
    assert s.acquire_lease("kiem-thu", "99", T0, until) is False  # no such unit: nothing written
    assert stores.campaigns.find_unit("kiem-thu", "99") is None


def test_each_part_of_a_units_job_is_done_once_with_its_counters(stores):
    s = stores.links
    stores.campaigns.create_campaign(built(), T0)
    cid, run = started_run(stores, "kiem-thu")
    assert s.mark_done(cid, "01", run, f"{run}#0", links_issued=3, mails_queued=3) is True
    assert s.mark_done(cid, "01", run, f"{run}#0", links_issued=3, mails_queued=3) is False  # a second delivery
    assert s.mark_done(cid, "01", run, f"{run}#1", links_issued=2, mails_queued=0) is True
    assert s.mark_done(cid, "01", run, run, units_done=1) is True
    assert s.mark_done(cid, "01", run, run, units_done=1) is False
    assert s.mark_done(cid, "02", run, f"{run}#0", links_issued=4) is True  # another unit's parts are its own
    assert s.mark_done(cid, "99", run, run, units_done=1) is False  # no such unit: nothing written
    assert stores.campaigns.find_unit(cid, "99") is None
    assert stores.campaigns.get_unit(cid, "01").dispatch_done == {f"{run}#0", f"{run}#1", run}
    assert progress_of(stores, cid, run) == {"units_done": 1, "links_issued": 9, "mails_queued": 3}


def test_a_parts_counters_are_counted_once_for_the_unit_and_its_ministries(stores):
    s = stores.links
    deltas = {"all": {"issued": 3}, "2#locality": {"issued": 2}, "2#ministry": {"issued": 1}}
    asked = {"BNV": {"2": 1}, "BTP": {"2": 2, "3": 0}}
    s.count_issued("2021", "01", deltas, asked, once="run-1#0")
    s.count_issued("2021", "01", deltas, asked, once="run-1#0")  # the same part again: nothing more
    writer(stores).add_counts("2021#01", {"all": {"issued": 1}}, once="run-1#1")  # a counting cut short ...
    s.count_issued("2021", "01", {"all": {"issued": 1}}, {"BNV": {"3": 1}}, once="run-1#1")  # ... and its retry
    s.count_issued("2021", "02", {"all": {"issued": 2}}, {"BNV": {"2": 2}}, once="run-1#0")  # another province
    assert [(x.key, x.issued) for x in s.stats("2021#01")] == [("2#locality", 2), ("2#ministry", 1), ("all", 4)]
    assert s.unit_totals("2021#02").issued == 2
    assert s.ministry_counts("2021", "BNV") == [MinistryCount("01", "2", asked=1), MinistryCount("01", "3", asked=1),
                                                MinistryCount("02", "2", asked=2)]
    assert s.ministry_counts("2021", "BTP") == [MinistryCount("01", "2", asked=2)]


def test_an_invitation_is_requeued_only_while_issued_and_not_in_flight(stores):
    s, flight = stores.links, timedelta(hours=2)
    waiting = link("000001-aa", queued_run="run-1", queued_at=T0, issued_run="run-1")
    [read, never] = issued(stores, waiting, link("000002-bb"))
    soon, late = T0 + timedelta(hours=1), T0 + flight
    assert s.requeue_invitation(read, "1" * 64, "run-2", soon, flight) is False  # run-1's mail may be on its way
    assert s.get_link("2021#01", read.slot) == read
    assert s.requeue_invitation(read, "1" * 64, "run-1", soon, flight) is True  # its own run's retry
    again = replace(read, token_hashes=("1" * 64,), queued_at=soon, updated_at=soon)
    assert s.get_link("2021#01", read.slot) == again
    assert s.requeue_invitation(read, "2" * 64, "run-2", soon + flight, flight) is True  # in flight no more
    assert s.get_link("2021#01", read.slot) == replace(again, token_hashes=("2" * 64,), queued_at=soon + flight,
                                                       queued_run="run-2", updated_at=soon + flight)
    assert s.requeue_invitation(never, "3" * 64, "run-2", late, flight) is True  # never queued
    assert s.get_link("2021#01", never.slot).token_hashes == ("3" * 64,)
    assert s.mark_sent(s.get_link("2021#01", never.slot), "3" * 64, late, None) is True
    sent = s.get_link("2021#01", never.slot)
    assert s.requeue_invitation(never, "4" * 64, "run-2", late, flight) is False  # its invitation left
    assert s.get_link("2021#01", never.slot) == sent
    assert s.requeue_invitation(link("000009-zz"), "5" * 64, "run-2", late, flight) is False  # no such link
    assert s.get_link("2021#01", "000009-zz#locality") is None
    assert counts(stores) == {key: state_counts(1, sent=1) for key in SLOT_COUNTERS}  # no requeue counts


def test_a_reminder_is_claimed_once_per_interval_only_while_remindable(stores):
    s, day = stores.links, timedelta(hours=24)
    [read, stopped, answered, waiting] = issued(
        stores, link("000001-aa", state="sent", sent_at=T0, last_mail_at=T0),
        link("000002-bb", state="sent", sent_at=T0, no_mail=True),
        link("000003-cc", state="submitted", submitted_at=T0), link("000004-dd", state="issued"))
    assert s.claim_link_for_reminder(read, "1" * 64, T0 + timedelta(hours=23), REMINDABLE, day) is False
    assert s.get_link("2021#01", read.slot) == read
    at = T0 + timedelta(hours=25)
    assert s.claim_link_for_reminder(read, "1" * 64, at, REMINDABLE, day) is True
    claimed = replace(read, token_hashes=(*read.token_hashes, "1" * 64), last_mail_at=at, queued_at=at)
    assert s.get_link("2021#01", read.slot) == claimed  # earlier tokens stay valid
    assert s.claim_link_for_reminder(read, "2" * 64, at, REMINDABLE, day) is False  # claimed once
    assert s.claim_link_for_reminder(claimed, "2" * 64, at + timedelta(hours=1), REMINDABLE, day) is False
    assert s.get_link("2021#01", read.slot) == claimed
    for other in (stopped, answered, waiting):  # reported as spam, answered, invitation not sent yet
        assert s.claim_link_for_reminder(other, "3" * 64, at, REMINDABLE, day) is False
        assert s.get_link("2021#01", other.slot) == other
    assert s.claim_link_for_reminder(claimed, "4" * 64, at + day + timedelta(seconds=1), REMINDABLE, day) is True
    assert s.get_link("2021#01", read.slot).token_hashes == (*claimed.token_hashes, "4" * 64)


# ------------------------------------------------------------------------------------------------------- integrity

def scan(unit: str, score=0, cid="2021", **changes) -> IntegrityScan:
    values = dict(cid=cid, unit=unit, score=score, flags=[], submitted=0, responses=0, activity="0:0:0:0",
                  scanned_at=T0)
    return IntegrityScan(**{**values, **changes})


def test_a_units_scan_replaces_its_last_and_a_campaigns_scans_come_in_unit_order(stores):
    s = stores.integrity
    assert s.by_campaign("2021") == []
    flags = [{"code": "same_ip", "points": 30, "evidence": {"ip": "10.0.0.7", "slots": ["000001-aa#locality"]}}]
    answers = {"locality-2": {"0": {"n": 3, "answers": {"1.1": {"4": 2, "5": 1}}}}}
    tally = {"n": 3, "locality": {"2": {"1.1": [3, 13.0]}}, "ministry": {"BTP": {"2": {"1.1": [1, 4.0]}}}}
    s.save(scan("02", 45, flags=flags, submitted=3, responses=3, activity="5:3:0:0", answer_counts=answers,
                score_counts=tally))
    s.save_many([scan("04"), scan("01", 10), scan("01", cid="2022")])
    got = s.by_campaign("2021")
    assert [(x.unit, x.score) for x in got] == [("01", 10), ("02", 45), ("04", 0)]
    assert got[1] == scan("02", 45, flags=flags, submitted=3, responses=3, activity="5:3:0:0",
                          answer_counts=answers, score_counts=tally)  # every field as saved
    assert got[0].answer_counts == {} and got[0].score_counts == {}  # nothing counted reads back empty
    s.save(scan("02", 5, activity="6:4:0:0", scanned_at=T0 + timedelta(minutes=30)))
    again = s.by_campaign("2021")[1]
    assert (again.score, again.flags, again.activity, again.scanned_at, again.score_counts) == (
        5, [], "6:4:0:0", T0 + timedelta(minutes=30), {})  # the whole scan replaced, nothing of the last kept
    assert [x.unit for x in s.by_campaign("2022")] == ["01"] and s.by_campaign("2023") == []


def test_a_units_responses_are_read_whole_or_without_their_answers(stores):
    ids = ["%024x" % n for n in (0x9c, 0x21, 0x5e)]
    written = [stored_response(stores, ids[0]),
               stored_response(stores, ids[1], qid="ministry-2", group="2", purpose="ministry", ministry="BTP",
                               answers={"1.1": "3"}, scores={"1.1": 3.0}),
               stored_response(stores, ids[2], qid="locality-2", group="2", answers={"1.1": "5"},
                               scores={"1.1": 5.0})]
    stored_response(stores, "f" * 24, unit_key="2021#02")  # another unit's
    s = stores.integrity
    assert s.responses("2021#01") == [written[1], written[2], written[0]]  # response-id order
    assert s.response_scores("2021#01") == [
        {"group": "2", "qid": "ministry-2", "purpose": "ministry", "ministry": "BTP", "scores": {"1.1": 3.0}},
        {"group": "2", "qid": "locality-2", "purpose": "locality", "ministry": None, "scores": {"1.1": 5.0}},
        {"group": "1", "qid": "locality-1", "purpose": "locality", "ministry": None, "scores": {"1.1": 4.0}}]
    assert s.responses("2021#03") == [] and s.response_scores("2021#03") == []


def test_login_addresses_are_a_units_logins_within_the_range(stores):
    a = stores.audit
    for n, (at, unit_key, action, ip) in enumerate((
            (T0, "01", "login", "10.0.0.1"), (T0 + timedelta(days=1), "01", "login", "10.0.0.2"),
            (T0 + timedelta(days=2), "01", "login", "10.0.0.1"), (T0, "01", "roster_imported", "10.0.0.9"),
            (T0, "02", "login", "10.0.0.3"), (T0, "01", "login", None),
            (T0 - timedelta(days=40), "01", "login", "10.0.0.4"), (T0 + timedelta(days=40), "01", "login", "10.0.0.5"))):
        a.append(at=at, actor="tinh01", role="province", unit_key=unit_key, action=action, target=None, cid=None,
                 source_ip=ip, details=None, suffix=f"s{n}")
    s = stores.integrity
    assert s.login_addresses("01", T0 - timedelta(days=1), T0 + timedelta(days=2)) == {"10.0.0.1", "10.0.0.2"}
    assert s.login_addresses("01", T0 - timedelta(days=365), T0 + timedelta(days=365)) == {
        "10.0.0.1", "10.0.0.2", "10.0.0.4", "10.0.0.5"}
    assert s.login_addresses("01", T0 + timedelta(days=1), T0 + timedelta(days=1)) == {"10.0.0.2"}  # bounds count
    assert s.login_addresses("04", T0 - timedelta(days=365), T0 + timedelta(days=365)) == set()


def test_a_units_results_are_annulled_once_and_only_annulled_ones_reinstated(stores):
    stores.campaigns.create_campaign(built(), T0)
    s, later = stores.integrity, T0 + timedelta(hours=1)
    assert s.clear_annulled("kiem-thu", "01") is False  # never annulled
    assert s.set_annulled("kiem-thu", "01", T0, "admin", "Trả lời thay") is True
    marked = stores.campaigns.get_unit("kiem-thu", "01")
    assert (marked.annulled_at, marked.annulled_by, marked.annul_reason) == (T0, "admin", "Trả lời thay")
    assert s.set_annulled("kiem-thu", "01", later, "vu-cchc", "Lần hai") is False
    assert stores.campaigns.get_unit("kiem-thu", "01") == marked  # the first mark stays
    assert stores.campaigns.get_unit("kiem-thu", "02").annulled_at is None  # one unit only
    assert s.clear_annulled("kiem-thu", "01") is True
    cleared = stores.campaigns.get_unit("kiem-thu", "01")
    assert (cleared.annulled_at, cleared.annulled_by, cleared.annul_reason) == (None, None, None)
    assert cleared == replace(marked, annulled_at=None, annulled_by=None, annul_reason=None)
    assert s.clear_annulled("kiem-thu", "01") is False  # reinstated once
    assert s.set_annulled("kiem-thu", "01", later, "admin", "Lại phát hiện") is True  # and annulled afresh
    assert stores.campaigns.get_unit("kiem-thu", "01").annulled_at == later
    assert s.set_annulled("kiem-thu", "99", T0, "admin", "x") is False and s.clear_annulled("kiem-thu", "99") is False
    assert stores.campaigns.find_unit("kiem-thu", "99") is None  # no unit made by either


# ---------------------------------------------------------------------------------------------------------- survey

SECRET = hashlib.sha256(b"token").hexdigest()


def survey_world(stores, *links: Link) -> None:
    """The campaign "kiem-thu" and links of its unit 01, with their counters as dispatch and the sending leave them."""
    stores.campaigns.create_campaign(built(), T0)
    writer(stores).write_issued(list(links), [])
    for x in links:
        writer(stores).add_counts(x.unit_key, {"all": {x.state: 1}, f"{x.group}#{x.purpose}": {x.state: 1}})


def sent(rid="000001-aa", **changes) -> Link:
    return link(rid, unit_key="kiem-thu#01", state="sent", sent_at=T0, token_hashes=("f" * 64, SECRET), **changes)


def answer(response_id="%024x" % 1, unit_key="kiem-thu#01", **changes) -> Response:
    values = dict(unit_key=unit_key, response_id=response_id, qid="locality-2", q_version=1, group="2",
                  purpose="locality", answers={"1.1": "4"}, scores={"1.1": 4.0}, submitted_at=T0 + timedelta(hours=1))
    return Response(**{**values, **changes})


def gate(stores, unit="01") -> Gate:
    return Gate("kiem-thu", unit, stores.campaigns.get_campaign("kiem-thu").version,
                stores.campaigns.get_unit("kiem-thu", unit).extensions.get("survey"))


def submit(stores, read: Link, response: Response, digest=SECRET, **options) -> bool:
    return stores.survey.record_submission(read, digest, response, T0 + timedelta(hours=1), ip="10.0.0.9",
                                           ua="Mozilla/5.0 Nộp", receipt="ABCD-EFGH", **options)


def unit_counts(stores, key="all", unit_key="kiem-thu#01") -> dict:
    return stores.links.counters([(unit_key, key)])[(unit_key, key)]


def test_a_link_is_read_with_its_campaign_and_unit_as_they_are(stores):
    x = sent()
    survey_world(stores, x)
    s = stores.survey
    campaign, unit = stores.campaigns.get_campaign("kiem-thu"), stores.campaigns.get_unit("kiem-thu", "01")
    assert s.link_in_context("kiem-thu#01", x.slot) == (x, campaign, unit)
    assert s.link_now("kiem-thu#01", x.slot) == x
    stores.campaigns.set_unit_extension("kiem-thu", "01", "survey", "2022-03-01T17:00:00Z")
    assert s.link_in_context("kiem-thu#01", x.slot)[2].extensions == {"survey": "2022-03-01T17:00:00Z"}
    assert s.link_in_context("kiem-thu#01", "000009-zz#locality") == (None, campaign, replace(
        unit, extensions={"survey": "2022-03-01T17:00:00Z"}))
    assert s.link_in_context("khac#01", x.slot) == (None, None, None)
    assert s.link_now("kiem-thu#01", "000009-zz#locality") is None


def test_a_draft_is_saved_whole_read_and_deleted(stores):
    x, y = sent(), sent("000002-bb")
    survey_world(stores, x, y)
    s, expires = stores.survey, T0 + timedelta(days=60)
    assert s.get_draft(x) is None
    s.save_draft(x, {"1.1": "4", "1.2": ["a", "b"]}, T0, expires)
    s.save_draft(y, {"1.1": "2"}, T0, expires)
    assert s.get_draft(x) == Draft(answers={"1.1": "4", "1.2": ["a", "b"]}, saved_at=T0)
    s.save_draft(x, {"1.3": "5"}, T0 + timedelta(minutes=5), expires)
    assert s.get_draft(x) == Draft(answers={"1.3": "5"}, saved_at=T0 + timedelta(minutes=5))  # replaced whole
    s.delete_draft(x)
    s.delete_draft(x)  # nothing left: nothing to do
    assert s.get_draft(x) is None and s.get_draft(y) == Draft(answers={"1.1": "2"}, saved_at=T0)


def test_a_device_is_seen_once(stores):
    x = sent()
    survey_world(stores, x)
    for ip, ua in (("10.0.0.1", "Firefox"), ("10.0.0.1", "Firefox"), ("10.0.0.2", "Chrome " + "x" * 300)):
        stores.survey.record_seen(x, ip, ua)
    assert stores.survey.link_now(x.unit_key, x.slot).seen == {device("10.0.0.1", "Firefox"),
                                                                device("10.0.0.2", "Chrome " + "x" * 300)}


def test_a_link_is_opened_once_and_only_after_its_invitation_was_sent(stores):
    x, issued = sent(), link("000002-bb", unit_key="kiem-thu#01")
    survey_world(stores, x, issued)
    s, at = stores.survey, T0 + timedelta(minutes=3)
    assert s.record_open(issued, at, "10.0.0.1", "Firefox") is False
    assert s.record_open(x, at, "10.0.0.1", "Firefox " + "y" * 500) is True
    assert s.record_open(x, at + timedelta(minutes=1), "10.0.0.2", "Chrome") is False  # once
    assert s.record_open(replace(x, slot="000009-zz#locality"), at, "10.0.0.1", "Firefox") is False
    assert s.link_now(x.unit_key, x.slot) == replace(x, state="opened", opened_at=at, open_ip="10.0.0.1",
                                                     open_ua=("Firefox " + "y" * 500)[:400], updated_at=at)
    assert s.link_now(issued.unit_key, issued.slot) == issued
    for key in ("all", "2#locality"):  # moved with the link, once
        assert (unit_counts(stores, key)["opened"], unit_counts(stores, key)["sent"],
                unit_counts(stores, key)["issued"]) == (1, 0, 1)


def test_of_two_submits_of_one_link_exactly_one_wins_with_its_response_counters_and_draft(stores):
    x = sent(ministry="TTCP", purpose="ministry", slot="000001-aa#ministry", qid="ministry-2")
    survey_world(stores, x)
    s, at = stores.survey, T0 + timedelta(hours=1)
    s.save_draft(x, {"1.1": "4"}, T0, T0 + timedelta(days=60))
    first = answer(purpose="ministry", qid="ministry-2", ministry="TTCP")
    assert submit(stores, x, first, drop_draft=True, gate=gate(stores)) is True
    assert submit(stores, x, answer("%024x" % 2), drop_draft=True, gate=gate(stores)) is False  # the same read
    assert submit(stores, s.link_now(x.unit_key, x.slot), answer("%024x" % 3)) is False  # read as submitted
    assert s.link_now(x.unit_key, x.slot) == replace(
        x, state="submitted", submitted_at=at, submit_ip="10.0.0.9", submit_ua="Mozilla/5.0 Nộp",
        receipt="ABCD-EFGH", updated_at=at, seconds_spent=0, opened_at=at, open_ip="10.0.0.9",
        open_ua="Mozilla/5.0 Nộp", seen=frozenset({device("10.0.0.9", "Mozilla/5.0 Nộp")}))
    assert stores.responses.page("kiem-thu#01", limit=10, after=None, qid=None) == ([first], None)
    for key in ("all", "2#ministry"):
        assert (unit_counts(stores, key)["submitted"], unit_counts(stores, key)["sent"]) == (1, 0)
    assert stores.links.ministry_counts("kiem-thu", "TTCP") == [MinistryCount("01", "2", asked=0, answered=1)]
    assert s.get_draft(x) is None  # dropped with the submit


def test_an_opened_link_keeps_its_open_and_counts_the_time_spent(stores):
    x = sent()
    survey_world(stores, x)
    s, opened_at = stores.survey, T0 + timedelta(minutes=48)
    s.record_open(x, opened_at, "10.0.0.1", "Firefox")
    read = s.link_now(x.unit_key, x.slot)
    s.save_draft(x, {"1.1": "4"}, T0, T0 + timedelta(days=60))
    assert submit(stores, read, answer()) is True  # no `drop_draft`: the draft stays
    got = s.link_now(x.unit_key, x.slot)
    assert (got.state, got.opened_at, got.open_ip, got.seconds_spent, got.seen) == (
        "submitted", opened_at, "10.0.0.1", 720, {device("10.0.0.9", "Mozilla/5.0 Nộp")})
    assert (unit_counts(stores)["submitted"], unit_counts(stores)["opened"]) == (1, 0)
    assert s.get_draft(x) is not None


def assert_nothing_written(stores, x: Link, counts: dict) -> None:
    assert stores.survey.link_now(x.unit_key, x.slot) == x
    assert stores.responses.page("kiem-thu#01", limit=10, after=None, qid=None) == ([], None)
    assert unit_counts(stores) == counts and stores.survey.get_draft(x) is not None


def test_a_submit_read_on_a_stale_state_or_with_a_revoked_token_writes_nothing(stores):
    x = sent()
    survey_world(stores, x)
    s = stores.survey
    s.record_open(x, T0, "10.0.0.1", "Firefox")
    opened = s.link_now(x.unit_key, x.slot)
    s.save_draft(x, {"1.1": "4"}, T0, T0 + timedelta(days=60))
    counts = unit_counts(stores)
    assert submit(stores, x, answer(), drop_draft=True) is False  # read as "sent", "opened" since
    assert submit(stores, opened, answer(), digest="e" * 64, drop_draft=True) is False  # a token it never held
    assert_nothing_written(stores, opened, counts)
    stored_response(stores, answer().response_id, unit_key="kiem-thu#01")  # a response id taken already
    assert submit(stores, opened, answer(), drop_draft=True) is False
    assert stores.survey.link_now(x.unit_key, x.slot) == opened and unit_counts(stores) == counts


def move_phases(stores) -> None:
    read = stores.campaigns.get_campaign("kiem-thu")
    stores.campaigns.save_phases(read, [dict(p, closes_at="2022-02-01T17:00:00Z") if p["code"] == "survey" else p
                                        for p in read.phases])


@pytest.mark.parametrize("change", ["campaign version", "unit annulled", "extension set", "extension moved",
                                    "other unit"])
def test_a_gate_that_no_longer_holds_refuses_the_whole_submit(stores, change):
    x = sent()
    survey_world(stores, x)
    if change == "extension moved":
        stores.campaigns.set_unit_extension("kiem-thu", "01", "survey", "2022-03-01T17:00:00Z")
    stores.survey.save_draft(x, {"1.1": "4"}, T0, T0 + timedelta(days=60))
    decided, counts = gate(stores), unit_counts(stores)
    if change == "campaign version":
        move_phases(stores)
    elif change == "unit annulled":
        stores.integrity.set_annulled("kiem-thu", "01", T0, "admin", "Trả lời thay")
    elif change == "other unit":  # another unit's extension or annulment leaves this one's gate as it was
        stores.campaigns.set_unit_extension("kiem-thu", "02", "survey", "2022-03-01T17:00:00Z")
        stores.integrity.set_annulled("kiem-thu", "02", T0, "admin", "Trả lời thay")
        assert submit(stores, x, answer(), drop_draft=True, gate=decided) is True
        return
    else:
        stores.campaigns.set_unit_extension("kiem-thu", "01", "survey", "2022-03-08T17:00:00Z")
    assert submit(stores, x, answer(), drop_draft=True, gate=decided) is False
    assert_nothing_written(stores, x, counts)
    if change != "unit annulled":  # decided again on what holds now, the same submit goes through
        assert submit(stores, x, answer(), drop_draft=True, gate=gate(stores)) is True
    else:
        assert submit(stores, x, answer(), drop_draft=True, gate=gate(stores)) is False
        stores.integrity.clear_annulled("kiem-thu", "01")
        assert submit(stores, x, answer(), drop_draft=True, gate=gate(stores)) is True


def test_a_gate_on_a_campaign_that_does_not_exist_refuses(stores):
    x = sent()
    survey_world(stores, x)
    assert submit(stores, x, answer(), gate=Gate("khac", "01", 1, None)) is False
    assert submit(stores, x, answer(), gate=replace(gate(stores), campaign_version=7)) is False
    assert stores.survey.link_now(x.unit_key, x.slot) == x


def test_misses_are_counted_per_address_and_window(stores):
    s, window = stores.survey, timedelta(minutes=10)
    start = datetime(2022, 1, 5, 3, 0, tzinfo=timezone.utc)  # a window's first instant
    assert [s.count_miss("10.0.0.1", start + timedelta(minutes=m), window) for m in (0, 1, 9)] == [1, 2, 3]
    assert s.count_miss("10.0.0.2", start, window) == 1  # per address
    assert s.count_miss("10.0.0.1", start + timedelta(minutes=10), window) == 1  # the next window starts afresh
    assert s.count_miss("10.0.0.1", start + timedelta(minutes=19, seconds=59), window) == 2
