"""A local PagerDuty REST API v2 simulator (Starlette ASGI app).

Build it with ``create_app(SimConfig(...))`` or run it as a process::

    python -m sandbox.pagerduty_sim --port 0 --seed 1 --services 20 --incidents 200

The control API under ``/_sim/`` (no auth, not counted, not rate limited)
lets tests inspect counters, change faults at runtime, mutate data and fire
signed V3 webhooks.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import math
import random
import secrets
import socket
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox import pd_data
from sandbox.pd_data import DataSizes, IncidentSpec, IncidentTimes, JsonDict, PdStore

Handler = Callable[[Request], Awaitable[Response]]

MAX_PAGE_LIMIT = 100
DEFAULT_PAGE_LIMIT = 25
MAX_OFFSET_PLUS_LIMIT = 10000
DEFAULT_WINDOW_SECONDS = 30 * pd_data.DAY
MAX_RANGE_SECONDS = 183 * pd_data.DAY  # "6 months"
OFFSET_LIMIT_MESSAGE = (
    "Offset+limit exceeds maximum allowed value of 10000. Please try to refine your "
    "search to reduce the returned set of records below this number, like adding a date range."
)
INCIDENT_STATUSES = ("triggered", "acknowledged", "resolved")
PATCHABLE_INCIDENT_FIELDS = ("status", "title", "description", "urgency", "priority_id")


# =================================================================== config
@dataclass
class SimConfig:
    """Everything that shapes the simulator; most fields can change at runtime."""

    seed: int = 1
    services: int = 20
    incidents: int = 200
    teams: int = 4
    users: int = 30
    token: str = "sandbox-token"
    rate_limit_per_minute: int = 960
    rate_window_seconds: float = 60.0
    latency_ms: float = 0.0
    fault_rate: float = 0.0
    fail_paths: dict[str, int] = field(default_factory=dict)
    analytics_daily_limit: int = 0
    base_url: str = "http://127.0.0.1"
    html_base: str = "https://sandbox.pagerduty.local"
    now: datetime | None = None
    webhook_transport: httpx.AsyncBaseTransport | None = None


RUNTIME_FIELDS = (
    "token",
    "rate_limit_per_minute",
    "rate_window_seconds",
    "latency_ms",
    "fault_rate",
    "fail_paths",
    "analytics_daily_limit",
)


# =================================================================== errors
class ApiError(Exception):
    """An error answered with PagerDuty's ``{"error": {...}}`` body."""

    def __init__(
        self, status: int, code: int, message: str, errors: Sequence[str] = ()
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = list(errors)

    def body(self) -> JsonDict:
        error: JsonDict = {"message": self.message, "code": self.code}
        if self.errors:
            error["errors"] = self.errors
        return {"error": error}


def invalid_input(*errors: str) -> NoReturn:
    raise ApiError(400, 2001, "Invalid Input Provided", errors)


def not_found() -> NoReturn:
    raise ApiError(404, 2100, "Not Found")


AUTH_ERROR = ApiError(401, 2006, "Authentication failed")
RATE_LIMIT_ERROR = ApiError(429, 2020, "Rate Limit Exceeded")
INTERNAL_ERROR = ApiError(500, 2000, "Internal Error")


# =================================================================== limits & counters
@dataclass
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int

    def headers(self, prefix: str = "") -> dict[str, str]:
        return {
            f"{prefix}ratelimit-limit": str(self.limit),
            f"{prefix}ratelimit-remaining": str(self.remaining),
            f"{prefix}ratelimit-reset": str(self.reset_seconds),
        }


class FixedWindowLimiter:
    """Per-key request budget over fixed windows that start at the first hit."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._windows: dict[str, tuple[float, int]] = {}

    def reset(self) -> None:
        self._windows.clear()

    def hit(self, key: str, limit: int, window: float) -> RateDecision:
        now = self._clock()
        start, used = self._windows.get(key, (now, 0))
        if now - start >= window:
            start, used = now, 0
        allowed = used < limit
        if allowed:
            used += 1
        self._windows[key] = (start, used)
        reset = max(1, math.ceil(start + window - now))
        return RateDecision(allowed, limit, max(0, limit - used), reset)


@dataclass
class Counters:
    total: int = 0
    by_endpoint: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)

    def record(self, endpoint: str, status: int) -> None:
        self.total += 1
        self.by_endpoint[endpoint] += 1
        self.by_status[status] += 1

    def snapshot(self) -> JsonDict:
        return {
            "total": self.total,
            "by_endpoint": dict(sorted(self.by_endpoint.items())),
            "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
            "status_429": self.by_status[429],
            "status_5xx": sum(v for k, v in self.by_status.items() if k >= 500),
        }


# =================================================================== query helpers
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
    offset = parse_int(params, "offset", 0)
    limit = parse_int(params, "limit", DEFAULT_PAGE_LIMIT)
    if offset < 0 or limit < 0:
        invalid_input("offset and limit must not be negative")
    limit = min(max(limit, 1), MAX_PAGE_LIMIT)
    if offset + limit > MAX_OFFSET_PLUS_LIMIT:
        raise ApiError(400, 2002, "Arguments Caused Error", [OFFSET_LIMIT_MESSAGE])
    want_total = params.get("total", "false").lower() == "true"
    return Page(offset, limit, want_total)


def multi(params: QueryParams, name: str) -> list[str]:
    """Values of an array parameter, given as ``name[]=a&name[]=b`` or ``name=a,b``."""
    values = params.getlist(f"{name}[]")
    for raw in params.getlist(name):
        values.extend(part for part in raw.split(",") if part)
    return values


def includes(params: QueryParams) -> set[str]:
    return set(multi(params, "include"))


def parse_time(params: QueryParams, name: str) -> float | None:
    raw = params.get(name)
    return parse_timestamp(raw, name) if raw else None


def parse_timestamp(raw: str, name: str) -> float:
    try:
        parsed = datetime.fromisoformat(raw.replace(" ", "+"))
    except ValueError:
        invalid_input(f"{name} is not a valid ISO-8601 date")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def validate_range(params: QueryParams) -> None:
    """Accept (and only validate) ``since``/``until`` where they do not filter."""
    since, until = parse_time(params, "since"), parse_time(params, "until")
    if since is not None and until is not None and until < since:
        invalid_input("until must be after since")


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


async def read_json(request: Request) -> JsonDict:
    raw = await request.body()
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError:
        invalid_input("Request body is not valid JSON")
    if not isinstance(parsed, dict):
        invalid_input("Request body must be a JSON object")
    return parsed


def json_response(
    body: JsonDict, status: int = 200, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)


def incident_window(
    params: QueryParams, now: float
) -> tuple[float | None, float | None]:
    """The created_at window of an incident listing, PagerDuty style."""
    if params.get("date_range") == "all":
        return None, None
    since, until = parse_time(params, "since"), parse_time(params, "until")
    if since is None and until is None:
        return now - DEFAULT_WINDOW_SECONDS, None
    if since is None:
        assert until is not None
        since = until - DEFAULT_WINDOW_SECONDS
    if until is None:
        until = since + DEFAULT_WINDOW_SECONDS
    if until < since:
        invalid_input("until must be after since")
    if until - since > MAX_RANGE_SECONDS:
        invalid_input("The time range between since and until must be at most 6 months")
    return since, until


# =================================================================== the simulator
class PagerDutySim:
    """Holds data and runtime state; its methods are the HTTP handlers."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        sizes = DataSizes(config.services, config.incidents, config.teams, config.users)
        self.store: PdStore = pd_data.generate(
            config.seed, sizes, config.base_url, config.html_base, config.now
        )
        self.counters = Counters()
        self.limiter = FixedWindowLimiter()
        self.daily_limiter = FixedWindowLimiter()
        self.fault_rng = random.Random(config.seed * 7919 + 17)
        self.subscriptions: dict[str, JsonDict] = {}
        self.subscription_secrets: dict[str, str] = {}

    # ----------------------------------------------------------- request pipeline
    async def handle_api(
        self, request: Request, endpoint: str, handler: Handler
    ) -> Response:
        response = await self._guarded(request, handler)
        self.counters.record(endpoint, response.status_code)
        return response

    async def _guarded(self, request: Request, handler: Handler) -> Response:
        token = extract_token(request.headers.get("authorization"))
        if token is None or token != self.config.token:
            return json_response(AUTH_ERROR.body(), 401)
        decision = self._rate_decision(token)
        headers = decision.headers() if decision else {}
        if decision and not decision.allowed:
            return json_response(RATE_LIMIT_ERROR.body(), 429, headers)
        if self.config.latency_ms > 0:
            await asyncio.sleep(self.config.latency_ms / 1000)
        try:
            self._inject_failures(request.url.path)
            response = await handler(request)
        except ApiError as error:
            response = json_response(error.body(), error.status)
        except (
            Exception
        ):  # noqa: BLE001 - a simulator bug must still look like PagerDuty
            response = json_response(INTERNAL_ERROR.body(), 500)
        response.headers.update(headers)
        return response

    def _rate_decision(self, token: str) -> RateDecision | None:
        limit = self.config.rate_limit_per_minute
        if limit <= 0:
            return None
        return self.limiter.hit(token, limit, self.config.rate_window_seconds)

    def _inject_failures(self, path: str) -> None:
        for prefix, status in self.config.fail_paths.items():
            if path.startswith(prefix):
                message = "Internal Error" if status >= 500 else "Simulated failure"
                raise ApiError(status, 2000 if status >= 500 else 2001, message)
        rate = self.config.fault_rate
        if rate > 0 and self.fault_rng.random() < rate:
            raise INTERNAL_ERROR

    # ----------------------------------------------------------- lookups
    @staticmethod
    def lookup(table: dict[str, JsonDict], request: Request) -> JsonDict:
        obj = table.get(request.path_params["id"])
        if obj is None:
            not_found()
        return obj

    # ----------------------------------------------------------- services
    async def list_services(self, request: Request) -> Response:
        params, store = request.query_params, self.store
        services = name_query(params, store.sorted_values(store.services))
        services = with_any_team(services, multi(params, "team_ids"))
        if params.get("sort_by", "name").endswith(":desc"):
            services.reverse()
        wanted = includes(params)
        body = paginate(
            "services",
            services,
            parse_page(params),
            lambda s: pd_data.expand_service(store, s, wanted),
        )
        return json_response(body)

    async def get_service(self, request: Request) -> Response:
        service = self.lookup(self.store.services, request)
        wanted = includes(request.query_params)
        return json_response(
            {"service": pd_data.expand_service(self.store, service, wanted)}
        )

    async def service_custom_fields(self, request: Request) -> Response:
        service = self.lookup(self.store.services, request)
        names = ("environment", "region")
        return json_response(
            {"custom_fields": pd_data.custom_field_values(service["id"], names)}
        )

    # ----------------------------------------------------------- incidents
    async def list_incidents(self, request: Request) -> Response:
        params = request.query_params
        page = parse_page(params)
        since, until = incident_window(params, self.store.now())
        ids = self._filter_incidents(
            params, self.store.incident_ids_between(since, until)
        )
        ids = self._sort_incidents(params.get("sort_by"), ids)
        wanted = includes(params)
        body = paginate(
            "incidents",
            ids,
            page,
            lambda i: pd_data.expand_incident(
                self.store, self.store.incidents[i], wanted
            ),
        )
        return json_response(body)

    def _filter_incidents(self, params: QueryParams, ids: list[str]) -> list[str]:
        checks = self._incident_checks(params)
        if not checks:
            return ids
        incidents = self.store.incidents
        return [i for i in ids if all(check(incidents[i]) for check in checks)]

    @staticmethod
    def _incident_checks(params: QueryParams) -> list[Callable[[JsonDict], bool]]:
        checks: list[Callable[[JsonDict], bool]] = []
        statuses = set(multi(params, "statuses"))
        urgencies = set(multi(params, "urgencies"))
        services = set(multi(params, "service_ids"))
        teams = set(multi(params, "team_ids"))
        users = set(multi(params, "user_ids"))
        key = params.get("incident_key")
        if statuses:
            checks.append(lambda inc: inc["status"] in statuses)
        if urgencies:
            checks.append(lambda inc: inc["urgency"] in urgencies)
        if services:
            checks.append(lambda inc: inc["service"]["id"] in services)
        if teams:
            checks.append(lambda inc: any(t["id"] in teams for t in inc["teams"]))
        if users:
            checks.append(
                lambda inc: any(
                    a["assignee"]["id"] in users for a in inc["assignments"]
                )
            )
        if key:
            checks.append(lambda inc: inc["incident_key"] == key)
        return checks

    def _sort_incidents(self, sort_by: str | None, ids: list[str]) -> list[str]:
        if not sort_by:
            return ids
        field_name, _, direction = sort_by.partition(",")[0].partition(":")
        descending = direction.lower() == "desc"
        if field_name in ("created_at", "incident_number"):
            return ids[::-1] if descending else ids
        if field_name not in ("resolved_at", "urgency"):
            invalid_input(f"sort_by field {field_name} is not supported")
        incidents = self.store.incidents
        return sorted(
            ids, key=lambda i: incidents[i][field_name] or "", reverse=descending
        )

    async def get_incident(self, request: Request) -> Response:
        incident = self.lookup(self.store.incidents, request)
        wanted = includes(request.query_params)
        return json_response(
            {"incident": pd_data.expand_incident(self.store, incident, wanted)}
        )

    async def incident_custom_fields(self, request: Request) -> Response:
        incident = self.lookup(self.store.incidents, request)
        names = tuple(spec[0] for spec in pd_data.CUSTOM_FIELD_SPECS)
        return json_response(
            {"custom_fields": pd_data.custom_field_values(incident["id"], names)}
        )

    # ----------------------------------------------------------- people & teams
    async def list_log_entries(self, request: Request) -> Response:
        """Incident log entries, derived from each incident's timeline."""
        params = request.query_params
        since, until = parse_time(params, "since"), parse_time(params, "until")
        entries = sorted(
            (
                entry
                for incident_id in self.store.incidents
                for entry in self._timeline_entries(incident_id)
                if (since is None or entry[0] >= since)
                and (until is None or entry[0] < until)
            ),
            key=lambda entry: entry[0],
        )
        body = paginate("log_entries", entries, parse_page(params), self._log_entry)
        return json_response(body)

    def _timeline_entries(self, incident_id: str) -> list[tuple[float, str, str]]:
        times = self.store.incident_times[incident_id]
        updated = parse_timestamp(
            self.store.incidents[incident_id]["updated_at"], "updated_at"
        )
        moments = [
            (times.created, "trigger_log_entry"),
            (times.acknowledged, "acknowledge_log_entry"),
            (times.resolved, "resolve_log_entry"),
            (updated, "annotate_log_entry"),
        ]
        return [(at, kind, incident_id) for at, kind in moments if at is not None]

    def _log_entry(self, entry: tuple[float, str, str]) -> JsonDict:
        at, kind, incident_id = entry
        return {
            "id": f"R{incident_id}{kind[:3].upper()}{int(at)}",
            "type": kind,
            "created_at": pd_data.iso(at),
            "incident": self.store.ref(incident_id),
        }

    async def list_users(self, request: Request) -> Response:
        params, store = request.query_params, self.store
        users = name_query(params, store.sorted_values(store.users))
        users = with_any_team(users, multi(params, "team_ids"))
        wanted = includes(params)
        body = paginate(
            "users",
            users,
            parse_page(params),
            lambda u: pd_data.expand_user(store, u, wanted),
        )
        return json_response(body)

    async def get_user(self, request: Request) -> Response:
        user = self.lookup(self.store.users, request)
        wanted = includes(request.query_params)
        return json_response({"user": pd_data.expand_user(self.store, user, wanted)})

    async def list_teams(self, request: Request) -> Response:
        params = request.query_params
        teams = name_query(params, self.store.sorted_values(self.store.teams))
        return json_response(paginate("teams", teams, parse_page(params), dict))

    async def get_team(self, request: Request) -> Response:
        return json_response({"team": self.lookup(self.store.teams, request)})

    async def team_members(self, request: Request) -> Response:
        team = self.lookup(self.store.teams, request)
        params, store = request.query_params, self.store
        expand_users = "users" in includes(params)

        def render(member: tuple[str, str]) -> JsonDict:
            user_id, role = member
            user = store.users[user_id] if expand_users else store.ref(user_id)
            return {"user": user, "role": role}

        members = store.team_members[team["id"]]
        return json_response(paginate("members", members, parse_page(params), render))

    # ----------------------------------------------------------- schedules & policies
    async def list_schedules(self, request: Request) -> Response:
        params, store = request.query_params, self.store
        validate_range(params)
        schedules = name_query(params, store.sorted_values(store.schedules))
        wanted = includes(params)
        body = paginate(
            "schedules",
            schedules,
            parse_page(params),
            lambda s: pd_data.expand_schedule(store, s, wanted),
        )
        return json_response(body)

    async def get_schedule(self, request: Request) -> Response:
        schedule = self.lookup(self.store.schedules, request)
        wanted = includes(request.query_params)
        return json_response(
            {"schedule": pd_data.expand_schedule(self.store, schedule, wanted)}
        )

    async def list_policies(self, request: Request) -> Response:
        params, store = request.query_params, self.store
        policies = name_query(params, store.sorted_values(store.policies))
        policies = with_any_team(policies, multi(params, "team_ids"))
        user_ids = set(multi(params, "user_ids"))
        if user_ids:
            policies = [p for p in policies if store.policy_users[p["id"]] & user_ids]
        wanted = includes(params)
        body = paginate(
            "escalation_policies",
            policies,
            parse_page(params),
            lambda p: pd_data.expand_policy(store, p, wanted),
        )
        return json_response(body)

    async def get_policy(self, request: Request) -> Response:
        policy = self.lookup(self.store.policies, request)
        wanted = includes(request.query_params)
        return json_response(
            {"escalation_policy": pd_data.expand_policy(self.store, policy, wanted)}
        )

    async def list_oncalls(self, request: Request) -> Response:
        params, store = request.query_params, self.store
        page = parse_page(params)
        validate_range(params)
        oncalls = filter_oncalls(store.oncalls(store.now()), params)
        wanted = includes(params)
        body = paginate(
            "oncalls", oncalls, page, lambda o: pd_data.expand_oncall(store, o, wanted)
        )
        return json_response(body)

    # ----------------------------------------------------------- misc lists
    async def list_priorities(self, request: Request) -> Response:
        priorities = sorted(self.store.priorities.values(), key=lambda p: -p["order"])
        return json_response(
            paginate("priorities", priorities, parse_page(request.query_params), dict)
        )

    async def list_business_services(self, request: Request) -> Response:
        params = request.query_params
        items = self.store.sorted_values(self.store.business_services)
        return json_response(
            paginate("business_services", items, parse_page(params), dict)
        )

    async def unknown_endpoint(self, request: Request) -> Response:
        not_found()

    # ----------------------------------------------------------- analytics
    async def analytics_services(self, request: Request) -> Response:
        limit = self.config.analytics_daily_limit
        decision = None
        if limit > 0:
            decision = self.daily_limiter.hit("analytics", limit, 86400.0)
        headers = decision.headers("daily-") if decision else {}
        if decision and not decision.allowed:
            return json_response(RATE_LIMIT_ERROR.body(), 429, headers)
        filters = (await read_json(request)).get("filters") or {}
        body = {"data": self._analytics_data(filters), "filters": filters}
        return json_response(body, headers=headers)

    async def analytics_raw_incident(self, request: Request) -> Response:
        """Raw analytics of one incident, from its timeline; shares the daily quota."""
        limit = self.config.analytics_daily_limit
        decision = (
            self.daily_limiter.hit("analytics", limit, 86400.0) if limit else None
        )
        headers = decision.headers("daily-") if decision else {}
        if decision and not decision.allowed:
            return json_response(RATE_LIMIT_ERROR.body(), 429, headers)
        incident = self.lookup(self.store.incidents, request)
        times = self.store.incident_times[incident["id"]]

        def seconds_until(moment: float | None) -> int | None:
            return None if moment is None else int(moment - times.created)

        body = {
            "id": incident["id"],
            "service_id": incident["service"]["id"],
            "urgency": incident["urgency"],
            "created_at": incident["created_at"],
            "seconds_to_first_ack": seconds_until(times.acknowledged),
            "seconds_to_engage": seconds_until(times.engaged),
            "seconds_to_resolve": seconds_until(times.resolved),
        }
        return json_response(body, headers=headers)

    def _analytics_data(self, filters: JsonDict) -> list[JsonDict]:
        params = QueryParams(
            {
                key: str(filters[name])
                for key, name in (
                    ("since", "created_at_start"),
                    ("until", "created_at_end"),
                )
                if filters.get(name)
            }
        )
        now = self.store.now()
        since = parse_time(params, "since") or now - DEFAULT_WINDOW_SECONDS
        until = parse_time(params, "until") or now + 1
        service_ids = filters.get("service_ids")
        wanted = set(service_ids) if service_ids else None
        ids = self.store.incident_ids_between(since, until)
        return pd_data.service_incident_metrics(self.store, ids, wanted)

    # ----------------------------------------------------------- webhook subscriptions
    async def list_subscriptions(self, request: Request) -> Response:
        items = list(self.subscriptions.values())
        return json_response(
            paginate(
                "webhook_subscriptions", items, parse_page(request.query_params), dict
            )
        )

    async def create_subscription(self, request: Request) -> Response:
        payload = (await read_json(request)).get("webhook_subscription")
        if not isinstance(payload, dict):
            invalid_input("webhook_subscription is required")
        subscription = self._new_subscription(payload)
        secret = secrets.token_urlsafe(24)
        self.subscriptions[subscription["id"]] = subscription
        self.subscription_secrets[subscription["id"]] = secret
        created = json.loads(json.dumps(subscription))
        created["delivery_method"]["secret"] = secret
        return json_response({"webhook_subscription": created}, 201)

    def _new_subscription(self, payload: JsonDict) -> JsonDict:
        method = payload.get("delivery_method") or {}
        if not method.get("url"):
            invalid_input("delivery_method.url is required")
        subscription_id = self.store.ids.new()
        return {
            "id": subscription_id,
            "type": "webhook_subscription",
            "active": bool(payload.get("active", True)),
            "description": payload.get("description", ""),
            "delivery_method": {
                "id": self.store.ids.new(),
                "type": method.get("type", "http_delivery_method"),
                "url": method["url"],
                "custom_headers": list(method.get("custom_headers") or []),
                "secret": None,
                "temporarily_disabled": False,
            },
            "events": list(payload.get("events") or []),
            "filter": payload.get("filter") or {"type": "account_reference"},
        }

    async def get_subscription(self, request: Request) -> Response:
        subscription = self.lookup(self.subscriptions, request)
        return json_response({"webhook_subscription": subscription})

    async def update_subscription(self, request: Request) -> Response:
        subscription = self.lookup(self.subscriptions, request)
        payload = (await read_json(request)).get("webhook_subscription") or {}
        for key in ("description", "events", "filter", "active"):
            if key in payload:
                subscription[key] = payload[key]
        method = payload.get("delivery_method") or {}
        for key in ("url", "custom_headers"):
            if key in method:
                subscription["delivery_method"][key] = method[key]
        return json_response({"webhook_subscription": subscription})

    async def delete_subscription(self, request: Request) -> Response:
        subscription = self.lookup(self.subscriptions, request)
        del self.subscriptions[subscription["id"]]
        self.subscription_secrets.pop(subscription["id"], None)
        return Response(status_code=204)

    # ----------------------------------------------------------- control API
    async def sim_counters(self, request: Request) -> Response:
        return json_response(self.counters.snapshot())

    async def sim_counters_reset(self, request: Request) -> Response:
        self.counters = Counters()
        return json_response(self.counters.snapshot())

    async def sim_rate_limit_reset(self, request: Request) -> Response:
        self.limiter.reset()
        self.daily_limiter.reset()
        return json_response({"ok": True})

    async def sim_config(self, request: Request) -> Response:
        if request.method == "POST":
            self._apply_runtime_config(await read_json(request))
        return json_response(
            {name: getattr(self.config, name) for name in (*RUNTIME_FIELDS, "seed")}
        )

    def _apply_runtime_config(self, changes: JsonDict) -> None:
        unknown = set(changes) - set(RUNTIME_FIELDS)
        if unknown:
            invalid_input(f"Unknown config fields: {sorted(unknown)}")
        if "fail_paths" in changes:
            changes = {
                **changes,
                "fail_paths": normalize_fail_paths(changes["fail_paths"]),
            }
        self.config = replace(self.config, **changes)

    async def sim_stats(self, request: Request) -> Response:
        store = self.store
        now = store.now()
        recent = store.incident_ids_between(now - DEFAULT_WINDOW_SECONDS, None)
        statuses = Counter(inc["status"] for inc in store.incidents.values())
        return json_response(
            {
                "teams": len(store.teams),
                "users": len(store.users),
                "schedules": len(store.schedules),
                "escalation_policies": len(store.policies),
                "services": len(store.services),
                "priorities": len(store.priorities),
                "business_services": len(store.business_services),
                "oncalls": len(store.oncalls(now)),
                "incidents_total": len(store.incidents),
                "incidents_default_window": len(recent),
                "incidents_by_status": dict(sorted(statuses.items())),
                "webhook_subscriptions": len(self.subscriptions),
            }
        )

    async def sim_delete_service(self, request: Request) -> Response:
        if not self.store.remove_service(request.path_params["id"]):
            not_found()
        return Response(status_code=204)

    async def sim_patch_incident(self, request: Request) -> Response:
        incident = self.lookup(self.store.incidents, request)
        self._patch_incident(incident, await read_json(request))
        return json_response({"incident": incident})

    def _patch_incident(self, incident: JsonDict, changes: JsonDict) -> None:
        unknown = set(changes) - set(PATCHABLE_INCIDENT_FIELDS)
        if unknown:
            invalid_input(f"Unsupported incident fields: {sorted(unknown)}")
        now = self.store.now()
        for key in ("title", "description", "urgency"):
            if key in changes:
                incident[key] = changes[key]
        if "title" in changes:
            incident["summary"] = f"[#{incident['incident_number']}] {changes['title']}"
            self.store.register_ref(incident)
            incident["description"] = changes.get("description", changes["title"])
        if "priority_id" in changes:
            incident["priority"] = self._priority_or_none(changes["priority_id"])
        if "status" in changes:
            self._change_status(incident, str(changes["status"]), now)
        incident["updated_at"] = pd_data.iso(now)

    def _priority_or_none(self, priority_id: object) -> JsonDict | None:
        if priority_id is None:
            return None
        if str(priority_id) not in self.store.priorities:
            invalid_input(f"Unknown priority {priority_id}")
        return pd_data.priority_snapshot(self.store, str(priority_id))

    def _change_status(self, incident: JsonDict, status: str, now: float) -> None:
        if status not in INCIDENT_STATUSES:
            invalid_input(f"status must be one of {list(INCIDENT_STATUSES)}")
        times = self.store.incident_times[incident["id"]]
        if status == "triggered":
            times.acknowledged = times.engaged = times.resolved = None
        if status == "acknowledged":
            times.acknowledged = times.acknowledged or now
            times.engaged = times.engaged or now
            times.resolved = None
        if status == "resolved":
            times.acknowledged = times.acknowledged or now
            times.resolved = now
        pd_data.apply_status(self.store, incident, times, status)
        incident["last_status_change_at"] = pd_data.iso(now)

    async def sim_create_incident(self, request: Request) -> Response:
        incident = self._create_incident(await read_json(request))
        return json_response({"incident": incident}, 201)

    def _create_incident(self, body: JsonDict) -> JsonDict:
        store = self.store
        service_id = (
            body.get("service_id") or store.sorted_values(store.services)[0]["id"]
        )
        if service_id not in store.services:
            invalid_input(f"Unknown service {service_id}")
        raw_created = body.get("created_at")
        created = (
            parse_timestamp(str(raw_created), "created_at")
            if raw_created
            else store.now()
        )
        spec = IncidentSpec(
            incident_id=store.ids.new(),
            number=store.next_incident_number,
            title=str(body.get("title") or "Simulated incident"),
            service_id=service_id,
            status="triggered",
            urgency=str(body.get("urgency") or "high"),
            priority_id=None,
            incident_key=body.get("incident_key") or uuid.uuid4().hex,
        )
        times = IncidentTimes(created, None, None, None)
        incident = pd_data.build_incident_object(store, spec, times)
        incident["priority"] = self._priority_or_none(body.get("priority_id"))
        store.next_incident_number += 1
        store.add_incident(incident, times)
        store.services[service_id]["last_incident_timestamp"] = incident["created_at"]
        status = body.get("status")
        if status and status != "triggered":
            self._change_status(incident, str(status), max(created, store.now()))
        return incident

    async def sim_deliver_webhook(self, request: Request) -> Response:
        return json_response(await self._deliver(await read_json(request)))

    async def _deliver(self, body: JsonDict) -> JsonDict:
        event_type = str(body.get("event_type") or "")
        resource_id = str(body.get("resource_id") or "")
        event_id = str(body.get("event_id") or uuid.uuid4())
        try:
            payload = pd_data.webhook_event(
                self.store, event_type, resource_id, event_id
            )
        except KeyError:
            not_found()
        raw = json.dumps(payload, separators=(",", ":")).encode()
        webhook_id = str(body.get("webhook_id") or uuid.uuid4())
        targets = self._delivery_targets(body, event_type)
        async with httpx.AsyncClient(
            transport=self.config.webhook_transport, timeout=10.0
        ) as client:
            deliveries = [
                await post_webhook(
                    client, target, raw, webhook_id, body.get("signature")
                )
                for target in targets
            ]
        return {
            "webhook_id": webhook_id,
            "event_id": event_id,
            "deliveries": deliveries,
            "payload": payload,
        }

    def _delivery_targets(
        self, body: JsonDict, event_type: str
    ) -> list[DeliveryTarget]:
        active = [s for s in self.subscriptions.values() if s["active"]]
        if body.get("url"):
            first = active[0] if active else None
            secret = body.get("secret")
            if secret is None and first is not None:
                secret = self.subscription_secrets[first["id"]]
            return [
                DeliveryTarget(
                    subscription_id=first["id"] if first else "PSIMOVR",
                    url=str(body["url"]),
                    secret=str(secret or ""),
                    headers=first["delivery_method"]["custom_headers"] if first else [],
                )
            ]
        return [
            DeliveryTarget(
                subscription_id=sub["id"],
                url=sub["delivery_method"]["url"],
                secret=str(body.get("secret") or self.subscription_secrets[sub["id"]]),
                headers=sub["delivery_method"]["custom_headers"],
            )
            for sub in active
            if not sub["events"] or event_type in sub["events"]
        ]


@dataclass
class DeliveryTarget:
    subscription_id: str
    url: str
    secret: str
    headers: list[JsonDict]


def sign(secret: str, raw: bytes) -> str:
    return "v1=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


async def post_webhook(
    client: httpx.AsyncClient,
    target: DeliveryTarget,
    raw: bytes,
    webhook_id: str,
    signature_override: object,
) -> JsonDict:
    headers = {str(h["name"]): str(h["value"]) for h in target.headers}
    headers.update(
        {
            "Content-Type": "application/json",
            "User-Agent": "PagerDuty-Webhook/V3.0",
            "X-PagerDuty-Signature": str(
                signature_override or sign(target.secret, raw)
            ),
            "X-Webhook-Id": webhook_id,
            "X-Webhook-Subscription": target.subscription_id,
        }
    )
    result: JsonDict = {"subscription_id": target.subscription_id, "url": target.url}
    try:
        response = await client.post(target.url, content=raw, headers=headers)
        result.update({"status_code": response.status_code, "error": None})
    except httpx.HTTPError as error:
        result.update({"status_code": None, "error": repr(error)})
    return result


def extract_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme == "Bearer":
        return value.strip() or None
    if scheme == "Token" and value.strip().startswith("token="):
        return value.strip()[len("token=") :] or None
    return None


def filter_oncalls(oncalls: list[JsonDict], params: QueryParams) -> list[JsonDict]:
    policies = set(multi(params, "escalation_policy_ids"))
    schedules = set(multi(params, "schedule_ids"))
    users = set(multi(params, "user_ids"))
    if policies:
        oncalls = [o for o in oncalls if o["escalation_policy"]["id"] in policies]
    if schedules:
        oncalls = [
            o for o in oncalls if o["schedule"] and o["schedule"]["id"] in schedules
        ]
    if users:
        oncalls = [o for o in oncalls if o["user"]["id"] in users]
    return oncalls


def normalize_fail_paths(raw: object) -> dict[str, int]:
    """Accept ``{"/incidents": 500}``, ``["/incidents"]`` or ``[["/x", 503]]``."""
    if isinstance(raw, dict):
        return {str(prefix): int(status) for prefix, status in raw.items()}
    if isinstance(raw, list):
        result: dict[str, int] = {}
        for item in raw:
            if isinstance(item, str):
                result[item] = 500
            else:
                result[str(item[0])] = int(item[1])
        return result
    invalid_input("fail_paths must be an object or a list")


# =================================================================== app assembly
API_ROUTES: tuple[tuple[str, str, str], ...] = (
    ("GET", "/services", "list_services"),
    ("GET", "/services/{id}", "get_service"),
    ("GET", "/services/{id}/custom_fields/values", "service_custom_fields"),
    ("GET", "/incidents", "list_incidents"),
    ("GET", "/incidents/{id}", "get_incident"),
    ("GET", "/incidents/{id}/custom_fields/values", "incident_custom_fields"),
    ("GET", "/log_entries", "list_log_entries"),
    ("GET", "/users", "list_users"),
    ("GET", "/users/{id}", "get_user"),
    ("GET", "/teams", "list_teams"),
    ("GET", "/teams/{id}", "get_team"),
    ("GET", "/teams/{id}/members", "team_members"),
    ("GET", "/schedules", "list_schedules"),
    ("GET", "/schedules/{id}", "get_schedule"),
    ("GET", "/escalation_policies", "list_policies"),
    ("GET", "/escalation_policies/{id}", "get_policy"),
    ("GET", "/oncalls", "list_oncalls"),
    ("GET", "/priorities", "list_priorities"),
    ("GET", "/business_services", "list_business_services"),
    ("POST", "/analytics/metrics/incidents/services", "analytics_services"),
    ("GET", "/analytics/raw/incidents/{id}", "analytics_raw_incident"),
    ("GET", "/webhook_subscriptions", "list_subscriptions"),
    ("POST", "/webhook_subscriptions", "create_subscription"),
    ("GET", "/webhook_subscriptions/{id}", "get_subscription"),
    ("PUT", "/webhook_subscriptions/{id}", "update_subscription"),
    ("DELETE", "/webhook_subscriptions/{id}", "delete_subscription"),
)

CONTROL_ROUTES: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("GET",), "/_sim/counters", "sim_counters"),
    (("POST",), "/_sim/counters/reset", "sim_counters_reset"),
    (("POST",), "/_sim/rate_limit/reset", "sim_rate_limit_reset"),
    (("GET", "POST"), "/_sim/config", "sim_config"),
    (("GET",), "/_sim/stats", "sim_stats"),
    (("DELETE",), "/_sim/services/{id}", "sim_delete_service"),
    (("POST",), "/_sim/incidents", "sim_create_incident"),
    (("POST",), "/_sim/incidents/{id}", "sim_patch_incident"),
    (("POST",), "/_sim/webhooks/deliver", "sim_deliver_webhook"),
)

