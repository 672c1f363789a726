"""Structured logs and metrics as the app writes them on stdout (what Lambda sends to CloudWatch Logs): JSON lines
with the correlation id of their request or job and the campaign, unit and action; CloudWatch Embedded Metric Format
lines (namespace CCHC, dimension Stage) for imports, mails sent, failed and bounced, submits, job retries and the
API's 4xx and 5xx answers. Through the API and the queue handlers on moto in-process."""
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from builders import person, roster_workbook, survey_answers
from outbox import run_all, sent_mails, ses_backend, token_of
from chalicelib import observability
from chalicelib.config import settings
from chalicelib.store import links as link_store

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EVENTS = Path(__file__).resolve().parents[1] / "unit" / "ses_events"


def lines(capsys) -> list[dict]:
    """Every line written on stdout since the last call, each parsed: a line that is not JSON fails the test."""
    out = capsys.readouterr().out
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def metrics(found: list[dict], name: str) -> list[dict]:
    return [line for line in found if "_aws" in line
            and any(m["Name"] == name for d in line["_aws"]["CloudWatchMetrics"] for m in d["Metrics"])]


def logs(found: list[dict], message: str) -> list[dict]:
    return [line for line in found if line.get("message") == message]


def assert_emf(line: dict, name: str) -> None:
    """The shape CloudWatch Logs turns into a metric: namespace CCHC, dimension Stage, the value beside it."""
    [directive] = line["_aws"]["CloudWatchMetrics"]
    assert directive == {"Namespace": "CCHC", "Dimensions": [["Stage"]],
                         "Metrics": [{"Name": name, "Unit": "Count"}]}
    assert isinstance(line["_aws"]["Timestamp"], int) and line["Stage"] == settings().stage == "test"
    assert isinstance(line[name], (int, float)) and line[name] > 0


@pytest.fixture
def imported(api, tokens, capsys):
    """Unit 01 of the demo campaign: two respondents of group 1 imported; the import's lines."""
    ses_backend().max_send_rate = 1000
    rows = [person(1, group="1", agency="HĐND tỉnh"), person(2, group="1", agency="HĐND tỉnh")]
    session = tokens["01"]  # logged in before the capture starts
    capsys.readouterr()
    r = api.call("POST", "/campaigns/demo/units/01/roster/imports", token=session,
                 headers={"content-type": XLSX}, raw=roster_workbook(rows))
    assert r.status_code == 200, r.data
    return lines(capsys)


def dispatch(api, tokens) -> None:
    assert api.call("POST", "/campaigns/demo/units/01/roster/submit", token=tokens["01"]).status_code == 200
    assert api.call("POST", "/campaigns/demo/dispatch", {}, token=tokens["admin"]).status_code == 202


def test_a_unit_route_logs_json_lines_bound_to_its_campaign_unit_and_action_and_counts_the_import(imported):
    assert imported and all({"correlation_id", "campaign", "unit", "action"} <= set(line) for line in imported)
    [request] = logs(imported, "request")
    assert (request["method"], request["route"], request["status"]) == (
        "POST", "/campaigns/{cid}/units/{unit}/roster/imports", 200)
    assert (request["campaign"], request["unit"], request["action"]) == ("demo", "01", "import_roster")
    assert request["level"] == "INFO" and request["stage"] == "test" and request["duration_ms"] >= 0
    [done] = logs(imported, "roster imported")
    assert (done["rows"], done["total"], done["added"], done["mode"]) == (2, 2, 2, "merge")
    [imports] = metrics(imported, "Imports")
    assert_emf(imports, "Imports")
    assert imports["Imports"] == 1 and imports["rows"] == 2
    one_request = {line["correlation_id"] for line in imported}
    assert len(one_request) == 1 and None not in one_request
    assert (imports["campaign"], imports["unit"], imports["action"]) == ("demo", "01", "import_roster")


def test_a_submitted_survey_leaves_its_request_lines_and_a_submits_metric_with_one_correlation_id(
        api, tokens, imported, capsys):
    dispatch(api, tokens)
    run_all(api)
    token = token_of(sent_mails()[0])
    survey = api.call("GET", "/survey", headers={"x-survey-token": token}).data
    lines(capsys)
    r = api.call("POST", "/survey/submit", {"answers": survey_answers(survey)}, headers={"x-survey-token": token})
    assert r.status_code == 201, r.data
    found = lines(capsys)
    [submits] = metrics(found, "Submits")
    assert_emf(submits, "Submits")
    assert submits["Submits"] == 1
    assert (submits["campaign"], submits["unit"], submits["action"]) == ("demo", "01", "submit")
    assert submits["qid"] == "locality-1" and submits["group"] == "1"
    [request] = logs(found, "request")
    assert (request["route"], request["status"], request["action"]) == ("/survey/submit", 201, "submit")
    assert (request["campaign"], request["unit"]) == ("demo", "01")  # bound by the service once the link is known
    assert {line["correlation_id"] for line in found} == {request["correlation_id"]}
    assert token not in json.dumps(found) and r.data["receipt"] not in json.dumps(found)


