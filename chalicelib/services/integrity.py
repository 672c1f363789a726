"""Integrity: scanning units for interference, the ministry's review, and annulling a unit's survey results.

Scans are incremental (a unit whose counters have not moved since its last scan is skipped) and their results
are stored, so the ministry's page is one Query. Annulled results stay stored for audit but leave every
aggregate; annulment is reversible; both directions need a reason, are audited and notified to the province."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Callable

from chalicelib.domain import integrity as rules
from chalicelib.domain import par_index
from chalicelib.domain.campaign import PROVINCE
from chalicelib.domain.access import Actor, require_moha
from chalicelib.domain.text import clean
from chalicelib.domain.timefmt import local_datetime, utc_iso
from chalicelib.errors import ConflictError, ValidationError
from chalicelib.services import address_changes, audit, phases
from chalicelib.store.integrity import IntegrityScan
from chalicelib.store.stores import DYNAMODB, Stores


def _question_counts(cid: str, qids: set[str], cache: dict[str, int], *, stores: Stores = DYNAMODB) -> dict[str, int]:
    from chalicelib.services import questionnaires

    for qid in qids - set(cache):
        _, definition = questionnaires.content(cid, qid, stores=stores)
        cache[qid] = sum(len(s["questions"]) for s in definition["sections"])
    return {qid: cache[qid] for qid in qids}


def _activity(totals: Any, changes: list) -> str:
    """What a scan depends on: a unit is scanned again only when one of these moved."""
    decided = sum(1 for c in changes if c.state != "pending")
    return f"{totals.opened if totals else 0}:{totals.submitted if totals else 0}:{len(changes)}:{decided}"


def scan_units(cid: str, units: list[str], now: datetime, *, force: bool = False,
               stores: Stores = DYNAMODB) -> list[IntegrityScan]:
    """Scan the units whose counters moved since their last scan (every one with `force`).

    Reads: the units' counters (one batch), the campaign's last scans (one Query, which also holds each unit's
    answer counts: the national reference is their sum, so no unit's responses are read twice or for nothing), the
    address change requests (one Query), then for each unit to scan its links and responses (one Query each) and
    the province account's addresses. A unit without a single link is recorded as scanned without reading anything
    else."""
    totals = {s.unit_key.split("#", 1)[1]: s for s in stores.links.totals_of([f"{cid}#{u}" for u in units])}
    previous = {item.unit: item for item in stores.integrity.by_campaign(cid)}
    requests = address_changes.integrity_facts(cid, units[0] if len(units) == 1 else None, stores=stores)
    idle: list[IntegrityScan] = []
    todo: list[tuple[str, str, list, list]] = []
    tallies: dict[str, dict] = {}
    for unit in units:
        # address changes exist only after links were mailed, so a unit without counters has none
        changes = requests.get(unit, []) if unit in totals else []
        activity = _activity(totals.get(unit), changes)
        before = previous.get(unit)
        if before is not None and before.activity == activity and not force:
            continue
        if unit not in totals:
            idle.append(IntegrityScan(cid=cid, unit=unit, score=0, flags=[], submitted=0, responses=0,
                                      activity=activity, scanned_at=now, score_counts=par_index.unit_tally([])))
            continue
        stored = stores.integrity.responses(f"{cid}#{unit}")
        # the results' tally of the same responses, kept with the scan: the results then read none of them again
        tallies[unit] = par_index.unit_tally({"group": r.group, "qid": r.qid, "purpose": r.purpose,
                                              "ministry": r.ministry, "scores": r.scores or {}} for r in stored)
        responses = [rules.ResponseFacts(r.response_id, r.qid, r.answers, r.submitted_at) for r in stored]
        todo.append((unit, activity, responses, changes))
    fresh = {unit: rules.answer_distribution(responses) for unit, _, responses, _ in todo}
    national = rules.merge_distributions([item.answer_counts for unit, item in previous.items()
                                          if unit not in fresh] + list(fresh.values()))
    cache: dict[str, int] = {}
    done: list[IntegrityScan] = []
    for unit, activity, responses, changes in todo:
        unit_key = f"{cid}#{unit}"
        links = [rules.LinkFacts(link.slot, link.rid, link.qid, link.open_ip, link.open_ua, link.submit_ip,
                                 link.submit_ua, link.submitted_at, int(link.seconds_spent) if link.seconds_spent
                                 is not None else None, agency=link.agency or "", seen=frozenset(link.seen or ()),
                                 mailed_at=link.last_mail_at)
                 for link in stores.links.unit_links(unit_key)]
        province_ips = stores.integrity.login_addresses(unit, now - timedelta(days=365), now) if links else set()
        result = rules.evaluate(links, responses, province_ips,
                                _question_counts(cid, {f.qid for f in links}, cache, stores=stores), national=national)
        result = rules.with_address_changes(result, changes)
        item = IntegrityScan(cid=cid, unit=unit, score=result["score"], flags=result["flags"],
                             submitted=result["submitted"], responses=result["responses"], activity=activity,
                             scanned_at=now, answer_counts=fresh[unit], score_counts=tallies[unit])
        stores.integrity.save(item)
        done.append(item)
    if idle:
        stores.integrity.save_many(idle)
    return done + idle


def scan_unit(cid: str, unit: str, now: datetime, *, force: bool = False,
              stores: Stores = DYNAMODB) -> IntegrityScan | None:
    """One unit (with the campaign's reference from the other units' last scans)."""
    scanned = scan_units(cid, [unit], now, force=force, stores=stores)
    return scanned[0] if scanned else None


def _provinces(cid: str, *, stores: Stores = DYNAMODB) -> list[str]:
    return [u.unit for u in stores.campaigns.list_units(cid, PROVINCE)]


def run_scan(actor: Actor, cid: str, now: datetime, random_bytes: Callable[[int], bytes], *,
             stores: Stores = DYNAMODB) -> dict:
    require_moha(actor)
    stores.campaigns.get_campaign(cid)
    scanned = len(scan_units(cid, _provinces(cid, stores=stores), now, stores=stores))
    audit.record(actor, "integrity_scanned", now, cid=cid, details={"units_scanned": scanned},
                 suffix=random_bytes(4).hex(), stores=stores)
    return {**review(actor, cid, stores=stores), "scanned": scanned}


def scheduled_scan(now: datetime, *, stores: Stores = DYNAMODB) -> int:
    """Every campaign whose survey is open (or closed less than a week ago)."""
    scanned = 0
    for campaign in stores.campaigns.list_campaigns():
        window = phases.phase_windows(campaign, None).get("survey")
        if window is None or now < window.opens_at or now > window.closes_at + timedelta(days=7):
            continue
        scanned += len(scan_units(campaign.cid, _provinces(campaign.cid, stores=stores), now, stores=stores))
    return scanned


def review(actor: Actor, cid: str, *, stores: Stores = DYNAMODB) -> dict:
    """Units by risk, with flags and evidence: for the ministry only."""
    require_moha(actor)
    stores.campaigns.get_campaign(cid)
    units = {u.unit: u for u in stores.campaigns.list_units(cid, PROVINCE)}
    items: list[dict[str, Any]] = []
    for item in stores.integrity.by_campaign(cid):
        unit = units.get(item.unit)
        items.append({"unit": item.unit, "name": unit.name if unit else item.unit, "score": item.score,
                      "flagged": rules.flagged({"score": item.score}), "flags": item.flags,
                      "submitted": item.submitted, "responses": item.responses,
                      "scanned_at": utc_iso(item.scanned_at), "scanned_at_label": local_datetime(item.scanned_at),
                      "annulled": bool(unit and unit.annulled_at),
                      "annul_reason": unit.annul_reason if unit else None})
    items.sort(key=lambda i: (-i["score"], i["unit"]))
    return {"campaign": cid, "units": items, "thresholds": rules.thresholds_dict()}


def export(actor: Actor, cid: str, now: datetime, random_bytes: Callable[[int], bytes], *,
           stores: Stores = DYNAMODB) -> dict:
    """The evidence workbook (units by risk, flags with their numbers and links): a short-lived download link."""
    from chalicelib.formats import integrity_xlsx
    from chalicelib.formats.roster_xlsx import XLSX

    data = review(actor, cid, stores=stores)
    campaign = stores.campaigns.get_campaign(cid)
    content = integrity_xlsx.workbook(data, campaign.name, local_datetime(now))
    name = f"ra-soat-can-thiep-{cid}.xlsx"
    url = stores.files.put_export(f"exports/{cid}/integrity/{utc_iso(now)}-{random_bytes(4).hex()}.xlsx", content, XLSX,
                           name, expires=900)
    return {"url": url, "filename": name, "size": len(content), "expires_in": 900}


def _reason(value: object) -> str:
    reason = clean(value if isinstance(value, str) else "")
    if not reason:
        raise ValidationError("Vui lòng nêu lý do.", details=[{"field": "reason", "message": "Vui lòng nêu lý do."}])
    if len(reason) > 1000:
        raise ValidationError("Lý do dài tối đa 1000 ký tự.", details=[{"field": "reason"}])
    return reason


def annul(actor: Actor, cid: str, unit: str, reason: object, now: datetime,
          random_bytes: Callable[[int], bytes], *, stores: Stores = DYNAMODB) -> dict:
    require_moha(actor)
    text = _reason(reason)
    unit_item = stores.campaigns.get_unit(cid, unit)
    if not stores.integrity.set_annulled(cid, unit, now, actor.username, text):
        raise ConflictError(f"Kết quả khảo sát của {unit_item.full_name} đã bị hủy trước đó.")
    suffix = random_bytes(4).hex()
    audit.record(actor, "survey_annulled", now, target=unit, cid=cid, unit=unit, details={"reason": text},
                 suffix=suffix, stores=stores)
    audit.notify(cid, [unit, "moha"], now, "survey_annulled", "Hủy kết quả khảo sát",
                 f"Bộ Nội vụ đã hủy toàn bộ kết quả khảo sát của {unit_item.full_name} do phát hiện can thiệp trái "
                 f"quy định vào việc trả lời phiếu. Lý do: {text}", suffix, stores=stores)
    return status(cid, unit, stores=stores)


def reinstate(actor: Actor, cid: str, unit: str, reason: object, now: datetime,
              random_bytes: Callable[[int], bytes], *, stores: Stores = DYNAMODB) -> dict:
    require_moha(actor)
    text = _reason(reason)
    unit_item = stores.campaigns.get_unit(cid, unit)
    if not stores.integrity.clear_annulled(cid, unit):
        raise ConflictError(f"Kết quả khảo sát của {unit_item.full_name} không bị hủy.")
    suffix = random_bytes(4).hex()
    audit.record(actor, "survey_reinstated", now, target=unit, cid=cid, unit=unit, details={"reason": text},
                 suffix=suffix, stores=stores)
    audit.notify(cid, [unit, "moha"], now, "survey_reinstated", "Khôi phục kết quả khảo sát",
                 f"Bộ Nội vụ đã khôi phục kết quả khảo sát của {unit_item.full_name}. Lý do: {text}", suffix,
                 stores=stores)
    return status(cid, unit, stores=stores)


def status(cid: str, unit: str, *, stores: Stores = DYNAMODB) -> dict:
    item = stores.campaigns.get_unit(cid, unit)
    return {"unit": unit, "annulled": bool(item.annulled_at),
            "annulled_at": utc_iso(item.annulled_at) if item.annulled_at else None,
            "annulled_by": item.annulled_by, "reason": item.annul_reason}


