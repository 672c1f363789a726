"""Mail capture: every message moto's SES accepted becomes one .eml file in the outbox folder."""
from __future__ import annotations

import contextlib
import email
import email.parser
import email.policy
import email.utils
import json
import os
import re
import threading
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path
from typing import Callable



@dataclass
class CapturedMail:
    id: str
    raw: bytes


def _eml_from_fields(fields: dict) -> bytes:
    """An .eml for an SES SendEmail message (moto keeps source, subject, body and destinations)."""
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = fields.get("source") or ""
    dest = fields.get("destinations") or {}
    if isinstance(dest, dict):
        for header, key in (("To", "ToAddresses"), ("Cc", "CcAddresses"), ("Bcc", "BccAddresses")):
            if dest.get(key):
                msg[header] = ", ".join(dest[key])
    elif dest:
        msg["To"] = ", ".join(dest)
    msg["Subject"] = fields.get("subject") or ""
    msg["Date"] = email.utils.format_datetime(datetime.now(timezone.utc))
    msg["Message-ID"] = f"<{fields['id']}@local.ses>"
    body = fields.get("body") or ""
    if fields.get("template"):
        body = f"Template: {fields['template']}\n\n{fields.get('template_data') or ''}"
    if re.search(r"<(html|body|p|a|div|table|br)\b", body, re.I):
        msg.set_content(body, subtype="html")
    else:
        msg.set_content(body)
    return msg.as_bytes()


def _eml_from_raw(fields: dict) -> bytes:
    raw = fields.get("raw_data") or ""
    data = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else bytes(raw)
    # Envelope headers go on top, as an MTA adds Return-Path/Delivered-To: the raw message stays intact.
    newline = b"\r\n" if b"\r\n" in data[:2000] else b"\n"
    envelope = b""
    if fields.get("source"):
        envelope += b"X-Envelope-From: " + str(fields["source"]).encode("utf-8") + newline
    if fields.get("destinations"):
        envelope += b"X-Envelope-To: " + ", ".join(fields["destinations"]).encode("utf-8") + newline
    return envelope + data


def _mail_from_fields(kind: str, fields: dict) -> CapturedMail | None:
    if kind == "RawMessage":
        return CapturedMail(str(fields["id"]), _eml_from_raw(fields))
    if kind in ("Message", "TemplateMessage"):
        return CapturedMail(str(fields["id"]), _eml_from_fields(fields))
    return None


class DataJsonMailSource:
    """Reads sent mail from moto's debug view GET /moto-api/data.json (["ses"]["RawMessage"|"Message"]).
    Works against a moto in any process; it serializes every tracked moto object, so poll it sparingly
    when the emulator holds many items."""

    def __init__(self, moto_url: str):
        self.url = moto_url.rstrip("/") + "/moto-api/data.json"

    def fetch(self) -> list[CapturedMail]:
        with urllib.request.urlopen(self.url, timeout=30) as response:
            data = json.loads(response.read())
        ses = data.get("ses", {})
        out = []
        for kind in ("RawMessage", "Message", "TemplateMessage"):
            for fields in ses.get(kind, []):
                mail = _mail_from_fields(kind, fields)
                if mail:
                    out.append(mail)
        return out


class InProcessMailSource:
    """Reads sent mail straight from moto's SES backends when moto runs in this process (the launcher): the
    same records data.json shows, read incrementally, without serializing every DynamoDB item each second."""

    def __init__(self) -> None:
        self._cursors: dict[int, int] = {}

    def fetch(self) -> list[CapturedMail]:
        from moto.ses.models import ses_backends

        out = []
        for account in list(dict.values(ses_backends)):
            for backend in list(dict.values(account)):
                sent = backend.sent_messages
                start = self._cursors.get(id(sent), 0)
                if start > len(sent):
                    start = 0
                for message in sent[start:]:
                    kind = type(message).__name__
                    mail = _mail_from_fields(kind, {k: v for k, v in vars(message).items()})
                    if mail:
                        out.append(mail)
                self._cursors[id(sent)] = len(sent)
        return out


class OutboxWriter:
    """Writes each new mail once as `<UTC timestamp>-<id>.eml`; ids already written (from the index file and
    from the file names) are skipped, so restarts and repeated polls never duplicate a mail."""

    INDEX = ".index"

    def __init__(self, outbox_dir: str | Path, source, interval: float = 1.0):
        self.dir = Path(outbox_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.source = source
        self.interval = interval
        self._seen = self._load_seen()
        self._last_stamp = ""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _load_seen(self) -> set[str]:
        seen = set()
        index = self.dir / self.INDEX
        if index.exists():
            seen.update(line.strip() for line in index.read_text(encoding="utf-8").splitlines() if line.strip())
        for path in self.dir.glob("*.eml"):
            seen.add(path.stem.split("-", 1)[1] if "-" in path.stem else path.stem)
        return seen

    def _stamp(self) -> str:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        if stamp <= self._last_stamp:  # keep names strictly increasing: the outbox sorts by them
            last = datetime.strptime(self._last_stamp, "%Y%m%dT%H%M%S%fZ")
            stamp = (last + timedelta(microseconds=1)).strftime("%Y%m%dT%H%M%S%fZ")
        self._last_stamp = stamp
        return stamp

    def poll_once(self) -> list[Path]:
        with self._lock:
            written = []
            for mail in self.source.fetch():
                safe_id = re.sub(r"[^A-Za-z0-9_.@=+-]", "_", mail.id)[:120]
                if safe_id in self._seen:
                    continue
                path = self.dir / f"{self._stamp()}-{safe_id}.eml"
                tmp = self.dir / f".{path.name}.tmp"
                tmp.write_bytes(mail.raw)
                os.replace(tmp, path)
                with open(self.dir / self.INDEX, "a", encoding="utf-8") as index:
                    index.write(safe_id + "\n")
                self._seen.add(safe_id)
                written.append(path)
            return written

    def start(self, on_mail: Callable[[Path], None] | None = None,
              on_error: Callable[[BaseException], None] | None = None) -> None:
        self._stop.clear()

        def loop() -> None:
            last_error = None
            while not self._stop.wait(self.interval):
                try:
                    for path in self.poll_once():
                        if on_mail:
                            on_mail(path)
                    last_error = None
                except Exception as exc:
                    if on_error and repr(exc) != last_error:
                        on_error(exc)
                    last_error = repr(exc)

        self._thread = threading.Thread(target=loop, name="outbox-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        with contextlib.suppress(Exception):
            self.poll_once()


