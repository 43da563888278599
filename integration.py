"""Typed resource configs and selectors for the PagerDuty integration.

Key names follow Port's public PagerDuty integration so existing mappings keep
working. Unknown selector keys are rejected rather than silently ignored.
"""

from enum import StrEnum
from typing import Annotated, Any, Literal

from port_ocean.core.handlers.port_app_config.api import APIPortAppConfig
from port_ocean.core.handlers.port_app_config.models import (
    PortAppConfig,
    ResourceConfig,
    Selector,
)
from port_ocean.core.integrations.base import BaseIntegration
from pydantic.v1 import BaseModel, Extra, Field


class ObjectKind(StrEnum):
    SERVICES = "services"
    INCIDENTS = "incidents"


class StrictModel(BaseModel):
    class Config:
        extra = Extra.forbid
        allow_population_by_field_name = True


class ApiQueryParams(StrictModel):
    """Selector `apiQueryParams`: list values go on the wire as PagerDuty's `key[]`."""

    def to_request_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for key, value in self.dict(exclude_none=True).items():
            params[f"{key}[]" if isinstance(value, list) else key] = value
        return params


class ServiceApiQueryParams(ApiQueryParams):
    include: (
        list[
            Literal[
                "escalation_policies",
                "teams",
                "integrations",
                "auto_pause_notifications_parameters",
            ]
        ]
        | None
    ) = None
    sort_by: Literal["name", "name:asc", "name:desc"] | None = None
    team_ids: list[str] | None = None
    time_zone: str | None = None


IncidentInclude = Literal[
    "acknowledgers",
    "agents",
    "assignees",
    "conference_bridge",
    "escalation_policies",
    "first_trigger_log_entries",
    "priorities",
    "services",
    "teams",
    "users",
]


class IncidentApiQueryParams(ApiQueryParams):
    date_range: Literal["all"] | None = None
    incident_key: str | None = None
    include: list[IncidentInclude] | None = None
    service_ids: list[str] | None = None
    since: str | None = None
    sort_by: str | None = None
    statuses: list[Literal["triggered", "acknowledged", "resolved"]] | None = None
    team_ids: list[str] | None = None
    time_zone: str | None = None
    until: str | None = None
    urgencies: list[Literal["high", "low"]] | None = None
    user_ids: list[str] | None = None


class StrictSelector(Selector):
    class Config:
        extra = Extra.forbid
        allow_population_by_field_name = True


class ServiceSelector(StrictSelector):
    api_query_params: ServiceApiQueryParams = Field(
        default_factory=ServiceApiQueryParams,
        alias="apiQueryParams",
        description="Query parameters passed to PagerDuty's List Services API",
    )
    service_analytics: bool = Field(
        default=True,
        alias="serviceAnalytics",
        description="Accepted for compatibility with Port's public integration",
    )
    analytics_months_period: int = Field(
        default=3,
        ge=1,
        le=12,
        alias="analyticsMonthsPeriod",
        description="Accepted for compatibility with Port's public integration",
    )


class IncidentSelector(StrictSelector):
    api_query_params: IncidentApiQueryParams = Field(
        default_factory=IncidentApiQueryParams,
        alias="apiQueryParams",
        description="Query parameters passed to PagerDuty's List Incidents API",
    )
    lookback_days: int | None = Field(
        default=None,
        ge=1,
        le=3650,
        alias="lookbackDays",
        description=(
            "Import incidents created in the last N days (without since/until or "
            "date_range). Default: PagerDuty's own window, the last 30 days."
        ),
    )
    incident_analytics: bool = Field(
        default=False,
        alias="incidentAnalytics",
        description="Accepted for compatibility with Port's public integration",
    )


class ServiceResourceConfig(ResourceConfig):
    kind: Literal["services"]
    selector: ServiceSelector


class IncidentResourceConfig(ResourceConfig):
    kind: Literal["incidents"]
    selector: IncidentSelector


PagerDutyResourceConfig = Annotated[
    ServiceResourceConfig | IncidentResourceConfig,
    Field(discriminator="kind"),
]


class PagerDutyPortAppConfig(PortAppConfig):
    resources: list[PagerDutyResourceConfig] = Field(default_factory=list)  # type: ignore[assignment]


class PagerDutyIntegration(BaseIntegration):
    from mapping_guard import GuardedJQEntityProcessor as EntityProcessorClass

    class AppConfigHandlerClass(APIPortAppConfig):
        CONFIG_CLASS = PagerDutyPortAppConfig
