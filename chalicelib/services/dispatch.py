"""Survey dispatch: issuing links, queuing their mails, reminders, and correcting bounced addresses.

The ministry starts a run; one job per unit goes through SQS so a unit is one bounded Lambda run. A unit's job
is safe to run twice: a link is keyed by respondent × questionnaire, so it is created once; a link whose mail
already left is never mailed again by dispatch; one job per unit runs at a time (a lease). Every function that
reads or writes takes `stores` and reaches storage only through it."""
from __future__ import annotations

from msgspec import Struct, field
from datetime import datetime, timedelta
from typing import Callable, Iterator

from chalicelib.config import settings
from chalicelib.domain import links as rules
from chalicelib.domain.campaign import contact_line
from chalicelib.domain.campaign import PROVINCE
from chalicelib.domain.access import SYSTEM, SYSTEM_MOHA, Actor, require_moha, require_unit
from chalicelib.domain.credentials import survey_token, token_hash
from chalicelib.domain.text import email_problem, normalise_email
from chalicelib.domain.timefmt import local_datetime, utc_instant, utc_iso
from chalicelib.errors import ConflictError, NotFoundError, ValidationError
from chalicelib.services import audit, phases
from chalicelib.store.campaigns import Campaign, Unit
from chalicelib.store.links import DispatchRun, Link, Token
from chalicelib.store.queues import pack
from chalicelib.store.roster import Respondent, from_snapshot
from chalicelib.store.roster import key as roster_key
from chalicelib.store.stores import DYNAMODB, Stores

CHUNK = 500  # respondents handled per write/queue round: bounds a job's memory
MAILS_PER_MESSAGE = 50  # rendered mails per SQS message, compressed (well under 256 KB)
WRITE_EVERY = 100  # new links, and tokens, a job holds before writing them (whole batches of 25)
IN_FLIGHT = timedelta(hours=2)  # a queued invitation younger than this is not re-issued by a new run
REMINDER_INTERVAL = timedelta(hours=24)


def start(actor: Actor, cid: str, units: list[str] | None, now: datetime,
          random_bytes: Callable[[int], bytes], *, stores: Stores = DYNAMODB) -> dict:
    """Ministry: dispatch to the chosen units, or to every unit whose roster was sent."""
    require_moha(actor)
    campaign = stores.campaigns.get_campaign(cid)
    all_units = {u.unit: u for u in stores.campaigns.list_units(cid, PROVINCE)}
    if units:
        unknown = sorted(set(units) - set(all_units))
        if unknown:
            raise ValidationError(f"Không có đơn vị: {', '.join(unknown)}.", details=[{"field": "units"}])
        chosen = [all_units[u] for u in units]
    else:
        chosen = list(all_units.values())
    ready = [u.unit for u in chosen if u.roster_status == "submitted"]
    not_ready = [u.unit for u in chosen if u.roster_status != "submitted"]
    if units and not_ready:
        raise ConflictError(f"Đơn vị chưa gửi danh sách: {', '.join(not_ready)}.",
                            details=[{"field": "units", "units": not_ready}])
    if not ready:
        raise ConflictError("Chưa có đơn vị nào gửi danh sách để phát hành phiếu khảo sát.")
    for code in ready:
        phases.require_open(cid, code, "survey", now, stores=stores)
    forms = _lock_questionnaires(campaign, now, stores=stores)
    run = f"{utc_iso(now)}#{random_bytes(3).hex()}"
    created = DispatchRun(cid=cid, run=run, started_by=actor.username, started_at=now, units=ready)
    stores.links.create_run(created)
    stores.queues.send(settings().jobs_queue, [{"type": "dispatch_unit", "cid": cid, "unit": code, "run": run,
                                                "questionnaires": forms} for code in ready])
    audit.record(actor, "dispatch_started", now, target=run, cid=cid, details={"units": ready},
                 suffix=random_bytes(4).hex(), stores=stores)
    from chalicelib.services import delivery

    # this run (the newest one may be another caller's, started meanwhile), with the mail domains whose last
    # preflight failed: a warning, not a refusal
    return {**run_view(created, campaign), "warnings": delivery.failed_preflights(cid, ready, stores=stores)}


