"""Rasa's check of each action server answer, with the schema compiled once and each event
checked against the one alternative its name selects.

Rasa validates every answer of the action server with ``jsonschema.validate``, which first
checks the schema itself against JSON Schema's metaschema: about 150 ms per action call on this
machine under load (bench/results/profile.md), more than the rest of the call, and several
calls per message. Compiled once, the check still tried each event against all 23 of the
schema's ``oneOf`` alternatives, building an error for every one that failed (about 5% of the
Rasa server's time per message). Each alternative fixes the event's name (``"event": {"const":
...}``, each name once) and every event must have one, so an event is valid exactly when the
alternative of its own name accepts it: that one is checked, with the rest of the schema. What
this quick check does not accept goes to the whole schema, and what that refuses to Rasa's own
check, which raises with Rasa's message.
"""

from __future__ import annotations

import copy
from typing import Any

from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction

_RASAS_CHECK = RemoteAction._validate_action_result
_SCHEMA = RemoteAction.action_response_format_spec()


def _compiled(schema: dict[str, Any]) -> Validator:
    return validator_for(schema)(schema)


def _alternatives_by_event_name(schema: dict[str, Any]) -> dict[str, Validator]:
    """The alternative of each event name that selects exactly one; an event of a name shared
    by two alternatives (none in Rasa 3.6) or of no alternative goes to the whole schema."""
    alternatives = schema["properties"]["events"]["items"]["oneOf"]
    names = [alt.get("properties", {}).get("event", {}).get("const") for alt in alternatives]
    return {
        name: _compiled(alternative)
        for name, alternative in zip(names, alternatives, strict=True)
        if name is not None and names.count(name) == 1
    }


def _without_alternatives(schema: dict[str, Any]) -> dict[str, Any]:
    rest = copy.deepcopy(schema)
    del rest["properties"]["events"]["items"]["oneOf"]
    return rest


_WHOLE = _compiled(_SCHEMA)
_REST = _compiled(_without_alternatives(_SCHEMA))
_BY_EVENT_NAME = _alternatives_by_event_name(_SCHEMA)


def quickly_valid(result: Any) -> bool:
    """True only for answers the whole schema accepts; False may still be valid."""
    if not _REST.is_valid(result):
        return False
    for event in result.get("events") or []:
        alternative = _BY_EVENT_NAME.get(event["event"])
        if alternative is None or not alternative.is_valid(event):
            return False
    return True


def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    if quickly_valid(result) or _WHOLE.is_valid(result):
        return True
    return _RASAS_CHECK(self, result)


def check_action_results_with_a_compiled_schema() -> None:
    """Installs the check in the Rasa server (the channels call it when Rasa loads them)."""
    RemoteAction._validate_action_result = _validate_action_result
