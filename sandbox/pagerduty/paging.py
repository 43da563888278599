"""Classic offset paging and the query helpers every list shares."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import QueryParams

from sandbox.pagerduty.errors import ApiError, invalid_input
from sandbox.pagerduty.store import JsonDict

MAX_PAGE_LIMIT = 100
DEFAULT_PAGE_LIMIT = 25
MAX_OFFSET_PLUS_LIMIT = 10000
OFFSET_LIMIT_MESSAGE = (
    "Offset+limit exceeds maximum allowed value of 10000. Please try to refine your "
    "search to reduce the returned set of records below this number, like adding a date range."
)


@dataclass
class Page:
    offset: int
    limit: int
    want_total: bool


def parse_int(params: QueryParams, name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        invalid_input(f"{name} must be an integer")


def parse_page(params: QueryParams) -> Page:
    """``limit`` (≤ 100), ``offset`` and ``total``; 400 code 2002 past offset+limit 10,000."""
    offset = parse_int(params, "offset", 0)
    limit = parse_int(params, "limit", DEFAULT_PAGE_LIMIT)
    if offset < 0 or limit < 0:
        invalid_input("offset and limit must not be negative")
    limit = min(max(limit, 1), MAX_PAGE_LIMIT)
    if offset + limit > MAX_OFFSET_PLUS_LIMIT:
        raise ApiError(400, 2002, "Arguments Caused Error", [OFFSET_LIMIT_MESSAGE])
    want_total = params.get("total", "false").lower() == "true"
    return Page(offset, limit, want_total)


def paginate(
    key: str, items: Sequence[Any], page: Page, render: Callable[[Any], JsonDict]
) -> JsonDict:
    window = items[page.offset : page.offset + page.limit]
    return {
        key: [render(item) for item in window],
        "limit": page.limit,
        "offset": page.offset,
        "more": page.offset + len(window) < len(items),
        "total": len(items) if page.want_total else None,
    }


def multi(params: QueryParams, name: str) -> list[str]:
    """Values of an array parameter, sent as ``name[]=a&name[]=b``."""
    return params.getlist(f"{name}[]")


def includes(params: QueryParams) -> set[str]:
    return set(multi(params, "include"))


def name_query(params: QueryParams, objects: Iterable[JsonDict]) -> list[JsonDict]:
    query = (params.get("query") or "").lower()
    if not query:
        return list(objects)
    return [obj for obj in objects if query in str(obj.get("name", "")).lower()]


def with_any_team(objects: list[JsonDict], team_ids: list[str]) -> list[JsonDict]:
    if not team_ids:
        return objects
    wanted = set(team_ids)
    return [o for o in objects if any(t["id"] in wanted for t in o["teams"])]