def _lock_questionnaires(campaign: Campaign, now: datetime, *, stores: Stores = DYNAMODB) -> dict[str, list]:
    """Freeze every questionnaire the campaign's groups answer before any link for it exists; the versions
    locked are the ones the links carry. "<group>#<purpose>" -> [qid, version, title]."""
    from chalicelib.services import questionnaires

    forms = {}
    for group in campaign.groups:
        for purpose in group.get("questionnaires") or ["locality"]:
            qid, _, title = questionnaires.for_respondent(campaign.cid, group["code"], purpose, stores=stores)
            forms[f"{group['code']}#{purpose}"] = [qid, questionnaires.lock(campaign.cid, qid, now, stores=stores),
                                                   title]
    return forms


def run_view(run: DispatchRun, campaign: Campaign | None = None) -> dict:
    return {"run": run.run, "started_at": utc_iso(run.started_at), "started_at_label": local_datetime(run.started_at),
            "started_by": run.started_by, "units": run.units, "units_total": len(run.units),
            "units_done": int(run.units_done), "links_issued": int(run.links_issued),
            "mails_queued": int(run.mails_queued), "mails_sent": int(run.mails_sent),
            "mails_failed": int(run.mails_failed),
            "finished": int(run.units_done) >= len(run.units) and
            int(run.mails_sent) + int(run.mails_failed) >= int(run.mails_queued)}


def progress(actor: Actor, cid: str, *, stores: Stores = DYNAMODB) -> dict:
    require_moha(actor)
    stores.campaigns.get_campaign(cid)
    return {"runs": [run_view(r) for r in stores.links.runs(cid)]}


def _mail_context(campaign: Campaign, unit: Unit, link: Link, kind: str, token: str,
                  deadline: str, titles: dict[str, str], groups: dict[str, str]) -> dict:
    from chalicelib.formats import mail

    title = titles.get(link.qid) or rules.PURPOSE_NAMES.get(link.purpose, link.purpose)
    ctx = {"kind": kind, "full_name": link.full_name, "questionnaire": title, "campaign": campaign.name,
           "group": groups.get(link.group, link.group), "unit": unit.full_name, "deadline": deadline,
           "url": rules.survey_url(settings().site_url, token), "contact": contact_line(campaign.contact)}
    ctx["subject"] = mail.subject(kind, int(campaign.year), title)
    html, text = mail.render(ctx)
    return {"unit_key": link.unit_key, "slot": link.slot, "token": token, "to": link.email,
            "subject": ctx["subject"], "html": html, "text": text}


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _questionnaires(cid: str, *, stores: Stores) -> Callable[[str, str], tuple[str, int, str]]:
    from chalicelib.services import questionnaires

    cache: dict[tuple[str, str], tuple[str, int, str]] = {}

    def lookup(group: str, purpose: str) -> tuple[str, int, str]:
        if (group, purpose) not in cache:
            cache[(group, purpose)] = questionnaires.for_respondent(cid, group, purpose, stores=stores)
        return cache[(group, purpose)]
    return lookup


