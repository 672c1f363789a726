"""Mails sent again after a transient bounce: when the wait the delivery rules chose is over, the link is
re-issued with a new token (its only one, as for a corrected address) and its invitation queued again."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable

from chalicelib import observability as obs
from chalicelib.domain.access import SYSTEM
from chalicelib.domain.credentials import survey_token, token_hash
from chalicelib.domain.timefmt import utc_instant
from chalicelib.services import audit, dispatch, phases, questionnaires
from chalicelib.store.delivery import Retry
from chalicelib.store.links import Token
from chalicelib.store.stores import DYNAMODB, Stores


def retry_due(now: datetime, random_bytes: Callable[[int], bytes], *, stores: Stores = DYNAMODB) -> int:
    """Re-issue each due link with a new token (its only one, as for a corrected address) and queue its mail.
    A retry is taken before it is acted on, so two runs never both send it."""
    resent = 0
    for retry in stores.delivery.due_retries(now):
        if stores.delivery.take_retry(retry) and _resend(retry, now, random_bytes, stores):
            resent += 1
    return resent


def _resend(retry: Retry, now: datetime, random_bytes: Callable[[int], bytes], stores: Stores) -> bool:
    link = stores.links.get_link(retry.unit_key, retry.slot)
    if link is None or link.email != retry.email or link.state != "sent":
        return False  # answered, opened, corrected or failed meanwhile
    cid, unit_code = retry.unit_key.split("#", 1)
    campaign = stores.campaigns.get_campaign(cid)
    unit = stores.campaigns.get_unit(cid, unit_code)
    window = phases.phase_windows(campaign, unit)["survey"]
    if window.state(now) != "open":
        return False
    old_tokens = list(link.token_hashes)
    token = survey_token(retry.unit_key, link.slot, random_bytes(32))
    digest = token_hash(token)
    reissued = stores.links.readdress(link, link.email, digest, ("sent",), now)
    if reissued is None:
        return False
    stores.links.delete_tokens(old_tokens)
    stores.links.write_issued([], [Token(token_hash=digest, unit_key=retry.unit_key, slot=link.slot, kind="invite",
                                         issued_at=now, expires_at=window.closes_at + timedelta(days=30))])
    deadline = window.to_dict(now, campaign.timezone)["deadline_label"]
    groups = {g["code"]: g["name"] for g in campaign.groups}
    title = questionnaires.for_respondent(cid, link.group, link.purpose, stores=stores)[2]
    mail = dispatch._mail_context(campaign, unit, reissued, "invite", token, deadline, {link.qid: title}, groups)
    mail["attempt"] = retry.attempt
    stores.queues.send_mail_batches([{"kind": "invite", "cid": cid, "queued_at": utc_instant(now), "mails": [mail]}])
    audit.record(SYSTEM, "mail_retried", now, target=link.slot, cid=cid, unit=unit_code,
                 details={"attempt": retry.attempt, "previous": retry.message_id}, suffix=random_bytes(4).hex(),
                 stores=stores)
    with obs.about(campaign=cid, unit=unit_code):
        obs.info("mail retried", attempt=retry.attempt)
        obs.metric(obs.JOB_RETRIES, retry="transient_bounce", attempt=retry.attempt)
    return True
