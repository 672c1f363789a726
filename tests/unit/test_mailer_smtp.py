"""CCHC_MAIL_MODE=smtp (a ministry's own mail server): always over verified TLS, credentials never in clear.

Against a real SMTP server on 127.0.0.1 (tests/smtpserver.py) with a self-signed certificate given as the CA bundle."""
from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

import pytest
from smtpserver import SmtpServer, certificate

from chalicelib.config import settings
from chalicelib.store import mailer

SENDER, TO = "chisocchc@moha.gov.vn", "nguyenvana@hanoi.gov.vn"


def raw_mail() -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = SENDER, TO, "Phiếu khảo sát Chỉ số CCHC"
    msg["Message-ID"] = "<abc123@moha.gov.vn>"
    msg.set_content("Kính gửi Ông/Bà, xin mời trả lời phiếu khảo sát.")
    return msg.as_bytes(policy=email.policy.SMTP)


@pytest.fixture
def smtp_settings(monkeypatch):
    """configure(port, ca_bundle=…, host=…, security=…): the SMTP settings for one test."""
    def configure(port: int, ca_bundle: str = "", host: str = "127.0.0.1", security: str = "starttls") -> None:
        for name, value in {"CCHC_MAIL_MODE": "smtp", "CCHC_SMTP_HOST": host, "CCHC_SMTP_PORT": str(port),
                            "CCHC_SMTP_USER": "cchc-sender", "CCHC_SMTP_PASSWORD": "Mat-khau-SMTP#2026",
                            "CCHC_SMTP_CA_BUNDLE": ca_bundle, "CCHC_SMTP_SECURITY": security}.items():
            monkeypatch.setenv(name, value)
        settings.cache_clear()

    yield configure
    monkeypatch.undo()
    settings.cache_clear()


@pytest.fixture
def cert(tmp_path):
    return certificate(tmp_path / "tls")


def test_starttls_with_a_verified_certificate_then_login_then_the_mail(smtp_settings, cert):
    server = SmtpServer(cert)
    try:
        smtp_settings(server.port, ca_bundle=str(cert[0]))
        assert mailer.send_raw(SENDER, TO, raw_mail()) == "abc123@moha.gov.vn"
        assert server.logins == [(True, "cchc-sender", "Mat-khau-SMTP#2026")]  # over TLS only
        assert server.clear_text() == []  # before TLS: the greeting and the switch, nothing else
        [message] = server.messages
        assert email.message_from_bytes(message)["To"] == TO
    finally:
        server.stop()


def test_tls_from_the_first_byte_when_configured(smtp_settings, cert):
    server = SmtpServer(cert, starttls=False, implicit=True)
    try:
        smtp_settings(server.port, ca_bundle=str(cert[0]), security="tls")
        mailer.send_raw(SENDER, TO, raw_mail())
        assert [tls for tls, _ in server.commands] and all(tls for tls, _ in server.commands)
        assert len(server.messages) == 1 and server.logins[0][0]
    finally:
        server.stop()


def test_a_server_without_starttls_gets_neither_credentials_nor_mail(smtp_settings, cert):
    server = SmtpServer(cert, starttls=False)
    try:
        smtp_settings(server.port, ca_bundle=str(cert[0]))
        with pytest.raises(mailer.InsecureServerError, match="does not offer STARTTLS"):
            mailer.send_raw(SENDER, TO, raw_mail())
        assert server.logins == [] and server.messages == [] and server.clear_text() == []
    finally:
        server.stop()


@pytest.mark.parametrize("case", ["untrusted certificate", "certificate for another name"])
def test_a_certificate_that_does_not_verify_stops_everything(smtp_settings, cert, tmp_path, case):
    if case == "untrusted certificate":
        server, bundle = SmtpServer(cert), ""  # self-signed, and the system's CAs only
    else:  # trusted, but issued to another host than the one configured
        other = certificate(tmp_path / "other", names=("mail.moha.gov.vn",), addresses=())
        server, bundle = SmtpServer(other), str(other[0])
    try:
        smtp_settings(server.port, ca_bundle=bundle)
        with pytest.raises(mailer.InsecureServerError, match="TLS with 127.0.0.1"):
            mailer.send_raw(SENDER, TO, raw_mail())
        assert server.logins == [] and server.messages == [] and server.clear_text() == []
    finally:
        server.stop()


def test_an_unknown_security_setting_is_refused(smtp_settings, cert):
    server = SmtpServer(cert)
    try:
        smtp_settings(server.port, ca_bundle=str(cert[0]), security="none")
        with pytest.raises(mailer.InsecureServerError, match="starttls or tls"):
            mailer.send_raw(SENDER, TO, raw_mail())
        assert server.commands == []
    finally:
        server.stop()


def test_the_tls_context_verifies_names_and_certificates_at_tls_1_2_or_later():
    import ssl

    context = mailer.smtp_tls_context()
    assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2


def test_messages_in_a_row_share_one_session_and_a_lost_one_is_opened_again(smtp_settings, cert):
    server = SmtpServer(cert)
    try:
        smtp_settings(server.port, ca_bundle=str(cert[0]))
        for _ in range(3):
            mailer.send_raw(SENDER, TO, raw_mail())
        assert len(server.messages) == 3 and len(server.logins) == 1  # one connection, handshake and login
        mailer._smtp_held.session.close()  # the server hung up while idle
        mailer.send_raw(SENDER, TO, raw_mail())
        assert len(server.messages) == 4 and len(server.logins) == 2
        assert server.clear_text() == []
        smtp_settings(server.port, ca_bundle=str(cert[0]), security="tls")  # other settings: not that session
        with pytest.raises(mailer.InsecureServerError):
            mailer.send_raw(SENDER, TO, raw_mail())  # a STARTTLS port spoken to in TLS from the first byte
        assert len(server.messages) == 4
    finally:
        mailer._drop_smtp_session()
        server.stop()
