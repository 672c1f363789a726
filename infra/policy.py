"""The Lambda functions' application policy, generated from what the code calls (infra/needs.py).

    .venv/bin/python -m infra.policy            # rewrite .chalice/policy.json (review the diff, commit it)
    .venv/bin/python -m infra.policy --check    # exit 1 when .chalice/policy.json is not what the code needs

Chalice puts the file, as is, into the role of every function (`autogen_policy: false`, `iam_policy_file`), so it
may use CloudFormation intrinsics: its resources are the stage's tables, buckets and queues by logical id. Exactly
the actions the code uses, on exactly the tables and indexes it uses them on; object actions on its buckets;
send on its queues; SES sending from the configured sender through the stage's configuration set. The only "*" is
ses:GetSendQuota, which has no resource type. Logs and receiving from a queue are granted per function by
infra/build.py (each function only its own log group and queue).
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from infra.needs import ROOT, Needs, derive

POLICY_FILE = ROOT / ".chalice" / "policy.json"


def camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name) if part)


def table_id(suffix: str) -> str:
    """"campaigns" -> "CampaignsTable" (the suffix is the table name after the stage prefix)."""
    return f"{camel(suffix)}Table"


def queue_id(suffix: str) -> str:
    return f"{camel(suffix)}Queue"


def bucket_id(setting: str) -> str:
    """settings().exports_bucket -> "ExportsBucket"."""
    return camel(setting)


def queue_suffix(setting: str) -> str:
    """settings().jobs_queue -> "jobs": the queue's name after the stage prefix."""
    from chalicelib.config import settings

    cfg = settings()
    name = getattr(cfg, setting)
    assert name.startswith(cfg.table_prefix), (setting, name)
    return name[len(cfg.table_prefix):]


SES_IDENTITIES = [
    {"Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${MailFrom}"},
    {"Fn::Sub": ["arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${Domain}",
                 {"Domain": {"Fn::Select": [1, {"Fn::Split": ["@", {"Ref": "MailFrom"}]}]}}]},
    {"Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:configuration-set/"
                "${MailConfigurationSet}"},
]


def document(needs: Needs) -> dict:
    statements = []
    for resource, actions in sorted(needs.of("dynamodb").items()):
        table, _, index = resource.partition("/index/")
        ref = table_id(table)
        arn = {"Fn::Sub": f"${{{ref}.Arn}}/index/{index}"} if index else {"Fn::GetAtt": [ref, "Arn"]}
        statements.append(_allow(ref + (camel(index) + "Index" if index else ""), "dynamodb", actions, [arn]))
    for setting, actions in sorted(needs.of("s3").items()):
        ref = bucket_id(setting)
        statements.append(_allow(f"{ref}Objects", "s3", actions, [{"Fn::Sub": f"${{{ref}.Arn}}/*"}]))
    for setting, actions in sorted(needs.of("sqs").items()):
        ref = queue_id(queue_suffix(setting))
        statements.append(_allow(ref, "sqs", actions, [{"Fn::GetAtt": [ref, "Arn"]}]))
    for resource, actions in sorted(needs.of("ses").items()):
        if resource == "*":
            statements.append(_allow("SesAccountQuota", "ses", actions, ["*"]))
        else:
            statements.append(_allow("SesSendFromSender", "ses", actions, SES_IDENTITIES))
    unknown = {need.service for need in needs.found} - {"dynamodb", "s3", "sqs", "ses"}
    if unknown:
        raise SystemExit(f"infra/policy.py does not know how to grant {sorted(unknown)} yet")
    return {"Version": "2012-10-17", "Statement": statements}


def _allow(sid: str, service: str, actions: set[str], resources: list) -> dict:
    return {"Sid": sid, "Effect": "Allow", "Action": sorted(f"{service}:{a}" for a in actions),
            "Resource": resources}


def render(needs: Needs | None = None) -> str:
    needs = needs or derive()
    if needs.unresolved:
        raise SystemExit("Cannot tell what these calls need (see infra/needs.py):\n  " + "\n  ".join(needs.unresolved))
    return json.dumps(document(needs), indent=2) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        current = POLICY_FILE.read_text(encoding="utf-8") if POLICY_FILE.exists() else ""
        if current != text:
            print(f"{POLICY_FILE.relative_to(ROOT)} is not what the code needs: run `make policy` and review the diff")
            return 1
        return 0
    Path(POLICY_FILE).write_text(text, encoding="utf-8")
    print(f"wrote {POLICY_FILE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
