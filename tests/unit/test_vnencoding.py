import json
import re
import time
import unicodedata
from pathlib import Path

import pytest

from chalicelib.domain import vnencoding as vn
from chalicelib.domain.vnencoding import TCVN3, VNI, convert, convert_with, detect_column, encode

REFERENCE = Path(__file__).resolve().parents[2] / "chalicelib" / "data" / "reference"


def _provinces() -> list[str]:
    data = json.loads((REFERENCE / "provinces-2021.json").read_text(encoding="utf-8"))
    return [p[k] for p in data["provinces"] for k in ("name", "full_name")]


def _agencies() -> list[str]:
    data = json.loads((REFERENCE / "departments-2021.json").read_text(encoding="utf-8"))
    entries = data["in_every_province"] + data["in_some_provinces"]
    return sorted({e[k] for e in entries for k in ("name", "ministry")})


PROVINCES = _provinces()
AGENCIES = _agencies()
PEOPLE = ["Nguyễn Thị Minh Khai", "Trần Quốc Toản", "Đặng Văn Ngữ", "Lê Thị Ánh Tuyết", "Phạm Ngọc Thạch",
          "Nguyễn Văn An", "Đặng Thị Ánh", "Võ Nguyên Giáp", "Huỳnh Tấn Phát", "Ngô Bảo Châu", "Đoàn Thị Điểm",
          "Hoàng Thị Thuỳ Dương", "Bùi Quang Huy", "Lý Thường Kiệt", "Dương Khuê", "Trịnh Công Sơn",
          "Châu Văn Liêm", "Vũ Trọng Phụng", "Nguyễn Khuyến", "Hồ Xuân Hương", "Ông Ích Khiêm"]
POSITIONS = ["Phó Giám đốc", "Trưởng phòng", "Chủ tịch UBND huyện", "Đại biểu HĐND tỉnh", "Giám đốc Sở",
             "Chuyên viên", "Phó Chủ tịch UBND tỉnh", "Chánh Văn phòng", "Thanh tra viên", "Kế toán trưởng",
             "Phó Trưởng ban Tuyên giáo", "Bí thư Đảng uỷ xã", "Công chức Tư pháp - Hộ tịch",
             "Họ và tên", "Chức vụ", "Cơ quan, đơn vị"]
VOWEL_SHAPES = ["a", "ă", "â", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "y"]
LETTERS = [vn.letter(s, t) for s in VOWEL_SHAPES for t in range(6)] + ["đ"]
# Every vowel letter with every tone, inside a real syllable ("tán", "tẫn", "kỹ"), and đ; each line after a family
# name, as in a roster (on its own "tin tín tìn tỉn tĩn tịn" in VNI is also valid TCVN3: "tin tớn tỡn tổn tún tũn").
SYLLABLES = [("k" + ch if ch[0] in "yýỳỷỹỵ" else "t" + ch + "n") for ch in LETTERS if ch != "đ"] + ["đan"]
LETTER_LINES = ["Nguyễn " + " ".join(SYLLABLES[i:i + 6]) for i in range(0, len(SYLLABLES), 6)]
VIETNAMESE = PROVINCES + AGENCIES + PEOPLE + POSITIONS + LETTER_LINES
VIETNAMESE_UPPER = [s.upper() for s in VIETNAMESE]

ASCII = ["nguyen.van.an@hanoi.gov.vn", "to-chuc@sonv.binhduong.gov.vn", "Deputy Director", "Head of Division",
         "Department of Home Affairs", "People's Committee", "UBND", "HDND", "0912345678", "+84 912 345 678",
         "024.3824.1234", "2021", "12/01/2022", "1.234.567", "Excel 2016", "N/A", "-", ""]
FOREIGN = ["Café Trung Nguyên", "Müller", "José María", "São Paulo", "naïve", "Zürich", "Hélène", "Ærø", "© 2021",
           "25°C", "100 m²", "“Quoted” – dash…", "Crème brûlée", "España", "Øresund", "façade"]

TCVN3_CAPITAL_CODES = set("ĂÂÊÔƠƯĐ")


