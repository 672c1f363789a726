"""Changes of a respondent's address after the survey was dispatched.

A link whose invitation never reached anyone (bounced, failed) is corrected by the province directly. Any other
change is a request with a reason that the ministry approves or refuses: a delivered link is the respondent's, and
re-addressing it hands their answering to whoever holds the new address. Addresses are shown masked (the first
character of the mailbox and its domain) with a fingerprint that tells whether two addresses are the same."""
from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone

from chalicelib.domain.text import clean

REASON_MAX = 500
KINDS = {"correction": "Sửa email (thư không đến được)", "request": "Đề nghị đổi email"}
STATES = {"done": "Đã gửi lại phiếu", "pending": "Chờ Bộ Nội vụ duyệt", "approved": "Đã duyệt, đã gửi lại phiếu",
          "refused": "Bộ Nội vụ không đồng ý"}
ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{8}$")


def new_id(now: datetime, random_hex: str) -> str:
    """"<UTC instant>-<random>": sorts in time order, safe in a URL path."""
    return f"{now.astimezone(timezone.utc).strftime('%Y%m%dT%H%M%SZ')}-{random_hex}"


def reason_problem(text: str) -> str | None:
    """Why a request's reason is not acceptable (Vietnamese), or None."""
    if not text:
        return "Vui lòng nêu lý do đề nghị đổi email."
    if len(text) > REASON_MAX:
        return f"Lý do dài tối đa {REASON_MAX} ký tự."
    return None


def clean_reason(value: object) -> str:
    return clean(value if isinstance(value, str) else "")


def fingerprint(email: str) -> str:
    """A short digest of an address: equal addresses, equal fingerprints; the address cannot be read back."""
    return hashlib.sha256(email.encode("utf-8")).hexdigest()[:12]


def domain_of(email: str) -> str:
    return email.rsplit("@", 1)[-1] if "@" in email else ""


def masked(email: str) -> str:
    """"n•••@hanoi.gov.vn": the mailbox hidden but its first character, the domain shown."""
    if "@" not in email:
        return "•••"
    mailbox, domain = email.rsplit("@", 1)
    return f"{mailbox[:1]}•••@{domain}"


def address_view(email: str) -> dict:
    return {"masked": masked(email), "domain": domain_of(email), "fingerprint": fingerprint(email)}
