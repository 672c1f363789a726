"""What became of the mails, and what the platform does about it: the province's mail desk, preflights, the
reputation guard (a unit's pause, the national breaker), transient retries, and the focal person's notices.

The rules are chalicelib/domain/delivery.py; the SES events arrive through services/mailing.handle_mail_event."""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from chalicelib.config import settings
from chalicelib.domain import delivery as rules
from chalicelib.domain.campaign import PROVINCE
from chalicelib.domain.access import SYSTEM, Actor, require_moha, require_unit
from chalicelib.domain.text import email_problem, normalise_email
from chalicelib.domain.timefmt import local_datetime, utc_iso
from chalicelib.errors import ConflictError, ValidationError
from chalicelib.services import audit
from chalicelib.store.campaigns import Campaign
from chalicelib.store.delivery import Preflight, PreflightResult, Stop
from chalicelib.store.stores import DYNAMODB, Stores

PREFLIGHT_PER_DOMAIN = 3
PREFLIGHT_MAX_DOMAINS = 20
DESK_PATH = "/tinh/dau-moi.html"

OUTCOME_NAMES = {"queued": "Đang chờ gửi", **rules.KIND_NAMES}
FAILED_KINDS = (rules.BOUNCE_PERMANENT, rules.BOUNCE_UNDETERMINED, rules.BOUNCE_TRANSIENT, rules.COMPLAINT,
                rules.REJECT, rules.RENDERING_FAILURE)


def policy_for(campaign: Campaign | None) -> rules.Policy:
    policy = settings().mail_policy
    return policy.with_campaign(campaign.mail_guard) if campaign is not None else policy


def allowed() -> rules.Allowlist:
    cfg = settings()
    return rules.allowlist(cfg.mail_from, cfg.mail_from_domain, cfg.mail_dkim_selectors, cfg.region)


def since(counts: dict[str, int], baseline: dict | None) -> rules.Counts:
    """Counters minus those at the last resumption."""
    base = baseline or {}
    return rules.Counts.of({k: v - int(base.get(k) or 0) for k, v in counts.items()})


# --- notices to the focal person ----------------------------------------------------------------------------------

def notify_focal(cid: str, unit: str, now: datetime, kind: str, title: str, message: str, key: str, *,
                 stores: Stores = DYNAMODB) -> bool:
    """On the province's page, and by e-mail to its focal person when they gave an address. True when mailed."""
    audit.notify(cid, [unit], now, kind, title, message, key, stores=stores)
    record = stores.campaigns.get_unit(cid, unit)
    email = (record.focal_person or {}).get("email")
    if not email:
        return False
    campaign = stores.campaigns.get_campaign(cid)
    _queue_notice(cid, unit, email, (record.focal_person or {}).get("full_name") or "", title, message.split("\n"),
                  "notice", campaign.year, now, stores=stores)
    return True


def _queue_notice(cid: str, unit: str, to: str, name: str, title: str, paragraphs: list[str], kind: str,
                  year: int, now: datetime, preflight: str | None = None, *, stores: Stores = DYNAMODB) -> None:
    from chalicelib.formats import mail

    greeting = f"Ông/Bà {name}" if name else "Ông/Bà"
    subject, html, text = mail.notice(title, [p for p in paragraphs if p.strip()], greeting,
                                      settings().site_url + DESK_PATH, year)
    item = {"unit_key": f"{cid}#{unit}", "to": to, "subject": subject, "html": html, "text": text}
    if preflight:
        item["preflight"] = preflight
    stores.queues.send_mail_batches([{"kind": kind, "cid": cid, "queued_at": utc_iso(now), "mails": [item]}])


# --- after each event: the domain's notice, the unit's pause, the breaker ----------------------------------------

