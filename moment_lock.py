"""One replica per moment: a short `SET NX EX` claim in the live-events Redis.

Every replica of an installation keeps the same timetable (it read the same
on-calls), so at a hand-off they would all read and write the same thing. With
Ocean's Redis live-events stream configured, the first replica to claim a
moment does the work and the others skip it. Without Redis (or when Redis
fails) every claim succeeds: each replica does the work, which is harmless
(the same idempotent upserts) and costs one more set of reads per replica (see
README, "On-call hand-offs").
"""

from typing import Protocol

from loguru import logger
from port_ocean.context.ocean import ocean

from live_events_redis import redis_client, redis_url_of_live_events

CLAIM_SECONDS = 120
REDIS_KEY_PREFIX = "ocean:pagerduty:moment:"


class MomentClaims(Protocol):
    async def claim(self, name: str) -> bool:
        """True when this replica is the one to handle the moment `name`."""
        ...


class EveryReplicaClaims:
    """No shared store: every replica handles every moment."""

    async def claim(self, name: str) -> bool:
        return True


class RedisClaims:
    def __init__(self, url: str, installation: str, seconds: int = CLAIM_SECONDS):
        self.url = url
        self.installation = installation
        self.seconds = seconds

    async def claim(self, name: str) -> bool:
        key = f"{REDIS_KEY_PREFIX}{self.installation}:{name}"
        try:
            client = await redis_client(self.url)
            return bool(await client.set(key, "1", nx=True, ex=self.seconds))
        except Exception as error:
            logger.warning(
                f"Redis unavailable for the on-call moment claim {name} ({error}); "
                "this replica handles it (a duplicate is harmless)"
            )
            return True


def process_moment_claims() -> MomentClaims:
    url = redis_url_of_live_events()
    if not url:
        return EveryReplicaClaims()
    return RedisClaims(url, str(ocean.config.integration.identifier))
