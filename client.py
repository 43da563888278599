"""The one async PagerDuty REST API v2 client of the integration.

It owns authentication, error translation and the retry policy; pagination.py
knows how PagerDuty pages and rate_budget.py how fast it may be asked. Transient
failures (429, 5xx, connection errors) are retried by Ocean's retry
transport; permanent ones (401, 403, other 4xx) fail at once with a message that
says what to fix.
"""

import time
from collections.abc import AsyncIterator, Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import httpx
from loguru import logger
from port_ocean.context.ocean import ocean
from port_ocean.helpers.async_client import OceanAsyncClient
from port_ocean.helpers.retry import (
    SKIP_RETRY_EXTENSION_KEY,
    RetryConfig,
    RetryTransport,
)

from pagination import OpenRange, Paginator, Window, iso
from rate_budget import RateBudget, daily_quota_spent, shared_rate_budget

DEFAULT_API_URL = "https://api.pagerduty.com"
EU_API_URL = "https://api.eu.pagerduty.com"
ONCALL_POLICY_BATCH = 50
PAGERDUTY_ACCEPT = "application/vnd.pagerduty+json;version=2"
# Six attempts ride out a transient fault (10% 5xx: one in a million requests
# fails them all) yet a wrong apiUrl is reported within seconds, not minutes.
MAX_ATTEMPTS = 6
# After retries to an unreachable apiUrl are spent, fail fast for this long.
UNREACHABLE_FOR = 60.0

JSON = dict[str, Any]


class TokenType(StrEnum):
    API_TOKEN = "apiToken"
    OAUTH = "oauth"


class PagerDutyError(Exception):
    """A PagerDuty request failed in a way that retrying will not fix."""


class PagerDutyAuthError(PagerDutyError):
    """PagerDuty rejected the credentials (401) or their scope (403)."""


class PagerDutyForbiddenError(PagerDutyAuthError):
    """PagerDuty refused the request for the token's scope (403)."""


class PagerDutyUnreachableError(PagerDutyError):
    """No connection to apiUrl, even after retries."""


@dataclass
class Unreachable:
    error: PagerDutyUnreachableError
    until: float


class PagerDutyQuotaError(PagerDutyError):
    """A daily quota (e.g. of the analytics API) is spent; retrying today won't help."""


class PagerDutyNotFoundError(PagerDutyError):
    """PagerDuty answered that the object does not exist (any more)."""


class BudgetedTransport(httpx.AsyncBaseTransport):
    """Spends the process-wide rate budget on every attempt, retries included."""

    def __init__(self, wrapped: httpx.AsyncBaseTransport, budget: RateBudget) -> None:
        self.wrapped = wrapped
        self.budget = budget

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await self.budget.acquire()
        response: httpx.Response | None = None
        try:
            response = await self.wrapped.handle_async_request(request)
            return response
        finally:
            self.budget.release(
                response.status_code if response else None,
                response.headers if response else {},
            )

    async def aclose(self) -> None:
        await self.wrapped.aclose()


# Ocean retries 401 by default (its RetryConfig always includes it); a wrong
# PagerDuty token would then be retried with backoff before the user hears
# about it. 403 and a spent daily quota cannot change within a run either.
NEVER_RETRIED = frozenset({401, 403})


FINAL_ANSWER_EXTENSION = "pagerduty.final_answer"


