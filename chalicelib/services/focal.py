"""The province's IT focal person (cán bộ đầu mối công nghệ thông tin): name, position, mobile phone and official
e-mail address, to which the province's technical notifications are mailed as well as shown on its pages."""
from __future__ import annotations

from datetime import datetime

from chalicelib.domain.access import Actor, require_unit
from chalicelib.domain.text import clean, email_problem, normalise_email, normalise_mobile
from chalicelib.domain.timefmt import local_datetime, utc_iso
from chalicelib.errors import ValidationError
from chalicelib.services import audit
from chalicelib.services.phases import require_open
from chalicelib.store.stores import DYNAMODB, Stores

FIELDS = {"full_name": "Họ và tên", "position": "Chức vụ", "mobile": "Số điện thoại di động"}


def get(actor: Actor, cid: str, unit: str, *, stores: Stores = DYNAMODB) -> dict:
    require_unit(actor, unit)
    stores.campaigns.get_campaign(cid)
    record = stores.campaigns.get_unit(cid, unit).focal_person
    return _view(record)


def _view(record: dict | None) -> dict:
    if not record:
        return {"full_name": None, "position": None, "mobile": None, "email": None, "updated_at": None,
                "updated_at_label": None, "updated_by": None}
    return {"email": None, **record, "updated_at_label": local_datetime(datetime.fromisoformat(record["updated_at"]
                                                                                .replace("Z", "+00:00")))}


def validate(body: dict) -> dict:
    errors = []
    values = {}
    for field, label in FIELDS.items():
        raw = body.get(field)
        if raw is not None and not isinstance(raw, (str, int)):
            errors.append({"field": field, "message": f"{label} không hợp lệ."})
            continue
        value = clean(raw)
        if not value:
            errors.append({"field": field, "message": f"Vui lòng nhập {label.lower()}."})
        elif len(value) > 120:
            errors.append({"field": field, "message": f"{label} dài tối đa 120 ký tự."})
        values[field] = value
    if values.get("mobile"):
        mobile = normalise_mobile(values["mobile"])
        if mobile is None:
            errors.append({"field": "mobile", "message": "Số điện thoại di động không hợp lệ "
                           "(10 chữ số, đầu số di động Việt Nam, ví dụ 0912 345 678)."})
        else:
            values["mobile"] = mobile
    email = body.get("email")
    if email is not None and not isinstance(email, str):
        errors.append({"field": "email", "message": "Thư điện tử không hợp lệ."})
    elif email and email.strip():
        values["email"] = normalise_email(email)
        problem = email_problem(values["email"])
        if problem:
            errors.append({"field": "email", "message": problem})
    if errors:
        raise ValidationError(errors[0]["message"] if len(errors) == 1 else
                              "Thông tin cán bộ đầu mối chưa hợp lệ.", details=errors)
    return values


def put(actor: Actor, cid: str, unit: str, body: dict, now: datetime, suffix: str, *,
        stores: Stores = DYNAMODB) -> dict:
    require_unit(actor, unit)
    values = validate(body)
    require_open(cid, unit, "focal_person", now, stores=stores)
    record = {**values, "updated_at": utc_iso(now), "updated_by": actor.username}
    stores.campaigns.put_focal_person(cid, unit, record)
    audit.record(actor, "focal_person_saved", now, target=unit, cid=cid, unit=unit,
                 details={"full_name": values["full_name"], "position": values["position"],
                          "email": values.get("email")}, suffix=suffix, stores=stores)
    return _view(record)
