"""Typed resource configs and selectors for the PagerDuty integration.

Key names follow Port's public PagerDuty integration so existing mappings keep
working. Unknown selector keys are rejected rather than silently ignored.
"""

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar, Literal

from port_ocean.core.handlers.port_app_config.models import (
    PortAppConfig,
    ResourceConfig,
    Selector,
)
from port_ocean.core.integrations.base import BaseIntegration
from pydantic.v1 import BaseModel, Extra, Field, ValidationError, validator
from pydantic.v1.error_wrappers import ErrorWrapper

from app_config import SingleFlightPortAppConfig
from mapping_guard import GuardedJQEntityProcessor
from pagination import iso


class ObjectKind(StrEnum):
    SERVICES = "services"
    INCIDENTS = "incidents"
    SCHEDULES = "schedules"
    ONCALLS = "oncalls"
    ESCALATION_POLICIES = "escalation_policies"
    USERS = "users"
    TEAMS = "teams"
    BUSINESS_SERVICES = "business_services"
    MAINTENANCE_WINDOWS = "maintenance_windows"
    CHANGE_EVENTS = "change_events"
    PRIORITIES = "priorities"


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


def query_params_field(model: type[ApiQueryParams]) -> Any:
    """The selector's `apiQueryParams`, sent to PagerDuty's list endpoint."""
    return Field(default_factory=model, alias="apiQueryParams")


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
        description="Attach `__analytics` (mean seconds to resolve/first ack/engage)",
    )
    analytics_months_period: int = Field(
        default=3,
        ge=1,
        le=12,
        alias="analyticsMonthsPeriod",
        description="Months of incidents the service analytics cover (1-12)",
    )
    include_custom_fields: bool = Field(
        default=False,
        alias="includeCustomFields",
        description="Attach `__custom_fields` (the service's custom field values)",
    )
    include_dependencies: bool = Field(
        default=False,
        alias="includeDependencies",
        description=(
            "Attach `__dependencies`: the technical services this one depends on "
            "(one request per selected service)"
        ),
    )
    include_maintenance_windows: bool = Field(
        default=False,
        alias="includeMaintenanceWindows",
        description=(
            "Attach `__maintenance_windows`: the ongoing and future maintenance "
            "windows covering the service (kept current while always on)"
        ),
    )

    def read_variant(self) -> tuple[Any, ...]:
        """What shapes one service as read (not which services are listed):
        blocks equal here can share one read of a service."""
        return (
            tuple(self.api_query_params.include or ()),
            self.service_analytics,
            self.analytics_months_period,
            self.include_custom_fields,
            self.include_dependencies,
            self.include_maintenance_windows,
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
            "date_range). Default: PagerDuty's own window, one month back."
        ),
    )
    incident_analytics: bool = Field(
        default=False,
        alias="incidentAnalytics",
        description="Attach `__analytics` (the incident's raw analytics)",
    )
    include_custom_fields: bool = Field(
        default=False,
        alias="includeCustomFields",
        description="Attach `__custom_fields` (the incident's custom field values)",
    )

    def read_variant(self) -> tuple[Any, ...]:
        """What shapes one incident as read: blocks equal here share one read."""
        return (
            tuple(self.api_query_params.include or ()),
            self.incident_analytics,
            self.include_custom_fields,
        )


class MonthsRelativeParams(ApiQueryParams):
    """`since`/`until` given in whole months back from / ahead of now."""

    def to_request_params(self) -> dict[str, Any]:
        params = super().to_request_params()
        now = datetime.now(UTC).replace(microsecond=0)
        if "since" in params:
            params["since"] = iso(now - timedelta(days=30 * params["since"]))
        if "until" in params:
            params["until"] = iso(now + timedelta(days=30 * params["until"]))
        return params