def after_event(campaign: Campaign, unit: str, outcome: rules.Outcome, deltas: dict[str, int], now: datetime,
                suffix: str, *, stores: Stores = DYNAMODB) -> list[str]:
    """What an applied event may set off. Returns what happened ("domain_bouncing", "unit_paused",
    "breaker_tripped")."""
    if not deltas:
        return []
    happened = []
    cid, unit_key = campaign.cid, f"{campaign.cid}#{unit}"
    policy = policy_for(campaign)
    if outcome.domain:
        after = stores.delivery.domain_counters(unit_key, outcome.domain)
        counts = rules.Counts.of(after.counts)
        before = rules.Counts.of({k: v - deltas.get(k, 0) for k, v in after.counts.items()})
        if rules.domain_started_bouncing(before, counts, policy) and \
                stores.delivery.mark_domain_notified(unit_key, outcome.domain, now):
            title, body = rules.domain_notice(outcome.domain, counts, outcome, allowed())
            notify_focal(cid, unit, now, "mail_domain", title, body, f"domain-{outcome.domain}", stores=stores)
            audit.record(SYSTEM, "mail_domain_bouncing", now, target=outcome.domain, cid=cid, unit=unit,
                         details={"diagnostic": outcome.diagnostic[:200], **after.counts}, suffix=suffix,
                         stores=stores)
            happened.append("domain_bouncing")
    unit_record, state = stores.delivery.unit_state(unit_key)
    if not state.active:
        stop = rules.unit_pause(since(unit_record.counts, state.baseline), policy)
        if stop and stores.delivery.pause_unit(unit_key, stop.reason, stop.figures, now):
            audit.record(SYSTEM, "mail_unit_paused", now, target=unit, cid=cid, unit=unit,
                         details={"reason": stop.reason, **stop.figures}, suffix=suffix, stores=stores)
            notify_focal(cid, unit, now, "mail_paused", "Tạm dừng gửi thư khảo sát của đơn vị", stop.reason,
                         f"paused-{utc_iso(now)}", stores=stores)
            happened.append("unit_paused")
    if check_breaker(now, statistics=None, suffix=suffix, stores=stores):
        happened.append("breaker_tripped")
    return happened


def check_breaker(now: datetime, statistics: rules.SendStatistics | None, suffix: str, *,
                  stores: Stores = DYNAMODB) -> bool:
    """Trip the national breaker when the account's rates approach SES's review levels. True when tripped now."""
    state = stores.delivery.breaker()
    if state.active:
        return False
    events = since(stores.delivery.account_counters().counts, (state.baseline or {}).get("events"))
    stop = rules.breaker(statistics or rules.SendStatistics(), events, settings().mail_policy)
    if stop is None or not stores.delivery.trip_breaker(stop.reason, stop.figures, now):
        return False
    audit.record(SYSTEM, "mail_breaker_tripped", now, target="account", details={"reason": stop.reason,
                                                                                 **stop.figures}, suffix=suffix,
                 stores=stores)
    return True


# --- the schedule: retries and the breaker ----------------------------------------------------------------------

def scheduled(now: datetime, random_bytes: Callable[[int], bytes], *, stores: Stores = DYNAMODB) -> dict:
    """Every few minutes: judge the account's rates with SES's own statistics (since the breaker's last
    resumption) as well as the event counters."""
    state = stores.delivery.breaker()
    statistics = rules.SendStatistics.of(stores.mailer.send_statistics(), since=state.resumed_at)
    return {"breaker_tripped": check_breaker(now, statistics, random_bytes(4).hex(), stores=stores)}


# --- the ministry's view and hand -------------------------------------------------------------------------------

def _stop_view(stop: Stop) -> dict:
    return {"active": stop.active, "reason": stop.reason, "figures": stop.figures,
            "stopped_at": utc_iso(stop.stopped_at) if stop.stopped_at else None,
            "stopped_at_label": local_datetime(stop.stopped_at) if stop.stopped_at else None,
            "resumed_at": utc_iso(stop.resumed_at) if stop.resumed_at else None,
            "resumed_at_label": local_datetime(stop.resumed_at) if stop.resumed_at else None,
            "resumed_by": stop.resumed_by}


def guard(actor: Actor, cid: str, *, stores: Stores = DYNAMODB) -> dict:
    """Ministry: the national breaker and every paused unit of the campaign, with why; the mail domains whose
    last preflight failed."""
    require_moha(actor)
    units = stores.campaigns.list_units(cid, PROVINCE)
    stops = stores.delivery.unit_stops([f"{cid}#{u.unit}" for u in units])
    names = {u.unit: u.name for u in units}
    paused = [{"unit": key.split("#", 1)[1], "name": names.get(key.split("#", 1)[1], ""), **_stop_view(stop)}
              for key, stop in sorted(stops.items()) if stop.active]
    totals = rules.Counts.of(stores.delivery.account_counters().counts)
    return {"breaker": _stop_view(stores.delivery.breaker()), "paused": paused,
            "preflight_failures": failed_preflights(cid, [u.unit for u in units], stores=stores),
            "account": {**{k: getattr(totals, k) for k in rules.COUNTERS},
                        "bounce_rate": round(totals.bounce_rate, 6), "complaint_rate": round(totals.complaint_rate, 6)}}


