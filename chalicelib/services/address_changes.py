"""Changes of a respondent's address after dispatch: the province's requests, the ministry's decisions, and the
ministry's view of every re-issue.

A delivered invitation belongs to its respondent: a province that could re-address it would get their link, their
saved draft and their answer. So the province corrects directly only an invitation that never arrived (dispatch.
correct_email); any other change is a request with a reason, which the ministry approves (the links are re-issued
as for a correction) or refuses (nothing changes). Every step is audited and notified to the other side, and every
request is evidence for the integrity rule on address changes.

Its own records, the roster, the campaign and the audit go through `stores`, and so do the dispatch functions it
calls (`respondent`, `open_links`, `reissue`), which it hands them."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from chalicelib.domain import address_changes as rules
from chalicelib.domain import links as link_rules
from chalicelib.domain.access import Actor, require_moha, require_unit
from chalicelib.domain.timefmt import local_datetime, utc_iso
from chalicelib.errors import ConflictError, NotFoundError, ValidationError
from chalicelib.services import audit, dispatch, phases
from chalicelib.store.address_changes import AddressChange
from chalicelib.store.links import Link
from chalicelib.store.roster import Respondent
from chalicelib.store.stores import DYNAMODB, Stores

STATE_FILTERS = ("pending", "approved", "refused", "done")


def addresses_detail(old: str, new: str) -> dict:
    """What the audit log keeps of the two addresses: domains and fingerprints, never the addresses."""
    return {"old_domain": rules.domain_of(old), "old_fingerprint": rules.fingerprint(old),
            "new_domain": rules.domain_of(new), "new_fingerprint": rules.fingerprint(new)}


def _link_facts(links: list[Link]) -> list[dict]:
    return [{"slot": link.slot, "purpose": link.purpose, "state": link.state,
             "sent_at": utc_iso(link.sent_at) if link.sent_at else None,
             "opened_at": utc_iso(link.opened_at) if link.opened_at else None} for link in links]


def record_correction(actor: Actor, cid: str, unit: str, row: Respondent, links: list[Link], email: str,
                      slots: list[str], now: datetime, random_bytes: Callable[[int], bytes], *,
                      stores: Stores = DYNAMODB) -> AddressChange:
    """A direct correction (of a failed delivery), kept beside the requests so the ministry sees every re-issue."""
    change = AddressChange(cid=cid, unit=unit, id=rules.new_id(now, random_bytes(4).hex()), kind="correction",
                           state="done", rid=row.rid, full_name=row.full_name, old_email=row.email, new_email=email,
                           requested_by=actor.username, requested_at=now, links=_link_facts(links), reissued=slots,
                           reissued_at=now)
    stores.address_changes.add_correction(change)
    return change


def _reason(value: object, field: str = "reason") -> str:
    text = rules.clean_reason(value)
    problem = rules.reason_problem(text)
    if problem:
        raise ValidationError(problem, details=[{"field": field, "message": problem}])
    return text


def request_change(actor: Actor, cid: str, unit_code: str, rid: str, body: dict, now: datetime,
                   random_bytes: Callable[[int], bytes], *, stores: Stores = DYNAMODB) -> dict:
    """The province asks the ministry to send someone's links to another address, saying why."""
    require_unit(actor, unit_code)
    _, unit = phases.require_open(cid, unit_code, "survey", now, stores=stores)
    email = dispatch.valid_email(body.get("email"))
    reason = _reason(body.get("reason"))
    row = dispatch.respondent(cid, unit_code, unit, rid, email, stores=stores)
    if email == row.email:
        raise ValidationError("Email mới trùng với email hiện tại của người này.",
                              details=[{"field": "email", "message": "Email mới trùng với email hiện tại."}])
    links = dispatch.open_links(cid, unit_code, rid, stores=stores)
    change = AddressChange(cid=cid, unit=unit_code, id=rules.new_id(now, random_bytes(4).hex()), kind="request",
                           state="pending", rid=rid, full_name=row.full_name, old_email=row.email, new_email=email,
                           reason=reason, links=_link_facts(links), requested_by=actor.username, requested_at=now)
    if not stores.address_changes.add_request(change):
        raise ConflictError(f"Đã có đề nghị đổi email của {row.full_name} đang chờ Bộ Nội vụ duyệt.",
                            code="email_change_pending")
    suffix = random_bytes(4).hex()
    audit.record(actor, "email_change_requested", now, target=rid, cid=cid, unit=unit_code,
                 details={"change": change.id, "reason": reason, "links": [link.slot for link in links],
                          "states": [link.state for link in links], **addresses_detail(row.email, email)},
                 suffix=suffix, stores=stores)
    audit.notify(cid, ["moha"], now, "email_change_requested", "Đề nghị đổi email người trả lời phiếu",
                 f"{unit.full_name} đề nghị đổi email của {row.full_name} (từ {rules.masked(row.email)} sang "
                 f"{rules.masked(email)}) sau khi thư mời đã được gửi. Lý do: {reason}", suffix, stores=stores)
    return view(change, unit.full_name)


