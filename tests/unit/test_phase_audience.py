"""Whom each phase concerns: every unit, the provinces only (their focal person, roster and survey), or the
organiser alone (the appraisal); campaign data says it, with those defaults."""
from datetime import date

import pytest

from chalicelib.domain import campaign as rules
from chalicelib.domain.phases import audience, concerns
from chalicelib.errors import ValidationError
from chalicelib.formats import datafiles

UNITS = [{"code": "01", "name": "Hà Nội"}, {"code": "BTP", "name": "Bộ Tư pháp", "kind": "ministry"}]


def build(phases):
    return rules.build({"id": "thu", "name": "Đợt thử", "year": 2022, "phases": phases,
                        "groups": [{"code": "1", "name": "Lãnh đạo cấp sở"}]}, UNITS, date(2022, 1, 4))


def test_the_shipped_campaigns_show_a_ministry_only_its_self_assessment():
    for name in ("2021", "demo"):
        spec, units = datafiles.load_campaign(name, datafiles.UNIT_KINDS)
        built = rules.build(spec, units, date(2022, 1, 4))
        assert [p["code"] for p in built["phases"] if concerns(p, "ministry")] == ["self_assessment"]
        assert [p["code"] for p in built["phases"] if concerns(p, "province")] == [
            "focal_person", "roster", "self_assessment", "survey"]


def test_without_an_audience_each_phase_gets_its_default_and_the_older_spelling_still_reads():
    built = build([{"code": code, "opens": "2022-01-05", "closes": "2022-01-20"}
                   for code in ("focal_person", "roster", "self_assessment", "survey", "appraisal")])
    assert [p["audience"] for p in built["phases"]] == ["province", "province", "all", "province", "moha"]
    assert audience("appraisal", "ministry") == "moha" and audience("roster", "all") == "all"
    assert not concerns({"code": "appraisal", "audience": "moha"}, "province")


def test_an_unknown_audience_is_refused_naming_the_phase():
    with pytest.raises(ValidationError) as caught:
        build([{"code": "roster", "opens": "2022-01-05", "closes": "2022-01-20", "audience": "tinh"}])
    assert {"field": "phases[0].audience"} in [{"field": d["field"]} for d in caught.value.details]
