"""Ocean registrations only; the work lives in client.py, exporters/ and webhook_processors/."""

from typing import cast

from loguru import logger
from port_ocean.context.event import event
from port_ocean.context.ocean import ocean
from port_ocean.core.handlers.port_app_config.models import ResourceConfig
from port_ocean.core.incremental.cursor_context import active_incremental_cursor
from port_ocean.core.models import EventListenerType
from port_ocean.core.ocean_types import ASYNC_GENERATOR_RESYNC_TYPE

from actions.registry import register_actions
from block_removal import remove_from_block
from client import JSON, shared_pagerduty_client
from collector import freeze_startup_objects
from exporters import exporter_for
from exporters.incidents import IncidentExporter, matches_selector
from integration import IncidentResourceConfig, ObjectKind, PagerDutyIntegration
from maintenance_refresh import start_maintenance_refresh
from oncall_refresh import start_oncall_refresh
from progress import tracked
from raw_memory import remembered
from run_outcome import carry_once_outcome_to_exit_code, outcome
from webhook_processors.incidents import IncidentWebhookProcessor
from webhook_processors.intake_middleware import DeliveryIntakeMiddleware
from webhook_processors.live_updates import set_up_live_updates
from webhook_processors.ping import PingWebhookProcessor
from webhook_processors.services import ServiceWebhookProcessor
from webhook_processors.subscription import WEBHOOK_PATH

# A ONCE run, full or incremental, exits non-zero when its sync failed (run_outcome.py).
carry_once_outcome_to_exit_code()
# Ocean's webhook manager builds its own entity processor from its own
# EntityProcessorClass (Ocean's plain JQ processor): live events would skip the
# mapping guard and fork a JQ process pool per delivery. Public attributes, set
# before Ocean starts the manager.
ocean.app.webhook_manager.EntityProcessorClass = (
    PagerDutyIntegration.EntityProcessorClass
)
# Deliveries noted on arrival, so one fetch round serves those still queued.
ocean.app.fast_api_app.add_middleware(DeliveryIntakeMiddleware)


@ocean.on_start()
async def on_start() -> None:
    client = shared_pagerduty_client()
    logger.info(f"Starting the PagerDuty integration against {client.api_url}")
    if ocean.event_listener_type != EventListenerType.ONCE:
        await set_up_live_updates(at_start=True)
    # Always-on only: on-call hand-offs follow PagerDuty's clock (oncall_refresh.py).
    start_oncall_refresh()
    # ... and so do maintenance windows' starts and ends (maintenance_refresh.py).
    start_maintenance_refresh()
    # Start-up objects live as long as the process; collections skip them (collector.py).
    freeze_startup_objects()


@ocean.on_resync_start()
async def on_resync_start() -> None:
    """Always-on: a subscription PagerDuty disabled or someone changed is repaired."""
    outcome.resync_started = True
    if ocean.event_listener_type != EventListenerType.ONCE:
        await set_up_live_updates(at_start=False)


@ocean.on_resync_complete()
async def on_resync_complete() -> None:
    """Ocean runs this only after a resync (reconciliation included) without errors."""
    outcome.resync_completed = True


@ocean.on_resync()
async def resync(kind: str) -> ASYNC_GENERATOR_RESYNC_TYPE:
    """Every kind, custom kinds included, through its exporter (exporters/)."""
    selector = cast(ResourceConfig, event.resource_config).selector
    pages = exporter_for(kind, shared_pagerduty_client()).pages(selector)
    # Always-on listeners keep what on-call hand-offs patch (raw_memory.py).
    async for batch in remembered(kind, tracked(kind, pages)):
        yield batch


def belongs(block: ResourceConfig, incident: JSON) -> bool:
    return matches_selector(incident, cast(IncidentResourceConfig, block).selector)


@ocean.on_incremental_resync(ObjectKind.INCIDENTS)
async def incremental_incidents(kind: str) -> ASYNC_GENERATOR_RESYNC_TYPE:
    """Changed incidents; those that left the block are removed from it, as a live
    event removes them (block_removal.py), since Ocean's incremental pass only upserts.
    """
    block = cast(IncidentResourceConfig, event.resource_config)
    cursor = active_incremental_cursor()
    if cursor is None:
        raise RuntimeError("incremental sync ran without a cursor")
    exporter = IncidentExporter(shared_pagerduty_client())
    async for changes in exporter.changed_since(cursor, block.selector):
        await remove_from_block(block, changes.left, changes.kept, belongs)
        yield changes.kept


ocean.add_webhook_processor(WEBHOOK_PATH, IncidentWebhookProcessor)
ocean.add_webhook_processor(WEBHOOK_PATH, ServiceWebhookProcessor)
ocean.add_webhook_processor(WEBHOOK_PATH, PingWebhookProcessor)

# Self-service actions (actions/); Ocean runs them when its actions processor is on.
register_actions()
