from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from chalicelib.domain.phases import resolve_bound, windows
from chalicelib.domain.timefmt import utc_iso

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def phase(closes="2022-01-15", opens="2022-01-04"):
    return {"code": "roster", "name": "Danh sách",
            "opens_at": utc_iso(resolve_bound(opens, "Asia/Ho_Chi_Minh", closing=False)),
            "closes_at": utc_iso(resolve_bound(closes, "Asia/Ho_Chi_Minh", closing=True))}


def test_a_date_deadline_closes_at_midnight_local_time_after_that_day():
    closes = resolve_bound("2022-01-15", "Asia/Ho_Chi_Minh", closing=True)
    assert closes == datetime(2022, 1, 16, 0, 0, tzinfo=VN)
    assert closes.astimezone(timezone.utc) == datetime(2022, 1, 15, 17, 0, tzinfo=timezone.utc)


def test_the_last_second_of_the_deadline_day_is_open_and_the_next_midnight_is_closed():
    window = windows([phase()])["roster"]
    assert window.state(datetime(2022, 1, 15, 23, 59, 59, tzinfo=VN)) == "open"
    assert window.state(datetime(2022, 1, 16, 0, 0, 0, tzinfo=VN)) == "closed"


def test_a_phase_is_upcoming_before_its_opening_day_in_local_time():
    window = windows([phase()])["roster"]
    assert window.state(datetime(2022, 1, 3, 23, 59, 59, tzinfo=VN)) == "upcoming"
    assert window.state(datetime(2022, 1, 4, 0, 0, 0, tzinfo=VN)) == "open"


def test_a_unit_extension_moves_only_that_units_close_later():
    later = utc_iso(datetime(2022, 1, 20, 0, 0, tzinfo=VN))
    earlier = utc_iso(datetime(2022, 1, 10, 0, 0, tzinfo=VN))
    assert windows([phase()], {"roster": later})["roster"].extended
    assert windows([phase()], {"roster": later})["roster"].state(datetime(2022, 1, 19, 12, tzinfo=VN)) == "open"
    assert windows([phase()], {"roster": earlier})["roster"].closes_at == windows([phase()])["roster"].closes_at


def test_relative_bounds_count_days_from_today_for_demo_campaigns():
    today = date(2026, 11, 25)
    assert resolve_bound("+0", "Asia/Ho_Chi_Minh", closing=False, today=today) == datetime(2026, 11, 25, tzinfo=VN)
    assert resolve_bound("+14", "Asia/Ho_Chi_Minh", closing=True, today=today) == \
        datetime(2026, 12, 9, tzinfo=VN) + timedelta(days=1)


def test_deadline_label_reads_as_the_end_of_the_day_in_vietnamese():
    info = windows([phase()])["roster"].to_dict(datetime(2022, 1, 10, tzinfo=VN), "Asia/Ho_Chi_Minh")
    assert info["deadline_label"] == "hết ngày 15/01/2022"
    assert info["opens_label"] == "04/01/2022"
    assert info["state"] == "open"
