"""What the ministry's IT hears and sees of one stage in production: CloudWatch alarms that notify the operations
topic (OpsTopic in infra/template.yaml, with its e-mail subscription from the AlarmEmail parameter of
infra/params/<stage>.json), and the campaign's dashboard.

Every alarm has a section in docs/RUNBOOK.md (its title is in the alarm's description): what it means, where to
look, what to do. Thresholds are the constants below; tests/test_infra.py reads them back from the template.
"""
from __future__ import annotations

import json
from typing import Any

# --- thresholds -------------------------------------------------------------------------------------------------
PERIOD = 300  # seconds each alarm's statistic covers
API_5XX_PERCENT = 2.0  # share of the API's answers that are 5xx, over PERIOD …
API_MIN_REQUESTS = 20  # … counted only when at least this many requests came in (one error among five is noise)
LAMBDA_ERRORS = 3  # failed invocations of one function in PERIOD (one retried failure wakes nobody)
LAMBDA_THROTTLES = 1  # any throttled invocation of a function in PERIOD
DURATION_SHARE_OF_TIMEOUT = 0.8  # p99 duration of a function above this share of its own timeout
DLQ_DEPTH = 0  # any message in a dead-letter queue (GreaterThanThreshold)
# oldest message of a work queue, in seconds: a unit's dispatch takes minutes; the mail queue may legitimately
# hold a national dispatch for about an hour at SES's rate, held mails are queued again (their age starts over)
QUEUE_AGE_SECONDS = {"JobsQueue": 3600, "MailQueue": 3 * 3600}
QUEUE_AGE_DEFAULT = 3600
# SES reviews an account at a 5 % bounce rate or a 0.1 % complaint rate, and the app's national breaker stops all
# sending at 80 % of those (chalicelib/domain/delivery.py): the alarms come before both
SES_BOUNCE_RATE = 0.03
SES_COMPLAINT_RATE = 0.0005
SES_PERIOD = 3600  # SES updates its reputation metrics a few times an hour
DYNAMODB_THROTTLE_EVENTS = 10  # read + write throttle events of one table (its indexes included) in PERIOD

RUNBOOK = "docs/RUNBOOK.md"
# the runbook's section titles (the alarms' descriptions name them; tests/test_infra.py checks both ways)
SECTIONS = {
    "api": "API trả lỗi 5xx",
    "errors": "Hàm Lambda bị lỗi",
    "throttles": "Hàm Lambda bị giới hạn (throttle)",
    "duration": "Hàm Lambda chạy gần hết thời gian cho phép",
    "dlq": "Thư đọng trong hàng đợi thư chết (dead-letter queue)",
    "age": "Việc chờ lâu trong hàng đợi",
    "bounce": "Tỷ lệ thư bị trả lại (SES)",
    "complaint": "Tỷ lệ người nhận báo thư rác (SES)",
    "dynamodb": "Bảng DynamoDB bị giới hạn (throttle)",
}

CUSTOM_NAMESPACE = "CCHC"  # the app's own metrics, with dimension Stage
MAIL_METRICS = ("MailsSent", "MailsFailed", "MailsBounced")
WORK_METRICS = ("Submits", "Imports", "JobRetries")


def _description(text: str, section: str) -> str:
    return f"{text} Sổ tay vận hành: {RUNBOOK}, mục “{SECTIONS[section]}”."


def _alarm(name: str, section: str, text: str, threshold: float, operator: str = "GreaterThanOrEqualToThreshold",
           period: int = PERIOD, **metric: Any) -> dict:
    props: dict[str, Any] = {
        "AlarmName": name, "AlarmDescription": _description(text, section), "Threshold": threshold,
        "ComparisonOperator": operator, "EvaluationPeriods": 1, "TreatMissingData": "notBreaching",
        "AlarmActions": [{"Ref": "OpsTopic"}], "OKActions": [{"Ref": "OpsTopic"}]}
    if "Metrics" not in metric:
        props["Period"] = period
    props.update(metric)
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": props}


def _kebab(logical: str) -> str:
    out = "".join(f"-{c.lower()}" if c.isupper() else c for c in logical).lstrip("-")
    return out.replace("a-p-i-handler", "api")


