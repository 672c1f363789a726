"""Which kind of unit an action applies to. The survey's steps (focal person, roster, dispatch and reminders,
progress, mail, address changes, annulment, responses) are a province's; an assessed ministry has its own survey
counts instead. A unit's account of the other kind is refused (403), and so is a unit of the other kind (404: for
that unit the action does not exist)."""
from __future__ import annotations

from chalicelib.domain import access
from chalicelib.domain.access import Actor
from chalicelib.domain.campaign import MINISTRY, PROVINCE
from chalicelib.errors import ForbiddenError, NotFoundError
from chalicelib.store.stores import DYNAMODB, Stores

ONLY = {PROVINCE: "chỉ áp dụng cho tỉnh, thành phố", MINISTRY: "chỉ áp dụng cho bộ, cơ quan ngang bộ"}
ROLE_OF_KIND = {PROVINCE: access.PROVINCE, MINISTRY: access.MINISTRY}


def require_kind(actor: Actor, kind: str, cid: str | None = None, unit: str | None = None, *,
                 stores: Stores = DYNAMODB) -> None:
    """Refuse a unit's account of another kind than `kind` and, with `cid` and `unit`, a unit of another kind (an
    unknown unit is left to the action, which names it)."""
    if actor.role in access.UNIT_ROLES and actor.role != ROLE_OF_KIND[kind]:
        raise ForbiddenError(f"Chức năng này {ONLY[kind]}.", code="wrong_unit_kind")
    if cid is None or unit is None:
        return
    found = stores.campaigns.find_unit(cid, unit)
    if found is not None and found.kind != kind:
        raise NotFoundError(f"Chức năng này {ONLY[kind]}; {found.name} không thuộc loại đơn vị này.",
                            code="wrong_unit_kind")


def require_province_unit(actor: Actor, cid: str, unit: str, *, stores: Stores = DYNAMODB) -> None:
    """Only a province's own steps: refuse an assessed ministry and its account."""
    require_kind(actor, PROVINCE, cid, unit, stores=stores)


def require_ministry_unit(actor: Actor, cid: str, unit: str, *, stores: Stores = DYNAMODB) -> None:
    """Only an assessed ministry's own view: refuse a province and its account."""
    require_kind(actor, MINISTRY, cid, unit, stores=stores)
