"""The roster of survey respondents: template, import, review, single-row changes, sending to the ministry.

Imports are all-or-nothing and repeatable: rows are matched by e-mail to the current roster (same file twice =
same roster); with any row rejected nothing is stored and an error workbook is offered."""
from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Callable, NoReturn

from chalicelib import observability as obs
from chalicelib.domain import roster as rules
from chalicelib.domain.access import Actor, require_moha, require_unit
from chalicelib.domain.campaign import MINISTRY
from chalicelib.domain.text import clean, fold
from chalicelib.domain.timefmt import local_datetime, utc_iso
from chalicelib.errors import (ConflictError, NotFoundError, PayloadTooLargeError, ValidationError)
from chalicelib.services import audit, phases
from chalicelib.store.campaigns import Campaign, Unit
from chalicelib.store.roster import NO_ROW, Respondent, respondent
from chalicelib.store.stores import DYNAMODB, Stores

MAX_IMPORT_BYTES = 4 * 1024 * 1024  # API Gateway + Lambda carry about 4.5 MB of binary body
GROUP_FIELDS = ("full_name", "position", "agency", "group", "email", "phone", "note", "ministry")


def _groups(campaign: Campaign) -> list[rules.Group]:
    return [rules.Group(g["code"], g["name"], tuple(g.get("questionnaires") or ["locality"]),
                        int(g.get("priority", 0))) for g in campaign.groups]


def _resolver(campaign: Campaign, *, stores: Stores = DYNAMODB) -> rules.MinistryResolver:
    """The managing ministries of the campaign's departments, and which of them are assessed (its ministry units)."""
    units = [{"code": u.unit, "name": u.name, "full_name": u.full_name, "kind": u.kind}
             for u in stores.campaigns.list_units(campaign.cid, MINISTRY)]
    return rules.MinistryResolver(campaign.departments or [], units)


def accepted_ministries(campaign: Campaign, *, stores: Stores = DYNAMODB) -> list[str]:
    """The managing ministries a roster row may name (the template's drop-down, the roster dialog's choices)."""
    return _resolver(campaign, stores=stores).ministries


def template(actor: Actor, cid: str, now: datetime, *, stores: Stores = DYNAMODB) -> tuple[bytes, str]:
    from chalicelib.formats import roster_xlsx

    campaign = stores.campaigns.get_campaign(cid)
    window = phases.phase_windows(campaign, None).get("roster")
    deadline = window.to_dict(now, campaign.timezone)["deadline_label"] if window else "theo thông báo của Bộ Nội vụ"
    return (roster_xlsx.template(campaign.name, campaign.groups, deadline, _resolver(campaign, stores=stores).ministries),
            f"mau-danh-sach-dieu-tra-xhh-{cid}.xlsx")


def _new_rid(order: int, random_bytes: Callable[[int], bytes]) -> str:
    return f"{order:06d}-{random_bytes(3).hex()}"


def _item(cid: str, unit: str, gen: str, rid: str, record: dict, now: datetime) -> Respondent:
    return respondent(cid, unit, gen, rid, record, now)


def _record(item: Respondent) -> dict:
    return {"full_name": item.full_name, "position": item.position, "agency": item.agency, "group": item.group,
            "email": item.email, "phone": item.phone, "note": item.note, "ministry": item.ministry,
            "ministry_source": item.ministry_source, "ministry_unit": item.ministry_unit,
            "questionnaires": item.questionnaires}


def row_view(item: Respondent, group_names: dict[str, str]) -> dict:
    return {"rid": item.rid, "order": int(item.rid.split("-", 1)[0]), **_record(item), "group_name": group_names.get(item.group, item.group),
            "updated_at": utc_iso(item.updated_at) if item.updated_at else None}


def _open_draft(actor: Actor, cid: str, unit: str, now: datetime, *, stores: Stores = DYNAMODB) -> tuple[Campaign, Unit]:
    require_unit(actor, unit)
    campaign, unit_item = phases.require_open(cid, unit, "roster", now, stores=stores)
    if unit_item.roster_status == "submitted":
        raise ConflictError("Danh sách đã được gửi về Bộ Nội vụ nên không thể thay đổi. Liên hệ Bộ Nội vụ nếu "
                            "cần mở lại.")
    return campaign, unit_item


