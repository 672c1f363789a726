"""Survey links: the state machine, the URL, and the pace of sending.

A link is issued → sent → (opened) → submitted; a mail may instead fail or bounce (chalicelib/domain/delivery.py
says which SES event does what). Opening never consumes a
link (mail scanners open links); only a submit does, once."""
from __future__ import annotations

from msgspec import Struct

STATES = ("issued", "sent", "opened", "submitted", "bounced", "failed")
STATE_NAMES = {"issued": "Chưa gửi", "sent": "Đã gửi", "opened": "Đã mở", "submitted": "Đã trả lời",
               "bounced": "Thư bị trả lại", "failed": "Gửi lỗi"}
PURPOSE_NAMES = {"locality": "Phiếu đánh giá địa phương", "ministry": "Phiếu đánh giá bộ chủ quản"}

# from-state -> states it may move to
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "issued": ("sent", "failed", "issued"),
    "sent": ("opened", "submitted", "bounced", "failed", "issued"),  # failed: refused by SES, or bounced for good
    "opened": ("submitted", "bounced", "issued"),
    "bounced": ("issued",),  # after the province corrects the e-mail address
    "failed": ("issued",),
    "submitted": (),
}
REMINDABLE = ("sent", "opened")
CORRECTABLE = ("issued", "sent", "opened", "bounced", "failed")
# a province corrects an address by itself only where the invitation never reached anyone; any other change of
# address after dispatch is a request the ministry decides
DELIVERY_FAILED = ("bounced", "failed")


def can_move(old: str, new: str) -> bool:
    return new in TRANSITIONS.get(old, ())


def slot(rid: str, purpose: str) -> str:
    return f"{rid}#{purpose}"


def survey_url(site_url: str, token: str) -> str:
    """The token rides in the fragment, which browsers never send to servers (so it never reaches logs)."""
    return f"{site_url.rstrip('/')}/khao-sat/#{token}"


class Pace(Struct):
    """A token bucket: at most `rate` sends per second on average, bursts of at most `burst`.

    Pure: the caller passes the time; `wait(now)` says how long to sleep before the next send may go."""
    rate: float
    burst: float = 1.0
    tokens: float = 1.0
    last: float | None = None

    def wait(self, now: float) -> float:
        if self.last is not None:
            self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        needed = (1 - self.tokens) / self.rate
        self.tokens = 0.0
        self.last = now + needed
        return needed


def backoff(attempt: int, base: float = 0.5, cap: float = 20.0) -> float:
    """Seconds to wait before retry `attempt` (1-based) of a throttled call: doubling, capped."""
    return min(cap, base * (2 ** (attempt - 1)))
