"""The Rasa server checks each action server answer against Rasa's schema, compiled once."""

from __future__ import annotations

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction

import channels  # noqa: F401  (the Rasa server imports it with every channel)

VALID = {"events": [{"event": "slot", "name": "amount", "value": "500"}], "responses": []}


def test_the_action_servers_answers_are_checked_without_checking_the_schema_each_time(
    monkeypatch: pytest.MonkeyPatch,
):
    schema_checks = []
    validator = jsonschema.validators.validator_for(RemoteAction.action_response_format_spec())
    monkeypatch.setattr(validator, "check_schema", classmethod(lambda *a: schema_checks.append(a)))
    action = RemoteAction("action_freeze_card", None)

    assert all(action._validate_action_result(VALID) for _ in range(20))
    assert schema_checks == []


def test_a_malformed_answer_is_still_refused_with_rasas_message():
    action = RemoteAction("action_freeze_card", None)

    with pytest.raises(jsonschema.ValidationError, match="Failed to validate Action server"):
        action._validate_action_result({"events": "not a list"})