def dispatch_unit(cid: str, unit_code: str, run: str, now: datetime, random_bytes: Callable[[int], bytes],
                  forms: dict[str, list], *, stores: Stores = DYNAMODB) -> dict:
    """The job of one unit: issue the links its roster needs and queue their invitations. `forms` are the
    questionnaires the run locked ("<group>#<purpose>" -> [qid, version, title]).

    SQS may deliver the job again, after it finished or after it died at any step. The unit records each chunk
    of respondents whose links were written, counted and mailed (with the run's progress, once), and the job as a
    whole: a delivery of a finished job does nothing, a retried one starts at the chunk that was cut short. There,
    every link of this run still waiting is queued afresh (the attempt that died may not have queued it; if it did,
    that mail's token is no longer the link's and the sender drops it), and the chunk's new links are counted once."""
    if not stores.links.acquire_lease(cid, unit_code, now, now + timedelta(minutes=15)):
        raise ConflictError(f"Đơn vị {unit_code} đang được phát hành phiếu; thử lại sau.")
    try:
        campaign = stores.campaigns.get_campaign(cid)
        unit = stores.campaigns.get_unit(cid, unit_code)
        done: set[str] = set(unit.dispatch_done or ())
        if run in done:
            return {"unit": unit_code, "issued": 0, "queued": 0, "skipped": True}
        window = phases.phase_windows(campaign, unit)["survey"]
        if unit.roster_status != "submitted" or window.state(now) != "open":
            stores.links.mark_done(cid, unit_code, run, run, units_done=1)
            return {"unit": unit_code, "issued": 0, "queued": 0, "skipped": True}
        job = _UnitJob(cid=cid, unit_code=unit_code, run=run, now=now, random_bytes=random_bytes, forms=forms,
                       campaign=campaign, unit=unit, deadline=window.to_dict(now, campaign.timezone)["deadline_label"],
                       token_expiry=window.closes_at + timedelta(days=30),
                       existing=_existing(roster_key(cid, unit_code), stores=stores))
        issued = queued = 0
        for number, rows in enumerate(_chunks(_sent_roster(cid, unit_code, unit, stores=stores), CHUNK)):
            mark = f"{run}#{number}"
            if mark in done:
                continue  # done by an attempt that died later
            chunk_issued, chunk_queued = _dispatch_chunk(job, rows, mark, stores=stores)
            issued, queued = issued + chunk_issued, queued + chunk_queued
        deadline, people = job.deadline, job.people
        if queued:
            audit.notify(cid, [unit_code], now, "dispatch", "Bộ Nội vụ đã phát hành phiếu khảo sát",
                         f"Bộ Nội vụ đã phát hành {queued} phiếu khảo sát cho {len(people)} người của đơn vị; thư mời "
                         f"đang được gửi. Thời hạn trả lời: {deadline}.", random_bytes(4).hex(), stores=stores)
        audit.record(SYSTEM, "dispatch_unit_done", now, target=run, cid=cid, unit=unit_code,
                     details={"issued": issued, "queued": queued}, suffix=random_bytes(4).hex(), stores=stores)
        stores.links.mark_done(cid, unit_code, run, run, units_done=1)
        return {"unit": unit_code, "issued": issued, "queued": queued, "skipped": False}
    finally:
        stores.links.release_lease(cid, unit_code)


def _existing(unit_key: str, *, stores: Stores) -> dict[str, Link]:
    """A unit's links by slot, read only once its counters count one (a first run reads nothing)."""
    if not stores.links.has_links(unit_key):
        return {}
    return {link.slot: link for link in stores.links.unit_links(unit_key)}


class _UnitJob(Struct):
    """What every chunk of one unit's dispatch job shares."""
    cid: str
    unit_code: str
    run: str
    now: datetime
    random_bytes: Callable[[int], bytes]
    forms: dict[str, list]
    campaign: Campaign
    unit: Unit
    deadline: str
    token_expiry: datetime
    existing: dict[str, Link]  # the unit's links by slot when the job started
    people: set[str] = field(default_factory=set)  # who this attempt mails (one person may get two forms)
    unit_key: str = ""
    titles: dict[str, str] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.unit_key = roster_key(self.cid, self.unit_code)
        self.titles = {qid: title for qid, _, title in self.forms.values()}
        self.groups = {g["code"]: g["name"] for g in self.campaign.groups}