class ScheduleApiQueryParams(MonthsRelativeParams):
    include: (
        list[Literal["schedule_layers", "final_schedule", "overrides_subschedule"]]
        | None
    ) = None
    since: int | None = Field(default=None, ge=0, le=24)
    until: int | None = Field(default=None, ge=0, le=24)
    time_zone: str | None = None


class OncallApiQueryParams(MonthsRelativeParams):
    include: list[Literal["users", "escalation_policies", "schedules"]] = ["users"]
    since: int = Field(default=0, ge=0, le=12)
    until: int = Field(default=3, ge=0, le=12)
    earliest: bool | None = None
    escalation_policy_ids: list[str] | None = None
    schedule_ids: list[str] | None = None
    user_ids: list[str] | None = None

    def to_request_params(self) -> dict[str, Any]:
        params = super().to_request_params()
        if "earliest" in params:
            params["earliest"] = "true" if params["earliest"] else "false"
        return params


class EscalationPolicyApiQueryParams(ApiQueryParams):
    include: list[Literal["services", "teams", "targets"]] | None = None
    team_ids: list[str] | None = None
    user_ids: list[str] | None = None


class UserApiQueryParams(ApiQueryParams):
    include: (
        list[Literal["contact_methods", "notification_rules", "teams", "subdomains"]]
        | None
    ) = None
    team_ids: list[str] | None = None
    query: str | None = None


class TeamApiQueryParams(ApiQueryParams):
    query: str | None = None


class CustomApiQueryParams(ApiQueryParams):
    include: list[str] | None = None


class NoApiQueryParams(ApiQueryParams):
    """For list endpoints that take nothing but paging."""


class MaintenanceWindowApiQueryParams(ApiQueryParams):
    filter: Literal["past", "future", "ongoing", "open", "all"] | None = None
    include: list[Literal["teams", "services", "users"]] | None = None
    service_ids: list[str] | None = None
    team_ids: list[str] | None = None
    query: str | None = None


class ChangeEventApiQueryParams(ApiQueryParams):
    team_ids: list[str] | None = None
    integration_ids: list[str] | None = None


class ScheduleSelector(StrictSelector):
    api_query_params: ScheduleApiQueryParams = query_params_field(
        ScheduleApiQueryParams
    )


class OncallSelector(StrictSelector):
    api_query_params: OncallApiQueryParams = query_params_field(OncallApiQueryParams)


class EscalationPolicySelector(StrictSelector):
    api_query_params: EscalationPolicyApiQueryParams = query_params_field(
        EscalationPolicyApiQueryParams
    )
    attach_oncall_users: bool = Field(
        default=True,
        alias="attachOncallUsers",
        description="Attach `__oncall_users` (the policy's on-calls, level 1 first)",
    )


class UserSelector(StrictSelector):
    api_query_params: UserApiQueryParams = query_params_field(UserApiQueryParams)


class TeamSelector(StrictSelector):
    api_query_params: TeamApiQueryParams = query_params_field(TeamApiQueryParams)


class CustomSelector(StrictSelector):
    api_query_params: CustomApiQueryParams = query_params_field(CustomApiQueryParams)


class BusinessServiceSelector(StrictSelector):
    api_query_params: NoApiQueryParams = query_params_field(NoApiQueryParams)
    include_dependencies: bool = Field(
        default=False,
        alias="includeDependencies",
        description=(
            "Attach `__dependencies`: the technical and business services this one "
            "depends on (one request per selected business service)"
        ),
    )


class MaintenanceWindowSelector(StrictSelector):
    api_query_params: MaintenanceWindowApiQueryParams = query_params_field(
        MaintenanceWindowApiQueryParams
    )


class ChangeEventSelector(StrictSelector):
    api_query_params: ChangeEventApiQueryParams = query_params_field(
        ChangeEventApiQueryParams
    )
    lookback_days: int = Field(
        default=7,
        ge=1,
        le=3650,
        alias="lookbackDays",
        description="Import change events of the last N days (default 7)",
    )


