"""Optional enrichments: analytics and custom fields.

They degrade instead of failing the resync: when PagerDuty's analytics quota is
spent the field is null (one warning per resync), and a failed custom-field read
leaves that object's field null.
"""

from datetime import UTC, datetime, timedelta

from loguru import logger

from client import JSON, PagerDutyClient, PagerDutyError, PagerDutyQuotaError
from event_scope import event_scoped
from pagination import for_each_bounded

ANALYTICS_FIELD = "__analytics"
CUSTOM_FIELDS_FIELD = "__custom_fields"
CONCURRENT_READS = 5
QUOTA_WARNED_KEY = "pagerduty.analytics_quota_warned"


def quota_spent() -> bool:
    return bool(event_scoped(QUOTA_WARNED_KEY, dict))


def warn_quota_once(error: PagerDutyQuotaError) -> None:
    warned: dict[str, bool] = event_scoped(QUOTA_WARNED_KEY, dict)
    if not warned:
        warned["yes"] = True
        logger.warning(
            f"{error}; `{ANALYTICS_FIELD}` is null until the quota resets. "
            "Set serviceAnalytics/incidentAnalytics to false to stop asking."
        )


async def attach_service_analytics(
    client: PagerDutyClient, services: list[JSON], months: int
) -> None:
    until = datetime.now(UTC).replace(microsecond=0)
    since = until - timedelta(days=30 * months)
    ids = [str(s["id"]) for s in services if s.get("id")] if not quota_spent() else []
    try:
        by_service = await client.service_analytics(ids, since, until) if ids else {}
    except PagerDutyQuotaError as error:
        warn_quota_once(error)
        by_service = {}
    for service in services:
        service[ANALYTICS_FIELD] = by_service.get(str(service.get("id")))


async def attach_custom_fields(
    client: PagerDutyClient, objects: list[JSON], collection: str
) -> None:
    async def read(obj: JSON) -> None:
        try:
            answer = await client.get(f"/{collection}/{obj['id']}/custom_fields/values")
            obj[CUSTOM_FIELDS_FIELD] = answer.get("custom_fields")
        except PagerDutyError as error:
            logger.warning(f"Custom fields of {collection} {obj.get('id')}: {error}")
            obj[CUSTOM_FIELDS_FIELD] = None

    await for_each_bounded(objects, read, CONCURRENT_READS)


async def attach_incident_analytics(
    client: PagerDutyClient, incidents: list[JSON]
) -> None:
    async def read(incident: JSON) -> None:
        if quota_spent():
            incident[ANALYTICS_FIELD] = None
            return
        try:
            answer = await client.get(f"/analytics/raw/incidents/{incident['id']}")
            incident[ANALYTICS_FIELD] = answer
        except PagerDutyQuotaError as error:
            warn_quota_once(error)
            incident[ANALYTICS_FIELD] = None
        except PagerDutyError as error:
            logger.warning(f"Analytics of incident {incident.get('id')}: {error}")
            incident[ANALYTICS_FIELD] = None

    await for_each_bounded(incidents, read, CONCURRENT_READS)
