"""Secrets and privacy across the whole API.

1. A full flow (logins, a failed login, a password change, a roster import and its sending, dispatch, survey
   open / draft / submit with distinctive free-text answers, reminders, the ministry reading answers, logout) runs
   with every Python log record captured at DEBUG. No password, session token, survey token or free-text answer
   appears in any record of the app; the SDKs' records at INFO and above are as clean; the SDKs' own DEBUG
   records (never switched on in any stage) carry no password or token either. The app's structured log and
   metric lines as written on stdout (what CloudWatch Logs receives) hold none of them, nor a respondent's
   address.
2. Every DynamoDB table and every S3 object (gzip and xlsx/zip contents opened) holds no password, session token
   or survey token in plain text: only their hashes, which are asserted to be there.
3. Answers are read only by ministry roles, through GET /campaigns/{cid}/units/{unit}/responses, without the
   respondent's identity, and every read leaves an audit entry (who, when, source IP, unit, how many).

In-process moto (tests/conftest.py); the local stack's process logs are scanned by test_load_loopback.py."""
from __future__ import annotations

import gzip
import io
import json
import logging
import re
import urllib.parse
import zipfile
from datetime import timedelta

import boto3
import pytest
from builders import person
from outbox import REGION, mail_roster, run_all, sent_mails, token_of

from chalicelib.domain.credentials import token_hash

SDK_LOGGERS = ("botocore", "boto3", "urllib3", "pynamodb", "s3transfer", "moto", "werkzeug", "responses")
NEW_PASSWORD = "Hồ-Gươm-xanh-2026!kín"  # distinctive, so any leak is found by substring search
WRONG_PASSWORD = "Gần-đúng-mật-khẩu-77#"  # a mistyped password is a near-secret too
DRAFT_TEXT = "Nháp riêng tư: cán bộ Phòng Một Cửa gợi ý trả lời (mã NHAP-7Q2Z)"
FINAL_TEXT = "Ý kiến bảo mật: thủ tục đất đai còn chậm, có phong bì (mã GUI-4K8W)"


@pytest.fixture(autouse=True)
def fast_ses(monkeypatch):
    """The mock account's SES sending quota: 1,000 mails a second, as an account with production access has a
    high rate (moto 5 answers GetSendQuota with 1 a second whatever its backend says). The app still paces
    itself at the quota it reads, shared by its mail consumers."""
    from moto.ses import models

    original = models.SESQuota.__init__

    def init(self, sent: int) -> None:
        original(self, sent)
        self.max_send_rate = 1000

    monkeypatch.setattr(models.SESQuota, "__init__", init)


def answers_for(survey: dict, text: str, pick: int = 0) -> dict:
    """Valid answers to every question of the form; the optional free-text question gets `text`."""
    out: dict = {}
    for section in survey["questionnaire"]["sections"]:
        for q in section["questions"]:
            if q["type"] == "single":
                out[q["id"]] = q["options"][pick % len(q["options"])]["value"]
            elif q["type"] == "multi":
                out[q["id"]] = [q["options"][0]["value"]]
            else:
                out[q["id"]] = text
    return out


def survey_call(api, method: str, path: str, token: str, body=None, ip: str = "10.30.0.5"):
    return api.call(method, path, body, headers={"x-survey-token": token, "user-agent": "Mozilla/5.0 Kiểm thử"},
                    ip=ip)


def dispatched(api, tokens, rows: list[list]) -> list[str]:
    """Unit 01 of the demo campaign: `rows` imported, sent, dispatched, mailed; the survey tokens from the mails."""
    return [token_of(m) for m in mail_roster(api, tokens, rows)]


def storage_dump() -> dict[str, str]:
    """Every DynamoDB item and every S3 object of the mock account, as text, keyed by where it lives."""
    ddb, s3 = boto3.client("dynamodb", region_name=REGION), boto3.client("s3", region_name=REGION)
    dump: dict[str, str] = {}
    for table in ddb.list_tables()["TableNames"]:
        items = [item for page in ddb.get_paginator("scan").paginate(TableName=table) for item in page["Items"]]
        dump[f"dynamodb:{table}"] = "\n".join(_strings(items))
    for bucket in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
                dump[f"s3:{bucket}/{obj['Key']}"] = _readable(body)
    return dump


