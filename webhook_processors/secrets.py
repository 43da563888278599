"""The signing secrets this process accepts deliveries under.

`webhookSecret` (hand-made subscriptions, comma-separated while rotating) plus
the secret of the managed subscription, recovered from PagerDuty at start and
again, at most once per REFRESH_INTERVAL, when a delivery matches none of them
(another replica may have replaced the subscription since).
"""

import asyncio
import time
from collections.abc import Awaitable, Callable

from loguru import logger

REFRESH_INTERVAL = 30.0

Recover = Callable[[], Awaitable[str | None]]


class SigningSecrets:
    def __init__(
        self,
        configured: list[str],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.configured = configured
        self.managed: str | None = None
        self._recover: Recover | None = None
        self._clock = clock
        self._last_refresh = float("-inf")
        self._lock = asyncio.Lock()

    def all(self) -> list[str]:
        return self.configured + ([self.managed] if self.managed else [])

    def manage(self, recover: Recover, secret: str | None) -> None:
        """From now on the managed subscription's secret is `secret`, and
        `recover` reads it again from PagerDuty."""
        self._recover = recover
        self.managed = secret
        self._last_refresh = self._clock()

    async def refresh(self) -> bool:
        """Re-reads the managed secret if allowed now; True when it changed."""
        if self._recover is None:
            return False
        async with self._lock:
            if self._clock() - self._last_refresh < REFRESH_INTERVAL:
                return False
            self._last_refresh = self._clock()
            try:
                secret = await self._recover()
            except Exception as error:
                logger.warning(f"Could not re-read the webhook signing secret: {error}")
                return False
        if secret is None or secret == self.managed:
            return False
        logger.info("The managed webhook subscription changed; using its new secret")
        self.managed = secret
        return True


_signing_secrets: SigningSecrets | None = None


def process_signing_secrets(configured: list[str]) -> SigningSecrets:
    """The process-wide store, made on first use with the configured secrets."""
    global _signing_secrets
    if _signing_secrets is None:
        _signing_secrets = SigningSecrets(configured)
    return _signing_secrets
