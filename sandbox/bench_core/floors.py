"""The rate floor: the fewest PagerDuty requests a full resync needs, at the budget's pace."""

import math
from dataclasses import dataclass

PAGE_SIZE = 100  # PagerDuty's maximum `limit`
ONCALL_POLICY_BATCH = 50  # escalation_policy_ids[] per /oncalls request
RATE_FLOOR_FORMULA = (
    "minimal requests = max(1, ceil(services/100)) + max(1, ceil(incidents/100))"
    " + ceil(policies_with_services/50); rate floor = minimal requests / (budget/60) s"
)


@dataclass(frozen=True)
class RateFloor:
    services: int
    incidents: int
    policies_with_services: int
    rate_limit_per_minute: int

    @property
    def service_requests(self) -> int:
        return max(1, math.ceil(self.services / PAGE_SIZE))

    @property
    def incident_requests(self) -> int:
        return max(1, math.ceil(self.incidents / PAGE_SIZE))

    @property
    def oncall_requests(self) -> int:
        return math.ceil(self.policies_with_services / ONCALL_POLICY_BATCH)

    @property
    def minimal_requests(self) -> int:
        return self.service_requests + self.incident_requests + self.oncall_requests

    @property
    def requests_per_second(self) -> float:
        return self.rate_limit_per_minute / 60

    @property
    def seconds(self) -> float:
        if self.rate_limit_per_minute <= 0:
            return 0.0
        return self.minimal_requests / self.requests_per_second


def ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator, or None when the denominator is not positive."""
    return numerator / denominator if denominator > 0 else None