class FinalAnswer(Exception):
    """An answer that retrying cannot change, on its way past Ocean's retries."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"{response.status_code} (not retried)")
        self.response = response


def is_final_answer(response: httpx.Response) -> bool:
    return response.status_code in NEVER_RETRIED or is_daily_quota_spent(response)


class FinalAnswerTransport(httpx.AsyncBaseTransport):
    """Below Ocean's retry transport: lifts an answer retrying cannot change out
    of the retry loop. The loop retries only transport errors and its status
    codes, so any other exception leaves it at once."""

    def __init__(self, wrapped: httpx.AsyncBaseTransport) -> None:
        self.wrapped = wrapped

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.wrapped.handle_async_request(request)
        if request.extensions.get(FINAL_ANSWER_EXTENSION) and is_final_answer(response):
            raise FinalAnswer(response)
        return response

    async def aclose(self) -> None:
        await self.wrapped.aclose()


class PagerDutyRetryTransport(RetryTransport):
    """Ocean's retry transport over the shared rate budget, minus retries of
    answers that cannot change, through public API only: the transport below the
    retry loop raises `FinalAnswer` for them and this one returns its response.
    """

    def __init__(
        self,
        wrapped_transport: httpx.AsyncBaseTransport,
        budget: RateBudget | None = None,
        **kwargs: Any,
    ) -> None:
        budgeted = BudgetedTransport(wrapped_transport, budget or shared_rate_budget())
        super().__init__(wrapped_transport=FinalAnswerTransport(budgeted), **kwargs)
        self.retry_policy: RetryConfig = kwargs.get("retry_config") or RetryConfig()

    def retries(self, request: httpx.Request) -> bool:
        """Whether Ocean's retry loop handles this request (its documented
        `retryable` and `skip_retry` request extensions, and its methods)."""
        if request.extensions.get(SKIP_RETRY_EXTENSION_KEY):
            return False
        return request.method in self.retry_policy.retryable_methods or bool(
            request.extensions.get("retryable")
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.retries(request):
            request.extensions = {**request.extensions, FINAL_ANSWER_EXTENSION: True}
        try:
            return await super().handle_async_request(request)
        except FinalAnswer as answer:
            return answer.response


def pagerduty_retry_config() -> RetryConfig:
    return RetryConfig(
        max_attempts=MAX_ATTEMPTS,
        additional_retry_status_codes=[500],
        retry_after_headers=["ratelimit-reset"],
        # A 5xx is not a rate-limit signal: back off exponentially, don't wait
        # for the rate-limit window to reset.
        ignore_retry_after_status_codes=[500, 502, 503, 504],
    )


def is_daily_quota_spent(response: httpx.Response) -> bool:
    return daily_quota_spent(response.status_code, response.headers)


def is_pagerduty_error_body(response: httpx.Response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and isinstance(body.get("error"), dict)


def describe_error_body(response: httpx.Response) -> str:
    try:
        error = response.json().get("error", {})
    except ValueError:
        return response.text[:200]
    if not isinstance(error, dict):
        return str(error)[:200]
    details = "; ".join(str(item) for item in error.get("errors", []))
    message = str(error.get("message", ""))
    return f"{message} ({details})" if details else message


def token_hint(token: str) -> str:
    """Enough of a token to tell two apart in an error message, never the token."""
    return f"ending in '{token[-4:]}'" if len(token) >= 16 else "(too short to hint)"


class PagerDutyClient:
    def __init__(
        self,
        token: str,
        api_url: str = DEFAULT_API_URL,
        token_type: TokenType = TokenType.API_TOKEN,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.token_type = token_type
        self._token = token
        self._http = http_client or build_http_client()
        self._paginator = Paginator(self)
        self._unreachable: Unreachable | None = None

    @property
    def headers(self) -> dict[str, str]:
        if self.token_type is TokenType.OAUTH:
            authorization = f"Bearer {self._token}"
        else:
            authorization = f"Token token={self._token}"
        return {
            "Authorization": authorization,
            "Accept": PAGERDUTY_ACCEPT,
            "Content-Type": "application/json",
            # The analytics API is served to accounts that opt in with this header.
            "X-EARLY-ACCESS": "analytics-v2",
        }

    async def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        read_only: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> JSON:
        """One call. `read_only` marks a POST that only reads (analytics), so it
        is retried like a GET; other POSTs are never repeated blindly. `headers`
        are added to the client's (e.g. `From` on incident writes)."""
        url = f"{self.api_url}/{path.lstrip('/')}"
        if self._unreachable and time.monotonic() < self._unreachable.until:
            raise self._unreachable.error
        try:
            response = await self._http.request(
                method,
                url,
                params=params,
                json=json,
                headers={**self.headers, **(headers or {})},
                # Ocean's retry transport retries requests marked retryable.
                extensions={"retryable": True} if read_only else None,
            )
        except httpx.TransportError as error:
            unreachable = PagerDutyUnreachableError(
                f"Could not reach PagerDuty at {self.api_url} ({type(error).__name__}: "
                f"{error}). Check the integration's apiUrl setting "
                f"(US: {DEFAULT_API_URL}, EU: {EU_API_URL})."
            )
            # Retries are spent: every other kind of this resync would wait as
            # long again for the same answer.
            self._unreachable = Unreachable(
                unreachable, time.monotonic() + UNREACHABLE_FOR
            )
            raise unreachable from error
        self._unreachable = None
        self._raise_for_status(method, url, response)
        body: JSON = response.json() if response.content else {}
        return body

    async def get(self, path: str, params: Mapping[str, Any] | None = None) -> JSON:
        return await self.request("GET", path, params=params)

    async def get_object(
        self, path: str, key: str, params: Mapping[str, Any] | None = None
    ) -> JSON | None:
        """One object (`{key: {...}}` envelope), or None when PagerDuty has none."""
        try:
            body = await self.get(path, params)
        except PagerDutyNotFoundError:
            return None
        found: JSON | None = body.get(key)
        return found

    def _raise_for_status(
        self, method: str, url: str, response: httpx.Response
    ) -> None:
        if response.is_success:
            return
        status = response.status_code
        reason = describe_error_body(response)
        if status == 401:
            raise PagerDutyAuthError(self._unauthorized_message(url, reason))
        if status == 403:
            raise PagerDutyForbiddenError(
                f"PagerDuty refused {method} {url} (403 {reason}): the "
                f"{self.token_type.value} token {token_hint(self._token)} lacks the "
                "access this needs. Use a read-only (or full access) API key, or an "
                "OAuth token with read scopes for this object type."
            )
        if is_daily_quota_spent(response):
            raise PagerDutyQuotaError(f"PagerDuty's daily quota for {url} is spent")
        is_json = response.headers.get("content-type", "").startswith(
            "application/json"
        )
        if status == 404 and is_json and is_pagerduty_error_body(response):
            raise PagerDutyNotFoundError(f"PagerDuty has no {url} ({reason})")
        if status == 404:
            raise PagerDutyError(
                f"{url} answered 404 and does not look like PagerDuty's REST API. "
                f"Check the integration's apiUrl setting (now {self.api_url}; US: "
                f"{DEFAULT_API_URL}, EU: {EU_API_URL})."
            )
        raise PagerDutyError(f"PagerDuty {method} {url} failed: {status} {reason}")

    def _unauthorized_message(self, url: str, reason: str) -> str:
        message = (
            f"PagerDuty rejected the {self.token_type.value} token "
            f"{token_hint(self._token)} at {url} (401 {reason}). Check the "
            "integration's token setting (OCEAN__INTEGRATION__CONFIG__TOKEN); the "
            "key may be wrong or revoked."
        )
        if self.api_url == DEFAULT_API_URL:
            message += (
                " If your PagerDuty account is in the EU service region, set apiUrl "
                f"to {EU_API_URL}."
            )
        if self.token_type is TokenType.API_TOKEN:
            message += (
                " For an OAuth access token, set tokenType to "
                f"'{TokenType.OAUTH.value}'."
            )
        return message

    async def paginate(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        items_key: str | None = None,
    ) -> AsyncIterator[list[JSON]]:
        """Every page of a PagerDuty list endpoint (see pagination.py)."""
        key = items_key or path.strip("/").split("/")[-1]
        async for page in self._paginator.pages(path, params or {}, key):
            yield page

    async def paginate_by_created_at(
        self,
        path: str,
        params: Mapping[str, Any],
        window: Window | OpenRange,
        items_key: str | None = None,
    ) -> AsyncIterator[list[JSON]]:
        """Every page created within `window`, past the 10,000 cap."""
        key = items_key or path.strip("/").split("/")[-1]
        async for page in self._paginator.pages_by_created_at(
            path, params, key, window
        ):
            yield page

    async def paginate_by_overlap(
        self,
        path: str,
        params: Mapping[str, Any],
        window: Window,
        identity: Callable[[JSON], Hashable],
    ) -> AsyncIterator[list[JSON]]:
        """Every record overlapping `window`, once each, past the 10,000 cap."""
        key = path.strip("/").split("/")[-1]
        async for page in self._paginator.pages_by_overlap(
            path, params, key, window, identity
        ):
            yield page

    async def service_analytics(
        self, service_ids: list[str], since: datetime, until: datetime
    ) -> dict[str, JSON]:
        """Aggregated incident analytics per service over [since, until)."""
        body = {
            "filters": {
                "created_at_start": iso(since),
                "created_at_end": iso(until),
                "service_ids": service_ids,
            }
        }
        answer = await self.request(
            "POST", "/analytics/metrics/incidents/services", json=body, read_only=True
        )
        return {
            str(row["service_id"]): row
            for row in answer.get("data") or []
            if row.get("service_id")
        }

    async def oncalls_by_escalation_policy(
        self, policy_ids: Iterable[str]
    ) -> dict[str, list[JSON]]:
        """Current on-calls (with full users) per escalation policy, lowest level first."""
        unique_ids = sorted(set(policy_ids))
        oncalls: dict[str, list[JSON]] = {policy_id: [] for policy_id in unique_ids}
        for start in range(0, len(unique_ids), ONCALL_POLICY_BATCH):
            batch = unique_ids[start : start + ONCALL_POLICY_BATCH]
            params = {"escalation_policy_ids[]": batch, "include[]": ["users"]}
            async for page in self.paginate("/oncalls", params):
                for oncall in page:
                    policy_id = (oncall.get("escalation_policy") or {}).get("id")
                    if policy_id in oncalls:
                        oncalls[policy_id].append(oncall)
        for entries in oncalls.values():
            entries.sort(key=oncall_sort_key)
        return oncalls


