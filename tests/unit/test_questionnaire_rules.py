"""Questionnaire rules: what a definition must meet, how answers are checked, and how they turn into points."""
import copy
import json
from pathlib import Path

import pytest

from chalicelib.domain import questionnaire as rules
from chalicelib.errors import ValidationError

DATA = Path(__file__).resolve().parents[2] / "chalicelib" / "data"
SCALE = [{"value": "1", "label": "Hoàn toàn không đồng ý", "score": 1},
         {"value": "2", "label": "Không đồng ý", "score": 2},
         {"value": "3", "label": "Đồng ý", "score": 3},
         {"value": "4", "label": "Hoàn toàn đồng ý", "score": 4}]


def definition(**over) -> dict:
    """A small valid questionnaire: two scale questions on criterion 3.5, a scored multi on 7.5, an optional text."""
    data = {
        "title": "Phiếu mẫu — Phiếu đánh giá địa phương",
        "description": "Dòng một\n\n\n\nDòng  hai",
        "sample": True,
        "sections": [
            {"title": "I. Cải cách thủ tục hành chính", "questions": [
                {"id": "C1", "text": "Thủ tục hành chính được công khai đầy đủ.", "type": "single", "required": True,
                 "criterion": "3.5", "options": copy.deepcopy(SCALE)},
                {"id": "C2", "text": "Bộ phận Một cửa hoạt động hiệu quả.", "type": "single", "criterion": "3.5",
                 "options": copy.deepcopy(SCALE)},
            ]},
            {"title": "II. Chính quyền điện tử", "questions": [
                {"id": "C3", "text": "Các hệ thống đang dùng", "type": "multi", "required": False, "criterion": "7.5",
                 "options": [{"value": "a", "label": "Chữ ký số", "score": 0.25},
                             {"value": "b", "label": "Một cửa điện tử", "score": 0.25},
                             {"value": "c", "label": "Chưa dùng", "score": 0}]},
                {"id": "C4", "text": "Ý kiến khác", "type": "text", "required": False, "max_length": 20},
            ]},
        ],
    }
    data.update(over)
    return data


def errors_of(data) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        rules.validate_definition(data)
    return {d["field"]: d["message"] for d in caught.value.details}


def test_a_valid_definition_comes_back_normalised_with_defaults_filled_in():
    data = definition()
    data["sections"][0]["questions"][0]["text"] = "  Thủ tục   hành chính\u00a0được công khai đầy đủ. "
    data["sections"][0]["questions"][0]["options"][0]["value"] = 1
    result = rules.validate_definition(data)
    assert set(result) == {"title", "description", "sample", "sections"}
    assert result["description"] == "Dòng một\n\nDòng hai"
    first, second = result["sections"][0]["questions"]
    assert first["text"] == "Thủ tục hành chính được công khai đầy đủ."
    assert first["options"][0] == {"value": "1", "label": "Hoàn toàn không đồng ý", "score": 1}
    assert second["required"] is True and second["max_length"] is None
    text = result["sections"][1]["questions"][1]
    assert text == {"id": "C4", "text": "Ý kiến khác", "type": "text", "required": False, "criterion": None,
                    "options": [], "max_length": 20}
    assert rules.validate_definition(result) == result


def test_every_shipped_sample_questionnaire_is_valid_and_clearly_a_sample():
    campaign = json.loads((DATA / "campaigns" / "2021.json").read_text(encoding="utf-8"))
    files = set(campaign["questionnaire_files"].values())
    assert len(files) >= 2
    for ref in files:
        result = rules.validate_definition(json.loads((DATA / ref).read_text(encoding="utf-8")))
        qs = rules.questions(result)
        assert result["sample"] is True and result["title"].startswith("Phiếu mẫu — ")
        assert 15 <= len(qs) <= 25
        assert sum(q["type"] == "multi" for q in qs) >= 2
        assert [q["required"] for q in qs if q["type"] == "text"] == [False]
        assert all(q["criterion"] for q in qs if q["type"] == "single")


def test_the_campaign_names_a_sample_for_every_questionnaire_its_groups_answer():
    campaign = json.loads((DATA / "campaigns" / "2021.json").read_text(encoding="utf-8"))
    needed = {qid for qid, _, _ in rules.needed(campaign["groups"])}
    assert needed == {"locality-1", "locality-2", "locality-3", "locality-4", "ministry-2", "ministry-3"}
    assert set(campaign["questionnaire_files"]) == needed


