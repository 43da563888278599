"""Reading ``since``/``until`` and ``time_zone`` the way PagerDuty does."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from starlette.datastructures import QueryParams

from sandbox.pagerduty.errors import invalid_input


def zone_of(params: QueryParams) -> ZoneInfo | None:
    """The ``time_zone`` parameter as a zone (None when absent); 400 when unknown."""
    name = params.get("time_zone")
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        invalid_input(f"time_zone {name!r} is not a known time zone")


def parse_timestamp(raw: str, name: str, zone: tzinfo | None = None) -> float:
    """An ISO-8601 time; one without an offset is read in ``zone`` (UTC by default)."""
    try:
        parsed = datetime.fromisoformat(raw.replace(" ", "+"))
    except ValueError:
        invalid_input(f"{name} is not a valid ISO-8601 date")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone or UTC)
    return parsed.timestamp()


def parse_time(
    params: QueryParams, name: str, zone: tzinfo | None = None
) -> float | None:
    raw = params.get(name)
    return parse_timestamp(raw, name, zone) if raw else None


def add_months(ts: float, months: int, zone: tzinfo | None = None) -> float:
    """``ts`` moved by calendar months in ``zone`` (the day clamped to the month's end)."""
    moment = datetime.fromtimestamp(ts, zone or UTC)
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day).timestamp()


def validate_range(params: QueryParams) -> None:
    """Accept (and only validate) ``since``/``until`` where they do not filter."""
    zone = zone_of(params)
    since, until = parse_time(params, "since", zone), parse_time(params, "until", zone)
    if since is not None and until is not None and until < since:
        invalid_input("until must be after since")
