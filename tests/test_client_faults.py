"""Client messages for misconfigurations that the sandbox cannot reproduce faithfully."""

import httpx
import pytest
import respx

from client import (
    DEFAULT_API_URL,
    EU_API_URL,
    PagerDutyAuthError,
    PagerDutyClient,
    PagerDutyError,
    PagerDutyNotFoundError,
)

TOKEN = "u+eu-account-token-abcdefgh-9876"
UNAUTHORIZED = {"error": {"message": "Authentication failed", "code": 2006}}


def client_for(api_url: str) -> PagerDutyClient:
    return PagerDutyClient(TOKEN, api_url, http_client=httpx.AsyncClient())


@pytest.mark.parametrize("api_url", [DEFAULT_API_URL, f"{DEFAULT_API_URL}/"])
@respx.mock
async def test_eu_account_on_the_us_url_is_told_about_the_eu_url(api_url: str) -> None:
    """An EU service-region key is unknown to the US API: PagerDuty answers 401."""
    respx.get(f"{DEFAULT_API_URL}/services").respond(401, json=UNAUTHORIZED)
    with pytest.raises(PagerDutyAuthError) as raised:
        await client_for(api_url).get("/services")
    message = str(raised.value)
    assert EU_API_URL in message
    assert "apiUrl" in message
    assert TOKEN not in message


@respx.mock
async def test_the_eu_hint_is_not_given_on_the_eu_url() -> None:
    respx.get(f"{EU_API_URL}/services").respond(401, json=UNAUTHORIZED)
    with pytest.raises(PagerDutyAuthError) as raised:
        await client_for(EU_API_URL).get("/services")
    assert f"set apiUrl to {EU_API_URL}" not in str(raised.value)


@respx.mock
async def test_a_json_404_that_is_not_pagerdutys_points_at_api_url() -> None:
    """Another JSON API at apiUrl (a proxy, Port, a typo'd host) is not "object gone"."""
    respx.get(f"{DEFAULT_API_URL}/services").respond(
        404, json={"ok": False, "error": "not_found", "message": "no such route"}
    )
    with pytest.raises(PagerDutyError, match="apiUrl") as raised:
        await client_for(DEFAULT_API_URL).get("/services")
    assert not isinstance(raised.value, PagerDutyNotFoundError)


@respx.mock
async def test_pagerdutys_own_404_still_means_the_object_is_gone() -> None:
    respx.get(f"{DEFAULT_API_URL}/incidents/GONE").respond(
        404, json={"error": {"message": "Not Found", "code": 2100}}
    )
    assert await client_for(DEFAULT_API_URL).get_object("/incidents/GONE", "x") is None
