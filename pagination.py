"""The one place that knows PagerDuty's classic pagination.

- The first page asks for `total=true`; once the total is known the remaining
  pages are fetched concurrently (the shared rate budget bounds how many).
- Offset pagination stops at `offset + limit = 10,000`. A listing larger than
  that is split into time windows (recursive bisection) where the endpoint
  filters by time (`since`/`until`: created-at for incidents and log entries,
  overlap for on-call shifts); where it cannot be split, the listing fails
  loudly: a silently truncated listing would make Ocean's reconciliation delete
  what was not read.
- Pages flow through a small bounded queue, so fetching runs ahead of (and
  overlaps with) Ocean's mapping of the previous batch while memory stays flat.
"""

import asyncio
import contextlib
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Hashable,
    Iterable,
    Mapping,
)
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from progress import report_listed, report_total

if TYPE_CHECKING:
    from client import PagerDutyClient

JSON = dict[str, Any]
PageSink = Callable[[list[JSON]], Awaitable[None]]

PAGE_SIZE = 100
OFFSET_CAP = 10_000
# Pages held before Ocean takes them (each ~1 MB as Python objects for 100
# incidents): fetching stays ahead of Ocean's mapping (~0.5 s a page) at a
# real API's latency, and memory stays a few pages deep on any account size.
PAGES_AHEAD = 1
PAGES_IN_FLIGHT = 2
# PagerDuty refuses since/until ranges over six months.
MAX_WINDOW = timedelta(days=90)
MIN_WINDOW = timedelta(seconds=1)


class ListingTooLargeError(Exception):
    """More than 10,000 records and no (further) way to split the listing."""


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Window:
    since: datetime
    until: datetime

    def halves(self) -> tuple["Window", "Window"]:
        middle = self.since + (self.until - self.since) / 2
        middle = middle.replace(microsecond=0)
        return Window(self.since, middle), Window(middle, self.until)

    def chunks(self, size: timedelta = MAX_WINDOW) -> list["Window"]:
        if self.until <= self.since:
            return [self]  # an instant, e.g. on-calls "now"
        windows, start = [], self.since
        while start < self.until:
            end = min(start + size, self.until)
            windows.append(Window(start, end))
            start = end
        return windows

    def holds(self, moment: datetime) -> bool:
        return self.since <= moment < self.until

    def params(self) -> dict[str, str]:
        return {"since": iso(self.since), "until": iso(self.until)}


@dataclass(frozen=True)
class OpenRange:
    """A created-at range that PagerDuty itself bounds, named by its parameters."""

    params: Mapping[str, str]


# `date_range=all`, and the listing without since/until: PagerDuty's own default
# window ("1 month" back, whichever way PagerDuty counts a month).
ALL_TIME = OpenRange({"date_range": "all"})
PAGERDUTY_DEFAULT_RANGE = OpenRange({})


def first_leaf(error: BaseException) -> BaseException:
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error


async def run_all(coroutines: Iterable[Coroutine[Any, Any, None]]) -> None:
    """Runs all concurrently; the first failure cancels the rest and is raised as is."""
    try:
        async with asyncio.TaskGroup() as group:
            for coroutine in coroutines:
                group.create_task(coroutine)
    except BaseExceptionGroup as errors:
        raise first_leaf(errors) from None


async def for_each_bounded[T](
    items: Iterable[T], work: Callable[[T], Awaitable[None]], limit: int
) -> None:
    """`work(item)` for every item, at most `limit` at a time; the first failure
    cancels the rest and is raised as is."""
    slots = asyncio.Semaphore(limit)

    async def bounded(item: T) -> None:
        async with slots:
            await work(item)

    await run_all(bounded(item) for item in items)


