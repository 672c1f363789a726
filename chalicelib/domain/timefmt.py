"""Dates and times as Vietnamese officials read them: dd/mm/yyyy, Asia/Ho_Chi_Minh."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

VN_TZ = "Asia/Ho_Chi_Minh"


def utc_iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def utc_instant(moment: datetime) -> str:
    """An instant to the microsecond, for what is compared with stored instants (a queued mail's `queued_at`)."""
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_iso(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return moment


def local_date(moment: datetime, tz: str = VN_TZ) -> str:
    return moment.astimezone(ZoneInfo(tz)).strftime("%d/%m/%Y")


def local_datetime(moment: datetime, tz: str = VN_TZ) -> str:
    return moment.astimezone(ZoneInfo(tz)).strftime("%H:%M %d/%m/%Y")