def alarms(resources: dict[str, dict], prefix: str) -> dict[str, dict]:
    """The alarms of a stage, from its resources (chalice's functions and API, the generated queues and tables)."""
    out: dict[str, dict] = {}
    api_name = f"{prefix}api"
    if "RestAPI" in resources:
        dims = [{"Name": "ApiName", "Value": api_name}, {"Name": "Stage", "Value": "api"}]
        out["ApiServerErrorRateAlarm"] = _alarm(
            f"{prefix}api-5xx-rate", "api",
            f"Hơn {API_5XX_PERCENT:g}% yêu cầu tới API trả lỗi 5xx trong {PERIOD // 60} phút "
            f"(khi có ít nhất {API_MIN_REQUESTS} yêu cầu).", API_5XX_PERCENT, "GreaterThanThreshold",
            Metrics=[
                {"Id": "errors", "ReturnData": False, "MetricStat": {"Metric": {
                    "Namespace": "AWS/ApiGateway", "MetricName": "5XXError", "Dimensions": dims},
                    "Period": PERIOD, "Stat": "Sum"}},
                {"Id": "requests", "ReturnData": False, "MetricStat": {"Metric": {
                    "Namespace": "AWS/ApiGateway", "MetricName": "Count", "Dimensions": dims},
                    "Period": PERIOD, "Stat": "Sum"}},
                {"Id": "rate", "Label": "5xx (%)", "ReturnData": True,
                 "Expression": f"IF(requests >= {API_MIN_REQUESTS}, 100 * errors / requests, 0)"}])
    for logical, resource in resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        props = resource["Properties"]
        fn = [{"Name": "FunctionName", "Value": {"Ref": logical}}]
        slug = _kebab(logical)
        out[f"{logical}ErrorsAlarm"] = _alarm(
            f"{prefix}{slug}-errors", "errors",
            f"Hàm {prefix}{slug} lỗi từ {LAMBDA_ERRORS} lần trở lên trong {PERIOD // 60} phút.", LAMBDA_ERRORS,
            Namespace="AWS/Lambda", MetricName="Errors", Dimensions=fn, Statistic="Sum")
        out[f"{logical}ThrottlesAlarm"] = _alarm(
            f"{prefix}{slug}-throttles", "throttles",
            f"Lambda từ chối chạy hàm {prefix}{slug} (throttle) trong {PERIOD // 60} phút qua.", LAMBDA_THROTTLES,
            Namespace="AWS/Lambda", MetricName="Throttles", Dimensions=fn, Statistic="Sum")
        timeout = props["Timeout"]
        limit_ms = int(timeout * 1000 * DURATION_SHARE_OF_TIMEOUT)
        out[f"{logical}DurationAlarm"] = _alarm(
            f"{prefix}{slug}-duration", "duration",
            f"1% lượt chạy chậm nhất của hàm {prefix}{slug} vượt {DURATION_SHARE_OF_TIMEOUT:.0%} thời gian cho phép "
            f"({limit_ms // 1000} trên {timeout} giây).", limit_ms, "GreaterThanThreshold",
            Namespace="AWS/Lambda", MetricName="Duration", Dimensions=fn, ExtendedStatistic="p99")
    for logical, resource in resources.items():
        if resource["Type"] != "AWS::SQS::Queue" or "RedrivePolicy" not in resource["Properties"]:
            continue
        name = resource["Properties"]["QueueName"]
        dlq = resource["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        short = name[len(prefix):]
        out[f"{dlq}Alarm"] = _alarm(
            f"{prefix}{short}-dlq-depth", "dlq",
            f"Có việc của hàng đợi {name} thất bại {resource['Properties']['RedrivePolicy']['maxReceiveCount']} lần "
            f"và nằm trong {name}-dlq.", DLQ_DEPTH, "GreaterThanThreshold",
            Namespace="AWS/SQS", MetricName="ApproximateNumberOfMessagesVisible",
            Dimensions=[{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq, "QueueName"]}}], Statistic="Maximum")
        age = QUEUE_AGE_SECONDS.get(logical, QUEUE_AGE_DEFAULT)
        out[f"{logical}AgeAlarm"] = _alarm(
            f"{prefix}{short}-oldest-message", "age",
            f"Việc cũ nhất trong hàng đợi {name} đã chờ quá {age // 60} phút.", age, "GreaterThanThreshold",
            Namespace="AWS/SQS", MetricName="ApproximateAgeOfOldestMessage",
            Dimensions=[{"Name": "QueueName", "Value": {"Fn::GetAtt": [logical, "QueueName"]}}], Statistic="Maximum")
    out["SesBounceRateAlarm"] = _alarm(
        f"{prefix}ses-bounce-rate", "bounce",
        f"Tỷ lệ thư bị trả lại của tài khoản SES đạt {SES_BOUNCE_RATE:.0%} (SES xem xét tài khoản ở 5%, phần mềm "
        "tự dừng mọi thư ở 4%).", SES_BOUNCE_RATE, period=SES_PERIOD,
        Namespace="AWS/SES", MetricName="Reputation.BounceRate", Statistic="Maximum")
    out["SesComplaintRateAlarm"] = _alarm(
        f"{prefix}ses-complaint-rate", "complaint",
        f"Tỷ lệ người nhận báo thư rác của tài khoản SES đạt {SES_COMPLAINT_RATE:.2%} (SES xem xét tài khoản ở "
        "0,1%, phần mềm tự dừng mọi thư ở 0,08%).", SES_COMPLAINT_RATE, period=SES_PERIOD,
        Namespace="AWS/SES", MetricName="Reputation.ComplaintRate", Statistic="Maximum")
    for logical, resource in resources.items():
        if resource["Type"] != "AWS::DynamoDB::Table":
            continue
        name = resource["Properties"]["TableName"]
        table = [{"Name": "TableName", "Value": {"Ref": logical}}]
        out[f"{logical}ThrottlesAlarm"] = _alarm(
            f"{prefix}{name[len(prefix):]}-table-throttles", "dynamodb",
            f"Bảng {name} từ chối {DYNAMODB_THROTTLE_EVENTS} lượt đọc/ghi trở lên trong {PERIOD // 60} phút.",
            DYNAMODB_THROTTLE_EVENTS,
            Metrics=[
                {"Id": "reads", "ReturnData": False, "MetricStat": {"Metric": {
                    "Namespace": "AWS/DynamoDB", "MetricName": "ReadThrottleEvents", "Dimensions": table},
                    "Period": PERIOD, "Stat": "Sum"}},
                {"Id": "writes", "ReturnData": False, "MetricStat": {"Metric": {
                    "Namespace": "AWS/DynamoDB", "MetricName": "WriteThrottleEvents", "Dimensions": table},
                    "Period": PERIOD, "Stat": "Sum"}},
                {"Id": "throttled", "Label": "đọc + ghi bị từ chối", "ReturnData": True,
                 "Expression": "FILL(reads, 0) + FILL(writes, 0)"}])
    return out


