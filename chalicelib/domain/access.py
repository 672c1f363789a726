"""Who may do what: the ministry sees and changes everything; a province only its own unit."""
from __future__ import annotations

from dataclasses import dataclass

from chalicelib.errors import ForbiddenError

MINISTRY, PROVINCE = "ministry", "province"
ROLE_NAMES = {MINISTRY: "Bộ Nội vụ", PROVINCE: "Tỉnh, thành phố"}


@dataclass(frozen=True)
class Actor:
    username: str
    role: str
    unit: str | None
    display_name: str = ""
    source_ip: str | None = None
    must_change_password: bool = False

    @property
    def is_ministry(self) -> bool:
        return self.role == MINISTRY


SYSTEM = Actor(username="system", role="system", unit=None, display_name="Hệ thống")
# the platform acting with the ministry's rights (seeding shipped campaigns, scheduled reminders)
SYSTEM_MINISTRY = Actor(username="system", role=MINISTRY, unit=None, display_name="Hệ thống")


def require_ministry(actor: Actor) -> None:
    if not actor.is_ministry:
        raise ForbiddenError("Chức năng này chỉ dành cho Bộ Nội vụ.")


def require_unit(actor: Actor, unit: str) -> None:
    """A province account acts only on its own unit."""
    if actor.is_ministry:
        return
    if actor.role != PROVINCE or actor.unit != unit:
        raise ForbiddenError("Tài khoản của bạn không có quyền truy cập dữ liệu của đơn vị này.")
