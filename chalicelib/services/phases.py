"""Phase windows of a campaign for one unit, and the check every phase-bound write makes first.

Below the campaign and assessment services (it imports neither), so both, and every other service, can use it."""
from __future__ import annotations

from datetime import datetime

from chalicelib.domain import phases as phase_rules
from chalicelib.errors import PhaseClosedError
from chalicelib.store.campaigns import Campaign, Unit
from chalicelib.store.stores import DYNAMODB, Stores


def phase_windows(campaign: Campaign, unit: Unit | None) -> dict[str, phase_rules.PhaseWindow]:
    """The effective windows: the campaign's, with `unit`'s own extensions when given."""
    return phase_rules.windows(campaign.phases, dict(unit.extensions) if unit else None)


def require_open(cid: str, unit_code: str, phase: str, now: datetime, *,
                 stores: Stores = DYNAMODB) -> tuple[Campaign, Unit]:
    """Refuse a write with 423 unless `phase` is open for this unit now (its own extension included)."""
    campaign = stores.campaigns.get_campaign(cid)
    unit = stores.campaigns.get_unit(cid, unit_code)
    window = phase_windows(campaign, unit).get(phase)
    if window is None:
        raise PhaseClosedError(f"Đợt đánh giá này không có giai đoạn “{phase_rules.PHASES.get(phase, phase)}”.")
    if window.state(now) != "open":
        raise PhaseClosedError(phase_rules.closed_message(window, now, campaign.timezone),
                               details=[{"phase": phase, "state": window.state(now)}])
    return campaign, unit
