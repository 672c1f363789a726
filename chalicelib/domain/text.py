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


# Landlines: 0 + 2-digit area code starting with 2 + 8 digits (11 digits since 2017).
_LANDLINE = re.compile(r"^02\d{9}$")


def normalise_phone(value: object) -> str | None:
    """A Vietnamese mobile or landline as digits with its leading 0, or None when it is neither."""
    mobile = normalise_mobile(value)
    if mobile:
        return mobile
    digits = re.sub(r"[\s.\-()]", "", clean(value))
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) == 12:
        digits = "0" + digits[2:]
    elif len(digits) == 10 and digits.startswith("2"):
        digits = "0" + digits
    return digits if _LANDLINE.match(digits) else None


# One address, the practical subset of RFC 5321 that government and public mail systems accept.
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
                    r"[A-Za-z]{2,24}$")


def email_problem(value: str) -> str | None:
    """Why `value` is not one valid e-mail address (Vietnamese), or None."""
    if not value:
        return "Thiếu địa chỉ email."
    if re.search(r"[,;]", value) or value.count("@") > 1:
        return "Mỗi ô chỉ ghi một địa chỉ email."
    if re.search(r"\s", value):
        return f"Địa chỉ email “{value}” có dấu cách; vui lòng xóa dấu cách."
    if len(value) > 254 or not _EMAIL.match(value):
        return f"Địa chỉ email “{value}” không hợp lệ."
    local = value.split("@", 1)[0]
    if local.startswith(".") or local.endswith(".") or ".." in local or len(local) > 64:
        return f"Địa chỉ email “{value}” không hợp lệ."
    return None


def normalise_email(value: str) -> str:
    """The key that identifies a person: e-mail in lower case (mailbox names are case-insensitive in practice)."""
    return clean(value).strip("<>").lower()
