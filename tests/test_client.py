from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx
from port_ocean.helpers.retry import RetryTransport

from client import (
    EU_API_URL,
    PagerDutyAuthError,
    PagerDutyClient,
    PagerDutyError,
    PagerDutyRetryTransport,
    TokenType,
    pagerduty_retry_config,
    token_type_from,
)

API = "https://api.pagerduty.com"
TOKEN = "u+abcdefghijklmnop-1234"


def retrying_client(
    transport_class: type[RetryTransport] = PagerDutyRetryTransport,
) -> httpx.AsyncClient:
    config = pagerduty_retry_config()
    config.base_delay = 0.001
    return httpx.AsyncClient(
        transport=transport_class(
            wrapped_transport=httpx.AsyncHTTPTransport(), retry_config=config
        )
    )


def make_client(token_type: TokenType = TokenType.API_TOKEN) -> PagerDutyClient:
    return PagerDutyClient(TOKEN, API, token_type, http_client=retrying_client())


def page(key: str, items: list[dict[str, Any]], more: bool) -> httpx.Response:
    return httpx.Response(200, json={key: items, "more": more, "limit": 100})


@respx.mock
async def test_paginates_until_more_is_false() -> None:
    route = respx.get(f"{API}/services").mock(
        side_effect=[
            page("services", [{"id": f"S{i}"} for i in range(100)], True),
            page("services", [{"id": f"S{i}"} for i in range(100, 150)], False),
        ]
    )
    pages = [p async for p in make_client().paginate("/services", {"x": "y"})]

    assert [len(p) for p in pages] == [100, 50]
    offsets = [call.request.url.params["offset"] for call in route.calls]
    assert offsets == ["0", "100"]
    assert {call.request.url.params["limit"] for call in route.calls} == {"100"}
    assert route.calls[0].request.url.params["x"] == "y"


@respx.mock
async def test_stops_on_an_empty_page_even_if_more_is_claimed() -> None:
    route = respx.get(f"{API}/incidents").mock(return_value=page("incidents", [], True))
    assert [p async for p in make_client().paginate("/incidents")] == []
    assert route.call_count == 1


@pytest.mark.parametrize(
    ("token_type", "expected"),
    [
        (TokenType.API_TOKEN, f"Token token={TOKEN}"),
        (TokenType.OAUTH, f"Bearer {TOKEN}"),
    ],
)
@respx.mock
async def test_authorization_header_follows_token_type(
    token_type: TokenType, expected: str
) -> None:
    route = respx.get(f"{API}/users/U1").respond(json={"user": {"id": "U1"}})
    await make_client(token_type).get("/users/U1")
    request = route.calls.last.request
    assert request.headers["Authorization"] == expected
    assert request.headers["Accept"] == "application/vnd.pagerduty+json;version=2"


@respx.mock
async def test_401_fails_at_once_with_an_actionable_message() -> None:
    route = respx.get(f"{API}/services").respond(
        401, json={"error": {"message": "Authentication failed", "code": 2006}}
    )
    with pytest.raises(PagerDutyAuthError) as raised:
        await make_client().get("/services")
    message = str(raised.value)
    assert route.call_count == 1, "a rejected token must not be retried"
    assert "401 Authentication failed" in message
    assert f"{API}/services" in message
    assert "token" in message and EU_API_URL in message
    assert TOKEN not in message
    assert "'1234'" in message


@respx.mock
async def test_stock_ocean_transport_would_retry_the_401() -> None:
    """Guards the reason PagerDutyRetryTransport exists."""
    route = respx.get(f"{API}/services").respond(401, json={})
    client = PagerDutyClient(
        TOKEN, API, http_client=retrying_client(transport_class=RetryTransport)
    )
    with pytest.raises(PagerDutyAuthError):
        await client.get("/services")
    assert route.call_count > 1


@respx.mock
async def test_403_names_the_missing_access() -> None:
    respx.get(f"{API}/incidents").respond(
        403, json={"error": {"message": "Access Denied", "code": 2010}}
    )
    with pytest.raises(PagerDutyAuthError, match="403 Access Denied.*lacks the access"):
        await make_client().get("/incidents")


@respx.mock
async def test_transient_5xx_and_429_are_retried() -> None:
    route = respx.get(f"{API}/teams").mock(
        side_effect=[
            httpx.Response(500, json={}),
            httpx.Response(429, json={}, headers={"ratelimit-reset": "0"}),
            httpx.Response(200, json={"teams": [], "more": False}),
        ]
    )
    assert await make_client().get("/teams") == {"teams": [], "more": False}
    assert route.call_count == 3


@respx.mock
async def test_non_api_404_points_at_api_url() -> None:
    respx.get(f"{API}/services").respond(404, text="<html>nope</html>")
    with pytest.raises(PagerDutyError, match="apiUrl"):
        await make_client().get("/services")


@respx.mock
async def test_oncalls_are_batched_and_ordered_by_level() -> None:
    policies = [f"P{i:03d}" for i in range(120)]

    def answer(request: httpx.Request) -> httpx.Response:
        ids = request.url.params.get_list("escalation_policy_ids[]")
        oncalls = [
            {
                "escalation_policy": {"id": pid},
                "escalation_level": level,
                "start": "2024-01-01T00:00:00Z",
                "user": {"id": f"U{pid}{level}"},
            }
            for pid in ids
            for level in (3, 1, 2)
        ]
        return httpx.Response(200, json={"oncalls": oncalls, "more": False})

    route = respx.get(f"{API}/oncalls").mock(side_effect=answer)
    result = await make_client().oncalls_by_escalation_policy(policies + policies[:5])

    assert route.call_count == 3, "120 policies in batches of 50"
    for call in route.calls:
        assert call.request.url.params.get_list("include[]") == ["users"]
    assert set(result) == set(policies)
    assert [o["escalation_level"] for o in result["P007"]] == [1, 2, 3]


def test_unknown_token_type_is_a_clear_error() -> None:
    assert token_type_from(None) is TokenType.API_TOKEN
    assert token_type_from("oauth") is TokenType.OAUTH
    with pytest.raises(
        PagerDutyError, match="tokenType is 'bearer'; it must be one of"
    ):
        token_type_from("bearer")


@pytest.mark.parametrize("fault", [502, 503, 500, 429])
@respx.mock
async def test_read_only_analytics_post_is_retried_like_a_get(fault: int) -> None:
    """Found by the contract-checked simulator: Ocean retries no POST by default,
    so one transient fault on the analytics call failed the whole services kind."""
    route = respx.post(f"{API}/analytics/metrics/incidents/services").mock(
        side_effect=[
            httpx.Response(
                fault,
                json={"error": {"message": "x", "code": 2000}},
                # A 429 closes the shared budget's window until PagerDuty's reset.
                headers={"ratelimit-reset": "1"},
            ),
            httpx.Response(200, json={"data": [{"service_id": "S1", "n": 1}]}),
        ]
    )
    since = datetime(2026, 1, 1, tzinfo=UTC)
    answer = await make_client().service_analytics(["S1"], since, since)
    assert answer == {"S1": {"service_id": "S1", "n": 1}}
    assert route.call_count == 2


@respx.mock
async def test_a_write_post_is_never_repeated_blindly() -> None:
    route = respx.post(f"{API}/incidents").respond(
        502, json={"error": {"message": "Bad gateway", "code": 2000}}
    )
    with pytest.raises(PagerDutyError):
        await make_client().request("POST", "/incidents", json={"incident": {}})
    assert route.call_count == 1
