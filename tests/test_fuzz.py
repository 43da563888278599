"""Junk in, no crash out: webhook processors and selector parsing under hypothesis.

Bounded for CI (`max_examples`, no deadline): the whole file runs in seconds.
"""

import asyncio
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from unittest.mock import patch
from uuid import uuid4

import pydantic.v1
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from loguru import logger
from port_ocean.core.handlers.port_app_config.models import Selector
from port_ocean.core.handlers.webhook.webhook_event import (
    WebhookEvent,
    WebhookRequestAdapter,
)

import webhook_processors.base as base
import webhook_processors.replay as replay
import webhook_processors.secrets as signing_store
from integration import (
    BusinessServiceSelector,
    ChangeEventSelector,
    CustomSelector,
    EscalationPolicySelector,
    IncidentSelector,
    MaintenanceWindowSelector,
    OncallSelector,
    PagerDutyPortAppConfig,
    PrioritySelector,
    ScheduleSelector,
    ServiceSelector,
    TeamSelector,
    UserSelector,
)
from webhook_processors.base import PagerDutyWebhookProcessor
from webhook_processors.incidents import INCIDENT_EVENTS, IncidentWebhookProcessor
from webhook_processors.replay import MemorySeenEvents
from webhook_processors.services import SERVICE_EVENTS, ServiceWebhookProcessor
from webhook_processors.signing import sign

TOKEN = "fuzz-token-0123456789abcdef"
SECRET = "fuzz-signing-secret"
DEFAULT_FUZZ_EXAMPLES = 150
FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", str(DEFAULT_FUZZ_EXAMPLES))),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROCESSORS: list[type[PagerDutyWebhookProcessor]] = [
    IncidentWebhookProcessor,
    ServiceWebhookProcessor,
]

# ------------------------------------------------------------------ strategies
huge_text = st.integers(100_000, 1_000_000).map(lambda n: "x" * n)
text = st.one_of(st.text(max_size=30), huge_text) | st.sampled_from(["", "null"])
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    text,
)
json_junk = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
event_types = st.one_of(
    st.sampled_from([*INCIDENT_EVENTS, *SERVICE_EVENTS]),
    st.sampled_from(["pagey.ping", "incident", "service", "incident.", "INCIDENT.x"]),
    st.text(max_size=30),
    json_junk,
)
ids = st.one_of(st.text(max_size=12), json_junk)
data = st.one_of(
    json_junk,
    st.fixed_dictionaries(
        {},
        optional={
            "id": ids,
            "type": st.sampled_from(
                ["incident", "service", "incident_note", "status_update"]
            )
            | json_junk,
            "incident": json_junk | st.fixed_dictionaries({}, optional={"id": ids}),
        },
    ),
)
occurred = st.one_of(
    st.builds(lambda: datetime.now(UTC).isoformat()),
    st.sampled_from(["2020-01-01T00:00:00Z", "not a time", ""]),
    json_junk,
)
envelopes = st.fixed_dictionaries(
    {},
    optional={
        "id": ids,
        "event_type": event_types,
        "occurred_at": occurred,
        "data": data,
    },
)
payloads = st.one_of(
    json_junk,
    st.fixed_dictionaries({}, optional={"event": envelopes | json_junk}),
    st.fixed_dictionaries({"event": envelopes}),
)
header_values = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=80
)
signature_headers = st.one_of(
    header_values,
    st.lists(header_values, max_size=3).map(
        lambda values: ",".join(f"v1={v}" for v in values)
    ),
)
junk_headers = st.dictionaries(
    st.sampled_from(["x-pagerduty-signature", "x-webhook-subscription", "x-webhook-id"])
    | st.text(max_size=10),
    header_values,
    max_size=4,
) | st.fixed_dictionaries(
    {"x-pagerduty-signature": signature_headers},
    optional={"x-webhook-id": header_values},
)


