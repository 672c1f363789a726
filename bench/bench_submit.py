"""One survey submit through the app (HTTP route on chalice's test client: token lookup, checks, validation,
the transaction, the receipt) against the bare conditional transaction it performs, in the same run on the same
store (moto in-process): the same items written (link, response, counters, the draft's deletion) under the same
conditions (the link's state and token, the campaign's version and the unit's annulment and extension, which the
app checks inside the transaction rather than reading before it). Budget: ≤ 1.5."""
from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "ap-southeast-1",
                   "AWS_REGION": "ap-southeast-1", "CCHC_STAGE": "bench", "CCHC_TABLE_PREFIX": "cchc-bench-",
                   "CCHC_SCRYPT_N": "1024"})
os.environ.pop("AWS_ENDPOINT_URL", None)

from moto import mock_aws  # noqa: E402

BUDGET = 1.5
LINKS = int(os.environ.get("BENCH_SUBMITS", "150"))


def main() -> None:
    with mock_aws():
        from dev.stack import moto_patches, use_local_ses_rate

        moto_patches.install()  # as the tests and the local stack: item-level transaction rollback
        use_local_ses_rate(100000)  # the emulated account's quota: the mails are not what this measures
        from chalice.test import Client

        from app import app
        from builders import person, roster_workbook
        from chalicelib.domain.access import Actor
        from chalicelib.runtime import runtime
        from chalicelib.services import campaigns, dispatch, mailing, roster
        from chalicelib.store import survey as survey_store
        from chalicelib.store.bootstrap import ensure_resources
        from chalicelib.store.models import LinkModel, ResponseModel
        from outbox import drain, sent_mails, token_of

        ensure_resources()
        now = runtime.now()
        campaigns.create_from_files("demo", now, runtime.random_bytes)
        ministry = Actor("admin", "moha", None)
        data = roster_workbook([person(i, group="1", agency="HĐND tỉnh") for i in range(1, 2 * LINKS + 1)])
        roster.import_workbook(ministry, "demo", "01", data, "merge", now, runtime.random_bytes)
        roster.submit(ministry, "demo", "01", now, runtime.random_bytes)
        dispatch.start(ministry, "demo", ["01"], now, runtime.random_bytes)
        with Client(app) as client:
            class Api:  # what outbox.drain needs
                pass
            api = Api()
            api.client = client
            from chalicelib.config import settings
            drain(api, settings().jobs_queue, "jobs")
            mailing._pace = None
            drain(api, settings().mail_queue, "mail")
            tokens = [token_of(m) for m in sent_mails()]
            assert len(tokens) == 2 * LINKS, len(tokens)
            survey = json.loads(client.http.get("/survey", headers={"x-survey-token": tokens[0]}).body)
            answers = {q["id"]: q["options"][0]["value"] if q["type"] == "single" else [q["options"][0]["value"]]
                       for s in survey["questionnaire"]["sections"] for q in s["questions"] if q["type"] != "text"}
            body = json.dumps({"answers": answers}).encode()
            links = sorted(LinkModel.query("demo#01"), key=lambda link: link.slot)
            from chalicelib.domain.credentials import token_hash
            by_hash = {token_hash(t): t for t in tokens}
            app_tokens = [by_hash[link.token_hashes[0]] for link in links[:LINKS]]
            floor_links = links[LINKS:]
            from chalicelib.store.campaigns import get_campaign
            gate = survey_store.Gate("demo", "01", get_campaign("demo").version, None)
            ours, floors = [], []
            for i in range(LINKS):  # interleaved so machine noise hits both alike
                start = time.perf_counter()
                r = client.http.post("/survey/submit", headers={"x-survey-token": app_tokens[i],
                                                                "content-type": "application/json"}, body=body)
                ours.append(time.perf_counter() - start)
                assert r.status_code == 201, r.body
                link = floor_links[i]
                response = ResponseModel(unit_key=link.unit_key, response_id=f"floor{i}", qid=link.qid,
                                         q_version=1, group=link.group, purpose=link.purpose, answers=answers,
                                         scores={}, submitted_at=now)
                start = time.perf_counter()
                assert survey_store.record_submission(link, link.token_hashes[0], response, now, ip="127.0.0.1",
                                                      ua="bench", receipt="BENC-HMRK", drop_draft=True,
                                                      gate=gate)
                floors.append(time.perf_counter() - start)
    o, f = statistics.median(ours), statistics.median(floors)
    print(f"submit through the app: {o * 1000:.1f} ms; bare conditional transaction: {f * 1000:.1f} ms "
          f"(medians of {LINKS})")
    print(f"BENCH submit ratio={o / f:.2f} budget={BUDGET}")


if __name__ == "__main__":
    main()
