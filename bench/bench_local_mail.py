"""Local mail at a realistic pace: `make run` (dev/run_local.py, on free ports with a fresh state folder), a province
imports and sends a roster of 100 people (two forms each), the ministry dispatches the unit, and the clock runs from
the dispatch request until the 200 invitations are .eml files in the outbox. The local SES rate stays the one
setting `make run` and the tests share (CCHC_LOCAL_SES_RATE, 14 a second): 200 mails are ~14 s of sending.
Budget: 30 s.

    .venv/bin/python bench/bench_local_mail.py [--people 100] [--keep DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from builders import person, roster_workbook  # noqa: E402
from dev.stack import child_environment, free_port, wait_for_http  # noqa: E402

BUDGET = 30.0
UNIT = "02"  # Hà Giang: the builders' addresses are @hagiang.gov.vn
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def call(api: str, method: str, path: str, token: str | None = None, body: object = None,
         raw: bytes | None = None, content_type: str = "application/json") -> tuple[int, object]:
    data = json.dumps(body).encode() if body is not None else raw
    headers = {"Accept": "application/json"}
    if data is not None:
        headers["Content-Type"] = content_type
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(api + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


def login(api: str, entry: dict) -> str:
    status, body = call(api, "POST", "/auth/login", body={"username": entry["username"],
                                                           "password": entry["password"]})
    assert status == 200, body
    return body["token"]  # type: ignore[index]


def sent_times(moto_url: str, since: datetime) -> list[float]:
    """Seconds from `since` at which SES accepted each invitation (the mails table's sent_at): sending apart from
    capturing."""
    import boto3

    ddb = boto3.client("dynamodb", endpoint_url=moto_url, region_name="ap-southeast-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    out = []
    for page in ddb.get_paginator("scan").paginate(TableName="cchc-local-mails"):
        for item in page["Items"]:
            if item["kind"]["S"] == "invite":
                at = datetime.fromisoformat(item["sent_at"]["S"].replace("Z", "+00:00").replace("+0000", "+00:00"))
                out.append((at - since).total_seconds())
    return sorted(out)


def cpu_seconds(root_pid: int) -> dict[str, float]:
    """CPU time (user + system) so far of the launcher (moto, mail capture, snapshots) and of each process under it,
    by its command line: where the work goes."""
    ticks = os.sysconf("SC_CLK_TCK")
    parents, out = {}, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmd = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        parents[int(stat.parent.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks, cmd)
    for pid, (_, cpu, cmd) in parents.items():
        ancestor, chain = pid, 0
        while ancestor not in (root_pid, 0, 1) and ancestor in parents and chain < 10:
            ancestor, chain = parents[ancestor][0], chain + 1
        if ancestor != root_pid:
            continue
        words = [w.decode(errors="replace") for w in cmd if w]
        name = ("launcher" if pid == root_pid else " ".join(w.rsplit("/", 1)[-1] for w in words[1:4]))
        out[f"{name} [{pid}]"] = cpu
    return out


def start_launcher(local_dir: Path, log: Path) -> tuple[subprocess.Popen, str, str]:
    ports = {"CCHC_MOTO_PORT": free_port(), "CCHC_API_PORT": free_port(), "CCHC_SITE_PORT": free_port()}
    env = child_environment({k: str(v) for k, v in ports.items()})
    env.update({"CCHC_LOCAL_DIR": str(local_dir), "CCHC_LOCAL_RELOAD": "0"})
    for name in ("AWS_ENDPOINT_URL", "CCHC_LOCAL_SES_RATE"):  # `make run` as a developer starts it
        env.pop(name, None)
    with log.open("wb") as handle:
        proc = subprocess.Popen([sys.executable, str(ROOT / "dev" / "run_local.py")], env=env, cwd=ROOT,
                                stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    api = f"http://127.0.0.1:{ports['CCHC_API_PORT']}"
    moto = f"http://127.0.0.1:{ports['CCHC_MOTO_PORT']}"
    deadline = time.monotonic() + 240
    while "[nền] lịch:" not in log.read_text(errors="replace"):  # the workers have loaded the app
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the local stack did not start:\n{log.read_text(errors='replace')[-4000:]}")
        time.sleep(0.2)
    wait_for_http(api + "/health", timeout=60, proc=proc)
    return proc, api, moto


def stop_launcher(proc: subprocess.Popen) -> None:
    """SIGTERM to the launcher's own process group (it stops its children and saves), by its id."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=100)
    parser.add_argument("--keep", help="use this folder (kept afterwards) instead of a temporary one")
    args = parser.parse_args()
    work = Path(args.keep or tempfile.mkdtemp(prefix="bench-local-mail-"))
    local_dir, log = work / "local", work / "launcher.log"
    if local_dir.exists():
        shutil.rmtree(local_dir)
    work.mkdir(parents=True, exist_ok=True)
    proc, api, moto = start_launcher(local_dir, log)
    try:
        credentials = json.loads((local_dir / "credentials.json").read_text(encoding="utf-8"))
        province = login(api, credentials["units"][UNIT])
        rows = [person(i) for i in range(1, args.people + 1)]  # Sở Nội vụ: the locality's and the ministry's forms
        status, body = call(api, "POST", f"/campaigns/demo/units/{UNIT}/roster/imports?mode=replace", province,
                            raw=roster_workbook(rows), content_type=XLSX)
        assert status == 200, body
        status, body = call(api, "POST", f"/campaigns/demo/units/{UNIT}/roster/submit", province, body={})
        assert status == 200, body
        admin = login(api, credentials["admin"])
        outbox = local_dir / "outbox"
        before = len(list(outbox.glob("*.eml")))
        expected = before + 2 * args.people
        cpu_before = cpu_seconds(proc.pid)
        started, wall = time.monotonic(), datetime.now(timezone.utc)
        status, body = call(api, "POST", "/campaigns/demo/dispatch", admin, body={"units": [UNIT]})
        assert status == 202, body
        arrivals: list[tuple[float, int]] = []
        count = before
        while count < expected:
            if time.monotonic() - started > 10 * BUDGET:
                raise SystemExit(f"only {count - before} of {expected - before} mails after {10 * BUDGET:g} s:\n"
                                 f"{log.read_text(errors='replace')[-4000:]}")
            time.sleep(0.05)
            now = len(list(outbox.glob("*.eml")))
            if now != count:
                count = now
                arrivals.append((time.monotonic() - started, count - before))
        seconds = time.monotonic() - started
        cpu_after = cpu_seconds(proc.pid)
        sent = sent_times(moto, wall)
    finally:
        stop_launcher(proc)
    steps = ", ".join(f"{n}@{t:.1f}s" for t, n in arrivals[:: max(1, len(arrivals) // 12)])
    print(f"mails in the outbox over time: {steps}", file=sys.stderr)
    if sent:
        print(f"SES accepted the first invitation at {sent[0]:.1f} s, the last at {sent[-1]:.1f} s "
              f"({len(sent)} mails)", file=sys.stderr)
    used = {name: cpu - cpu_before.get(name, 0.0) for name, cpu in cpu_after.items()}
    print("CPU seconds during the run: " + ", ".join(f"{name} {cpu:.1f}" for name, cpu in used.items()),
          file=sys.stderr)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    print(f"BENCH local_mail_{args.people} seconds={seconds:.1f} budget={BUDGET:g}")
    return 0 if seconds <= BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