def test_duplicate_question_ids_are_refused_naming_the_duplicate():
    data = definition()
    data["sections"][1]["questions"][0]["id"] = "c1"
    found = errors_of(data)
    assert "Mã câu hỏi “c1” bị trùng" in found["sections[1].questions[0].id"]
    assert "sections[0].questions[0]" in found["sections[1].questions[0].id"]


def test_a_choice_question_needs_at_least_two_options_with_unique_values_and_labels():
    data = definition()
    data["sections"][0]["questions"][0]["options"] = []
    data["sections"][0]["questions"][1]["options"][1]["value"] = "1"
    data["sections"][0]["questions"][1]["options"][3]["label"] = "hoàn toàn KHÔNG đồng ý"
    found = errors_of(data)
    assert "ít nhất 2 phương án" in found["sections[0].questions[0].options"]
    assert "“1” bị trùng" in found["sections[0].questions[1].options[1].value"]
    assert "bị trùng" in found["sections[0].questions[1].options[3].label"]


def test_scores_must_be_numbers_and_a_scored_question_must_name_its_criterion():
    data = definition()
    data["sections"][0]["questions"][0]["options"][2]["score"] = "ba"
    data["sections"][0]["questions"][1]["options"][2]["score"] = True
    data["sections"][1]["questions"][0]["criterion"] = None
    found = errors_of(data)
    assert "phải là một số" in found["sections[0].questions[0].options[2].score"]
    assert "phải là một số" in found["sections[0].questions[1].options[2].score"]
    assert "tiêu chí" in found["sections[1].questions[0].criterion"]


def test_an_unscored_question_may_leave_out_criterion_and_scores():
    data = definition()
    data["sections"][1]["questions"][0] = {"id": "C3", "text": "Lĩnh vực cần ưu tiên", "type": "multi",
                                           "options": [{"value": "1", "label": "Thủ tục"},
                                                       {"value": "2", "label": "Bộ máy"}]}
    result = rules.validate_definition(data)
    assert [o["score"] for o in result["sections"][1]["questions"][0]["options"]] == [0, 0]


@pytest.mark.parametrize("code, ok", [("3", True), ("3.2", True), ("3.2.1", True), ("10.12.3", True),
                                      ("3.", False), ("III.2", False), ("3,2", False), ("a", False)])
def test_criterion_codes_are_numbers_separated_by_dots(code, ok):
    data = definition()
    data["sections"][0]["questions"][0]["criterion"] = code
    if ok:
        assert rules.validate_definition(data)["sections"][0]["questions"][0]["criterion"] == code
    else:
        assert "không đúng định dạng" in errors_of(data)["sections[0].questions[0].criterion"]


def test_required_must_be_a_boolean_and_the_type_one_of_three():
    data = definition()
    data["sections"][0]["questions"][0]["required"] = "Có"
    data["sections"][0]["questions"][1]["type"] = "scale"
    found = errors_of(data)
    assert "true hoặc false" in found["sections[0].questions[0].required"]
    assert "single" in found["sections[0].questions[1].type"]


def test_a_text_question_has_no_options_and_a_bounded_maximum_length():
    data = definition()
    data["sections"][1]["questions"][1]["options"] = SCALE
    data["sections"][1]["questions"][1]["max_length"] = 99999
    found = errors_of(data)
    assert "không có phương án" in found["sections[1].questions[1].options"]
    assert "độ dài tối đa" in found["sections[1].questions[1].max_length"]


def test_title_sections_and_question_texts_must_not_be_empty():
    data = definition(title="   ")
    data["sections"][0]["title"] = ""
    data["sections"][0]["questions"][0]["text"] = " "
    data["sections"][1]["questions"] = []
    found = errors_of(data)
    assert found["title"] == "Thiếu tên phiếu."
    assert "chưa có tên" in found["sections[0].title"]
    assert "chưa có nội dung" in found["sections[0].questions[0].text"]
    assert "chưa có câu hỏi" in found["sections[1].questions"]
    assert "ít nhất một phần" in errors_of(definition(sections=[]))["sections"]
    assert errors_of([]) == {"": "Không phải đối tượng JSON."}


