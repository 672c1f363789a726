"""Deployment package size: what Lambda unpacks for every function, against its 50 MB budget.

Lambda's hard limit is 250 MB unzipped; the budget is a fifth of that because what is unpacked is also what a cold
start reads. Builds the dev stage's package with `make package STAGE=dev` (needs PyPI, not AWS), then measures
out/dev/deployment.zip: its size, the unzipped size, and the largest top-level entries."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGET_MB = 50.0
ZIP = ROOT / "out" / "dev" / "deployment.zip"


def main() -> None:
    built = subprocess.run(["make", "--no-print-directory", "package", "STAGE=dev"], cwd=ROOT, capture_output=True,
                           text=True)
    if built.returncode != 0:
        sys.exit(built.stdout + built.stderr)
    with zipfile.ZipFile(ZIP) as archive:
        infos = archive.infolist()
    unzipped = sum(i.file_size for i in infos)
    by_top = Counter()
    for info in infos:
        by_top[info.filename.split("/", 1)[0]] += info.file_size
    mb = 1_000_000
    print(f"deployment.zip: {ZIP.stat().st_size / mb:.1f} MB zipped, {unzipped / mb:.1f} MB unzipped, "
          f"{len(infos)} files")
    print("largest: " + ", ".join(f"{name} {size / mb:.1f} MB" for name, size in by_top.most_common(5)))
    print(f"BENCH package_size ratio={unzipped / mb / BUDGET_MB:.2f} budget=1.0")


if __name__ == "__main__":
    main()
