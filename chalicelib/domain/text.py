"""Vietnamese text rules shared by every form and import."""
from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"[\s\u00a0\u2000-\u200b\u202f\u205f\u3000\ufeff]+")


def clean(value: object) -> str:
    """NFC, no leading/trailing spaces, runs of spaces (non-breaking included) folded to one."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFC", str(value))
    return _SPACES.sub(" ", text).strip()


def fold(value: object) -> str:
    """A key for tolerant comparison: lower case, accents and đ removed, spaces folded."""
    text = clean(value).lower().replace("đ", "d")
    text = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in text if unicodedata.category(ch) != "Mn")


# Vietnamese mobile prefixes after the 2018 renumbering (03x, 05x, 07x, 08x, 09x).
_MOBILE = re.compile(r"^0(3[2-9]|5[25689]|7[06-9]|8[1-9]|9\d)\d{7}$")


def normalise_mobile(value: object) -> str | None:
    """Return the mobile number as 10 digits starting with 0, or None when it is not a Vietnamese mobile.

    Accepts spaces, dots and dashes, the +84/84 country code and a number that lost its leading 0
    (as spreadsheets do with numbers)."""
    digits = re.sub(r"[\s.\-()]", "", clean(value))
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    elif len(digits) == 9 and not digits.startswith("0"):
        digits = "0" + digits
    return digits if _MOBILE.match(digits) else None
