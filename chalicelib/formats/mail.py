"""Survey mails: Jinja2 templates in Vietnamese (HTML and plain text) rendered into MIME messages."""
from __future__ import annotations

import functools
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "mail"


@functools.lru_cache(maxsize=1)
def _templates():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), undefined=StrictUndefined,
                      autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
                      trim_blocks=True, lstrip_blocks=True)
    return env.get_template("survey.html.j2"), env.get_template("survey.txt.j2")


def subject(kind: str, campaign_year: int, questionnaire: str) -> str:
    prefix = "Nhắc trả lời" if kind == "reminder" else "Mời trả lời"
    return f"[Chỉ số CCHC {campaign_year}] {prefix}: {questionnaire}"


def render(context: dict) -> tuple[str, str]:
    """(html, text) for one respondent. Every value is escaped in the HTML part (names are hostile input)."""
    html, text = _templates()
    return html.render(**context), text.render(**context)


def mime(sender: str, sender_name: str, to: str, subject_line: str, html: str, text: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = Address(display_name=sender_name, addr_spec=sender)
    msg["To"] = to
    msg["Subject"] = subject_line
    msg["Message-ID"] = make_msgid(domain=sender.split("@", 1)[1])
    msg.set_content(text, charset="utf-8")
    msg.add_alternative(html, subtype="html", charset="utf-8")
    return msg.as_bytes()
