import json

import pytest

from chalicelib.domain.roster import Group, MinistryResolver, deduplicate, find_header, parse_group, validate_row
from chalicelib.formats.datafiles import DATA_DIR

GROUPS = [Group("1", "Đại biểu HĐND cấp tỉnh", ("locality",), 1),
          Group("2", "Lãnh đạo cấp sở", ("locality", "ministry")),
          Group("3", "Lãnh đạo cấp phòng thuộc sở", ("locality", "ministry")),
          Group("4", "Lãnh đạo UBND cấp huyện", ("locality",))]
_deps = json.loads((DATA_DIR / "reference" / "departments-2021.json").read_text(encoding="utf-8"))
RESOLVER = MinistryResolver(_deps["in_every_province"] + _deps["in_some_provinces"])


def row(**over):
    values = {"full_name": "Nguyễn Văn An", "position": "Giám đốc", "agency": "Sở Nội vụ", "group": "2",
              "email": "an.nv@hanoi.gov.vn", "phone": "0912345678"}
    values.update(over)
    return values


def test_the_header_is_found_below_a_title_whatever_its_case_accents_and_spacing():
    rows = [["DANH SÁCH ĐỐI TƯỢNG ĐIỀU TRA XHH"], [],
            ["stt", "HỌ  VÀ TÊN", "Chức vụ", "Cơ quan,đơn vị công tác", "Nhóm đối tượng (bắt buộc)", "E-mail",
             "Số điện thoại"]]
    index, mapping = find_header(rows)
    assert index == 2
    assert mapping == {"stt": 0, "full_name": 1, "position": 2, "agency": 3, "group": 4, "email": 5, "phone": 6}


@pytest.mark.parametrize("value, code", [("2", "2"), (2, "2"), (2.0, "2"), ("2.0", "2"), ("Lãnh đạo cấp sở", "2"),
                                         ("LÃNH ĐẠO CẤP SỞ", "2"), ("1 - Đại biểu HĐND cấp tỉnh", "1"),
                                         ("4. Lãnh đạo UBND cấp huyện", "4")])
def test_a_group_is_given_by_its_number_or_its_name(value, code):
    assert parse_group(value, GROUPS).code == code


@pytest.mark.parametrize("agency, ministry", [
    ("Sở Nội vụ tỉnh Hà Giang", "Bộ Nội vụ"), ("SNV", "Bộ Nội vụ"), ("Sở GD&ĐT", "Bộ Giáo dục và Đào tạo"),
    ("So giao duc va dao tao", "Bộ Giáo dục và Đào tạo"), ("Phòng Tổ chức cán bộ, Sở Y tế", "Bộ Y tế"),
    ("Sở TN&MT", "Bộ Tài nguyên và Môi trường"), ("Sở LĐ-TB&XH", "Bộ Lao động - Thương binh và Xã hội"),
    ("Văn phòng UBND tỉnh", "Văn phòng Chính phủ"), ("Thanh tra tỉnh Lào Cai", "Thanh tra Chính phủ"),
    ("Sở Văn hóa, Thể thao và Du lịch", "Bộ Văn hóa, Thể thao và Du lịch"),
    ("Sở Tư pháp TP Hồ Chí Minh", "Bộ Tư pháp"), ("Sở KH&CN", "Bộ Khoa học và Công nghệ"),
])
def test_the_managing_ministry_follows_from_the_agency(agency, ministry):
    assert RESOLVER.from_agency(agency) == (ministry, [])


def test_an_agency_that_names_no_department_needs_the_override_column():
    result = validate_row(5, row(agency="Ban Quản lý khu kinh tế"), GROUPS, RESOLVER)
    assert result.record is None
    assert result.errors[0][0] == "ministry" and "ghi rõ ở cột Bộ chủ quản" in result.errors[0][1]
    fixed = validate_row(5, row(agency="Ban Quản lý khu kinh tế", ministry="Bộ Kế hoạch và Đầu tư"), GROUPS, RESOLVER)
    assert fixed.record["ministry"] == "Bộ Kế hoạch và Đầu tư" and fixed.record["ministry_source"] == "override"


def test_leaders_of_departments_answer_two_questionnaires_and_others_one():
    assert validate_row(2, row(group="3"), GROUPS, RESOLVER).record["questionnaires"] == ["locality", "ministry"]
    hdnd = validate_row(2, row(group="1", agency="HĐND tỉnh"), GROUPS, RESOLVER).record
    assert hdnd["questionnaires"] == ["locality"] and hdnd["ministry"] is None


def test_every_bad_cell_of_a_row_is_reported_in_vietnamese():
    result = validate_row(7, row(full_name="", group="9", email="a@b, c@d", phone="12345"), GROUPS, RESOLVER)
    columns = dict(result.errors)
    assert columns["full_name"] == "Thiếu họ và tên."
    assert columns["group"].startswith("Nhóm đối tượng “9” không hợp lệ. Chọn một trong: 1 – Đại biểu HĐND")
    assert columns["email"] == "Mỗi ô chỉ ghi một địa chỉ email."
    assert "Số điện thoại “12345” không hợp lệ" in columns["phone"]


def test_an_address_with_a_space_is_said_to_have_one():
    result = validate_row(7, row(email="nguyen van@hagiang.gov.vn"), GROUPS, RESOLVER)
    assert dict(result.errors)["email"] == ("Địa chỉ email “nguyen van@hagiang.gov.vn” có dấu cách; "
                                            "vui lòng xóa dấu cách.")


def test_a_phone_number_that_lost_its_leading_zero_is_restored():
    assert validate_row(2, row(phone=912345678), GROUPS, RESOLVER).record["phone"] == "0912345678"
    assert validate_row(2, row(phone="2438253536"), GROUPS, RESOLVER).record["phone"] == "02438253536"


def test_an_hdnd_delegate_who_also_leads_a_department_is_kept_as_a_delegate():
    a = validate_row(3, row(group="2"), GROUPS, RESOLVER).record
    b = validate_row(9, row(group="1", email="AN.NV@hanoi.gov.vn"), GROUPS, RESOLVER).record
    result = deduplicate([a, b], GROUPS)
    assert [r["group"] for r in result.kept] == ["1"] and not result.errors
    assert "giữ vai trò “Đại biểu HĐND cấp tỉnh” (dòng 9)" in result.warnings[0][2]


def test_two_other_groups_for_one_email_is_an_error_naming_both_rows():
    a = validate_row(3, row(group="2"), GROUPS, RESOLVER).record
    b = validate_row(8, row(group="4"), GROUPS, RESOLVER).record
    result = deduplicate([a, b], GROUPS)
    assert result.errors == [(8, "email", "Email “an.nv@hanoi.gov.vn” xuất hiện ở dòng 3 (Lãnh đạo cấp sở) và "
                                          "dòng 8 (Lãnh đạo UBND cấp huyện); mỗi người chỉ thuộc một nhóm.")]


def test_an_exact_repeat_is_dropped_with_a_warning_and_a_shared_email_is_an_error():
    a = validate_row(3, row(), GROUPS, RESOLVER).record
    again = validate_row(4, row(), GROUPS, RESOLVER).record
    other = validate_row(5, row(full_name="Trần Thị Bình"), GROUPS, RESOLVER).record
    result = deduplicate([a, again, other], GROUPS)
    assert len(result.kept) == 1 and result.warnings[0][0] == 4
    assert result.errors[0][0] == 5 and "đã dùng cho Nguyễn Văn An ở dòng 3" in result.errors[0][2]
