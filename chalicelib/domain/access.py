"""Who may do what. Three roles that cannot be mixed up:
- `moha`: the Ministry of Home Affairs (Bộ Nội vụ) as the campaign's organiser, who sees and changes everything;
- `province`: a province's account, acting only on its own unit;
- `ministry`: an assessed ministry's account (a unit of kind "ministry"), acting only on its own unit.
The two unit roles are named after the kind of unit they belong to."""
from __future__ import annotations

from msgspec import Struct

from chalicelib.errors import ForbiddenError

MOHA, PROVINCE, MINISTRY = "moha", "province", "ministry"
UNIT_ROLES = (PROVINCE, MINISTRY)
ROLES = (MOHA, *UNIT_ROLES)
ROLE_NAMES = {MOHA: "Bộ Nội vụ", PROVINCE: "Tỉnh, thành phố", MINISTRY: "Bộ, cơ quan ngang bộ"}


def stored_role(role: str, unit: str | None) -> str:
    """The role of an account or session stored before the organiser's role was named `moha`: the organiser was
    then `ministry` with no unit, which no assessed ministry's account can be (each has its unit)."""
    return MOHA if role == MINISTRY and not unit else role


class Actor(Struct, frozen=True):
    username: str
    role: str
    unit: str | None
    display_name: str = ""
    source_ip: str | None = None
    must_change_password: bool = False

    @property
    def is_moha(self) -> bool:
        return self.role == MOHA


SYSTEM = Actor(username="system", role="system", unit=None, display_name="Hệ thống")
# the platform acting with the organiser's rights (seeding shipped campaigns, scheduled reminders)
SYSTEM_MOHA = Actor(username="system", role=MOHA, unit=None, display_name="Hệ thống")


def require_moha(actor: Actor) -> None:
    if not actor.is_moha:
        raise ForbiddenError("Chức năng này chỉ dành cho Bộ Nội vụ.")


def require_unit(actor: Actor, unit: str) -> None:
    """A unit's account (a province's or an assessed ministry's) acts only on its own unit."""
    if actor.is_moha:
        return
    if actor.role not in UNIT_ROLES or actor.unit != unit:
        raise ForbiddenError("Tài khoản của bạn không có quyền truy cập dữ liệu của đơn vị này.")