ALL_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"]


def api_route(sim: PagerDutySim, method: str, path: str, handler_name: str) -> Route:
    handler: Handler = getattr(sim, handler_name)
    endpoint_name = f"{method} {path}"

    async def endpoint(request: Request) -> Response:
        return await sim.handle_api(request, endpoint_name, handler)

    return Route(path, endpoint, methods=[method], name=handler_name)


def control_route(
    sim: PagerDutySim, methods: tuple[str, ...], path: str, handler_name: str
) -> Route:
    """A ``/_sim`` route: no auth, no counting, no limits; errors still JSON."""
    handler: Handler = getattr(sim, handler_name)

    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as error:
            return json_response(error.body(), error.status)

    return Route(path, endpoint, methods=list(methods), name=handler_name)


def catch_all_route(sim: PagerDutySim) -> Route:
    """Unknown API paths answer PagerDuty's JSON 404 (after auth, and counted)."""

    async def endpoint(request: Request) -> Response:
        return await sim.handle_api(request, "* /{unknown}", sim.unknown_endpoint)

    return Route("/{path:path}", endpoint, methods=ALL_METHODS)


def create_app(config: SimConfig) -> Starlette:
    """Generate the data and build the ASGI app; ``app.state.sim`` is the simulator."""
    sim = PagerDutySim(config)
    routes = [
        control_route(sim, methods, path, name)
        for methods, path, name in CONTROL_ROUTES
    ]
    routes += [api_route(sim, method, path, name) for method, path, name in API_ROUTES]
    routes.append(catch_all_route(sim))
    app = Starlette(routes=routes)
    app.state.sim = sim
    return app


