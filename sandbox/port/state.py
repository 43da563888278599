"""The whole in-memory Port organisation: one store per API area, sharing settings."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from sandbox.port.actions import ActionStore
from sandbox.port.auth import AuthStore
from sandbox.port.blueprints import BlueprintStore
from sandbox.port.catalog import CatalogStore
from sandbox.port.common import DEFAULT_BAD_CREDENTIALS, JSON, Settings
from sandbox.port.entities import EntityDeleter
from sandbox.port.integrations import IntegrationStore
from sandbox.port.mismatches import MismatchLog
from sandbox.port.resources import ResourceStore
from sandbox.port.runs import RunStore
from sandbox.port.search import EntitySearch
from sandbox.port.traffic import RequestLog
from sandbox.port.triggers import RunTrigger
from sandbox.port.upsert import EntityUpserter
from sandbox.port.workflows import WorkflowRunStore


class PortState:
    """Wires the stores together; the attributes below the stores are shortcuts
    for tests and the control API."""

    def __init__(
        self,
        *,
        strict: bool = False,
        bad_credentials: tuple[str, str] | None = DEFAULT_BAD_CREDENTIALS,
        feature_flags: Iterable[str] = (),
        provision_enabled_integrations: Iterable[str] = (),
        org_id: str = "org_standin",
        builtin_blueprints: bool = True,
        before_filter_field: str = "updatedAt",
    ) -> None:
        self.settings = Settings(
            strict=strict,
            bad_credentials=bad_credentials,
            feature_flags=list(feature_flags),
            provision_enabled_integrations=list(provision_enabled_integrations),
            org_id=org_id,
            builtin_blueprints=builtin_blueprints,
            before_filter_field=before_filter_field,
        )
        self.traffic = RequestLog()
        self.auth = AuthStore(self.settings)
        self.mismatches = MismatchLog(self.settings)
        self.store = CatalogStore()
        self.blueprint_store = BlueprintStore(
            self.store, self.mismatches, self.settings
        )
        self.search = EntitySearch(self.store, self.settings)
        self.upserter = EntityUpserter(
            self.store, self.search, self.mismatches, self.settings
        )
        self.deleter = EntityDeleter(self.store, self.blueprint_store)
        self.integration_store = IntegrationStore(self.settings)
        self.action_store = ActionStore()
        self.resources = ResourceStore()
        self.runs = RunStore()
        self.run_trigger = RunTrigger(
            self.runs, self.action_store, self.store, self.integration_store
        )
        self.workflow_runs = WorkflowRunStore()
        self.blueprint_store.install_builtins()

    # ------------------------------------------------------------ shortcuts
    @property
    def strict(self) -> bool:
        return self.settings.strict

    @strict.setter
    def strict(self, value: bool) -> None:
        self.settings.strict = value

    @property
    def blueprints(self) -> dict[str, JSON]:
        return self.store.blueprints

    @property
    def entities(self) -> dict[str, dict[str, JSON]]:
        return self.store.entities

    @property
    def datasources(self) -> dict[tuple[str, str], str]:
        return self.store.datasources

    @property
    def integrations(self) -> dict[str, JSON]:
        return self.integration_store.integrations

    @property
    def actions(self) -> dict[str, JSON]:
        return self.action_store.actions

    @property
    def unauthorized_requests(self) -> int:
        return self.traffic.unauthorized_requests

    def mismatch_report(self) -> JSON:
        return self.mismatches.report()

    def requests_report(self) -> JSON:
        return self.traffic.report()

    # ------------------------------------------------------------ lifecycle
    def reset(self) -> None:
        """Forget the catalog and the bookkeeping; keep settings and issued tokens."""
        for store in (
            self.store,
            self.blueprint_store,
            self.mismatches,
            self.integration_store,
            self.action_store,
            self.resources,
            self.runs,
            self.workflow_runs,
            self.traffic,
        ):
            store.clear()
        self.blueprint_store.install_builtins()

    def seed(self, body: JSON) -> JSON:
        """Load blueprints, entities and integrations directly, bypassing the API checks."""
        counts = {"blueprints": 0, "entities": 0, "integrations": 0}
        counts["blueprints"] = self.blueprint_store.seed(body.get("blueprints") or [])
        counts["entities"] = self.store.seed_entities(
            body.get("entities") or [], body.get("datasource")
        )
        base = str(body.get("baseUrl", "http://127.0.0.1"))
        counts["integrations"] = self.integration_store.seed(
            body.get("integrations") or [], base
        )
        return counts

    def catalog(self) -> JSON:
        """Everything Ocean wrote, as the control API and ``--dump`` show it."""
        exported: dict[str, Any] = self.store.export()
        exported.update(
            {
                "integrations": self.integrations,
                "actions": self.actions,
                "scorecards": self.resources.scorecards,
                "pages": self.resources.pages,
            }
        )
        return copy.deepcopy(exported)
