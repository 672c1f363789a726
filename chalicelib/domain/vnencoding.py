"""Vietnamese text typed in the legacy 8-bit encodings, found in uploaded workbooks, converted to Unicode NFC.

Before Unicode, Vietnamese offices typed with fonts that drew Vietnamese letters in place of Western ones:
TCVN3 (ABC; fonts .VnTime, .VnTimeH) and VNI-Windows (fonts VNI-Times). Excel stores such a cell as the Western
characters of its bytes (Windows-1252), so "Nguyễn Văn An" reaches us as "NguyÔn V¨n An" (TCVN3) or
"Nguyeãn Vaên An" (VNI). This module recognises such text and converts it, and leaves every other text alone.

    convert(text)            -> (NFC text, "TCVN3" | "VNI" | None)   one cell on its own evidence
    detect_column(values)    -> "TCVN3" | "VNI" | None              a whole column (more evidence)
    convert_with(text, enc)  -> (NFC text, enc | None)               a cell of a column known to be in `enc`
    encode(text, enc)        -> legacy text as Excel shows it        (tests, fixtures)

The rule (explainable to a clerk): text is split into words; a word "counts" when it holds a non-ASCII
character. Text is converted from an encoding when
  1. it holds nothing but characters such a cell can hold (Latin-1 and the Windows-1252 extras): a single
     Vietnamese letter outside Latin-1 (ă, đ, ơ, ư, ạ, ễ …) or a combining mark proves it is Unicode already;
  2. converted, every counted word (nearly: one in ten may fail in long texts) is a valid Vietnamese
     syllable (onset + rhyme + tone rules below), words made only of consonants (HĐND) aside; and
  3. at least one counted word of two characters or more is *not* a valid Vietnamese word as it stands (it
     holds a character Vietnamese never uses, such as ¨ « ¬ ® µ ¸ ï û, or an impossible spelling, such as
     "Nguyeãn"); a lone "×" or "·" is too little to go on.
Condition 3 keeps genuine text safe: "Ông", "ÔNG", "Phó", "Tây Ninh" are valid as they stand, so they are
never reinterpreted, even where a legacy reading would also be valid ("Phó" is TCVN3 for "Phú").
When both encodings pass, the one with more such words wins, then fewer failing words, then fewer of the rare
VN1 codes, then the more plausible letter case, then more of the syllables rosters use most; a tie converts
nothing.
A column is legacy when at least 90% of its cells that show an encoding show that one; its cells are then
converted whenever the result is at least as plausible as the original (so "Phó" becomes "Phú" there).

TCVN3 has codes for the lowercase letters and for Ă Â Ê Ô Ơ Ư Đ only; capitals were typed with lowercase codes
in the all-capitals .VnTimeH fonts. A text whose ASCII letters are all capitals, with a word that mixes
such a code with a capital after its first letter ("NGUYÔN", "§ÆNG"), is read as typed in such a font and
converted to capitals; otherwise those letters come out in lowercase ("¸nh" -> "ánh"). The full TCVN 5712:1993
(VN1) capitals, at codes VN3 leaves free (including 0x80–0x9F, as Windows-1252 characters or raw C1 controls,
and 0x01–0x17), and its combining tone marks 0xB0–0xB4, are read too.

Pure: standard library only, no I/O. Results are cached per word and per cell, so a roster converts in
milliseconds.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from typing import Iterable, NamedTuple

TCVN3 = "TCVN3"
VNI = "VNI"
ENCODINGS = (TCVN3, VNI)

# For people (Vietnamese).
LABELS = {TCVN3: "TCVN3 (ABC, phông .VnTime)", VNI: "VNI-Windows (phông VNI-Times)"}

_ALIASES = {"TCVN3": TCVN3, "TCVN": TCVN3, "ABC": TCVN3, "TCVN5712": TCVN3, "VN3": TCVN3,
            "VNI": VNI, "VNIWIN": VNI, "VNIWINDOWS": VNI}

# ---------------------------------------------------------------------------------------------------------------
# Vietnamese letters: a vowel is a shape (a ă â e ê i o ô ơ u ư y) and a tone.

NONE, ACUTE, GRAVE, HOOK, TILDE, DOT = range(6)  # ngang, sắc, huyền, hỏi, ngã, nặng
_TONE_MARK = ("", "\u0301", "\u0300", "\u0309", "\u0303", "\u0323")
_SHAPE_SPELLING = {"a": "a", "ă": "a\u0306", "â": "a\u0302", "e": "e", "ê": "e\u0302", "i": "i", "o": "o",
                   "ô": "o\u0302", "ơ": "o\u031b", "u": "u", "ư": "u\u031b", "y": "y"}
SHAPES = tuple(_SHAPE_SPELLING)


def letter(shape: str, tone: int) -> str:
    """The precomposed lowercase Unicode letter of a vowel shape with a tone ("ê", HOOK -> "ể")."""
    return unicodedata.normalize("NFC", _SHAPE_SPELLING[shape] + _TONE_MARK[tone])


_VOWEL = {letter(s, t): (s, t) for s in SHAPES for t in range(6)}  # lowercase letter -> (shape, tone)
_TONE_OF = {ch: t for ch, (s, t) in _VOWEL.items() if t}
_DETONE = str.maketrans({ch: s for ch, (s, t) in _VOWEL.items() if t})
_VOWEL_SHAPES = frozenset(SHAPES)
# All Vietnamese letters beyond ASCII, lower and upper case (134 = 67 x 2).
VIETNAMESE_LETTERS = frozenset([ch for ch in _VOWEL if not ch.isascii()] + ["đ"]
                               + [ch.upper() for ch in _VOWEL if not ch.isascii()] + ["Đ"])
assert len(VIETNAMESE_LETTERS) == 134

# ---------------------------------------------------------------------------------------------------------------
# Byte values as text. Excel and openpyxl give us the Windows-1252 reading of each byte; a byte that
# Windows-1252 leaves undefined (0x81 0x8D 0x8F 0x90 0x9D), or a file read as Latin-1, gives the raw C1 control.


def _chars_of_byte(b: int) -> tuple[str, ...]:
    if 0x80 <= b <= 0x9F:
        try:
            return (bytes([b]).decode("cp1252"), chr(b))
        except UnicodeDecodeError:
            return (chr(b),)
    return (chr(b),)


def _char_of_byte(b: int) -> str:
    """The character Excel shows for a byte (Windows-1252 where defined)."""
    return _chars_of_byte(b)[0]


# Windows-1252's printable characters at 0x80-0x9F (characters a legacy cell can hold beyond Latin-1).
_CP1252_EXTRAS = "".join(c for b in range(0x80, 0xA0) for c in _chars_of_byte(b) if ord(c) > 0xFF)
# Anything else proves the text is Unicode: no 8-bit encoding read as Windows-1252 produces it.
_NOT_LEGACY = re.compile("[^\x00-\xff" + re.escape(_CP1252_EXTRAS) + "]")

# ---------------------------------------------------------------------------------------------------------------
# TCVN3 (TCVN 5712:1993, VN3 "ABC"), from the published code chart. Per shape, the codes in the order
# (no tone, huyền, hỏi, ngã, sắc, nặng), the order of the chart's columns.
_CHART_ORDER = (NONE, GRAVE, HOOK, TILDE, ACUTE, DOT)
_TCVN3_LOWER = {
    "a": (0x61, 0xB5, 0xB6, 0xB7, 0xB8, 0xB9),
    "ă": (0xA8, 0xBB, 0xBC, 0xBD, 0xBE, 0xC6),
    "â": (0xA9, 0xC7, 0xC8, 0xC9, 0xCA, 0xCB),
    "e": (0x65, 0xCC, 0xCE, 0xCF, 0xD0, 0xD1),
    "ê": (0xAA, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6),
    "i": (0x69, 0xD7, 0xD8, 0xDC, 0xDD, 0xDE),
    "o": (0x6F, 0xDF, 0xE1, 0xE2, 0xE3, 0xE4),
    "ô": (0xAB, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9),
    "ơ": (0xAC, 0xEA, 0xEB, 0xEC, 0xED, 0xEE),
    "u": (0x75, 0xEF, 0xF1, 0xF2, 0xF3, 0xF4),
    "ư": (0xAD, 0xF5, 0xF6, 0xF7, 0xF8, 0xF9),
    "y": (0x79, 0xFA, 0xFB, 0xFC, 0xFD, 0xFE),
}
# The capitals VN3 has: Ă Â Ê Ô Ơ Ư (0xA1-0xA6) and Đ (0xA7); đ is 0xAE.
_TCVN3_UPPER_PLAIN = {"Ă": 0xA1, "Â": 0xA2, "Ê": 0xA3, "Ô": 0xA4, "Ơ": 0xA5, "Ư": 0xA6, "Đ": 0xA7}
_TCVN3_D = 0xAE
# Capitals with tones, only in the full VN1 table, at codes VN3 leaves free (C0, C1 and a few in 0xA0-0xFF).
_VN1_UPPER: dict[str, tuple[int | None, ...]] = {
    "a": (None, 0x80, 0x81, 0x82, 0x83, 0x84),
    "ă": (None, 0xAF, 0xBA, 0xBF, 0xC0, 0x85),
    "â": (None, 0xC1, 0xC2, 0xC3, 0xC4, 0x86),
    "e": (None, 0x87, 0x88, 0x89, 0x8A, 0x8B),
    "ê": (None, 0xC5, 0xCD, 0xD9, 0xDA, 0x8C),
    "i": (None, 0x8D, 0x8E, 0x8F, 0x90, 0x91),
    "o": (None, 0x92, 0x93, 0x94, 0x95, 0x96),
    "ô": (None, 0xDB, 0xE0, 0xF0, 0xFF, 0x97),
    "ơ": (None, 0x98, 0x99, 0x9A, 0x9B, 0x9C),
    "u": (None, 0x9D, 0x9E, 0x9F, 0x01, 0x02),
    "ư": (None, 0x04, 0x05, 0x06, 0x11, 0x12),
    "y": (None, 0x13, 0x14, 0x15, 0x16, 0x17),
}
# VN1 combining tone marks, written after the vowel.
_VN1_COMBINING = {0xB0: GRAVE, 0xB1: HOOK, 0xB2: TILDE, 0xB3: ACUTE, 0xB4: DOT}

# Kinds of TCVN3 characters.
_K_LOWER = 1     # a lowercase code: a capital too in the .VnTimeH fonts
_K_UPPER = 2     # a capital code (VN3 or VN1)
_K_C1_LETTER = 3  # a VN1 capital at 0x80-0x9F that Windows-1252 shows as a letter, a rare sign, or a control
_K_C1_SIGN = 4   # a VN1 capital that Windows-1252 shows as common punctuation (quotes, dashes, bullet …)
_K_COMBINING = 5

# Windows-1252 punctuation at 0x80-0x9F that genuine text uses: read as VN1 capitals only inside a word, or at
# its edge when the word is a word only with it ("S™" -> "SỞ", but "“Hµ" -> "“hà").
_C1_SIGN_CHARS = "‚„…†‡‰‹›‘’“”•–—™"
_C1_SIGNS = frozenset(_C1_SIGN_CHARS)

_TCVN3_DECODE: dict[str, tuple[str, int]] = {}  # character -> (Unicode letter, kind)


def _add_tcvn3(b: int, text: str, kind: int) -> None:
    for ch in _chars_of_byte(b):
        if ch in _TCVN3_DECODE:
            raise AssertionError(f"TCVN3 code {b:#x} defined twice")
        if kind == _K_UPPER and (b < 0x20 or 0x80 <= b <= 0x9F):
            _TCVN3_DECODE[ch] = (text, _K_C1_SIGN if ch in _C1_SIGNS else _K_C1_LETTER)
        else:
            _TCVN3_DECODE[ch] = (text, kind)


for _shape, _codes in _TCVN3_LOWER.items():
    for _tone, _b in zip(_CHART_ORDER, _codes):
        if _b >= 0x80:
            _add_tcvn3(_b, letter(_shape, _tone), _K_LOWER)
for _shape, _upper_codes in _VN1_UPPER.items():
    for _tone, _upper in zip(_CHART_ORDER, _upper_codes):
        if _upper is not None:
            _add_tcvn3(_upper, letter(_shape, _tone).upper(), _K_UPPER)
for _ch, _b in _TCVN3_UPPER_PLAIN.items():
    _add_tcvn3(_b, _ch, _K_UPPER)
_add_tcvn3(_TCVN3_D, "đ", _K_LOWER)
for _b, _tone in _VN1_COMBINING.items():
    _add_tcvn3(_b, _TONE_MARK[_tone], _K_COMBINING)

# Every Vietnamese letter has exactly one TCVN3 code (VN3 or VN1).
assert {v for v, k in _TCVN3_DECODE.values() if k != _K_COMBINING} == VIETNAMESE_LETTERS

# Characters only the full VN1 table reads as letters (VN3 text never holds them).
_VN1_ONLY = frozenset(c for s, codes in _VN1_UPPER.items() for b in codes if b is not None
                      for c in _chars_of_byte(b)) | frozenset(chr(b) for b in _VN1_COMBINING)

_TCVN3_ENCODE_LOWER = {letter(s, t): _char_of_byte(b) for s, codes in _TCVN3_LOWER.items()
                       for t, b in zip(_CHART_ORDER, codes)}
_TCVN3_ENCODE_LOWER["đ"] = _char_of_byte(_TCVN3_D)
_TCVN3_ENCODE_UPPER = {ch: _char_of_byte(b) for ch, b in _TCVN3_UPPER_PLAIN.items()}
_VN1_ENCODE_UPPER = {letter(s, t).upper(): _char_of_byte(b) for s, codes in _VN1_UPPER.items()
                     for t, b in zip(_CHART_ORDER, codes) if b is not None}

# ---------------------------------------------------------------------------------------------------------------
# VNI-Windows: a base letter followed by a diacritic character; ơ ư đ and the toned i and ỵ are single characters.
# Capitals use the capital forms of the same diacritic characters (0xC0-0xDF rather than 0xE0-0xFF).
_VNI_TONE = {"ù": ACUTE, "ø": GRAVE, "û": HOOK, "õ": TILDE, "ï": DOT}
_VNI_CIRCUMFLEX = {"â": NONE, "á": ACUTE, "à": GRAVE, "å": HOOK, "ã": TILDE, "ä": DOT}
_VNI_BREVE = {"ê": NONE, "é": ACUTE, "è": GRAVE, "ú": HOOK, "ü": TILDE, "ë": DOT}
_VNI_MODIFIERS = frozenset(_VNI_TONE) | frozenset(_VNI_CIRCUMFLEX) | frozenset(_VNI_BREVE)
_VNI_HORN = {"ô": "ơ", "ö": "ư"}                     # base letters of their own (tone diacritic may follow)
_VNI_I = {"í": ACUTE, "ì": GRAVE, "æ": HOOK, "ó": TILDE, "ò": DOT}  # toned i, single characters
_VNI_SINGLE = {"ñ": "đ", "î": "ỵ", **{c: letter("i", t) for c, t in _VNI_I.items()}}
_CIRCUMFLEXED = {"a": "â", "e": "ê", "o": "ô"}
assert not (_VNI_MODIFIERS & set(_VNI_SINGLE)) and not (_VNI_MODIFIERS & set(_VNI_HORN))

_VNI_ENCODE: dict[str, str] = {"đ": "ñ", "Đ": "Ñ"}
for _shape in SHAPES:
    for _tone in range(6):
        _ch = letter(_shape, _tone)
        if _ch.isascii():
            continue
        if _shape == "i":
            _seq = next(c for c, t in _VNI_I.items() if t == _tone)
        elif _shape == "y" and _tone == DOT:
            _seq = "î"
        elif _shape in ("â", "ê", "ô"):
            _seq = {"â": "a", "ê": "e", "ô": "o"}[_shape] + next(c for c, t in _VNI_CIRCUMFLEX.items() if t == _tone)
        elif _shape == "ă":
            _seq = "a" + next(c for c, t in _VNI_BREVE.items() if t == _tone)
        else:
            _base = {"ơ": "ô", "ư": "ö"}.get(_shape, _shape)
            _seq = _base + next((c for c, t in _VNI_TONE.items() if t == _tone), "")
        _VNI_ENCODE[_ch] = _seq
        _VNI_ENCODE[_ch.upper()] = _seq.upper()
assert len(_VNI_ENCODE) == 134

# ---------------------------------------------------------------------------------------------------------------
# Vietnamese syllables: onset + rhyme (with its medial), one tone at most; a rhyme closed by p, t, c or ch takes
# only sắc or nặng. Written without tones; permissive enough for official place names (Đắk Lắk, Kon Tum, Krông).
_RHYMES = """
a ai ao au ay ac ach am an ang anh ap at
ăc ăm ăn ăng ăp ăt
âc âm ân âng âp ât âu ây
e ec em en eng eo ep et
ê êch êm ên ênh êp êt êu
i ia ich im in inh ip it iu iê iêc iêm iên iêng iêp iêt iêu
o oc oi om on ong op ot oong ooc
oa oac oach oai oam oan oang oanh oap oat oay oăc oăm oăn oăng oăt oe oen oeo oet
ô ôc ôi ôm ôn ông ôp ôt
ơ ơi ơm ơn ơp ơt
u ua uc ui um un ung up ut uôc uôi uôm uôn uông uôt
uân uâng uât uây uê uêch uênh uơ uy uya uych uyn uynh uyp uyt uyu uyên uyêt
ư ưa ưc ưi ưm ưn ưng ưt ưu ươc ươi ươm ươn ương ươp ươt ươu
y yêm yên yêng yêt yêu
""".split()
# Final k: Central Highlands names (Đắk Lắk, Krông Búk), any tone.
_RHYMES += [r[:-1] + "k" for r in _RHYMES if r.endswith("c")] + ["ek", "êk", "ik", "ơk"]
# After qu (its u is the medial).
_QU_RHYMES = """
a ac ach ai am an ang anh ao ap at au ay ăc ăm ăn ăng ăp ăt âc ân âng âp ât ây
e en eo et ê êch ênh êt i y ych ynh yn yt yu yêt yên yêu ơ ôc
""".split()
_ONSETS = ["ngh", "ng", "nh", "ch", "gh", "gi", "kh", "ph", "th", "tr"] + \
          [a + b for a in "bcdđgkpt" for b in "lr"] + list("bcdđghklmnprstvxfjwz")


def _alternation(items: Iterable[str]) -> str:
    return "|".join(sorted(set(items), key=lambda s: (-len(s), s)))


_SYLLABLE = re.compile(f"(?:(?:{_alternation(_ONSETS)})?(?P<rh>{_alternation(_RHYMES)})"
                       f"|qu(?P<qrh>{_alternation(_QU_RHYMES)}))")
_STOP_FINAL = re.compile("(?:p|t|c|ch)$")
_LETTERS_CORE = re.compile(r"^\W*(.*?)\W*$", re.S)


def _tone_positions(rhyme: str) -> frozenset[int]:
    """Where a rhyme's tone mark may sit (index in the rhyme): on the vowel with a shape mark (ươ: on ơ), else on
    the last vowel before a final consonant, else on the middle of three vowels or the first of two, except oa oe uy
    where both the old (hòa, thủy) and the new (hoà, thuỷ) placements are in use."""
    n = 0
    while n < len(rhyme) and rhyme[n] in _VOWEL_SHAPES:
        n += 1
    vowels = rhyme[:n]
    if n <= 1:
        return frozenset({0})
    marked = [i for i, c in enumerate(vowels) if c in "ăâêôơư"]
    if marked:
        return frozenset({marked[-1]})
    if n < len(rhyme):
        return frozenset({n - 1})
    if n == 2:
        return frozenset({0, 1}) if vowels in ("oa", "oe", "uy") else frozenset({0})
    return frozenset({1})


_TONE_POSITIONS = {r: _tone_positions(r) for r in set(_RHYMES) | set(_QU_RHYMES)}

_valid_cache: dict[str, bool] = {}


def is_syllable(word: str) -> bool:
    """Whether `word` (one word, any case, NFC) is a well-formed Vietnamese syllable: "Nguyễn", "ĐẮK", "hoà",
    "hòa" yes; "Nguyeãn", "Cafộ", "chuyờn", "haỉ" (tone on the wrong vowel) no. Spelling only, not meaning."""
    found = _valid_cache.get(word)
    if found is None:
        found = _check_syllable(word.lower())
        if len(_valid_cache) > 50_000:
            _valid_cache.clear()
        _valid_cache[word] = found
    return found


def _check_syllable(w: str) -> bool:
    toned = [(i, t) for i, t in enumerate(map(_TONE_OF.get, w)) if t]
    if len(toned) > 1:
        return False
    base = w.translate(_DETONE)
    m = _SYLLABLE.fullmatch(base)
    if m is None:
        return False
    group = "rh" if m.group("rh") is not None else "qrh"
    if group == "rh":
        onset, first = base[:m.start("rh")], base[m.start("rh")]
        # Spelling of /k/, /ɣ/, /ŋ/: ngh, gh, k before i e ê; ng, g, c elsewhere (k stays free: Kạn, Kon Tum).
        if onset in ("ngh", "gh") and first not in "ieê":
            return False
        if (onset in ("ng", "c") and first in "ieêy") or (onset == "g" and first in "eê"):
            return False
    if not toned:
        return not _STOP_FINAL.search(base)
    index, tone = toned[0]
    if index - m.start(group) not in _TONE_POSITIONS[m.group(group)]:
        return False
    return tone in (ACUTE, DOT) or not _STOP_FINAL.search(base)


# Syllables rosters use most (family, middle and given names; titles; agency and place words). Only a tie-break
# between two readings that are both valid Vietnamese ("Thò": VNI "Thị" or TCVN3 "Thũ").
_COMMON = frozenset(unicodedata.normalize("NFC", w) for w in """
nguyễn trần lê phạm hoàng huỳnh phan vũ võ đặng bùi đỗ hồ ngô dương lý đào đoàn vương trịnh trương lâm phùng
mai tô hà tạ quách thái cao lương lưu châu kiều khúc tăng từ ông la chu văn giáp lại âu ninh nông mạc triệu thân
kim lò lục hứa doãn đinh tống khổng mã vi hầu đàm nghiêm diệp
thị hữu đức minh quốc ngọc thanh xuân thu hồng bảo gia đình công quang anh tuấn khánh phương mỹ diệu như thế
trọng đăng duy bá
an bình chi cường dũng duyên giang hải hạnh hiếu hòa hoà hùng hương khải khoa lan linh loan long nam nga ngân
nghĩa nhung oanh phong phúc phượng quân quỳnh sơn tâm thảo thắng thủy thuỷ trang trinh trung tùng tuyết uyên
vân việt vinh yến ánh ân út ơn khuê thúy thuý huyền nguyệt hiền hoa huệ hằng lệ liên liễu lộc lợi luân lực
mạnh my nhàn nhân nhật nhi nhiên phú phụng quý quyên quyết sang sinh sỹ sĩ tài tân thành thiện thịnh thơ thư
thương tiến tín toàn trâm trí trúc tú tuệ tường vy yên bích cúc diễm điệp giao hậu hiệp hưng kiên kiệt lân
mẫn nguyên nhã phát phi quyền sáng tấn thắm thoa thông thuận tiên toản vĩnh đạt định hiển hoài hợp huy khang
khôi lành lễ luyện nghị nhiệm phước quế sương tám thùy thuỳ trà tuyền vượng xuyến
sở nội vụ tư pháp kế hoạch và đầu tài chính thương nông nghiệp triển thôn giao thông vận tải xây dựng môi trường
tin truyền lao động binh xã hội hóa hoá thể thao du lịch khoa học nghệ giáo dục tạo y tế tra tỉnh phòng ủy uỷ
ban nhân dân chủ tịch phó giám đốc trưởng chuyên viên cán bộ huyện phố quận phường trấn đại biểu đồng đảng bí
cơ quan đơn vị chức vụ họ tên ngoại tộc quy kiến trúc ương cục viện sự kiểm soát hành nhà nước cải cách tổng
hợp tổ ngành lãnh đạo quản lý kinh chánh phụ trách ấp thôn bản khu vực ngày tháng năm số điện thoại
""".split())


def _core(token: str) -> str:
    """The token without leading and trailing non-letters (punctuation left in the text)."""
    core = _LETTERS_CORE.match(token)
    assert core is not None  # every part of the pattern may match nothing, so it matches every string
    return core.group(1)


def _has_vowel(word: str) -> bool:
    return any(c in _VOWEL for c in word.lower().translate(_DETONE))


# ---------------------------------------------------------------------------------------------------------------
# Decoding one word (token).

class _Token(NamedTuple):
    out: str              # decoded
    out_caps: str         # decoded, lowercase-only codes as capitals (TCVN3 .VnTimeH); == out for VNI
    kind: int             # _NEUTRAL, _GOOD, _EVIDENCE or _BAD
    in_valid: bool        # a valid word as it stands
    out_valid: bool       # a valid word once decoded
    ascii_lower: bool     # holds an ASCII lowercase letter (the text is not all capitals)
    caps_hint: bool       # mixes a lowercase-only code with a capital after its first letter ("NGUYÔN")
    rare: int             # characters read with codes only the full TCVN 5712 (VN1) has
    case: int             # 2: letter case no VNI typist produces ("Uû", "ưNG"); 1: capitals by the .VnTimeH guess
    common: bool          # decoded, one of the syllables rosters use most


_NEUTRAL, _GOOD, _EVIDENCE, _BAD = range(4)

_TCVN3_TOKEN = re.compile("[A-Za-z" + re.escape("".join(_TCVN3_DECODE)) + "]+")
_VNI_LETTERS = "".join(chr(c) for c in range(0xC0, 0x100) if chr(c) not in "×÷")
_VNI_TOKEN = re.compile("[A-Za-z" + _VNI_LETTERS + "]+")
_TOKEN_RE = {TCVN3: _TCVN3_TOKEN, VNI: _VNI_TOKEN}


def _compose(base: str, tone: int) -> str | None:
    """Add a tone to a decoded vowel letter without one; None when that is not a Vietnamese letter."""
    low = base.lower()
    if low not in _VOWEL or _VOWEL[low][1] != NONE:
        return None
    out = letter(_VOWEL[low][0], tone)
    return out.upper() if base != low else out


def _decode_tcvn3(token: str, force: bool) -> tuple[str, str, bool, bool]:
    """(decoded, decoded with capitals for the lowercase codes, ascii lowercase seen, caps hint)."""
    n = len(token)
    has_plain_letter = any(_TCVN3_DECODE.get(c, ("", _K_LOWER))[1] in (_K_LOWER, _K_UPPER) for c in token)

    def decode(map_edge_signs: bool) -> tuple[list[str], list[bool]]:
        out: list[str] = []
        upgradable: list[bool] = []
        for i, ch in enumerate(token):
            entry = _TCVN3_DECODE.get(ch)
            if entry is None:  # ASCII letter
                out.append(ch)
                upgradable.append(False)
                continue
            text, kind = entry
            if kind == _K_COMBINING:
                composed = _compose(out[-1], _TONE_MARK.index(text)) if out else None
                if composed is not None:
                    out[-1] = composed
                else:
                    out.append(ch)
                    upgradable.append(False)
                continue
            if kind == _K_C1_SIGN and not force:
                interior = 0 < i < n - 1
                if not has_plain_letter or not (interior or map_edge_signs):
                    text = ch
            elif kind == _K_C1_LETTER and not force and not has_plain_letter:
                text = ch
            out.append(text)
            upgradable.append(kind == _K_LOWER)
        return out, upgradable

    out, upgradable = decode(True)
    signs_at_edges = token[0] in _C1_SIGNS or token[-1] in _C1_SIGNS
    if signs_at_edges and not force:
        literal, literal_up = decode(False)
        mapped_text, literal_text = "".join(out), "".join(literal)
        # Prefer punctuation unless the word is a word only with the capital ("S™" -> "SỞ", "“Hµ" -> "“hà").
        if not (is_syllable(mapped_text) and not is_syllable(_core(literal_text))):
            out, upgradable = literal, literal_up
    decoded = "".join(out)
    caps = "".join(c.upper() if up else c for c, up in zip(out, upgradable))
    ascii_lower = any("a" <= c <= "z" for c in token)
    caps_hint = any(upgradable) and any(not up and c.isupper() for c, up in zip(out[1:], upgradable[1:]))
    return decoded, caps, ascii_lower, caps_hint


def _decode_vni(token: str) -> tuple[str, bool, bool]:
    """(decoded, every diacritic character sat on a letter that takes it, letter case is consistent)."""
    out: list[str] = []
    ok = consistent = True
    i, n = 0, len(token)
    while i < n:
        ch = token[i]
        low = ch.lower()
        upper = ch != low
        if low in "aeouy" or low in _VNI_HORN:
            shape = _VNI_HORN.get(low, low)
            tone = NONE
            i += 1
            if i < n:
                m = token[i].lower()
                if m in _VNI_MODIFIERS and (token[i] != m) != upper:
                    consistent = False  # a capital base with a lowercase diacritic, or the reverse
                if m in _VNI_TONE:
                    tone = _VNI_TONE[m]
                    i += 1
                elif m in _VNI_CIRCUMFLEX and shape in _CIRCUMFLEXED:
                    shape, tone = _CIRCUMFLEXED[shape], _VNI_CIRCUMFLEX[m]
                    i += 1
                elif m in _VNI_BREVE and shape == "a":
                    shape, tone = "ă", _VNI_BREVE[m]
                    i += 1
                if tone == NONE and shape in ("â", "ê", "ô", "ă") and i < n and token[i].lower() in _VNI_TONE:
                    tone = _VNI_TONE[token[i].lower()]  # a shape and a tone typed as two characters
                    i += 1
            out.append(letter(shape, tone).upper() if upper else letter(shape, tone))
            continue
        if low in _VNI_SINGLE:
            out.append(_VNI_SINGLE[low].upper() if upper else _VNI_SINGLE[low])
        else:
            if low in _VNI_MODIFIERS:
                ok = False  # a diacritic after a consonant or a vowel that cannot take it: not VNI
            out.append(ch)
        i += 1
    decoded = "".join(out)
    if consistent and any(a.islower() and b.isupper() for a, b in zip(decoded, decoded[1:])):
        consistent = False  # a capital after a lowercase letter ("ưNG")
    return decoded, ok, consistent


_token_cache: dict[tuple[str, str, bool], _Token] = {}


def _token(enc: str, token: str, force: bool = False) -> _Token:
    key = (enc, token, force)
    found = _token_cache.get(key)
    if found is not None:
        return found
    if token.isascii() and token.isalpha():
        found = _Token(token, token, _NEUTRAL, True, True, not token.isupper(), False, 0, 0, False)
    else:
        if enc == TCVN3:
            out, out_caps, ascii_lower, caps_hint = _decode_tcvn3(token, force)
            ok = True
            rare = sum(c in _VN1_ONLY for c in token)
            case = int(caps_hint)
            # As it stands, the word is the token without the punctuation that stays punctuation.
            in_valid = is_syllable(token.strip(_C1_SIGN_CHARS))
        else:
            out, ok, consistent = _decode_vni(token)
            ascii_lower, caps_hint, rare, case = False, False, 0, 0 if consistent else 2
            out_caps = out
            in_valid = is_syllable(token)
        out_core = _core(out)
        out_valid = ok and is_syllable(out_core)
        if enc == TCVN3 and out == token:
            kind = _NEUTRAL  # nothing in it reads differently (punctuation, "ý")
        elif ok and out_core and not _has_vowel(out_core) and all(c.isalpha() for c in out_core):
            kind = _NEUTRAL  # an abbreviation made of consonants (HĐND, ĐBQH)
            out_valid = in_valid = True
        elif not out_valid:
            kind = _BAD
        elif not in_valid and len(token) > 1:
            kind = _EVIDENCE  # (one character on its own, such as a "×" tick, is too little to go on)
        else:
            kind = _GOOD
        common = out_valid and out_core.lower() in _COMMON
        found = _Token(out, out_caps, kind, in_valid, out_valid, ascii_lower, caps_hint, rare, case, common)
    if len(_token_cache) > 50_000:
        _token_cache.clear()
    _token_cache[key] = found
    return found


class _Reading(NamedTuple):
    out: str
    counted: int    # words holding a non-ASCII character
    evidence: int   # counted words invalid as they stand, valid once converted
    bad: int        # counted words invalid once converted
    in_valid: int   # counted words valid as they stand
    out_valid: int  # counted words valid once converted
    rare: int       # characters read with codes only the full TCVN 5712 (VN1) has
    case: int       # letter-case penalties of the words (see _Token)
    common: int     # words that are among the syllables rosters use most


@functools.lru_cache(maxsize=32768)
def _read(text: str, enc: str, force: bool = False) -> _Reading:
    """Decode `text` (NFC, possibly legacy) as `enc` and count the evidence."""
    spans = []
    counted = evidence = bad = in_valid = out_valid = rare = case = common = 0
    ascii_lower = caps_hint = False
    for m in _TOKEN_RE[enc].finditer(text):
        tok = _token(enc, m.group(), force)
        spans.append((m.start(), m.end(), tok))
        ascii_lower = ascii_lower or tok.ascii_lower
        caps_hint = caps_hint or tok.caps_hint
        if tok.kind == _NEUTRAL:
            continue
        counted += 1
        evidence += tok.kind == _EVIDENCE
        bad += tok.kind == _BAD
        in_valid += tok.in_valid
        out_valid += tok.out_valid
        rare += tok.rare
        case += tok.case
        common += tok.common
    caps = caps_hint and not ascii_lower
    parts = []
    last = 0
    for start, end, tok in spans:
        parts.append(text[last:start])
        parts.append(tok.out_caps if caps else tok.out)
        last = end
    parts.append(text[last:])
    out = unicodedata.normalize("NFC", "".join(parts))
    return _Reading(out, counted, evidence, bad, in_valid, out_valid, rare, case, common)


def _nearly_all_valid(r: _Reading) -> bool:
    return r.bad <= r.counted // 10


# ---------------------------------------------------------------------------------------------------------------
# Public API.


def convert(text: str) -> tuple[str, str | None]:
    """Return (text in Unicode NFC, the legacy encoding it was in: "TCVN3", "VNI", or None).

    None when the text is already Unicode (NFD input is still returned as NFC), plain ASCII, or not
    recognisably legacy on its own (see the module's rule; `detect_column` weighs a whole column)."""
    if not text or _plain_ascii(text):
        return text, None
    return _convert(text)


_VN1_CONTROLS = re.compile("[" + "".join(chr(b) for codes in _VN1_UPPER.values() for b in codes
                                         if b is not None and b < 0x20) + "]")


def _plain_ascii(text: str) -> bool:
    """ASCII with none of the control characters at which VN1 puts capitals (Ú Ụ Ừ …)."""
    return text.isascii() and (text.isprintable() or not _VN1_CONTROLS.search(text))


@functools.lru_cache(maxsize=32768)
def _convert(text: str) -> tuple[str, str | None]:
    nfc = unicodedata.normalize("NFC", text)
    if _NOT_LEGACY.search(nfc):
        return nfc, None
    # Both readings may pass (VNI's capital diacritics are TCVN3 lowercase or VN1 capital codes: "VÓNH" is VNI
    # "VĨNH" and TCVN3 "VểNH"; "Thò" is VNI "Thị" and TCVN3 "Thũ"): the one with more evidence wins, then the one
    # with fewer failing words, then the one needing fewer of the rarely used VN1 codes, then the one with the more
    # plausible letter case, then the one with more of the syllables rosters use most. Still equal: no conversion.
    best: tuple[int, int, int, int, int] | None = None
    chosen: tuple[str, str] | None = None
    tie = False
    for enc in ENCODINGS:
        r = _read(nfc, enc)
        if r.evidence and _nearly_all_valid(r) and r.out != nfc:
            score = (r.evidence, -r.bad, -r.rare, -r.case, r.common)
            if best is None or score > best:
                best, chosen, tie = score, (r.out, enc), False
            elif score == best:
                tie = True
    if chosen is None or tie:
        return nfc, None
    return chosen


def convert_with(text: str, encoding: str | None, *, force: bool = False) -> tuple[str, str | None]:
    """Convert a cell of a column known (from `detect_column`) to be in `encoding`.

    Returns (NFC text, encoding) when converted, (NFC text, None) when left as it was: a cell that holds
    Unicode-only characters, or whose conversion would be less plausible than the original (more words that
    are not Vietnamese syllables). With force=True every legacy character is converted by the table, come
    what may (for letters on their own, or text known for certain to be legacy)."""
    enc = _encoding_name(encoding)
    if not text:
        return text, None
    nfc = unicodedata.normalize("NFC", text)
    if enc is None or _plain_ascii(nfc) or (not force and _NOT_LEGACY.search(nfc)):
        return nfc, None
    r = _read(nfc, enc, force)
    if r.out == nfc:
        return nfc, None
    if force or (_nearly_all_valid(r) and r.out_valid >= r.in_valid):
        return r.out, enc
    return nfc, None


def detect_column(values: Iterable[object]) -> str | None:
    """The legacy encoding of a column (or a whole file's text), or None when it is not legacy.

    Each cell votes: for an encoding when `convert` recognises it; for Unicode when it holds Unicode-only
    characters, or when it reads as Vietnamese as it stands while neither legacy reading does. ASCII cells and
    undecidable ones ("Phó") do not vote. The column is legacy when at least 90% of the votes name that encoding."""
    votes = {TCVN3: 0, VNI: 0, None: 0}
    for value in values:
        if not isinstance(value, str) or not value or _plain_ascii(value):
            continue
        nfc, enc = convert(value)
        if enc is not None:
            votes[enc] += 1
        elif _NOT_LEGACY.search(nfc):
            votes[None] += 1
        else:
            readings = [_read(nfc, e) for e in ENCODINGS]
            if all(r.bad for r in readings) and all(_token(TCVN3, m.group()).in_valid
                                                    for m in _TCVN3_TOKEN.finditer(nfc)):
                votes[None] += 1
    best = max(ENCODINGS, key=lambda e: votes[e])
    total = sum(votes.values())
    if votes[best] and votes[best] * 10 >= total * 9:
        return best
    return None


def encode(text: str, encoding: str, *, vn1_capitals: bool = False, raw_c1: bool = False) -> str:
    """Unicode -> the legacy encoding, as Excel shows such text (each byte as its Windows-1252 character).

    TCVN3: capitals other than Ă Â Ê Ô Ơ Ư Đ get the lowercase codes (as typed for the .VnTimeH fonts), or with
    vn1_capitals=True the full TCVN 5712 (VN1) capital codes; raw_c1=True gives bytes 0x80-0x9F as C1 controls
    (a Latin-1 reading) rather than Windows-1252 characters. Characters with no code are kept as they are."""
    enc = _encoding_name(encoding)
    if enc is None:
        raise ValueError("encoding is required")
    text = unicodedata.normalize("NFC", text)
    if enc == VNI:
        return "".join(_VNI_ENCODE.get(c, c) for c in text)
    out = []
    for c in text:
        code = _TCVN3_ENCODE_UPPER.get(c) or _TCVN3_ENCODE_LOWER.get(c)
        if code is None and c in VIETNAMESE_LETTERS:
            code = (vn1_capitals and _VN1_ENCODE_UPPER.get(c)) or _TCVN3_ENCODE_LOWER[c.lower()]
        if code is not None and raw_c1 and len(code) == 1 and ord(code) > 0xFF:
            code = chr(code.encode("cp1252")[0])
        out.append(code or c)
    return "".join(out)


def notice(conversions: dict[str, int]) -> str:
    """A Vietnamese sentence for the import report, e.g. {"TCVN3": 12} -> "Đã tự động chuyển 12 ô …"."""
    parts = [f"{n:,}".replace(",", ".") + f" ô từ bảng mã {LABELS[e]}" for e, n in conversions.items() if n]
    if not parts:
        return ""
    return ("Đã tự động chuyển " + " và ".join(parts) + " sang Unicode. "
            "Vui lòng kiểm tra lại họ tên, chức vụ và tên cơ quan sau khi chuyển.")


def _clear_caches() -> None:
    """Forget every cached result (tests and benchmarks)."""
    _convert.cache_clear()
    _read.cache_clear()
    _token_cache.clear()
    _valid_cache.clear()


def _encoding_name(encoding: str | None) -> str | None:
    if encoding is None or encoding in ENCODINGS:
        return encoding
    name = _ALIASES.get(re.sub(r"[\s_\-.()]", "", str(encoding)).upper())
    if name is None:
        raise ValueError(f"unknown legacy Vietnamese encoding {encoding!r}; expected one of {ENCODINGS}")
    return name
