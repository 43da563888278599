"""Action runs through the Port stand-in, as a Port user would trigger them, for
the end-to-end tests, `make demo` and the benchmark's burst of runs.

`ACTIONS_ENV` turns on Ocean's actions processor for an always-on `ocean sail`
(polling Port every second, so a run starts within about a second).
"""

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

ACTIONS_ENV = {
    "OCEAN__ACTIONS_PROCESSOR__ENABLED": "true",
    "OCEAN__ACTIONS_PROCESSOR__POLL_CHECK_INTERVAL_SECONDS": "1",
}
BOUND_LOG_LINE = "Bound the shipped Port actions"
TERMINAL = ("SUCCESS", "FAILURE")


@dataclass
class RunView:
    """A run as the stand-in shows it (`GET /_standin/runs/{id}`)."""

    view: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.view["run"]["id"])

    @property
    def status(self) -> str:
        return str(self.view["status"])

    @property
    def messages(self) -> list[str]:
        return [str(log["message"]) for log in self.view["logs"]]

    @property
    def log(self) -> str:
        return "\n".join(self.messages)

    def ended_at(self) -> datetime | None:
        for change in self.view["statusHistory"]:
            if change["status"] in TERMINAL:
                return datetime.fromisoformat(change["at"].replace("Z", "+00:00"))
        return None


def enqueue(
    port_url: str,
    action: str,
    properties: dict[str, Any],
    user_email: str | None = None,
) -> str:
    body: dict[str, Any] = {"action": action, "properties": properties}
    if user_email:
        body["userEmail"] = user_email
    response = httpx.post(f"{port_url}/_standin/runs", json=body, timeout=30)
    response.raise_for_status()
    return str(response.json()["id"])


def view(port_url: str, run_id: str) -> RunView:
    response = httpx.get(f"{port_url}/_standin/runs/{run_id}", timeout=30)
    response.raise_for_status()
    return RunView(response.json())


def wait_until(
    condition: Callable[[], bool], timeout: float, what: str, every: float = 0.1
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(every)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


def wait_for_runs(
    port_url: str, run_ids: Iterable[str], timeout: float = 60
) -> list[RunView]:
    """Each run, once it has ended (in the order given)."""
    ids = list(run_ids)
    ended: dict[str, RunView] = {}

    def all_ended() -> bool:
        for run_id in ids:
            if run_id not in ended:
                current = view(port_url, run_id)
                if current.status not in TERMINAL:
                    return False
                ended[run_id] = current
        return True

    wait_until(all_ended, timeout, f"{len(ids)} action run(s) to end", every=0.2)
    return [ended[run_id] for run_id in ids]


def run_action(
    port_url: str,
    action: str,
    properties: dict[str, Any],
    timeout: float = 60,
) -> RunView:
    (ended,) = wait_for_runs(port_url, [enqueue(port_url, action, properties)], timeout)
    return ended


def wait_for_bound_actions(log_path: Path, timeout: float = 120) -> None:
    """Until the integration has pointed the shipped Port actions at itself."""
    wait_until(
        lambda: log_path.exists()
        and BOUND_LOG_LINE in log_path.read_text(errors="replace"),
        timeout,
        "the shipped Port actions to be bound to the installation",
        every=0.3,
    )
