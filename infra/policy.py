"""The Lambda functions' application policies, one per function, generated from what each one's code calls
(infra/needs.py: derive_per_function).

    .venv/bin/python -m infra.policy            # rewrite .chalice/policy-<function>.json and config.json's
                                                #   lambda_functions (review the diff, commit it)
    .venv/bin/python -m infra.policy --check    # exit 1 when they are not what the code needs

Chalice gives each function its own role with its own file (`lambda_functions.<name>.iam_policy_file`,
`autogen_policy: false`); a function left out of `lambda_functions` would fall back to a policy file that does not
exist, and packaging fails. The files may use CloudFormation intrinsics: their resources are the stage's tables,
buckets and queues by logical id. Exactly the actions a function's code uses, on exactly the tables and indexes it
uses them on; object actions on its buckets; send on its queues; SES sending only with the configured sender as the
From address (`ses:FromAddress`), from its identity, through the stage's configuration set. The only "*" is
ses:GetSendQuota and ses:GetSendStatistics, which have no resource type. Logs and receiving from a queue are granted per function by
infra/build.py (each function only its own log group and queue).
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from infra.needs import ROOT, Needs, derive_per_function

CHALICE_DIR = ROOT / ".chalice"
CONFIG_FILE = CHALICE_DIR / "config.json"


def policy_file_name(function: str) -> str:
    """"api_handler" -> "policy-api.json", "mail-events" -> "policy-mail-events.json"."""
    return f"policy-{'api' if function == 'api_handler' else function}.json"


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
            statement = _allow("SesSendFromSender", "ses", actions, SES_IDENTITIES)
            statement["Condition"] = {"StringEquals": {"ses:FromAddress": {"Ref": "MailFrom"}}}
            statements.append(statement)
    unknown = {need.service for need in needs.found} - {"dynamodb", "s3", "sqs", "ses"}
    if unknown:
        raise SystemExit(f"infra/policy.py does not know how to grant {sorted(unknown)} yet")
    return {"Version": "2012-10-17", "Statement": statements}


def _allow(sid: str, service: str, actions: set[str], resources: list) -> dict:
    return {"Sid": sid, "Effect": "Allow", "Action": sorted(f"{service}:{a}" for a in actions),
            "Resource": resources}


def render(needs: Needs) -> str:
    if needs.unresolved:
        raise SystemExit("Cannot tell what these calls need (see infra/needs.py):\n  " + "\n  ".join(needs.unresolved))
    return json.dumps(document(needs), indent=2) + "\n"


def rendered(per_function: dict[str, Needs] | None = None) -> dict[Path, str]:
    """Every file this writes -> its content: one policy per function, and config.json with `lambda_functions`
    naming each function's file (the rest of config.json as it is)."""
    per_function = per_function if per_function is not None else derive_per_function()
    out = {CHALICE_DIR / policy_file_name(f): render(needs) for f, needs in sorted(per_function.items())}
    config = json.loads(CONFIG_FILE.read_text(encoding="utf-8"))
    config.pop("iam_policy_file", None)  # no shared policy: a function without its own entry cannot be packaged
    config["autogen_policy"] = False
    config["lambda_functions"] = {f: {"iam_policy_file": policy_file_name(f), "autogen_policy": False}
                                  for f in sorted(per_function)}
    out[CONFIG_FILE] = json.dumps(config, indent=2, ensure_ascii=False) + "\n"
    return out


def stale_files(files: dict[Path, str]) -> list[Path]:
    """Files that differ from `files`, and policy files no function uses any more."""
    stale = [p for p, text in files.items() if not p.exists() or p.read_text(encoding="utf-8") != text]
    return stale + [p for p in sorted(CHALICE_DIR.glob("policy*.json")) if p not in files]


def main(argv: list[str]) -> int:
    files = rendered()
    if "--check" in argv:
        stale = stale_files(files)
        if stale:
            names = ", ".join(str(p.relative_to(ROOT)) for p in stale)
            print(f"{names}: not what the code needs: run `make policy` and review the diff")
            return 1
        return 0
    for path in stale_files(files):
        if path not in files:
            path.unlink()
            print(f"removed {path.relative_to(ROOT)}")
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