# =================================================================== serving
def bind_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


@dataclass
class RunningSim:
    base_url: str
    app: Starlette
    server: uvicorn.Server
    task: asyncio.Task[None]

    @property
    def sim(self) -> PagerDutySim:
        sim: PagerDutySim = self.app.state.sim
        return sim


async def start_server(config: SimConfig, host: str, port: int) -> RunningSim:
    sock = bind_socket(host, port)
    base_url = f"http://{host}:{sock.getsockname()[1]}"
    app = create_app(replace(config, base_url=base_url))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("uvicorn stopped before it started")
        await asyncio.sleep(0.01)
    return RunningSim(base_url, app, server, task)


@asynccontextmanager
async def serve_in_background(
    config: SimConfig, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[RunningSim]:
    """Run the simulator with uvicorn inside the current event loop."""
    running = await start_server(config, host, port)
    try:
        yield running
    finally:
        running.server.should_exit = True
        await running.task


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Local PagerDuty REST API simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--services", type=int, default=20)
    parser.add_argument("--incidents", type=int, default=200)
    parser.add_argument("--teams", type=int, default=4)
    parser.add_argument("--users", type=int, default=30)
    parser.add_argument("--token", default="sandbox-token")
    parser.add_argument("--rate-limit-per-minute", type=int, default=960)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument(
        "--fail-path", action="append", default=[], metavar="PREFIX[=STATUS]"
    )
    parser.add_argument("--analytics-daily-limit", type=int, default=0)
    parser.add_argument("--ready-file", type=Path, default=None)
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> SimConfig:
    fail_paths = {}
    for item in args.fail_path:
        prefix, _, status = item.partition("=")
        fail_paths[prefix] = int(status or 500)
    return SimConfig(
        seed=args.seed,
        services=args.services,
        incidents=args.incidents,
        teams=args.teams,
        users=args.users,
        token=args.token,
        rate_limit_per_minute=args.rate_limit_per_minute,
        latency_ms=args.latency_ms,
        fault_rate=args.fault_rate,
        fail_paths=fail_paths,
        analytics_daily_limit=args.analytics_daily_limit,
    )


def write_atomically(path: Path, text: str) -> None:
    staging = path.with_name(path.name + ".tmp")
    staging.write_text(text)
    staging.replace(path)


async def run_cli(args: argparse.Namespace) -> None:
    running = await start_server(config_from_args(args), args.host, args.port)
    if args.ready_file is not None:
        write_atomically(args.ready_file, running.base_url + "\n")
    print(f"READY {running.base_url}", flush=True)
    await running.task


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    with suppress(KeyboardInterrupt):
        asyncio.run(run_cli(args))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
