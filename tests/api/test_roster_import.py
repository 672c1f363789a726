import io
import unicodedata
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from builders import HEADER, person, roster_workbook, with_cached_formula
from outbox import download
from chalicelib.store.models import RespondentModel

VN = ZoneInfo("Asia/Ho_Chi_Minh")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BASE = "/campaigns/2021/units/01/roster"


@pytest.fixture
def open_roster(clock):
    clock.at(datetime(2022, 1, 10, 9, 0, tzinfo=VN))


def upload(api, token, data, mode="merge", unit="01"):
    return api.call("POST", f"/campaigns/2021/units/{unit}/roster/imports?mode={mode}", token=token,
                    headers={"content-type": XLSX}, raw=data)


def roster(api, token, query=""):
    return api.call("GET", f"{BASE}?limit=500{query}", token=token).data


def stored_items():
    return list(RespondentModel.scan())



def test_the_template_is_built_from_the_campaigns_groups(api, tokens):
    r = api.call("GET", "/campaigns/2021/roster-template.xlsx", token=tokens["01"], headers={"accept": XLSX})
    assert r.status_code == 200 and r.headers["content-type"] == XLSX
    wb = load_workbook(io.BytesIO(r.body))
    assert wb.sheetnames == ["Hướng dẫn", "Danh sách", "Nhóm đối tượng", "Bộ, ngành"]
    sheet = wb["Danh sách"]
    assert [c.value for c in sheet[1]][:8] == HEADER and sheet.freeze_panes == "A2"
    assert sheet["A2"].value == "Ví dụ"
    groups, ministries = sheet.data_validations.dataValidation
    assert groups.formula1 == "'Nhóm đối tượng'!$A$1:$A$4"
    # "Bộ chủ quản" (column I) offers the accepted ministries, the ones the campaign detail lists for the dialog
    accepted = api.call("GET", "/campaigns/2021", token=tokens["01"]).data["ministries"]
    listed = [r[0] for r in wb["Bộ, ngành"].iter_rows(values_only=True)]
    assert listed == accepted and "Bộ Y tế" in listed and "Bộ Nội vụ" in listed
    assert ministries.formula1 == f"'Bộ, ngành'!$A$1:$A${len(listed)}" and str(ministries.sqref).startswith("I2:I")
    assert ministries.errorStyle == "warning"
    assert [r[0] for r in wb["Nhóm đối tượng"].iter_rows(values_only=True)][0] == "1. Đại biểu HĐND cấp tỉnh"
    guide = " ".join(str(r[0]) for r in wb["Hướng dẫn"].iter_rows(values_only=True) if r[0])
    assert "hết ngày 15/01/2022" in guide and "Lãnh đạo cấp phòng thuộc sở" in guide


def test_the_filled_template_imports_with_the_example_row_ignored(api, tokens, open_roster):
    r = api.call("GET", "/campaigns/2021/roster-template.xlsx", token=tokens["01"], headers={"accept": XLSX})
    wb = load_workbook(io.BytesIO(r.body))
    wb["Danh sách"].append(person(1, group="2. Lãnh đạo cấp sở"))
    out = io.BytesIO()
    wb.save(out)
    result = upload(api, tokens["01"], out.getvalue())
    assert result.status_code == 200, result.data
    assert result.data["accepted"] == 1 and result.data["total"] == 1