def _pending(cid: str, unit_code: str, change_id: str, *, stores: Stores = DYNAMODB) -> AddressChange:
    change = stores.address_changes.get(cid, unit_code, change_id) if rules.ID.match(change_id or "") else None
    if change is None or change.kind != "request":
        raise NotFoundError("Không tìm thấy đề nghị đổi email này.")
    if change.state != "pending":
        raise ConflictError(f"Đề nghị này đã được xử lý ({rules.STATES.get(change.state, change.state)}).",
                            code="email_change_decided")
    return change


def approve(actor: Actor, cid: str, unit_code: str, change_id: str, body: dict, now: datetime,
            random_bytes: Callable[[int], bytes], *, stores: Stores = DYNAMODB) -> dict:
    """The ministry agrees: the roster takes the new address, the open links are re-issued to it (new tokens, the
    old ones and their drafts gone)."""
    require_moha(actor)
    campaign, unit = phases.require_open(cid, unit_code, "survey", now, stores=stores)
    change = _pending(cid, unit_code, change_id, stores=stores)
    note = rules.clean_reason(body.get("note"))
    if len(note) > rules.REASON_MAX:
        raise ValidationError(f"Ghi chú dài tối đa {rules.REASON_MAX} ký tự.", details=[{"field": "note"}])
    # still on the roster, address still free
    dispatch.respondent(cid, unit_code, unit, change.rid, change.new_email, stores=stores)
    links = dispatch.open_links(cid, unit_code, change.rid, stores=stores)
    if not stores.address_changes.decide(change, "approved", actor.username, now, note or None):
        raise ConflictError("Đề nghị này vừa được xử lý.", code="email_change_decided")
    stores.roster.set_email(cid, unit_code, unit.roster_gen, change.rid, change.new_email, now)
    slots = dispatch.reissue(campaign, unit, links, change.new_email, link_rules.CORRECTABLE, now, random_bytes,
                             stores=stores)
    stores.address_changes.set_reissued(change, slots, now)
    suffix = random_bytes(4).hex()
    audit.record(actor, "email_change_approved", now, target=change.rid, cid=cid, unit=unit_code,
                 details={"change": change.id, "note": note or None, "slots": slots,
                          **addresses_detail(change.old_email, change.new_email)}, suffix=suffix, stores=stores)
    audit.notify(cid, [unit_code], now, "email_change_approved", "Bộ Nội vụ đồng ý đổi email",
                 f"Bộ Nội vụ đồng ý đổi email của {change.full_name} sang {change.new_email}; {len(slots)} phiếu đã "
                 "được gửi lại tới địa chỉ mới, đường dẫn cũ hết hiệu lực." + (f" Ghi chú: {note}" if note else ""),
                 suffix, stores=stores)
    decided = stores.address_changes.get(cid, unit_code, change.id) or change
    return view(decided, unit.full_name)


def refuse(actor: Actor, cid: str, unit_code: str, change_id: str, body: dict, now: datetime,
           random_bytes: Callable[[int], bytes], *, stores: Stores = DYNAMODB) -> dict:
    """The ministry does not agree (with a reason): nothing changes, the links stay with the respondent."""
    require_moha(actor)
    _, unit = phases.require_open(cid, unit_code, "survey", now, stores=stores)
    change = _pending(cid, unit_code, change_id, stores=stores)
    reason = _reason(body.get("reason"))
    if not stores.address_changes.decide(change, "refused", actor.username, now, reason):
        raise ConflictError("Đề nghị này vừa được xử lý.", code="email_change_decided")
    suffix = random_bytes(4).hex()
    audit.record(actor, "email_change_refused", now, target=change.rid, cid=cid, unit=unit_code,
                 details={"change": change.id, "reason": reason,
                          **addresses_detail(change.old_email, change.new_email)}, suffix=suffix, stores=stores)
    audit.notify(cid, [unit_code], now, "email_change_refused", "Bộ Nội vụ không đồng ý đổi email",
                 f"Bộ Nội vụ không đồng ý đổi email của {change.full_name}; phiếu vẫn gửi tới địa chỉ cũ. "
                 f"Lý do: {reason}", suffix, stores=stores)
    decided = stores.address_changes.get(cid, unit_code, change.id) or change
    return view(decided, unit.full_name)


def _at(value: datetime | None) -> dict:
    return {"at": utc_iso(value) if value else None, "label": local_datetime(value) if value else None}


def view(change: AddressChange, unit_name: str | None = None) -> dict:
    """A change as officials see it: addresses masked (with fingerprints telling equal ones apart), times, states."""
    links = [{**link, "purpose_name": link_rules.PURPOSE_NAMES.get(link.get("purpose", ""), link.get("purpose")),
              "state_name": link_rules.STATE_NAMES.get(link.get("state", ""), link.get("state"))}
             for link in change.links or []]
    requested, decided, reissued = _at(change.requested_at), _at(change.decided_at), _at(change.reissued_at)
    return {"id": change.id, "unit": change.unit, "unit_name": unit_name, "kind": change.kind,
            "kind_name": rules.KINDS.get(change.kind, change.kind), "state": change.state,
            "state_name": rules.STATES.get(change.state, change.state), "rid": change.rid,
            "full_name": change.full_name, "old": rules.address_view(change.old_email),
            "new": rules.address_view(change.new_email), "reason": change.reason,
            "requested_by": change.requested_by, "requested_at": requested["at"],
            "requested_at_label": requested["label"], "decided_by": change.decided_by,
            "decided_at": decided["at"], "decided_at_label": decided["label"], "decision_note": change.decision_note,
            "links": links, "reissued": len(change.reissued or []), "reissued_at": reissued["at"],
            "reissued_at_label": reissued["label"]}