def tcvn3_expected(text: str) -> str:
    """What a TCVN3 round trip gives back: TCVN3 has codes for only seven capitals, the others are typed with
    lowercase codes. A text in capitals (an ASCII capital after the first letter of a word that has such a code,
    no ASCII lowercase) is read as typed in a .VnTimeH all-capitals font; otherwise those letters come back
    lowercase."""
    def reliable(c):
        return (c.isascii() and c.isalpha()) or c in TCVN3_CAPITAL_CODES

    def lossy(c):
        return c.isalpha() and not reliable(c)

    words = re.findall(r"[^\W\d_]+", text)
    caps = not any(c.isascii() and c.islower() for c in text) and any(
        any(lossy(c) for c in w) and any(reliable(c) and c.isupper() for c in w[1:]) for w in words)
    return text if caps else "".join(c.lower() if lossy(c) else c for c in text)


def ids(values):
    return [v[:40] for v in values]


# ---------------------------------------------------------------------------------------------------------------
# The examples clerks actually send.

@pytest.mark.parametrize("legacy, unicode, encoding", [
    ("NguyÔn V¨n An", "Nguyễn Văn An", TCVN3),
    ("Së Néi vô", "Sở Nội vụ", TCVN3),
    ("Hä vµ tªn", "Họ và tên", TCVN3),
    ("Phã Gi¸m ®èc", "Phó Giám đốc", TCVN3),
    ("Tr­ëng phßng", "Trưởng phòng", TCVN3),
    ("§¹i biÓu H§ND tØnh", "Đại biểu HĐND tỉnh", TCVN3),
    ("Nguyeãn Vaên An", "Nguyễn Văn An", VNI),
    ("Sôû Noäi vuï", "Sở Nội vụ", VNI),
    ("Ñaëng Thò AÙnh", "Đặng Thị Ánh", VNI),
    ("Chuû tòch UBND huyeän", "Chủ tịch UBND huyện", VNI),
])
def test_the_clerks_examples_are_recognised_and_converted(legacy, unicode, encoding):
    assert convert(legacy) == (unicode, encoding)


def test_tcvn3_text_typed_in_an_all_capitals_font_comes_back_in_capitals():
    assert convert("NGUYÔN V¡N AN") == ("NGUYỄN VĂN AN", TCVN3)
    assert convert("§ÆNG THÞ ¸NH") == ("ĐẶNG THỊ ÁNH", TCVN3)
    assert convert("Hµ NéI") == ("HÀ NỘI", TCVN3)


def test_tcvn3_capitals_typed_with_lowercase_codes_come_back_lowercase_when_the_text_is_not_in_capitals():
    assert convert("§Æng ThÞ ¸nh") == ("Đặng Thị ánh", TCVN3)
    assert convert("Lª Hµ") == ("Lê Hà", TCVN3)


# ---------------------------------------------------------------------------------------------------------------
# Round trips: Unicode -> legacy -> convert() gives the text back.

def undecidable_alone(legacy: str) -> bool:
    """A legacy text that is also, word for word, valid Unicode Vietnamese ("BÕn Tre" is TCVN3 "Bến Tre" and
    Unicode "Bõn Tre"): on its own it must be left alone; only its column can tell."""
    return all(vn.is_syllable(w) for w in re.findall(r"[^\W\d_]+", legacy))


def _round_trip_failures(texts, encoding, expected, undecidable=None, **options):
    """The texts that do not come back; a text undecidable on its own must come back through its column."""
    failures = []
    for text in texts:
        legacy = encode(text, encoding, **options)
        want = (expected(text), encoding if legacy != text else None)
        got = convert(legacy)
        if got == want:
            continue
        if got == (legacy, None) and undecidable_alone(legacy) and convert_with(legacy, encoding) == want:
            if undecidable is not None:
                undecidable.add((encoding, legacy))
            continue
        failures.append((text, legacy, got))
    return failures



@pytest.mark.parametrize("name, texts", [("vietnamese", VIETNAMESE), ("upper case", VIETNAMESE_UPPER)])
def test_every_reference_string_survives_a_round_trip_through_vni(name, texts):
    assert _round_trip_failures(texts, VNI, lambda t: t) == []


@pytest.mark.parametrize("name, texts", [("vietnamese", VIETNAMESE), ("upper case", VIETNAMESE_UPPER)])
def test_every_reference_string_survives_a_round_trip_through_tcvn3_lowercased_where_it_has_no_capital(name, texts):
    assert _round_trip_failures(texts, TCVN3, tcvn3_expected) == []