# ------------------------------------------------------------------ helpers
@pytest.fixture(autouse=True, scope="module")
def quiet_rejections() -> Iterator[None]:
    """Every junk delivery logs a rejection; thousands of them hide failures."""
    logger.disable("webhook_processors")
    yield
    logger.enable("webhook_processors")


@contextmanager
def pagerduty_config() -> Iterator[None]:
    fake_ocean = SimpleNamespace(
        integration_config={"token": TOKEN, "webhook_secret": SECRET}
    )
    with (
        patch.object(base, "ocean", fake_ocean),
        patch.object(signing_store, "_signing_secrets", None),
        patch.object(replay, "_seen_events", MemorySeenEvents()),
    ):
        yield


def raw_body(payload: Any) -> bytes:
    return json.dumps(payload).encode()


def make_event(
    payload: Any, headers: dict[str, str], signed: bool = False
) -> WebhookEvent:
    raw = raw_body(payload)
    if signed:
        headers = {
            **headers,
            "x-pagerduty-signature": f"v1={sign(raw, SECRET)}",
            "x-webhook-id": str(uuid4()),
        }
    return WebhookEvent(
        trace_id=str(uuid4()),
        payload=payload,
        headers=headers,
        original_request=WebhookRequestAdapter(raw, headers),
    )


def expected_object_id(
    processor: type[PagerDutyWebhookProcessor], payload: Any
) -> str | None:
    """The id a well-formed delivery names, derived independently of base.py."""
    if not isinstance(payload, dict) or not isinstance(payload.get("event"), dict):
        return None
    envelope = payload["event"]
    event_type = envelope.get("event_type")
    if not isinstance(event_type, str) or not event_type.startswith(
        processor.event_prefix
    ):
        return None
    body = envelope.get("data")
    if not isinstance(body, dict):
        return None
    source = body
    if processor is IncidentWebhookProcessor:
        if isinstance(body.get("incident"), dict):
            source = body["incident"]
        elif body.get("type") not in (None, "incident"):
            return None
    value = source.get("id")
    return value if isinstance(value, str) and value else None


def carries_a_fresh_event(payload: Any) -> bool:
    """Whether a signed delivery names an event (id) recent enough to process."""
    if not isinstance(payload, dict) or not isinstance(payload.get("event"), dict):
        return False
    envelope = payload["event"]
    event_id = envelope.get("id")
    if not isinstance(event_id, str) or not event_id:
        return False
    occurred_at = envelope.get("occurred_at")
    if not isinstance(occurred_at, str):
        return False
    try:
        moment = datetime.fromisoformat(occurred_at.replace("Z", "+00:00"))
    except ValueError:
        return False
    return datetime.now(UTC) - moment.astimezone(UTC) < timedelta(hours=49)


async def verdicts(
    processor_class: type[PagerDutyWebhookProcessor], event: WebhookEvent
) -> tuple[bool, list[str], bool, str | None, bool]:
    processor = processor_class(event)
    should = await processor.should_process_event(event)
    kinds = await processor.get_matching_kinds(event)
    valid = await processor.validate_payload(event.payload)
    object_id = processor.object_id(event.payload)
    authentic = await processor.authenticate(event.payload, event.headers)
    return should, kinds, valid, object_id, authentic


# ------------------------------------------------------------------ webhook processors
@FUZZ
@given(payload=payloads, headers=junk_headers)
# HTTP headers arrive as latin-1: a non-ASCII signature must be rejected, not raise.
@example(payload={}, headers={"x-pagerduty-signature": "v1=\x80"})
def test_unsigned_junk_is_never_accepted(payload: Any, headers: dict[str, str]) -> None:
    event = make_event(payload, headers)
    with pagerduty_config():
        for processor_class in PROCESSORS:
            should, kinds, valid, object_id, authentic = asyncio.run(
                verdicts(processor_class, event)
            )
            assert isinstance(should, bool)
            assert kinds == [], "a delivery not signed with the secret matched"
            assert authentic is False
            assert valid == (expected_object_id(processor_class, payload) is not None)
            assert object_id is None or (isinstance(object_id, str) and object_id)


