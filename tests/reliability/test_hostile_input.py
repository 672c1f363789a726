"""Hostile input on every door of the API (moto in-process): forged workbooks, markup and formulas in every text
field, over-long fields, broken JSON, and link tokens of every shape.

Each is refused with a clear Vietnamese 4xx, or stored and served back as inert data, never a 5xx; workbook
attacks are refused within seconds and without inflating what they promise."""
from __future__ import annotations

import functools
import io
import json
import re
import struct
import time
import tracemalloc
import zipfile
from datetime import date, datetime, time as clock_time
from hashlib import sha256
from pathlib import Path
from urllib.parse import quote

import pytest
from openpyxl.utils import get_column_letter

from builders import person, roster_workbook
from outbox import body_text, download, run_all, sent_mails, token_of
from app import app  # noqa: F401  (importing the app registers every route in SPECS)
from chalicelib.api.routing import SPECS
from chalicelib.store import mailer
from chalicelib.store.models import RespondentModel

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET = "xl/worksheets/sheet1.xml"
IMPORT = "/campaigns/demo/units/01/roster/imports"
ROSTER = "/campaigns/demo/units/01/roster"
SITE = Path(__file__).resolve().parents[2] / "site"
MARKUP = ["<script>alert('x')</script>", "<img src=x onerror=alert(document.cookie)>", "\"><svg onload=alert`x`>",
          "</textarea><b>đậm</b>", "{{constructor.constructor('alert(`x`)')()}}"]
FORMULAS = ["=HYPERLINK(\"http://evil.example/\";\"Bấm vào đây\")", "+cmd|' /C calc'!A", "-Sở Tài chính",
            "@SUM(A:A)", "=Nguyễn Văn An"]


# ---- builders of forged workbooks --------------------------------------------------------------------------------

def base_workbook() -> bytes:
    return roster_workbook([person(1, group="1", agency="HĐND tỉnh")])


def rewrite(data: bytes, part: str, change) -> bytes:
    """The workbook with one part's bytes changed."""
    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            dst.writestr(info.filename, change(body) if info.filename == part else body)
    return out.getvalue()


def with_rows(xml: bytes) -> bytes:
    return lambda data: data.replace(b"</sheetData>", xml + b"</sheetData>")


@functools.lru_cache(maxsize=2)
def bomb(inflated_mb: int) -> bytes:
    """A real roster workbook whose sheet inflates to `inflated_mb` MB (an XML comment of one repeated letter),
    compressed as it is written, so neither side ever holds it whole."""
    src, out = zipfile.ZipFile(io.BytesIO(base_workbook())), io.BytesIO()
    head, tail = src.read(SHEET).split(b"</sheetData>")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename != SHEET:
                dst.writestr(info.filename, src.read(info.filename))
        entry = zipfile.ZipInfo(SHEET)
        entry.compress_type = zipfile.ZIP_DEFLATED
        with dst.open(entry, "w") as sheet:
            sheet.write(head)
            padding = b"<!--" + b"A" * (1024 * 1024 - 7) + b"-->"
            for _ in range(inflated_mb):
                sheet.write(padding)
            sheet.write(b"</sheetData>" + tail)
    return out.getvalue()


def lying(data: bytes, part: str, claimed: int) -> bytes:
    """The archive with `part` declaring `claimed` bytes uncompressed (local header and central directory) while
    its deflate stream still inflates to its real size: the zip bomb that defeats size checks."""
    buf, name = bytearray(data), part.encode()
    for signature, size_at, name_len_at, name_at in ((b"PK\x03\x04", 22, 26, 30), (b"PK\x01\x02", 24, 28, 46)):
        at = buf.find(signature)
        while at >= 0:
            length = struct.unpack("<H", buf[at + name_len_at:at + name_len_at + 2])[0]
            if bytes(buf[at + name_at:at + name_at + length]) == name:
                buf[at + size_at:at + size_at + 4] = struct.pack("<I", claimed)
            at = buf.find(signature, at + 4)
    return bytes(buf)


def entity_bomb(xml: bytes) -> bytes:
    """Billion laughs: ten levels of ten references, a gigabyte of 'lol' from a few hundred bytes."""
    levels = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    body = xml.split(b"?>", 1)[1] if xml.startswith(b"<?xml") else xml
    return (b'<?xml version="1.0"?><!DOCTYPE w [' + "".join(levels).encode() + b"]>"
            + body.replace("Phó Giám đốc".encode(), b"&lol9;", 1))


