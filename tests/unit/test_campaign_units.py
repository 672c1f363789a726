"""Units of two kinds in campaign data: provinces and the ministries and agencies assessed that year."""
import json
import unicodedata
from datetime import date

import pytest

from chalicelib.domain import campaign as rules
from chalicelib.domain.roster import Group, MinistryResolver, ministry_unit_code, validate_row
from chalicelib.errors import ValidationError
from chalicelib.formats import datafiles
from chalicelib.formats.datafiles import DATA_DIR

TODAY = date(2022, 1, 4)


def definition(**over):
    base = {"id": "thu", "name": "Đợt thử", "year": 2022,
            "groups": [{"code": "1", "name": "Lãnh đạo cấp sở", "questionnaires": ["locality", "ministry"]}],
            "phases": [{"code": "survey", "opens": "2022-01-05", "closes": "2022-01-20"}]}
    base.update(over)
    return base


def test_the_2021_campaign_carries_63_provinces_and_the_19_ministries_assessed_17_of_them_ranked():
    spec, units = datafiles.load_campaign("2021", datafiles.UNIT_KINDS)
    built = rules.build(spec, units, TODAY)
    provinces, ministries = rules.units_of(built["units"], "province"), rules.units_of(built["units"], "ministry")
    assert len(provinces) == 63 and len(ministries) == 19
    assert all(u["ranked"] for u in provinces)
    assert sorted(u["name"] for u in ministries if not u["ranked"]) == ["Thanh tra Chính phủ", "Ủy ban Dân tộc"]
    assert {u["code"] for u in ministries} >= {"BNV", "BTP", "BKHCN", "NHNN", "UBDT", "TTCP"}
    # the names are those the departments list gives as managing ministries (except the State Bank, which directs
    # no provincial department), so a respondent's managing ministry finds its unit
    managing = {d["ministry"] for d in built["departments"]}
    assert {u["name"] for u in ministries} - managing == {"Ngân hàng Nhà nước Việt Nam"}
    assert {"Văn phòng Chính phủ"} == managing - {u["name"] for u in ministries}


def test_the_demo_campaign_has_the_same_units_and_the_shipped_frameworks_per_kind():
    spec, units = datafiles.load_campaign("demo", datafiles.UNIT_KINDS)
    assert [u["code"] for u in units] == [u["code"] for u in datafiles.load_campaign("2021", datafiles.UNIT_KINDS)[1]]
    assert datafiles.framework_files(spec) == {"province": "frameworks/sample-2021-province.json",
                                               "ministry": "frameworks/sample-2021-ministry.json"}


def test_the_loader_returns_provinces_unless_asked_for_every_kind():
    _, units = datafiles.load_campaign("2021")
    assert len(units) == 63 and {u["kind"] for u in units} == {"province"}
    # the provinces file's own "kind" (tỉnh or centrally governed city) is kept as the province's type
    assert units[0]["type"] == "thanh_pho_truc_thuoc_tw" and units[1]["type"] == "tinh"
    _, ministries = datafiles.load_campaign("2021", ("ministry",))
    assert len(ministries) == 19 and ministries[0] == {"code": "BNG", "name": "Bộ Ngoại giao", "ranked": True,
                                                       "kind": "ministry"}


def test_a_campaign_file_without_ministries_keeps_working(tmp_path):
    path = tmp_path / "tinh-34.json"
    path.write_text(json.dumps(definition(units=[{"code": f"{i:02d}", "name": f"Tỉnh {i}"} for i in range(1, 35)])),
                    encoding="utf-8")
    spec, units = datafiles.load_campaign(str(path), datafiles.UNIT_KINDS)
    built = rules.build(spec, units, TODAY)
    assert len(built["units"]) == 34 and rules.units_of(built["units"], "ministry") == []
    assert built["units"][0] == {"code": "01", "name": "Tỉnh 1", "full_name": "Tỉnh 1", "kind": "province",
                                 "ranked": True}