def resume_unit(actor: Actor, cid: str, unit: str, reason: str, now: datetime, suffix: str, *,
                stores: Stores = DYNAMODB) -> dict:
    """Ministry: the unit sends again; the pause judges only what comes after."""
    require_moha(actor)
    stores.campaigns.get_unit(cid, unit)
    unit_key = f"{cid}#{unit}"
    baseline = stores.delivery.unit_counters(unit_key).counts
    if not stores.delivery.resume_unit(unit_key, actor.username, baseline, now):
        raise ConflictError("Đơn vị này không bị tạm dừng gửi thư.")
    audit.record(actor, "mail_unit_resumed", now, target=unit, cid=cid, unit=unit,
                 details={"reason": reason[:500], **baseline}, suffix=suffix, stores=stores)
    audit.notify(cid, [unit], now, "mail_resumed", "Bộ Nội vụ cho gửi tiếp thư khảo sát",
                 "Bộ Nội vụ đã cho gửi tiếp thư khảo sát của đơn vị" + (f": {reason}" if reason else "."),
                 f"resumed-{utc_iso(now)}", stores=stores)
    return _stop_view(stores.delivery.unit_stop(unit_key))


def reset_breaker(actor: Actor, reason: str, now: datetime, suffix: str, *, stores: Stores = DYNAMODB) -> dict:
    """Ministry: all sending resumes; the breaker judges only what comes after."""
    require_moha(actor)
    baseline = {"events": stores.delivery.account_counters().counts}
    if not stores.delivery.reset_breaker(actor.username, baseline, now):
        raise ConflictError("Việc gửi thư không bị dừng.")
    audit.record(actor, "mail_breaker_reset", now, target="account", details={"reason": reason[:500]},
                 suffix=suffix, stores=stores)
    return _stop_view(stores.delivery.breaker())


# --- the province's desk -----------------------------------------------------------------------------------------

def desk(actor: Actor, cid: str, unit: str, *, stores: Stores = DYNAMODB) -> dict:
    """The province's mail desk: its respondents' mail domains with counts, per domain the last outcome and
    diagnostic, the last preflight, the unit's pause, and what its mail administrators must allow."""
    require_unit(actor, unit)
    campaign = stores.campaigns.get_campaign(cid)
    record = stores.campaigns.get_unit(cid, unit)
    unit_key = f"{cid}#{unit}"
    respondents: dict[str, int] = {}
    for row in stores.roster.rows(cid, unit, record.roster_gen) if record.roster_gen else []:
        domain = rules.mail_domain(row.email)
        if domain:
            respondents[domain] = respondents.get(domain, 0) + 1
    focal_email = (record.focal_person or {}).get("email")
    counters = {c.key.split("#", 1)[1]: c for c in stores.delivery.unit_domains(unit_key)}
    preflight, results = stores.delivery.last_preflight(unit_key)
    by_domain: dict[str, list[PreflightResult]] = {}
    for result in results:
        by_domain.setdefault(result.domain, []).append(result)
    policy = policy_for(campaign)
    domains = []
    for domain in sorted(set(respondents) | set(counters) | set(by_domain),
                         key=lambda d: (-respondents.get(d, 0), d)):
        c = counters.get(domain)
        counts = rules.Counts.of(c.counts if c else {})
        tested = by_domain.get(domain, [])
        domains.append({
            "domain": domain, "respondents": respondents.get(domain, 0),
            **{k: getattr(counts, k) for k in rules.COUNTERS},
            "bounce_rate": round(counts.bounce_rate, 6), "bouncing": rules.domain_bouncing(counts, policy),
            "last_outcome": c.last_kind if c else None,
            "last_outcome_name": OUTCOME_NAMES.get(c.last_kind, c.last_kind) if c and c.last_kind else None,
            "last_diagnostic": (c.last_diagnostic or None) if c else None,
            "last_reason": rules.explain(c.last_status or "", "") or None if c else None,
            "last_at_label": local_datetime(c.last_at) if c and c.last_at else None,
            "preflight": _preflight_status(tested),
        })
    return {"campaign": cid, "unit": unit, "focal_email": focal_email, "domains": domains,
            "allowlist": [{"label": label, "value": value} for label, value in allowed().lines()],
            "preflight": _preflight_view(preflight, results), "pause": _stop_view(stores.delivery.unit_stop(unit_key)),
            "breaker": {"active": stores.delivery.breaker().active}}


def _result_view(result: PreflightResult) -> dict:
    return {"address": result.address, "domain": result.domain, "outcome": result.outcome,
            "outcome_name": OUTCOME_NAMES.get(result.outcome, result.outcome),
            "failed": result.outcome in FAILED_KINDS, "diagnostic": result.diagnostic or None,
            "at_label": local_datetime(result.at) if result.at else None}


def _preflight_status(results: list[PreflightResult]) -> dict | None:
    if not results:
        return None
    failed = [r for r in results if r.outcome in FAILED_KINDS]
    waiting = [r for r in results if r.outcome in ("queued", rules.SEND, rules.DELAY)]
    status = "failed" if failed else "waiting" if waiting else "delivered"
    names = {"failed": "Không tới được", "waiting": "Đang chờ kết quả", "delivered": "Đã tới hộp thư"}
    return {"status": status, "status_name": names[status],
            "diagnostic": next((r.diagnostic for r in failed if r.diagnostic), None),
            "results": [_result_view(r) for r in results]}