def test_a_clean_import_stores_every_row_with_its_questionnaires_and_ministry(api, tokens, open_roster):
    data = roster_workbook([person(1, group="1", agency="HĐND tỉnh Hà Giang"), person(2, agency="Sở Y tế"),
                            person(3, group="3", agency="Phòng Kế toán, Sở Tài chính"), person(4, group="4",
                                                                                        agency="UBND huyện Bắc Mê")])
    r = upload(api, tokens["01"], data)
    assert r.status_code == 200, r.data
    assert (r.data["accepted"], r.data["rejected"], r.data["added"], r.data["total"]) == (4, 0, 4, 4)
    listed = roster(api, tokens["01"])
    assert [c["count"] for c in listed["counts"]] == [1, 1, 1, 1] and listed["status"] == "draft"
    by_email = {i["email"]: i for i in listed["items"]}
    assert by_email["nguoi2@hagiang.gov.vn"]["ministry"] == "Bộ Y tế"
    assert by_email["nguoi2@hagiang.gov.vn"]["questionnaires"] == ["locality", "ministry"]
    assert by_email["nguoi3@hagiang.gov.vn"]["ministry"] == "Bộ Tài chính"
    assert by_email["nguoi1@hagiang.gov.vn"]["questionnaires"] == ["locality"]
    assert [i["email"] for i in listed["items"]] == [f"nguoi{i}@hagiang.gov.vn" for i in range(1, 5)]


def test_importing_the_same_file_twice_gives_the_same_roster(api, tokens, open_roster):
    data = roster_workbook([person(i) for i in range(1, 6)])
    first = upload(api, tokens["01"], data)
    rids = [i["rid"] for i in roster(api, tokens["01"])["items"]]
    second = upload(api, tokens["01"], data)
    assert second.status_code == 200
    assert (second.data["added"], second.data["unchanged"], second.data["total"]) == (0, 5, 5)
    assert [i["rid"] for i in roster(api, tokens["01"])["items"]] == rids
    assert len(stored_items()) == 5 and first.data["total"] == 5


def test_merge_adds_and_updates_while_replace_drops_who_is_not_in_the_file(api, tokens, open_roster):
    upload(api, tokens["01"], roster_workbook([person(1), person(2)]))
    merged = upload(api, tokens["01"], roster_workbook([person(2, position="Giám đốc"), person(3)]))
    assert (merged.data["added"], merged.data["updated"], merged.data["total"]) == (1, 1, 3)
    replaced = upload(api, tokens["01"], roster_workbook([person(3)]), mode="replace")
    assert (replaced.data["removed"], replaced.data["total"]) == (2, 1)
    assert [i["email"] for i in roster(api, tokens["01"])["items"]] == ["nguoi3@hagiang.gov.vn"]
    assert len(stored_items()) == 1


def test_a_messy_clerks_file_is_understood(api, tokens, open_roster):
    nbsp = "\u00a0"
    header = ["  stt ", "HỌ VÀ TÊN", unicodedata.normalize("NFD", "Chức vụ"), "Cơ quan,  đơn vị công tác",
              "nhóm đối tượng", "E-mail", "Số điện thoại", "Ghi chú"]
    rows = [
        [1, f"  Nguyễn{nbsp}Thị  Hoa ", "Giám đốc", "Sở Tư pháp", 2, "Hoa.NT@HaGiang.gov.vn", 912345678, None],
        [None] * 8,
        [2, unicodedata.normalize("NFD", "Đặng Văn Ngữ"), "Phó Giám đốc", "Sở GD&ĐT", "2", "ngu@hagiang.gov.vn",
         "0912 345 679", None],
        [3, "Lê Thị Ánh", "Trưởng phòng", "Sở Xây dựng", "3", "anh@hagiang.gov.vn", "+84 912 345 680", None],
        [None] * 8, [None] * 8, ["", " ", nbsp, None, None, None, None, None],
    ]
    data = roster_workbook(rows, header=header, above=[["DANH SÁCH ĐỐI TƯỢNG ĐIỀU TRA XHH NĂM 2021"], []],
                           merges=["A1:H1"], extra_sheets=["Ghi chú"])
    r = upload(api, tokens["01"], data)
    assert r.status_code == 200, r.data
    assert r.data["header_row"] == 3 and r.data["accepted"] == 3
    items = {i["email"]: i for i in roster(api, tokens["01"])["items"]}
    assert items["hoa.nt@hagiang.gov.vn"]["full_name"] == "Nguyễn Thị Hoa"
    assert items["hoa.nt@hagiang.gov.vn"]["phone"] == "0912345678"
    assert items["ngu@hagiang.gov.vn"]["full_name"] == "Đặng Văn Ngữ"
    assert unicodedata.is_normalized("NFC", items["ngu@hagiang.gov.vn"]["full_name"])
    assert items["ngu@hagiang.gov.vn"]["ministry"] == "Bộ Giáo dục và Đào tạo"
    assert items["anh@hagiang.gov.vn"]["phone"] == "0912345680"