def test_each_request_has_its_own_correlation_id_and_api_gateways_request_id_is_used_when_there_is_one(
        api, tokens, capsys, monkeypatch):
    session = tokens["01"]
    lines(capsys)
    api.call("GET", "/me", token=session)
    api.call("GET", "/me", token=session)
    first, second = (line["correlation_id"] for line in logs(lines(capsys), "request"))
    assert first != second and len(first) == 36  # a new uuid for each, locally

    converter = api.client.http._local_gateway.event_converter
    create = converter.create_lambda_event

    def with_request_id(*args, **kwargs):
        event = create(*args, **kwargs)
        event["requestContext"]["requestId"] = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
        return event

    monkeypatch.setattr(converter, "create_lambda_event", with_request_id)
    api.call("GET", "/campaigns/demo/units/01/roster", token=session)
    [request] = logs(lines(capsys), "request")
    assert request["correlation_id"] == "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    assert (request["campaign"], request["unit"], request["status"]) == ("demo", "01", 200)


def test_jobs_log_under_their_message_id_lead_back_to_the_request_that_queued_them_and_count_mails(
        api, tokens, imported, capsys):
    dispatch(api, tokens)
    found = lines(capsys)
    dispatch_request = next(line for line in logs(found, "request") if line["route"] == "/campaigns/{cid}/dispatch")
    run_all(api)
    found = lines(capsys)
    started = logs(found, "job started")
    assert {line["action"] for line in started} == {"dispatch_unit", "send_invite"}
    # chalice's test events all carry the message id "message-id"; on Lambda each is SQS's own
    assert {line["correlation_id"] for line in started} == {"message-id"}
    assert {line["origin"] for line in started} == {dispatch_request["correlation_id"]}
    [job] = [line for line in logs(found, "job done") if line["action"] == "dispatch_unit"]
    assert (job["campaign"], job["unit"], job["issued"], job["queued"]) == ("demo", "01", 2, 2)
    sent = metrics(found, "MailsSent")
    assert sum(line["MailsSent"] for line in sent) == len(sent_mails()) == 2
    for line in sent:
        assert_emf(line, "MailsSent")
        assert (line["campaign"], line["unit"], line["action"], line["kind"]) == ("demo", "01", "send_invite",
                                                                                   "invite")
    assert metrics(found, "MailsFailed") == [] and metrics(found, "JobRetries") == []


def test_a_job_the_queue_delivers_again_counts_a_retry(api, tokens, imported, capsys):
    import boto3

    dispatch(api, tokens)
    sqs = boto3.client("sqs", region_name=settings().region)
    url = sqs.get_queue_url(QueueName=settings().jobs_queue)["QueueUrl"]
    body = sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"]
    event = api.client.events.generate_sqs_event(message_bodies=[body], queue_name="jobs")
    event["Records"][0]["attributes"]["ApproximateReceiveCount"] = "3"
    lines(capsys)
    api.client.lambda_.invoke("jobs", event)
    [retry] = metrics(lines(capsys), "JobRetries")
    assert_emf(retry, "JobRetries")
    assert (retry["JobRetries"], retry["retry"], retry["receive_count"]) == (1, "redelivery", 3)
    assert (retry["campaign"], retry["unit"], retry["action"]) == ("demo", "01", "dispatch_unit")


