"""API tokens: ``Authorization: Token token=...`` or ``Bearer ...`` (OAuth)."""

from __future__ import annotations

from dataclasses import dataclass

READ_METHODS = frozenset({"GET", "HEAD"})
# POST operations that only read (safe to retry, allowed to read-only keys).
READING_POSTS = frozenset(
    {
        "getAnalyticsMetricsIncidentsService",
        "getAnalyticsMetricsIncidentsServiceAll",
        "getAnalyticsMetricsIncidentsTeam",
        "getAnalyticsIncidents",
    }
)


@dataclass(frozen=True)
class Credentials:
    token: str
    oauth: bool


def extract_credentials(header: str | None) -> Credentials | None:
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme == "Bearer":
        return Credentials(value, oauth=True) if value else None
    if scheme == "Token" and value.startswith("token="):
        token = value[len("token=") :]
        return Credentials(token, oauth=False) if token else None
    return None


def is_write(method: str, operation_id: str | None) -> bool:
    return method not in READ_METHODS and operation_id not in READING_POSTS