async def stream_pages(
    produce: Callable[[PageSink], Awaitable[None]], ahead: int = PAGES_AHEAD
) -> AsyncIterator[list[JSON]]:
    """Runs `produce` in the background and yields the pages it emits, in the
    order they arrive; an error in `produce` is raised here."""
    queue: asyncio.Queue[list[JSON] | BaseException | None] = asyncio.Queue(ahead)

    async def run() -> None:
        try:
            await produce(queue.put)
            await queue.put(None)
        except Exception as error:
            await queue.put(error)

    task = asyncio.create_task(run())
    try:
        while (item := await queue.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@dataclass
class Sink:
    """Where one stream's pages go. Its slots bound the pages that stream has
    fetched but not yet handed over; each stream has its own, so a listing made
    while the consumer handles another (on-calls for a page of services) can
    never wait on slots that the first one holds."""

    put: PageSink
    slots: asyncio.Semaphore


def new_sink(put: PageSink) -> Sink:
    return Sink(put, asyncio.Semaphore(PAGES_IN_FLIGHT))


class Paginator:
    def __init__(self, client: "PagerDutyClient") -> None:
        self.client = client

    async def pages(
        self, path: str, params: Mapping[str, Any], key: str
    ) -> AsyncIterator[list[JSON]]:
        async for page in stream_pages(
            lambda put: self.collect(path, params, key, new_sink(put))
        ):
            yield page

    async def pages_by_created_at(
        self,
        path: str,
        params: Mapping[str, Any],
        key: str,
        window: Window | OpenRange,
    ) -> AsyncIterator[list[JSON]]:
        """Like `pages`, split into created-at windows whenever a listing is over the
        cap."""

        async def produce(put: PageSink) -> None:
            sink = new_sink(put)
            if isinstance(window, OpenRange):
                await self._collect_open_range(path, params, key, window, sink)
            else:
                await self._collect_windows(path, params, key, window.chunks(), sink)

        async for page in stream_pages(produce):
            yield page

    async def pages_by_overlap(
        self,
        path: str,
        params: Mapping[str, Any],
        key: str,
        window: Window,
        identity: Callable[[JSON], Hashable],
    ) -> AsyncIterator[list[JSON]]:
        """A listing of records that overlap `window` (e.g. on-call shifts), split
        into shorter windows whenever it is over the cap. A record spanning two
        windows is listed by both; only its first copy is yielded."""
        seen: set[Hashable] = set()

        async def produce(put: PageSink) -> None:
            async def put_new(items: list[JSON]) -> None:
                fresh = []
                for item in items:
                    if (identity_of := identity(item)) not in seen:
                        seen.add(identity_of)
                        fresh.append(item)
                if fresh:
                    await put(fresh)

            sink = new_sink(put_new)
            await self._collect_windows(path, params, key, window.chunks(), sink)

        async for page in stream_pages(produce):
            yield page

    async def collect(
        self,
        path: str,
        params: Mapping[str, Any],
        key: str,
        sink: Sink,
        first: JSON | None = None,
    ) -> None:
        """All pages of one listing; `first` is its first page if already fetched."""
        async with sink.slots:
            first = first or await self._page(path, params, key, 0, with_total=True)
            total = first.get("total")
            if isinstance(total, int) and total > OFFSET_CAP:
                raise ListingTooLargeError(
                    f"{path} lists {total} {key}, more than PagerDuty's offset "
                    f"pagination can return ({OFFSET_CAP})"
                )
            if isinstance(total, int):
                report_total(path, total)
            items: list[JSON] = first.get(key) or []
            if items:
                await sink.put(items)
        if not first.get("more") or not items:
            return
        if isinstance(total, int):
            await self._collect_offsets(
                path, params, key, range(len(items), total, PAGE_SIZE), sink
            )
        else:
            await self._collect_sequentially(path, params, key, len(items), sink)

    async def _collect_offsets(
        self,
        path: str,
        params: Mapping[str, Any],
        key: str,
        offsets: range,
        sink: Sink,
    ) -> None:
        async def fetch(offset: int) -> None:
            async with sink.slots:
                page = await self._page(path, params, key, offset)
                if items := page.get(key):
                    await sink.put(items)

        await run_all(fetch(offset) for offset in offsets)

    async def _collect_sequentially(
        self, path: str, params: Mapping[str, Any], key: str, offset: int, sink: Sink
    ) -> None:
        while True:
            if offset + PAGE_SIZE > OFFSET_CAP:
                raise ListingTooLargeError(
                    f"{path} has more than {OFFSET_CAP} {key}; PagerDuty's offset "
                    "pagination cannot list them all"
                )
            page = await self._page(path, params, key, offset)
            items: list[JSON] = page.get(key) or []
            if items:
                await sink.put(items)
            if not page.get("more") or not items:
                return
            offset += len(items)

    async def _collect_open_range(
        self,
        path: str,
        params: Mapping[str, Any],
        key: str,
        open_range: OpenRange,
        sink: Sink,
    ) -> None:
        """Exactly what PagerDuty lists for `open_range`: under the cap, that very
        listing; over it, explicit windows from its oldest record to now."""
        # Oldest first, so the first page also tells where windows must start.
        scoped = {**params, **open_range.params, "sort_by": "created_at:asc"}
        probe = await self._page(path, scoped, key, 0, with_total=True)
        total = probe.get("total")
        if not isinstance(total, int) or total <= OFFSET_CAP:
            await self.collect(path, scoped, key, sink, first=probe)
            return
        oldest = (probe.get(key) or [{}])[0].get("created_at")
        if not oldest:
            raise ListingTooLargeError(f"{path} is over the cap and has no created_at")
        until = datetime.now(UTC) + timedelta(minutes=1)
        span = Window(parse_time(oldest).replace(microsecond=0), until)
        await self._collect_windows(path, params, key, span.chunks(), sink)

    async def _collect_windows(
        self,
        path: str,
        params: Mapping[str, Any],
        key: str,
        windows: list[Window],
        sink: Sink,
    ) -> None:
        await run_all(self._collect_window(path, params, key, w, sink) for w in windows)

    async def _collect_window(
        self,
        path: str,
        params: Mapping[str, Any],
        key: str,
        window: Window,
        sink: Sink,
    ) -> None:
        try:
            await self.collect(path, {**params, **window.params()}, key, sink)
        except ListingTooLargeError as error:
            if window.until - window.since <= MIN_WINDOW:
                raise ListingTooLargeError(
                    f"{error} between {iso(window.since)} and {iso(window.until)}, "
                    "a window too short to split further"
                ) from error
            await self._collect_windows(path, params, key, list(window.halves()), sink)

    async def _page(
        self,
        path: str,
        params: Mapping[str, Any],
        key: str,
        offset: int,
        with_total: bool = False,
    ) -> JSON:
        query = {**params, "limit": PAGE_SIZE, "offset": offset}
        if with_total:
            query["total"] = "true"
        page = await self.client.get(path, query)
        report_listed(path, len(page.get(key) or []))
        return page
