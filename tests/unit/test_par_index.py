"""The index arithmetic on hand-computed cases."""
import pytest

from chalicelib.domain import framework as rules
from chalicelib.domain import par_index
from chalicelib.domain.campaign import DEFAULT_GRADES
from chalicelib.errors import ValidationError

SMALL = {"title": "Bộ tiêu chí nhỏ", "maximum": 20, "fields": [
    {"code": "1", "name": "Lĩnh vực 1", "max": 10, "criteria": [
        {"code": "1.1", "name": "Tự chấm", "max": 4, "method": "self", "step": 0.5},
        {"code": "1.2", "name": "Điều tra", "max": 6, "method": "Điều tra xã hội học"}]},
    {"code": "2", "name": "Lĩnh vực 2", "max": 10, "criteria": [
        {"code": "2.1", "name": "SIPAS", "max": 5, "method": "SIPAS", "step": 0.01},
        {"code": "2.2", "name": "Tự chấm", "max": 5, "method": "tự chấm", "step": 1}]}]}
BEST = {"locality-1": {"1.2": 8}, "locality-2": {"1.2": 4}}
RESPONSES = [{"group": "1", "qid": "locality-1", "scores": {"1.2": 8}},   # share 1
             {"group": "1", "qid": "locality-1", "scores": {"1.2": 6}},   # share 0.75
             {"group": "2", "qid": "locality-2", "scores": {"1.2": 2}}]   # share 0.5
ITEMS = {"1.1": {"score": 3, "appraisal_score": 2.5}, "2.2": {"score": 5, "appraisal_score": None},
         "2.1": {"score": None, "appraisal_score": 4}}


def unit(code="A", annulled=False, items=ITEMS, responses=RESPONSES):
    return par_index.UnitInput(code, f"Tỉnh {code}", items, responses, annulled)


def test_survey_points_average_within_groups_then_across_groups():
    fw = rules.validate_definition(SMALL)
    result = par_index.unit_result(fw, unit(), BEST, DEFAULT_GRADES)
    # groups: (1 + 0.75) / 2 = 0.875 and 0.5 → 0.6875 × 6 = 4.125
    assert result["parts"]["survey"] == {"points": 4.13, "max": 6}
    # appraised 2.5 (not the self-score 3) + self-score 5 where not appraised + SIPAS 4 + survey 4.125 = 15.625
    assert result["parts"]["self"] == {"points": 7.5, "max": 9} and result["parts"]["imported"]["points"] == 4
    assert result["points"] == 15.63 and result["index"] == 78.13 and result["grade"] == "C"
    assert result["provisional"] is True  # 2.2 has no appraisal yet
    assert result["fields"] == {"1": {"points": 6.63, "max": 10}, "2": {"points": 9, "max": 10}}
    assert result["lines"] == {"1.1": 2.5, "1.2": 4.13, "2.1": 4, "2.2": 5}


def test_averaging_every_response_once_when_the_framework_says_so():
    fw = rules.validate_definition({**SMALL, "survey_average": "respondents"})
    result = par_index.unit_result(fw, unit(), BEST, DEFAULT_GRADES)
    # (1 + 0.75 + 0.5) / 3 = 0.75 × 6 = 4.5 → 16 of 20 = 80.00, group B (80 ≤ B < 90)
    assert result["parts"]["survey"]["points"] == 4.5 and result["index"] == 80 and result["grade"] == "B"


def test_an_annulled_unit_keeps_its_appraised_points_but_loses_every_survey_point():
    fw = rules.validate_definition(SMALL)
    result = par_index.unit_result(fw, unit(annulled=True), BEST, DEFAULT_GRADES)
    assert result["parts"]["survey"]["points"] == 0 and result["responses"] == 0
    assert result["points"] == 11.5 and result["index"] == 57.5 and result["annulled"] is True


def test_ranking_shares_a_rank_between_equal_indexes():
    fw = rules.validate_definition(SMALL)
    full = {"1.1": {"appraisal_score": 4}, "2.2": {"appraisal_score": 5}, "2.1": {"appraisal_score": 5}}
    best_answers = [{"group": "1", "qid": "locality-1", "scores": {"1.2": 8}}]
    rows = [par_index.unit_result(fw, unit("B", items=full, responses=best_answers), BEST, DEFAULT_GRADES),
            par_index.unit_result(fw, unit("A", items=full, responses=best_answers), BEST, DEFAULT_GRADES),
            par_index.unit_result(fw, unit("C"), BEST, DEFAULT_GRADES)]
    ranked = par_index.rank(rows)
    assert [(r["unit"], r["rank"], r["index"], r["grade"]) for r in ranked] == [
        ("A", 1, 100, "A"), ("B", 1, 100, "A"), ("C", 3, 78.13, "C")]
    assert ranked[0]["provisional"] is False


def test_grades_follow_the_campaigns_thresholds():
    grades = [{"code": "Tốt", "min": 85}, {"code": "Khá", "min": 70}, {"code": "TB", "min": 0}]
    assert [par_index.grade_of(rules.Decimal(str(v)), grades) for v in (85, 84.99, 70, 0)] == [
        "Tốt", "Khá", "Khá", "TB"]


def test_scores_must_sit_on_the_lines_steps():
    leaf = {"code": "2.1", "max": 5, "step": 0.01}
    assert rules.check_score(leaf, 4.37) == rules.Decimal("4.37")
    with pytest.raises(ValidationError, match="bội số của 0,01"):
        rules.check_score(leaf, 4.375)
    with pytest.raises(ValidationError, match="từ 0 đến 5"):
        rules.check_score(leaf, -0.5)