def oncall_sort_key(oncall: JSON) -> tuple[int, str]:
    return (int(oncall.get("escalation_level") or 0), str(oncall.get("start") or ""))


def build_http_client() -> httpx.AsyncClient:
    return OceanAsyncClient(
        PagerDutyRetryTransport,
        retry_config=pagerduty_retry_config(),
        timeout=ocean.config.client_timeout,
    )


def token_type_from(value: str | None) -> TokenType:
    try:
        return TokenType(value or TokenType.API_TOKEN)
    except ValueError:
        allowed = ", ".join(f"'{t.value}'" for t in TokenType)
        raise PagerDutyError(
            f"tokenType is '{value}'; it must be one of {allowed}"
        ) from None


_shared_client: PagerDutyClient | None = None


def shared_pagerduty_client() -> PagerDutyClient:
    """The process-wide client (one per process, shared by every caller), built
    on first use from the integration's configuration."""
    global _shared_client
    if _shared_client is None:
        config = ocean.integration_config
        _shared_client = PagerDutyClient(
            token=config["token"],
            api_url=config.get("api_url") or DEFAULT_API_URL,
            token_type=token_type_from(config.get("token_type")),
        )
        logger.info(
            f"PagerDuty client ready for {_shared_client.api_url} "
            f"({_shared_client.token_type.value} token)"
        )
    return _shared_client