@pytest.mark.parametrize("raw_c1", [False, True])
@pytest.mark.parametrize("name, texts", [("vietnamese", VIETNAMESE), ("upper case", VIETNAMESE_UPPER)])
def test_text_with_the_full_tcvn_5712_capitals_comes_back_exactly_from_windows_1252_or_c1_characters(name, texts,
                                                                                                   raw_c1):
    assert _round_trip_failures(texts, TCVN3, lambda t: t, vn1_capitals=True, raw_c1=raw_c1) == []


def test_only_a_few_reference_strings_are_undecidable_alone_and_their_column_converts_them():
    undecidable = set()
    assert _round_trip_failures(VIETNAMESE + VIETNAMESE_UPPER, TCVN3, tcvn3_expected, undecidable) == []
    assert _round_trip_failures(VIETNAMESE + VIETNAMESE_UPPER, VNI, lambda t: t, undecidable) == []
    assert undecidable == {(TCVN3, "BÕn Tre"), (TCVN3, "BÕN TRE"), (TCVN3, "Bé Y tÕ"), (TCVN3, "Bé Y TÕ"),
                           (VNI, "Sôn La"), (VNI, "SÔN LA"), (VNI, "Hoà Chí Minh"), (VNI, "HOÀ CHÍ MINH")}
    assert convert("BÕn Tre") == ("BÕn Tre", None)
    assert detect_column(["BÕn Tre", "Së Néi vô", "Phã Gi¸m ®èc"]) == TCVN3
    assert convert_with("BÕn Tre", TCVN3) == ("Bến Tre", TCVN3)


def test_the_reference_lists_are_the_size_the_brief_expects():
    assert len(PROVINCES) == 126  # 63 provinces, short and full names
    assert len(AGENCIES) >= 30
    assert len(VIETNAMESE) + len(VIETNAMESE_UPPER) > 300


@pytest.mark.parametrize("encoding", [TCVN3, VNI])
def test_every_vietnamese_letter_on_its_own_converts_back_by_the_table(encoding):
    for ch in sorted(vn.VIETNAMESE_LETTERS):
        legacy = encode(ch, encoding, vn1_capitals=True)
        assert convert_with(legacy, encoding, force=True) == (ch, encoding if legacy != ch else None), (ch, legacy)


def test_every_tcvn3_lowercase_code_and_the_seven_capitals_match_the_published_chart():
    chart = {0xB5: "à", 0xB6: "ả", 0xB7: "ã", 0xB8: "á", 0xB9: "ạ", 0xA8: "ă", 0xBB: "ằ", 0xBC: "ẳ", 0xBD: "ẵ",
             0xBE: "ắ", 0xC6: "ặ", 0xA9: "â", 0xC7: "ầ", 0xC8: "ẩ", 0xC9: "ẫ", 0xCA: "ấ", 0xCB: "ậ", 0xAE: "đ",
             0xCC: "è", 0xCE: "ẻ", 0xCF: "ẽ", 0xD0: "é", 0xD1: "ẹ", 0xAA: "ê", 0xD2: "ề", 0xD3: "ể", 0xD4: "ễ",
             0xD5: "ế", 0xD6: "ệ", 0xD7: "ì", 0xD8: "ỉ", 0xDC: "ĩ", 0xDD: "í", 0xDE: "ị", 0xDF: "ò", 0xE1: "ỏ",
             0xE2: "õ", 0xE3: "ó", 0xE4: "ọ", 0xAB: "ô", 0xE5: "ồ", 0xE6: "ổ", 0xE7: "ỗ", 0xE8: "ố", 0xE9: "ộ",
             0xAC: "ơ", 0xEA: "ờ", 0xEB: "ở", 0xEC: "ỡ", 0xED: "ớ", 0xEE: "ợ", 0xEF: "ù", 0xF1: "ủ", 0xF2: "ũ",
             0xF3: "ú", 0xF4: "ụ", 0xAD: "ư", 0xF5: "ừ", 0xF6: "ử", 0xF7: "ữ", 0xF8: "ứ", 0xF9: "ự", 0xFA: "ỳ",
             0xFB: "ỷ", 0xFC: "ỹ", 0xFD: "ý", 0xFE: "ỵ",
             0xA1: "Ă", 0xA2: "Â", 0xA3: "Ê", 0xA4: "Ô", 0xA5: "Ơ", 0xA6: "Ư", 0xA7: "Đ"}
    assert len(chart) == 67 + 7
    for byte, expected in chart.items():
        assert convert_with(bytes([byte]).decode("latin-1"), TCVN3, force=True)[0] == expected, hex(byte)
        assert encode(expected, TCVN3) == bytes([byte]).decode("latin-1")


