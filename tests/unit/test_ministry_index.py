"""A ministry's survey points from the provinces' answers, and the ministries' ranking, on hand-computed cases."""
from chalicelib.domain import framework as rules
from chalicelib.domain import par_index
from chalicelib.domain.campaign import DEFAULT_GRADES

# 20 points: 1.1 and 2.2 self-scored (10), 1.2 and 2.1 measured by the managing-ministry questionnaire (10)
MINI = {"title": "Bộ tiêu chí bộ, ngành (thử)", "kind": "ministry", "maximum": 20, "fields": [
    {"code": "1", "name": "Lĩnh vực 1", "max": 10, "criteria": [
        {"code": "1.1", "name": "Tự chấm", "max": 4, "method": "self", "step": 0.5},
        {"code": "1.2", "name": "Điều tra", "max": 6, "method": "survey"}]},
    {"code": "2", "name": "Lĩnh vực 2", "max": 10, "criteria": [
        {"code": "2.1", "name": "Điều tra", "max": 4, "method": "survey"},
        {"code": "2.2", "name": "Tự chấm", "max": 6, "method": "self", "step": 1}]}]}
BEST = {"ministry-2": {"1.2": 5, "2.1": 4}, "ministry-3": {"1.2": 5, "2.1": 2}}
MINISTRIES = [{"code": "BNV", "name": "Bộ Nội vụ", "ranked": True},
              {"code": "BTP", "name": "Bộ Tư pháp", "ranked": True},
              {"code": "TTCP", "name": "Thanh tra Chính phủ", "ranked": False},
              {"code": "NHNN", "name": "Ngân hàng Nhà nước Việt Nam"}]


def answer(province, group, ministry, p12, p21, purpose="ministry"):
    return {"unit": province, "group": group, "qid": f"{purpose}-{group}", "purpose": purpose, "ministry": ministry,
            "scores": {"1.2": p12, "2.1": p21}}


# respondents of three provinces evaluating three ministries (shares of the best answer in comments: 1.2, 2.1)
RESPONSES = [
    answer("01", "2", "BNV", 5, 4),   # 1.0, 1.0
    answer("01", "3", "BNV", 3, 1),   # 0.6, 0.5
    answer("02", "2", "BNV", 4, 2),   # 0.8, 0.5
    answer("02", "2", "BTP", 5, 4),   # 1.0, 1.0
    answer("03", "3", "BTP", 1, 0),   # 0.2, 0.0
    answer("03", "2", "TTCP", 5, 3),  # 1.0, 0.75
    answer("01", "3", "TTCP", 4, 2),  # 0.8, 1.0
    answer("02", "2", "VPCP", 5, 4),  # a ministry the campaign does not assess: counts for none
    {**answer("03", "2", "BNV", 0, 0, purpose="locality"), "qid": "ministry-2"},  # not a ministry answer
]
ITEMS = {"BNV": {"1.1": {"score": 4, "appraisal_score": 4}, "2.2": {"score": 6, "appraisal_score": 6}},
         "BTP": {"1.1": {"score": 4, "appraisal_score": 3}, "2.2": {"score": 6, "appraisal_score": 5}},
         "TTCP": {"1.1": {"score": 4, "appraisal_score": 4}, "2.2": {"score": 6, "appraisal_score": 6}},
         "NHNN": {"1.1": {"score": 2, "appraisal_score": 2}, "2.2": {"score": 6, "appraisal_score": 6}}}


def results(annulled=(), framework=MINI):
    fw = rules.validate_definition(framework, kind="ministry")
    rows = par_index.ministry_results(fw, MINISTRIES, ITEMS, RESPONSES, annulled, BEST, DEFAULT_GRADES)
    return {r["unit"]: r for r in rows}, [r["unit"] for r in rows]


