"""Services' maintenance windows: `__maintenance_windows`, what `inMaintenance`
is mapped from.

Each service gets the ongoing and future windows covering it, each as `id`,
`start_time`, `end_time` (PagerDuty's) and `start`, `end` (unix seconds), so a
mapping can tell at mapping time whether one covers the service now:
`[.__maintenance_windows[]? | select(.start <= now and now < .end)] | length > 0`.
The raw object does not change when a window starts or ends; while always on,
maintenance_refresh.py hands the services to Ocean again at those moments.

Cost: one listing of the open windows per resync (or live event), shared by
every services block: ceil(open windows / 100) requests.
"""

import asyncio
from collections.abc import Callable

from client import JSON, PagerDutyClient
from event_scope import event_scoped, once
from pagination import parse_time

MAINTENANCE_FIELD = "__maintenance_windows"
OPEN_WINDOWS_KEY = "pagerduty.open_maintenance_windows"
# Told of every complete listing of the open windows (maintenance_refresh.py).
window_listeners: list[Callable[[list[JSON]], None]] = []


async def list_open_windows(client: PagerDutyClient) -> list[JSON]:
    """The ongoing and future maintenance windows, as PagerDuty lists them."""
    params = {"filter": "open"}
    windows = [
        w
        async for page in client.paginate("/maintenance_windows", params)
        for w in page
    ]
    for listener in window_listeners:
        listener(windows)
    return windows


async def open_windows(client: PagerDutyClient) -> list[JSON]:
    """The open windows, listed once per resync (or live event)."""
    task: asyncio.Task[list[JSON]] = event_scoped(
        OPEN_WINDOWS_KEY, once(lambda: list_open_windows(client))
    )
    return await asyncio.shield(task)


def window_entry(window: JSON) -> JSON | None:
    try:
        start = parse_time(str(window["start_time"]))
        end = parse_time(str(window["end_time"]))
    except (KeyError, ValueError):
        return None
    return {
        "id": window.get("id"),
        "start_time": window["start_time"],
        "end_time": window["end_time"],
        "start": int(start.timestamp()),
        "end": int(end.timestamp()),
    }


def windows_by_service(
    windows: list[JSON], now: float | None = None
) -> dict[str, list[JSON]]:
    """Each service's windows (by start), those ended by `now` left out."""
    found: dict[str, list[JSON]] = {}
    for window in windows:
        entry = window_entry(window)
        if entry is None or (now is not None and entry["end"] <= now):
            continue
        for service in window.get("services") or []:
            if service.get("id"):
                found.setdefault(str(service["id"]), []).append(entry)
    for entries in found.values():
        entries.sort(key=lambda entry: (entry["start"], str(entry["id"])))
    return found


async def attach_maintenance_windows(
    client: PagerDutyClient, services: list[JSON]
) -> None:
    by_service = windows_by_service(await open_windows(client))
    for service in services:
        service[MAINTENANCE_FIELD] = by_service.get(str(service.get("id")), [])
