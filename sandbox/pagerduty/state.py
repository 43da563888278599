"""The simulator's state: data, runtime config, counters, limits and records."""

from __future__ import annotations

import random
import weakref
from functools import lru_cache

from sandbox.pagerduty.config import SimConfig
from sandbox.pagerduty.contract import Contract
from sandbox.pagerduty.data import DataSizes, generate
from sandbox.pagerduty.deliveries import Deliverer
from sandbox.pagerduty.limits import Counters, FixedWindowLimiter
from sandbox.pagerduty.store import PdStore
from sandbox.pagerduty.subscriptions import Subscriptions
from sandbox.pagerduty.violations import ViolationLog
from sandbox.pagerduty.write_log import WriteLog


@lru_cache(maxsize=1)
def shared_contract() -> Contract:
    """The compiled contract, built once per process (compiling takes a moment)."""
    return Contract()


# Every simulator alive in this process, so a test harness can look at what each
# one recorded (its contract violations) without being handed the instance.
LIVE_SIMULATORS: weakref.WeakSet[PagerDutySim] = weakref.WeakSet()


class PagerDutySim:
    """Everything one simulated account holds; the handlers read and change it."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        sizes = DataSizes(
            config.services,
            config.incidents,
            config.teams,
            config.users,
            config.shift_minutes,
        )
        self.store: PdStore = generate(
            config.seed, sizes, config.base_url, config.html_base, config.now
        )
        self.counters = Counters()
        self.limiter = FixedWindowLimiter()
        self.operation_limiter = FixedWindowLimiter()
        self.daily_limiter = FixedWindowLimiter()
        self.fault_rng = random.Random(config.seed * 7919 + 17)
        self.subscriptions = Subscriptions(
            self.store.ids, config.delivery_failure_limit
        )
        self.deliverer = Deliverer(self.subscriptions, config.webhook_transport)
        self.violations = ViolationLog(config.violations_file)
        self.contract = shared_contract()
        self.writes = WriteLog()
        LIVE_SIMULATORS.add(self)

    def reconfigure(self, config: SimConfig) -> None:
        self.config = config
        self.subscriptions.failure_limit = config.delivery_failure_limit
