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


# Run in a child process with the stack's environment: the queue handlers of the app, fed from moto's SQS the way
# the launcher's workers feed them (dev/stack/workers.py QueueRunner), without the scheduled handlers (whose notifications
# other tests would see). Stops once the queues have stayed empty for a moment after handling something.
_DRAIN = """
import os, sys, time
sys.path.insert(0, os.path.join(sys.argv[1], "tests"))
import speedups
sys.path.pop(0)
speedups.share_botocore_loader()
from dev.stack import QueueRunner, load_chalice_app, sqs_sources
overrides = {k: v for k, v in os.environ.items() if k.startswith("CCHC_")}
app, config = load_chalice_app(sys.argv[1], "local", overrides)
endpoint, region = os.environ["AWS_ENDPOINT_URL"], os.environ["AWS_REGION"]
runners = [QueueRunner(app, source, endpoint, config, region) for source in sqs_sources(app)]
deadline, handled, idle = time.monotonic() + float(sys.argv[2]), 0, 0
while time.monotonic() < deadline and (idle < 3 or not handled):
    done = sum(r.run_once(wait_seconds=0) for r in runners)
    handled, idle = handled + done, 0 if done else idle + 1
    if not done:
        time.sleep(0.3)
print(handled)
"""


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


@dataclass
class Stack:
    site_url: str
    api_url: str
    credentials: dict
    moto_url: str = ""
    env: dict = field(default_factory=dict, repr=False)
    outbox: Path | None = None  # the folder the site's /outbox/ page shows

    def login_of(self, who: str) -> tuple[str, str]:
        entry = self.credentials["admin"] if who == "admin" else self.credentials["units"][who]
        return entry["username"], entry["password"]

    def drain_queues(self, timeout: float = 60.0) -> int:
        """Deliver the waiting SQS messages (dispatch jobs, then their mails) to the app's handlers; returns how
        many were handled."""
        done = subprocess.run([sys.executable, "-c", _DRAIN, str(ROOT), str(timeout)], env=self.env, cwd=ROOT,
                              capture_output=True, timeout=timeout + 60)
        assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
        return int(done.stdout.decode().strip().splitlines()[-1])

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

    procs: list[subprocess.Popen] = []
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
        yield Stack(site.url, api_url, json.loads(credentials.read_text(encoding="utf-8")), moto_url, env,
                    tmp / "outbox")
    finally:
        site.stop()
        for proc in reversed(procs):
            _stop(proc)