def test_vni_capitals_use_the_capital_diacritic_characters():
    assert encode("ĐẶNG THỊ ÁNH", VNI) == "ÑAËNG THÒ AÙNH"
    assert encode("Ơ Ư Ỵ Ỉ Ĩ Ị", VNI) == "Ô Ö Î Æ Ó Ò"
    assert convert("ÑAËNG THÒ AÙNH") == ("ĐẶNG THỊ ÁNH", VNI)
    assert convert("AÙnh Tuyeát") == ("Ánh Tuyết", VNI)  # a capital base with a lowercase diacritic


def test_tcvn_5712_capitals_at_0x80_to_0x9f_are_read_both_as_windows_1252_and_as_c1_controls():
    assert convert("\u0192nh S™") == ("Ánh SỞ", TCVN3)    # 0x83 Á, 0x99 Ở as Windows-1252 shows them
    assert convert("\x83nh S\x99") == ("Ánh SỞ", TCVN3)   # the same bytes read as Latin-1
    assert convert("B\u2014 N\u2014I V\x02") == ("BỘ NỘI VỤ", TCVN3)


def test_quotes_and_dashes_around_tcvn3_words_stay_punctuation():
    assert convert("“Hµ Néi” – 2021") == ("“Hà Nội” – 2021", TCVN3)
    assert convert("Së Néi vô – UBND tØnh") == ("Sở Nội vụ – UBND tỉnh", TCVN3)


# ---------------------------------------------------------------------------------------------------------------
# Genuine Unicode and plain text are never touched.

@pytest.mark.parametrize("name, texts", [("vietnamese", VIETNAMESE), ("upper case", VIETNAMESE_UPPER)])
def test_genuine_unicode_vietnamese_comes_back_unchanged_with_no_encoding(name, texts):
    assert [t for t in texts if convert(t) != (t, None)] == []


@pytest.mark.parametrize("name, texts", [("vietnamese", VIETNAMESE), ("upper case", VIETNAMESE_UPPER)])
def test_decomposed_unicode_vietnamese_comes_back_composed_with_no_encoding(name, texts):
    decomposed = [unicodedata.normalize("NFD", t) for t in texts]
    assert any(d != t for d, t in zip(decomposed, texts))
    assert [t for d, t in zip(decomposed, texts) if convert(d) != (t, None)] == []


@pytest.mark.parametrize("text", ASCII, ids=ids(ASCII))
def test_ascii_emails_english_numbers_and_phone_numbers_come_back_unchanged(text):
    assert convert(text) == (text, None)
    assert convert_with(text, TCVN3) == (text, None)
    assert convert_with(text, VNI) == (text, None)


@pytest.mark.parametrize("text", FOREIGN, ids=ids(FOREIGN))
def test_foreign_words_with_western_accents_and_symbols_come_back_unchanged(text):
    assert convert(text) == (text, None)


@pytest.mark.parametrize("text", ["Ông", "ÔNG", "Ông Ích Khiêm", "Phó", "Tây Ninh", "Chuyên viên", "Lê", "Cà Mau",
                                  "Giám", "Ý", "Ánh", "Tô Hoài", "Hà", "Trà Vinh", "Bà", "Tân", "Côn Sơn"])
def test_unicode_words_that_also_have_a_legacy_reading_stay_as_they_are(text):
    assert convert(text) == (text, None)


def test_detection_does_not_depend_on_the_order_in_which_it_is_asked():
    vn._clear_caches()
    first = [convert(t) for t in reversed(VIETNAMESE)][::-1]
    vn._clear_caches()
    assert [convert(t) for t in VIETNAMESE] == first


# ---------------------------------------------------------------------------------------------------------------
# Whole columns.

def test_a_column_typed_in_tcvn3_is_detected_and_its_undecidable_cells_are_converted_too():
    column = [encode(t, TCVN3) for t in ["Nguyễn Văn An", "Trần Thị Bình", "Phú", "Lê Hà", "Phạm Minh"]] + ["", "UBND"]
    assert column[2] == "Phó"                           # TCVN3 "Phú" reads as Unicode "Phó"
    assert convert(column[2]) == ("Phó", None)          # on its own it is left alone
    assert detect_column(column) == TCVN3
    assert convert_with(column[2], TCVN3) == ("Phú", TCVN3)  # the column decides
    assert [convert_with(v, TCVN3)[0] for v in column][:2] == ["Nguyễn Văn An", "Trần Thị Bình"]


