"""Where the catalog's data did not fit its blueprints (``GET /_standin/mismatches``)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sandbox.port.common import JSON, Settings, logger, now_iso


class MismatchLog:
    """One record per (blueprint, identifier, kind, field), counting repeats."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.records: dict[tuple[str, str, str, str], JSON] = {}

    def record(
        self,
        *,
        blueprint: str,
        identifier: str,
        kind: str,
        field_name: str,
        message: str,
        expected: Any = None,
        got: Any = None,
        datasource: str | None = None,
        rejected: bool = False,
    ) -> JSON:
        key = (blueprint, identifier, kind, field_name)
        existing = self.records.get(key)
        if existing is not None:
            existing["count"] += 1
            existing["lastSeen"] = now_iso()
            existing["got"] = got
            existing["rejected"] = rejected
            return existing
        record: JSON = {
            "blueprint": blueprint,
            "identifier": identifier,
            "kind": kind,
            "field": field_name,
            "expected": expected,
            "got": got,
            "message": message,
            "datasource": datasource,
            "rejected": rejected,
            "count": 1,
            "firstSeen": now_iso(),
            "lastSeen": now_iso(),
        }
        self.records[key] = record
        logger.warning(
            "schema mismatch [%s] %s/%s %s: %s",
            kind,
            blueprint,
            identifier,
            field_name,
            message,
        )
        return record

    def report(self) -> JSON:
        items = list(self.records.values())
        by_kind: Counter[str] = Counter(item["kind"] for item in items)
        return {
            "strict": self.settings.strict,
            "count": len(items),
            "byKind": dict(by_kind),
            "mismatches": items,
        }

    def clear(self) -> None:
        self.records.clear()
