"""Provisioning accounts: one for the organiser (the Ministry of Home Affairs' admin), one per unit: a province's
(`tinh01`, role `province`) or an assessed ministry's (`bobtp`, role `ministry`)."""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from chalicelib.config import settings
from chalicelib.domain import credentials as cred
from chalicelib.domain.access import MINISTRY, MOHA, PROVINCE, SYSTEM
from chalicelib.services import audit
from chalicelib.store.accounts import Account
from chalicelib.store.stores import DYNAMODB, Stores

ADMIN_USERNAME = "admin"


def province_username(unit: str) -> str:
    return f"tinh{unit}".lower()


def ministry_username(unit: str) -> str:
    """An assessed ministry's account is named after its unit code: "bobtp" for the Ministry of Justice (BTP)."""
    return f"bo{unit}".lower()


def _unit_account(unit: dict) -> dict:
    if (unit.get("kind") or PROVINCE) == MINISTRY:
        return {"username": ministry_username(unit["code"]), "role": MINISTRY, "unit": unit["code"],
                "display_name": str(unit.get("full_name") or unit["name"]), "unit_name": unit["name"]}
    return {"username": province_username(unit["code"]), "role": PROVINCE, "unit": unit["code"],
            "display_name": department_name(unit), "unit_name": unit["name"]}


def department_name(unit: dict) -> str:
    """"Sở Nội vụ tỉnh Hà Giang", "Sở Nội vụ thành phố Hà Nội": after the department's name, the unit's kind is
    written in lower case (a unit's full name on its own starts with a capital: "Tỉnh Hà Giang")."""
    name = str(unit.get("full_name") or unit["name"]).strip()
    for kind in ("Tỉnh ", "Thành phố "):
        if name.startswith(kind):
            name = kind.lower() + name[len(kind):]
            break
    return f"Sở Nội vụ {name}"


def provision(units: list[dict], now: datetime, random_bytes: Callable[[int], bytes], *,
              reset: bool = False, must_change: bool = True, stores: Stores = DYNAMODB) -> list[dict]:
    """Create the admin and one account per unit where missing (or give every one a new password with
    `reset`). Returns the credentials created or reset, the only time a password is known in clear."""
    wanted: list[dict] = [{"username": ADMIN_USERNAME, "role": MOHA, "unit": None,
                           "display_name": "Vụ Cải cách hành chính, Bộ Nội vụ"}]
    wanted += [_unit_account(u) for u in units]
    issued = []
    store = stores.accounts
    for spec in wanted:
        existing = store.find_account(spec["username"])
        if existing and not reset:
            continue
        password = cred.generate_password(random_bytes(16))
        hashed = cred.hash_password(password, random_bytes(16), settings().password_scrypt_n)
        if existing:
            store.set_password(spec["username"], hashed, now, must_change=must_change)
            store.delete_sessions_of(spec["username"])
            action = "account_password_reset"
        else:
            store.create_account(Account(username=spec["username"], role=spec["role"], unit=spec["unit"],
                                         display_name=spec["display_name"], password_hash=hashed,
                                         must_change_password=must_change, password_changed_at=None,
                                         created_at=now))
            action = "account_created"
        audit.record(SYSTEM, action, now, target=spec["username"], unit=spec["unit"], suffix=random_bytes(4).hex(),
                     stores=stores)
        issued.append({**spec, "password": password})
    return issued