def import_workbook(actor: Actor, cid: str, unit: str, data: bytes, mode: str, now: datetime,
                    random_bytes: Callable[[int], bytes], *, stores: Stores = DYNAMODB) -> dict:
    """Validate every row, deduplicate, and swap the unit's roster to the result in one conditional write."""
    from chalicelib.formats import roster_xlsx

    if mode not in ("merge", "replace"):
        raise ValidationError("Chế độ nhập không hợp lệ (merge hoặc replace).", details=[{"field": "mode"}])
    if len(data) > MAX_IMPORT_BYTES:
        raise PayloadTooLargeError(f"Tệp quá lớn ({len(data) / 1048576:.1f} MB); tối đa 4 MB. Hãy xóa các sheet, "
                                   "hình ảnh không cần thiết hoặc chia danh sách thành nhiều tệp.")
    if not data:
        raise ValidationError("Chưa có tệp nào được tải lên.")
    campaign, unit_item = _open_draft(actor, cid, unit, now, stores=stores)
    sheet = roster_xlsx.read_roster(data)
    errors, dedup = _check_rows(sheet, campaign, stores=stores)
    report = _import_report(sheet, mode, dedup)
    if not sheet.rows:
        raise ValidationError("Tệp không có dòng dữ liệu nào dưới dòng tiêu đề.", extra={
            **report, "accepted": 0, "rejected": 0, "errors": []})
    if errors:
        _reject(actor, campaign, cid, unit, sheet, errors, report, now, random_bytes, stores=stores)
    existing = stores.roster.rows(cid, unit, unit_item.roster_gen)
    final, seq, changes = _merged(existing, dedup.kept, mode, int(unit_item.roster_seq or 0), random_bytes)
    gen = f"g{now.strftime('%Y%m%d%H%M%S')}{random_bytes(3).hex()}"
    stores.roster.begin_generation(cid, unit, gen)
    stores.roster.write_generation([_item(cid, unit, gen, rid, record, now) for rid, record in final.values()])
    counts: dict[str, int] = {}
    for _, record in final.values():
        counts[record["group"]] = counts.get(record["group"], 0) + 1
    try:
        stores.roster.swap_generation(cid, unit, gen, int(unit_item.roster_version or 0), counts, seq, now)
    except ConflictError:
        stores.roster.sweep(cid, unit, [], {gen})
        raise
    stores.roster.sweep(cid, unit, existing, set(unit_item.roster_pending or ()) - {gen})
    audit.record(actor, "roster_imported", now, target=unit, cid=cid, unit=unit,
                 details={"mode": mode, "rows": len(sheet.rows), "added": changes["added"],
                          "updated": changes["updated"], "removed": changes["removed"], "total": len(final),
                          "encodings": sheet.conversions}, suffix=random_bytes(4).hex(), stores=stores)
    obs.info("roster imported", mode=mode, rows=len(sheet.rows), total=len(final), **changes)
    obs.metric(obs.IMPORTS, mode=mode, rows=len(sheet.rows))
    return {**report, "accepted": len(dedup.kept), "rejected": 0, "errors": [], **changes, "total": len(final),
            "counts": counts}


def _check_rows(sheet, campaign: Campaign, *, stores: Stores = DYNAMODB) -> tuple[dict[int, list[tuple[str, str]]], rules.Dedup]:
    """Every row's problems (by row number) and the deduplicated valid records."""
    groups = _groups(campaign)
    resolver, exempt = _resolver(campaign, stores=stores), set(campaign.ministry_exempt or [])
    errors: dict[int, list[tuple[str, str]]] = {}
    valid = []
    for number, key in sheet.formula_errors:
        errors.setdefault(number, []).append((key, "Ô chứa công thức nhưng tệp không lưu giá trị đã tính; hãy "
                                                   "sao chép và dán giá trị (Paste Values)."))
    for number, values in sheet.rows:
        result = rules.validate_row(number, values, groups, resolver, exempt)
        if result.errors:
            errors.setdefault(number, []).extend(result.errors)
        elif number not in errors:
            assert result.record is not None  # validate_row gives a record whenever it finds no error
            valid.append({"ministry_unit": None, **result.record})
    dedup = rules.deduplicate(valid, groups)
    for number, key, message in dedup.errors:
        errors.setdefault(number, []).append((key, message))
    return errors, dedup