@FUZZ
@given(payload=payloads, headers=junk_headers)
def test_signed_junk_is_routed_but_only_valid_payloads_pass(
    payload: Any, headers: dict[str, str]
) -> None:
    event = make_event(payload, headers, signed=True)
    with pagerduty_config():
        for processor_class in PROCESSORS:
            should, kinds, valid, object_id, authentic = asyncio.run(
                verdicts(processor_class, event)
            )
            expected = expected_object_id(processor_class, payload)
            assert authentic is True
            fresh = carries_a_fresh_event(payload)
            assert kinds == ([processor_class.kind] if fresh else [])
            assert valid == (expected is not None)
            if valid:
                assert should is True
                assert object_id == expected


@FUZZ
@given(payload=payloads)
def test_object_id_and_routing_never_raise_on_any_payload(payload: Any) -> None:
    for processor_class in PROCESSORS:
        processor = processor_class(make_event(payload, {}))
        object_id = processor.object_id(payload)
        assert object_id is None or (isinstance(object_id, str) and object_id)
        assert isinstance(processor.handles(payload), bool)


def test_one_delivery_is_claimed_by_at_most_one_processor() -> None:
    for event_type in [*INCIDENT_EVENTS, *SERVICE_EVENTS, "pagey.ping"]:
        payload = {"event": {"event_type": event_type, "data": {"id": "X1"}}}
        claimed = [p for p in PROCESSORS if p(make_event(payload, {})).handles(payload)]
        assert len(claimed) == (0 if event_type == "pagey.ping" else 1)


# ------------------------------------------------------------------ selectors
# The selector each kind parses to, written here independently of integration.py;
# any other kind is a custom kind (a PagerDuty list endpoint) with CustomSelector.
SELECTOR_OF_KIND: dict[str, type[Selector]] = {
    "services": ServiceSelector,
    "incidents": IncidentSelector,
    "schedules": ScheduleSelector,
    "oncalls": OncallSelector,
    "escalation_policies": EscalationPolicySelector,
    "users": UserSelector,
    "teams": TeamSelector,
    "business_services": BusinessServiceSelector,
    "maintenance_windows": MaintenanceWindowSelector,
    "change_events": ChangeEventSelector,
    "priorities": PrioritySelector,
}
PagerDutySelector = (
    ServiceSelector
    | IncidentSelector
    | ScheduleSelector
    | OncallSelector
    | EscalationPolicySelector
    | UserSelector
    | TeamSelector
    | BusinessServiceSelector
    | MaintenanceWindowSelector
    | ChangeEventSelector
    | PrioritySelector
    | CustomSelector
)
CUSTOM_KINDS = ["tags", "vendors", "standards"]
CUSTOM = "a custom kind"
ids_list = st.lists(st.text(max_size=6), max_size=3)


def includes(*values: str) -> st.SearchStrategy[Any]:
    """An `include` list, now and then with a value the kind does not accept."""
    return st.lists(st.sampled_from(values), max_size=3) | st.lists(
        st.sampled_from([*values, "x"]), min_size=1, max_size=3
    )