class PrioritySelector(StrictSelector):
    api_query_params: NoApiQueryParams = query_params_field(NoApiQueryParams)


class ServiceResourceConfig(ResourceConfig):
    kind: Literal["services"]
    selector: ServiceSelector


class IncidentResourceConfig(ResourceConfig):
    kind: Literal["incidents"]
    selector: IncidentSelector


class ScheduleResourceConfig(ResourceConfig):
    kind: Literal["schedules"]
    selector: ScheduleSelector


class OncallResourceConfig(ResourceConfig):
    kind: Literal["oncalls"]
    selector: OncallSelector


class EscalationPolicyResourceConfig(ResourceConfig):
    kind: Literal["escalation_policies"]
    selector: EscalationPolicySelector


class UserResourceConfig(ResourceConfig):
    kind: Literal["users"]
    selector: UserSelector


class TeamResourceConfig(ResourceConfig):
    kind: Literal["teams"]
    selector: TeamSelector


class BusinessServiceResourceConfig(ResourceConfig):
    kind: Literal["business_services"]
    selector: BusinessServiceSelector


class MaintenanceWindowResourceConfig(ResourceConfig):
    kind: Literal["maintenance_windows"]
    selector: MaintenanceWindowSelector


class ChangeEventResourceConfig(ResourceConfig):
    kind: Literal["change_events"]
    selector: ChangeEventSelector


class PriorityResourceConfig(ResourceConfig):
    kind: Literal["priorities"]
    selector: PrioritySelector


class CustomResourceConfig(ResourceConfig):
    """Any other PagerDuty list endpoint, e.g. `tags`, `vendors`."""

    kind: str = Field(regex=r"^[a-z][a-z_]*$")
    selector: CustomSelector


RESOURCE_CONFIGS: dict[str, type[ResourceConfig]] = {
    ObjectKind.SERVICES: ServiceResourceConfig,
    ObjectKind.INCIDENTS: IncidentResourceConfig,
    ObjectKind.SCHEDULES: ScheduleResourceConfig,
    ObjectKind.ONCALLS: OncallResourceConfig,
    ObjectKind.ESCALATION_POLICIES: EscalationPolicyResourceConfig,
    ObjectKind.USERS: UserResourceConfig,
    ObjectKind.TEAMS: TeamResourceConfig,
    ObjectKind.BUSINESS_SERVICES: BusinessServiceResourceConfig,
    ObjectKind.MAINTENANCE_WINDOWS: MaintenanceWindowResourceConfig,
    ObjectKind.CHANGE_EVENTS: ChangeEventResourceConfig,
    ObjectKind.PRIORITIES: PriorityResourceConfig,
}


def parse_resource(raw: Any) -> Any:
    """Each resource is validated by its own kind's model, so errors name its keys."""
    if not isinstance(raw, dict):
        return raw
    model = RESOURCE_CONFIGS.get(str(raw.get("kind")), CustomResourceConfig)
    return model.parse_obj(raw)


class PagerDutyPortAppConfig(PortAppConfig):
    allow_custom_kinds: ClassVar[bool] = True
    resources: list[ResourceConfig] = Field(default_factory=list)

    @classmethod
    def parse_obj(cls, obj: Any) -> "PagerDutyPortAppConfig":
        if not isinstance(obj, dict) or not all(isinstance(k, str) for k in obj):
            error = TypeError("the integration configuration must be a JSON object")
            raise ValidationError([ErrorWrapper(error, loc="__root__")], cls)
        return super().parse_obj(obj)

    @validator("resources", pre=True)
    def _parse_by_kind(cls, value: Any) -> Any:
        return (
            [parse_resource(raw) for raw in value] if isinstance(value, list) else value
        )


class PagerDutyIntegration(BaseIntegration):
    EntityProcessorClass = GuardedJQEntityProcessor

    class AppConfigHandlerClass(SingleFlightPortAppConfig):
        CONFIG_CLASS = PagerDutyPortAppConfig