def test_units_without_kind_or_ranked_are_ranked_provinces():
    built = rules.build(definition(), [{"code": "01", "name": "Hà Nội"},
                                       {"code": "BNV", "name": "Bộ Nội vụ", "kind": "ministry"},
                                       {"code": "UBDT", "name": "Ủy ban Dân tộc", "kind": "ministry",
                                        "ranked": False}], TODAY)
    assert [(u["code"], u["kind"], u["ranked"]) for u in built["units"]] == [
        ("01", "province", True), ("BNV", "ministry", True), ("UBDT", "ministry", False)]


@pytest.mark.parametrize("unit, field, words", [
    ({"code": "B01", "name": "Bộ X", "kind": "bo"}, "units[1].kind", "Loại đơn vị"),
    ({"code": "BNV", "name": "Bộ Nội vụ", "kind": "ministry", "ranked": "có"}, "units[1].ranked", "true hoặc false"),
    ({"code": "01", "name": "Bộ Nội vụ", "kind": "ministry"}, "units[1].code", "bắt đầu bằng chữ cái"),
    ({"code": "HN", "name": "Hà Nội"}, "units[1].code", "bắt đầu bằng chữ số"),
])
def test_a_unit_of_an_unknown_kind_or_a_code_one_kind_could_share_with_the_other_is_refused(unit, field, words):
    with pytest.raises(ValidationError) as caught:
        rules.build(definition(), [{"code": "02", "name": "Hà Giang"}, unit], TODAY)
    assert any(d["field"] == field and words in d["message"] for d in caught.value.details)


def test_a_campaign_of_ministries_only_is_refused_and_codes_are_unique_across_kinds():
    with pytest.raises(ValidationError) as caught:
        rules.build(definition(), [{"code": "BNV", "name": "Bộ Nội vụ", "kind": "ministry"}], TODAY)
    assert [d["field"] for d in caught.value.details] == ["units"]
    with pytest.raises(ValidationError) as caught:
        rules.build(definition(), [{"code": "01", "name": "Hà Nội"}, {"code": "BNV", "name": "Bộ Nội vụ",
                                                                      "kind": "ministry"},
                                   {"code": "BNV", "name": "Bộ Nội vụ", "kind": "ministry"}], TODAY)
    assert "trùng" in caught.value.details[0]["message"]


# ---- the managing ministry as a unit ---------------------------------------------------------------------

_deps = json.loads((DATA_DIR / "reference" / "departments-2021.json").read_text(encoding="utf-8"))
DEPARTMENTS = _deps["in_every_province"] + _deps["in_some_provinces"]
MINISTRIES = datafiles.load_campaign("2021", ("ministry",))[1]


def test_every_department_resolves_to_the_unit_of_its_ministry_or_to_none_when_it_is_not_assessed():
    resolver = MinistryResolver(DEPARTMENTS, MINISTRIES)
    resolved = {d["name"]: resolver.unit_of(resolver.from_agency(d["name"])[0]) for d in DEPARTMENTS}
    assert resolved["Sở Nội vụ"] == "BNV" and resolved["Sở Tư pháp"] == "BTP"
    assert resolved["Thanh tra tỉnh"] == "TTCP" and resolved["Ban Dân tộc"] == "UBDT"
    assert resolved["Sở Ngoại vụ"] == "BNG" and resolved["Sở Quy hoạch - Kiến trúc"] == "BXD"
    assert resolved["Văn phòng Ủy ban nhân dân"] is None
    assert [name for name, code in resolved.items() if code is None] == ["Văn phòng Ủy ban nhân dân"]
    assert resolver.assesses_ministries is True
    assert MinistryResolver(DEPARTMENTS).assesses_ministries is False


GROUPS = [Group("1", "Đại biểu HĐND cấp tỉnh", ("locality",), 1),
          Group("2", "Lãnh đạo cấp sở", ("locality", "ministry")),
          Group("3", "Lãnh đạo cấp phòng thuộc sở", ("locality", "ministry"))]


