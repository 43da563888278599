"""Every action executor, and their registration with Ocean (called from main.py).

Each executor's ACTION_NAME is an action `name` in `.port/spec.yaml` and the
`integrationActionType` of a Port action in `.port/resources/actions.json`.
"""

from port_ocean.context.ocean import ocean

from actions.base import PagerDutyAction
from actions.definitions import bind_shipped_actions
from actions.incidents import (
    AcknowledgeIncident,
    AddIncidentNote,
    ChangeIncidentUrgency,
    EscalateIncident,
    ReassignIncident,
    ResolveIncident,
    SnoozeIncident,
)
from actions.oncall import TakeOncall
from actions.trigger import TriggerIncident

EXECUTORS: tuple[type[PagerDutyAction], ...] = (
    TriggerIncident,
    AcknowledgeIncident,
    ResolveIncident,
    ReassignIncident,
    EscalateIncident,
    SnoozeIncident,
    AddIncidentNote,
    ChangeIncidentUrgency,
    TakeOncall,
)


def register_actions() -> None:
    """Register the executors (Ocean runs them when OCEAN__ACTIONS_PROCESSOR__ENABLED
    is true) and, at start, bind the shipped Port actions to this installation."""
    for executor in EXECUTORS:
        ocean.register_action_executor(executor())
    ocean.on_start()(bind_shipped_actions)
