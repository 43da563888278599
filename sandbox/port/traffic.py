"""What reached the stand-in: request counts, unknown endpoints, refused
tokens, and the faults injected into the next requests."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sandbox.port.common import JSON, now_iso


@dataclass
class Fault:
    """Make the next ``times`` requests to ``method path-template`` fail."""

    method: str
    path: str
    status: int
    times: int
    body: JSON

    def describe(self) -> JSON:
        return {
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "times": self.times,
        }


@dataclass
class RequestLog:
    request_counts: Counter[str] = field(default_factory=Counter)
    unknown_requests: list[JSON] = field(default_factory=list)
    unauthorized_requests: int = 0
    faults: list[Fault] = field(default_factory=list)

    def clear(self) -> None:
        self.request_counts.clear()
        self.unknown_requests.clear()
        self.faults.clear()
        self.unauthorized_requests = 0

    def take_fault(self, method: str, path: str) -> Fault | None:
        """The first armed fault for this route, spending one of its ``times``."""
        for fault in self.faults:
            if fault.times > 0 and fault.method == method and fault.path == path:
                fault.times -= 1
                return fault
        return None

    def unknown(self, method: str, path: str, query: str) -> None:
        self.request_counts[f"UNKNOWN {method} {path}"] += 1
        self.unknown_requests.append(
            {"method": method, "path": path, "query": query, "at": now_iso()}
        )

    def report(self) -> JSON:
        return {
            "counts": dict(sorted(self.request_counts.items())),
            "total": sum(self.request_counts.values()),
            "unknown": list(self.unknown_requests),
            "unknownCount": len(self.unknown_requests),
            "unauthorized": self.unauthorized_requests,
        }
