"""The site server: site/ as static files, a generated /config.js and the outbox page /outbox/ (the mails the
local stack sent, rendered with the Jinja2 templates beside this module)."""
from __future__ import annotations

import email
import email.parser
import email.policy
import functools
import html
import json
import os
import re
import threading
import urllib.parse
from datetime import datetime, timedelta, timezone
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

try:
    from zoneinfo import ZoneInfo

    VN_TZ: Any = ZoneInfo("Asia/Ho_Chi_Minh")
except Exception:  # no tz database: Vietnam has no daylight saving time
    VN_TZ = timezone(timedelta(hours=7))

_EML_NAME = re.compile(r"^[0-9]{8}T[0-9]{12}Z-[A-Za-z0-9_.@=+-]+\.eml$")
_OUTBOX_PAGE_SIZE = 100
_HTML = "text/html; charset=utf-8"


def _decode_header(value: Any) -> str:
    return str(value) if value is not None else ""


@functools.lru_cache(maxsize=20000)
def _eml_summary(path_str: str, mtime: float) -> dict[str, str]:
    with open(path_str, "rb") as fh:
        msg = email.parser.BytesHeaderParser(policy=email.policy.default).parse(fh)
    to = _decode_header(msg.get("To")) or _decode_header(msg.get("X-Envelope-To"))
    return {"to": to, "subject": _decode_header(msg.get("Subject")) or "(không có tiêu đề)",
            "from": _decode_header(msg.get("From")) or _decode_header(msg.get("X-Envelope-From"))}


def _eml_time(name: str) -> str:
    stamp = datetime.strptime(name.split("-", 1)[0], "%Y%m%dT%H%M%S%fZ").replace(tzinfo=timezone.utc)
    return stamp.astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M:%S")


def _linkify(text: str) -> Markup:
    """Plain text, escaped, with its http(s) addresses as links that open in a new tab."""
    escaped = html.escape(text)
    return Markup(re.sub(r"(https?://[^\s<>&\"']+(?:&amp;[^\s<>&\"']+)*)",
                         lambda m: f'<a href="{m.group(1)}" target="_blank" rel="noopener">{m.group(1)}</a>',
                         escaped))


@functools.lru_cache(maxsize=1)
def _templates() -> Environment:
    env = Environment(loader=FileSystemLoader(Path(__file__).resolve().parent / "templates"),
                      autoescape=select_autoescape(["html"]))
    env.filters["linkify"] = _linkify
    return env


def render(template: str, **context: Any) -> bytes:
    return _templates().get_template(template).render(**context).encode("utf-8")


def _message_page(title: str, message: str, back: bool = False, outbox_link: bool = False) -> bytes:
    return render("message.html", title=title, message=message, back=back, outbox_link=outbox_link)


def outbox_list_page(outbox_dir: Path, query: dict) -> bytes:
    """The outbox: newest mail first, searchable by recipient and subject, a hundred a page."""
    q = (query.get("q") or [""])[0].strip().lower()
    try:
        page = max(1, int((query.get("trang") or ["1"])[0]))
    except ValueError:
        page = 1
    names = sorted((p.name for p in outbox_dir.glob("*.eml") if _EML_NAME.match(p.name)),
                   reverse=True) if outbox_dir.is_dir() else []
    total = len(names)

    def summary(n: str) -> dict[str, str]:
        path = outbox_dir / n
        return _eml_summary(str(path), path.stat().st_mtime)

    if q:
        names = [n for n in names if q in (summary(n)["to"] + " " + summary(n)["subject"]).lower()]
    start = (page - 1) * _OUTBOX_PAGE_SIZE
    rows = [{"name": n, "time": _eml_time(n), **summary(n)} for n in names[start:start + _OUTBOX_PAGE_SIZE]]
    return render("outbox_list.html", title="Hộp thư đi (cục bộ)", refresh=not q and (page == 1 or not rows),
                  q=q, total=total, rows=rows, query=f"&q={urllib.parse.quote(q)}" if q else "",
                  previous=page - 1 if page > 1 else None,
                  next=page + 1 if start + _OUTBOX_PAGE_SIZE < len(names) else None)


def outbox_mail_page(name: str, msg) -> bytes:
    """One mail: its headers, attachments, the HTML part in a sandboxed frame and the text part."""
    fields = [("Thời gian", _eml_time(name)),
              ("Người gửi", _decode_header(msg.get("From")) or _decode_header(msg.get("X-Envelope-From"))),
              ("Người nhận", _decode_header(msg.get("To")) or _decode_header(msg.get("X-Envelope-To"))),
              ("Tiêu đề", _decode_header(msg.get("Subject")))]
    if msg.get("Cc"):
        fields.insert(3, ("Đồng gửi", _decode_header(msg.get("Cc"))))
    attachments = [p.get_filename() or f"tệp {i + 1}" for i, p in enumerate(msg.iter_attachments())]
    text_part = msg.get_body(preferencelist=("plain",))
    return render("outbox_mail.html", title=_decode_header(msg.get("Subject")) or "Thư", name=name, fields=fields,
                  attachments=attachments, has_html=msg.get_body(preferencelist=("html",)) is not None,
                  text=text_part.get_content() if text_part is not None else None)


def _mail_html(msg) -> bytes:
    """The mail's HTML part, its links opening outside the frame."""
    part = msg.get_body(preferencelist=("html",))
    content = part.get_content() if part is not None else ""
    base = '<base target="_blank">'
    content, found = re.subn(r"(<head\b[^>]*>)", lambda m: m.group(1) + base, content, count=1, flags=re.I)
    return (content if found else base + content).encode("utf-8")


