"""The API on chalice's own local server, as `chalice local --stage <stage>` runs it, except that the Lambda
event's requestContext.identity.sourceIp is the real peer address of the connection instead of chalice's
hard-coded 127.0.0.1 (the integrity and login-throttling rules key on it). X-Forwarded-For is never read:
nothing sits in front of this server locally, so any such header comes from the client itself.

    python dev/serve_api.py --host 127.0.0.1 --port 8000 --stage local [--project-dir DIR] [--env KEY=VALUE ...]

The stage's environment variables come from <project>/.chalice/config.json; --env values are applied after
them (the launcher uses this for values that depend on the chosen ports, like CCHC_SITE_URL).
"""
from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

# Appended, not prepended: the project's own directory (inserted first by chalice) must win for `app`.
sys.path.append(str(Path(__file__).resolve().parent.parent))

from dev.stack import install_parent_watchdog, load_chalice_app, parse_env_pairs, quiet_logging  # noqa: E402


def create_server(project_dir: str, stage: str, host: str, port: int, overrides: dict[str, str] | None = None):
    from chalice.cli import validate_routes
    from chalice.local import (ChaliceRequestHandler, CustomLocalChalice, LocalChalice, LocalDevServer,
                               ThreadedHTTPServer)

    class PeerAddressRequestHandler(ChaliceRequestHandler):
        """ChaliceRequestHandler whose gateway reports the connection's peer as the event's sourceIp, and whose
        answers leave at once: chalice writes the headers and then the body in two sends, and with Nagle's algorithm
        on, the body waits for the client's delayed ACK of the headers (about 40 ms on Linux) on every request of a
        kept-alive connection (a browser's, the SDK's, a requests.Session)."""

        disable_nagle_algorithm = True

        def setup(self) -> None:
            super().setup()
            # ChaliceRequestHandler.__init__ built a LocalGateway for this connection before the request is
            # handled; the converter's class-level LOCAL_SOURCE_IP is shadowed on this instance only.
            self.local_gateway.event_converter.LOCAL_SOURCE_IP = self.client_address[0]

    class BurstServer(ThreadedHTTPServer):
        """chalice's thread-per-connection server with a listen backlog for bursts: with its default of 5, a few
        dozen clients connecting at once get their connections reset (tests/reliability/test_load_loopback.py)."""

        request_queue_size = 128

    app, config = load_chalice_app(project_dir, stage, overrides)
    validate_routes(app.routes)
    # What chalice.local.create_local_server does, so current_request is per thread.
    CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
    app.__class__ = CustomLocalChalice
    return LocalDevServer(app, config, host, port, handler_cls=PeerAddressRequestHandler, server_cls=BurstServer)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="chalice local, with the real peer address as sourceIp")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--stage", default="local")
    parser.add_argument("--project-dir", default=str(Path(__file__).resolve().parent.parent))
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE applied after the stage's variables")
    args = parser.parse_args(argv)
    # Like `chalice local`, the app's log lines go to stdout (the SDKs' per-call INFO lines are dropped).
    quiet_logging()
    install_parent_watchdog()
    server = create_server(args.project_dir, args.stage, args.host, args.port, parse_env_pairs(args.env))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
