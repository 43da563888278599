"""Ocean registrations only; the work lives in client.py and exporters/."""

from typing import cast

from loguru import logger
from port_ocean.context.event import event
from port_ocean.context.ocean import ocean
from port_ocean.core.ocean_types import ASYNC_GENERATOR_RESYNC_TYPE

from client import create_pagerduty_client
from exporters.incidents import IncidentExporter
from exporters.services import ServiceExporter
from integration import IncidentResourceConfig, ObjectKind, ServiceResourceConfig


@ocean.on_start()
async def on_start() -> None:
    client = create_pagerduty_client()
    logger.info(f"Starting the PagerDuty integration against {client.api_url}")


@ocean.on_resync(ObjectKind.SERVICES)
async def resync_services(kind: str) -> ASYNC_GENERATOR_RESYNC_TYPE:
    selector = cast(ServiceResourceConfig, event.resource_config).selector
    async for services in ServiceExporter(create_pagerduty_client()).pages(selector):
        yield services


@ocean.on_resync(ObjectKind.INCIDENTS)
async def resync_incidents(kind: str) -> ASYNC_GENERATOR_RESYNC_TYPE:
    selector = cast(IncidentResourceConfig, event.resource_config).selector
    async for incidents in IncidentExporter(create_pagerduty_client()).pages(selector):
        yield incidents
