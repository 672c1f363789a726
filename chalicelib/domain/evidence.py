"""Evidence documents (tài liệu kiểm chứng) of a self-assessment: which files are accepted, judged by their
content when they arrive, not by the name or the type the browser claims."""
from __future__ import annotations

MAX_BYTES = 20 * 1024 * 1024
MAX_PER_ITEM = 20
MAX_FILENAME = 200
KINDS = {
    "pdf": ("application/pdf", (b"%PDF-",)),
    "doc": ("application/msword", (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)),
    "xls": ("application/vnd.ms-excel", (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", (b"PK\x03\x04",)),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (b"PK\x03\x04",)),
    "jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
}
ACCEPTED_LABEL = "PDF, Word (.doc, .docx), Excel (.xls, .xlsx), ảnh JPEG hoặc PNG"


def extension(filename: str) -> str:
    return filename.rsplit(".", 1)[-1].lower() if "." in filename else ""


def content_type_for(filename: str) -> str | None:
    """The type a file of this name is stored with, or None when the kind is not accepted."""
    kind = KINDS.get(extension(filename))
    return kind[0] if kind else None


def matches(filename: str, head: bytes) -> bool:
    """True when the file's first bytes are those of the kind its name says."""
    kind = KINDS.get(extension(filename))
    return kind is not None and any(head.startswith(magic) for magic in kind[1])
