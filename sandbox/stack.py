"""Runs the real integration (`ocean sail`) against the sandbox servers.

Shared by `make demo`, the end-to-end tests and the benchmark: it starts the
PagerDuty simulator and the Port stand-in as their own processes on loopback,
then the integration as a third, and cleans all of them up.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SANDBOX_TOKEN = "sandbox-token"
INTEGRATION_ID = "pagerduty-sandbox"
OUTPUT_TAIL = 20000


# What every request to PagerDuty's API must carry (the contract-checked
# simulator refuses a request without the headers an operation requires).
PAGERDUTY_ACCEPT = "application/vnd.pagerduty+json;version=2"


def pagerduty_headers(token: str = SANDBOX_TOKEN) -> dict[str, str]:
    return {
        "Authorization": f"Token token={token}",
        "Accept": PAGERDUTY_ACCEPT,
        "Content-Type": "application/json",
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def get(self, path: str) -> Any:
        return httpx.get(f"{self.url}{path}", timeout=30).json()

    def post(self, path: str, body: Any = None) -> Any:
        return httpx.post(f"{self.url}{path}", json=body, timeout=30).json()

    def delete(self, path: str) -> int:
        return httpx.delete(f"{self.url}{path}", timeout=30).status_code

    def stop(self) -> None:
        stop_process(self.process)


def stop_process(process: subprocess.Popen[bytes], grace: float = 10) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def start_server(name: str, module: str, args: Sequence[str], workdir: Path) -> Server:
    ready_file = workdir / f"{name}.ready"
    log_path = workdir / f"{name}.log"
    command = [sys.executable, "-m", module, "--host", "127.0.0.1", "--port", "0"]
    command += ["--ready-file", str(ready_file), *args]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=log)
    deadline = time.monotonic() + 60
    while not ready_file.exists() or not ready_file.read_text().strip():
        if process.poll() is not None or time.monotonic() > deadline:
            stop_process(process)
            raise RuntimeError(f"{name} did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.05)
    return Server(name, process, ready_file.read_text().strip(), log_path)


@dataclass
class SimSettings:
    services: int = 20
    incidents: int = 200
    seed: int = 1
    teams: int = 4
    users: int = 30
    rate_limit_per_minute: int = 960
    latency_ms: int = 0
    fault_rate: float = 0.0
    extra_args: list[str] = field(default_factory=list)

    def args(self) -> list[str]:
        return [
            *("--services", str(self.services), "--incidents", str(self.incidents)),
            *("--seed", str(self.seed), "--teams", str(self.teams)),
            *("--users", str(self.users), "--token", SANDBOX_TOKEN),
            *("--rate-limit-per-minute", str(self.rate_limit_per_minute)),
            *(
                "--latency-ms",
                str(self.latency_ms),
                "--fault-rate",
                str(self.fault_rate),
            ),
            *self.extra_args,
        ]


@dataclass
class Run:
    exit_code: int
    output: str
    seconds: float


@dataclass
class Stack:
    pagerduty: Server
    port: Server
    workdir: Path

    def integration_env(
        self, listener: str = "ONCE", overrides: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("OCEAN__", "APPLICATION__"))
        }
        env.update(
            {
                "OCEAN__PORT__BASE_URL": self.port.url,
                "OCEAN__PORT__CLIENT_ID": "sandbox-client",
                "OCEAN__PORT__CLIENT_SECRET": "sandbox-secret",
                "OCEAN__INTEGRATION__IDENTIFIER": INTEGRATION_ID,
                "OCEAN__INTEGRATION__TYPE": "pagerduty",
                "OCEAN__INTEGRATION__CONFIG__TOKEN": SANDBOX_TOKEN,
                "OCEAN__INTEGRATION__CONFIG__API_URL": self.pagerduty.url,
                "OCEAN__EVENT_LISTENER": json.dumps({"type": listener}),
                "OCEAN__INITIALIZE_PORT_RESOURCES": "true",
                "OCEAN__CACHING_STORAGE_MODE": "memory",
                "OCEAN__PROCESSING_MODE": "ocean-core",
                "OCEAN__LAKEHOUSE_ENABLED": "false",
                "APPLICATION__PORT": str(free_port()),
                "APPLICATION__LOG_LEVEL": "INFO",
            }
        )
        env.update(overrides or {})
        return env

    def start_integration(
        self,
        listener: str = "POLLING",
        overrides: Mapping[str, str] | None = None,
        log_name: str = "ocean.log",
    ) -> subprocess.Popen[bytes]:
        """An always-on `ocean sail`; its output goes to `workdir/log_name`."""
        log = (self.workdir / log_name).open("ab")
        return subprocess.Popen(
            [str(BIN / "ocean"), "sail", str(ROOT)],
            cwd=ROOT,
            env=self.integration_env(listener, overrides),
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def run_once(
        self,
        overrides: Mapping[str, str] | None = None,
        timeout: float = 300,
        *,
        app_path: Path | None = None,
        log_path: Path | None = None,
        on_spawn: Callable[[subprocess.Popen[bytes]], None] | None = None,
    ) -> Run:
        """One `ocean sail` with the ONCE listener, timed from spawn to exit.

        `app_path` runs another integration directory (working directory stays
        ROOT, so Ocean reads ROOT's pyproject.toml); `log_path` sends the output
        to that file instead of memory (`Run.output` then holds its last
        OUTPUT_TAIL characters); `on_spawn` is called with the process right
        after it starts (e.g. to sample its memory).
        """
        command = [str(BIN / "ocean"), "sail", str(app_path or ROOT)]
        env = self.integration_env("ONCE", overrides)
        log = log_path.open("wb") if log_path else None
        started = time.monotonic()
        try:
            process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdout=log or subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            if on_spawn:
                on_spawn(process)
            try:
                output, _ = process.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                stop_process(process)
                output, _ = process.communicate()
            seconds = time.monotonic() - started
        finally:
            if log:
                log.close()
        if log_path:
            output = log_path.read_bytes()[-OUTPUT_TAIL:]
        return Run(
            process.returncode, (output or b"").decode(errors="replace"), seconds
        )

    def catalog(self) -> dict[str, dict[str, Any]]:
        entities: dict[str, dict[str, Any]] = self.port.get("/_standin/catalog")[
            "entities"
        ]
        return entities

    def resync_status(self) -> str | None:
        integration = self.port.get(f"/_standin/integration/{INTEGRATION_ID}")
        state = integration.get("resyncState") or {}
        status = state.get("status")
        return str(status) if status else None

    def api_calls(self) -> dict[str, Any]:
        counters: dict[str, Any] = self.pagerduty.get("/_sim/counters")
        return counters


@contextmanager
def sandbox_stack(settings: SimSettings | None = None) -> Iterator[Stack]:
    settings = settings or SimSettings()
    with tempfile.TemporaryDirectory(prefix="pd-sandbox-") as tmp:
        workdir = Path(tmp)
        servers: list[Server] = []
        try:
            servers.append(
                start_server("pagerduty", "sandbox.pagerduty", settings.args(), workdir)
            )
            servers.append(start_server("port", "sandbox.port", [], workdir))
            yield Stack(servers[0], servers[1], workdir)
        finally:
            for server in servers:
                server.stop()
