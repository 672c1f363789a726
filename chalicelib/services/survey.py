"""The respondent's survey: reading the questionnaire behind a link, drafts, and the exactly-once submit.

A token names its link and opens it only if the link holds the token's hash (older tokens, which name none, are
found by their hash). Unknown and malformed tokens take the same path and get the same answer;
an IP that guesses too often is refused (429). Opening never consumes a link; the first interaction (a draft
save) records the open with its time, IP and user agent; a submit consumes it, once."""
from __future__ import annotations

import weakref
from msgspec import Struct, field
from datetime import datetime, timedelta
from typing import Callable

from chalicelib import observability as obs
from chalicelib.domain import campaign as campaign_rules
from chalicelib.domain import links as link_rules
from chalicelib.domain import questionnaire as q_rules
from chalicelib.domain.credentials import link_named, token_hash
from chalicelib.domain.timefmt import local_datetime, utc_iso
from chalicelib.errors import ConflictError, DomainError, PhaseClosedError, RateLimitedError
from chalicelib.services import phases
from chalicelib.store.campaigns import Campaign, Unit
from chalicelib.store.links import Link
from chalicelib.store.stores import DYNAMODB, Stores
from chalicelib.store.survey import Gate, Response, device

MISS_WINDOW = timedelta(minutes=10)
MISS_LIMIT = 20  # unknown tokens per IP per window: with 2^256 tokens, guessing is hopeless anyway
CONFIDENTIALITY = ("Nội dung trả lời được lưu tách khỏi thông tin cá nhân của Ông/Bà, chỉ Bộ Nội vụ được xem để "
                   "tổng hợp, xác định Chỉ số cải cách hành chính; địa phương chỉ biết Ông/Bà đã trả lời hay chưa.")
UNKNOWN = "Đường dẫn khảo sát không đúng hoặc không còn hiệu lực. Vui lòng mở lại đường dẫn trong thư mời mới nhất."


class LinkGoneError(DomainError):
    status, code = 404, "link_unknown"


class _Kept(Struct):
    """What the container keeps between requests, for one set of stores (the deployed wiring, or a test's):
    - `locked`: locked questionnaire versions, (cid, qid, version) -> definition. A version is locked when links for
      it go out and a locked questionnaire refuses every change (`QuestionnairesStore.put_version`), so a locked
      version's content never changes;
    - `context`: the campaign and unit of each unit key last read, for the submit. Opening and saving read them
      afresh (and refresh this); a submit decides on this copy and its transaction checks that the copy still
      holds (`store.survey.Gate`: the campaign's version, the unit's annulment and own extension), so a deadline
      extended or shortened or a unit annulled a moment ago counts at once. A refusal is never made on the copy:
      it is read afresh first."""
    locked: dict[tuple[str, str, int], dict] = field(default_factory=dict)
    context: dict[str, tuple[Campaign, Unit]] = field(default_factory=dict)


# per set of stores, and gone with it: a test's fresh in-memory stores never see another's copies
_KEPT: weakref.WeakKeyDictionary[Stores, _Kept] = weakref.WeakKeyDictionary()


def _kept(stores: Stores) -> _Kept:
    found = _KEPT.get(stores)
    if found is None:
        found = _KEPT[stores] = _Kept()
    return found


def forget_cached() -> None:
    """Drop what the container keeps between requests (tests that rewind the store call this)."""
    _KEPT.clear()


def _questionnaire(cid: str, qid: str, version: int, *, stores: Stores) -> dict:
    """Links carry the version locked at dispatch."""
    from chalicelib.services import questionnaires

    key, locked = (cid, qid, version), _kept(stores).locked
    found = locked.get(key)
    if found is not None:
        return found
    item = stores.questionnaires.get(cid, qid)
    if item.version != version:
        raise ConflictError("Phiếu khảo sát đã thay đổi phiên bản; vui lòng liên hệ Bộ Nội vụ.")
    definition = questionnaires.definition_of(item)
    if item.locked:
        locked[key] = definition
    return definition


class _Found(Struct, frozen=True):
    """A request's link with its campaign and unit: read together and fresh, or (`kept`) the copy kept for submits."""
    link: Link
    digest: str
    campaign: Campaign
    unit: Unit
    kept: bool = False  # the campaign and unit are the copy kept between requests, not read with the link