KNOWN_INCIDENT_PARAMS = st.fixed_dictionaries(
    {},
    optional={
        "statuses": st.lists(
            st.sampled_from(["triggered", "acknowledged", "resolved", "open"])
        )
        | json_junk,
        "urgencies": st.lists(st.sampled_from(["high", "low", "medium"])) | json_junk,
        "include": st.lists(st.sampled_from(["teams", "users", "services", "x"]))
        | json_junk,
        "date_range": st.sampled_from(["all", "some"]) | json_junk,
        "since": json_junk,
        "team_ids": json_junk,
        "statuse": json_junk,
    },
)
VALID_INCIDENT_PARAMS = st.fixed_dictionaries(
    {},
    optional={
        "statuses": st.lists(
            st.sampled_from(["triggered", "acknowledged", "resolved"])
        ),
        "urgencies": st.lists(st.sampled_from(["high", "low"])),
        "include": includes("teams", "users", "services", "priorities"),
        "date_range": st.just("all"),
        "team_ids": ids_list,
        "service_ids": ids_list,
    },
)
# Per kind: its apiQueryParams keys and its other selector keys, with values that
# are mostly valid, so that every kind (not only services and incidents) parses.
QUERY_PARAMS: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "services": {
        "include": includes("teams", "integrations", "escalation_policies"),
        "sort_by": st.sampled_from(["name", "name:desc", "size"]),
        "team_ids": ids_list,
    },
    "schedules": {
        "include": includes("schedule_layers", "overrides_subschedule"),
        "since": st.integers(-1, 26),
        "until": st.integers(-1, 26),
    },
    "oncalls": {
        "include": includes("users", "schedules"),
        "since": st.integers(-1, 13),
        "until": st.integers(-1, 13),
        "earliest": st.booleans(),
        "schedule_ids": ids_list,
    },
    "escalation_policies": {"include": includes("services", "targets")},
    "users": {"include": includes("teams", "contact_methods"), "query": text},
    "teams": {"query": st.text(max_size=10)},
    "business_services": {},
    "maintenance_windows": {
        "filter": st.sampled_from(["open", "all", "ongoing", "soon"]),
        "include": includes("services", "teams", "users"),
        "service_ids": ids_list,
    },
    "change_events": {"team_ids": ids_list, "integration_ids": ids_list},
    "priorities": {},
    CUSTOM: {"include": ids_list},
}
SELECTOR_KEYS: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "services": {
        "serviceAnalytics": st.booleans(),
        "analyticsMonthsPeriod": st.integers(-5, 20),
        "includeCustomFields": st.booleans(),
        "includeDependencies": st.booleans(),
        "includeMaintenanceWindows": st.booleans(),
    },
    "business_services": {"includeDependencies": st.booleans()},
    "change_events": {"lookbackDays": st.integers(-5, 4000)},
    "incidents": {
        "lookbackDays": st.integers(-5, 4000),
        "incidentAnalytics": st.booleans(),
        "includeCustomFields": st.booleans(),
    },
    "escalation_policies": {"attachOncallUsers": st.booleans()},
}


def mostly(
    valid: st.SearchStrategy[Any], other: st.SearchStrategy[Any] = json_junk
) -> st.SearchStrategy[Any]:
    """`valid` three times in four, `other` (junk) otherwise."""
    return st.sampled_from([True, True, True, False]).flatmap(
        lambda pick_valid: valid if pick_valid else other
    )


def typed_selectors(kind: str) -> st.SearchStrategy[Any]:
    family = kind if kind in SELECTOR_OF_KIND else CUSTOM
    params = (
        mostly(VALID_INCIDENT_PARAMS, KNOWN_INCIDENT_PARAMS)
        if family == "incidents"
        else st.fixed_dictionaries({}, optional=QUERY_PARAMS[family])
    )
    return st.fixed_dictionaries(
        {"query": st.sampled_from(["true", ".id != null"])},
        optional={"apiQueryParams": mostly(params), **SELECTOR_KEYS.get(family, {})},
    )