def test_a_group_merged_down_several_rows_applies_to_each_of_them(api, tokens, open_roster):
    rows = [person(1, group="3"), person(2, group=None), person(3, group=None), person(4, group="4")]
    r = upload(api, tokens["01"], roster_workbook(rows, merges=["E2:E4"]))
    assert r.status_code == 200, r.data
    assert [i["group"] for i in roster(api, tokens["01"])["items"]] == ["3", "3", "3", "4"]


def test_a_section_heading_row_spanning_the_columns_is_skipped(api, tokens, open_roster):
    rows = [["I. ĐẠI BIỂU HĐND TỈNH"] + [None] * 7, person(1, group="1")]
    r = upload(api, tokens["01"], roster_workbook(rows, merges=["A2:H2"]))
    assert r.status_code == 200, r.data
    assert r.data["total"] == 1 and r.data["warnings"][0]["row"] == 2


def test_a_formula_takes_its_cached_value_and_one_without_is_rejected_clearly(api, tokens, open_roster):
    data = with_cached_formula(roster_workbook([person(1, group="?"), person(2)]), "E2", "1+1", "2")
    r = upload(api, tokens["01"], data)
    assert r.status_code == 200, r.data
    assert roster(api, tokens["01"])["items"][0]["group"] == "2"
    bad = with_cached_formula(roster_workbook([person(3, group="?")]), "E2", "1+1", None)
    r = upload(api, tokens["01"], bad)
    assert r.status_code == 422
    assert r.data["errors"][0]["column"] == "Nhóm đối tượng" and "Paste Values" in r.data["errors"][0]["message"]


def test_legacy_tcvn3_and_vni_text_is_converted_and_reported(api, tokens, open_roster):
    rows = [person(1, name="NguyÔn V¨n An", position="Phã Gi¸m ®èc", agency="Së Néi vô"),
            person(2, name="Nguyeãn Vaên Bình", position="Tröôûng phoøng", agency="Sôû Y teá", group="3")]
    r = upload(api, tokens["01"], roster_workbook(rows))
    assert r.status_code == 200, r.data
    items = roster(api, tokens["01"])["items"]
    assert (items[0]["full_name"], items[0]["position"], items[0]["agency"]) == ("Nguyễn Văn An", "Phó Giám đốc",
                                                                                 "Sở Nội vụ")
    assert (items[1]["full_name"], items[1]["position"], items[1]["agency"]) == ("Nguyễn Văn Bình", "Trưởng phòng",
                                                                                 "Sở Y tế")
    messages = " ".join(e["message"] for e in r.data["encodings"])
    assert "TCVN3 (ABC)" in messages and "VNI" in messages


def test_one_bad_row_rejects_the_whole_file_and_offers_a_marked_error_workbook(api, tokens, open_roster):
    rows = [person(1), person(2, email="khong-phai-email"), person(3, group="9", phone="12345"), person(4)]
    r = upload(api, tokens["01"], roster_workbook(rows))
    assert r.status_code == 422
    assert (r.data["accepted"], r.data["rejected"]) == (0, 2)
    assert {(e["row"], e["column"]) for e in r.data["errors"]} == {(3, "Email"), (4, "Nhóm đối tượng"),
                                                                   (4, "Số điện thoại")}
    assert "chưa lưu dòng nào" in r.data["message"]
    assert stored_items() == [] and roster(api, tokens["01"])["total"] == 0
    wb = load_workbook(io.BytesIO(download(r.data["error_workbook_url"])))
    sheet = wb["Danh sách"]
    assert sheet["J1"].value.startswith("Lý do lỗi")
    assert sheet["F3"].value == "khong-phai-email" and sheet["F3"].fill.fgColor.rgb.endswith("FFC7CE")
    assert sheet["J3"].value.startswith("Dòng 3: [Email]") and sheet["J2"].value is None
    assert sheet.max_row == 5  # every uploaded row in its order, so the fixed file is complete


