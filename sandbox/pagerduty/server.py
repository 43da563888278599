"""Serving the simulator with uvicorn, in-process or as its own process."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace

import uvicorn
from starlette.applications import Starlette

from sandbox.pagerduty.app import create_app
from sandbox.pagerduty.config import SimConfig
from sandbox.pagerduty.state import PagerDutySim


def bind_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


@dataclass
class RunningSim:
    base_url: str
    app: Starlette
    server: uvicorn.Server
    task: asyncio.Task[None]

    @property
    def sim(self) -> PagerDutySim:
        sim: PagerDutySim = self.app.state.sim
        return sim


async def start_server(config: SimConfig, host: str, port: int) -> RunningSim:
    sock = bind_socket(host, port)
    base_url = f"http://{host}:{sock.getsockname()[1]}"
    app = create_app(replace(config, base_url=base_url))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("uvicorn stopped before it started")
        await asyncio.sleep(0.01)
    return RunningSim(base_url, app, server, task)


@asynccontextmanager
async def serve_in_background(
    config: SimConfig, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[RunningSim]:
    """Run the simulator with uvicorn inside the current event loop."""
    running = await start_server(config, host, port)
    try:
        yield running
    finally:
        running.server.should_exit = True
        await running.task
