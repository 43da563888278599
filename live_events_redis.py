"""The Redis of Ocean's live-events stream, shared by what replicas coordinate
through it (webhook de-duplication, fetch coalescing, on-call moment claims):
its URL when the stream is configured, and one client per URL and event loop."""

from port_ocean.consumers.redis_client import RedisClient, create_redis_client
from port_ocean.context.ocean import ocean

from event_scope import loop_scoped


def redis_url_of_live_events() -> str | None:
    settings = ocean.config.live_events
    if not settings.is_redis_stream_consumer_enabled:
        return None
    redis = getattr(settings, "redis", None)
    url = getattr(redis, "url", None)
    return url if isinstance(url, str) and url else None


async def redis_client(url: str) -> RedisClient:
    """This process's client of `url` (its connections belong to the running loop)."""
    clients: dict[str, RedisClient] = loop_scoped("live-events redis clients", dict)
    if url not in clients:
        created = await create_redis_client(url)
        clients.setdefault(url, created)
    return clients[url]
