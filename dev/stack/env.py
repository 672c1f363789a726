"""Ports, processes' environment, loading the chalice app: what every other part of the local stack uses."""
from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Iterable


ROOT = Path(__file__).resolve().parents[2]
DEFAULT_REGION = "ap-southeast-1"
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
# moto writes table exports into this bucket; it is the launcher's, never the app's, so it is not persisted.
EXPORT_BUCKET = "local-stack-snapshot-exports"
SNAPSHOT_FORMAT = 1


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def wait_for_http(url: str, timeout: float = 20.0, proc=None) -> None:
    """Waits until `url` answers any HTTP status; raises if `proc` exits first or time runs out."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError as exc:
            last = exc
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout}s: {last}")


def aws_environment(moto_url: str, region: str = DEFAULT_REGION) -> dict[str, str]:
    """What every process of the local stack needs to talk to moto and never to a real AWS account."""
    return {"AWS_ENDPOINT_URL": moto_url, "AWS_REGION": region, "AWS_DEFAULT_REGION": region,
            "AWS_EC2_METADATA_DISABLED": "true", **FAKE_CREDENTIALS}


def child_environment(extra: dict[str, str]) -> dict[str, str]:
    """os.environ without any real AWS identity, plus `extra`."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")}
    env.setdefault("CCHC_LOG_FORMAT", "text")  # the app's log lines readable on a terminal (JSON on Lambda)
    env.update(extra)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def stage_environment(project_dir: str | Path, stage: str) -> dict[str, str]:
    """The stage's environment variables from .chalice/config.json, merged the way `chalice local` merges them."""
    from chalice.cli.factory import CLIFactory

    config = CLIFactory(str(project_dir), environ={}).create_config_obj(chalice_stage_name=stage)
    return {k: str(v) for k, v in config.environment_variables.items()}


def parse_env_pairs(pairs: Iterable[str]) -> dict[str, str]:
    out = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"--env expects KEY=VALUE, got {pair!r}")
        out[key] = value
    return out


def load_chalice_app(project_dir: str | Path, stage: str, overrides: dict[str, str] | None = None):
    """Imports the project's `app` with the stage's environment applied first (then `overrides`), as
    `chalice local --stage` does. Returns (app, chalice Config)."""
    from chalice.cli.factory import CLIFactory

    project_dir = str(Path(project_dir).resolve())
    factory = CLIFactory(project_dir, environ=os.environ)
    config = factory.create_config_obj(chalice_stage_name=stage)
    os.environ.setdefault("CCHC_LOG_FORMAT", "text")
    os.environ.update({k: str(v) for k, v in config.environment_variables.items()})
    os.environ.update(overrides or {})
    os.chdir(project_dir)
    # environment_variables=None: the environment is already in place, and overrides must win over config.json.
    app = factory.load_chalice_app(environment_variables=None)
    from .clock import install_from_environment

    install_from_environment()  # CCHC_LOCAL_CLOCK_FILE: a clock a driver can move (dev/stack/clock.py)
    return app, config


def install_parent_watchdog(interval: float = 1.0) -> None:
    """Children of the launcher exit when it disappears (even after kill -9), so no orphan keeps a port.
    Only armed when the launcher said so (CCHC_LOCAL_PARENT_PID), never for a command run by hand."""
    expected = os.environ.get("CCHC_LOCAL_PARENT_PID")
    if not expected or not expected.isdigit():
        return

    def watch() -> None:
        while True:
            if os.getppid() != int(expected):
                os._exit(0)
            time.sleep(interval)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def quiet_logging() -> None:
    """Lambda-like logging (the app's log lines on stdout) without the SDKs' per-call chatter."""
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")
    for name in ("botocore", "boto3", "urllib3", "pynamodb"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _boto_client(service: str, endpoint_url: str, region: str = DEFAULT_REGION):
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        service, endpoint_url=endpoint_url, region_name=region,
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        config=Config(retries={"max_attempts": 5, "mode": "standard"}, max_pool_connections=16,
                      s3={"addressing_style": "path"}))


