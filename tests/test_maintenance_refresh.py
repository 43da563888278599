"""maintenance_refresh.py against the PagerDuty simulator in process, its clock
set by the test: a new window is found by the check and written at once, the
services it covers are written again at its start and at its end (ended
windows left out), with their current on-calls; nothing else is written."""

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

import maintenance_refresh
from client import PagerDutyClient
from exporters.maintenance import MAINTENANCE_FIELD, window_listeners
from exporters.services import ONCALL_FIELD, ServiceExporter
from integration import PagerDutyPortAppConfig, ServiceSelector
from maintenance_refresh import CHECKS, MOMENTS, MaintenanceRefresher
from raw_memory import RawMemory, hold
from sandbox.pagerduty import PagerDutySim, SimConfig, create_app
from sandbox.pagerduty.data_graph import add_maintenance_window
from tests.sandbox.pagerduty.helpers import NOW
from timetable import Timetable

TOKEN = "maintenance-token-0123456789abcdef"


class Clock:
    def __init__(self, sim: PagerDutySim) -> None:
        self.sim = sim
        self.now = NOW.timestamp()

    def __call__(self) -> float:
        return self.now

    def move_to(self, seconds: float) -> None:
        self.now = seconds
        self.sim.store.now_override = NOW + timedelta(seconds=seconds - NOW.timestamp())


class Live:
    def __init__(self) -> None:
        config = SimConfig(
            services=12,
            incidents=10,
            teams=2,
            users=8,
            token=TOKEN,
            rate_limit_per_minute=0,
            now=NOW,
        )
        app = create_app(config)
        self.sim: PagerDutySim = app.state.sim
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://sim"
        )
        self.client = PagerDutyClient(TOKEN, "http://sim", http_client=http)
        self.clock = Clock(self.sim)
        self.memory = RawMemory()
        self.timetable = Timetable(margin=0, clock=self.clock)
        self.refresher = MaintenanceRefresher(
            self.memory, self.timetable, clock=self.clock
        )
        self.written: list[list[dict[str, Any]]] = []

    async def register_raw(self, kind: str, objects: list[dict[str, Any]]) -> None:
        assert kind == "services"
        self.written.append(objects)

    async def resync(self, selector: ServiceSelector) -> list[dict[str, Any]]:
        services = [
            s
            async for page in ServiceExporter(self.client).pages(selector)
            for s in page
        ]
        self.memory.record_block("services", 0, [hold("services", s) for s in services])
        return services

    def calls(self) -> dict[str, int]:
        return dict(self.sim.counters.by_endpoint)


def selector(**options: Any) -> ServiceSelector:
    raw = {
        "kind": "services",
        "selector": {"query": "true", "serviceAnalytics": False, **options},
        "port": {"entity": {"mappings": {"identifier": ".id", "blueprint": '"x"'}}},
    }
    block = PagerDutyPortAppConfig.parse_obj({"resources": [raw]}).resources[0]
    assert isinstance(block.selector, ServiceSelector)
    return block.selector


@asynccontextmanager
async def no_event(*args: Any, **kwargs: Any) -> AsyncIterator[None]:
    yield


@pytest.fixture
def live(monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    state = Live()
    monkeypatch.setattr(
        maintenance_refresh, "ocean", SimpleNamespace(register_raw=state.register_raw)
    )
    monkeypatch.setattr(maintenance_refresh, "event_context", no_event)
    monkeypatch.setattr(
        maintenance_refresh, "shared_pagerduty_client", lambda: state.client
    )
    yield state
    window_listeners.remove(state.refresher.learn)


def windows_of(obj: dict[str, Any]) -> list[str]:
    return [entry["id"] for entry in obj[MAINTENANCE_FIELD]]


async def test_a_window_is_found_then_written_at_its_start_and_end(live: Live) -> None:
    services = await live.resync(selector(includeMaintenanceWindows=True))
    uncovered = next(s for s in services if not s[MAINTENANCE_FIELD])
    # The resync's listing put the open windows' future moments on the timetable.
    assert live.timetable.moments(MOMENTS)

    start, end = NOW.timestamp() + 60, NOW.timestamp() + 180
    # What the simulator's control API does, without HTTP.
    window = add_maintenance_window(
        live.sim.store, "Test", start, end, [uncovered["id"]]
    )
    live.sim.counters.by_endpoint.clear()
    await live.refresher.on_check({NOW.timestamp(): {"all"}})
    (found,) = live.written
    assert [s["id"] for s in found] == [uncovered["id"]]
    assert windows_of(found[0]) == [window["id"]]
    assert ONCALL_FIELD in found[0]  # its on-calls, read again (not kept)
    assert live.calls() == {"GET /maintenance_windows": 1, "GET /oncalls": 1}
    assert live.timetable.moments(MOMENTS)[window["id"]] == {start, end}
    assert live.timetable.moments(CHECKS)["all"] == {NOW.timestamp() + 30}
    # The memory now carries the window: a second check writes nothing.
    await live.refresher.on_check({NOW.timestamp(): {"all"}})
    assert len(live.written) == 1

    live.clock.move_to(start + 1)
    await live.timetable.run_due()
    assert [[s["id"] for s in batch] for batch in live.written[1:]] == [
        [uncovered["id"]]
    ]
    assert windows_of(live.written[1][0]) == [window["id"]]

    live.clock.move_to(end + 1)
    await live.timetable.run_due()
    assert [s["id"] for s in live.written[2]] == [uncovered["id"]]
    assert windows_of(live.written[2][0]) == []  # ended: left out
    kept = live.memory.of("services").objects[uncovered["id"]].thaw()
    assert kept[MAINTENANCE_FIELD] == []
    await live.refresher.on_check({end + 1: {"all"}})
    assert len(live.written) == 3


async def test_services_listed_without_the_option_are_left_alone(live: Live) -> None:
    await live.resync(selector())
    live.sim.counters.by_endpoint.clear()
    service_id = next(iter(live.sim.store.services))

    add_maintenance_window(
        live.sim.store, "Test", NOW.timestamp() - 60, NOW.timestamp() + 60, [service_id]
    )
    await live.refresher.on_check({NOW.timestamp(): {"all"}})
    assert live.written == [] and live.calls() == {}  # not even a read


async def test_a_check_within_the_margin_of_a_start_keeps_the_start_due(
    live: Live,
) -> None:
    """Regression: a check that runs between a window's start and the moment it
    is handed out (the timetable's margin later) must not drop that start."""
    live.timetable.margin = 5
    services = await live.resync(selector(includeMaintenanceWindows=True))
    uncovered = next(s for s in services if not s[MAINTENANCE_FIELD])
    start, end = NOW.timestamp() + 60, NOW.timestamp() + 180
    window = add_maintenance_window(
        live.sim.store, "Test", start, end, [uncovered["id"]]
    )
    await live.refresher.on_check({NOW.timestamp(): {"all"}})
    assert len(live.written) == 1

    live.clock.move_to(start + 2)  # started, not handed out yet
    await live.refresher.on_check({start: {"all"}})
    assert live.timetable.moments(MOMENTS)[window["id"]] == {start, end}
    live.clock.move_to(start + 5)
    await live.timetable.run_due()
    assert [s["id"] for s in live.written[-1]] == [uncovered["id"]]
    assert len(live.written) == 2