def _import_report(sheet, mode: str, dedup: rules.Dedup) -> dict:
    """What the import says about the file whatever its outcome: rows, header, encodings converted, warnings."""
    from chalicelib.formats import roster_xlsx

    warnings = [{"row": n, "column": roster_xlsx.HEADERS.get(k, k), "message": m} for n, k, m in dedup.warnings]
    warnings += [{"row": n, "column": None, "message": "Dòng tiêu đề mục (ô gộp nhiều cột): bỏ qua."}
                 for n in sheet.headings]
    report = {"mode": mode, "rows": len(sheet.rows), "header_row": sheet.header_row,
              "encodings": [{"encoding": roster_xlsx.ENCODING_NAMES.get(e, e), "cells": n,
                             "message": f"Đã chuyển {n} ô từ bảng mã {roster_xlsx.ENCODING_NAMES.get(e, e)} sang "
                                        "Unicode."} for e, n in sorted(sheet.conversions.items())],
              "warnings": warnings}
    return report


def _reject(actor: Actor, campaign: Campaign, cid: str, unit: str, sheet, errors: dict[int, list[tuple[str, str]]],
            report: dict, now: datetime, random_bytes: Callable[[int], bytes], *, stores: Stores = DYNAMODB) -> NoReturn:
    """Refuse the whole file: its rows with their errors marked in a workbook to download, and the audit entry."""
    from chalicelib.formats import roster_xlsx

    error_list = [{"row": n, "column": roster_xlsx.HEADERS.get(k, k), "field": k, "message": m}
                  for n in sorted(errors) for k, m in errors[n]]
    url = stores.files.put_export(f"roster-errors/{cid}/{unit}/{utc_iso(now)}-{random_bytes(6).hex()}.xlsx",
                           roster_xlsx.error_workbook(sheet.rows, errors, campaign.groups,
                                                      sheet.header_row, _resolver(campaign, stores=stores).ministries),
                           roster_xlsx.XLSX, f"danh-sach-loi-{unit}.xlsx")
    audit.record(actor, "roster_import_rejected", now, target=unit, cid=cid, unit=unit,
                 details={"rows": len(sheet.rows), "rejected": len(errors)}, suffix=random_bytes(4).hex(),
                 stores=stores)
    obs.info("roster import rejected", rows=len(sheet.rows), rejected=len(errors))
    raise ValidationError(
        f"Có {len(errors)} dòng lỗi trong {len(sheet.rows)} dòng; chưa lưu dòng nào. Tải tệp đánh dấu lỗi, "
        "sửa rồi tải lên lại.", details=error_list,
        extra={**report, "accepted": 0, "rejected": len(errors), "errors": error_list, "error_workbook_url": url})


def _merged(existing: list[Respondent], kept: list[dict], mode: str, seq: int,
            random_bytes: Callable[[int], bytes]) -> tuple[dict[str, tuple[str, dict]], int, dict[str, int]]:
    """The new roster by e-mail address ((rid, record) each), the last row order handed out, and how many rows
    were added, updated, left unchanged and removed."""
    by_email = {item.email: item for item in existing}
    final: dict[str, tuple[str, dict]] = {}
    if mode == "merge":
        final = {item.email: (item.rid, _record(item)) for item in existing}
    added = updated = unchanged = 0
    for record in kept:
        record = {k: v for k, v in record.items() if k != "row"}
        old = by_email.get(record["email"])
        if old is None:
            seq += 1
            final[record["email"]] = (_new_rid(seq, random_bytes), record)
            added += 1
        else:  # the same person keeps their id, so a repeated import changes nothing
            updated, unchanged = (updated + 1, unchanged) if _record(old) != record else (updated, unchanged + 1)
            final[record["email"]] = (old.rid, record)
    removed = sum(1 for email in by_email if email not in final)
    return final, seq, {"added": added, "updated": updated, "unchanged": unchanged, "removed": removed}

def overview(unit_item: Unit, campaign: Campaign) -> dict:
    counts = {k: int(v) for k, v in unit_item.roster_counts.items() if int(v)}
    return {"status": unit_item.roster_status or "draft", "total": sum(counts.values()),
            "counts": [{"group": g["code"], "name": g["name"], "count": counts.get(g["code"], 0)}
                       for g in campaign.groups],
            "submitted_at": utc_iso(unit_item.roster_submitted_at) if unit_item.roster_submitted_at else None,
            "submitted_at_label": local_datetime(unit_item.roster_submitted_at)
            if unit_item.roster_submitted_at else None,
            "submitted_by": unit_item.roster_submitted_by,
            "updated_at_label": local_datetime(unit_item.roster_updated_at) if unit_item.roster_updated_at else None,
            "version": int(unit_item.roster_version or 0)}


