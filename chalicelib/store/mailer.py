"""Handing a MIME message to the mail service: SES (production, and moto locally) or a government SMTP server.

`Mailer` is the contract services rely on; this module's functions are its implementation (the module itself is the
object: `chalicelib/store/stores.py` wires it), `chalicelib/store/memory.py` holds an in-memory one that records what
it was handed, and `tests/unit/test_store_contract.py` runs the same cases against both (moto for SES)."""
from __future__ import annotations

import functools
import threading
import time
from typing import TYPE_CHECKING, Any, Mapping, Protocol

from chalicelib.config import settings

if TYPE_CHECKING:
    import smtplib
    import ssl


class ThrottledError(Exception):
    """The mail service asks us to slow down; retry later."""


class RejectedError(Exception):
    """The mail service refused this message for good (bad address, unverified sender …)."""


class Mailer(Protocol):
    """The mail service, with what every implementation keeps:
    - `send_raw` hands one MIME message to one recipient and answers its message id, a different one for every
      message; a sender the service does not accept raises `RejectedError` (so does an address refused for good)
      and nothing is sent; a service asking to slow down raises `ThrottledError`, nothing sent, to try later;
    - `send_statistics` answers the account's data points (`DeliveryAttempts`, `Bounces`, `Complaints`, `Rejects`,
      `Timestamp`), whose delivery attempts count every message handed over;
    - `max_send_rate` answers the messages per second this sender may use, more than 0."""

    def max_send_rate(self) -> float: ...

    def send_statistics(self) -> list[Mapping[str, Any]]: ...

    def send_raw(self, sender: str, to: str, raw: bytes) -> str: ...


@functools.lru_cache(maxsize=1)
def _ses():
    import boto3

    return boto3.client("ses", region_name=settings().region)


_quota: dict[str, float] = {}


def max_send_rate() -> float:
    """Messages per second this sender may use: the account's SES rate (read, cached 5 minutes) shared among
    the mail consumers, never above CCHC_MAIL_MAX_RATE when that is set."""
    cfg = settings()
    if cfg.mail_mode == "smtp":
        return cfg.mail_max_rate or 5.0
    if not _quota or time.monotonic() - _quota["at"] > 300:
        _quota.update(rate=float(_ses().get_send_quota()["MaxSendRate"]), at=time.monotonic())
    rate = _quota["rate"] / max(1, cfg.mail_consumers)
    return min(rate, cfg.mail_max_rate) if cfg.mail_max_rate else rate


def send_statistics() -> list[Mapping[str, Any]]:
    """The account's sending data points of the last two weeks (SES GetSendStatistics; none through SMTP)."""
    if settings().mail_mode == "smtp":
        return []
    return list(_ses().get_send_statistics().get("SendDataPoints") or [])


def send_raw(sender: str, to: str, raw: bytes) -> str:
    """Send and return the message id."""
    cfg = settings()
    if cfg.mail_mode == "smtp":
        return _send_smtp(sender, to, raw)
    from botocore.exceptions import ClientError

    try:
        return _ses().send_raw_email(Source=sender, Destinations=[to], RawMessage={"Data": raw})["MessageId"]
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        message = exc.response.get("Error", {}).get("Message", "")
        if code in ("Throttling", "ThrottlingException", "TooManyRequestsException") or "Maximum sending rate" in message:
            raise ThrottledError(message) from exc
        if code in ("MessageRejected", "InvalidParameterValue", "MailFromDomainNotVerifiedException"):
            raise RejectedError(message or code) from exc
        raise


class InsecureServerError(Exception):
    """The SMTP server cannot be reached over verified TLS: nothing was sent (a configuration problem, not the
    message's: the message stays queued and is tried again)."""