def _resolve(token: str | None, ip: str, now: datetime, *, kept: bool = False, stores: Stores) -> _Found:
    """The link behind a token. Unknown, malformed and revoked tokens take one path and get one answer; an IP
    that keeps presenting them is answered 429 (a valid link is still served: respondents of one office share an
    address, and nobody finds a valid 256-bit token by guessing). With `kept`, the campaign and unit may come from
    the copy kept for the submit (see `_Kept`); otherwise the three are read together, fresh."""
    token = (token or "").strip()[:200]
    digest = token_hash(token)
    key = link_named(token)
    if key is None:  # a token that does not name its link (issued before tokens did): found by its hash
        record = stores.links.get_token(digest)
        key = (record.unit_key, record.slot) if record else None
    contexts = _kept(stores).context
    context = contexts.get(key[0]) if key and kept else None
    if key is None:
        link, campaign, unit = None, None, None
    elif context:
        link, (campaign, unit) = stores.survey.link_now(*key), context
    else:
        link, campaign, unit = stores.survey.link_in_context(*key)
        if campaign and unit:
            contexts[key[0]] = (campaign, unit)
    if link is None or digest not in (link.token_hashes or []):
        if stores.survey.count_miss(ip, now, MISS_WINDOW) > MISS_LIMIT:
            raise RateLimitedError("Có quá nhiều lần mở đường dẫn không hợp lệ từ địa chỉ mạng này. Vui lòng thử "
                                   "lại sau ít phút.", int(MISS_WINDOW.total_seconds()))
        raise LinkGoneError(UNKNOWN)
    cid, unit_code = link.unit_key.split("#", 1)
    return _Found(link, digest, campaign or stores.campaigns.get_campaign(cid),  # get_*: the usual 404
                  unit or stores.campaigns.get_unit(cid, unit_code), kept=context is not None)


def _context(found: _Found, now: datetime, *, writing: bool) -> dict:
    """The survey's window for the link's unit, refused (423) unless it is open (or, for reading an answered
    link, whatever its state), or when the unit's results were annulled."""
    campaign, unit, link = found.campaign, found.unit, found.link
    window = phases.phase_windows(campaign, unit)["survey"]
    if unit.annulled_at:
        raise PhaseClosedError("Kết quả khảo sát của địa phương này đã bị hủy theo quyết định của Bộ Nội vụ; phiếu "
                               "không còn được tiếp nhận.", code="results_annulled")
    if window.state(now) != "open" and (writing or link.state != "submitted"):
        info = window.to_dict(now, campaign.timezone)
        if window.state(now) == "upcoming":
            raise PhaseClosedError(f"Đợt khảo sát chưa bắt đầu (mở từ ngày {info['opens_label']}).",
                                   code="survey_not_open")
        raise PhaseClosedError(f"Đợt khảo sát đã kết thúc ({info['deadline_label']}); phiếu không còn được tiếp "
                               "nhận.", code="survey_closed")
    return window.to_dict(now, campaign.timezone)


def open_survey(token: str | None, ip: str, now: datetime, *, stores: Stores = DYNAMODB) -> dict:
    """Read-only: mail scanners may open links; nothing is recorded or consumed here."""
    found = _resolve(token, ip, now, stores=stores)
    window = _context(found, now, writing=False)
    link, campaign, unit = found.link, found.campaign, found.unit
    definition = _questionnaire(campaign.cid, link.qid, int(link.q_version), stores=stores)
    draft = stores.survey.get_draft(link) if link.state != "submitted" else None
    groups = {g["code"]: g["name"] for g in campaign.groups}
    return {
        "state": "submitted" if link.state == "submitted" else "open",
        "campaign": {"id": campaign.cid, "name": campaign.name, "year": int(campaign.year)},
        "contact": campaign.contact or dict(campaign_rules.DEFAULT_CONTACT),
        "unit": {"code": unit.unit, "name": unit.name, "full_name": unit.full_name},
        "group": {"code": link.group, "name": groups.get(link.group, link.group)},
        "purpose": link.purpose, "purpose_name": link_rules.PURPOSE_NAMES.get(link.purpose, link.purpose),
        "qid": link.qid, "version": int(link.q_version), "questionnaire": q_rules.as_respondents_see(definition),
        "deadline_label": window["deadline_label"], "closes_at": window["closes_at"],
        "seconds_left": window["seconds_left"],
        "draft": {"answers": draft.answers, "saved_at": utc_iso(draft.saved_at),
                  "saved_at_label": local_datetime(draft.saved_at)} if draft else None,
        "submitted_at": utc_iso(link.submitted_at) if link.submitted_at else None,
        "submitted_at_label": local_datetime(link.submitted_at) if link.submitted_at else None,
        "receipt": link.receipt, "confidentiality": CONFIDENTIALITY,
    }