def listing(actor: Actor, cid: str, unit: str, *, group: str | None, search: str | None, limit: int,
            cursor: str | None, stores: Stores = DYNAMODB) -> dict:
    require_unit(actor, unit)
    campaign = stores.campaigns.get_campaign(cid)
    unit_item = stores.campaigns.get_unit(cid, unit)
    names = {g["code"]: g["name"] for g in campaign.groups}
    items, next_cursor = stores.roster.page(cid, unit, unit_item.roster_gen, group=group or None,
                                            search=fold(search) if search else None,
                                            limit=max(1, min(limit, 500)), start=cursor)
    return {**overview(unit_item, campaign), "items": [row_view(i, names) for i in items],
            "next_cursor": next_cursor}


def _validated(campaign: Campaign, body: dict, *, stores: Stores = DYNAMODB) -> dict:
    values = {k: body.get(k) for k in GROUP_FIELDS}
    for key, value in values.items():
        if value is not None and not isinstance(value, (str, int, float)):
            raise ValidationError("Dữ liệu không hợp lệ.", details=[{"field": key, "message": "Phải là chuỗi."}])
    result = rules.validate_row(0, values, _groups(campaign), _resolver(campaign, stores=stores),
                                set(campaign.ministry_exempt or []))
    if result.errors:
        details = [{"field": k, "message": m} for k, m in result.errors]
        raise ValidationError(details[0]["message"] if len(details) == 1 else "Thông tin chưa hợp lệ.",
                              details=details)
    assert result.record is not None  # validate_row gives a record whenever it finds no error
    return {"ministry_unit": None, **{k: v for k, v in result.record.items() if k != "row"}}


def _find(cid: str, unit: str, gen: str | None, rid: str, *, stores: Stores = DYNAMODB) -> Respondent:
    found = stores.roster.get_row(cid, unit, gen, rid)
    if found is not None:
        return found
    raise NotFoundError(NO_ROW)


def _email_taken(cid: str, unit: str, gen: str | None, email: str, except_rid: str | None, *,
                 stores: Stores = DYNAMODB) -> None:
    for item in stores.roster.rows(cid, unit, gen):
        if item.email == email and item.rid != except_rid:
            raise ValidationError(f"Email “{email}” đã có trong danh sách ({item.full_name}).",
                                  details=[{"field": "email", "message": "Email đã có trong danh sách."}])


def add_row(actor: Actor, cid: str, unit: str, body: dict, now: datetime,
            random_bytes: Callable[[int], bytes], *, stores: Stores = DYNAMODB) -> dict:
    campaign, unit_item = _open_draft(actor, cid, unit, now, stores=stores)
    record = _validated(campaign, body, stores=stores)
    gen = unit_item.roster_gen or f"g{now.strftime('%Y%m%d%H%M%S')}{random_bytes(3).hex()}"
    _email_taken(cid, unit, unit_item.roster_gen, record["email"], None, stores=stores)
    seq = int(unit_item.roster_seq or 0) + 1
    item = _item(cid, unit, gen, _new_rid(seq, random_bytes), record, now)
    if not unit_item.roster_gen:
        stores.roster.begin_generation(cid, unit, gen)
        stores.roster.write_generation([item])
        stores.roster.swap_generation(cid, unit, gen, int(unit_item.roster_version or 0), {record["group"]: 1}, seq,
                                      now)
    else:
        stores.roster.change_row(cid, unit, int(unit_item.roster_version or 0), put=item,
                                 count_delta={record["group"]: 1}, seq=seq, now=now)
    audit.record(actor, "roster_row_added", now, target=item.rid, cid=cid, unit=unit, suffix=random_bytes(4).hex(),
                 stores=stores)
    return row_view(item, {g["code"]: g["name"] for g in campaign.groups})


def update_row(actor: Actor, cid: str, unit: str, rid: str, body: dict, now: datetime,
               random_bytes: Callable[[int], bytes], *, stores: Stores = DYNAMODB) -> dict:
    campaign, unit_item = _open_draft(actor, cid, unit, now, stores=stores)
    gen = unit_item.roster_gen
    old = _find(cid, unit, gen, rid, stores=stores)
    assert gen is not None  # _find found the row in this generation; a unit without one has no rows
    current = _record(old)
    if old.ministry_source != "override":
        current["ministry"] = None  # derived from the agency: derive it again from the edited agency
    record = _validated(campaign, {**current, **body}, stores=stores)
    if record["email"] != old.email:
        _email_taken(cid, unit, gen, record["email"], rid, stores=stores)
    item = _item(cid, unit, gen, rid, record, now)
    delta = {old.group: -1}
    delta[record["group"]] = delta.get(record["group"], 0) + 1
    stores.roster.change_row(cid, unit, int(unit_item.roster_version), put=item, delete=old, count_delta=delta,
                             seq=None, now=now)
    audit.record(actor, "roster_row_updated", now, target=rid, cid=cid, unit=unit,
                 details={"fields": sorted(k for k in record if record[k] != _record(old).get(k))},
                 suffix=random_bytes(4).hex(), stores=stores)
    return row_view(item, {g["code"]: g["name"] for g in campaign.groups})