def test_sizes_are_limited():
    many = [{"id": f"Q{i}", "text": "Câu hỏi", "type": "single", "criterion": "1", "options": SCALE}
            for i in range(rules.MAX_QUESTIONS + 1)]
    assert "tối đa 200 câu hỏi" in errors_of(definition(sections=[{"title": "A", "questions": many}]))[
        "sections[0].questions"]
    data = definition()
    data["sections"][0]["questions"][0]["options"] = [{"value": str(i), "label": f"Mức {i}", "score": i}
                                                      for i in range(21)]
    assert "tối đa 20 phương án" in errors_of(data)["sections[0].questions[0].options"]
    assert "300 ký tự" in errors_of(definition(title="x" * 301))["title"]


def test_every_problem_is_reported_at_once():
    data = definition(title="")
    data["sections"][0]["questions"][0]["criterion"] = "x"
    data["sections"][1]["questions"][1]["max_length"] = 0
    assert len(errors_of(data)) == 3


def test_qids_combine_purpose_and_group():
    assert rules.qid_for("locality", "1") == "locality-1"
    assert rules.parse_qid("ministry-2") == ("ministry", "2")
    assert rules.parse_qid("other-2") is None and rules.parse_qid("locality") is None


# ---- answers ------------------------------------------------------------------------------------------------


@pytest.fixture
def valid():
    return rules.validate_definition(definition())


def test_answers_are_normalised_in_the_questionnaires_order(valid):
    answers = rules.validate_answers(valid, {"C4": "  Cần  thêm\r\nhướng dẫn ", "C3": ["b", "a", "a"], "C1": 4,
                                             "C2": "3"})
    assert list(answers) == ["C1", "C2", "C3", "C4"]
    assert answers == {"C1": "4", "C2": "3", "C3": ["a", "b"], "C4": "Cần thêm\nhướng dẫn"}


def test_a_submission_must_answer_every_required_question_but_a_draft_need_not(valid):
    with pytest.raises(ValidationError) as caught:
        rules.validate_answers(valid, {"C1": "2"})
    [detail] = caught.value.details
    assert detail["question"] == "C2" and detail["field"] == "answers.C2"
    assert "Chưa trả lời câu bắt buộc C2" in detail["message"]
    assert rules.validate_answers(valid, {"C1": "2"}, complete=False) == {"C1": "2"}
    assert rules.validate_answers(valid, {"C1": "", "C3": [], "C4": ""}, complete=False) == {}


def test_unknown_questions_and_values_are_refused_naming_the_question(valid):
    with pytest.raises(ValidationError) as caught:
        rules.validate_answers(valid, {"C1": "9", "C2": ["1"], "C3": ["z"], "C4": "x" * 21, "C99": "1"})
    found = {d["question"]: d["message"] for d in caught.value.details}
    assert set(found) == {"C1", "C2", "C3", "C4", "C99"}
    assert "“9” không có trong câu hỏi" in found["C1"]
    assert "chỉ chọn một phương án" in found["C2"]
    assert "“z” không có" in found["C3"]
    assert "dài 21 ký tự; tối đa 20" in found["C4"]
    assert "không có câu hỏi “C99”" in found["C99"]
    with pytest.raises(ValidationError):
        rules.validate_answers(valid, ["C1"])


def test_wrong_shapes_are_refused(valid):
    with pytest.raises(ValidationError) as caught:
        rules.validate_answers(valid, {"C1": True, "C2": "1", "C3": "a", "C4": 5})
    assert {d["question"] for d in caught.value.details} == {"C1", "C3", "C4"}


# ---- scoring ------------------------------------------------------------------------------------------------


def test_scores_add_up_per_criterion(valid):
    answers = rules.validate_answers(valid, {"C1": "4", "C2": "3", "C3": ["a", "b"], "C4": "ý kiến"})
    assert rules.score(valid, answers) == {"3.5": 7, "7.5": 0.5}


def test_unanswered_criteria_score_zero_and_text_questions_score_nothing(valid):
    assert rules.score(valid, {"C1": "1"}) == {"3.5": 1, "7.5": 0}


def test_the_most_points_per_criterion_follow_the_best_options(valid):
    assert rules.max_points(valid) == {"3.5": 8, "7.5": 0.5}
