"""The ministry reads the survey answers of a unit.

Answers are stored apart from identities (a stored response has no respondent id, name, e-mail, address or time of
answering beyond the submit instant, which is not handed out: joined with the progress view it would name the
respondent). Only ministry roles read them, and every read leaves an audit entry saying who read which unit's
responses, when, from which address and how many."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Callable

from chalicelib.domain import links as link_rules
from chalicelib.domain.access import Actor, require_moha
from chalicelib.errors import ValidationError
from chalicelib.services import audit
from chalicelib.store import roster as roster_store
from chalicelib.store.stores import DYNAMODB, Stores

DEFAULT_LIMIT, MAX_LIMIT = 50, 500  # a page of 500 (about 0.5 MB) stays far below a Lambda response's 6 MB
_CURSOR = re.compile(r"^[0-9a-f]{24}$")  # a response id: 12 random bytes in hex


def unit_responses(actor: Actor, cid: str, unit_code: str, *, qid: str | None, limit: int, cursor: str | None,
                   now: datetime, random_bytes: Callable[[int], bytes], stores: Stores = DYNAMODB) -> dict:
    """One page of the unit's responses: answers and scores with their questionnaire and group, no identity.
    Annulled results are still readable (flagged), as the ministry reviews them; they count in no aggregate."""
    require_moha(actor)
    if cursor is not None and not _CURSOR.match(cursor):
        raise ValidationError("Con trỏ phân trang không hợp lệ.", details=[{"field": "cursor"}])
    campaign = stores.campaigns.get_campaign(cid)
    unit = stores.campaigns.get_unit(cid, unit_code)
    items, next_cursor = stores.responses.page(roster_store.key(cid, unit_code),
                                               limit=max(1, min(limit, MAX_LIMIT)), after=cursor, qid=qid or None)
    groups = {g["code"]: g["name"] for g in campaign.groups}
    titles: dict[str, str | None] = {}
    wanted = {item.qid for item in items}
    if len(wanted) > 1:  # the campaign's questionnaires' titles in one Query rather than one read each
        titles = {qid: title for qid, title in stores.questionnaires.titles(cid).items() if qid in wanted}
    for qid in wanted - set(titles):
        found = stores.questionnaires.find(cid, qid)
        titles[qid] = found.title if found else None
    audit.record(actor, "responses_read", now, target=unit_code, cid=cid, unit=unit_code,
                 details={"responses": len(items), "qid": qid or None, "next_page": bool(next_cursor),
                          "first_page": cursor is None},
                 suffix=random_bytes(4).hex(), stores=stores)
    return {"campaign": cid, "unit": {"code": unit.unit, "name": unit.name, "full_name": unit.full_name},
            "annulled": bool(unit.annulled_at), "count": len(items),
            "items": [{"id": item.response_id, "qid": item.qid, "version": int(item.q_version),
                       "title": titles.get(item.qid), "purpose": item.purpose,
                       "purpose_name": link_rules.PURPOSE_NAMES.get(item.purpose, item.purpose),
                       "group": {"code": item.group, "name": groups.get(item.group, item.group)},
                       "ministry": item.ministry, "answers": item.answers, "scores": item.scores} for item in items],
            "next_cursor": next_cursor}