junk_selectors = st.fixed_dictionaries(
    {},
    optional={
        "query": st.sampled_from(["true", ".status == 1"]) | json_junk,
        "apiQueryParams": KNOWN_INCIDENT_PARAMS | json_junk,
        "serviceAnalytics": json_junk,
        "analyticsMonthsPeriod": st.integers(-5, 20) | json_junk,
        "incidentAnalytics": json_junk,
        "lookbackDays": st.integers(-5, 4000) | json_junk,
        "unknownKey": json_junk,
    },
)
mappings = st.fixed_dictionaries(
    {"identifier": st.just(".id") | json_junk, "blueprint": st.just('"b"') | json_junk},
    optional={"properties": json_junk, "relations": json_junk, "title": json_junk},
)
ports = st.fixed_dictionaries(
    {"entity": st.fixed_dictionaries({"mappings": mappings}) | json_junk},
    optional={"itemsToParse": json_junk},
)
all_kinds = st.sampled_from([*SELECTOR_OF_KIND, *CUSTOM_KINDS])
junk_resources = st.fixed_dictionaries(
    {
        "kind": all_kinds | json_junk,
        "selector": junk_selectors | json_junk,
        "port": ports | json_junk,
    },
    optional={"enableDelete": json_junk},
)
valid_ports = st.fixed_dictionaries(
    {
        "entity": st.fixed_dictionaries(
            {
                "mappings": st.fixed_dictionaries(
                    {"identifier": st.just(".id"), "blueprint": st.just('"b"')}
                )
            }
        )
    }
)
typed_resources = all_kinds.flatmap(
    lambda kind: st.fixed_dictionaries(
        {
            "kind": st.just(kind),
            "selector": typed_selectors(kind),
            "port": mostly(valid_ports, ports),
        }
    )
)
resources = mostly(typed_resources, junk_resources)
junk_configs = st.fixed_dictionaries(
    {"resources": mostly(st.lists(resources, max_size=3))},
    optional={
        "deleteDependentEntities": mostly(st.booleans()),
        "entityDeletionThreshold": mostly(st.floats(0, 1)),
    },
)
# Mappings of one to four blocks of any kinds, mostly valid: they reach every
# kind's selector; the junk above reaches the validation errors.
typed_configs = st.fixed_dictionaries(
    {"resources": st.lists(typed_resources, min_size=1, max_size=4)},
    optional={"deleteDependentEntities": st.booleans()},
)
app_configs = mostly(typed_configs, st.one_of(junk_configs, json_junk))


def expected_selector(kind: str) -> type[Selector]:
    return SELECTOR_OF_KIND.get(kind, CustomSelector)


def parsed_families(raw: Any) -> set[str]:
    """Parses `raw` and checks the invariant; returns the kinds it reached
    (custom kinds as CUSTOM). A validation error is a fine outcome."""
    try:
        config = PagerDutyPortAppConfig.parse_obj(raw)
    except pydantic.v1.ValidationError:
        return set()
    reached: set[str] = set()
    for resource in config.resources:
        kind = resource.kind
        selector = resource.selector
        assert type(selector) is expected_selector(kind), (kind, type(selector))
        if kind not in SELECTOR_OF_KIND:
            assert re.fullmatch(r"[a-z][a-z_]*", kind), kind
        assert isinstance(selector, PagerDutySelector)
        params = selector.api_query_params.to_request_params()
        assert all(isinstance(key, str) for key in params)
        reached.add(kind if kind in SELECTOR_OF_KIND else CUSTOM)
    return reached


def test_selector_parsing_gives_each_kind_its_selector_or_a_validation_error() -> None:
    """Every kind parses to its own selector (teams to TeamSelector, a custom kind
    to CustomSelector, ...) or fails validation; and the generated examples do
    reach every kind, custom kinds included."""
    reached: set[str] = set()

    # Twelve kinds and mostly-valid mappings: at 150 examples the rarest kind is
    # reached about 4 times, too few to never miss one; three times as many.
    @settings(parent=FUZZ, max_examples=3 * FUZZ.max_examples)
    @given(raw=app_configs)
    # pydantic's parse_obj turns a list of pairs into keyword arguments.
    @example(raw=[[None, None]])
    @example(raw=[[1, 2]])
    def parse(raw: Any) -> None:
        reached.update(parsed_families(raw))

    parse()
    if FUZZ.max_examples >= DEFAULT_FUZZ_EXAMPLES:
        assert reached == {*SELECTOR_OF_KIND, CUSTOM}, "kinds the examples missed"
