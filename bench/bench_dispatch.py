"""Dispatch of 60,000 links (63 units): issue the links, render every mail and hand it to the mail queue, against
its floor measured in the same run on the same store (moto in-process): a batch write of the same items (links
and token records, with the attributes our links carry) plus rendering the same mails. Also the peak memory of one
unit's job. Budgets: ratio ≤ 1.5; peak memory ≤ 256 MB per unit job.

The emulator keeps every item as Python objects (a few million once 120,000 items are written), so a full garbage
collection walks a heap that is the benchmark's, not the code's: it takes seconds, comes once or twice a run and
lands on whichever side happens to be running. Before each timed part, on both sides alike, the heap is collected
and frozen (`gc.freeze`), so each side's collections walk only what that side allocated. Likewise moto's SendMessage
counts every message already in the queue (the queue's attributes, on each message sent), which SQS does not: the mail
queue, which the mailer drains in deployment, is emptied after each unit, outside the timings."""
from __future__ import annotations

import gc
import os
import sys
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "ap-southeast-1",
                   "CCHC_STAGE": "bench", "CCHC_TABLE_PREFIX": "cchc-bench-", "CCHC_SCRYPT_N": "1024"})
os.environ.pop("AWS_ENDPOINT_URL", None)

from moto import mock_aws  # noqa: E402

BUDGET, MEMORY_BUDGET_MB = 1.5, 256
LINKS = int(os.environ.get("BENCH_LINKS", "60000"))
GROUPS = [("1", "HĐND tỉnh", ["locality"]), ("2", "Sở Y tế", ["locality", "ministry"]),
          ("3", "Phòng Kế hoạch, Sở Tài chính", ["locality", "ministry"]), ("4", "UBND huyện", ["locality"])]


def seed_rosters(units: list[str], per_unit: int, now) -> None:
    """Submitted rosters written straight to the store (their import is benchmarked elsewhere)."""
    from builders import name
    from chalicelib.domain.access import Actor
    from chalicelib.services import roster
    from chalicelib.store import roster as roster_store

    ministry = Actor("admin", "moha", None)
    from chalicelib.store.models import RespondentModel

    for unit in units:
        items = []
        for i in range(per_unit):
            code, agency, purposes = GROUPS[i % 4]
            items.append(RespondentModel(
                unit_key=f"demo#{unit}", sk=f"gbench#{i:06d}-bench", rid=f"{i:06d}-bench", full_name=name(i),
                position="Phó Giám đốc", agency=agency, group=code, email=f"nguoi{i}@{unit}.gov.vn",
                questionnaires=purposes, search="x", updated_at=now, ministry="Bộ Y tế" if code in "23" else None))
        roster_store.write_generation(items)
        roster_store.swap_generation("demo", unit, "gbench", 0, {"1": per_unit}, per_unit, now)
        roster.submit(ministry, "demo", unit, now, os.urandom)  # "Gửi danh sách": freezes a copy for dispatch


def floor(unit_items: list, now) -> float:
    """Batch-write the same links and tokens, render the same mails."""
    from chalicelib.domain.credentials import new_token, token_hash
    from chalicelib.formats import mail
    from chalicelib.store.models import LinkModel, TokenModel

    start = time.perf_counter()
    with LinkModel.batch_write() as links, TokenModel.batch_write() as tokens:
        for unit, rows in unit_items:
            for row in rows:
                for purpose in row.questionnaires:
                    token = new_token(os.urandom(32))
                    digest = token_hash(token)
                    link = LinkModel(unit_key=f"floor#{unit}", slot=f"{row.rid}#{purpose}", rid=row.rid,
                                     purpose=purpose, qid=f"{purpose}-{row.group}", q_version=1, group=row.group,
                                     email=row.email, full_name=row.full_name, agency=row.agency,
                                     position=row.position, state="issued", token_hashes=[digest],
                                     ministry=row.ministry_unit if purpose == "ministry" else None,
                                     issued_run="bench-run", queued_run="bench-run", issued_at=now, queued_at=now,
                                     updated_at=now)
                    links.save(link)
                    tokens.save(TokenModel(token_hash=digest, unit_key=link.unit_key, slot=link.slot,
                                           kind="invite", issued_at=now, expires_at=now + timedelta(days=90)))
                    mail.render({"kind": "invite", "full_name": row.full_name, "questionnaire": "Phiếu mẫu",
                                 "campaign": "Đợt thử nghiệm", "group": "Lãnh đạo cấp sở", "unit": "Tỉnh",
                                 "deadline": "hết ngày 20/02/2022", "url": f"https://x/khao-sat/#{token}",
                                 "subject": "Mời trả lời", "contact": "Vụ Cải cách hành chính, Bộ Nội vụ"})
    return time.perf_counter() - start


def settle_heap() -> None:
    """Outside the timings, before each side's part: collect, then move every object alive into the collector's
    permanent generation, which no later collection walks."""
    gc.collect()
    gc.freeze()


def drain_mail_queue() -> None:
    """Outside the timings: the mails dispatch queued, received and deleted as the mailer takes them."""
    import boto3

    from chalicelib.config import settings

    sqs = boto3.client("sqs", region_name=settings().region)
    url = sqs.get_queue_url(QueueName=settings().mail_queue)["QueueUrl"]
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                                        for i, m in enumerate(messages)])


def main() -> None:
    with mock_aws():
        from dev.stack import moto_patches

        moto_patches.install()  # as the tests and the local stack: item-level transaction rollback
        from chalicelib.runtime import runtime
        from chalicelib.services import campaigns, dispatch
        from chalicelib.store import roster as roster_store
        from chalicelib.store.bootstrap import ensure_resources
        from chalicelib.store.campaigns import list_units

        ensure_resources()
        now = runtime.now()
        campaigns.create_from_files("demo", now, runtime.random_bytes)
        units = [u.unit for u in list_units("demo", "province")]
        per_unit = round(LINKS / 1.5 / len(units))  # groups 2 and 3 answer two questionnaires: 1.5 links a person
        seed_rosters(units, per_unit, now)
        # the first unit's job runs under tracemalloc for its peak memory; the other 62 are timed
        tracemalloc.start()
        from chalicelib.store.campaigns import get_campaign

        forms = dispatch._lock_questionnaires(get_campaign("demo"), now)
        first = dispatch.dispatch_unit("demo", units[0], "bench-run", runtime.now(), runtime.random_bytes, forms)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        drain_mail_queue()
        timed_units = units[1:]
        issued, ours, floor_s = first["issued"], 0.0, 0.0
        for unit in timed_units:  # interleaved: both sides write into tables of the same size, under the same noise
            rows = roster_store.rows("demo", unit, "gbench")
            settle_heap()
            floor_s += floor([(unit, rows)], now)
            settle_heap()
            start = time.perf_counter()
            issued += dispatch.dispatch_unit("demo", unit, "bench-run", runtime.now(), runtime.random_bytes,
                                             forms)["issued"]
            ours += time.perf_counter() - start
            drain_mail_queue()
    print(f"dispatch {issued} links over {len(units)} units: {ours:.1f} s; floor (batch write + render): "
          f"{floor_s:.1f} s; peak memory of one unit's job: {peak / 1048576:.0f} MB (traced)")
    print(f"BENCH dispatch ratio={ours / floor_s:.2f} budget={BUDGET}")
    print(f"BENCH dispatch_unit_memory_mb ratio={peak / 1048576 / MEMORY_BUDGET_MB:.2f} budget=1.0")


if __name__ == "__main__":
    main()
