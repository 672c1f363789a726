"""One province's progress for a 5,000-respondent unit through the service, against the raw Query of the same
link items, in the same run on the same store (moto in-process). Budget: ≤ 1.5."""
from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "ap-southeast-1",
                   "CCHC_STAGE": "bench", "CCHC_TABLE_PREFIX": "cchc-bench-", "CCHC_SCRYPT_N": "1024"})
os.environ.pop("AWS_ENDPOINT_URL", None)

from moto import mock_aws  # noqa: E402

BUDGET = 1.5
PEOPLE = int(os.environ.get("BENCH_PEOPLE", "5000"))
RUNS = int(os.environ.get("BENCH_RUNS", "5"))


def main() -> None:
    with mock_aws():
        from dev.stack import moto_patches

        moto_patches.install()  # as the tests and the local stack: item-level transaction rollback
        from builders import name
        from chalicelib.domain.access import Actor
        from chalicelib.runtime import runtime
        from chalicelib.services import campaigns, progress
        from chalicelib.store import links as link_store
        from chalicelib.store.bootstrap import ensure_resources
        from chalicelib.store.models import LinkModel

        ensure_resources()
        now = runtime.now()
        campaigns.create_from_files("demo", now, runtime.random_bytes)
        links, counts = [], {}
        for i in range(PEOPLE):
            group = "1234"[i % 4]
            for purpose in (["locality", "ministry"] if group in "23" else ["locality"]):
                state = ("sent", "opened", "submitted", "bounced")[i % 4]
                links.append(LinkModel(unit_key="demo#01", slot=f"{i:06d}-bench#{purpose}", rid=f"{i:06d}-bench",
                                       purpose=purpose, qid=f"{purpose}-{group}", q_version=1, group=group,
                                       email=f"nguoi{i}@hanoi.gov.vn", full_name=name(i), agency="Sở Y tế",
                                       position="Phó Giám đốc", state=state, token_hashes=[f"{i:064d}"],
                                       issued_at=now, sent_at=now, updated_at=now))
                for key in ("all", f"{group}#{purpose}"):
                    counts.setdefault(key, {}).setdefault(state, 0)
                    counts[key][state] += 1
        link_store.write_issued(links, [])
        link_store.add_counts("demo#01", counts)
        province = Actor("tinh01", "province", "01")
        ours, floors = [], []
        for _ in range(RUNS):
            start = time.perf_counter()
            raw = list(LinkModel.query("demo#01"))
            floors.append(time.perf_counter() - start)
            start = time.perf_counter()
            page = progress.unit_progress(province, "demo", "01", status="pending", limit=50)
            ours.append(time.perf_counter() - start)
        assert len(raw) == len(links) and page["people_total"] == PEOPLE
    o, f = statistics.median(ours), statistics.median(floors)
    print(f"progress of a {PEOPLE}-respondent unit ({len(links)} links): {o * 1000:.0f} ms; raw Query of the same "
          f"items: {f * 1000:.0f} ms (medians of {RUNS})")
    print(f"BENCH progress ratio={o / f:.2f} budget={BUDGET}")


if __name__ == "__main__":
    main()
