import pytest

from chalicelib.domain import credentials as cred
from chalicelib.domain.text import clean, fold, normalise_mobile


@pytest.mark.parametrize("raw, expected", [
    ("0912 345 678", "0912345678"), ("0912.345.678", "0912345678"), ("+84912345678", "0912345678"),
    ("84912345678", "0912345678"), ("912345678", "0912345678"), ("0381234567", "0381234567"),
])
def test_vietnamese_mobile_numbers_are_normalised(raw, expected):
    assert normalise_mobile(raw) == expected


@pytest.mark.parametrize("raw", ["02438123456", "0112345678", "09123456789", "abc", "", "0912-345"])
def test_landlines_and_malformed_numbers_are_not_mobiles(raw):
    assert normalise_mobile(raw) is None


def test_text_is_nfc_trimmed_and_spaces_folded_including_non_breaking():
    assert clean("  Nguye\u0302\u0303n\u00a0 Va\u0306n   A ") == "Nguyễn Văn A"
    assert fold("Sở  Nội Vụ") == fold("so noi vu") == "so noi vu"


def test_a_password_verifies_only_against_its_own_hash():
    stored = cred.hash_password("Mật-khẩu-1", b"s" * 16, n=1024)
    assert stored.startswith("scrypt$1024$")
    assert cred.verify_password("Mật-khẩu-1", stored)
    assert not cred.verify_password("Mật-khẩu-2", stored)
    assert not cred.verify_password("x", "garbage")


def test_production_password_hashing_is_memory_hard_by_default():
    import os
    saved = os.environ.pop("CCHC_SCRYPT_N")
    try:
        from chalicelib.config import settings
        settings.cache_clear()
        assert settings().password_scrypt_n == 2 ** 14  # 128 * n * r bytes = 16 MiB per hash
    finally:
        os.environ["CCHC_SCRYPT_N"] = saved
        settings.cache_clear()


def test_generated_passwords_satisfy_the_password_rules_and_differ():
    import secrets
    passwords = {cred.generate_password(secrets.token_bytes(16)) for _ in range(200)}
    assert len(passwords) == 200
    assert all(cred.password_problem(p, "tinh01") is None for p in passwords)


def test_password_rules_are_explained_in_vietnamese():
    assert "10 ký tự" in cred.password_problem("ngắn", "u")
    assert "tên đăng nhập" in cred.password_problem("tinh01-Abc-123", "tinh01")


def test_every_broken_password_rule_is_named_at_once():
    problems = cred.password_problems("tinh01", "tinh01")
    assert problems == ["Mật khẩu mới phải có ít nhất 10 ký tự.", "Mật khẩu mới không được chứa tên đăng nhập.",
                        "Mật khẩu mới cần có ít nhất 3 trong 4 loại ký tự: chữ thường, chữ hoa, chữ số, "
                        "ký tự đặc biệt."]
    assert cred.password_problem("tinh01", "tinh01") == " ".join(problems)
    assert cred.password_problems("Mat-Khau-Moi-9", "tinh01") == []


def test_a_survey_token_names_its_link_and_anything_else_names_none():
    from chalicelib.domain.credentials import link_named, survey_token

    token = survey_token("2021#01", "7-ab12cd#ministry", bytes(range(32)))
    assert link_named(token) == ("2021#01", "7-ab12cd#ministry")
    assert len(token) > 43 and all(c.isalnum() or c in "-_" for c in token)  # fits the survey page's token shape
    assert survey_token("2021#01", "7-ab12cd#ministry", bytes(32)) != token  # the secret is the random part
    for other in ("A" * 43, "", "<script>", "!!" + "a" * 43, "QUJD" + "a" * 43, token[:-1] + "=="):
        assert link_named(other) is None, other
