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


def answers() -> list[dict]:
    """Answers of every kind the action server sends, and broken copies of them."""
    from rasa.shared.core.events import (
        ActionExecuted,
        ActiveLoop,
        AllSlotsReset,
        BotUttered,
        FollowupAction,
        Restarted,
        SessionStarted,
        SlotSet,
        UserUttered,
    )

    events = [
        SlotSet("amount", "500").as_dict(),
        SlotSet("cards", [{"id": 1}]).as_dict(),
        ActionExecuted("action_listen").as_dict(),
        BotUttered(
            "Your card is frozen.", {"buttons": [{"title": "Yes", "payload": "/affirm"}]}
        ).as_dict(),
        UserUttered("freeze it", {"name": "freeze_card", "confidence": 0.9}).as_dict(),
        ActiveLoop("freeze_card_form").as_dict(),
        FollowupAction("action_listen").as_dict(),
        AllSlotsReset().as_dict(),
        Restarted().as_dict(),
        SessionStarted().as_dict(),
    ]
    valid = [{"events": [event], "responses": []} for event in events]
    valid.append({"events": events, "responses": [{"text": "hello"}]})
    broken = [
        {"events": [{**SlotSet("amount", "1").as_dict(), "name": 3}]},
        {"events": [{"event": "no_such_event"}]},
        {"events": [{"name": "amount"}]},
        {"events": [{**ActionExecuted("x").as_dict(), "policy": 5}]},
        {"events": [{**UserUttered("x").as_dict(), "parse_data": {"entities": [{"start": 0}]}}]},
        {"events": [{**SlotSet("amount", "1").as_dict(), "timestamp": "yesterday"}]},
        {"events": [events[0], {"event": 7}]},
        {"responses": "not a list"},
        [],
    ]
    return valid + broken


def test_the_quick_check_accepts_only_what_the_whole_schema_accepts():
    from channels.action_results import quickly_valid

    whole = jsonschema.validators.validator_for(RemoteAction.action_response_format_spec())(
        RemoteAction.action_response_format_spec()
    )
    checked = answers()
    quick = [quickly_valid(answer) for answer in checked]

    accepted_wrongly = [
        answer for q, answer in zip(quick, checked, strict=True) if q and not whole.is_valid(answer)
    ]
    assert accepted_wrongly == []
    # Every well-formed answer passes the quick check itself, so the whole schema is not needed.
    assert quick[:11] == [True] * 11
    assert [whole.is_valid(answer) for answer in checked[11:]] == [False] * 9