def _dispatch_chunk(job: _UnitJob, rows: list[Respondent], mark: str, *, stores: Stores) -> tuple[int, int]:
    """One chunk of respondents: their links written, counted and mailed, then the chunk marked done. Returns the
    links this run issued in the chunk and the mails queued. Links and tokens are written, and mails compressed,
    as they are made (WRITE_EVERY, MAILS_PER_MESSAGE at a time): the job never holds a chunk's items."""
    new_links: list[Link] = []
    tokens: list[Token] = []
    mails: list[dict] = []
    packed: list[str] = []  # the chunk's mails, compressed by MAILS_PER_MESSAGE
    mailed = 0
    counts: dict[str, dict[str, int]] = {}
    asked: dict[str, dict[str, int]] = {}  # ministry code -> group -> managing-ministry links issued
    for row in rows:
        for purpose in row.questionnaires:
            _issue(job, row, purpose, new_links, tokens, mails, counts, asked, stores=stores)
        new_links, tokens = _write_full(new_links, tokens, stores=stores)
        if len(mails) >= MAILS_PER_MESSAGE:
            packed.append(pack(mails[:MAILS_PER_MESSAGE]))
            mailed, mails = mailed + MAILS_PER_MESSAGE, mails[MAILS_PER_MESSAGE:]
    if mails:
        packed.append(pack(mails))
        mailed += len(mails)
    # links, then their counters (once per chunk, whichever attempt gets there), then their mails, then the
    # chunk's mark: a job that dies before its counters has queued no mail for these links, so its retry
    # (which trusts the counters to know links exist) may write them again. The ministries' counters are counted
    # from the same links, in the same transaction as the unit's, before any mail leaves: a retry counts the same
    # links again, and each counter takes the chunk's deltas once.
    stores.links.write_issued(new_links, tokens)
    stores.links.count_issued(job.cid, job.unit_code, counts, asked, once=mark)
    stores.queues.send(settings().mail_queue, [{"kind": "invite", "run": job.run, "cid": job.cid,
                                                "queued_at": utc_instant(job.now), "mails": batch} for batch in packed])
    chunk_issued = counts.get("all", {}).get("issued", 0)
    stores.links.mark_done(job.cid, job.unit_code, job.run, mark, links_issued=chunk_issued, mails_queued=mailed)
    return chunk_issued, mailed


def _write_full(new_links: list[Link], tokens: list[Token], *, stores: Stores) -> tuple[list[Link], list[Token]]:
    """Write WRITE_EVERY new links, and as many tokens, once there are that many (whole batches of 25); returns what
    is left to write (the same lists when nothing was written: this runs for every respondent)."""
    if len(new_links) < WRITE_EVERY and len(tokens) < WRITE_EVERY:
        return new_links, tokens
    links_out = new_links[:WRITE_EVERY] if len(new_links) >= WRITE_EVERY else []
    tokens_out = tokens[:WRITE_EVERY] if len(tokens) >= WRITE_EVERY else []
    stores.links.write_issued(links_out, tokens_out)
    return new_links[len(links_out):], tokens[len(tokens_out):]


def _issue(job: _UnitJob, row: Respondent, purpose: str, new_links: list[Link], tokens: list[Token],
           mails: list[dict], counts: dict[str, dict[str, int]], asked: dict[str, dict[str, int]], *,
           stores: Stores) -> None:
    """A respondent's link for one questionnaire, new or re-armed with a fresh token, and its invitation; nothing
    when it was mailed already or another run's invitation is still on its way. A link this run issued counts in
    `counts` (the unit's) and, evaluating a ministry, in `asked` (that ministry's, by group)."""
    run, now, unit_key = job.run, job.now, job.unit_key
    key = rules.slot(row.rid, purpose)
    link = job.existing.get(key)
    if link is not None and (link.state != "issued" or (
            link.queued_run != run and link.queued_at and now - link.queued_at < IN_FLIGHT)):
        return  # mailed already, or another run's invitation is still on its way
    token = survey_token(unit_key, key, job.random_bytes(32))
    digest = token_hash(token)
    qid, version, _ = job.forms[f"{row.group}#{purpose}"]
    if link is None:
        link = Link(unit_key=unit_key, slot=key, rid=row.rid, purpose=purpose, qid=qid,
                    q_version=version, group=row.group, email=row.email, full_name=row.full_name,
                    agency=row.agency, position=row.position, state="issued", token_hashes=(digest,),
                    ministry=row.ministry_unit if purpose == "ministry" else None,
                    issued_run=run, queued_run=run, issued_at=now, queued_at=now, updated_at=now)
        new_links.append(link)
    elif not stores.links.requeue_invitation(link, digest, run, now, IN_FLIGHT):
        return
    else:  # an invitation that never left (a job died): a fresh token; a mail with the old one
        stores.links.delete_tokens(list(link.token_hashes))  # (if it was queued) is dropped unsent
    if link.issued_run == run:  # this run's link, new now or written by an attempt that died
        for stat in ("all", f"{row.group}#{purpose}"):
            counts.setdefault(stat, {}).setdefault("issued", 0)
            counts[stat]["issued"] += 1
        if link.ministry:
            by_group = asked.setdefault(link.ministry, {})
            by_group[link.group] = by_group.get(link.group, 0) + 1
    tokens.append(Token(token_hash=digest, unit_key=unit_key, slot=key, kind="invite",
                        issued_at=now, expires_at=job.token_expiry))
    mails.append(_mail_context(job.campaign, job.unit, link, "invite", token, job.deadline, job.titles, job.groups))
    job.people.add(row.rid)

