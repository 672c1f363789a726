"""Roster import of 5,000 rows end to end (parse, validate, dedup, persist) against its floor, measured in the
same run on the same store (moto in-process): an openpyxl read-only pass over the same file plus a batch write
of the same number of items. Budget: ≤ 1.5."""
from __future__ import annotations

import io
import os
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "ap-southeast-1",
                   "CCHC_STAGE": "bench", "CCHC_TABLE_PREFIX": "cchc-bench-", "CCHC_SCRYPT_N": "1024"})
os.environ.pop("AWS_ENDPOINT_URL", None)

from moto import mock_aws  # noqa: E402

BUDGET = 1.5
ROWS = int(os.environ.get("BENCH_ROWS", "5000"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
GROUPS = ["1", "2", "3", "4"]
AGENCIES = ["HĐND tỉnh", "Sở Y tế", "Phòng Kế hoạch, Sở Tài chính", "UBND huyện Bắc Mê"]


def workbook() -> bytes:
    from openpyxl import Workbook

    from builders import HEADER, person

    wb = Workbook()
    ws = wb.active
    ws.title = "Danh sách"
    ws.append(HEADER)
    for i in range(1, ROWS + 1):
        g = i % 4
        ws.append(person(i, group=GROUPS[g], agency=AGENCIES[g]))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def floor(data: bytes, cid: str) -> float:
    from openpyxl import load_workbook

    from chalicelib.store.models import RespondentModel

    start = time.perf_counter()
    wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    rows = list(wb["Danh sách"].iter_rows(min_row=2, values_only=True))
    wb.close()
    now = datetime.now(timezone.utc)
    with RespondentModel.batch_write() as batch:
        for i, row in enumerate(rows):
            batch.save(RespondentModel(unit_key=f"{cid}#floor", sk=f"g#{i:06d}", rid=f"{i:06d}", full_name=row[1],
                                       position=row[2], agency=row[3], group=str(row[4]), email=row[5], phone=row[6],
                                       questionnaires=["locality"], search=row[1], updated_at=now))
    return time.perf_counter() - start


def main() -> None:
    data = workbook()
    with mock_aws():
        from dev.stack import moto_patches

        moto_patches.install()  # as the tests and the local stack: item-level transaction rollback
        from chalicelib.domain.access import Actor
        from chalicelib.runtime import runtime
        from chalicelib.services import campaigns, roster
        from chalicelib.store.bootstrap import ensure_resources

        ensure_resources()
        campaigns.create_from_files("demo", runtime.now(), runtime.random_bytes)
        ministry = Actor("admin", "moha", None)
        ours, floors = [], []
        units = ["01", "02", "04", "06", "08", "10", "11", "12"]
        for run in range(RUNS):
            floors.append(floor(data, f"demo-{run}"))
            start = time.perf_counter()
            report = roster.import_workbook(ministry, "demo", units[run], data, "merge", runtime.now(),
                                            runtime.random_bytes)
            ours.append(time.perf_counter() - start)
            assert report["total"] == ROWS, report
    o, f = statistics.median(ours), statistics.median(floors)
    print(f"import {ROWS} rows: {o:.2f} s; floor (openpyxl read-only pass + batch write): {f:.2f} s "
          f"(median of {RUNS})")
    print(f"BENCH roster_import ratio={o / f:.2f} budget={BUDGET}")


if __name__ == "__main__":
    main()