def external_entity(xml: bytes) -> bytes:
    body = xml.split(b"?>", 1)[1] if xml.startswith(b"<?xml") else xml
    return (b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
            + body.replace("Phó Giám đốc".encode(), b"&xxe;", 1))


def cells(columns: range, row: int, text: str = "x") -> bytes:
    return b"".join(f'<c r="{get_column_letter(c)}{row}" t="inlineStr"><is><t>{text}</t></is></c>'.encode()
                    for c in columns)


def many_rows(n: int) -> bytes:
    """`n` valid-looking respondents, written as sheet XML directly (openpyxl would take a minute)."""
    rows = []
    for i in range(3, n + 3):
        values = ["", "Nguyễn Văn An", "Phó Giám đốc", "HĐND tỉnh", "1", f"nguoi{i}@hanoi.gov.vn"]
        rows.append(f'<row r="{i}">'.encode() + b"".join(
            f'<c r="{get_column_letter(c)}{i}" t="inlineStr"><is><t>{v}</t></is></c>'.encode()
            for c, v in enumerate(values, start=1) if v) + b"</row>")
    return b"".join(rows)


def tiny_cells(rows: int, width: int) -> bytes:
    """Millions of empty cells: small once zipped, cheap to inflate, slow to parse."""
    letters = [get_column_letter(c) for c in range(1, width + 1)]
    return b"".join(f'<row r="{r}">'.encode() + b"".join(f'<c r="{col}{r}"/>'.encode() for col in letters)
                    + b"</row>" for r in range(3, rows + 3))


# ---- helpers ------------------------------------------------------------------------------------------------------

def upload(api, token, data: bytes, content_type: str = XLSX):
    return api.call("POST", IMPORT, token=token, headers={"content-type": content_type}, raw=data)


