"""Triggering an action run: what Port does when a user runs a self-service
action whose invocation method is ``INTEGRATION_ACTION``.

The run's ``payload`` is the action's invocation method with the execution
properties in ``integrationActionExecutionProperties``: Ocean routes the run to the
executor whose ``ACTION_NAME`` equals ``payload.integrationActionType``, and hands
it ``run.execution_properties``. Port renders the definition's jq templates
(``{{ .inputs.x }}``) into those properties; the stand-in does not, so the
trigger supplies them already rendered.
"""

from __future__ import annotations

import copy
import secrets
import string
from typing import Any

from sandbox.port.actions import INTEGRATION_ACTION, ActionStore
from sandbox.port.catalog import CatalogStore
from sandbox.port.common import JSON, PortError, now_iso
from sandbox.port.integrations import IntegrationStore
from sandbox.port.runs import IN_PROGRESS, RunStore

_ID_ALPHABET = string.ascii_letters + string.digits


def new_run_id() -> str:
    """Port-shaped run id: ``r_`` and 16 letters or digits."""
    return "r_" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(16))


class RunTrigger:
    """Builds a run from an action definition (when there is one), the catalog's
    entity and the trigger's inputs, and queues it as pending."""

    def __init__(
        self,
        runs: RunStore,
        actions: ActionStore,
        catalog: CatalogStore,
        integrations: IntegrationStore,
    ) -> None:
        self.runs = runs
        self.actions = actions
        self.catalog = catalog
        self.integrations = integrations

    def _installation(self, body: JSON, method: JSON) -> str:
        installation = body.get("installationId") or method.get("installationId")
        if not installation and len(self.integrations.integrations) == 1:
            installation = next(iter(self.integrations.integrations))
        if not isinstance(installation, str) or not installation:
            raise PortError(
                422,
                "invalid_request",
                "installationId is required (no action definition names one and "
                "there is not exactly one integration)",
            )
        return installation

    def _entity_refs(self, body: JSON, definition: JSON | None) -> tuple[Any, Any]:
        entity = body.get("entity")
        blueprint = body.get("blueprint")
        if isinstance(entity, dict):
            blueprint = entity.get("blueprint", blueprint)
            entity = entity.get("identifier")
        if blueprint is None and definition is not None:
            blueprint = definition.get("trigger", {}).get("blueprintIdentifier")
        if entity is None:
            ref = None
            if blueprint is not None:
                known = self.catalog.blueprints.get(str(blueprint))
                ref = {
                    "identifier": blueprint,
                    "title": (known or {}).get("title"),
                    "icon": (known or {}).get("icon"),
                    "deleted": known is None,
                }
            return ref, None
        if blueprint is None:
            raise PortError(422, "invalid_request", "entity needs its blueprint")
        found = self.catalog.find_entity(str(blueprint), str(entity))
        if found is None:
            raise PortError(
                404,
                "not_found",
                f"Entity {entity!r} of blueprint {blueprint!r} was not found",
            )
        known_bp = self.catalog.blueprints[str(blueprint)]
        return (
            {
                "identifier": blueprint,
                "title": known_bp.get("title"),
                "icon": known_bp.get("icon"),
                "deleted": False,
            },
            {
                "identifier": entity,
                "title": found.get("title"),
                "icon": found.get("icon"),
                "deleted": False,
            },
        )

    def enqueue(self, body: JSON) -> JSON:
        """Create a run the way a user triggering the action in Port would."""
        action_id = body.get("action") or body.get("actionIdentifier")
        action_type = body.get("actionType") or body.get("name")
        definition = self.actions.actions.get(str(action_id)) if action_id else None
        method: JSON = dict((definition or {}).get("invocationMethod") or {})
        if definition is not None and method.get("type") != INTEGRATION_ACTION:
            raise PortError(
                422,
                "invalid_request",
                f"Action {action_id!r} is invoked by {method.get('type')!r}, "
                f"not {INTEGRATION_ACTION}",
            )
        action_type = action_type or method.get("integrationActionType") or action_id
        action_id = action_id or action_type
        if not isinstance(action_type, str) or not isinstance(action_id, str):
            raise PortError(422, "invalid_request", "action or actionType is required")
        properties = body.get(
            "properties", method.get("integrationActionExecutionProperties", {})
        )
        inputs = body.get("inputs", {})
        if not isinstance(properties, dict) or not isinstance(inputs, dict):
            raise PortError(422, "invalid_request", "properties/inputs must be objects")
        blueprint_ref, entity_ref = self._entity_refs(body, definition)
        payload: JSON = {
            **copy.deepcopy(method),
            "type": INTEGRATION_ACTION,
            "installationId": self._installation(body, method),
            "integrationActionType": action_type,
            "integrationActionExecutionProperties": copy.deepcopy(properties),
        }
        user = body.get("userEmail") or "port-standin"
        stamp = now_iso()
        run: JSON = {
            "id": new_run_id(),
            "status": IN_PROGRESS,
            "statusLabel": None,
            "link": [],
            "summary": None,
            "externalRunId": None,
            "action": {
                "identifier": action_id,
                "title": (definition or {}).get("title", action_id),
                "icon": (definition or {}).get("icon"),
                "deleted": False,
            },
            "blueprint": blueprint_ref,
            "entity": entity_ref,
            "properties": copy.deepcopy(inputs),
            "payload": payload,
            "source": str(body.get("source") or "UI"),
            "requiredApproval": False,
            "createdBy": user,
            "updatedBy": user,
            "createdAt": stamp,
            "updatedAt": stamp,
            "endedAt": None,
        }
        self.runs.add(run)
        return run