def test_the_fixed_error_workbook_imports(api, tokens, open_roster):
    r = upload(api, tokens["01"], roster_workbook([person(1), person(2, email="sai")]))
    wb = load_workbook(io.BytesIO(download(r.data["error_workbook_url"])))
    wb["Danh sách"]["F3"] = "nguoi2@hagiang.gov.vn"
    out = io.BytesIO()
    wb.save(out)
    fixed = upload(api, tokens["01"], out.getvalue())
    assert fixed.status_code == 200, fixed.data and fixed.data["total"] == 2


def test_an_hdnd_delegate_listed_twice_is_kept_once_as_a_delegate(api, tokens, open_roster):
    rows = [person(1, group="2"), person(1, group="1")]
    r = upload(api, tokens["01"], roster_workbook(rows))
    assert r.status_code == 200 and r.data["total"] == 1
    assert roster(api, tokens["01"])["items"][0]["group"] == "1"
    assert "Đại biểu HĐND cấp tỉnh" in r.data["warnings"][0]["message"]


def test_one_email_in_two_other_groups_is_an_error_naming_both_rows(api, tokens, open_roster):
    r = upload(api, tokens["01"], roster_workbook([person(1, group="2"), person(1, group="4")]))
    assert r.status_code == 422
    assert "dòng 2" in r.data["errors"][0]["message"] and "dòng 3" in r.data["errors"][0]["message"]


def test_an_agency_without_a_known_ministry_needs_the_override_column(api, tokens, open_roster):
    header = HEADER + ["Bộ chủ quản"]
    rows = [person(1, agency="Ban Quản lý các khu công nghiệp") + [None],
            person(2, agency="Ban Quản lý các khu công nghiệp") + ["Bộ Kế hoạch và Đầu tư"]]
    r = upload(api, tokens["01"], roster_workbook(rows, header=header))
    assert r.status_code == 422 and [e["row"] for e in r.data["errors"]] == [2]
    assert r.data["errors"][0]["column"] == "Bộ chủ quản"


def test_an_unknown_ministry_is_answered_with_the_closest_accepted_names_or_all_of_them(api, tokens, open_roster):
    header = HEADER + ["Bộ chủ quản"]
    rows = [person(1, agency="Ban Quản lý các khu công nghiệp") + ["Bộ Tài nguyen Môi trường"],
            person(2, agency="Ban Quản lý các khu công nghiệp") + ["Ủy ban Dân tộc thiểu số miền núi xa"]]
    r = upload(api, tokens["01"], roster_workbook(rows, header=header))
    assert r.status_code == 422
    close, far = (e["message"] for e in r.data["errors"])
    assert close == ("Bộ chủ quản “Bộ Tài nguyen Môi trường” không có trong danh sách bộ, ngành. "
                     "Có phải: Bộ Tài nguyên và Môi trường?")
    accepted = api.call("GET", "/campaigns/2021", token=tokens["01"]).data["ministries"]
    assert far.endswith(f"Chọn một trong: {', '.join(accepted)}.")


@pytest.mark.parametrize("data, status, words", [
    (b"STT;Ho va ten\n1;A\n", 415, "không phải tệp Excel"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, 415, ".xls"),
    (b"PK\x03\x04 truncated", 422, "bị hỏng"),
    (roster_workbook([], header=["Tên", "Tuổi"]), 422, "Không tìm thấy dòng tiêu đề"),
    (roster_workbook([]), 422, "không có dòng dữ liệu"),
])
def test_files_that_are_not_rosters_get_a_clear_4xx_and_write_nothing(api, tokens, open_roster, data, status, words):
    r = upload(api, tokens["01"], data)
    assert r.status_code == status and words in r.data["message"]
    assert stored_items() == []


