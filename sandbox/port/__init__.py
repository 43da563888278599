"""A local stand-in for Port's REST API, shaped after what port-ocean 0.56.2 calls.

Run it as ``python -m sandbox.port --port 0 --ready-file PATH --dump PATH``
and point an Ocean integration at it with ``OCEAN__PORT__BASE_URL``.

The stand-in keeps an in-memory organisation (blueprints, entities, integrations,
self-service actions and their runs) and answers the endpoints the Ocean framework
uses on start-up, resync, action processing and shutdown. Entities are checked
against their blueprint schema; by default a mismatch is *recorded* (see
``GET /_standin/mismatches``) and the entity stored anyway, with ``strict=True``
it is rejected the way Port rejects it (HTTP 422).

A control API under ``/_standin/`` (no auth) exposes and seeds the state and
triggers action runs.

Modules follow the Port API areas: ``auth``, ``integrations``, ``blueprints``,
``entities`` (with ``upsert``, ``schema`` and ``search``), ``actions``, ``runs``
(with ``triggers``, how a user's click becomes a pending run), ``workflows``,
``resources`` (scorecards, pages). ``catalog`` holds the shared catalog data,
``mismatches`` and ``traffic`` the bookkeeping, ``state`` wires the stores,
``control`` is ``/_standin``, ``app`` builds the ASGI app and ``cli`` serves it.
"""

from sandbox.port.app import create_app
from sandbox.port.common import datasource_for
from sandbox.port.state import PortState

__all__ = ["PortState", "create_app", "datasource_for"]
