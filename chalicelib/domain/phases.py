"""Campaign phases and their deadlines.

A phase is open from its opening instant (inclusive) to its closing instant (exclusive).
A deadline given as a date closes at 24:00 local time of that day, i.e. 00:00 of the next day:
23:59:59 on the deadline day is still accepted, 00:00:00 the next day is refused.
The ministry may extend a phase for everyone (a new campaign-wide close) or for one unit
(an extension only ever moves that unit's close later).
"""
from __future__ import annotations

from msgspec import Struct
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from chalicelib.domain.timefmt import local_date, local_datetime, parse_iso, utc_iso

PHASES: dict[str, str] = {
    "focal_person": "Cử cán bộ đầu mối công nghệ thông tin",
    "roster": "Nhập và gửi danh sách đối tượng điều tra XHH",
    "self_assessment": "Tự đánh giá, chấm điểm",
    "survey": "Trả lời phiếu điều tra XHH",
    "appraisal": "Thẩm định",
}

# Whom a phase concerns besides the organiser (who is concerned by every phase): "all" units, the "province"s only
# (their focal person, roster and survey: an assessed ministry has none of these), or the organiser alone ("moha":
# the appraisal). Campaign data says it per phase; without it, these defaults.
AUDIENCES = ("all", "province", "moha")
DEFAULT_AUDIENCE = {"focal_person": "province", "roster": "province", "survey": "province", "appraisal": "moha"}


def audience(code: str, given: object) -> str | None:
    """A phase's audience from campaign data (`given`, None for the default); None when `given` is not one.
    "ministry" is how the organiser's audience was written before the organiser's role was named "moha"."""
    if given in (None, ""):
        return DEFAULT_AUDIENCE.get(code, "all")
    if given == "ministry":
        return "moha"
    return given if given in AUDIENCES else None


def concerns(phase: dict, kind: str) -> bool:
    """Whether a stored phase concerns a unit of `kind` ("province" | "ministry")."""
    found = audience(phase["code"], phase.get("audience"))
    return found == "all" or found == kind


class PhaseWindow(Struct, frozen=True):
    code: str
    name: str
    opens_at: datetime
    closes_at: datetime
    extended: bool = False

    def state(self, now: datetime) -> str:
        if now < self.opens_at:
            return "upcoming"
        if now < self.closes_at:
            return "open"
        return "closed"

    def to_dict(self, now: datetime, tz: str) -> dict:
        last_moment = self.closes_at - timedelta(seconds=1)
        midnight = self.closes_at.astimezone(ZoneInfo(tz)).time() == time(0, 0)
        deadline_label = f"hết ngày {local_date(last_moment, tz)}" if midnight else local_datetime(self.closes_at, tz)
        return {
            "code": self.code,
            "name": self.name,
            "opens_at": utc_iso(self.opens_at),
            "closes_at": utc_iso(self.closes_at),
            "opens_label": local_date(self.opens_at, tz),
            "deadline_label": deadline_label,
            "state": self.state(now),
            "seconds_left": max(0, int((self.closes_at - now).total_seconds())),
            "extended": self.extended,
        }


def resolve_bound(value: str, tz: str, *, closing: bool, today: date | None = None) -> datetime:
    """Turn a bound from campaign data into an aware instant.

    `value` is an ISO date ("2022-01-15": start of day when opening, end of day when closing),
    an ISO datetime with offset, or a relative day "+N"/"-N" counted from `today` (for demo campaigns)."""
    value = value.strip()
    zone = ZoneInfo(tz)
    try:
        if value[:1] in "+-" and value[1:].isdigit():
            if today is None:
                raise ValueError("relative bound needs today")
            value = (today + timedelta(days=int(value))).isoformat()
        if len(value) == 10:
            day = date.fromisoformat(value)
            if closing:
                day += timedelta(days=1)
            moment = datetime.combine(day, time(0, 0), tzinfo=zone)
        else:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            moment = moment if moment.tzinfo else moment.replace(tzinfo=zone)
    except OverflowError:
        raise ValueError(f"bound out of range: {value!r}") from None
    if not 1970 <= moment.year <= 2999:  # far dates overflow when shown in another zone (year 1 or 9999)
        raise ValueError(f"bound out of range: {value!r}")
    return moment


def windows(phases: list[dict], unit_extensions: dict[str, str] | None = None) -> dict[str, PhaseWindow]:
    """Effective windows for one unit (or campaign-wide when no extensions are given).

    `phases` holds stored phases: {"code", "name", "opens_at", "closes_at"} with ISO instants."""
    unit_extensions = unit_extensions or {}
    result = {}
    for phase in phases:
        closes = parse_iso(phase["closes_at"])
        extended = bool(phase.get("extended"))
        ext = unit_extensions.get(phase["code"])
        if ext and parse_iso(ext) > closes:
            closes, extended = parse_iso(ext), True
        result[phase["code"]] = PhaseWindow(
            code=phase["code"], name=phase.get("name") or PHASES.get(phase["code"], phase["code"]),
            opens_at=parse_iso(phase["opens_at"]), closes_at=closes, extended=extended)
    return result


def closed_message(window: PhaseWindow, now: datetime, tz: str) -> str:
    info = window.to_dict(now, tz)
    if window.state(now) == "upcoming":
        return f"Giai đoạn “{window.name}” chưa mở (mở từ ngày {info['opens_label']})."
    return (f"Đã hết thời hạn “{window.name}” ({info['deadline_label']}). "
            "Phần mềm đã tự động khóa; liên hệ Bộ Nội vụ nếu cần gia hạn.")
