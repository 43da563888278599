"""A run's inputs, checked before anything is asked of PagerDuty.

Port sends them in the run's execution properties, rendered from the action
definition's templates (`{{ .inputs.x }}`): an input the user left empty
arrives as null or "", and a number may arrive as a string. Each problem is
reported in one line naming the input and what it takes.
"""

import re
from collections.abc import Mapping
from typing import Any

from port_ocean.exceptions.execution_manager import ActionExecutionError

Properties = Mapping[str, Any]
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# PagerDuty ids are letters and digits (P1A2B3C, Q0RIJJZL24RC6W); anything
# else would also change the request's path.
PAGERDUTY_ID = re.compile(r"^[A-Za-z0-9]{1,64}$")


class InvalidInput(ActionExecutionError):
    """The run's inputs are wrong; nothing was asked of PagerDuty."""

    DEFAULT_STATUS_LABEL = "Invalid input"


def given(properties: Properties, key: str) -> Any:
    value = properties.get(key)
    if isinstance(value, str):
        value = value.strip()
    return None if value in (None, "") else value


def text(properties: Properties, key: str, required: bool = False) -> str | None:
    value = given(properties, key)
    if value is None:
        if required:
            raise InvalidInput(f"Input {key} is required and was empty; fill it in.")
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"Input {key} must be text, got {type(value).__name__}.")
    return value


def required_text(properties: Properties, key: str) -> str:
    value = text(properties, key, required=True)
    assert value is not None
    return value


def pagerduty_id(properties: Properties, key: str) -> str:
    value = required_text(properties, key)
    if not PAGERDUTY_ID.match(value):
        raise InvalidInput(
            f"Input {key} is {value!r}, not a PagerDuty id (e.g. P1A2B3C); use the "
            "id PagerDuty shows in the object's URL."
        )
    return value


def optional_id(properties: Properties, key: str) -> str | None:
    return pagerduty_id(properties, key) if given(properties, key) is not None else None


def email(properties: Properties, key: str) -> str | None:
    value = text(properties, key)
    if value is not None and not EMAIL.match(value):
        raise InvalidInput(f"Input {key} is {value!r}, not an email address.")
    return value


def integer(
    properties: Properties,
    key: str,
    minimum: int,
    maximum: int,
    default: int | None = None,
) -> int:
    value = given(properties, key)
    if value is None:
        if default is None:
            raise InvalidInput(f"Input {key} is required and was empty; fill it in.")
        return default
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value):
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"Input {key} must be a whole number, got {value!r}.")
    if not minimum <= value <= maximum:
        raise InvalidInput(
            f"Input {key} is {value}; it must be between {minimum} and {maximum}."
        )
    return value


def choice(
    properties: Properties,
    key: str,
    options: tuple[str, ...],
    default: str | None = None,
) -> str:
    value = given(properties, key)
    if value is None:
        if default is None:
            raise InvalidInput(f"Input {key} is required and was empty; fill it in.")
        return default
    if value not in options:
        allowed = " or ".join(options)
        raise InvalidInput(f"Input {key} is {value!r}; it must be {allowed}.")
    return str(value)
