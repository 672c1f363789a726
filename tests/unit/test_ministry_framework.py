"""The ministries' sample framework and framework validation per unit kind."""
import copy
from decimal import Decimal

import pytest

from chalicelib.domain import framework as rules
from chalicelib.domain import questionnaire as q_rules
from chalicelib.errors import ValidationError
from chalicelib.formats import datafiles


def shipped_questionnaires() -> dict[str, dict]:
    spec, _ = datafiles.load_campaign("2021")
    return {qid: q_rules.validate_definition(data) for qid, data in datafiles.load_questionnaires(spec).items()}


def ministry_sample() -> dict:
    spec, _ = datafiles.load_campaign("2021")
    return datafiles.load_json(datafiles.framework_files(spec)["ministry"])


def test_the_ministries_sample_has_7_fields_and_100_points_of_which_the_survey_weighs_36_5():
    raw = ministry_sample()
    assert raw["sample"] is True and "MẪU" in raw["title"] and "không phải bộ tiêu chí chính thức" in raw["title"]
    fw = rules.validate_definition(raw, kind="ministry")
    assert fw["kind"] == "ministry" and fw["sample"] is True and fw["maximum"] == 100
    assert len(fw["fields"]) == 7
    points = {m: sum((Decimal(str(leaf["max"])) for leaf in rules.leaves(fw, m)), Decimal(0))
              for m in rules.METHODS}
    assert points == {"self": Decimal("63.5"), "survey": Decimal("36.5"), "imported": Decimal(0)}


def test_every_survey_line_of_the_ministries_sample_is_measured_by_the_managing_ministry_questionnaires():
    questionnaires = shipped_questionnaires()
    measured = rules.survey_criteria(questionnaires, "ministry")
    assert set(measured) == {"1.6", "2.3", "2.4", "3.4", "4.3", "5.5", "7.4"}
    assert measured["1.6"] == ["ministry-2", "ministry-3"]
    fw = rules.validate_definition(ministry_sample(), measured, kind="ministry")
    assert {leaf["code"] for leaf in rules.leaves(fw, "survey")} == set(measured)


def test_the_shipped_frameworks_each_fit_the_questionnaires_of_their_own_kind_only():
    questionnaires = shipped_questionnaires()
    spec, _ = datafiles.load_campaign("2021")
    province = datafiles.load_json(datafiles.framework_files(spec)["province"])
    assert rules.validate_definition(province, rules.survey_criteria(questionnaires, "province"),
                                     kind="province")["kind"] == "province"
    # the locality questionnaires measure criteria the ministries' framework does not have as survey lines
    with pytest.raises(ValidationError) as caught:
        rules.validate_definition(ministry_sample(), rules.survey_criteria(questionnaires, "province"))
    assert any("locality-" in d["message"] for d in caught.value.details)


def test_a_ministries_framework_without_a_line_the_ministry_questionnaire_scores_is_refused():
    raw = copy.deepcopy(ministry_sample())
    field = raw["fields"][6]  # 7.4 becomes self-scored: the questionnaire's criterion is no longer a survey line
    line = next(c for c in field["criteria"] if c["code"] == "7.4")
    line.update(method="self", step=0.5)
    with pytest.raises(ValidationError) as caught:
        rules.validate_definition(raw, rules.survey_criteria(shipped_questionnaires(), "ministry"), kind="ministry")
    assert [(d["code"], d["field"]) for d in caught.value.details] == [("7.4", "fields")]
    assert "(ministry-2, ministry-3)" in caught.value.details[0]["message"]
    assert "không phải tiêu chí đo bằng điều tra xã hội học" in caught.value.details[0]["message"]


def test_a_framework_declared_for_one_kind_is_refused_for_the_other_and_the_kind_defaults_to_province():
    with pytest.raises(ValidationError) as caught:
        rules.validate_definition(ministry_sample(), kind="province")
    assert caught.value.details[0]["field"] == "kind"
    assert "dành cho các bộ, cơ quan ngang bộ" in caught.value.details[0]["message"]
    with pytest.raises(ValidationError) as caught:
        rules.validate_definition({**ministry_sample(), "kind": "bo"})
    assert caught.value.details[0]["field"] == "kind"
    undeclared = {k: v for k, v in ministry_sample().items() if k != "kind"}
    assert rules.validate_definition(undeclared)["kind"] == "province"
    assert rules.validate_definition(undeclared, kind="ministry")["kind"] == "ministry"
    assert rules.validate_definition(ministry_sample())["kind"] == "ministry"


def test_survey_criteria_count_only_scored_questions_of_the_purpose_measuring_the_kind():
    scale = [{"value": "1", "label": "Có", "score": 1}, {"value": "0", "label": "Không", "score": 0}]
    section = {"title": "Phần I", "questions": [
        {"id": "a", "text": "Câu a", "type": "single", "criterion": "1.2", "options": scale},
        {"id": "b", "text": "Câu b", "type": "text", "criterion": "1.3"},
        {"id": "c", "text": "Câu c", "type": "multi", "criterion": None, "options": scale}]}
    questionnaires = {"ministry-2": {"sections": [section]}, "locality-1": {"sections": [section]},
                      "khac-1": {"sections": [section]}}
    assert rules.survey_criteria(questionnaires, "ministry") == {"1.2": ["ministry-2"]}
    assert rules.survey_criteria(questionnaires, "province") == {"1.2": ["locality-1"]}
    assert rules.survey_criteria(questionnaires) == {"1.2": ["locality-1"]}
