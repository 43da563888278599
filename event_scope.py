"""Values that live as long as Ocean's current event: one resync, or one live
(webhook) event. They sit in the event's attributes, which Ocean shares with
every kind of a resync and every processor of a delivery, and drops after."""

import asyncio
from collections.abc import Awaitable, Callable

from port_ocean.context.event import event
from port_ocean.exceptions.context import EventContextNotFoundError


def event_scoped[T](key: str, make: Callable[[], T]) -> T:
    """The value stored under `key` for the current event, made on first use
    (outside any event, a fresh value each time)."""
    try:
        attributes = event.attributes
    except EventContextNotFoundError:
        return make()
    if key not in attributes:
        attributes[key] = make()
    value: T = attributes[key]
    return value


def once[T](fetch: Callable[[], Awaitable[T]]) -> Callable[[], "asyncio.Task[T]"]:
    """A maker for `event_scoped` that starts `fetch` once; awaiters share it."""
    return lambda: asyncio.ensure_future(fetch())