# --- the dashboard ----------------------------------------------------------------------------------------------

def _graph(title: str, metrics: list, x: int, y: int, *, stat: str = "Sum", width: int = 12,
           annotations: list | None = None) -> dict:
    props: dict[str, Any] = {"title": title, "region": "${AWS::Region}", "view": "timeSeries", "stacked": False,
                             "period": PERIOD, "stat": stat, "metrics": metrics}
    if annotations:
        props["annotations"] = {"horizontal": annotations}
    return {"type": "metric", "x": x, "y": y, "width": width, "height": 6, "properties": props}


def dashboard(resources: dict[str, dict], alarm_resources: dict[str, dict], prefix: str, stage: str) -> dict:
    """The campaign at a glance: mails, submits, the API's errors, functions' errors, queues, alarms."""
    api = ["ApiName", f"{prefix}api", "Stage", "api"]
    functions = [r["Properties"]["FunctionName"] for r in resources.values()
                 if r["Type"] == "AWS::Serverless::Function"]
    queues = [r["Properties"]["QueueName"] for r in resources.values() if r["Type"] == "AWS::SQS::Queue"]
    stage_dim = ["Stage", stage]
    widgets = [
        {"type": "text", "x": 0, "y": 0, "width": 24, "height": 2, "properties": {"markdown": (
            f"# Chỉ số CCHC — {stage}\nThư, phiếu nộp, lỗi và hàng đợi của đợt khảo sát. Mỗi cảnh báo có mục "
            f"riêng trong sổ tay vận hành `{RUNBOOK}`.")}},
        _graph("Thư: đã gửi, gửi lỗi, bị trả lại (phần mềm)",
               [[CUSTOM_NAMESPACE, m, *stage_dim] for m in MAIL_METRICS], 0, 2),
        _graph("Thư: SES nhận gửi, đã tới hộp thư, bị trả lại, báo thư rác (tài khoản)",
               [["AWS/SES", m] for m in ("Send", "Delivery", "Bounce", "Complaint")], 12, 2),
        _graph("Phiếu nộp, danh sách nhập, việc chạy lại",
               [[CUSTOM_NAMESPACE, m, *stage_dim] for m in WORK_METRICS], 0, 8),
        _graph("Uy tín SES: tỷ lệ trả lại, tỷ lệ báo thư rác",
               [["AWS/SES", "Reputation.BounceRate"], ["AWS/SES", "Reputation.ComplaintRate", {"yAxis": "right"}]],
               12, 8, stat="Maximum", annotations=[
                   {"label": "cảnh báo trả lại", "value": SES_BOUNCE_RATE},
                   {"label": "cảnh báo báo thư rác", "value": SES_COMPLAINT_RATE, "yAxis": "right"}]),
        _graph("API: số yêu cầu, lỗi 4xx, lỗi 5xx",
               [["AWS/ApiGateway", "Count", *api], ["AWS/ApiGateway", "4XXError", *api],
                ["AWS/ApiGateway", "5XXError", *api]], 0, 14),
        _graph("API: thời gian trả lời (p99, ms)", [["AWS/ApiGateway", "Latency", *api]], 12, 14, stat="p99"),
        _graph("Lambda: số lần lỗi theo hàm", [["AWS/Lambda", "Errors", "FunctionName", f] for f in functions],
               0, 20),
        _graph("Lambda: số lần bị giới hạn theo hàm",
               [["AWS/Lambda", "Throttles", "FunctionName", f] for f in functions], 12, 20),
        _graph("Hàng đợi: số việc đang chờ",
               [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q] for q in queues], 0, 26,
               stat="Maximum"),
        _graph("Hàng đợi: tuổi việc cũ nhất (giây)",
               [["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", q] for q in queues
                if not q.endswith("-dlq")], 12, 26, stat="Maximum"),
        {"type": "alarm", "x": 0, "y": 32, "width": 24, "height": 8, "properties": {
            "title": "Cảnh báo", "sortBy": "stateUpdatedTimestamp", "alarms": [
                "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:"
                + a["Properties"]["AlarmName"] for a in alarm_resources.values()]}},
    ]
    body = json.dumps({"widgets": widgets}, ensure_ascii=False)
    return {"CampaignDashboard": {"Type": "AWS::CloudWatch::Dashboard", "Properties": {
        "DashboardName": f"{prefix}campaign", "DashboardBody": {"Fn::Sub": body}}}}


def api_name(resources: dict[str, dict], prefix: str) -> dict[str, dict]:
    """The REST API is named after the stage (its OpenAPI title), so that its metrics (dimension ApiName) are the
    stage's own when several stages share an account."""
    if resources.get("RestAPI", {}).get("Type") != "AWS::Serverless::Api":
        return {}
    return {"RestAPI": {"Properties": {"DefinitionBody": {"info": {"title": f"{prefix}api"}}}}}


def operations(resources: dict[str, dict], prefix: str, stage: str) -> dict[str, dict]:
    """Alarms and the dashboard, from every resource of the stage (chalice's and the generated ones)."""
    found = alarms(resources, prefix)
    return {**found, **dashboard(resources, found, prefix, stage), **api_name(resources, prefix)}
