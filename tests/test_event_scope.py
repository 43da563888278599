"""Values scoped to Ocean's event or to the running event loop (event_scope.py)."""

import asyncio

from event_scope import loop_scoped


def test_a_loop_scoped_value_is_made_once_per_loop() -> None:
    async def twice() -> tuple[asyncio.Lock, asyncio.Lock]:
        return loop_scoped("test lock", asyncio.Lock), loop_scoped(
            "test lock", asyncio.Lock
        )

    first, again = asyncio.run(twice())
    other, _ = asyncio.run(twice())
    assert first is again
    assert other is not first, "another loop gets its own"
