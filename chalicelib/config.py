"""Settings read once from the environment; stages differ only in these values."""
from __future__ import annotations

import functools
import os
from msgspec import Struct

from chalicelib.domain.delivery import Policy


class Settings(Struct, frozen=True):
    stage: str
    region: str
    table_prefix: str
    exports_bucket: str
    evidence_bucket: str
    site_url: str
    cors_origin: str
    mail_from: str
    mail_from_domain: str  # the MAIL FROM (Return-Path) subdomain SPF checks; "" = SES's own
    mail_dkim_selectors: str  # comma-separated: the sending domain's Easy DKIM selectors
    mail_policy: Policy  # transient retries, the unit pause, the national breaker (CCHC_MAIL_* settings)
    mail_mode: str  # "ses" or "smtp"
    session_hours: int
    session_idle_minutes: int  # a session ends after this long without a request (besides session_hours)
    password_scrypt_n: int
    jobs_queue: str
    mail_queue: str
    mail_events_topic: str
    mail_consumers: int
    mail_max_rate: float  # 0 = the account's rate as read from SES; a lower value caps it
    smtp_host: str
    smtp_port: int
    smtp_user: str
    smtp_password: str
    smtp_security: str  # "starttls" (submission, port 587) or "tls" (TLS from the first byte, port 465)
    smtp_ca_bundle: str  # PEM file of the CAs to trust for the SMTP server ("" = the system's)

    @property
    def is_local(self) -> bool:
        return self.stage in ("local", "test")


@functools.lru_cache(maxsize=1)
def settings() -> Settings:
    env = os.environ.get
    stage = env("CCHC_STAGE", "local")
    prefix = env("CCHC_TABLE_PREFIX", f"cchc-{stage}-")
    return Settings(
        stage=stage,
        region=env("AWS_REGION") or env("AWS_DEFAULT_REGION") or "ap-southeast-1",
        table_prefix=prefix,
        exports_bucket=env("CCHC_EXPORTS_BUCKET", f"{prefix}exports"),
        evidence_bucket=env("CCHC_EVIDENCE_BUCKET", f"{prefix}evidence"),
        site_url=env("CCHC_SITE_URL", "http://127.0.0.1:8080").rstrip("/"),
        cors_origin=env("CCHC_CORS_ORIGIN", "*"),
        mail_from=env("CCHC_MAIL_FROM", "chisocchc@moha.gov.vn"),
        mail_from_domain=env("CCHC_MAIL_FROM_DOMAIN", ""),
        mail_dkim_selectors=env("CCHC_MAIL_DKIM_SELECTORS", ""),
        mail_policy=Policy.from_settings(os.environ),
        mail_mode=env("CCHC_MAIL_MODE", "ses"),
        session_hours=int(env("CCHC_SESSION_HOURS", "8")),
        session_idle_minutes=int(env("CCHC_SESSION_IDLE_MINUTES", "30")),
        password_scrypt_n=int(env("CCHC_SCRYPT_N", str(2**14))),
        jobs_queue=env("CCHC_JOBS_QUEUE", f"{prefix}jobs"),
        mail_queue=env("CCHC_MAIL_QUEUE", f"{prefix}mail"),
        mail_events_topic=env("CCHC_MAIL_EVENTS_TOPIC", f"{prefix}mail-events"),
        mail_consumers=int(env("CCHC_MAIL_CONSUMERS", "2")),
        mail_max_rate=float(env("CCHC_MAIL_MAX_RATE", "0")),
        smtp_host=env("CCHC_SMTP_HOST", ""),
        smtp_port=int(env("CCHC_SMTP_PORT", "587")),
        smtp_user=env("CCHC_SMTP_USER", ""),
        smtp_password=env("CCHC_SMTP_PASSWORD", ""),
        smtp_security=env("CCHC_SMTP_SECURITY", "starttls"),
        smtp_ca_bundle=env("CCHC_SMTP_CA_BUNDLE", ""),
    )
