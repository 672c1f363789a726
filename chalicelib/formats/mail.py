"""Survey mails: one Jinja2 template in Vietnamese (HTML) rendered into a MIME message whose plain-text part is made
from that HTML, so that both parts say the same.

A mail looks like what it is: From the ministry's address, a Date and a Message-ID on the sending domain, the text
and HTML alternatives with the same content (the text part writes the button's address out), no images (no tracking
pixel), and no link but the survey's own address on the ministry's site (no redirector, no shortener)."""
from __future__ import annotations

import functools
import re
from datetime import datetime, timezone
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "mail"


@functools.lru_cache(maxsize=1)
def _template():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), undefined=StrictUndefined,
                      autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
                      trim_blocks=True, lstrip_blocks=True)
    return env.get_template("survey.html.j2")


def subject(kind: str, campaign_year: int, questionnaire: str) -> str:
    prefix = "Nhắc trả lời" if kind == "reminder" else "Mời trả lời"
    return f"[Chỉ số CCHC {campaign_year}] {prefix}: {questionnaire}"


def render(context: dict) -> tuple[str, str]:
    """(html, text) for one respondent. Every value is escaped in the HTML part (names are hostile input); the text
    part is `text_from_html(html)`, computed once per kind of mail with the values left as placeholders, which are
    then filled in (converting every mail's HTML would double the cost of rendering a dispatch)."""
    html = _template().render(**context)
    shape = _text_shape(context.get("kind", ""), tuple(sorted(k for k in context if k != "kind")))
    text = _PLACEHOLDER.sub(lambda m: re.sub(r"\s+", " ", str(context[m[1]])), shape)
    return html, _tidy(text)


# A placeholder survives escaping and whitespace handling unchanged: private-use characters around the value's name.
_PLACEHOLDER = re.compile("\ue000(\\w+)\ue001")


@functools.lru_cache(maxsize=16)
def _text_shape(kind: str, keys: tuple[str, ...]) -> str:
    """The text part of this kind of mail with a placeholder for each value. Only `kind` steers the template."""
    return text_from_html(_template().render(kind=kind, **{key: f"\ue000{key}\ue001" for key in keys}))


# --- the plain-text part ------------------------------------------------------------------------------------------

_BLOCKS = frozenset({"p", "div", "table", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li",
                     "blockquote", "body", "html"})
_HIDDEN = frozenset({"head", "title", "style", "script"})


class _TextWriter(HTMLParser):
    """Paragraphs of the HTML as lines separated by a blank line; <br> as a line break; a link as its text, or as
    "text: address" when the text is not the address itself."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[str] = []
        self.current: list[str] = []
        self.hidden = 0
        self.links: list[tuple[str, int]] = []  # (href, where its text starts in self.current)

    def _close_paragraph(self) -> None:
        text = _tidy("".join(self.current)).strip("\n")
        if text:
            self.paragraphs.append(text)
        self.current = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag in _BLOCKS:
            self._close_paragraph()
        elif tag == "br":
            self.current.append("\n")
        elif tag == "a":
            self.links.append((dict(attrs).get("href") or "", len(self.current)))

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCKS:
            self._close_paragraph()
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            start = min(start, len(self.current))
            label = " ".join("".join(self.current[start:]).split())
            if href and label != href:
                self.current[start:] = [f"{label}: {href}" if label else href]

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.current.append(re.sub(r"\s+", " ", data))

    def close(self) -> None:
        super().close()
        self._close_paragraph()


def _tidy(text: str) -> str:
    """Runs of spaces as one space, lines stripped (paragraphs stay apart: a line may be empty between them)."""
    return "\n".join(re.sub(" +", " ", line).strip() for line in text.split("\n")).strip("\n ") + "\n"


def text_from_html(html: str) -> str:
    """The HTML as plain text: the same words, paragraph by paragraph."""
    writer = _TextWriter()
    writer.feed(html)
    writer.close()
    return "\n\n".join(writer.paragraphs) + "\n"


# --- what a mail may contain --------------------------------------------------------------------------------------

class _Resources(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.loads: list[str] = []  # anything the reader's mail client would fetch: images, frames, styles …

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.links.append(values["href"] or "")
        if tag in ("img", "image", "iframe", "frame", "object", "embed", "video", "audio", "source", "script",
                   "link", "input"):
            self.loads.append(f"<{tag}>")
        for name in ("src", "srcset", "background", "poster", "data"):
            if values.get(name):
                self.loads.append(f"{tag}[{name}]")
        if "url(" in (values.get("style") or "").lower():
            self.loads.append(f"{tag}[style url()]")


def links(html: str) -> list[str]:
    """Every link target of the HTML part."""
    parser = _Resources()
    parser.feed(html)
    parser.close()
    return parser.links


def remote_loads(html: str) -> list[str]:
    """What a mail client would load when the message is opened (a tracking pixel is one): must be empty."""
    parser = _Resources()
    parser.feed(html)
    parser.close()
    return parser.loads


def foreign_links(html: str, site_url: str) -> list[str]:
    """The links that do not point at the site's own host over its own scheme (a shortener, a redirector …)."""
    site = urlsplit(site_url)
    return [href for href in links(html)
            if (urlsplit(href).scheme, urlsplit(href).netloc) != (site.scheme, site.netloc)]


# --- the message --------------------------------------------------------------------------------------------------

def mime(sender: str, sender_name: str, to: str, subject_line: str, html: str, text: str,
         at: datetime | None = None) -> bytes:
    """The complete message: From, To, Subject, Date (`at`, or now) and a Message-ID on the sender's domain;
    multipart/alternative of the text and the HTML. SES replaces Date and Message-ID with its own when it accepts
    the message; an SMTP server and the local outbox keep these."""
    msg = EmailMessage()
    msg["From"] = Address(display_name=sender_name, addr_spec=sender)
    msg["To"] = to
    msg["Subject"] = subject_line
    msg["Date"] = format_datetime((at or datetime.now(timezone.utc)).astimezone(timezone.utc))
    msg["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[1])
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation auto-replies to an automatic mail
    msg["Content-Language"] = "vi"
    msg.set_content(text, charset="utf-8")
    msg.add_alternative(html, subtype="html", charset="utf-8")
    return msg.as_bytes()


# --- notices and preflight messages -----------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _notice_template():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), undefined=StrictUndefined,
                      autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
                      trim_blocks=True, lstrip_blocks=True)
    return env.get_template("notice.html.j2")


def notice(title: str, paragraphs: list[str], greeting: str, desk_url: str,
           campaign_year: int | None = None) -> tuple[str, str, str]:
    """(subject, html, text) of a technical notice or a preflight's test message: each line of `paragraphs` one
    paragraph; the text part made from the HTML."""
    subject_line = f"[Chỉ số CCHC {campaign_year}] {title}" if campaign_year else f"[Chỉ số CCHC] {title}"
    html = _notice_template().render(subject=subject_line, title=title, paragraphs=paragraphs, greeting=greeting,
                                     desk_url=desk_url)
    return subject_line, html, text_from_html(html)
