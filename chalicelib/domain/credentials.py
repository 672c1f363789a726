"""Passwords and session tokens (the login throttle is chalicelib/domain/throttle.py).

Passwords are hashed with scrypt (memory-hard, in the standard library); session and survey tokens are
256-bit random values of which only a SHA-256 hash is stored."""
from __future__ import annotations

import base64
import hashlib
import hmac

SCRYPT_R, SCRYPT_P = 8, 1


def hash_password(password: str, salt: bytes, n: int) -> str:
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=SCRYPT_R, p=SCRYPT_P,
                            maxmem=256 * n * SCRYPT_R, dklen=32)
    b64 = base64.urlsafe_b64encode
    return f"scrypt${n}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        assert scheme == "scrypt"
        expected = base64.urlsafe_b64decode(digest)
        actual = hashlib.scrypt(password.encode("utf-8"), salt=base64.urlsafe_b64decode(salt),
                                n=int(n), r=int(r), p=int(p), maxmem=256 * int(n) * int(r), dklen=len(expected))
    except (ValueError, AssertionError):
        return False
    return hmac.compare_digest(actual, expected)


def password_problems(password: str, username: str) -> list[str]:
    """Every rule a new password breaks, in Vietnamese (empty when it keeps them all)."""
    problems = []
    if len(password) < 10:
        problems.append("Mật khẩu mới phải có ít nhất 10 ký tự.")
    if len(password) > 128:
        problems.append("Mật khẩu mới dài tối đa 128 ký tự.")
    if username and username.lower() in password.lower():
        problems.append("Mật khẩu mới không được chứa tên đăng nhập.")
    kinds = sum([any(c.islower() for c in password), any(c.isupper() for c in password),
                 any(c.isdigit() for c in password), any(not c.isalnum() for c in password)])
    if kinds < 3:
        problems.append("Mật khẩu mới cần có ít nhất 3 trong 4 loại ký tự: chữ thường, chữ hoa, chữ số, ký tự đặc biệt.")
    return problems


def password_problem(password: str, username: str) -> str | None:
    """The rules a new password breaks, all in one Vietnamese message, or None."""
    return " ".join(password_problems(password, username)) or None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token(random_bytes: bytes) -> str:
    """A URL-safe token from 32 random bytes (256 bits)."""
    return base64.urlsafe_b64encode(random_bytes).rstrip(b"=").decode()


_SECRET_CHARS = 43  # new_token's length: 32 bytes in unpadded URL-safe base64


def survey_token(unit_key: str, slot: str, random_bytes: bytes) -> str:
    """A survey link's token: the key of the link it opens, then a 256-bit secret, in one URL-safe string. Naming
    the link saves a lookup on every request; the secret is what opens it (only the whole token's hash is stored on
    the link, and a link opens only with a hash it holds), so knowing a link's key gives nothing."""
    key = base64.urlsafe_b64encode(f"{unit_key}|{slot}".encode("utf-8")).rstrip(b"=").decode()
    return key + new_token(random_bytes)


def link_named(token: str) -> tuple[str, str] | None:
    """The (unit key, slot) a survey token names, or None for a token that names none (an older token, found by
    its hash alone, or anything malformed)."""
    key = token[:-_SECRET_CHARS]
    if not key:
        return None
    try:
        named = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4)).decode("utf-8")
        unit_key, slot = named.split("|")
    except ValueError:  # not base64, not UTF-8, not two parts (binascii.Error and UnicodeError are ValueErrors)
        return None
    return (unit_key, slot) if named.isprintable() and "#" in unit_key and "#" in slot else None


_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/l/I: read aloud or copied


def generate_password(random_bytes: bytes) -> str:
    """A 14-character password to hand out on paper: letters and digits that cannot be confused, plus
    one separator, always satisfying `password_problem`. Needs at least 14 random bytes."""
    chars = [_ALPHABET[b % len(_ALPHABET)] for b in random_bytes[:12]]
    chars[0] = "ABCDEFGHJKLMNPQRSTUVWXYZ"[random_bytes[12] % 24]
    chars[1] = "abcdefghjkmnpqrstuvwxyz"[random_bytes[13] % 23]
    chars[2] = "23456789"[random_bytes[0] % 8]
    return "".join(chars[:6]) + "-" + "".join(chars[6:]) + "#"