def delete_row(actor: Actor, cid: str, unit: str, rid: str, now: datetime, random_bytes: Callable[[int], bytes], *,
               stores: Stores = DYNAMODB) -> dict:
    _, unit_item = _open_draft(actor, cid, unit, now, stores=stores)
    old = _find(cid, unit, unit_item.roster_gen, rid, stores=stores)
    stores.roster.change_row(cid, unit, int(unit_item.roster_version), delete=old, count_delta={old.group: -1},
                             seq=None, now=now)
    audit.record(actor, "roster_row_deleted", now, target=rid, cid=cid, unit=unit,
                 details={"email_hash": hashlib.sha256(old.email.encode()).hexdigest()[:12]},
                 suffix=random_bytes(4).hex(), stores=stores)
    return {"ok": True}


def submit(actor: Actor, cid: str, unit: str, now: datetime, random_bytes: Callable[[int], bytes], *,
           stores: Stores = DYNAMODB) -> dict:
    """"Gửi danh sách": freezes the roster; only the ministry can reopen it."""
    campaign, unit_item = _open_draft(actor, cid, unit, now, stores=stores)
    if not sum(int(v) for v in unit_item.roster_counts.values()):
        raise ValidationError("Danh sách chưa có người nào; hãy nhập danh sách trước khi gửi.")
    version = int(unit_item.roster_version or 0)
    # the roster exactly as sent: what the ministry received, and what dispatch reads in one request
    snapshot = f"rosters/{cid}/{unit}/v{version + 1}-{random_bytes(4).hex()}.json.gz"
    rows = stores.roster.rows(cid, unit, unit_item.roster_gen)
    stores.files.put_snapshot(snapshot, [{"rid": r.rid, **_record(r)} for r in rows])
    stores.roster.set_status(cid, unit, version, "submitted", actor.username, now, snapshot=snapshot)
    suffix = random_bytes(4).hex()
    audit.record(actor, "roster_submitted", now, target=unit, cid=cid, unit=unit,
                 details={"counts": unit_item.roster_counts}, suffix=suffix, stores=stores)
    audit.notify(cid, [unit, "moha"], now, "roster_submitted", f"Đã gửi danh sách: {unit_item.name}",
                 f"{unit_item.full_name} đã gửi danh sách đối tượng điều tra XHH về Bộ Nội vụ lúc "
                 f"{local_datetime(now)}.", suffix, stores=stores)
    return overview(stores.campaigns.get_unit(cid, unit), campaign)


def reopen(actor: Actor, cid: str, unit: str, reason: str, now: datetime,
           random_bytes: Callable[[int], bytes], *, stores: Stores = DYNAMODB) -> dict:
    require_moha(actor)
    reason = clean(reason)
    if not reason:
        raise ValidationError("Vui lòng nêu lý do mở lại danh sách.", details=[{"field": "reason"}])
    campaign = stores.campaigns.get_campaign(cid)
    unit_item = stores.campaigns.get_unit(cid, unit)
    if unit_item.roster_status != "submitted":
        raise ConflictError("Danh sách của đơn vị này chưa được gửi.")
    stores.roster.set_status(cid, unit, int(unit_item.roster_version or 0), "draft", None, now)
    suffix = random_bytes(4).hex()
    audit.record(actor, "roster_reopened", now, target=unit, cid=cid, unit=unit, details={"reason": reason},
                 suffix=suffix, stores=stores)
    audit.notify(cid, [unit], now, "roster_reopened", "Bộ Nội vụ mở lại danh sách",
                 f"Bộ Nội vụ đã mở lại danh sách đối tượng điều tra XHH để đơn vị chỉnh sửa. Lý do: {reason}", suffix,
                 stores=stores)
    return overview(stores.campaigns.get_unit(cid, unit), campaign)
