"""Write the template that `chalice package --merge-template` merges into chalice's output for one stage.

    .venv/bin/python -m infra.build <stage> <chalice's sam.json for that stage> > out/<stage>/resources.json

It is infra/template.yaml plus what follows mechanically from the code (see the comment at the top of that file):
tables from the PynamoDB models, a queue and dead-letter queue per SQS handler, and per function its name, size,
log group and its own logs/queue permissions. The stage's settings are those of .chalice/config.json.
"""
from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from infra.needs import ROOT
from infra.operations import operations

CONFIG = ROOT / ".chalice" / "config.json"
TEMPLATE = ROOT / "infra" / "template.yaml"

# Timeout (s) and memory (MB) per function, by chalice's logical id; the others by their event type.
# Lambda gives CPU in proportion to memory: 1024 MB is about 0.6 vCPU (scrypt logins, workbooks, rendering mails).
SIZES = {
    "APIHandler": (30, 1024),  # API Gateway answers 504 after 29 s anyway
    "Jobs": (900, 1024),  # one unit's dispatch or reminders; the unit's dispatch lease is 15 minutes
    "Mail": (300, 256),  # 50 mails per message, paced at the SES rate, with backoff on throttling
}
BY_EVENT = {"Schedule": (300, 1024), "SQS": (300, 512), "SNS": (30, 256), "": (60, 512)}
VISIBILITY_FACTOR = 6  # AWS: a source queue's visibility timeout is at least 6 x the function's timeout
MAX_RECEIVES = 5  # deliveries before a message goes to the dead-letter queue (AWS recommends at least 5)
QUEUE_RETENTION = 4 * 24 * 3600
DLQ_RETENTION = 14 * 24 * 3600  # the maximum: time to look at a dead letter and redrive it
PROTECTED_STAGES = {"prod"}  # deletion protection, and tables kept when the stack is deleted or replaced


# --- CloudFormation YAML (short-form intrinsics) ------------------------------------------------------------------

class _Loader(yaml.SafeLoader):
    pass


def _intrinsic(loader: yaml.SafeLoader, tag: str, node: yaml.Node) -> dict:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if tag == "Ref":
        return {"Ref": value}
    if tag == "Condition":
        return {"Condition": value}
    if tag == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag}": value}


_Loader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path = TEMPLATE) -> dict:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # a SafeLoader plus the CFN tags


# --- the stage --------------------------------------------------------------------------------------------------

def stage_environment(stage: str) -> dict[str, str]:
    """The stage's environment variables from .chalice/config.json (top level, then the stage's)."""
    config = json.loads(CONFIG.read_text(encoding="utf-8"))
    if stage not in config.get("stages", {}):
        raise SystemExit(f"no stage {stage!r} in {CONFIG.relative_to(ROOT)}")
    return {**config.get("environment_variables", {}), **config["stages"][stage].get("environment_variables", {})}


def use_stage(stage: str) -> None:
    """Settings are read once: set the stage's environment before anything from chalicelib is imported."""
    os.environ.update(stage_environment(stage))
    os.environ.setdefault("AWS_DEFAULT_REGION", "ap-southeast-1")


# --- generated resources ----------------------------------------------------------------------------------------

def tables(stage: str) -> dict[str, dict]:
    from pynamodb.attributes import TTLAttribute

    from chalicelib.config import settings
    from chalicelib.store.models import ALL_MODELS
    from infra.policy import table_id

    prefix = settings().table_prefix
    protected = stage in PROTECTED_STAGES
    out = {}
    for model in ALL_MODELS:
        schema = model._get_schema()
        name = model.Meta.table_name
        props: dict[str, Any] = {
            "TableName": name,
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": sorted(schema["attribute_definitions"], key=lambda a: a["AttributeName"]),
            "KeySchema": _keys(schema["key_schema"]),
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "DeletionProtectionEnabled": protected,
        }
        if schema["global_secondary_indexes"]:
            props["GlobalSecondaryIndexes"] = [
                {"IndexName": i["index_name"], "KeySchema": _keys(i["key_schema"]), "Projection": i["projection"]}
                for i in schema["global_secondary_indexes"]]
        if schema["local_secondary_indexes"]:
            props["LocalSecondaryIndexes"] = [
                {"IndexName": i["index_name"], "KeySchema": _keys(i["key_schema"]), "Projection": i["projection"]}
                for i in schema["local_secondary_indexes"]]
        ttl = [attr.attr_name for attr in model.get_attributes().values() if isinstance(attr, TTLAttribute)]
        if ttl:
            props["TimeToLiveSpecification"] = {"AttributeName": ttl[0], "Enabled": True}
        policy = "Retain" if protected else "Delete"
        out[table_id(name[len(prefix):])] = {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": policy,
                                             "UpdateReplacePolicy": policy, "Properties": props}
    return out