def row(**over):
    values = {"full_name": "Nguyễn Văn An", "position": "Giám đốc", "agency": "Sở Nội vụ", "group": "2",
              "email": "an.nv@hanoi.gov.vn"}
    values.update(over)
    return values


def test_a_department_leader_evaluates_the_unit_of_the_ministry_directing_the_department():
    resolver = MinistryResolver(DEPARTMENTS, MINISTRIES)
    record = validate_row(2, row(agency="Phòng Tổ chức cán bộ, Sở Y tế tỉnh Lào Cai", group="3"), GROUPS,
                          resolver).record
    assert (record["ministry"], record["ministry_unit"], record["questionnaires"]) == (
        "Bộ Y tế", "BYT", ["locality", "ministry"])
    # assessed but not ranked: still evaluated (it gets an index, no rank)
    record = validate_row(2, row(agency="Thanh tra tỉnh Hà Giang"), GROUPS, resolver).record
    assert record["ministry_unit"] == "TTCP" and "ministry" in record["questionnaires"]


def test_a_department_whose_ministry_is_not_assessed_answers_no_ministry_questionnaire():
    resolver = MinistryResolver(DEPARTMENTS, MINISTRIES)
    result = validate_row(2, row(agency="Văn phòng UBND tỉnh Cao Bằng"), GROUPS, resolver)
    assert result.errors == []
    assert (result.record["ministry"], result.record["ministry_unit"], result.record["questionnaires"]) == (
        "Văn phòng Chính phủ", None, ["locality"])


def test_without_ministry_units_every_department_leader_answers_as_before_evaluating_no_unit():
    resolver = MinistryResolver(DEPARTMENTS)
    record = validate_row(2, row(agency="Văn phòng UBND tỉnh Cao Bằng"), GROUPS, resolver).record
    assert (record["ministry"], record["questionnaires"]) == ("Văn phòng Chính phủ", ["locality", "ministry"])
    # the record has the shape it had before units had kinds
    assert "ministry_unit" not in record and "ministry_unit" not in validate_row(2, row(), GROUPS, resolver).record


def test_the_override_column_may_name_an_assessed_ministry_by_its_name_or_its_unit_code():
    resolver = MinistryResolver(DEPARTMENTS, MINISTRIES)
    agency = "Ban Quản lý khu kinh tế"
    for given in ("Bộ Kế hoạch và Đầu tư", "BKHDT", "bkhdt"):
        record = validate_row(2, row(agency=agency, ministry=given), GROUPS, resolver).record
        assert (record["ministry"], record["ministry_unit"], record["ministry_source"]) == (
            "Bộ Kế hoạch và Đầu tư", "BKHDT", "override")
    # a ministry assessed that directs no provincial department is known from the campaign's units
    record = validate_row(2, row(agency=agency, ministry="Ngân hàng Nhà nước Việt Nam"), GROUPS, resolver).record
    assert record["ministry_unit"] == "NHNN"
    # a ministry the campaign knows from its departments but does not assess: no ministry questionnaire
    record = validate_row(2, row(agency=agency, ministry="Văn phòng Chính phủ"), GROUPS, resolver).record
    assert record["ministry_unit"] is None and record["questionnaires"] == ["locality"]
    bad = validate_row(2, row(agency=agency, ministry="Bộ Không Có"), GROUPS, resolver)
    assert bad.record is None and bad.errors[0][0] == "ministry"


def test_an_exempt_ministry_evaluates_no_unit_and_the_lookup_ignores_case_and_accents_encoding():
    resolver = MinistryResolver(DEPARTMENTS, MINISTRIES)
    record = validate_row(2, row(), GROUPS, resolver, {"Bộ Nội vụ"}).record
    assert record["ministry_unit"] is None and record["questionnaires"] == ["locality"]
    assert ministry_unit_code(unicodedata.normalize("NFD", "BỘ NỘI VỤ"), MINISTRIES) == "BNV"
    assert ministry_unit_code("Văn phòng Chính phủ", MINISTRIES) is None and ministry_unit_code(None, MINISTRIES) is None
