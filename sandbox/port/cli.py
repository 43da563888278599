"""``python -m sandbox.port``: serve the stand-in on a local port."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import socket
import sys
from pathlib import Path
from types import FrameType

import uvicorn

from sandbox.port.app import create_app
from sandbox.port.common import DEFAULT_BAD_CREDENTIALS
from sandbox.port.state import PortState


def _write_atomic(path: str, text: str) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.replace(target)


class _QuietExitServer(uvicorn.Server):
    """Stops on SIGTERM/SIGINT without re-raising the signal afterwards,
    so the catalog dump still runs and the process exits 0."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True
        self.should_exit = True


async def serve(
    state: PortState,
    host: str,
    port: int,
    ready_file: str | None,
    dump: str | None,
) -> None:
    app = create_app(state)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = _QuietExitServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            await task
            return
        await asyncio.sleep(0.02)
    url = f"http://{host}:{bound_port}"
    if ready_file:
        _write_atomic(ready_file, url + "\n")
    print(f"READY {url}", flush=True)
    try:
        await task
    finally:
        if dump:
            _write_atomic(dump, json.dumps(state.catalog(), indent=2, sort_keys=True))
            print(f"DUMPED {dump}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.port", description="Local stand-in for Port's REST API"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--ready-file", help="write the base URL here once listening")
    parser.add_argument("--dump", help="write the catalog JSON here on shutdown")
    parser.add_argument(
        "--strict", action="store_true", help="reject schema mismatches (422) like Port"
    )
    parser.add_argument(
        "--feature-flag",
        action="append",
        default=[],
        help="organization feature flag (repeatable)",
    )
    parser.add_argument("--bad-client-id", default=DEFAULT_BAD_CREDENTIALS[0])
    parser.add_argument("--bad-client-secret", default=DEFAULT_BAD_CREDENTIALS[1])
    parser.add_argument(
        "--before-filter-field",
        default="updatedAt",
        help="timestamp compared with the reconciliation search's 'before' "
        "(updatedAt | createdAt | '' to ignore it)",
    )
    parser.add_argument(
        "--seed", help="JSON file loaded via the same logic as POST /_standin/seed"
    )
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s port-standin: %(message)s",
    )
    state = PortState(
        strict=args.strict,
        feature_flags=list(args.feature_flag),
        bad_credentials=(args.bad_client_id, args.bad_client_secret),
        before_filter_field=args.before_filter_field,
    )
    if args.seed:
        state.seed(json.loads(Path(args.seed).read_text()))
    asyncio.run(serve(state, args.host, args.port, args.ready_file, args.dump))
    return 0