def smtp_tls_context(ca_bundle: str = ""):
    """TLS 1.2 or later, the server's certificate verified against the system's CAs or `ca_bundle`, and its name
    checked against the configured host."""
    import ssl

    context = ssl.create_default_context(cafile=ca_bundle or None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def _send_smtp(sender: str, to: str, raw: bytes) -> str:
    """Through the configured SMTP server, always over verified TLS: STARTTLS is required (a server that does not
    offer it gets nothing, credentials least of all), or TLS from the first byte with CCHC_SMTP_SECURITY=tls. The
    connection is kept for the next message (see `_smtp_session`)."""
    import email
    import smtplib
    import ssl

    cfg = settings()
    if cfg.smtp_security not in ("starttls", "tls"):
        raise InsecureServerError(f"CCHC_SMTP_SECURITY must be starttls or tls, not {cfg.smtp_security!r}")
    message_id = email.message_from_bytes(raw)["Message-ID"] or ""
    try:
        _smtp_session().sendmail(sender, [to], raw)
    except ssl.SSLError as exc:  # includes a certificate or name that does not verify
        _drop_smtp_session()
        raise InsecureServerError(f"TLS with {cfg.smtp_host}:{cfg.smtp_port} failed: {exc}") from exc
    except smtplib.SMTPRecipientsRefused as exc:  # smtplib reset the session: it stays usable
        raise RejectedError(str(exc)) from exc
    except smtplib.SMTPResponseException as exc:
        if 400 <= exc.smtp_code < 500:
            raise ThrottledError(str(exc)) from exc
        raise RejectedError(str(exc)) from exc
    except BaseException:  # the connection died or was cut: the next message opens a new one
        _drop_smtp_session()
        raise
    return message_id.strip("<>")


# One SMTP session per thread, kept between messages: opening one costs a TCP connection, a TLS handshake and a
# login, many times the message itself (a mail batch sends dozens in a row). It serves only the settings it was
# opened with, and a NOOP checks it is still alive before each message (servers close idle sessions).
_smtp_held = threading.local()


def _smtp_session() -> smtplib.SMTP:
    import smtplib

    cfg = settings()
    wanted = (cfg.smtp_host, cfg.smtp_port, cfg.smtp_security, cfg.smtp_user, cfg.smtp_password, cfg.smtp_ca_bundle)
    held = getattr(_smtp_held, "session", None)
    if held is not None and _smtp_held.settings == wanted:
        try:
            if held.noop()[0] == 250:
                return held
        except (smtplib.SMTPException, OSError):
            pass
    _drop_smtp_session()
    _smtp_held.session, _smtp_held.settings = _open_smtp(), wanted
    return _smtp_held.session


def _drop_smtp_session() -> None:
    import smtplib

    held = getattr(_smtp_held, "session", None)
    _smtp_held.session = None
    if held is not None:
        try:
            held.quit()
        except (smtplib.SMTPException, OSError):
            held.close()


def _open_smtp() -> smtplib.SMTP:
    """A logged-in session over verified TLS, or InsecureServerError and nothing sent."""
    import smtplib

    cfg = settings()
    context = _tls_context(cfg.smtp_ca_bundle)
    smtp: smtplib.SMTP
    if cfg.smtp_security == "tls":
        smtp = smtplib.SMTP_SSL(cfg.smtp_host, cfg.smtp_port, timeout=30, context=context)
    else:
        smtp = smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=30)
    try:
        smtp.ehlo()
        if cfg.smtp_security == "starttls":
            if not smtp.has_extn("starttls"):
                raise InsecureServerError(f"{cfg.smtp_host}:{cfg.smtp_port} does not offer STARTTLS")
            smtp.starttls(context=context)
            smtp.ehlo()
        if cfg.smtp_user:
            smtp.login(cfg.smtp_user, cfg.smtp_password)
    except BaseException:
        smtp.close()
        raise
    return smtp


@functools.lru_cache(maxsize=4)
def _tls_context(ca_bundle: str) -> ssl.SSLContext:
    return smtp_tls_context(ca_bundle)
