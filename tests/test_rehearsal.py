"""The dress rehearsal (bench/rehearsal.py) at a tiny scale, so the script cannot rot: 4 provinces of a few
respondents each go through rosters, dispatch, the survey over simulated days, interference (each of the three
styles), reminders from the fourth province, the integrity scan, an annulment, self-assessment, appraisal and results on
the local stack, with 4 of the 19 ministries assessed (the 2 unranked and 2 ranked ones: each ministry's path is
the same, and the others stay in the ministries' results unassessed), and every invariant holds."""
import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load_rehearsal():
    spec = importlib.util.spec_from_file_location("rehearsal", ROOT / "bench" / "rehearsal.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["rehearsal"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_a_tiny_rehearsal_holds_every_invariant_and_prices_the_full_campaign(capsys):
    rehearsal = load_rehearsal()
    world = rehearsal.run(scale=0.005, provinces=4, seed=7, workers=3, ministries=4)
    assert world.failures == []
    assert len(world.checks) == 9  # six for the provinces, three for the ministries
    assert len(world.ministries) == 19 and len(world.ministry_results["units"]) == 19
    assessed = {m["code"]: m["ranked"] for m in world.ministries if m["code"] in world.scores}
    assert sorted(assessed.values()) == [False, False, True, True]
    links = list(world.links.values())
    assert len(world.units) == 4 and len(world.mails) >= len(links) > 0
    [reminding] = [unit for unit in world.units if unit not in world.interfering]
    assert world.reminded[reminding] > 0 and sum(m["reminder"] for m in world.mails) == world.reminded[reminding]
    assert sum(link.submitted for link in links) > 0
    assert world.annulled in world.interfering
    # every stage measured, against a floor of the same run, with the AWS traffic counted by the emulator
    out = capsys.readouterr().out
    for stage in ("rosters", "dispatch", "survey", "integrity", "annulment", "assessment", "results"):
        assert f"BENCH rehearsal_{stage} ratio=" in out
        assert world.floors[stage] > 0 and world.moto[stage]
    assert "| **total** |" in out and "| SES | mails |" in out
