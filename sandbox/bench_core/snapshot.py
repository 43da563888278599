"""The objects a full resync yields, read from a running simulator (untimed).

Services come as `GET /services` pages return them, each with `__oncall_user`:
its escalation policy's on-call entries from `GET /oncalls?include[]=users`,
escalation level 1 first (the integration's enrichment). Incidents are all of
them (`date_range: all`), read in created_at windows small enough to stay under
PagerDuty's 10,000 offset cap, oldest first.

Rate limiting and latency are switched off while reading and restored after;
the request counters and the rate window are reset, so the timed run starts
from zero.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from sandbox.bench_core.jsonl import JSON

PAGE_SIZE = 100
OFFSET_CAP = 10_000
ONCALL_FIELD = "__oncall_user"
WINDOW = timedelta(days=30)
MAX_LOOKBACK = timedelta(days=5 * 366)


@dataclass
class Snapshot:
    services: list[JSON] = field(default_factory=list)
    incidents: list[JSON] = field(default_factory=list)

    @property
    def policies_with_services(self) -> int:
        return len({pid for s in self.services if (pid := policy_id(s))})


def policy_id(service: JSON) -> str | None:
    value = (service.get("escalation_policy") or {}).get("id")
    return str(value) if value else None


def oncall_sort_key(oncall: JSON) -> tuple[int, str]:
    return (int(oncall.get("escalation_level") or 0), str(oncall.get("start") or ""))


def attach_oncalls(services: list[JSON], oncalls: list[JSON]) -> list[JSON]:
    """Adds `__oncall_user` to each service: its policy's on-calls, lowest level first."""
    by_policy: dict[str, list[JSON]] = {}
    for oncall in oncalls:
        pid = (oncall.get("escalation_policy") or {}).get("id")
        if pid:
            by_policy.setdefault(str(pid), []).append(oncall)
    for entries in by_policy.values():
        entries.sort(key=oncall_sort_key)
    for service in services:
        pid = policy_id(service)
        service[ONCALL_FIELD] = list(by_policy.get(pid, [])) if pid else []
    return services


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class SimReader:
    def __init__(self, base_url: str, token: str) -> None:
        self.http = httpx.Client(
            base_url=base_url,
            timeout=120,
            headers={
                "Authorization": f"Token token={token}",
                "Accept": "application/vnd.pagerduty+json;version=2",
            },
        )

    def close(self) -> None:
        self.http.close()

    def page(self, path: str, params: dict[str, Any], offset: int) -> JSON:
        response = self.http.get(
            path, params={**params, "limit": PAGE_SIZE, "offset": offset}
        )
        response.raise_for_status()
        body: JSON = response.json()
        return body

    def list_all(self, path: str, key: str, params: dict[str, Any]) -> list[JSON]:
        items: list[JSON] = []
        while True:
            body = self.page(path, params, len(items))
            items += body.get(key) or []
            if not body.get("more") or not body.get(key):
                return items

    def incident_count(self, since: datetime, until: datetime) -> int:
        params = {"since": iso(since), "until": iso(until), "total": "true"}
        response = self.http.get("/incidents", params={**params, "limit": 1})
        response.raise_for_status()
        return int(response.json().get("total") or 0)

    def incidents_between(self, since: datetime, until: datetime) -> list[JSON]:
        """All incidents created in [since, until), splitting windows above the cap."""
        count = self.incident_count(since, until)
        if count == 0:
            return []
        if count > OFFSET_CAP and until - since > timedelta(seconds=2):
            middle = since + (until - since) / 2
            return self.incidents_between(since, middle) + self.incidents_between(
                middle, until
            )
        params = {"since": iso(since), "until": iso(until)}
        return self.list_all("/incidents", "incidents", params)

    def all_incidents(self, expected: int) -> list[JSON]:
        """Every incident, oldest first, in WINDOW-sized created_at windows back from now."""
        until = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
        stop = until - MAX_LOOKBACK
        windows: list[list[JSON]] = []
        seen: set[str] = set()
        while until > stop and len(seen) < expected:
            since = until - WINDOW
            batch = [
                i for i in self.incidents_between(since, until) if i["id"] not in seen
            ]
            seen.update(i["id"] for i in batch)
            windows.append(batch)
            until = since
        return [incident for batch in reversed(windows) for incident in batch]

    @contextmanager
    def unthrottled(self) -> Iterator[None]:
        """No rate limit or latency while reading; then the old config, zeroed counters."""
        old = self.http.get("/_sim/config").json()
        self.http.post(
            "/_sim/config", json={"rate_limit_per_minute": 0, "latency_ms": 0}
        )
        try:
            yield
        finally:
            self.http.post(
                "/_sim/config",
                json={
                    "rate_limit_per_minute": old["rate_limit_per_minute"],
                    "latency_ms": old["latency_ms"],
                },
            )
            self.http.post("/_sim/rate_limit/reset")
            self.http.post("/_sim/counters/reset")


def read_snapshot(base_url: str, token: str, incidents_total: int) -> Snapshot:
    reader = SimReader(base_url, token)
    try:
        with reader.unthrottled():
            services = reader.list_all("/services", "services", {})
            oncalls = reader.list_all("/oncalls", "oncalls", {"include[]": ["users"]})
            incidents = reader.all_incidents(incidents_total)
    finally:
        reader.close()
    return Snapshot(attach_oncalls(services, oncalls), incidents)