def _sent_roster(cid: str, unit_code: str, unit: Unit, *, stores: Stores) -> list[Respondent]:
    """The roster as the province sent it (its frozen copy; the live rows for rosters sent before copies existed)."""
    if unit.roster_snapshot:
        return [from_snapshot(cid, unit_code, unit.roster_gen, row)
                for row in stores.files.get_snapshot(unit.roster_snapshot)]
    return stores.roster.rows(cid, unit_code, unit.roster_gen)


def _reminder_kind(link: Link, now: datetime) -> str:
    """What a reminder would do to one link now: "now", "recent" (mailed within the interval), "answered" or
    "undeliverable"."""
    if link.state == "submitted":
        return "answered"
    if link.state not in rules.REMINDABLE or link.no_mail:  # no_mail: the recipient complained
        return "undeliverable"
    if link.last_mail_at and now - link.last_mail_at < REMINDER_INTERVAL:
        return "recent"
    return "now"


def _people_counts(kinds: dict[str, set[str]]) -> dict[str, int]:
    """People, not forms: a person counts once, under the most useful of their links' kinds."""
    counts = {"now": 0, "recent": 0, "answered": 0, "undeliverable": 0}
    for found in kinds.values():
        counts[next(k for k in ("now", "recent", "undeliverable", "answered") if k in found)] += 1
    return counts


def reminder_preview(actor: Actor, cid: str, unit_code: str, rids: list[str] | None, now: datetime, *,
                     stores: Stores = DYNAMODB) -> dict:
    """Before reminding: how many people (and forms) a reminder would reach now, and from when the people mailed
    within the last 24 hours can be reminded."""
    require_unit(actor, unit_code)
    campaign, _ = phases.require_open(cid, unit_code, "survey", now, stores=stores)
    wanted = set(rids or [])
    kinds: dict[str, set[str]] = {}
    forms = {"now": 0, "recent": 0, "answered": 0, "undeliverable": 0}
    ready_at: dict[str, datetime] = {}  # a waiting person: when their first link can be reminded again
    for link in stores.links.unit_links(roster_key(cid, unit_code)):
        if wanted and link.rid not in wanted:
            continue
        kind = _reminder_kind(link, now)
        forms[kind] += 1
        kinds.setdefault(link.rid, set()).add(kind)
        if kind == "recent" and link.last_mail_at:
            at = link.last_mail_at + REMINDER_INTERVAL
            ready_at[link.rid] = min(at, ready_at.get(link.rid, at))
    people = _people_counts(kinds)
    waiting = [at for rid, at in ready_at.items() if "now" not in kinds[rid]]
    first, last = (min(waiting), max(waiting)) if waiting else (None, None)
    return {"people": people, "forms": forms,
            "recent_from": utc_iso(first) if first else None,
            "recent_from_label": local_datetime(first, campaign.timezone) if first else None,
            "recent_until_label": local_datetime(last, campaign.timezone) if last else None}