def test_a_column_typed_in_vni_is_detected():
    column = [encode(t, VNI) for t in ["Sở Nội vụ", "Sở Tư pháp", "Sở Y tế", "Ban Dân tộc"]]
    assert detect_column(column) == VNI


@pytest.mark.parametrize("name, texts", [("vietnamese", VIETNAMESE), ("upper case", VIETNAMESE_UPPER)])
def test_a_unicode_column_is_not_legacy(name, texts):
    assert detect_column(texts) is None
    assert detect_column(ASCII + FOREIGN) is None
    assert detect_column([]) is None


def test_a_mostly_unicode_column_is_not_legacy_but_its_legacy_cells_still_convert_one_by_one():
    column = PEOPLE + [encode("Nguyễn Văn An", TCVN3)]
    assert detect_column(column) is None
    assert convert(column[-1]) == ("Nguyễn Văn An", TCVN3)


def test_converting_a_legacy_column_leaves_its_unicode_cells_alone():
    for text in VIETNAMESE:
        if any(ord(c) > 0xFF for c in text):
            assert convert_with(text, TCVN3) == (text, None)
            assert convert_with(text, VNI) == (text, None)
    assert convert_with("Tây Ninh", TCVN3) == ("Tây Ninh", None)    # "Tõy Ninh" is not Vietnamese
    assert convert_with("Chuyên viên", TCVN3) == ("Chuyên viên", None)
    assert convert_with("Nguyễn", None) == ("Nguyễn", None)


def test_encoding_names_are_accepted_in_their_usual_spellings_and_unknown_ones_are_refused():
    assert convert_with("Së", "tcvn3") == convert_with("Së", "ABC") == ("Sở", TCVN3)
    assert convert_with("Sôû", "VNI-Windows") == ("Sở", VNI)
    with pytest.raises(ValueError):
        convert_with("Së", "VISCII")


# ---------------------------------------------------------------------------------------------------------------
# The syllable check, the message, the speed.

@pytest.mark.parametrize("word", ["Nguyễn", "NGUYỄN", "quỳnh", "giường", "khuya", "thuở", "Đắk", "Lắk", "Kạn",
                                  "Krông", "nghiêng", "oà", "ủy", "yêu", "gì", "xoong", "HUẾ"])
def test_real_vietnamese_syllables_are_valid(word):
    assert vn.is_syllable(word)


@pytest.mark.parametrize("word", ["Nguyeãn", "Vaên", "cafộ", "mỹller", "chuyờn", "tõy", "hoc", "bát̀", "ngĩep",
                                  "ăn̉", "iơn", "tạm̀", "xyz", "", "nguyễnn", "phú2"])
def test_impossible_spellings_are_not_vietnamese_syllables(word):
    assert not vn.is_syllable(word)


def test_the_import_report_says_in_vietnamese_what_was_converted():
    assert vn.notice({TCVN3: 1200, VNI: 3}) == (
        "Đã tự động chuyển 1.200 ô từ bảng mã TCVN3 (ABC, phông .VnTime) và 3 ô từ bảng mã VNI-Windows "
        "(phông VNI-Times) sang Unicode. Vui lòng kiểm tra lại họ tên, chức vụ và tên cơ quan sau khi chuyển.")
    assert vn.notice({}) == ""


@pytest.mark.slow
def test_a_five_thousand_row_roster_with_four_text_columns_converts_quickly():
    rows = []
    for i in range(5000):
        name = PEOPLE[i % len(PEOPLE)] + f" {chr(65 + i % 26)}"
        agency = AGENCIES[i % len(AGENCIES)]
        position = POSITIONS[i % len(POSITIONS)]
        kind = i % 3
        cells = [name, position, agency, PROVINCES[i % len(PROVINCES)]]
        if kind == 1:
            cells = [encode(c, TCVN3) for c in cells]
        elif kind == 2:
            cells = [encode(c, VNI) for c in cells]
        rows.append(cells)
    vn._clear_caches()
    start = time.perf_counter()
    out = [[convert(c) for c in row] for row in rows]
    elapsed = time.perf_counter() - start
    assert sum(1 for row in out for _, enc in row if enc) > 9000
    assert elapsed < 2.0, elapsed  # measured well under 0.5 s; the margin absorbs slow CI machines
