"""The three places an action is named agree: the executors, `.port/spec.yaml`
and the shipped Port actions (`.port/resources/actions.json`)."""

import re
from typing import Any

import yaml

from actions.definitions import INSTALLATION_PLACEHOLDER, bound, shipped_actions
from actions.registry import EXECUTORS
from tests.conftest import ROOT

ISSUE_INPUTS = {
    "trigger_incident": {
        "serviceId",
        "title",
        "urgency",
        "details",
        "incidentKey",
        "fromEmail",
    },
    "acknowledge_incident": {"incidentId", "fromEmail"},
    "resolve_incident": {"incidentId", "resolution", "fromEmail"},
    "reassign_incident": {
        "incidentId",
        "assigneeEmail",
        "escalationPolicyId",
        "fromEmail",
    },
    "escalate_incident": {"incidentId", "escalationLevel", "fromEmail"},
    "snooze_incident": {"incidentId", "durationMinutes", "fromEmail"},
    "add_incident_note": {"incidentId", "note", "fromEmail"},
    "change_incident_urgency": {"incidentId", "urgency", "fromEmail"},
    "take_oncall": {"scheduleId", "userEmail", "hours"},
}
ISSUE_REQUIRED = {
    "trigger_incident": {"serviceId", "title"},
    "escalate_incident": {"incidentId", "escalationLevel"},
    "snooze_incident": {"incidentId", "durationMinutes"},
    "add_incident_note": {"incidentId", "note"},
    "change_incident_urgency": {"incidentId", "urgency"},
    "take_oncall": {"scheduleId", "userEmail"},
}


def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / ".port/spec.yaml").read_text())
    return loaded


def test_spec_declares_every_executor_with_the_issue_inputs() -> None:
    declared = spec()
    assert declared["actionsProcessingEnabled"] is True
    actions = {a["name"]: a for a in declared["actions"]}
    assert set(actions) == {e.ACTION_NAME for e in EXECUTORS} == set(ISSUE_INPUTS)
    for name, action in actions.items():
        inputs = {i["name"]: i for i in action["inputs"]}
        assert set(inputs) == ISSUE_INPUTS[name], name
        required = {n for n, i in inputs.items() if i.get("required")}
        assert required == ISSUE_REQUIRED.get(name, {"incidentId"}), name
        assert all(i["type"] in ("string", "integer") for i in inputs.values())
    config = {c["name"]: c for c in declared["configurations"]}
    assert config["actionsFromEmail"]["required"] is False


def test_shipped_port_actions_invoke_the_integration_with_the_actor() -> None:
    names = {e.ACTION_NAME for e in EXECUTORS}
    shipped = shipped_actions()
    assert {a["invocationMethod"]["integrationActionType"] for a in shipped} == names
    blueprints = {a["trigger"]["blueprintIdentifier"] for a in shipped}
    assert blueprints == {"pagerdutyIncident", "pagerdutyService", "pagerdutySchedule"}
    for action in shipped:
        method = action["invocationMethod"]
        assert method["type"] == "INTEGRATION_ACTION"
        assert method["installationId"] == INSTALLATION_PLACEHOLDER
        properties = method["integrationActionExecutionProperties"]
        name = method["integrationActionType"]
        assert set(properties) == ISSUE_INPUTS[name], name
        actor = "userEmail" if name == "take_oncall" else "fromEmail"
        assert properties[actor] == "{{ .trigger.by.user.email }}"
        inputs = action["trigger"]["userInputs"]["properties"]
        for template in properties.values():
            for used in re.findall(r"\.inputs\.(\w+)", template):
                assert used in inputs, (name, used)


def test_binding_points_only_the_placeholder_at_the_installation() -> None:
    action = {**shipped_actions()[1], "createdAt": "t", "updatedBy": "u"}
    body = bound(action, "my-pagerduty")
    assert body is not None
    assert body["invocationMethod"]["installationId"] == "my-pagerduty"
    assert "createdAt" not in body and "updatedBy" not in body
    assert body["trigger"] == action["trigger"]
    elsewhere = {**action, "invocationMethod": {**action["invocationMethod"]}}
    elsewhere["invocationMethod"]["installationId"] = "someone-elses"
    assert bound(elsewhere, "my-pagerduty") is None
