"""Cold start: the import of `app` against a bare Chalice + PynamoDB + boto3 app, measured in the same run.

Uses `python -X importtime` (cumulative microseconds of the top-level module), median of several fresh
interpreter runs each, interleaved so machine noise hits both sides alike. Budget: ≤ 1.3."""
from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGET = 1.3
RUNS = int(os.environ.get("BENCH_RUNS", "21"))  # medians of 9 moved by ±0.2 from run to run

BARE = """
from chalice import Chalice, Rate
import boto3
from pynamodb.models import Model
from pynamodb.attributes import UnicodeAttribute, NumberAttribute, JSONAttribute, MapAttribute
from pynamodb.indexes import GlobalSecondaryIndex, AllProjection

app = Chalice(app_name="bare")


class Item(Model):
    class Meta:
        table_name = "bare"
        region = "ap-southeast-1"
    pk = UnicodeAttribute(hash_key=True)


@app.route("/")
def index():
    return {"ok": True}
"""


def import_us(module: str, cwd: Path) -> int:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "0", "AWS_DEFAULT_REGION": "ap-southeast-1"}
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"], cwd=cwd, env=env,
                         capture_output=True, text=True, check=True).stderr
    for line in reversed(out.splitlines()):
        match = re.match(rf"import time:\s+\d+ \|\s+(\d+) \|\s*{module}$", line)
        if match:
            return int(match.group(1))
    raise RuntimeError(f"no import time for {module}")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        bare_dir = Path(tmp)
        (bare_dir / "bare_app.py").write_text(BARE)
        import_us("bare_app", bare_dir), import_us("app", ROOT)  # warm the .pyc caches
        ours, bare = [], []
        for _ in range(RUNS):
            ours.append(import_us("app", ROOT))
            bare.append(import_us("bare_app", bare_dir))
    o, b = statistics.median(ours), statistics.median(bare)
    print(f"import app: {o / 1000:.1f} ms, bare Chalice+PynamoDB+boto3 app: {b / 1000:.1f} ms (median of {RUNS})")
    print(f"BENCH cold_start ratio={o / b:.2f} budget={BUDGET}")


if __name__ == "__main__":
    main()
