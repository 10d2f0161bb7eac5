"""Rasa's check of each action server answer, with its schema checked once instead of per call.

Rasa validates every answer of the action server with ``jsonschema.validate``, which first
checks the schema itself against JSON Schema's metaschema: about 150 ms per action call on this
machine under load (bench/results/profile.md), more than the rest of the call, and several
calls per message. The same schema, compiled once, accepts and refuses exactly the same
answers; a refused answer still goes through Rasa's own check, which raises with Rasa's message.
"""

from __future__ import annotations

from typing import Any

from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction

_RASAS_CHECK = RemoteAction._validate_action_result
_SCHEMA = RemoteAction.action_response_format_spec()
_VALIDATOR = validator_for(_SCHEMA)(_SCHEMA)


def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    if _VALIDATOR.is_valid(result):
        return True
    return _RASAS_CHECK(self, result)


def check_action_results_with_a_compiled_schema() -> None:
    """Installs the check in the Rasa server (the channels call it when Rasa loads them)."""
    RemoteAction._validate_action_result = _validate_action_result
