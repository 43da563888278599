"""Values that live as long as Ocean's current event: one resync, or one live
(webhook) event. They sit in the event's attributes, which Ocean shares with
every kind of a resync and every processor of a delivery, and drops after.
And values that live as long as the running event loop (`loop_scoped`)."""

import asyncio
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

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


_by_loop: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Any]]" = (
    weakref.WeakKeyDictionary()
)


def loop_scoped[T](key: str, make: Callable[[], T]) -> T:
    """The value stored under `key` for the running event loop, made on first
    use: locks and network clients belong to the loop they were made in."""
    values = _by_loop.setdefault(asyncio.get_running_loop(), {})
    if key not in values:
        values[key] = make()
    value: T = values[key]
    return value