def _strings(value) -> list[str]:
    """Every string inside DynamoDB items, JSON-encoded attributes (JSONAttribute escapes non-ASCII) decoded too."""
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [str(k), *_strings(v)]]
    if isinstance(value, (list, tuple, set)):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, bytes):
        return [value.decode("utf-8", "replace")]
    if isinstance(value, str):
        try:
            decoded = json.loads(value)
        except ValueError:
            return [value]
        return [value, *_strings(decoded)]
    return [str(value)]


def _readable(body: bytes) -> str:
    """An object's bytes, opened when compressed (gzip) or packed (xlsx and other zip files)."""
    parts = [body.decode("utf-8", "replace")]
    if body[:2] == b"\x1f\x8b":
        parts.append(gzip.decompress(body).decode("utf-8", "replace"))
    if body[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            parts += [archive.read(name).decode("utf-8", "replace") for name in archive.namelist()]
    return "\n".join(parts)


def forms(secret: str) -> set[str]:
    """The ways a string shows up in logs and payloads: as is, or URL-encoded (the query protocols of SES, SQS)."""
    return {secret, urllib.parse.quote_plus(secret), urllib.parse.quote(secret, safe="")}


def unescaped(text: str) -> str:
    """JSON inside JSON inside a repr(): non-ASCII text comes out as \\u1ea3, \\\\u1ea3 ...; decode every level."""
    return re.sub(r"\\+u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)


def leaks(secrets: dict[str, str], texts: dict[str, str]) -> list[tuple[str, str]]:
    return [(label, where) for where, text in texts.items() for text in [unescaped(text)]
            for label, secret in secrets.items() if any(form in text for form in forms(secret))]


# ---- 1 and 2: the whole flow, its logs, its storage --------------------------------------------------------------

def test_a_full_flow_leaves_no_password_token_or_free_text_answer_in_logs_and_stores_only_hashes(
        api, seeded, clock, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    capsys.readouterr()
    secrets: dict[str, str] = {}
    for who in ("01", "admin"):
        secrets[f"password {who}"] = seeded[who][1]
    sessions = {}
    # a failed login, then the province's first login and its password change, then a login with the new one
    assert api.call("POST", "/auth/login", {"username": seeded["01"][0], "password": WRONG_PASSWORD}).status_code == 401
    first = api.login(*seeded["01"], ip="10.1.0.1")
    r = api.call("POST", "/auth/password", {"current_password": seeded["01"][1], "new_password": NEW_PASSWORD},
                 token=first, ip="10.1.0.1")
    assert r.status_code == 200, r.data
    sessions["01"] = api.login(seeded["01"][0], NEW_PASSWORD, ip="10.1.0.1")
    sessions["admin"] = api.login(*seeded["admin"], ip="10.9.0.1")
    secrets.update({"wrong password": WRONG_PASSWORD, "new password": NEW_PASSWORD, "first session": first,
                    "province session": sessions["01"], "ministry session": sessions["admin"]})

    invites = dispatched(api, sessions, [person(1, group="1", agency="HĐND tỉnh"),
                                         person(2, group="1", agency="HĐND tỉnh"),
                                         person(3, group="2", agency="Sở Y tế")])
    assert len(invites) == 4
    secrets.update({f"invitation token {i}": t for i, t in enumerate(invites)})
    survey = survey_call(api, "GET", "/survey", invites[0]).data
    text_question = next(q["id"] for s in survey["questionnaire"]["sections"] for q in s["questions"]
                         if q["type"] == "text")
    assert survey_call(api, "PUT", "/survey/draft", invites[0],
                       {"answers": {text_question: DRAFT_TEXT}}).status_code == 200
    r = survey_call(api, "POST", "/survey/submit", invites[0], {"answers": answers_for(survey, FINAL_TEXT)})
    assert r.status_code == 201, r.data
    secrets.update({"draft answer": DRAFT_TEXT, "submitted answer": FINAL_TEXT})

    clock.at(clock() + timedelta(hours=25))
    sessions["01"] = api.login(seeded["01"][0], NEW_PASSWORD, ip="10.1.0.1")  # the old session has expired
    secrets["later province session"] = sessions["01"]
    r = api.call("POST", "/campaigns/demo/units/01/reminders", {}, token=sessions["01"], ip="10.1.0.1")
    assert r.status_code == 200 and r.data["queued"] == 3, r.data
    run_all(api)
    reminders = [token_of(m) for m in sent_mails()[4:]]
    assert len(reminders) == 3 and not set(reminders) & set(invites)
    secrets.update({f"reminder token {i}": t for i, t in enumerate(reminders)})
    sessions["admin"] = api.login(*seeded["admin"], ip="10.9.0.1")
    secrets["later ministry session"] = sessions["admin"]
    read = api.call("GET", "/campaigns/demo/units/01/responses", token=sessions["admin"], ip="10.9.0.1")
    assert read.status_code == 200 and read.data["items"][0]["answers"][text_question] == FINAL_TEXT
    assert api.call("POST", "/auth/logout", token=sessions["admin"]).status_code == 200

    stdout = capsys.readouterr().out.splitlines()
    lines = [json.loads(line) for line in stdout if line.strip()]  # every line the app wrote is JSON
    messages = {line.get("message") for line in lines}
    assert {"request", "roster imported", "survey submitted", "job started", "job done"} <= messages
    assert {m["Name"] for line in lines if "_aws" in line for d in line["_aws"]["CloudWatchMetrics"]
            for m in d["Metrics"]} >= {"Submits", "Imports", "MailsSent", "Api4xx"}
    assert leaks(secrets, {f"stdout:{i}": line for i, line in enumerate(stdout)}) == []
    assert not any(f"nguoi{i}@" in line for line in stdout for i in (1, 2, 3))  # the respondents' addresses

    records = caplog.records
    assert len(records) > 100  # the capture really ran at DEBUG (the SDKs log every call)
    app_text = {f"{r.name}:{i}": _record_text(r) for i, r in enumerate(records) if not r.name.startswith(SDK_LOGGERS)}
    sdk_info = {f"{r.name}:{i}": _record_text(r) for i, r in enumerate(records)
                if r.name.startswith(SDK_LOGGERS) and r.levelno >= logging.INFO}
    sdk_debug = {f"{r.name}:{i}": _record_text(r) for i, r in enumerate(records)
                 if r.name.startswith(SDK_LOGGERS) and r.levelno < logging.INFO}
    assert leaks(secrets, app_text) == []
    assert leaks(secrets, sdk_info) == []
    # The SDKs' DEBUG records hold the request payloads sent to AWS: answers are among them (they are stored), but a
    # password or a token never is: only their hashes leave the app.
    credentials = {k: v for k, v in secrets.items() if "answer" not in k}
    assert leaks(credentials, sdk_debug) == []
    assert "submitted answer" in {label for label, _ in leaks(secrets, sdk_debug)}  # the capture saw the payloads

    stored = storage_dump()
    assert any(k.startswith("s3:") for k in stored)  # the roster as sent is an object, and it was opened
    assert leaks(credentials, stored) == []
    everything = "\n".join(stored.values())
    for label, value in credentials.items():
        if "token" in label:
            assert token_hash(value) in everything, label  # what is stored instead: the hash
    # the answers live in the responses table only, never beside the links, drafts or anything else
    assert [where for where, text in stored.items() if FINAL_TEXT in text] == ["dynamodb:cchc-test-responses"]
    assert [where for where, text in stored.items() if DRAFT_TEXT in text] == []  # the draft went with the submit


def _record_text(record: logging.LogRecord) -> str:
    text = record.getMessage()
    if record.exc_info and record.exc_info[1] is not None:
        text += "\n" + logging.Formatter().formatException(record.exc_info)
    return text


# ---- 3: answers for the ministry only, each read audited ---------------------------------------------------------

@pytest.fixture
def answered(api, tokens):
    """Unit 01: three respondents of group 1 dispatched, two of them answered (distinctive free text)."""
    invites = dispatched(api, tokens, [person(i, group="1", agency="HĐND tỉnh") for i in range(1, 4)])
    texts = []
    for i, token in enumerate(invites[:2]):
        survey = survey_call(api, "GET", "/survey", token).data
        texts.append(f"{FINAL_TEXT} #{i}")
        r = survey_call(api, "POST", "/survey/submit", token, {"answers": answers_for(survey, texts[-1], pick=i)},
                        ip=f"10.30.0.{i + 10}")
        assert r.status_code == 201, r.data
    return texts


def test_a_province_or_a_stranger_cannot_read_answers_even_its_own_units(api, tokens, answered):
    path = "/campaigns/demo/units/01/responses"
    for token, status in ((tokens["01"], 403), (tokens["02"], 403), (None, 401), ("khong-phai-token", 401)):
        r = api.call("GET", path, token=token)
        assert r.status_code == status, (token, r.status_code)
        assert not any(text in (r.body or b"").decode() for text in answered)
    assert api.call("GET", "/campaigns/demo/units/02/responses", token=tokens["02"]).status_code == 403
    audit = api.call("GET", "/audit?action=responses_read", token=tokens["admin"]).data["items"]
    assert audit == []  # nothing was read, so nothing is recorded as read


def test_the_ministry_reads_answers_page_by_page_without_identities_and_each_read_is_audited(
        api, tokens, answered, clock):
    path = "/campaigns/demo/units/01/responses"
    first = api.call("GET", f"{path}?limit=1", token=tokens["admin"], ip="10.9.0.7")
    assert first.status_code == 200, first.data
    assert first.data["count"] == 1 and first.data["next_cursor"] and first.data["annulled"] is False
    assert first.data["unit"]["name"] == "Hà Nội"
    clock.at(clock() + timedelta(minutes=1))
    second = api.call("GET", f"{path}?limit=1&cursor={first.data['next_cursor']}", token=tokens["admin"],
                      ip="10.9.0.8")
    assert second.status_code == 200 and second.data["count"] == 1 and second.data["next_cursor"] is None
    items = first.data["items"] + second.data["items"]
    assert sorted(i["answers"]["C21"] for i in items) == sorted(answered)
    assert {(i["qid"], i["purpose"], i["group"]["code"]) for i in items} == {("locality-1", "locality", "1")}
    assert all(i["group"]["name"] == "Đại biểu HĐND cấp tỉnh" and i["title"] and i["scores"] for i in items)
    body = first.body.decode() + second.body.decode()
    for identity in ("nguoi1@", "nguoi2@", "nguoi3@", "10.30.0.", "Mozilla", "000001-", "submitted_at",
                     "Nguyễn", "Trần", "Lê"):
        assert identity not in body, identity
    clock.at(clock() + timedelta(minutes=1))
    same = api.call("GET", f"{path}?qid=locality-1", token=tokens["admin"], ip="10.9.0.9").data
    assert same["count"] == 2
    clock.at(clock() + timedelta(minutes=1))
    assert api.call("GET", f"{path}?qid=ministry-2", token=tokens["admin"], ip="10.9.0.10").data["count"] == 0

    audit = api.call("GET", "/audit?action=responses_read&unit=01", token=tokens["admin"]).data["items"]
    assert [(e["actor"], e["role"], e["unit"], e["campaign"], e["source_ip"], e["details"]["responses"])
            for e in audit] == [("admin", "moha", "01", "demo", f"10.9.0.{n}", count)
                                for n, count in ((10, 0), (9, 2), (8, 1), (7, 1))]
    assert all(e["at_label"] for e in audit) and [e["at"] for e in audit] == sorted((e["at"] for e in audit),
                                                                                      reverse=True)


def test_reading_answers_explains_a_bad_cursor_and_an_unknown_unit(api, tokens):
    path = "/campaigns/demo/units/01/responses"
    r = api.call("GET", f"{path}?cursor=%27%20OR%201%3D1", token=tokens["admin"])
    assert r.status_code == 422 and r.data["message"] == "Con trỏ phân trang không hợp lệ."
    assert api.call("GET", "/campaigns/demo/units/99/responses", token=tokens["admin"]).status_code == 404
    assert api.call("GET", "/campaigns/khong-co/units/01/responses", token=tokens["admin"]).status_code == 404
    empty = api.call("GET", path, token=tokens["admin"]).data
    assert (empty["count"], empty["items"], empty["next_cursor"]) == (0, [], None)
