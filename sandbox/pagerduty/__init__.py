"""A local PagerDuty REST API v2 simulator (Starlette ASGI app), one module per API area.

Build it with ``create_app(SimConfig(...))`` or run it as a process::

    python -m sandbox.pagerduty --port 0 --seed 1 --services 20 --incidents 200

Every request to the PagerDuty API and every answer is checked against
PagerDuty's OpenAPI document (``contract/``); violations are refused like
PagerDuty refuses bad input and recorded (``GET /_sim/contract/violations``).
The control API under ``/_sim/`` (no auth, not counted, not rate limited)
lets tests inspect counters, change faults at runtime, mutate data and fire
signed V3 webhooks.

Layers, each importing only from the ones above it: ``words``, ``schedules``
→ ``store`` → ``oncall_model``, ``data_*`` → ``data``, ``views``, ``events``,
``metrics``; ``errors``, ``times``, ``paging``, ``config``, ``limits``,
``auth``; ``contract_schema`` → ``errata`` → ``contract``, ``violations``;
``subscriptions`` → ``deliveries``; ``state``; the API areas (``services``,
``incidents``, ``incident_writes``, ``people``, ``oncalls``, ``webhooks``,
``analytics``) and the control API (``control``, ``webhook_control``);
``pipeline`` → ``app`` → ``server`` → ``cli``.
"""

from sandbox.pagerduty.app import create_app
from sandbox.pagerduty.config import SimConfig
from sandbox.pagerduty.server import RunningSim, serve_in_background, start_server
from sandbox.pagerduty.state import PagerDutySim

__all__ = [
    "PagerDutySim",
    "RunningSim",
    "SimConfig",
    "create_app",
    "serve_in_background",
    "start_server",
]