def _already(link: Link) -> ConflictError:
    when = local_datetime(link.submitted_at) if link.submitted_at else ""
    return ConflictError(f"Phiếu này đã được gửi lúc {when}; mỗi phiếu chỉ gửi được một lần.",
                         code="already_submitted",
                         extra={"submitted_at": utc_iso(link.submitted_at) if link.submitted_at else None,
                                "submitted_at_label": when, "receipt": link.receipt})


def save_draft(token: str | None, answers: object, ip: str, ua: str, now: datetime, *,
               stores: Stores = DYNAMODB) -> dict:
    found = _resolve(token, ip, now, stores=stores)
    window = _context(found, now, writing=True)
    link, campaign = found.link, found.campaign
    if link.state == "submitted":
        raise _already(link)
    definition = _questionnaire(campaign.cid, link.qid, int(link.q_version), stores=stores)
    clean = q_rules.validate_answers(definition, answers if isinstance(answers, dict) else {}, complete=False)
    if link.state == "sent" and link.opened_at is None:
        stores.survey.record_open(link, now, ip, ua)
    if device(ip, ua) not in (link.seen or set()):
        stores.survey.record_seen(link, ip, ua)
    closes = datetime.fromisoformat(window["closes_at"].replace("Z", "+00:00"))
    stores.survey.save_draft(link, clean, now, closes + timedelta(days=30))
    return {"saved_at": utc_iso(now), "saved_at_label": local_datetime(now)}


def submit(token: str | None, answers: object, ip: str, ua: str, now: datetime,
           random_bytes: Callable[[int], bytes], *, stores: Stores = DYNAMODB) -> dict:
    """Exactly once: any number of concurrent submits of one link store one response; the others get 409.
    Decided on the kept campaign and unit when there are some (their transaction checks they still hold); any
    refusal or failed write is decided again on all three read afresh."""
    found = _resolve(token, ip, now, kept=True, stores=stores)
    for _ in range(4):  # a concurrent first-open may move the link between our read and our write
        try:
            _context(found, now, writing=True)
            if found.link.state == "submitted":
                raise _already(found.link)
        except DomainError:
            if found.kept:  # refused on the kept copy: decide again on fresh data
                found = _resolve(token, ip, now, stores=stores)
                continue
            raise
        receipt = _record(found, answers, ip, ua, now, random_bytes, stores=stores)
        if receipt:
            return receipt
        found = _resolve(token, ip, now, stores=stores)  # the write's conditions failed: read the three afresh and decide again
    raise ConflictError("Phiếu đang được cập nhật; vui lòng gửi lại.")


def _record(found: _Found, answers: object, ip: str, ua: str, now: datetime,
            random_bytes: Callable[[int], bytes], *, stores: Stores) -> dict | None:
    """The submit's transaction for an open link; None when one of its conditions failed."""
    link, campaign, unit = found.link, found.campaign, found.unit
    definition = _questionnaire(campaign.cid, link.qid, int(link.q_version), stores=stores)
    clean = q_rules.validate_answers(definition, answers if isinstance(answers, dict) else {}, complete=True)
    receipt = _receipt(random_bytes(5))
    response = Response(unit_key=link.unit_key, response_id=random_bytes(12).hex(), qid=link.qid,
                        q_version=int(link.q_version), group=link.group, purpose=link.purpose, answers=clean,
                        scores=q_rules.score(definition, clean), submitted_at=now, ministry=link.ministry)
    gate = Gate(campaign.cid, unit.unit, campaign.version, unit.extensions.get("survey"))
    if not stores.survey.record_submission(link, found.digest, response, now, ip=ip, ua=ua, receipt=receipt,
                                   drop_draft=True, gate=gate):
        return None
    obs.bind(campaign=campaign.cid, unit=unit.unit)
    obs.info("survey submitted", qid=link.qid, group=link.group, purpose=link.purpose)
    obs.metric(obs.SUBMITS, qid=link.qid, group=link.group)
    return {"receipt": receipt, "submitted_at": utc_iso(now), "submitted_at_label": local_datetime(now)}


def _receipt(raw: bytes) -> str:
    """A short code people can read out: 8 characters from an alphabet without look-alikes, as XXXX-XXXX."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    number = int.from_bytes(raw, "big")
    chars = []
    for _ in range(8):
        number, index = divmod(number, len(alphabet))
        chars.append(alphabet[index])
    return "".join(chars[:4]) + "-" + "".join(chars[4:])