def measured(call):
    """(result, seconds, peak MB traced) of one call."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        result = call()
    finally:
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    return result, time.monotonic() - started, peak


def vietnamese(message: str) -> bool:
    return bool(re.search(r"[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹáàãéèíìóòõúùýĐ]", message))


def dispatched(api, tokens, rows: list[list]) -> list:
    """Unit 01 of the demo campaign imports `rows`, sends its roster; the ministry dispatches; mails are read."""
    # moto's SES reports a fixed quota of 1 mail a second whatever its backend says: give the sender a real one
    mailer._quota.update(rate=1000.0, at=time.monotonic())
    r = upload(api, tokens["01"], roster_workbook(rows))
    assert r.status_code == 200, r.body
    assert api.call("POST", f"{ROSTER}/submit", token=tokens["01"]).status_code == 200
    assert api.call("POST", "/campaigns/demo/dispatch", {}, token=tokens["admin"]).status_code == 202
    run_all(api)
    return sent_mails()


# ---- workbooks that attack the reader ----------------------------------------------------------------------------

FORGED = {
    "a zip bomb declaring its 300 MB": (lambda: bomb(300), 413, "quá lớn sau khi giải nén"),
    "a zip bomb lying that its 300 MB sheet is 1 MB": (lambda: lying(bomb(300), SHEET, 1024 * 1024), 422, "bị hỏng"),
    "a zip bomb lying that its 300 MB sheet is 9 MB": (lambda: lying(bomb(300), SHEET, 9 * 1024 * 1024), 422,
                                                        "bị hỏng"),
    "an XML entity bomb in the sheet": (lambda: rewrite(base_workbook(), SHEET, entity_bomb), 422, "bị hỏng"),
    "an external entity reading /etc/passwd": (lambda: rewrite(base_workbook(), SHEET, external_entity), 422,
                                              "bị hỏng"),
    "millions of empty cells": (lambda: rewrite(base_workbook(), SHEET, with_rows(tiny_cells(3000, 200))), 413,
                                "quá nhiều ô"),
    "12,000 respondents, over the 10,000 a roster may hold": (
        lambda: rewrite(base_workbook(), SHEET, with_rows(many_rows(12_000))), 413, "tối đa 10.000 dòng"),
}


@pytest.mark.serial  # a wall-clock budget: measured alone, not beside another worker
@pytest.mark.parametrize("case", list(FORGED))
def test_a_forged_workbook_is_refused_quickly_in_vietnamese_without_inflating_it(api, tokens, case):
    build, status, words = FORGED[case]
    data = build()
    assert len(data) < 4 * 1024 * 1024  # under the upload limit: the reader itself must hold
    r, seconds, peak = measured(lambda: upload(api, tokens["01"], data))
    assert (r.status_code, r.data.get("code")) in ((413, "payload_too_large"), (422, "validation_failed")), r.body[:300]
    assert r.status_code == status and words in r.data["message"] and vietnamese(r.data["message"]), r.data
    assert seconds < 10 and peak < 80, (seconds, peak)
    assert b"root:" not in r.body  # nothing of the server's files comes back
    assert list(RespondentModel.scan()) == []


SHEETS_THAT_CLAIM_MUCH = {
    "a dimension claiming every cell of the sheet (A1:XFD1048576)":
        lambda x: x.replace(b'<dimension ref="A1:H2"/>', b'<dimension ref="A1:XFD1048576"/>').replace(
            b'<dimension ref="A1:H2" />', b'<dimension ref="A1:XFD1048576" />'),
    "a last row at 1,048,576": with_rows(b'<row r="1048576">' + cells(range(10, 11), 1048576) + b"</row>"),
    "a row 16,384 columns wide": with_rows(b'<row r="3">' + cells(range(9, 16385), 3) + b"</row>"),
}


def test_a_dimension_understating_the_rows_loses_none_of_them(api, tokens):
    """Some generators write <dimension ref="A1"/> whatever the sheet holds: every row is still read."""
    rows = [person(i, group="1", agency="HĐND tỉnh") for i in (1, 2, 3)]
    data = rewrite(roster_workbook(rows), SHEET, lambda x: re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1"', x))
    r = upload(api, tokens["01"], data)
    assert r.status_code == 200 and r.data["accepted"] == 3, r.body[:300]


@pytest.mark.serial  # a wall-clock budget: measured alone, not beside another worker
@pytest.mark.parametrize("case", list(SHEETS_THAT_CLAIM_MUCH))
def test_a_sheet_that_claims_to_be_huge_is_read_for_what_it_holds(api, tokens, case):
    data = rewrite(base_workbook(), SHEET, SHEETS_THAT_CLAIM_MUCH[case])
    r, seconds, peak = measured(lambda: upload(api, tokens["01"], data))
    assert r.status_code == 200 and r.data["accepted"] == 1, r.body[:300]
    assert seconds < 20 and peak < 80, (seconds, peak)  # traced: several times slower than in production


def test_cells_of_the_wrong_type_are_reported_against_their_columns(api, tokens):
    data = roster_workbook([
        [1, datetime(2020, 1, 2, 8, 30), 12345, True, 1.0, 987654321, date(2021, 3, 4), clock_time(10, 30)],
        [2, "Nguyễn Văn Bình", None, False, "#N/A", "binh@hanoi.gov.vn", 3.5, -1],
        [3, 3.14, "Phó Giám đốc", "HĐND tỉnh", True, "an@hanoi.gov.vn", "0912345678", datetime(2021, 1, 1)],
    ])
    r = upload(api, tokens["01"], data)
    assert r.status_code == 422 and r.data["accepted"] == 0, r.body[:300]
    bad = {(e["row"], e["column"]) for e in r.data["errors"]}
    assert {(2, "Họ và tên"), (2, "Email"), (2, "Số điện thoại"), (3, "Chức vụ"), (3, "Nhóm đối tượng"),
            (3, "Số điện thoại"), (4, "Họ và tên"), (4, "Nhóm đối tượng")} <= bad, bad
    assert all(vietnamese(e["message"]) for e in r.data["errors"])
    assert list(RespondentModel.scan()) == []


def zip_of(name: str, body: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(name, body)
    return out.getvalue()


@pytest.mark.parametrize("case, body, status, words", [
    ("an Excel 97-2003 .xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504, 415, ".xls"),
    ("a CSV export", "STT,Họ và tên\n1,Nguyễn Văn An\n".encode(), 415, "không phải tệp Excel"),
    ("a zip with no workbook inside", zip_of("danh-sach.txt", b"Nguyen Van An"), 422, "không đúng định dạng .xlsx"),
    ("a PDF", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n", 415, "không phải tệp Excel"),
    ("an empty body", b"", 422, "Chưa có tệp"),
    ("a workbook cut in half", base_workbook()[:2000], 422, "bị hỏng"),
])
def test_a_file_that_is_not_a_workbook_sent_as_xlsx_gets_a_clear_4xx(api, tokens, case, body, status, words):
    r = upload(api, tokens["01"], body)
    assert r.status_code == status and words in r.data["message"] and vietnamese(r.data["message"]), r.body[:300]
    assert list(RespondentModel.scan()) == []


@pytest.mark.parametrize("content_type", ["text/csv", "application/json", "application/vnd.ms-excel",
                                          "multipart/form-data; boundary=xyz", "text/html", "application/pdf"])
def test_a_roster_sent_with_the_wrong_content_type_gets_415_in_the_error_shape(api, tokens, content_type):
    r = upload(api, tokens["01"], base_workbook(), content_type)
    assert r.status_code == 415, r.body[:300]
    assert r.data["code"] == "unsupported_media_type" and set(r.data) == {"code", "message", "details"}
    assert XLSX in r.data["message"] and vietnamese(r.data["message"])
    assert list(RespondentModel.scan()) == []


def test_a_json_route_sent_another_content_type_gets_415_in_the_error_shape(api, tokens):
    r = api.call("POST", ROSTER, raw=b"full_name=A", token=tokens["01"],
                 headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415 and r.data["code"] == "unsupported_media_type" and vietnamese(r.data["message"])


def test_a_file_asked_for_without_a_matching_accept_header_gets_the_error_shape(api, tokens):
    r = api.call("GET", "/campaigns/demo/roster-template.xlsx", token=tokens["01"], headers={"accept": "text/html"})
    assert r.status_code == 400 and r.data["code"] == "bad_request" and XLSX in r.data["message"]
    assert api.call("GET", "/campaigns/demo/roster-template.xlsx", token=tokens["01"],
                    headers={"accept": XLSX}).status_code == 200


# ---- markup stays data -------------------------------------------------------------------------------------------

def test_markup_in_roster_and_focal_person_fields_is_stored_and_served_verbatim_as_json(api, tokens):
    for i, markup in enumerate(MARKUP):
        row = {"full_name": f"Nguyễn {markup}", "position": markup, "agency": f"HĐND tỉnh {markup}", "group": "1",
               "email": f"nguoi{i}@hanoi.gov.vn", "note": markup}
        r = api.call("POST", ROSTER, row, token=tokens["01"])
        assert r.status_code == 201, r.body
        assert {k: r.data[k] for k in ("full_name", "position", "agency", "note")} == \
               {k: row[k] for k in ("full_name", "position", "agency", "note")}
    listing = api.call("GET", f"{ROSTER}?limit=50", token=tokens["01"])
    assert listing.headers["content-type"].startswith("application/json")
    assert {item["position"] for item in listing.data["items"]} == set(MARKUP)
    focal = {"full_name": MARKUP[0], "position": MARKUP[1], "mobile": "0912345678"}
    assert api.call("PUT", "/campaigns/demo/units/01/focal-person", focal, token=tokens["01"]).status_code == 200
    got = api.call("GET", "/campaigns/demo/units/01/focal-person", token=tokens["01"]).data
    assert (got["full_name"], got["position"]) == (MARKUP[0], MARKUP[1])


def test_markup_in_a_free_text_answer_and_in_reasons_comes_back_verbatim(api, tokens):
    [mail] = dispatched(api, tokens, [person(1, group="1", agency="HĐND tỉnh")])
    token = token_of(mail)
    survey = api.call("GET", "/survey", headers={"x-survey-token": token}).data
    text_questions = [q["id"] for s in survey["questionnaire"]["sections"] for q in s["questions"]
                      if q["type"] == "text"]
    assert text_questions
    answers = {text_questions[0]: MARKUP[0] + "\n" + MARKUP[1]}
    r = api.call("PUT", "/survey/draft", {"answers": answers}, headers={"x-survey-token": token})
    assert r.status_code == 200, r.body
    assert api.call("GET", "/survey", headers={"x-survey-token": token}).data["draft"]["answers"] == answers
    reason = f"Can thiệp {MARKUP[2]}"
    r = api.call("POST", "/campaigns/demo/units/01/annulment", {"reason": reason}, token=tokens["admin"])
    assert r.status_code == 201 and r.data["reason"] == reason
    units = api.call("POST", "/campaigns/demo/integrity/scan", token=tokens["admin"]).data["units"]
    assert next(u for u in units if u["unit"] == "01")["annul_reason"] == reason
    audit = api.call("GET", "/audit?action=survey_annulled", token=tokens["admin"]).data["items"]
    assert audit[0]["details"]["reason"] == reason


def test_an_invitation_escapes_a_respondents_name_in_its_html(api, tokens):
    hostile = "<script>alert('x')</script> Nguyễn"
    [mail] = dispatched(api, tokens, [person(1, group="1", agency="HĐND tỉnh", name=hostile)])
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Nguyễn" in html
    assert hostile in body_text(mail)  # the plain-text part carries it as text


HTML_SINKS = re.compile(r"\.(innerHTML|outerHTML)\s*[+]?=|insertAdjacentHTML|document\.write|createContextualFragment"
                        r"|\.srcdoc\s*=|\beval\s*\(|new\s+Function\s*\(")


def test_the_site_never_turns_text_into_markup():
    """Every page builds its DOM from text nodes (lib/dom.js el()): no script writes HTML, so API data stays inert."""
    found = []
    for path in sorted(SITE.rglob("*")):
        if path.suffix in (".js", ".html") and "vendor" not in path.parts:
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if HTML_SINKS.search(line):
                    found.append(f"{path.relative_to(SITE)}:{n}: {line.strip()}")
    assert found == []


# ---- exports: formulas stay text ---------------------------------------------------------------------------------

def sheet_cells(workbook: bytes) -> tuple[list[str], dict[str, str]]:
    """The <f> elements of every sheet and the text of every string cell (shared or inline), by reference."""
    z = zipfile.ZipFile(io.BytesIO(workbook))
    shared = []
    if "xl/sharedStrings.xml" in z.namelist():
        shared = ["".join(re.findall(r"<t[^>]*>(.*?)</t>", si, re.S))
                  for si in re.findall(r"<si>(.*?)</si>", z.read("xl/sharedStrings.xml").decode(), re.S)]
    formulas, texts = [], {}
    for name in z.namelist():
        if name.startswith("xl/worksheets/sheet"):
            xml = z.read(name).decode()
            formulas += re.findall(r"<f[ >].*?</f>", xml)
            for ref, kind, body in re.findall(r'<c r="([A-Z]+\d+)"[^>]*?t="(s|inlineStr|str)"[^>]*>(.*?)</c>', xml):
                value = shared[int(re.search(r"<v>(\d+)</v>", body).group(1))] if kind == "s" else \
                    "".join(re.findall(r"<t[^>]*>(.*?)</t>", body, re.S))
                texts[f"{name}!{ref}"] = value
    return formulas, texts


def unescape(xml_text: str) -> str:
    return (xml_text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'")
            .replace("&amp;", "&"))


def test_formula_like_values_reach_the_progress_workbook_as_text_cells(api, tokens):
    rows = [person(i + 1, group="1", position=value, agency=f"{value} HĐND", email=f"nguoi{i}@hanoi.gov.vn")
            for i, value in enumerate(FORMULAS)]
    rows.append(person(9, group="1", agency="\t=1+2", position="\r@A1"))  # tab and CR are trimmed, the rest kept
    dispatched(api, tokens, rows)
    r = api.call("GET", "/campaigns/demo/units/01/progress.xlsx", token=tokens["01"])
    assert r.status_code == 200, r.body
    formulas, texts = sheet_cells(download(r.data["url"]))
    assert formulas == []
    values = {unescape(v) for v in texts.values()}
    assert set(FORMULAS) <= values and {f"{v} HĐND" for v in FORMULAS} <= values
    assert {"=1+2", "@A1"} <= values


def test_formula_like_values_come_back_as_text_in_the_error_workbook(api, tokens):
    rows = [person(1, group="9", position=FORMULAS[0], agency=FORMULAS[1])]
    r = upload(api, tokens["01"], roster_workbook(rows))
    assert r.status_code == 422 and r.data["error_workbook_url"]
    formulas, texts = sheet_cells(download(r.data["error_workbook_url"]))
    assert formulas == [] and {FORMULAS[0], FORMULAS[1]} <= {unescape(v) for v in texts.values()}


# ---- over-long fields --------------------------------------------------------------------------------------------

LONG = "a" * 100_000  # 100 KB


@pytest.mark.parametrize("field", ["full_name", "position", "agency", "email", "phone", "note", "ministry", "group"])
def test_a_100_kb_roster_field_is_refused_naming_the_field(api, tokens, field):
    row = {"full_name": "Nguyễn Văn An", "position": "Phó Giám đốc", "agency": "HĐND tỉnh", "group": "1",
           "email": "an@hanoi.gov.vn"}
    r = api.call("POST", ROSTER, {**row, field: LONG}, token=tokens["01"])
    assert r.status_code == 422 and field in {d.get("field") for d in r.data["details"]}, r.body[:300]
    added = api.call("POST", ROSTER, row, token=tokens["01"]).data
    r = api.call("PATCH", f"{ROSTER}/{added['rid']}", {field: LONG}, token=tokens["01"])
    assert r.status_code == 422 and field in {d.get("field") for d in r.data["details"]}, r.body[:300]


@pytest.mark.parametrize("method, path, body, field", [
    ("PUT", "/campaigns/demo/units/01/focal-person", {"position": "A", "mobile": "0912345678", "full_name": LONG},
     "full_name"),
    ("PUT", "/campaigns/demo/units/01/focal-person", {"full_name": "A", "mobile": "0912345678", "position": LONG},
     "position"),
    ("PUT", "/campaigns/demo/units/01/focal-person", {"full_name": "A", "position": "B", "mobile": LONG}, "mobile"),
    ("POST", "/campaigns/demo/units/01/annulment", {"reason": LONG}, "reason"),
    ("PATCH", "/campaigns/demo/phases/roster", {"closes": "2030-01-01", "reason": LONG}, "reason"),
    ("POST", "/auth/password", {"current_password": "<the admin's>", "new_password": LONG}, "new_password"),
    ("PUT", "/campaigns/demo/questionnaires/locality-1", {"title": LONG, "sections": []}, "title"),
])
def test_a_100_kb_field_elsewhere_is_refused_naming_the_field(api, seeded, tokens, method, path, body, field):
    if "current_password" in body:
        body = {**body, "current_password": seeded["admin"][1]}
    r = api.call(method, path, body, token=tokens["admin"])
    assert r.status_code == 422 and field in {d.get("field") for d in r.data["details"]}, r.body[:300]


def test_a_100_kb_free_text_answer_is_refused_naming_the_question(api, tokens):
    [mail] = dispatched(api, tokens, [person(1, group="1", agency="HĐND tỉnh")])
    token = token_of(mail)
    survey = api.call("GET", "/survey", headers={"x-survey-token": token}).data
    question = next(q["id"] for s in survey["questionnaire"]["sections"] for q in s["questions"]
                    if q["type"] == "text")
    r = api.call("PUT", "/survey/draft", {"answers": {question: LONG}}, headers={"x-survey-token": token})
    assert r.status_code == 422 and question in json.dumps(r.data["details"]), r.body[:300]


def test_a_body_over_the_json_limit_gets_413_stating_the_limit(api, tokens):
    r = api.call("POST", ROSTER, {"full_name": "a" * 300_000}, token=tokens["01"])
    assert r.status_code == 413 and "256 KB" in r.data["message"]


# ---- broken JSON on every JSON route -----------------------------------------------------------------------------

JSON_ROUTES = sorted((s.method, s.path) for s in SPECS
                     if s.request is not None and "application/json" in (s.content_types or ["application/json"]))
BROKEN_JSON = {
    "invalid UTF-8": b'{"full_name": "Nguy\xe1\xbb\x85n \xff\xfe"}',
    "a UTF-16 body": json.dumps({"reason": "Lý do"}).encode("utf-16"),
    "cut short": b'{"reason": "L',
    "nested 100,000 deep": b"[" * 100_000,
    "a 5,000-digit number": b'{"units": ' + b"9" * 5000 + b"}",
    "not an object": b'["reason"]',
    "a NUL byte": b'{"reason": "a"}\x00',
}
PATH_VALUES = {"cid": "demo", "unit": "01", "phase": "roster", "rid": "000001-abcdef", "qid": "locality-1",
               "code": "1"}


def concrete(path: str) -> str:
    return re.sub(r"{(\w+)}", lambda m: PATH_VALUES.get(m.group(1), "x"), path)


def test_every_json_route_answers_400_to_broken_json(api, tokens):
    assert len(JSON_ROUTES) >= 15
    wrong = []
    for n, (method, path) in enumerate(JSON_ROUTES):
        for k, (case, raw) in enumerate(BROKEN_JSON.items()):
            headers = {"x-survey-token": "x" * 43} if path.startswith("/survey") else {}
            r = api.call(method, concrete(path), raw=raw, token=tokens["admin"], headers=headers,
                         ip=f"10.66.{n}.{k + 1}")
            if r.status_code != 400 or r.data["code"] != "bad_request" or not vietnamese(r.data["message"]):
                wrong.append((method, path, case, r.status_code, r.body[:160]))
    assert wrong == []


# ---- link tokens of every shape ----------------------------------------------------------------------------------

def test_a_link_token_of_any_shape_gets_the_single_unknown_link_answer(api, tokens):
    [mail] = dispatched(api, tokens, [person(1, group="1", agency="HĐND tỉnh")])
    valid = token_of(mail)
    shapes = {
        "missing": None, "empty": "", "spaces": "   ", "huge": "A" * 100_000, "non-ASCII": "Nguyễn-Văn-An-" * 4,
        "emoji": "🔑" * 43, "NUL inside": valid[:20] + "\x00" + valid[21:], "NUL after": valid + "\x00",
        "url-encoded": "".join(f"%{b:02X}" for b in valid.encode()), "quoted": quote(valid + "=="),
        "padding =": valid + "=", "padding ==": valid + "==", "standard alphabet": valid.replace("-", "+").replace(
            "_", "/") + ("" if "-" in valid or "_" in valid else "+"),
        "its stored hash": sha256(valid.encode()).hexdigest(), "upper case": valid.upper(),
        "one character off": valid[:-1] + ("A" if valid[-1] != "A" else "B"), "one short": valid[:-1],
        "one more": valid + "A", "twice": valid + valid, "bearer form": f"Bearer {valid}",
        "JSON": json.dumps({"token": valid}), "SQL": "' OR '1'='1", "path": "../../../../etc/passwd",
        "a session token": tokens["01"],
    }
    answers = set()
    n = 0
    for method, path in (("GET", "/survey"), ("PUT", "/survey/draft"), ("POST", "/survey/submit")):
        for name, shape in shapes.items():
            n += 1
            headers = {} if shape is None else {"x-survey-token": shape}
            body = None if method == "GET" else {"answers": {}}
            r = api.call(method, path, body, headers=headers, ip=f"10.55.{n // 250}.{n % 250 + 1}")
            assert r.status_code == 404, (method, name, r.status_code, r.body[:200])
            answers.add(r.body)
    assert len(answers) == 1 and json.loads(answers.pop())["code"] == "link_unknown"
    assert api.call("GET", "/survey", headers={"x-survey-token": valid}).status_code == 200  # still the one link


def test_control_characters_in_text_fields_do_not_break_the_exports(api, tokens):
    row = {"full_name": "Nguyễn\x01Văn\x1bAn", "position": "Phó\x00Giám\x07đốc", "agency": "HĐND\x0btỉnh\x7f",
           "group": "1", "email": "an@hanoi.gov.vn", "note": "\x08\x0c"}
    r = api.call("POST", ROSTER, row, token=tokens["01"])
    assert r.status_code in (201, 422), r.body[:300]
    mailer._quota.update(rate=1000.0, at=time.monotonic())
    if r.status_code == 201:
        assert api.call("POST", f"{ROSTER}/submit", token=tokens["01"]).status_code == 200
        assert api.call("POST", "/campaigns/demo/dispatch", {}, token=tokens["admin"]).status_code == 202
        run_all(api)
    for path, who in (("/campaigns/demo/units/01/progress.xlsx", "01"), ("/campaigns/demo/progress.xlsx", "admin")):
        r = api.call("GET", path, token=tokens[who])
        assert r.status_code == 200, (path, r.body[:300])
        assert zipfile.ZipFile(io.BytesIO(download(r.data["url"]))).testzip() is None