def _keys(key_schema: list) -> list[dict]:
    """HASH first, as CloudFormation requires (PynamoDB's order follows the class body)."""
    return sorted(({"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]} for k in key_schema),
                  key=lambda k: k["KeyType"] != "HASH")


def _kebab(logical_id: str) -> str:
    return "api" if logical_id == "APIHandler" else re.sub(r"(?<!^)(?=[A-Z])", "-", logical_id).lower()


def _event_name(event: dict) -> str:
    """The queue or topic name at the end of the ARN chalice wrote (Fn::Sub of a name it read from settings)."""
    props = event["Properties"]
    arn = props.get("Queue") or props.get("Topic")
    text = arn["Fn::Sub"] if isinstance(arn, dict) else arn
    return str(text).rsplit(":", 1)[-1]


def functions(base: dict, template: dict, prefix: str) -> dict[str, dict]:
    """Per chalice function: its overrides, log group, execution policy, and the queues it consumes."""
    from infra.policy import queue_id

    topics = {t["Properties"]["TopicName"]["Fn::Sub"].replace("${Prefix}", prefix): logical
              for logical, t in template["Resources"].items() if t["Type"] == "AWS::SNS::Topic"}
    out: dict[str, dict] = {}
    for logical, resource in base["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        events = resource["Properties"].get("Events", {})
        kinds = {e["Type"] for e in events.values()}
        timeout, memory = SIZES.get(logical) or BY_EVENT[next(iter(kinds), "")]
        name = f"{prefix}{_kebab(logical)}"
        log_group, policy = f"{logical}LogGroup", f"{logical}ExecutionPolicy"
        role = resource["Properties"]["Role"]["Fn::GetAtt"][0]
        statements: list[dict] = [{
            "Sid": "OwnLogs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [{"Fn::GetAtt": [log_group, "Arn"]}]}]
        depends = [log_group, policy]
        for event in events.values():
            if event["Type"] == "SQS":
                queue = _event_name(event)
                if not queue.startswith(prefix):
                    raise SystemExit(f"{logical}: queue {queue} is not named with the stage prefix {prefix}")
                ref = queue_id(queue[len(prefix):])
                out.update(queues(ref, queue, timeout + int(event["Properties"].get(
                    "MaximumBatchingWindowInSeconds", 0))))
                depends.append(ref)
                statements.append({"Sid": f"Consume{ref}", "Effect": "Allow",
                                   "Action": ["sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"],
                                   "Resource": [{"Fn::GetAtt": [ref, "Arn"]}]})
            elif event["Type"] == "SNS":
                topic = _event_name(event)
                if topic not in topics:
                    raise SystemExit(f"{logical}: no AWS::SNS::Topic named {topic} in infra/template.yaml")
                depends.append(topics[topic])
        # chalice's events name the queue or topic by an ARN string; depending on it creates it first
        out[logical] = {"DependsOn": depends,
                        "Properties": {"FunctionName": name, "Timeout": timeout, "MemorySize": memory}}
        out[log_group] = {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete",
                          "Properties": {"LogGroupName": f"/aws/lambda/{name}",
                                         "RetentionInDays": {"Ref": "LogRetentionDays"}}}
        out[policy] = {"Type": "AWS::IAM::Policy", "Properties": {
            "PolicyName": "execution", "Roles": [{"Ref": role}],
            "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}}
    return out


def queues(ref: str, name: str, consumer_timeout: int) -> dict[str, dict]:
    dlq = ref.removesuffix("Queue") + "DeadLetterQueue"
    return {
        ref: {"Type": "AWS::SQS::Queue", "Properties": {
            "QueueName": name,
            "VisibilityTimeout": VISIBILITY_FACTOR * consumer_timeout,
            "MessageRetentionPeriod": QUEUE_RETENTION,
            "SqsManagedSseEnabled": True,
            "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": [dlq, "Arn"]}, "maxReceiveCount": MAX_RECEIVES}}},
        dlq: {"Type": "AWS::SQS::Queue", "Properties": {
            "QueueName": f"{name}-dlq", "MessageRetentionPeriod": DLQ_RETENTION, "SqsManagedSseEnabled": True}},
    }


# What API Gateway answers by itself (an unknown path, a throttled or oversized request, its own 5xx) never reaches
# the function: those answers get the API's headers here (chalicelib/api/routing.py API_HEADERS gives them to the
# function's own answers).
GATEWAY_HEADERS = {"Cache-Control": "'no-store'", "X-Content-Type-Options": "'nosniff'"}


def gateway_responses(base: dict) -> dict[str, dict]:
    if base["Resources"].get("RestAPI", {}).get("Type") != "AWS::Serverless::Api":
        return {}
    return {"RestAPI": {"Properties": {"GatewayResponses": {
        kind: {"ResponseParameters": {"Headers": dict(GATEWAY_HEADERS)}} for kind in ("DEFAULT_4XX", "DEFAULT_5XX")}}}}


def build(stage: str, base: dict) -> dict:
    use_stage(stage)
    from chalicelib.config import settings

    prefix = settings().table_prefix
    template = load_template()
    params = template["Parameters"]
    params["Stage"].update(Default=stage, AllowedValues=[stage])
    params["Prefix"].update(Default=prefix, AllowedValues=[prefix])
    generated = {**tables(stage), **functions(base, template, prefix), **gateway_responses(base)}
    clash = set(generated) & set(template["Resources"])
    if clash:
        raise SystemExit(f"infra/template.yaml defines generated resources: {sorted(clash)}")
    template["Resources"].update(generated)
    # the stage as CloudFormation will see it (chalice's resources with these merged in) names what is watched
    whole = merged(base["Resources"], template["Resources"])
    watched = operations(whole, prefix, stage)
    clash = {k for k in set(watched) & set(whole) if k not in base["Resources"]}
    if clash:
        raise SystemExit(f"infra/operations.py names existing resources: {sorted(clash)}")
    template["Resources"] = merged(template["Resources"], watched)
    return template


def merged(base: dict, extra: dict) -> dict:
    """`extra` merged into `base` as `chalice package --merge-template` does: mappings key by key, the rest
    replaced."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    stage, base_path = argv
    base = json.loads(Path(base_path).read_text(encoding="utf-8"))
    json.dump(build(stage, base), sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