def test_an_upload_over_the_body_limit_is_refused_with_413(api, tokens, open_roster):
    r = upload(api, tokens["01"], b"PK\x03\x04" + b"\0" * (4 * 1024 * 1024 + 1))
    assert r.status_code == 413 and "tối đa 4 MB" in r.data["message"]


def test_a_zip_bomb_is_refused_before_it_is_expanded(api, tokens, open_roster):
    out = io.BytesIO()
    import zipfile
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", b"<" + b"a" * (200 * 1024 * 1024))
    r = upload(api, tokens["01"], out.getvalue())
    assert r.status_code == 413 and stored_items() == []


def test_after_the_roster_deadline_imports_are_locked(api, tokens, clock):
    clock.at(datetime(2022, 1, 16, 0, 0, tzinfo=VN))
    r = upload(api, tokens["01"], roster_workbook([person(1)]))
    assert r.status_code == 423 and "15/01/2022" in r.data["message"]


def test_a_province_cannot_import_into_another_units_roster(api, tokens, open_roster):
    r = upload(api, tokens["02"], roster_workbook([person(1)]))
    assert r.status_code == 403 and stored_items() == []


def test_a_whole_file_typed_in_tcvn3_headers_included_is_read(api, tokens, open_roster):
    from chalicelib.domain.vnencoding import encode

    header = [encode(h, "TCVN3") for h in HEADER]
    rows = [[i, encode(n, "TCVN3"), encode("Trưởng phòng", "TCVN3"), encode(a, "TCVN3"), "3",
             f"p{i}@bentre.gov.vn", None, encode("Ghi chú", "TCVN3")]
            for i, (n, a) in enumerate([("Nguyễn Thị Minh Khai", "Sở Y tế tỉnh Bến Tre"),
                                        ("Trần Quốc Toản", "Sở Tư pháp tỉnh Bến Tre"),
                                        ("Cao Thị Linh", "Sở Nội vụ tỉnh Bến Tre")], start=1)]
    r = upload(api, tokens["01"], roster_workbook(rows, header=header))
    assert r.status_code == 200, r.data
    items = roster(api, tokens["01"])["items"]
    assert [i["agency"] for i in items] == ["Sở Y tế tỉnh Bến Tre", "Sở Tư pháp tỉnh Bến Tre", "Sở Nội vụ tỉnh Bến Tre"]
    assert items[0]["note"] == "Ghi chú" and items[2]["full_name"] == "Cao Thị Linh"
    assert [i["ministry"] for i in items] == ["Bộ Y tế", "Bộ Tư pháp", "Bộ Nội vụ"]


def test_rows_of_an_import_that_died_before_its_swap_are_invisible_and_swept_by_the_next(api, tokens, open_roster,
                                                                                         clock):
    from chalicelib.services.roster import _item
    from chalicelib.store import roster as store

    upload(api, tokens["01"], roster_workbook([person(1)]))
    # what a Lambda killed between writing its rows and swapping the generation leaves behind
    store.begin_generation("2021", "01", "gdead")
    store.write_generation([_item("2021", "01", "gdead", f"{i:06d}-dead", {
        "full_name": "Người Dở Dang", "position": "x", "agency": "x", "group": "2", "email": f"d{i}@x.vn",
        "questionnaires": ["locality"]}, clock()) for i in range(30)])
    assert roster(api, tokens["01"])["total"] == 1 and len(roster(api, tokens["01"])["items"]) == 1
    upload(api, tokens["01"], roster_workbook([person(1), person(2)]))
    assert len(stored_items()) == 2 and roster(api, tokens["01"])["total"] == 2
