"""The record of contract violations: what was refused or answered out of contract.

Each violation names the operation (operationId, method, path template), the
direction (request or response) and the offending field. They are listed at
``GET /_sim/contract/violations``; with ``violations_file`` set (or the
``PAGERDUTY_SIM_VIOLATIONS_DIR`` environment variable for a process), each is
also appended as a JSON line, so a test harness can read them after the
simulator has stopped.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from sandbox.pagerduty.store import JsonDict

VIOLATIONS_DIR_ENV = "PAGERDUTY_SIM_VIOLATIONS_DIR"


@dataclass(frozen=True)
class Violation:
    direction: str  # "request" or "response"
    operation_id: str | None
    method: str
    path: str  # the operation's template, or the requested path when unknown
    url_path: str
    field: str
    message: str
    status: int
    at: float

    def describe(self) -> str:
        operation = self.operation_id or "(no such operation)"
        return (
            f"{self.direction} of {operation} ({self.method} {self.path}): "
            f"{self.field}: {self.message}"
        )


class ViolationLog:
    def __init__(self, file: Path | None = None) -> None:
        self.items: list[Violation] = []
        self.file = file

    def add(self, violation: Violation) -> None:
        self.items.append(violation)
        if self.file is not None:
            with self.file.open("a", encoding="utf-8") as out:
                out.write(json.dumps(asdict(violation)) + "\n")

    def reset(self) -> int:
        count = len(self.items)
        self.items = []
        return count

    def snapshot(self) -> JsonDict:
        return {
            "count": len(self.items),
            "violations": [
                {**asdict(item), "description": item.describe()} for item in self.items
            ],
        }


def file_from_environment(port: int) -> Path | None:
    """Where a simulator process appends its violations, if the harness asked."""
    directory = os.environ.get(VIOLATIONS_DIR_ENV)
    if not directory:
        return None
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    return path / f"pagerduty-sim-{os.getpid()}-{port}.jsonl"


def now() -> float:
    return time.time()