def test_each_ministry_gets_the_survey_points_of_the_provinces_evaluating_it():
    by_unit, order = results()
    # BNV 1.2: group 2 (1.0 + 0.8) / 2 = 0.9, group 3 0.6 → 0.75 × 6 = 4.5; 2.1: (0.75 + 0.5) / 2 × 4 = 2.5
    assert by_unit["BNV"]["lines"] == {"1.1": 4, "1.2": 4.5, "2.1": 2.5, "2.2": 6}
    assert by_unit["BNV"]["parts"]["survey"] == {"points": 7, "max": 10}
    assert (by_unit["BNV"]["points"], by_unit["BNV"]["index"], by_unit["BNV"]["responses"]) == (17, 85, 3)
    # BTP 1.2: (1.0 + 0.2) / 2 × 6 = 3.6; 2.1: (1.0 + 0) / 2 × 4 = 2; 3 + 5 appraised → 13.6 of 20
    assert by_unit["BTP"]["lines"]["1.2"] == 3.6 and by_unit["BTP"]["lines"]["2.1"] == 2
    assert (by_unit["BTP"]["points"], by_unit["BTP"]["index"], by_unit["BTP"]["grade"]) == (13.6, 68, "C")
    # TTCP 1.2: (1.0 + 0.8) / 2 × 6 = 5.4; 2.1: (0.75 + 1.0) / 2 × 4 = 3.5; 10 + 8.9 = 18.9 → 94.5
    assert (by_unit["TTCP"]["points"], by_unit["TTCP"]["index"], by_unit["TTCP"]["grade"]) == (18.9, 94.5, "A")
    # no provincial department answers about the State Bank: no survey points
    assert by_unit["NHNN"]["parts"]["survey"]["points"] == 0 and by_unit["NHNN"]["index"] == 40
    assert by_unit["NHNN"]["responses"] == 0


def test_an_unranked_ministry_has_an_index_and_no_rank_and_takes_no_place_from_the_ranked():
    by_unit, order = results()
    assert order == ["BNV", "BTP", "NHNN", "TTCP"]
    assert [by_unit[u]["rank"] for u in order] == [1, 2, 3, None]
    # the highest index of all, yet no rank: the ranked ones are numbered among themselves
    assert by_unit["TTCP"]["index"] > by_unit["BNV"]["index"] and by_unit["TTCP"]["ranked"] is False
    assert by_unit["BNV"]["ranked"] is True and by_unit["NHNN"]["ranked"] is True  # ranked when data is silent


def test_annulling_a_province_removes_its_respondents_answers_from_every_ministry():
    by_unit, order = results(annulled={"02"})
    # BNV without 02's answer: 1.2 (1.0 + 0.6) / 2 × 6 = 4.8; 2.1 (1.0 + 0.5) / 2 × 4 = 3 → 10 + 7.8 = 17.8
    assert by_unit["BNV"]["lines"] == {"1.1": 4, "1.2": 4.8, "2.1": 3, "2.2": 6}
    assert (by_unit["BNV"]["points"], by_unit["BNV"]["index"], by_unit["BNV"]["responses"]) == (17.8, 89, 2)
    # BTP keeps only 03's group-3 answer: 0.2 × 6 = 1.2, 0 × 4 = 0 → 8 + 1.2 = 9.2 → 46
    assert (by_unit["BTP"]["points"], by_unit["BTP"]["index"], by_unit["BTP"]["responses"]) == (9.2, 46, 1)
    assert by_unit["TTCP"]["index"] == 94.5  # nobody of 02 evaluated it
    assert [by_unit[u]["annulled"] for u in order] == [False] * 4  # the province is annulled, not the ministries
    # reinstating (no annulled province) gives back the first figures
    assert results()[0]["BNV"]["index"] == 85


def test_the_framework_may_count_every_response_once_instead_of_averaging_groups():
    by_unit, _ = results(framework={**MINI, "survey_average": "respondents"})
    # BNV 1.2: (1.0 + 0.6 + 0.8) / 3 × 6 = 4.8; 2.1: (1.0 + 0.5 + 0.5) / 3 × 4 = 2.6667 → 17.4667 → 87.33
    assert by_unit["BNV"]["lines"]["1.2"] == 4.8 and by_unit["BNV"]["lines"]["2.1"] == 2.67
    assert (by_unit["BNV"]["points"], by_unit["BNV"]["index"]) == (17.47, 87.33)


def test_responses_are_split_by_the_ministry_they_evaluate_leaving_out_annulled_provinces():
    split = par_index.ministry_responses(RESPONSES, ["BNV", "BTP", "TTCP", "NHNN"], {"01"})
    assert {code: [r["unit"] for r in rows] for code, rows in split.items()} == {
        "BNV": ["02"], "BTP": ["02", "03"], "TTCP": ["03"], "NHNN": []}


def test_ranking_provinces_is_unchanged_by_units_of_two_kinds():
    rows = [{"unit": "02", "index": 80}, {"unit": "01", "index": 90}, {"unit": "03", "index": 80}]
    assert [(r["unit"], r["rank"]) for r in par_index.rank(rows)] == [("01", 1), ("02", 2), ("03", 2)]
