"""The whole local stack on free ports in a temporary directory, for tests that drive it from outside
(browser tests, the spec fuzzer, load and fault suites).

The stack is assembled from the launcher's own pieces (dev/stack/, dev/serve_api.py):
- moto in its own process (`python -m dev.stack moto`, with tests/speedups.py's cheaper moto), so its state never
  mixes with the in-process `mock_aws` of the API tests that may run in the same pytest session;
- the tables and the seed (campaigns 2021 and demo, every account) through `python -m chalicelib.cli`;
- the API on chalice's local server (`dev/serve_api.py`), the site with its generated /config.js (SiteServer).
Every process is started in its own session and stopped by its id when the caller is done.
"""
from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dev.stack import (DEFAULT_REGION, DataJsonMailSource, OutboxWriter, SiteServer,  # noqa: E402
                       aws_environment, child_environment, free_port, stage_environment, wait_for_http)


# A child process with the stack's environment that runs the app's queue handlers, fed from moto's SQS the way the
# launcher's workers feed them (dev/stack/workers.py QueueRunner), without the scheduled handlers (whose
# notifications other tests would see). It starts at the first drain and is kept, like a warm Lambda environment: each
# line on its stdin (a timeout in seconds) asks for one drain, which stops once the queues have stayed empty for a
# moment after handling something, and is answered with the number of messages handled.
_DRAINER = """
import os, sys, time
answers = os.fdopen(os.dup(1), "w")  # the answers' own channel: whatever the app prints goes to the log
os.dup2(2, 1)
sys.path.insert(0, os.path.join(sys.argv[1], "tests"))
import speedups
sys.path.pop(0)
speedups.share_botocore_loader()
from dev.stack import QueueRunner, load_chalice_app, sqs_sources
overrides = {k: v for k, v in os.environ.items() if k.startswith("CCHC_")}
app, config = load_chalice_app(sys.argv[1], "local", overrides)
endpoint, region = os.environ["AWS_ENDPOINT_URL"], os.environ["AWS_REGION"]
runners = [QueueRunner(app, source, endpoint, config, region, report=lambda m: print(m, file=sys.stderr))
           for source in sqs_sources(app)]
print("ready", file=answers, flush=True)
for line in sys.stdin:
    deadline, handled, idle = time.monotonic() + float(line), 0, 0
    while time.monotonic() < deadline and (idle < 3 or not handled):
        done = sum(r.run_once(wait_seconds=0) for r in runners)
        handled, idle = handled + done, 0 if done else idle + 1
        if not done:
            time.sleep(0.3)
    print(handled, file=answers, flush=True)
"""


class Drainer:
    """The _DRAINER process of a stack, started on first use and kept until the stack stops."""

    def __init__(self, env: dict, log: Path):
        self.env, self.log = env, log
        self.proc: subprocess.Popen | None = None

    def _answer(self, timeout: float) -> str:
        assert self.proc is not None and self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline().decode() if ready else ""
        if not line:
            raise AssertionError(f"the queue drainer did not answer within {timeout:.0f}s\n{_tail(self.log)}")
        return line.strip()

    def drain(self, timeout: float) -> int:
        if self.proc is None or self.proc.poll() is not None:
            with self.log.open("ab") as handle:
                self.proc = subprocess.Popen([sys.executable, "-c", _DRAINER, str(ROOT)], env=self.env, cwd=ROOT,
                                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=handle,
                                             start_new_session=True)
            assert self._answer(120) == "ready"
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{timeout}\n".encode())
        self.proc.stdin.flush()
        return int(self._answer(timeout + 60))

    def stop(self) -> None:
        if self.proc is not None and self.proc.stdin is not None:
            self.proc.stdin.close()  # the loop ends at end of input
        _stop(self.proc)


_BOOTSTRAP_AND_SEED = """
import sys
sys.path.insert(0, "tests")
import speedups
sys.path.pop(0)
speedups.share_botocore_loader()
from chalicelib.cli import main
main(["bootstrap"])
main(["seed", "--credentials", sys.argv[1], "--workbook", sys.argv[2]])
"""

# `python -m dev.stack moto …` with the tests' cheaper moto (tests/speedups.py).
_MOTO = """
import sys
sys.path.insert(0, "tests")
import speedups
sys.path.pop(0)
speedups.install_moto()
from dev.stack.cli import main
sys.exit(main(sys.argv[1:]))
"""


# A sitecustomize that every Python process started with its folder on PYTHONPATH runs first: all the botocore
# sessions of the process share one loader of the SDK's JSON models (tests/speedups.py, 1: the same answers). The
# stack's API server otherwise parses the DynamoDB model again for each PynamoDB model class its first requests use,
# after every start (the fault suite kills and restarts it).
_SHARED_LOADER = f"""
import sys
sys.path.insert(0, {str(ROOT / "tests")!r})
import speedups
sys.path.pop(0)
speedups.share_botocore_loader()
"""


