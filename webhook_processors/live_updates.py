"""Sets up live updates: the managed subscription, its signing secret, and the
start-up self-test. Runs at start and at every resync of an always-on listener."""

import asyncio
import time

from loguru import logger
from port_ocean.context.ocean import ocean

from client import PagerDutyError, shared_pagerduty_client
from event_scope import loop_scoped
from webhook_processors.base import signing_secrets
from webhook_processors.ping import ping_watch
from webhook_processors.subscription import WebhookSubscriptionManager, webhook_url

PING_WAIT_SECONDS = 20.0
# A resync starting this soon after a set-up (the first one, right after start)
# does not reconcile the subscription again.
FRESH_SECONDS = 60.0
_background: set[asyncio.Task[None]] = set()
_last_set_up: float | None = None


def one_at_a_time() -> asyncio.Lock:
    """Start and the first resync's start run concurrently: unserialized, both
    could find no subscription and each create one, with different secrets."""
    return loop_scoped("live-updates set-up", asyncio.Lock)


async def set_up_live_updates(at_start: bool) -> None:
    global _last_set_up
    async with one_at_a_time():
        fresh = _last_set_up is not None and (
            time.monotonic() - _last_set_up < FRESH_SECONDS
        )
        if (at_start or not fresh) and await set_up(at_start):
            _last_set_up = time.monotonic()


async def set_up(at_start: bool) -> bool:
    """Whether the subscription is as it should be (or not ours to manage)."""
    config = ocean.integration_config
    secrets = signing_secrets()
    app_host = config.get("app_host")
    if not app_host:
        log_unmanaged(len(secrets.configured), at_start)
        return True
    url = webhook_url(app_host)
    manager = WebhookSubscriptionManager(
        shared_pagerduty_client(), config["token"], bool(secrets.configured)
    )
    try:
        result = await manager.reconcile(url)
    except PagerDutyError as error:
        logger.error(f"Could not set up the PagerDuty webhook subscription: {error}")
        return False
    secrets.manage(lambda: manager.recover_secret(url), result.secret)
    logger.info(f"PagerDuty webhooks: {result.outcome}")
    if at_start or result.changed:
        task = asyncio.create_task(self_test(manager, result.subscription_id, url))
        _background.add(task)
        task.add_done_callback(_background.discard)
    return True


def log_unmanaged(configured: int, at_start: bool) -> None:
    if not at_start:
        return
    if configured:
        logger.info(
            f"webhookSecret holds {configured} secret(s): deliveries of the webhook "
            "subscription you made are verified with them. appHost is not set, so "
            "no subscription is managed by the integration."
        )
        return
    logger.warning(
        "appHost is not set: no PagerDuty webhook subscription is managed, so "
        "live updates arrive only from a subscription you made yourself (set "
        "webhookSecret) or a Redis live-events stream; otherwise the catalog "
        "changes only at each scheduled resync."
    )


async def self_test(
    manager: WebhookSubscriptionManager, subscription_id: str, url: str
) -> None:
    """Asks PagerDuty to ping the subscription and says whether it arrived."""
    ping_watch.expect()
    started = time.monotonic()
    try:
        await manager.ping(subscription_id)
    except PagerDutyError as error:
        logger.warning(f"Webhook self-test: PagerDuty refused the ping ({error})")
        return
    if await ping_watch.wait(PING_WAIT_SECONDS):
        logger.info(
            f"Webhook self-test passed: a verified pagey.ping from PagerDuty reached "
            f"{url} in {time.monotonic() - started:.1f} s"
        )
        return
    logger.warning(
        f"Webhook self-test failed: no verified pagey.ping reached this replica "
        f"within {PING_WAIT_SECONDS:.0f} s of asking PagerDuty to ping {url}. Check "
        "that appHost is reachable from the internet (PagerDuty delivers only to "
        "public HTTPS URLs) and that every replica uses the same token. With "
        "several replicas behind a load balancer the ping may have reached another."
    )
