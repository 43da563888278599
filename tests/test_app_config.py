"""The mapping is read from Port once at a time (app_config.py)."""

import asyncio
from types import SimpleNamespace
from typing import Any, cast

import pytest
from port_ocean.context.event import EventType, event, event_context
from port_ocean.context.ocean import PortOceanContext
from port_ocean.core.handlers.port_app_config.api import APIPortAppConfig

import app_config
from app_config import SingleFlightPortAppConfig


class PortReads:
    """Ocean's own read of the mapping from Port, counted, slow, failing on demand."""

    def __init__(self) -> None:
        self.count = 0
        self.fail = False

    async def __call__(self, handler: Any, use_cache: bool = True) -> Any:
        assert use_cache is False
        self.count += 1
        await asyncio.sleep(0.05)
        if self.fail:
            raise RuntimeError("Port is unavailable")
        return SimpleNamespace(version=self.count)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> PortReads:
    reads = PortReads()

    async def read(handler: Any, use_cache: bool = True) -> Any:
        return await reads(handler, use_cache)

    monkeypatch.setattr(APIPortAppConfig, "get_port_app_config", read)
    return reads


def handler(ttl: int) -> SingleFlightPortAppConfig:
    context = SimpleNamespace(
        config=SimpleNamespace(port=SimpleNamespace(port_app_config_cache_ttl=ttl))
    )
    return SingleFlightPortAppConfig(cast(PortOceanContext, context))


async def test_an_expired_mapping_is_renewed_by_one_read_while_callers_go_on(
    reads: PortReads,
) -> None:
    config = handler(ttl=0)
    async with event_context(EventType.HTTP_REQUEST):
        first = await config.get_port_app_config()
        assert reads.count == 1 and event.port_app_config is first
        served = await asyncio.gather(
            *(config.get_port_app_config() for _ in range(50))
        )
        assert all(s is first for s in served), "the mapping they had, at once"
        fresh = await config.get_port_app_config(use_cache=False)
    assert reads.count == 2, "fifty callers of an expired mapping: one read"
    assert vars(fresh)["version"] == 2, "the renewed mapping"


async def test_a_failed_renewal_keeps_the_mapping_and_retries_later(
    reads: PortReads, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = handler(ttl=0)
    async with event_context(EventType.HTTP_REQUEST):
        first = await config.get_port_app_config()
        reads.fail = True
        assert await config.get_port_app_config() is first  # starts a renewal
        with pytest.raises(RuntimeError, match="unavailable"):
            await config.get_port_app_config(use_cache=False)  # joins it
        assert reads.count == 2
        assert await config.get_port_app_config() is first
        assert reads.count == 2, f"no new read within {app_config.RETRY_SECONDS} s"