# The sandbox CSP keeps mail HTML away from the site's origin.
_MAIL_HTML_CSP = "sandbox allow-popups allow-popups-to-escape-sandbox; script-src 'none'; object-src 'none'"
_CONTENT_TYPES = {".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8",
                  ".css": "text/css; charset=utf-8", ".html": _HTML, ".json": "application/json",
                  ".svg": "image/svg+xml", ".webmanifest": "application/manifest+json",
                  ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def site_headers(api_url: str, upload_url: str) -> dict[str, str]:
    """The security headers of every page of the site: those CloudFront's response headers policy adds in a
    deployment (infra/template.yaml, SiteResponseHeaders), with the local API and storage as the only places a
    page may connect to. HSTS is sent as there, though browsers ignore it over plain http."""
    connect = " ".join(dict.fromkeys(_origin(u) for u in (api_url, upload_url) if u))
    return {
        "Content-Security-Policy": f"default-src 'self'; connect-src {connect}; frame-ancestors 'none'; "
                                   "object-src 'none'; base-uri 'self'; form-action 'self'",
        "Strict-Transport-Security": "max-age=63072000",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
    }


# The outbox is a local tool, not the site: it frames each mail's HTML under its own sandbox policy.
_OUTBOX_HEADERS = ("X-Content-Type-Options", "Referrer-Policy")


class SiteHandler(SimpleHTTPRequestHandler):
    """Static files of the site folder, /config.js and /outbox/; `server.site` is the SiteServer."""

    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, **_CONTENT_TYPES}
    site: "SiteServer"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=str(self.site.site_dir), **kwargs)

    def log_message(self, fmt: str, *args) -> None:  # the launcher's console is for the API's log
        pass

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        outbox = self.path == "/outbox" or self.path.startswith("/outbox/")
        for name, value in self.site.security.items():
            if not outbox or name in _OUTBOX_HEADERS:
                self.send_header(name, value)
        super().end_headers()

    def _send(self, status: int, body: bytes, content_type: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] in ("/config.js", "/outbox") or self.path.startswith("/outbox/"):
            return self._route()
        if self.command == "HEAD":
            return self._route(static=super().do_HEAD)
        return self._route(static=super().do_GET)

    def _route(self, static: Callable[[], None] | None = None) -> None:
        parsed = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(parsed.path)
        if path == "/config.js":
            return self._send(200, self.site.config_js, "text/javascript; charset=utf-8")
        if path == "/outbox":
            self.send_response(301)
            self.send_header("Location", "/outbox/")
            self.send_header("Content-Length", "0")
            return self.end_headers()
        if path.startswith("/outbox/"):
            return self._outbox(path[len("/outbox/"):], urllib.parse.parse_qs(parsed.query))
        if path == "/" and not (self.site.site_dir / "index.html").exists():
            return self._send(200, _message_page("Chỉ số CCHC: môi trường cục bộ",
                                                 "Thư mục site/ chưa có trang index.html.", outbox_link=True), _HTML)
        if os.path.isdir(self.translate_path(self.path)) and not os.path.exists(
                os.path.join(self.translate_path(self.path), "index.html")):
            return self._send(404, _message_page("Không tìm thấy", "Không có trang này."), _HTML)
        return static() if static else None

    def _outbox(self, rest: str, query: dict) -> None:
        outbox_dir = self.site.outbox_dir
        if rest == "":
            return self._send(200, outbox_list_page(outbox_dir, query), _HTML)
        name, _, sub = rest.partition("/")
        if not _EML_NAME.match(name) or not (outbox_dir / name).is_file():
            return self._send(404, _message_page("Không tìm thấy thư", "Thư này không có trong hộp thư đi.",
                                                 back=True), _HTML)
        raw = (outbox_dir / name).read_bytes()
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        if sub == "":
            return self._send(200, outbox_mail_page(name, msg), _HTML)
        if sub == "raw":
            return self._send(200, raw, "message/rfc822", {"Content-Disposition": f'attachment; filename="{name}"'})
        if sub == "html":
            return self._send(200, _mail_html(msg), _HTML, {"Content-Security-Policy": _MAIL_HTML_CSP})
        if sub.startswith("part/") and sub[5:].isdigit():
            parts = list(msg.iter_attachments())
            index = int(sub[5:])
            if index < len(parts):
                part = parts[index]
                quoted = urllib.parse.quote(part.get_filename() or f"tep-{index}")
                payload = part.get_payload(decode=True)
                return self._send(200, payload if isinstance(payload, bytes) else b"", "application/octet-stream",
                                  {"Content-Disposition": f"attachment; filename*=UTF-8''{quoted}"})
        return self._send(404, _message_page("Không tìm thấy", "Không có trang này."), _HTML)


class SiteServer:
    """ThreadingHTTPServer for `site_dir` on host:port, with a generated /config.js and the outbox page.
    Site pages carry `site_headers`; `upload_url` is where the browser posts evidence files (moto locally)."""

    def __init__(self, site_dir: str | Path, outbox_dir: str | Path, api_url: str,
                 host: str = "127.0.0.1", port: int = 8080, upload_url: str = ""):
        self.site_dir = Path(site_dir)
        self.outbox_dir = Path(outbox_dir)
        self.api_url = api_url
        self.upload_url = upload_url or os.environ.get("AWS_ENDPOINT_URL", "")
        self.security = site_headers(api_url, self.upload_url)
        self.host, self.port = host, port
        self.config_js = ("window.CCHC_CONFIG = " + json.dumps({"apiUrl": api_url}) + ";\n").encode("utf-8")
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "SiteServer":
        handler = type("Handler", (SiteHandler,), {"site": self})

        class _Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._httpd = _Server((self.host, self.port), handler)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="site-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