def with_shared_loader(env: dict, folder: Path) -> dict:
    """`env` with a folder holding that sitecustomize (made in `folder`) first on its PYTHONPATH."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(_SHARED_LOADER, encoding="utf-8")
    return {**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(folder), env.get("PYTHONPATH")]))}


@dataclass
class Stack:
    site_url: str
    api_url: str
    credentials: dict
    moto_url: str = ""
    env: dict = field(default_factory=dict, repr=False)
    outbox: Path | None = None  # the folder the site's /outbox/ page shows
    drainer: "Drainer | None" = field(default=None, repr=False)

    def login_of(self, who: str) -> tuple[str, str]:
        entry = self.credentials["admin"] if who == "admin" else self.credentials["units"][who]
        return entry["username"], entry["password"]

    def drain_queues(self, timeout: float = 60.0) -> int:
        """Deliver the waiting SQS messages (dispatch jobs, then their mails) to the app's handlers; returns how
        many were handled."""
        assert self.drainer is not None
        return self.drainer.drain(timeout)

    def collect_mail(self) -> list[Path]:
        """The outbox writer's job, done once: every mail moto's SES accepted since the last call becomes an .eml
        in the outbox (shown at /outbox/ on the site). Returns the new files."""
        return OutboxWriter(self.outbox, DataJsonMailSource(self.moto_url)).poll_once()


def _start(argv: list[str], env: dict, log: Path) -> subprocess.Popen:
    handle = log.open("wb")
    try:
        return subprocess.Popen(argv, env=env, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    finally:
        handle.close()


def _stop(proc: subprocess.Popen | None) -> None:
    """SIGTERM to the process group this fixture created (by its id), SIGKILL if it lingers."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
    except ProcessLookupError:
        pass


def _tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-chars:]
    except OSError:
        return ""


@contextlib.contextmanager
def running_stack(tmp: Path, table_prefix: str, **extra_env: str):
    """Start moto, seed it, start the API and the site; yield a Stack; stop everything on exit."""
    moto_port, api_port = free_port(), free_port()
    moto_url, api_url = f"http://127.0.0.1:{moto_port}", f"http://127.0.0.1:{api_port}"
    site = SiteServer(ROOT / "site", tmp / "outbox", api_url, "127.0.0.1", 0, upload_url=moto_url).start()
    overrides = {"CCHC_STAGE": "test", "CCHC_TABLE_PREFIX": table_prefix, "CCHC_SCRYPT_N": "1024",
                 "CCHC_SITE_URL": site.url, "CCHC_MAIL_MODE": "ses", **extra_env}
    env = child_environment({})
    env.update(stage_environment(ROOT, "local"))
    env.update(overrides)
    env.update(aws_environment(moto_url, DEFAULT_REGION))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env = with_shared_loader(env, tmp / "site-python")

    procs: list[subprocess.Popen] = []
    drainer: Drainer | None = None
    try:
        moto = _start([sys.executable, "-c", _MOTO, "moto", "--port", str(moto_port)], env, tmp / "moto.log")
        procs.append(moto)
        # The API starts while the data is being seeded: it touches AWS only when a request comes.
        api = _start([sys.executable, str(ROOT / "dev" / "serve_api.py"), "--host", "127.0.0.1",
                      "--port", str(api_port), "--stage", "local", "--project-dir", str(ROOT),
                      *[a for k, v in overrides.items() for a in ("--env", f"{k}={v}")]], env, tmp / "api.log")
        procs.append(api)
        wait_for_http(moto_url + "/moto-api/", timeout=30, proc=moto)
        credentials = tmp / "credentials.json"
        # `python -m chalicelib.cli bootstrap`, then `… seed`, in one interpreter (one start-up, not two).
        done = subprocess.run([sys.executable, "-c", _BOOTSTRAP_AND_SEED, str(credentials), str(tmp / "c.xlsx")],
                              env=env, cwd=ROOT, capture_output=True, timeout=120)
        assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
        try:
            wait_for_http(api_url + "/health", timeout=30, proc=api)
        except (RuntimeError, TimeoutError) as exc:
            raise AssertionError(f"{exc}\n{_tail(tmp / 'api.log')}") from None
        drainer = Drainer(env, tmp / "drainer.log")
        yield Stack(site.url, api_url, json.loads(credentials.read_text(encoding="utf-8")), moto_url, env,
                    tmp / "outbox", drainer)
    finally:
        if drainer is not None:
            drainer.stop()
        site.stop()
        for proc in reversed(procs):
            _stop(proc)