def remind(actor: Actor, cid: str, unit_code: str, rids: list[str] | None, now: datetime,
           random_bytes: Callable[[int], bytes], *, stores: Stores = DYNAMODB) -> dict:
    """Re-send to those who have not answered, at most once per interval per respondent; each with a fresh
    token (earlier ones stay valid) and recorded."""
    require_unit(actor, unit_code)
    campaign, unit = phases.require_open(cid, unit_code, "survey", now, stores=stores)
    window = phases.phase_windows(campaign, unit)["survey"]
    deadline = window.to_dict(now, campaign.timezone)["deadline_label"]
    unit_key = roster_key(cid, unit_code)
    wanted = set(rids or [])
    groups = {g["code"]: g["name"] for g in campaign.groups}
    titles = {}
    lookup = _questionnaires(cid, stores=stores)
    result = {"queued": 0, "recent": 0, "answered": 0, "undeliverable": 0}
    kinds: dict[str, set[str]] = {}
    mails, tokens = [], []
    for link in stores.links.unit_links(unit_key):
        if wanted and link.rid not in wanted:
            continue
        kind = _reminder_kind(link, now)
        if kind != "now":
            result[kind] += 1
            kinds.setdefault(link.rid, set()).add(kind)
            continue
        token = survey_token(unit_key, link.slot, random_bytes(32))
        digest = token_hash(token)
        if not stores.links.claim_link_for_reminder(link, digest, now, rules.REMINDABLE, REMINDER_INTERVAL):
            result["recent"] += 1
            kinds.setdefault(link.rid, set()).add("recent")
            continue
        kinds.setdefault(link.rid, set()).add("now")
        titles[link.qid] = lookup(link.group, link.purpose)[2]
        tokens.append(Token(token_hash=digest, unit_key=unit_key, slot=link.slot, kind="reminder",
                            issued_at=now, expires_at=window.closes_at + timedelta(days=30)))
        mails.append(_mail_context(campaign, unit, link, "reminder", token, deadline, titles, groups))
    stores.links.write_issued([], tokens)
    stores.queues.send_mail_batches([{"kind": "reminder", "cid": cid, "queued_at": utc_instant(now), "mails": batch}
                                     for batch in _chunks(mails, MAILS_PER_MESSAGE)])
    result["queued"] = len(mails)
    audit.record(actor, "reminders_queued", now, target=unit_code, cid=cid, unit=unit_code,
                 details={**result, "selected": len(wanted)}, suffix=random_bytes(4).hex(), stores=stores)
    people = _people_counts(kinds)
    return {**result, "people": {"queued": people["now"], "recent": people["recent"],
                                 "answered": people["answered"], "undeliverable": people["undeliverable"]}}


def valid_email(value: object) -> str:
    email = normalise_email(value if isinstance(value, str) else "")
    problem = email_problem(email)
    if problem:
        raise ValidationError(problem, details=[{"field": "email", "message": problem}])
    return email


def respondent(cid: str, unit_code: str, unit: Unit, rid: str, email: str | None = None, *,
               stores: Stores = DYNAMODB) -> Respondent:
    """A person of the current roster; with `email`, refused when that address is someone else's."""
    rows = stores.roster.rows(cid, unit_code, unit.roster_gen)
    row = next((r for r in rows if r.rid == rid), None)
    if row is None:
        raise NotFoundError("Không tìm thấy người này trong danh sách.")
    if email is not None and any(r.email == email and r.rid != rid for r in rows):
        raise ValidationError(f"Email “{email}” đã dùng cho người khác trong danh sách.",
                              details=[{"field": "email", "message": "Email đã có trong danh sách."}])
    return row


def open_links(cid: str, unit_code: str, rid: str, *, stores: Stores = DYNAMODB) -> list[Link]:
    """A person's links not answered yet; refused when there are none."""
    links = [link for link in stores.links.unit_links(roster_key(cid, unit_code), rid) if link.state != "submitted"]
    if not links:
        raise ConflictError("Người này không còn phiếu nào chờ trả lời.")
    return links