def test_a_hard_bounce_counts_a_bounced_mail_in_the_events_scope(api, tokens, imported, capsys):
    dispatch(api, tokens)
    run_all(api)
    [link, _] = sorted(link_store.unit_links("demo#01"), key=lambda link: link.slot)
    from chalicelib.store.models import MailModel

    message_id = next(m.message_id for m in MailModel.scan() if m.slot == link.slot)
    record = json.loads((EVENTS / "bounce_permanent.json").read_text(encoding="utf-8"))
    record["mail"].update(messageId=message_id, destination=[link.email],
                          timestamp=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z"))
    for r in record["bounce"]["bouncedRecipients"]:
        r["emailAddress"] = link.email
    envelope = {"Type": "Notification", "MessageId": "sns-bounce-1", "TopicArn": "arn:aws:sns:ap-southeast-1:1:t",
                "Message": json.dumps(record)}
    lines(capsys)
    result = api.client.lambda_.invoke("mail-events", api.client.events.generate_sns_event(
        message=json.dumps(envelope))).payload
    assert result["result"] == "bounce_permanent", result
    found = lines(capsys)
    [bounced] = metrics(found, "MailsBounced")
    assert_emf(bounced, "MailsBounced")
    assert (bounced["campaign"], bounced["unit"], bounced["action"], bounced["kind"]) == (
        "demo", "01", "mail_event", "invite")
    assert link.email not in json.dumps(found)  # an address is personal data: never in a log line


def test_refused_and_failed_requests_are_counted_and_a_crash_is_logged_with_its_traceback(
        api, tokens, capsys, monkeypatch):
    session = tokens["01"]
    lines(capsys)
    assert api.call("GET", "/campaigns/demo/units/01/roster", token="khong-phai-token").status_code == 401
    assert api.call("GET", "/campaigns/demo/units/02/roster", token=session).status_code == 403
    found = lines(capsys)
    refused = metrics(found, "Api4xx")
    assert [(line["status"], line["route"]) for line in refused] == [
        (401, "/campaigns/{cid}/units/{unit}/roster"), (403, "/campaigns/{cid}/units/{unit}/roster")]
    for line in refused:
        assert_emf(line, "Api4xx")
    assert [line["level"] for line in logs(found, "request refused")] == ["INFO", "INFO"]

    from chalicelib.services import roster

    def crash(*args, **kwargs):
        raise RuntimeError("hỏng bất ngờ")

    monkeypatch.setattr(roster, "listing", crash)
    r = api.call("GET", "/campaigns/demo/units/01/roster", token=session)
    assert r.status_code == 500 and r.data["code"] == "internal_error"
    found = lines(capsys)
    [failed] = metrics(found, "Api5xx")
    assert_emf(failed, "Api5xx")
    [crashed] = logs(found, "unhandled error")
    assert crashed["level"] == "ERROR" and crashed["error"] == "RuntimeError" and "hỏng bất ngờ" in \
        crashed["traceback"]
    assert (crashed["campaign"], crashed["unit"], crashed["action"]) == ("demo", "01", "list_roster")
    assert {line["correlation_id"] for line in found} == {crashed["correlation_id"]}


# ---- the module itself ---------------------------------------------------------------------------------------------

def test_fields_named_like_secrets_are_redacted_and_addresses_keep_only_their_domain(capsys):
    with observability.scope("cid-1", campaign="demo", unit="01", action="test"):
        observability.info("checked", survey_token="abc123", new_password="Mật-khẩu-1", answers={"C1": 2},
                           answered=3, reason="550 5.1.1 <nguyen.van.a@hanoi.gov.vn>: no such user",
                           nested={"session_token": "xyz"})
    [line] = lines(capsys)
    assert (line["survey_token"], line["new_password"], line["answers"]) == ("[redacted]",) * 3
    assert line["nested"] == {"session_token": "[redacted]"} and line["answered"] == 3
    assert line["reason"] == "550 5.1.1 <***@hanoi.gov.vn>: no such user"
    assert (line["correlation_id"], line["campaign"], line["unit"], line["action"]) == ("cid-1", "demo", "01", "test")


def test_lines_outside_any_scope_still_carry_the_four_keys_and_unknown_metrics_are_refused(capsys):
    observability.info("outside")
    [line] = lines(capsys)
    assert {k: line[k] for k in ("correlation_id", "campaign", "unit", "action")} == dict.fromkeys(
        ("correlation_id", "campaign", "unit", "action"))
    with pytest.raises(ValueError):
        observability.metric("MailSent")
    assert observability.METRICS == {"MailsSent", "MailsFailed", "MailsBounced", "Submits", "Imports",
                                     "JobRetries", "Api4xx", "Api5xx"}


def test_the_text_format_is_one_readable_line_per_record(capsys, monkeypatch):
    monkeypatch.setenv("CCHC_LOG_FORMAT", "text")
    observability.configure()
    try:
        with observability.scope("0123456789abcdef", campaign="demo", unit="01", action="import_roster"):
            observability.info("roster imported", rows=2)
            observability.metric(observability.IMPORTS, rows=2)
    finally:
        monkeypatch.delenv("CCHC_LOG_FORMAT")
        observability.configure()
    log_line, metric_line = capsys.readouterr().out.splitlines()
    assert log_line.endswith("INFO    roster imported [import_roster demo/01 01234567] rows=2")
    assert metric_line.endswith("METRIC  Imports=1 [import_roster demo/01] rows=2")
