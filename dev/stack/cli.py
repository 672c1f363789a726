"""Command line: `python -m dev.stack workers|moto|snapshot|restore`."""
from __future__ import annotations

import argparse
import os
import signal
import threading

from .env import DEFAULT_REGION, ROOT, install_parent_watchdog, parse_env_pairs
from .motoserver import MotoServer, RequestCounter
from .persistence import restore, snapshot
from .workers import run_workers



def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dev.stack", description="Local stack pieces")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("workers", help="scheduled handlers on a timer + SQS queue handlers")
    p.add_argument("--project-dir", default=str(ROOT))
    p.add_argument("--stage", default="local")
    p.add_argument("--schedule-seconds", type=float,
                   default=float(os.environ.get("CCHC_LOCAL_SCHEDULE_SECONDS", "60")))
    p.add_argument("--env", action="append", default=[], help="KEY=VALUE applied after the stage's variables")
    p.add_argument("--only", metavar="HANDLER", help="just one consumer of this SQS handler (no schedules)")
    p.add_argument("--max-consumers", type=int, help="at most this many consumers per SQS handler "
                   "(default: its maximum_concurrency)")
    p = sub.add_parser("moto", help="a moto server in its own process (starts empty)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5055)
    for name in ("snapshot", "restore"):
        p = sub.add_parser(name, help=f"{name} tables and buckets of a running moto")
        p.add_argument("directory")
        p.add_argument("--endpoint-url", default=os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:5055"))
        p.add_argument("--region", default=os.environ.get("AWS_REGION", DEFAULT_REGION))
    args = parser.parse_args(argv)

    if args.command == "workers":
        install_parent_watchdog()
        return run_workers(args.project_dir, args.stage, args.schedule_seconds, parse_env_pairs(args.env),
                           only=args.only, max_consumers=args.max_consumers)
    if args.command == "moto":
        install_parent_watchdog()
        counter = RequestCounter() if os.environ.get("CCHC_MOTO_REQUEST_COUNTS") == "1" else None
        server = MotoServer(args.host, args.port, counter=counter).start()
        print(f"moto on {server.url}", flush=True)
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        stop.wait()
        server.stop()
        return 0
    if args.command == "snapshot":
        result = snapshot(args.directory, args.endpoint_url, args.region)
        print(f"{result.path}: {result.tables} tables, {result.items} items, {result.objects} objects, "
              f"{result.seconds:.2f}s")
        return 0
    if args.command == "restore":
        print(restore(args.directory, args.endpoint_url, args.region))
        return 0
    return 2