def reissue(campaign: Campaign, unit: Unit, links: list[Link], email: str, from_states: tuple[str, ...],
            now: datetime, random_bytes: Callable[[int], bytes], *, stores: Stores = DYNAMODB) -> list[str]:
    """Send links to a new address: each gets a new (only) token and is mailed again; its old tokens die and the
    draft saved through them is deleted (a draft belongs to the answering of whoever opened the old link, never to
    the holder of the new one). Only links still in `from_states` move. The slots re-issued."""
    window = phases.phase_windows(campaign, unit)["survey"]
    deadline = window.to_dict(now, campaign.timezone)["deadline_label"]
    groups = {g["code"]: g["name"] for g in campaign.groups}
    lookup = _questionnaires(campaign.cid, stores=stores)
    mails, tokens, slots = [], [], []
    for link in links:
        old_tokens = list(link.token_hashes)
        token = survey_token(link.unit_key, link.slot, random_bytes(32))
        digest = token_hash(token)
        readdressed = stores.links.readdress(link, email, digest, from_states, now)
        if readdressed is None:
            continue
        stores.links.delete_tokens(old_tokens)
        stores.survey.delete_draft(readdressed)
        tokens.append(Token(token_hash=digest, unit_key=link.unit_key, slot=link.slot, kind="invite",
                            issued_at=now, expires_at=window.closes_at + timedelta(days=30)))
        mails.append(_mail_context(campaign, unit, readdressed, "invite", token, deadline,
                                   {link.qid: lookup(link.group, link.purpose)[2]}, groups))
        slots.append(link.slot)
    stores.links.write_issued([], tokens)
    if mails:
        stores.queues.send_mail_batches([{"kind": "invite", "cid": campaign.cid, "queued_at": utc_instant(now),
                                          "mails": mails}])
    return slots


def auto_reminders(now: datetime, random_bytes: Callable[[int], bytes], *, stores: Stores = DYNAMODB) -> int:
    """Scheduled daily: on the campaign's configured days before the survey deadline, queue a reminder job per
    unit (once per day, whichever scheduler tick comes first)."""
    started = 0
    for campaign in stores.campaigns.list_campaigns():
        days = campaign.reminder_days or []
        window = phases.phase_windows(campaign, None).get("survey")
        if not days or window is None or window.state(now) != "open":
            continue
        from zoneinfo import ZoneInfo

        zone = ZoneInfo(campaign.timezone)
        left = ((window.closes_at - timedelta(seconds=1)).astimezone(zone).date() - now.astimezone(zone).date()).days
        deadline_day = (window.closes_at - timedelta(seconds=1)).astimezone(zone).date().isoformat()
        if left not in days or not stores.campaigns.mark_auto_reminder(campaign.cid, f"{deadline_day}:{left}"):
            continue
        units = [u.unit for u in stores.campaigns.list_units(campaign.cid, PROVINCE) if u.roster_status == "submitted"]
        stores.queues.send(settings().jobs_queue, [{"type": "remind_unit", "cid": campaign.cid, "unit": u}
                                                   for u in units])
        audit.record(SYSTEM, "auto_reminders_started", now, cid=campaign.cid, details={"days_left": left,
                                                                                        "units": len(units)},
                     suffix=random_bytes(4).hex(), stores=stores)
        started += len(units)
    return started


def run_job(body: dict, now: datetime, random_bytes: Callable[[int], bytes], *, stores: Stores = DYNAMODB) -> dict:
    """The jobs queue's handler: one message, one bounded unit of work."""
    if body.get("type") == "dispatch_unit":
        return dispatch_unit(body["cid"], body["unit"], body["run"], now, random_bytes, body["questionnaires"],
                             stores=stores)
    if body.get("type") == "remind_unit":
        return remind(SYSTEM_MOHA, body["cid"], body["unit"], None, now, random_bytes, stores=stores)
    raise ValueError(f"unknown job {body.get('type')!r}")