def _state(value: str | None) -> str | None:
    if value and value not in STATE_FILTERS:
        raise ValidationError(f"Trạng thái lọc không hợp lệ; chọn một trong: {', '.join(STATE_FILTERS)}.",
                              details=[{"field": "state"}])
    return value or None


def of_unit(actor: Actor, cid: str, unit_code: str, state: str | None = None, *, stores: Stores = DYNAMODB) -> dict:
    """A unit's corrections and requests, newest first (the province sees its own; the ministry every unit's)."""
    require_unit(actor, unit_code)
    wanted = _state(state)
    unit = stores.campaigns.get_unit(cid, unit_code)
    items = [c for c in reversed(stores.address_changes.of_unit(cid, unit_code)) if not wanted or c.state == wanted]
    return {"campaign": cid, "unit": {"code": unit.unit, "name": unit.name, "full_name": unit.full_name},
            "pending": sum(1 for c in items if c.state == "pending"),
            "items": [view(c, unit.full_name) for c in items]}


def of_campaign(actor: Actor, cid: str, state: str | None = None, *, stores: Stores = DYNAMODB) -> dict:
    """Every unit's corrections and requests (pending ones first), for the ministry."""
    require_moha(actor)
    wanted = _state(state)
    stores.campaigns.get_campaign(cid)
    names = {u.unit: u.full_name for u in stores.campaigns.list_units(cid)}
    items = stores.address_changes.of_campaign(cid, wanted)
    items.sort(key=lambda c: (c.state != "pending", _newest_first(c)))
    return {"campaign": cid, "pending": sum(1 for c in items if c.state == "pending"),
            "items": [view(c, names.get(c.unit)) for c in items]}


def _newest_first(change: AddressChange) -> Any:
    return -change.requested_at.timestamp()


def integrity_facts(cid: str, unit_code: str | None = None, *, stores: Stores = DYNAMODB) -> dict[str, list]:
    """The units' requests (changes after delivery), as the integrity rule reads them, by unit: one unit's (one
    Query), or with no `unit_code` every unit's (one Query of the campaign: changes are few)."""
    from chalicelib.domain.integrity import AddressChangeFacts

    changes = stores.address_changes
    out: dict[str, list] = {}
    for c in changes.of_unit(cid, unit_code) if unit_code else changes.of_campaign(cid):
        if c.kind == "request":
            out.setdefault(c.unit, []).append(AddressChangeFacts(
                change=c.id, state=c.state, requested_at=c.requested_at,
                links=tuple(link["slot"] for link in c.links or []), decided_at=c.decided_at,
                reissued=tuple(c.reissued or ())))
    return out


def correct_email(actor: Actor, cid: str, unit_code: str, rid: str, email: str, now: datetime,
                  random_bytes: Callable[[int], bytes], *, stores: Stores = DYNAMODB) -> dict:
    """The province fixes the address of someone whose invitation never reached them (bounced, or refused by the
    mail service): the old links die, new ones are mailed. A delivered invitation is the respondent's: its address
    changes only through a request the ministry approves (request_change below)."""
    require_unit(actor, unit_code)
    campaign, unit = phases.require_open(cid, unit_code, "survey", now, stores=stores)
    email = dispatch.valid_email(email)
    row = dispatch.respondent(cid, unit_code, unit, rid, email, stores=stores)
    links = dispatch.open_links(cid, unit_code, rid, stores=stores)
    delivered = [link for link in links if link.state not in link_rules.DELIVERY_FAILED]
    if delivered:
        raise ConflictError(
            "Chỉ được sửa trực tiếp email của người có thư mời không đến được (thư bị trả lại hoặc gửi lỗi). Thư mời "
            "của người này đã được gửi đi; để đổi email, hãy gửi đề nghị kèm lý do để Bộ Nội vụ xem xét.",
            code="email_change_needs_approval",
            details=[{"field": "email", "states": sorted({link.state for link in delivered})}])
    stores.roster.set_email(cid, unit_code, unit.roster_gen, rid, email, now)
    slots = dispatch.reissue(campaign, unit, links, email, link_rules.DELIVERY_FAILED, now, random_bytes,
                             stores=stores)
    change = record_correction(actor, cid, unit_code, row, links, email, slots, now, random_bytes, stores=stores)
    audit.record(actor, "respondent_email_corrected", now, target=rid, cid=cid, unit=unit_code,
                 details={"links": len(slots), "slots": slots, "change": change.id,
                          **addresses_detail(row.email, email)},
                 suffix=random_bytes(4).hex(), stores=stores)
    return {"rid": rid, "email": email, "reissued": len(slots)}