def _preflight_view(preflight: Preflight | None, results: list[PreflightResult]) -> dict | None:
    if preflight is None:
        return None
    return {"id": preflight.pid, "at": utc_iso(preflight.at), "at_label": local_datetime(preflight.at),
            "by": preflight.by, "domains": preflight.domains, "results": [_result_view(r) for r in results]}


def start_preflight(actor: Actor, cid: str, unit: str, body: dict, now: datetime,
                    random_bytes: Callable[[int], bytes], *, stores: Stores = DYNAMODB) -> dict:
    """The ministry, or the province for itself: a test message through the invitations' path to the focal
    person and up to three respondents' addresses of each chosen mail domain."""
    require_unit(actor, unit)
    campaign = stores.campaigns.get_campaign(cid)
    record = stores.campaigns.get_unit(cid, unit)
    chosen = body.get("domains") or []
    if not isinstance(chosen, list) or not all(isinstance(d, str) for d in chosen):
        raise ValidationError("Danh sách tên miền không hợp lệ.", details=[{"field": "domains"}])
    chosen = sorted({d.strip().lower().rstrip(".") for d in chosen if d.strip()})
    if len(chosen) > PREFLIGHT_MAX_DOMAINS:
        raise ValidationError(f"Chọn tối đa {PREFLIGHT_MAX_DOMAINS} tên miền mỗi lần kiểm tra.",
                              details=[{"field": "domains"}])
    rows = stores.roster.rows(cid, unit, record.roster_gen) if record.roster_gen else []
    by_domain: dict[str, list[str]] = {}
    for row in rows:
        address = normalise_email(row.email or "")
        domain = rules.mail_domain(address)
        if domain in chosen and address not in by_domain.setdefault(domain, []) and not email_problem(address):
            by_domain[domain].append(address)
    unknown = [d for d in chosen if not by_domain.get(d)]
    if unknown:
        raise ValidationError(f"Danh sách đối tượng của đơn vị không có địa chỉ thư thuộc tên miền: "
                              f"{', '.join(unknown)}.", details=[{"field": "domains", "domains": unknown}])
    addresses = []
    focal = (record.focal_person or {}).get("email")
    if focal:
        addresses.append(focal)
    for domain in chosen:
        addresses += [a for a in by_domain[domain][:PREFLIGHT_PER_DOMAIN] if a not in addresses]
    if not addresses:
        raise ValidationError("Chưa có địa chỉ nào để gửi thư kiểm tra: hãy khai báo thư điện tử của cán bộ đầu "
                              "mối hoặc chọn tên miền.", details=[{"field": "domains"}])
    pid = f"{utc_iso(now)}-{random_bytes(3).hex()}"
    unit_key = f"{cid}#{unit}"
    stores.delivery.start_preflight(unit_key, Preflight(pid=pid, at=now, by=actor.username, domains=chosen,
                                                        addresses=addresses), now)
    title = "Thư kiểm tra đường gửi thư khảo sát"
    paragraphs = [f"Đây là thư kiểm tra của Bộ Nội vụ gửi tới {record.full_name} trước khi phát hành phiếu khảo "
                  f"sát {campaign.name}; thư đi theo đúng đường gửi thư mời khảo sát.",
                  "Ông/Bà không cần trả lời hay làm gì thêm. Nếu thư này nằm trong thư mục thư rác, xin báo cán bộ "
                  "đầu mối công nghệ thông tin của địa phương.",
                  "Địa chỉ gửi thư của Bộ Nội vụ: " + allowed().from_address + "."]
    for address in addresses:
        _queue_notice(cid, unit, address, "", title, paragraphs, "preflight", campaign.year, now, preflight=pid,
                      stores=stores)
    audit.record(actor, "mail_preflight_started", now, target=pid, cid=cid, unit=unit,
                 details={"domains": chosen, "addresses": len(addresses)}, suffix=random_bytes(4).hex(),
                 stores=stores)
    return desk(actor, cid, unit, stores=stores)


def failed_preflights(cid: str, units: list[str], *, stores: Stores = DYNAMODB) -> list[dict]:
    """The units' mail domains whose last preflight failed (dispatch warns about them)."""
    out = []
    results = stores.delivery.preflights_of([f"{cid}#{u}" for u in units])
    for unit_key, items in sorted(results.items()):
        by_domain: dict[str, list[PreflightResult]] = {}
        for r in items:
            by_domain.setdefault(r.domain, []).append(r)
        for domain, tested in sorted(by_domain.items()):
            status = _preflight_status(tested)
            if status and status["status"] == "failed":
                out.append({"unit": unit_key.split("#", 1)[1], "domain": domain,
                            "diagnostic": status["diagnostic"]})
    return out
