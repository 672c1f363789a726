"""The deployable templates that `make package` writes (out/<stage>/sam.json): every table the code names with its
keys, indexes and TTL; exactly the permissions the code needs; queues with dead-letter queues; private buckets.

`make package` runs once for the session; it needs PyPI (chalice fetches the Lambda wheels), not AWS."""
from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import zipfile
from pathlib import Path

import pytest
from pynamodb.attributes import TTLAttribute
from pynamodb.indexes import GlobalSecondaryIndex

from chalicelib.config import settings
from chalicelib.store.models import ALL_MODELS
from infra import needs as code_needs
from infra import policy as policy_file

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("dev", "prod")
CONFIG = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
BUDGET_MB = 50
VISIBILITY_FACTOR = 6  # AWS: a source queue's visibility timeout is at least 6 x its function's timeout


@pytest.fixture(scope="session")
def templates() -> dict[str, dict]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CCHC_", "AWS_"))}  # not the tests' stage
    result = subprocess.run(["make", "--no-print-directory", "package"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return {stage: json.loads((ROOT / "out" / stage / "sam.json").read_text(encoding="utf-8")) for stage in STAGES}


@pytest.fixture(scope="session")
def derived() -> code_needs.Needs:
    return code_needs.derive()


def prefix_of(stage: str) -> str:
    return CONFIG["stages"][stage]["environment_variables"]["CCHC_TABLE_PREFIX"]


def suffix(name: str) -> str:
    """A resource name without the test stage's prefix: the part every stage shares."""
    prefix = settings().table_prefix
    assert name.startswith(prefix), name
    return name[len(prefix):]


def of_type(template: dict, kind: str) -> dict[str, dict]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def functions(template: dict) -> dict[str, dict]:
    return of_type(template, "AWS::Serverless::Function")


# --- tables -------------------------------------------------------------------------------------------------------

def expected_table(model) -> dict:
    """What the model says, read from its attributes (not from the schema infra/build.py uses)."""
    attrs = model.get_attributes()
    hash_key = next(a.attr_name for a in attrs.values() if a.is_hash_key)
    range_key = next((a.attr_name for a in attrs.values() if a.is_range_key), None)
    indexes = {}
    for value in vars(model).values():
        if isinstance(value, GlobalSecondaryIndex):
            keys = {a.attr_name: ("HASH" if a.is_hash_key else "RANGE")
                    for a in value.Meta.attributes.values() if a.is_hash_key or a.is_range_key}
            indexes[value.Meta.index_name] = (keys, value.Meta.projection.projection_type)
    key_types = {a.attr_name: a.attr_type for a in attrs.values() if a.is_hash_key or a.is_range_key}
    for value in vars(model).values():
        if isinstance(value, GlobalSecondaryIndex):
            key_types.update({a.attr_name: a.attr_type for a in value.Meta.attributes.values()
                              if a.is_hash_key or a.is_range_key})
    ttl = [a.attr_name for a in attrs.values() if isinstance(a, TTLAttribute)]
    return {"keys": {hash_key: "HASH", **({range_key: "RANGE"} if range_key else {})}, "indexes": indexes,
            "types": key_types, "ttl": ttl[0] if ttl else None}


@pytest.mark.parametrize("stage", STAGES)
def test_every_table_the_code_names_exists_with_its_keys_indexes_and_ttl(templates, stage):
    tables = {t["Properties"]["TableName"]: t for t in of_type(templates[stage], "AWS::DynamoDB::Table").values()}
    names = {prefix_of(stage) + suffix(model.Meta.table_name): model for model in ALL_MODELS}
    assert set(tables) == set(names), "one table per model in ALL_MODELS, and no other"
    for name, model in names.items():
        props, want = tables[name]["Properties"], expected_table(model)
        assert {k["AttributeName"]: k["KeyType"] for k in props["KeySchema"]} == want["keys"], name
        assert props["KeySchema"][0]["KeyType"] == "HASH", name
        assert {d["AttributeName"]: d["AttributeType"] for d in props["AttributeDefinitions"]} == want["types"], name
        got_indexes = {i["IndexName"]: ({k["AttributeName"]: k["KeyType"] for k in i["KeySchema"]},
                                        i["Projection"]["ProjectionType"])
                       for i in props.get("GlobalSecondaryIndexes", [])}
        assert got_indexes == want["indexes"], name
        if want["ttl"]:
            assert props["TimeToLiveSpecification"] == {"AttributeName": want["ttl"], "Enabled": True}, name
        else:
            assert "TimeToLiveSpecification" not in props, name


@pytest.mark.parametrize("stage", STAGES)
def test_tables_are_on_demand_with_point_in_time_recovery_and_prod_cannot_be_deleted(templates, stage):
    for logical, table in of_type(templates[stage], "AWS::DynamoDB::Table").items():
        props = table["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST", logical
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}, logical
        assert props["DeletionProtectionEnabled"] is (stage == "prod"), logical
        kept = "Retain" if stage == "prod" else "Delete"
        assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == (kept, kept), logical


# --- permissions --------------------------------------------------------------------------------------------------

def resource_key(template: dict, resource, stage: str) -> tuple:
    """An IAM Resource (with intrinsics) -> what it designates, in the terms of infra/needs.py."""
    res = template["Resources"]
    if resource == "*":
        return ("*",)
    if isinstance(resource, dict) and "Fn::GetAtt" in resource:
        logical, attr = resource["Fn::GetAtt"]
        assert attr == "Arn", resource
        kind = res[logical]["Type"]
        if kind == "AWS::DynamoDB::Table":
            return ("table", table_suffix(res[logical], stage))
        if kind == "AWS::SQS::Queue":
            return ("queue", queue_setting(res[logical], stage))
        if kind == "AWS::Logs::LogGroup":
            return ("logs", logical)
        raise AssertionError(f"unexpected resource {logical} ({kind})")
    if isinstance(resource, dict) and "Fn::Sub" in resource:
        text = resource["Fn::Sub"] if isinstance(resource["Fn::Sub"], str) else resource["Fn::Sub"][0]
        if m := re.fullmatch(r"\$\{(\w+)\.Arn\}/index/([\w.-]+)", text):
            return ("table", f"{table_suffix(res[m[1]], stage)}/index/{m[2]}")
        if m := re.fullmatch(r"\$\{(\w+)\.Arn\}/\*", text):
            assert res[m[1]]["Type"] == "AWS::S3::Bucket", m[1]
            return ("objects", bucket_setting(template, m[1]))
        if m := re.fullmatch(r"arn:\$\{AWS::Partition\}:ses:\$\{AWS::Region\}:\$\{AWS::AccountId\}:"
                             r"(identity|configuration-set)/\$\{(\w+)\}", text):
            return ("ses", m[1], m[2])
    raise AssertionError(f"a resource this test cannot read: {resource}")


def table_suffix(table: dict, stage: str) -> str:
    name = table["Properties"]["TableName"]
    assert name.startswith(prefix_of(stage)), name
    return name[len(prefix_of(stage)):]


def queue_setting(queue: dict, stage: str) -> str:
    """The settings attribute (jobs_queue, …) whose value, in that stage, is this queue's name."""
    name = queue["Properties"]["QueueName"]
    cfg = settings()
    found = [attr for attr in cfg.__struct_fields__ if attr.endswith("_queue")
             and prefix_of(stage) + suffix(getattr(cfg, attr)) == name]
    assert len(found) == 1, (name, found)
    return found[0]


def settings_env() -> dict[str, str]:
    """settings attribute -> the environment variable chalicelib/config.py reads it from."""
    tree = ast.parse((ROOT / "chalicelib" / "config.py").read_text(encoding="utf-8"))
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and isinstance(node.value, ast.Call):
            call = node.value
            if isinstance(call.func, ast.Name) and call.func.id == "env" and call.args:
                out[node.arg] = call.args[0].value
    return out


def bucket_setting(template: dict, logical: str) -> str:
    """The settings attribute the functions find this bucket by (its env var refers to the bucket)."""
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    found = [attr for attr, var in settings_env().items() if variables.get(var) == {"Ref": logical}]
    assert len(found) == 1, (logical, found)
    return found[0]


def needed(needs: code_needs.Needs) -> set[tuple]:
    out = set()
    for need in needs.found:
        if need.service == "dynamodb":
            out.add((f"dynamodb:{need.action}", ("table", need.resource)))
        elif need.service == "s3":
            out.add((f"s3:{need.action}", ("objects", need.resource)))
        elif need.service == "sqs":
            out.add((f"sqs:{need.action}", ("queue", need.resource)))
        elif need.service == "ses" and need.resource == "*":
            out.add((f"ses:{need.action}", ("*",)))
        elif need.service == "ses":  # from the sender's address, its domain, through the stage's configuration set
            out |= {(f"ses:{need.action}", ("ses", "identity", "MailFrom")),
                    (f"ses:{need.action}", ("ses", "identity", "Domain")),
                    (f"ses:{need.action}", ("ses", "configuration-set", "MailConfigurationSet"))}
        else:
            raise AssertionError(f"this test does not know {need}")
    return out


def grants(template: dict, document: dict, stage: str) -> set[tuple]:
    out = set()
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow", statement
        assert set(statement) <= {"Sid", "Effect", "Action", "Resource", "Condition"}, statement
        actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if "Condition" in statement:  # only sending mail is conditioned: on the configured sender
            assert actions == ["ses:SendRawEmail"], statement
        for action in actions:
            assert "*" not in action, statement
            if action.startswith("ses:Send"):  # never another From address than the configured sender's
                assert statement["Condition"] == {"StringEquals": {"ses:FromAddress": {"Ref": "MailFrom"}}}
            for resource in resources:
                out.add((action, resource_key(template, resource, stage)))
    return out


def chalice_name(logical: str) -> str:
    """chalice's logical id of a function -> its name in app.py ("APIHandler" -> "api_handler")."""
    return {"APIHandler": "api_handler"}.get(logical) or re.sub(r"(?<!^)(?=[A-Z])", "-", logical).lower()


@pytest.fixture(scope="session")
def per_function() -> dict[str, code_needs.Needs]:
    return code_needs.derive_per_function()


def test_the_code_calls_nothing_the_policy_generator_cannot_place(derived, per_function):
    assert derived.unresolved == [] and all(not n.unresolved for n in per_function.values())
    assert policy_file.stale_files(policy_file.rendered(per_function)) == [], \
        ".chalice/policy-*.json or config.json is not what the code needs: run `make policy` and review the diff"
    # every call of the deployed code belongs to at least one function (none lost by the per-function split) …
    union = set().union(*(set(n.found) for n in per_function.values()))
    assert union <= set(derived.found)
    unreached = {(n.service, n.action, n.resource): sorted({w.split(":")[0] for w in derived.found[n]})
                 for n in set(derived.found) - union}
    # … except what only the operator's command line runs (it provisions the accounts)
    assert unreached == {("dynamodb", "PutItem", "accounts"): ["chalicelib/store/accounts.py"]}


def test_each_function_gets_only_the_calls_of_its_own_code(per_function):
    """The split is real: the API sends no mail, the mail worker touches no roster, sessions or evidence, the
    schedules send no mail; only the mail worker may send, only the API touches sessions or uploads evidence."""
    def has(function: str, service: str, action: str | None = None, resource: str | None = None) -> bool:
        return any(n.service == service and action in (None, n.action) and resource in (None, n.resource)
                   for n in per_function[function].found)

    assert set(per_function) == {"api_handler", "close-phases", "auto-reminders", "integrity-scan", "jobs", "mail",
                                 "mail-events", "mail-guard"}
    assert [f for f in per_function if has(f, "ses", "SendRawEmail")] == ["mail"]
    assert [f for f in per_function if has(f, "dynamodb", resource="sessions")] == ["api_handler"]
    assert [f for f in per_function if has(f, "s3", "PutObject", "evidence_bucket")] == ["api_handler"]
    assert not has("mail", "dynamodb", resource="respondents") and not has("mail", "s3")
    assert not any(has(f, "dynamodb", resource="accounts") for f in per_function if f != "api_handler")
    assert not has("integrity-scan", "sqs") and not has("integrity-scan", "dynamodb", "UpdateItem")


@pytest.mark.parametrize("stage", STAGES)
def test_each_function_may_do_exactly_what_its_code_does_and_nothing_broader(templates, per_function, stage):
    template = templates[stage]
    execution = {p["Properties"]["Roles"][0]["Ref"]: p for p in of_type(template, "AWS::IAM::Policy").values()}
    roles = set()
    for logical, function in functions(template).items():
        want = needed(per_function[chalice_name(logical)])
        assert want, f"the derivation found no calls at all for {logical}"
        role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
        roles.add(role_id)
        role = template["Resources"][role_id]["Properties"]
        assert "ManagedPolicyArns" not in role and len(role["Policies"]) == 1, role_id
        granted = grants(template, role["Policies"][0]["PolicyDocument"], stage)
        assert not want - granted, f"{logical} lacks {sorted(want - granted)}"
        assert not granted - want, f"{logical} may do more than its code does: {sorted(granted - want)}"
        # its own execution policy: only its own logs, and receiving from its own queue
        own = grants(template, execution[role_id]["Properties"]["PolicyDocument"], stage)
        consumed = {queue_setting(template["Resources"][q], stage) for q in sqs_queues_of(template, function)}
        assert own == {("logs:CreateLogStream", ("logs", f"{logical}LogGroup")),
                       ("logs:PutLogEvents", ("logs", f"{logical}LogGroup"))} | {
            (action, ("queue", q)) for q in consumed
            for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")}, logical
    assert len(roles) == len(functions(template)) == len(per_function), "one role per function"
    attached = {r["Ref"] for p in of_type(template, "AWS::IAM::Policy").values() for r in p["Properties"]["Roles"]}
    assert len(attached) == len(of_type(template, "AWS::IAM::Policy")) == len(functions(template))
    assert not of_type(template, "AWS::IAM::ManagedPolicy")


def test_resources_are_named_not_wildcarded_except_where_aws_offers_nothing_narrower():
    """Table and index ARNs by logical id; objects of the stage's own buckets; GetSendQuota and GetSendStatistics
    (the account's quota and its sending statistics) have no resource type."""
    files = sorted(policy_file.CHALICE_DIR.glob("policy-*.json"))
    assert len(files) == 8
    for path in files:
        for statement in json.loads(path.read_text(encoding="utf-8"))["Statement"]:
            for resource in statement["Resource"]:
                text = json.dumps(resource)
                if resource == "*":
                    assert set(statement["Action"]) <= {"ses:GetSendQuota", "ses:GetSendStatistics"}, (
                        path.name, statement)
                elif "*" in text:
                    assert re.fullmatch(r'\{"Fn::Sub": "\$\{\w+Bucket\.Arn\}/\*"\}', text), (path.name, statement)


# --- queues, topics, schedules, functions -------------------------------------------------------------------------

def sqs_queues_of(template: dict, function: dict) -> list[str]:
    """The logical ids of the queues a function consumes (chalice names them by ARN string)."""
    by_name = {q["Properties"]["QueueName"]: k for k, q in of_type(template, "AWS::SQS::Queue").items()}
    out = []
    for event in function["Properties"].get("Events", {}).values():
        if event["Type"] == "SQS":
            name = event["Properties"]["Queue"]["Fn::Sub"].rsplit(":", 1)[-1]
            assert name in by_name, f"no queue named {name}"
            out.append(by_name[name])
    return out


@pytest.mark.parametrize("stage", STAGES)
def test_every_queue_has_a_dead_letter_queue_and_outlasts_its_function(templates, stage):
    template = templates[stage]
    consumed = set()
    for logical, function in functions(template).items():
        for queue_id in sqs_queues_of(template, function):
            consumed.add(queue_id)
            queue = template["Resources"][queue_id]["Properties"]
            assert queue_id in function["DependsOn"], "the queue exists before its event source mapping"
            assert queue["VisibilityTimeout"] >= VISIBILITY_FACTOR * function["Properties"]["Timeout"], logical
            redrive = queue["RedrivePolicy"]
            dlq = template["Resources"][redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]]
            assert dlq["Type"] == "AWS::SQS::Queue" and "RedrivePolicy" not in dlq["Properties"]
            assert redrive["maxReceiveCount"] >= 5
            assert dlq["Properties"]["MessageRetentionPeriod"] > queue["MessageRetentionPeriod"]
            assert queue["SqsManagedSseEnabled"] and dlq["Properties"]["SqsManagedSseEnabled"]
    cfg = settings()
    assert {template["Resources"][q]["Properties"]["QueueName"] for q in consumed} == {
        prefix_of(stage) + suffix(cfg.jobs_queue), prefix_of(stage) + suffix(cfg.mail_queue)}
    dead = {q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
            for q in of_type(template, "AWS::SQS::Queue").values() if "RedrivePolicy" in q["Properties"]}
    assert set(of_type(template, "AWS::SQS::Queue")) == consumed | dead, "every queue is consumed or a DLQ"
    alarmed = {a["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
               for a in of_type(template, "AWS::CloudWatch::Alarm").values()
               if a["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"}
    assert dead <= alarmed, "someone hears of a dead letter"


@pytest.mark.parametrize("stage", STAGES)
def test_ses_bounces_and_complaints_reach_the_mail_events_function(templates, stage):
    template = templates[stage]
    topic_name = prefix_of(stage) + suffix(settings().mail_events_topic)
    [(handler, event)] = [(k, e) for k, f in functions(template).items()
                          for e in f["Properties"].get("Events", {}).values() if e["Type"] == "SNS"]
    assert event["Properties"]["Topic"]["Fn::Sub"].endswith(f":{topic_name}")
    [topic_id] = [k for k, t in of_type(template, "AWS::SNS::Topic").items()
                  if t["Properties"]["TopicName"] == {"Fn::Sub": "${Prefix}" + suffix(settings().mail_events_topic)}]
    assert template["Parameters"]["Prefix"]["AllowedValues"] == [prefix_of(stage)]
    assert topic_id in functions(template)[handler]["DependsOn"]
    [destination] = of_type(template, "AWS::SES::ConfigurationSetEventDestination").values()
    dest = destination["Properties"]["EventDestination"]
    assert {"bounce", "complaint"} <= set(dest["MatchingEventTypes"]) and dest["Enabled"]
    assert dest["SnsDestination"]["TopicARN"] == {"Ref": topic_id}
    [policy] = of_type(template, "AWS::SNS::TopicPolicy").values()
    assert policy["Properties"]["Topics"] == [{"Ref": topic_id}]
    assert policy["Properties"]["PolicyDocument"]["Statement"][0]["Principal"] == {"Service": "ses.amazonaws.com"}
    identity = of_type(template, "AWS::SES::EmailIdentity")
    assert all(i["Properties"]["ConfigurationSetAttributes"]["ConfigurationSetName"] == {"Ref": "MailConfigurationSet"}
               for i in identity.values())


@pytest.mark.parametrize("stage", STAGES)
def test_the_schedules_are_chalices_every_app_schedule_fires(templates, stage):
    tree = ast.parse((ROOT / "app.py").read_text(encoding="utf-8"))
    scheduled = [d for node in tree.body if isinstance(node, ast.FunctionDef) for d in node.decorator_list
                 if isinstance(d, ast.Call) and getattr(d.func, "attr", "") == "schedule"]
    events = [e["Properties"]["Schedule"] for f in functions(templates[stage]).values()
              for e in f["Properties"].get("Events", {}).values() if e["Type"] == "Schedule"]
    assert len(events) == len(scheduled) > 0
    assert all(re.fullmatch(r"(rate|cron)\(.+\)", e) for e in events)


@pytest.mark.parametrize("stage", STAGES)
def test_every_function_has_a_name_a_size_and_its_own_log_group(templates, stage):
    template = templates[stage]
    names = set()
    for logical, function in functions(template).items():
        props = function["Properties"]
        assert props["FunctionName"].startswith(prefix_of(stage)), logical
        names.add(props["FunctionName"])
        assert 1 <= props["Timeout"] <= 900 and 128 <= props["MemorySize"] <= 10240, logical
        log_group = template["Resources"][f"{logical}LogGroup"]["Properties"]
        assert log_group["LogGroupName"] == f"/aws/lambda/{props['FunctionName']}"
        assert log_group["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        assert {f"{logical}LogGroup", f"{logical}ExecutionPolicy"} <= set(function["DependsOn"])
        assert props["Environment"]["Variables"]["CCHC_STAGE"] == stage
    assert len(names) == len(functions(template))
    assert functions(template)["APIHandler"]["Properties"]["Timeout"] <= 30  # API Gateway stops waiting at 29 s


# --- buckets and the site -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("stage", STAGES)
def test_buckets_are_private_encrypted_and_reached_only_over_tls(templates, stage):
    template = templates[stage]
    buckets = of_type(template, "AWS::S3::Bucket")
    policies = {p["Properties"]["Bucket"]["Ref"]: p["Properties"]["PolicyDocument"]
                for p in of_type(template, "AWS::S3::BucketPolicy").values()}
    assert set(buckets) == {"SiteBucket", "EvidenceBucket", "ExportsBucket"}
    for logical, bucket in buckets.items():
        props = bucket["Properties"]
        assert props["PublicAccessBlockConfiguration"] == {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                                           "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
        [rule] = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
        assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
        statements = policies[logical]["Statement"]
        assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
                   for s in statements), logical
        for s in statements:
            if s["Effect"] == "Allow":  # only CloudFront, only for this distribution, only reading the site
                assert logical == "SiteBucket" and s["Principal"] == {"Service": "cloudfront.amazonaws.com"}
                assert s["Action"] == "s3:GetObject" and "AWS:SourceArn" in s["Condition"]["StringEquals"]
    [expiry] = buckets["ExportsBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert expiry["Status"] == "Enabled" and expiry["ExpirationInDays"]
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    for attr, var in settings_env().items():  # every bucket the code names is one of the stage's
        if attr.endswith("_bucket"):
            assert env[var]["Ref"] in buckets, attr


@pytest.mark.parametrize("stage", STAGES)
def test_the_site_is_served_by_cloudfront_through_origin_access_control(templates, stage):
    template = templates[stage]
    [distribution] = of_type(template, "AWS::CloudFront::Distribution").values()
    config = distribution["Properties"]["DistributionConfig"]
    [origin] = config["Origins"]
    assert origin["DomainName"] == {"Fn::GetAtt": ["SiteBucket", "RegionalDomainName"]}
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["SiteOriginAccessControl", "Id"]}
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    control = template["Resources"]["SiteOriginAccessControl"]["Properties"]["OriginAccessControlConfig"]
    assert (control["OriginAccessControlOriginType"], control["SigningBehavior"]) == ("s3", "always")
    outputs = template["Outputs"]
    assert {"EndpointURL", "SiteBucketName", "SiteDistributionId", "SiteUrl"} <= set(outputs), "make site reads them"


@pytest.mark.parametrize("stage", STAGES)
def test_the_evidence_bucket_takes_posts_from_the_site_and_forgets_uploads_never_attached(templates, stage):
    """Real S3 enforces CORS (moto does not): without the rule, uploads from the page fail in production. The
    uploads' prefix is where the code's presigned POSTs point; nothing else in the bucket expires early."""
    template = templates[stage]
    props = template["Resources"]["EvidenceBucket"]["Properties"]
    [rule] = props["CorsConfiguration"]["CorsRules"]
    assert rule["AllowedMethods"] == ["POST"]
    assert rule["AllowedOrigins"] == {"Fn::If": ["HasSiteDomain", [{"Fn::Sub": "https://${SiteDomain}"}],
                                                 ["https://*.cloudfront.net"]]}
    assert "AllowedHeaders" not in rule or rule["AllowedHeaders"] != ["*"]
    site_url = template["Globals"]["Function"]["Environment"]["Variables"]["CCHC_SITE_URL"]
    assert site_url["Fn::If"][1] == {"Fn::Sub": "https://${SiteDomain}"}  # the same origin as the site's
    assert site_url["Fn::If"][2]["Fn::Sub"].endswith("${SiteDistribution.DomainName}")  # *.cloudfront.net
    rules = {r["Id"]: r for r in props["LifecycleConfiguration"]["Rules"]}
    uploads = rules["unattached-uploads"]
    source = (ROOT / "chalicelib" / "services" / "assessment.py").read_text(encoding="utf-8")
    upload_prefix = re.search(r'def _evidence_key\(.*?\n\s+return f"([a-z-]+/)', source, re.S)[1]
    assert (uploads["Status"], uploads["Prefix"], uploads["ExpirationInDays"]) == ("Enabled", upload_prefix, 1)
    pinned_prefix = re.search(r'def _pinned_key\(.*?\n\s+return f"([a-z-]+/)', source, re.S)[1]
    assert not pinned_prefix.startswith(upload_prefix) and not upload_prefix.startswith(pinned_prefix)
    assert "presign_upload(_evidence_key(" in source  # grants are only ever made for the upload prefix
    assert uploads["NoncurrentVersionExpiration"] == {"NoncurrentDays": 1}
    for other in rules.values():  # every other rule keeps current objects (the rosters as sent, pinned files)
        assert other is uploads or ("ExpirationInDays" not in other and "ExpirationDate" not in other)
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}


@pytest.mark.parametrize("stage", STAGES)
def test_the_site_is_served_with_its_security_headers_and_the_api_answers_uncacheable(templates, stage):
    """CloudFront adds the CSP (connections only to the API and the evidence bucket, never framed), HSTS, nosniff
    and no referrer; the local site server sends the same policy (dev/stack/site.py site_headers). API Gateway's own
    answers carry the API's headers."""
    import sys
    sys.path.insert(0, str(ROOT))
    from dev.stack import site_headers

    template = templates[stage]
    [distribution] = of_type(template, "AWS::CloudFront::Distribution").values()
    behaviour = distribution["Properties"]["DistributionConfig"]["DefaultCacheBehavior"]
    [(logical, policy)] = of_type(template, "AWS::CloudFront::ResponseHeadersPolicy").items()
    assert behaviour["ResponseHeadersPolicyId"] == {"Ref": logical}
    security = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    assert all(header["Override"] for header in security.values())
    csp = security["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Fn::Sub"]
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";")}
    assert directives["connect-src"] == ["https://*.execute-api.${AWS::Region}.${AWS::URLSuffix}",
                                         "https://${EvidenceBucket.DomainName}",
                                         "https://${EvidenceBucket.RegionalDomainName}"]
    local = {d.split()[0]: d.split()[1:] for d in site_headers("http://a:1", "http://b:2")[
        "Content-Security-Policy"].split(";")}
    assert local.pop("connect-src") == ["http://a:1", "http://b:2"]
    assert {k: v for k, v in directives.items() if k != "connect-src"} == local == {
        "default-src": ["'self'"], "frame-ancestors": ["'none'"], "object-src": ["'none'"], "base-uri": ["'self'"],
        "form-action": ["'self'"]}
    assert security["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    assert security["ReferrerPolicy"]["ReferrerPolicy"] == "no-referrer" and "ContentTypeOptions" in security
    assert security["FrameOptions"]["FrameOption"] == "DENY"
    responses = template["Resources"]["RestAPI"]["Properties"]["GatewayResponses"]
    for kind in ("DEFAULT_4XX", "DEFAULT_5XX"):
        assert responses[kind]["ResponseParameters"]["Headers"] == {"Cache-Control": "'no-store'",
                                                                    "X-Content-Type-Options": "'nosniff'"}


# --- the package --------------------------------------------------------------------------------------------------

def test_the_deployment_package_stays_under_its_budget(templates):
    with zipfile.ZipFile(ROOT / "out" / "dev" / "deployment.zip") as archive:
        unzipped = sum(info.file_size for info in archive.infolist())
        names = archive.namelist()
    assert unzipped / 1e6 <= BUDGET_MB
    assert "app.py" in names and "chalicelib/config.py" in names
    assert not [n for n in names if n.startswith(("tests/", "dev/", "infra/", "site/", "bench/"))]


@pytest.mark.parametrize("stage", STAGES)
def test_the_stage_parameters_file_fits_the_template(templates, stage):
    """`make deploy` passes infra/params/<stage>.json: every key a parameter, every parameter without default given."""
    given = json.loads((ROOT / "infra" / "params" / f"{stage}.json").read_text(encoding="utf-8"))["Parameters"]
    parameters = templates[stage]["Parameters"]
    assert set(given) <= set(parameters)
    assert {name for name, p in parameters.items() if "Default" not in p} <= set(given)
    for name, value in given.items():
        assert isinstance(value, str), name
        if "AllowedValues" in parameters[name]:
            assert value in [str(v) for v in parameters[name]["AllowedValues"]], name
        if "AllowedPattern" in parameters[name]:
            assert re.fullmatch(parameters[name]["AllowedPattern"], value), name


# --- the sending domain -------------------------------------------------------------------------------------------

SES_EVENT_TYPES = {"send", "delivery", "bounce", "complaint", "reject", "deliveryDelay", "renderingFailure"}


def substitute(value, names: dict[str, str]) -> str:
    """A `Fn::Sub` string (or a plain one) with its ${Name} and ${Resource.Attribute} references filled in."""
    text = value["Fn::Sub"] if isinstance(value, dict) else value
    assert isinstance(text, str), value
    return re.sub(r"\$\{([\w:.]+)\}", lambda m: names[m[1]], text)


@pytest.mark.parametrize("stage", STAGES)
def test_every_ses_event_type_reaches_the_topic_and_nothing_tracks_the_reader(templates, stage):
    template = templates[stage]
    [destination] = of_type(template, "AWS::SES::ConfigurationSetEventDestination").values()
    dest = destination["Properties"]["EventDestination"]
    assert set(dest["MatchingEventTypes"]) == SES_EVENT_TYPES  # no "open" or "click": no pixel, no rewritten link
    assert len(dest["MatchingEventTypes"]) == len(SES_EVENT_TYPES) and dest["Enabled"] is True
    assert dest["SnsDestination"] == {"TopicARN": {"Ref": "MailEventsTopic"}}
    assert destination["Properties"]["ConfigurationSetName"] == {"Ref": "MailConfigurationSet"}


@pytest.mark.parametrize("stage", STAGES)
def test_the_sending_domain_signs_with_easy_dkim_and_its_own_mail_from_domain(templates, stage):
    template = templates[stage]
    identity = template["Resources"]["MailSenderIdentity"]
    assert identity["Type"] == "AWS::SES::EmailIdentity" and identity["Condition"] == "HasMailIdentity"
    props = identity["Properties"]
    assert props["EmailIdentity"] == {"Ref": "MailIdentity"}
    assert props["DkimAttributes"] == {"SigningEnabled": True}
    # Easy DKIM: SES holds the keys; only the key length is chosen (no private key or selector of our own)
    assert props["DkimSigningAttributes"] == {"NextSigningKeyLength": "RSA_2048_BIT"}
    assert props["ConfigurationSetAttributes"] == {"ConfigurationSetName": {"Ref": "MailConfigurationSet"}}
    mail_from = props["MailFromAttributes"]
    assert mail_from["MailFromDomain"] == {"Fn::Sub": "${MailFromSubdomain}.${MailIdentity}"}
    assert mail_from["BehaviorOnMxFailure"] == "USE_DEFAULT_VALUE"  # unpublished MX: mail still leaves
    params = template["Parameters"]
    assert re.fullmatch(params["MailIdentity"]["AllowedPattern"], "moha.gov.vn")
    assert not re.fullmatch(params["MailIdentity"]["AllowedPattern"], "chisocchc@moha.gov.vn")  # a domain only
    assert re.fullmatch(params["MailFromSubdomain"]["AllowedPattern"], params["MailFromSubdomain"]["Default"])
    # the functions know the envelope domain and the DKIM selectors (what provinces' mail administrators allow)
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["CCHC_MAIL_FROM_DOMAIN"] == {"Fn::If": ["HasMailIdentity",
                                                       {"Fn::Sub": "${MailFromSubdomain}.${MailIdentity}"}, ""]}
    condition, selectors, otherwise = env["CCHC_MAIL_DKIM_SELECTORS"]["Fn::If"]
    assert (condition, otherwise) == ("HasMailIdentity", "")
    assert selectors["Fn::Join"][1] == [
        {"Fn::Select": [0, {"Fn::Split": [".", {"Fn::GetAtt": ["MailSenderIdentity", f"DkimDNSTokenName{i}"]}]}]}
        for i in (1, 2, 3)]


@pytest.mark.parametrize("stage", STAGES)
def test_the_outputs_list_the_dns_records_to_publish(templates, stage):
    """Filled in as CloudFormation would for moha.gov.vn, each output is one DNS record: name, type, value."""
    template = templates[stage]
    outputs = template["Outputs"]
    records = ["MailDkimRecord1", "MailDkimRecord2", "MailDkimRecord3", "MailFromMxRecord", "MailFromSpfRecord",
               "MailDmarcRecord"]
    assert all(outputs[name]["Condition"] == "HasMailIdentity" for name in records)
    names = {"MailIdentity": "moha.gov.vn", "MailFromSubdomain": "bounce", "AWS::Region": "ap-southeast-1",
             "DmarcReportAddress": "dmarc@moha.gov.vn"}
    for i in (1, 2, 3):
        names[f"MailSenderIdentity.DkimDNSTokenName{i}"] = f"tok{i}._domainkey.moha.gov.vn"
        names[f"MailSenderIdentity.DkimDNSTokenValue{i}"] = f"tok{i}.dkim.amazonses.com"
    for i in (1, 2, 3):
        assert substitute(outputs[f"MailDkimRecord{i}"]["Value"], names) == \
            f"tok{i}._domainkey.moha.gov.vn CNAME tok{i}.dkim.amazonses.com"
    assert substitute(outputs["MailFromMxRecord"]["Value"], names) == \
        "bounce.moha.gov.vn MX 10 feedback-smtp.ap-southeast-1.amazonses.com"
    assert substitute(outputs["MailFromSpfRecord"]["Value"], names) == \
        'bounce.moha.gov.vn TXT "v=spf1 include:amazonses.com ~all"'
    condition, with_reports, without = outputs["MailDmarcRecord"]["Value"]["Fn::If"]
    assert condition == "HasDmarcReportAddress"
    assert substitute(with_reports, names) == \
        '_dmarc.moha.gov.vn TXT "v=DMARC1; p=none; adkim=r; aspf=r; rua=mailto:dmarc@moha.gov.vn"'
    assert substitute(without, names) == '_dmarc.moha.gov.vn TXT "v=DMARC1; p=none; adkim=r; aspf=r"'


@pytest.mark.parametrize("stage", STAGES)
def test_the_stage_that_creates_the_identity_sends_from_that_domain(stage):
    given = json.loads((ROOT / "infra" / "params" / f"{stage}.json").read_text(encoding="utf-8"))["Parameters"]
    if given.get("MailIdentity"):
        assert given["MailFrom"].rsplit("@", 1)[1] == given["MailIdentity"]
    assert json.loads((ROOT / "infra" / "params" / "prod.json").read_text(encoding="utf-8"))[
        "Parameters"]["MailIdentity"] == "moha.gov.vn"


# --- alarms, the dashboard, the runbook ---------------------------------------------------------------------------

RUNBOOK = ROOT / "docs" / "RUNBOOK.md"


def alarms_of(template: dict) -> dict[str, dict]:
    return {k: v["Properties"] for k, v in of_type(template, "AWS::CloudWatch::Alarm").items()}


@pytest.mark.parametrize("stage", STAGES)
def test_every_alarm_tells_the_ops_topic_which_mails_the_stages_it_address(templates, stage):
    template = templates[stage]
    assert template["Resources"]["OpsTopic"]["Properties"]["TopicName"] == {"Fn::Sub": "${Prefix}ops-alarms"}
    subscription = template["Resources"]["OpsEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"] == {"TopicArn": {"Ref": "OpsTopic"}, "Protocol": "email",
                                          "Endpoint": {"Ref": "AlarmEmail"}}
    given = json.loads((ROOT / "infra" / "params" / f"{stage}.json").read_text(encoding="utf-8"))["Parameters"]
    assert "AlarmEmail" in given, "the stage's parameters name the IT mailbox (empty until the ministry gives it)"
    pattern = template["Parameters"]["AlarmEmail"]["AllowedPattern"]
    assert re.fullmatch(pattern, "cntt@moha.gov.vn") and re.fullmatch(pattern, "") and not re.fullmatch(pattern, "cntt")
    alarms = alarms_of(template)
    names = [a["AlarmName"] for a in alarms.values()]
    assert len(set(names)) == len(names) and all(n.startswith(prefix_of(stage)) for n in names)
    for logical, alarm in alarms.items():
        assert alarm["AlarmActions"] == alarm["OKActions"] == [{"Ref": "OpsTopic"}], logical
        assert alarm["EvaluationPeriods"] >= 1 and alarm["TreatMissingData"] == "notBreaching", logical
    assert "OpsTopicArn" in template["Outputs"] and "DashboardUrl" in template["Outputs"]


def single_metric(alarm: dict) -> tuple:
    return (alarm["Namespace"], alarm["MetricName"], json.dumps(alarm.get("Dimensions", []), sort_keys=True),
            alarm.get("Statistic") or alarm.get("ExtendedStatistic"))


def math_metrics(alarm: dict) -> tuple[dict[str, tuple], str]:
    """A metric-math alarm: its metrics by id (namespace, name, dimensions, stat) and its one returned expression."""
    metrics = {m["Id"]: (m["MetricStat"]["Metric"]["Namespace"], m["MetricStat"]["Metric"]["MetricName"],
                         json.dumps(m["MetricStat"]["Metric"]["Dimensions"], sort_keys=True), m["MetricStat"]["Stat"])
               for m in alarm["Metrics"] if "MetricStat" in m}
    [expression] = [m["Expression"] for m in alarm["Metrics"] if m.get("ReturnData")]
    assert not any(m.get("ReturnData") for m in alarm["Metrics"] if "MetricStat" in m)
    return metrics, expression


def dims(name: str, value) -> str:
    return json.dumps([{"Name": name, "Value": value}], sort_keys=True)


@pytest.mark.parametrize("stage", STAGES)
def test_each_alarm_exists_with_its_threshold(templates, stage):
    from chalicelib.domain.delivery import SES_REVIEW_BOUNCE_RATE, SES_REVIEW_COMPLAINT_RATE, Policy
    from infra import operations as ops

    template = templates[stage]
    res = template["Resources"]
    alarms = alarms_of(template)
    seen = set()

    def check(logical: str, threshold, operator: str = "GreaterThanOrEqualToThreshold") -> dict:
        assert logical in alarms, f"no alarm {logical}"
        seen.add(logical)
        alarm = alarms[logical]
        assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (threshold, operator), logical
        return alarm

    # the API: the share of 5xx answers, once enough requests came in, under the stage's own API name
    api_name = res["RestAPI"]["Properties"]["DefinitionBody"]["info"]["title"]
    assert api_name == prefix_of(stage) + "api"
    alarm = check("ApiServerErrorRateAlarm", ops.API_5XX_PERCENT, "GreaterThanThreshold")
    metrics, expression = math_metrics(alarm)
    api_dims = json.dumps([{"Name": "ApiName", "Value": api_name}, {"Name": "Stage", "Value": "api"}], sort_keys=True)
    assert metrics == {"errors": ("AWS/ApiGateway", "5XXError", api_dims, "Sum"),
                       "requests": ("AWS/ApiGateway", "Count", api_dims, "Sum")}
    assert expression == f"IF(requests >= {ops.API_MIN_REQUESTS}, 100 * errors / requests, 0)"
    assert 0 < ops.API_5XX_PERCENT <= 5
    # every function: errors, throttles, p99 duration above 80 % of its own timeout
    for logical, function in functions(template).items():
        fn = dims("FunctionName", {"Ref": logical})
        assert single_metric(check(f"{logical}ErrorsAlarm", ops.LAMBDA_ERRORS)) == ("AWS/Lambda", "Errors", fn, "Sum")
        assert single_metric(check(f"{logical}ThrottlesAlarm", ops.LAMBDA_THROTTLES)) == (
            "AWS/Lambda", "Throttles", fn, "Sum")
        timeout_ms = function["Properties"]["Timeout"] * 1000
        alarm = check(f"{logical}DurationAlarm", int(timeout_ms * 0.8), "GreaterThanThreshold")
        assert single_metric(alarm) == ("AWS/Lambda", "Duration", fn, "p99")
    # every work queue: its dead letters (any) and the age of its oldest message
    for logical, queue in of_type(template, "AWS::SQS::Queue").items():
        if "RedrivePolicy" not in queue["Properties"]:
            continue
        dlq = queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        alarm = check(f"{dlq}Alarm", 0, "GreaterThanThreshold")
        assert single_metric(alarm) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible",
                                        dims("QueueName", {"Fn::GetAtt": [dlq, "QueueName"]}), "Maximum")
        alarm = check(f"{logical}AgeAlarm", ops.QUEUE_AGE_SECONDS[logical], "GreaterThanThreshold")
        assert single_metric(alarm) == ("AWS/SQS", "ApproximateAgeOfOldestMessage",
                                        dims("QueueName", {"Fn::GetAtt": [logical, "QueueName"]}), "Maximum")
    assert set(ops.QUEUE_AGE_SECONDS) == {k for k, q in of_type(template, "AWS::SQS::Queue").items()
                                          if "RedrivePolicy" in q["Properties"]}
    # SES reputation: below SES's review thresholds, and before the app's own breaker stops all sending
    margin = Policy().breaker_margin
    alarm = check("SesBounceRateAlarm", ops.SES_BOUNCE_RATE)
    assert single_metric(alarm) == ("AWS/SES", "Reputation.BounceRate", "[]", "Maximum")
    assert ops.SES_BOUNCE_RATE < SES_REVIEW_BOUNCE_RATE * margin < SES_REVIEW_BOUNCE_RATE == 0.05
    alarm = check("SesComplaintRateAlarm", ops.SES_COMPLAINT_RATE)
    assert single_metric(alarm) == ("AWS/SES", "Reputation.ComplaintRate", "[]", "Maximum")
    assert ops.SES_COMPLAINT_RATE < SES_REVIEW_COMPLAINT_RATE * margin < SES_REVIEW_COMPLAINT_RATE == 0.001
    # every table: read and write throttle events together
    for logical in of_type(template, "AWS::DynamoDB::Table"):
        alarm = check(f"{logical}ThrottlesAlarm", ops.DYNAMODB_THROTTLE_EVENTS)
        metrics, expression = math_metrics(alarm)
        table = dims("TableName", {"Ref": logical})
        assert metrics == {"reads": ("AWS/DynamoDB", "ReadThrottleEvents", table, "Sum"),
                           "writes": ("AWS/DynamoDB", "WriteThrottleEvents", table, "Sum")}
        assert expression == "FILL(reads, 0) + FILL(writes, 0)"
    assert seen == set(alarms), f"alarms this test does not know: {sorted(set(alarms) - seen)}"
    assert len(alarms) == 1 + 3 * len(functions(template)) + 2 * 2 + 2 + len(of_type(template, "AWS::DynamoDB::Table"))


@pytest.mark.parametrize("stage", STAGES)
def test_the_dashboard_shows_mails_submits_errors_and_queues_of_the_stage(templates, stage):
    template = templates[stage]
    [(logical, dashboard)] = of_type(template, "AWS::CloudWatch::Dashboard").items()
    props = dashboard["Properties"]
    assert props["DashboardName"] == prefix_of(stage) + "campaign"
    assert template["Outputs"]["DashboardUrl"]["Value"]["Fn::Sub"].endswith("#dashboards:name=${Prefix}campaign")
    body = json.loads(substitute(props["DashboardBody"], {
        "AWS::Region": "ap-southeast-1", "AWS::Partition": "aws", "AWS::AccountId": "123456789012"}))
    widgets = body["widgets"]
    lines = {tuple(x for x in m if not isinstance(x, dict)) for w in widgets if w["type"] == "metric"
             for m in w["properties"]["metrics"]}
    assert all(w["properties"]["region"] == "ap-southeast-1" for w in widgets if w["type"] == "metric")
    for metric in ("MailsSent", "MailsFailed", "MailsBounced", "Submits", "Imports", "JobRetries"):
        assert ("CCHC", metric, "Stage", stage) in lines, metric
    for metric in ("Send", "Delivery", "Bounce", "Complaint", "Reputation.BounceRate", "Reputation.ComplaintRate"):
        assert ("AWS/SES", metric) in lines, metric
    api = ("ApiName", prefix_of(stage) + "api", "Stage", "api")
    for metric in ("Count", "4XXError", "5XXError"):
        assert ("AWS/ApiGateway", metric, *api) in lines, metric
    for function in functions(template).values():
        assert ("AWS/Lambda", "Errors", "FunctionName", function["Properties"]["FunctionName"]) in lines
    for queue in of_type(template, "AWS::SQS::Queue").values():
        assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queue["Properties"]["QueueName"]) in lines
    [alarm_widget] = [w for w in widgets if w["type"] == "alarm"]
    shown = {arn.rsplit(":", 1)[1] for arn in alarm_widget["properties"]["alarms"]}
    assert all(arn.startswith("arn:aws:cloudwatch:ap-southeast-1:123456789012:alarm:")
               for arn in alarm_widget["properties"]["alarms"])
    assert shown == {a["AlarmName"] for a in alarms_of(template).values()}
    ys = sorted((w["y"], w["x"]) for w in widgets)
    assert len(set(ys)) == len(ys), "no two widgets in the same place"


def runbook_sections() -> dict[str, str]:
    text = RUNBOOK.read_text(encoding="utf-8")
    parts = re.split(r"^## (.+)$", text, flags=re.M)
    return {title.strip(): body for title, body in zip(parts[1::2], parts[2::2])}


def test_every_alarm_has_its_section_in_the_runbook(templates):
    """Each alarm's description names a section of docs/RUNBOOK.md; that section lists the alarm by its logical id
    and says what it means, where to look (with a query or a command) and what to do."""
    sections = runbook_sections()
    for stage in STAGES:
        for logical, alarm in alarms_of(templates[stage]).items():
            m = re.search(r"docs/RUNBOOK\.md, mục “(.+?)”", alarm["AlarmDescription"])
            assert m, f"{logical}: its description does not name a runbook section"
            assert m[1] in sections, f"{logical}: no section “{m[1]}” in docs/RUNBOOK.md"
            body = sections[m[1]]
            assert f"`{logical}`" in body, f"{logical} is not listed in the runbook's section “{m[1]}”"
            for part in ("**Ý nghĩa.**", "**Xem ở đâu.**", "**Xử lý.**"):
                assert part in body, (m[1], part)
            assert "```" in body, f"“{m[1]}”: no query or command to look with"


def test_the_runbooks_actions_are_commands_of_the_cli():
    """Resume a paused unit, reset the breaker, redrive a dead-letter queue, extend a phase, restore a table: each
    has its section and its command, and every command the runbook gives exists."""
    sections = runbook_sections()
    actions = {title: body for title, body in sections.items() if title.startswith("Thao tác:")}
    wanted = {"resume-mail", "reset-breaker", "redrive-dlq", "extend-phase", "restore-table"}
    given = {cmd for body in actions.values() for cmd in re.findall(r"python -m chalicelib\.cli ([a-z][a-z-]*)", body)}
    assert wanted <= given
    source = (ROOT / "chalicelib" / "cli.py").read_text(encoding="utf-8")
    every = set(re.findall(r"python -m chalicelib\.cli ([a-z][a-z-]*)", RUNBOOK.read_text(encoding="utf-8")))
    for command in every:
        assert f'add_parser("{command}"' in source, f"the runbook names a command the CLI lacks: {command}"
