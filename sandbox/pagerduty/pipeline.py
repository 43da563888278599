"""What every PagerDuty API request goes through, in PagerDuty's order.

Authentication (401), rate limits (429, headers on every answer), the
contract (unknown operation 404, bad input 400/2001, both recorded as
violations), read-only tokens (403), latency and injected faults, the
handler; then the response is checked against the contract too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from sandbox.pagerduty.auth import Credentials, extract_credentials, is_write
from sandbox.pagerduty.contract import Match, Problem
from sandbox.pagerduty.errors import (
    AUTH_ERROR,
    FORBIDDEN_ERROR,
    INTERNAL_ERROR,
    RATE_LIMIT_ERROR,
    ApiError,
    JsonBody,
    not_found,
)
from sandbox.pagerduty.limits import RateDecision, tighter
from sandbox.pagerduty.state import PagerDutySim
from sandbox.pagerduty.violations import Violation, now

Handler = Callable[[PagerDutySim, Request], Awaitable[Response]]
INVALID_INPUT = "Invalid Input Provided"


async def handle_api(
    sim: PagerDutySim, request: Request, endpoint: str, handler: Handler | None
) -> Response:
    match = sim.contract.match(request.method, request.url.path)
    response = await _guarded(sim, request, match, handler)
    sim.counters.record(
        endpoint, response.status_code, request.method, request.url.path
    )
    if match is not None and sim.config.validate_responses:
        _check_response(sim, request, match, response)
    return response


async def _guarded(
    sim: PagerDutySim, request: Request, match: Match | None, handler: Handler | None
) -> Response:
    credentials = extract_credentials(request.headers.get("authorization"))
    operation_id = match.operation.operation_id if match else None
    decision = _rate_decision(sim, credentials, operation_id)
    headers = decision.headers() if decision else {}
    if credentials is None or credentials.token not in sim.config.accepted_tokens():
        return AUTH_ERROR.response(headers)
    if decision and not decision.allowed:
        return RATE_LIMIT_ERROR.response(headers)
    try:
        await _check_request(sim, request, match, credentials)
        if credentials.token in sim.config.read_only_tokens and is_write(
            request.method, operation_id
        ):
            raise FORBIDDEN_ERROR
        if sim.config.latency_ms > 0:
            await asyncio.sleep(sim.config.latency_ms / 1000)
        _inject_failures(sim, request.url.path)
        if handler is None:
            not_found()
        response = await handler(sim, request)
    except ApiError as error:
        response = error.response()
    except Exception:  # noqa: BLE001 - a simulator bug must still look like PagerDuty
        response = INTERNAL_ERROR.response()
    response.headers.update(headers)
    return response


def _rate_decision(
    sim: PagerDutySim, credentials: Credentials | None, operation_id: str | None
) -> RateDecision | None:
    config = sim.config
    if config.rate_limit_per_minute <= 0:
        return None
    key = credentials.token if credentials else "(anonymous)"
    window = config.rate_window_seconds
    decision = sim.limiter.hit(key, config.rate_limit_per_minute, window)
    operation_limit = {
        "listOnCalls": config.oncalls_rate_limit_per_minute,
        "createIncident": config.incident_create_rate_limit_per_minute,
    }.get(operation_id or "", 0)
    if operation_limit <= 0 or not decision.allowed:
        return decision
    specific = sim.operation_limiter.hit(
        f"{key} {operation_id}", operation_limit, window
    )
    return tighter(decision, specific)


async def _check_request(
    sim: PagerDutySim, request: Request, match: Match | None, credentials: Credentials
) -> None:
    if match is None:
        field = "method" if sim.contract.knows_path(request.url.path) else "path"
        message = f"{request.method} {request.url.path} is not an operation of the API"
        _record(sim, "request", request, None, [Problem(field, message)], 404)
        not_found()
    body = await request.body()
    problems = sim.contract.check_request(
        match.operation,
        request.query_params.multi_items(),
        {key.lower(): value for key, value in request.headers.items()},
        body,
        credentials.oauth,
    )
    if problems:
        _record(sim, "request", request, match, problems, 400)
        raise ApiError(400, 2001, INVALID_INPUT, [p.message for p in problems])


def _check_response(
    sim: PagerDutySim, request: Request, match: Match, response: Response
) -> None:
    body = response.json_body if isinstance(response, JsonBody) else None
    problems = sim.contract.check_response(
        match.operation, response.status_code, body, bytes(response.body)
    )
    if problems:
        _record(sim, "response", request, match, problems, response.status_code)


def _record(
    sim: PagerDutySim,
    direction: str,
    request: Request,
    match: Match | None,
    problems: list[Problem],
    status: int,
) -> None:
    for problem in problems:
        sim.violations.add(
            Violation(
                direction=direction,
                operation_id=match.operation.operation_id if match else None,
                method=request.method,
                path=match.operation.template if match else request.url.path,
                url_path=request.url.path,
                field=problem.field,
                message=problem.message,
                status=status,
                at=now(),
            )
        )
        sim.counters.contract_violations += 1


def _inject_failures(sim: PagerDutySim, path: str) -> None:
    transient = sim.config.transient_failures
    for prefix, left in transient.items():
        if left > 0 and path.startswith(prefix):
            transient[prefix] = left - 1
            raise ApiError(502, 2000, "Bad Gateway")
    for prefix, status in sim.config.fail_paths.items():
        if path.startswith(prefix):
            message = "Internal Error" if status >= 500 else "Simulated failure"
            raise ApiError(status, 2000 if status >= 500 else 2001, message)
    rate = sim.config.fault_rate
    if rate > 0 and sim.fault_rng.random() < rate:
        raise INTERNAL_ERROR
