"""What writes leave behind that the generated data does not hold: the record of
every accepted or refused write a handler saw (with its ``From`` actor), and the
notes added to incidents.

``GET /_sim/writes`` lists the records, oldest first; tests use it to check that
the integration called the right operation with the right actor.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from functools import wraps
from typing import Protocol

from starlette.requests import Request
from starlette.responses import Response

from sandbox.pagerduty.errors import ApiError, json_response
from sandbox.pagerduty.store import JsonDict

WRITE_LOG_SIZE = 5000


@dataclass(frozen=True)
class WriteRecord:
    operation: str  # the handler's name, e.g. "update" for PUT /incidents/{id}
    method: str
    path: str
    actor: str | None  # the From header as sent
    body: object
    status: int


@dataclass
class WriteLog:
    records: deque[WriteRecord] = field(
        default_factory=lambda: deque(maxlen=WRITE_LOG_SIZE)
    )
    notes: dict[str, list[JsonDict]] = field(default_factory=dict)

    def add(self, record: WriteRecord) -> None:
        self.records.append(record)

    def snapshot(self) -> JsonDict:
        return {"writes": [asdict(record) for record in self.records]}

    def reset(self) -> int:
        cleared = len(self.records)
        self.records.clear()
        return cleared


class HasWriteLog(Protocol):
    """What ``recorded`` needs of the simulator (its ``writes``)."""

    writes: WriteLog


def parsed_body(raw: bytes) -> object:
    try:
        return json.loads(raw) if raw.strip() else None
    except json.JSONDecodeError:
        return raw.decode(errors="replace")[:500]


def recorded[S: HasWriteLog](
    handler: Callable[[S, Request], Awaitable[Response]],
) -> Callable[[S, Request], Awaitable[Response]]:
    """The handler, recording each request it answers (or refuses) in ``sim.writes``."""

    @wraps(handler)
    async def wrapper(sim: S, request: Request) -> Response:
        body = parsed_body(await request.body())

        def record(status: int) -> None:
            sim.writes.add(
                WriteRecord(
                    operation=handler.__name__,
                    method=request.method,
                    path=request.url.path,
                    actor=request.headers.get("from"),
                    body=body,
                    status=status,
                )
            )

        try:
            response = await handler(sim, request)
        except ApiError as error:
            record(error.status)
            raise
        record(response.status_code)
        return response

    return wrapper


async def writes_view(sim: HasWriteLog, request: Request) -> Response:
    """``GET /_sim/writes``: every recorded write, oldest first."""
    return json_response(sim.writes.snapshot())


async def reset_writes(sim: HasWriteLog, request: Request) -> Response:
    return json_response({"cleared": sim.writes.reset()})
