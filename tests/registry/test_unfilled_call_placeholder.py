"""A call whose placeholder names nothing gets the customer the generic failure reply, not
silence, and nothing is sent to the back end."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.operation_runner import OperationRunner
from common.customer_binding import bound_sender_id
from registry.catalogue import Call, default_catalogue


class ProfileOnlyBackEnd:
    """Answers the profile; records every other call."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def call(self, customer_id: str, method: str, path: str, **_: Any) -> Any:
        if path == "/v1/customers/me":
            return {"customer_id": customer_id, "products": ["bank_account", "debit_card"]}
        self.calls.append(path)
        return {}


async def test_a_question_whose_call_names_an_unknown_value_apologises_and_calls_nothing():
    catalogue = default_catalogue()
    broken = replace(
        catalogue.operations["bank_balance"],
        call=Call("GET", "/v1/customers/me/accounts/{acount.account_number}"),
    )
    tracker = Tracker(
        bound_sender_id("C00001"),
        {},
        {"intent": {"name": "bank_balance"}},
        [],
        False,
        None,
        {},
        "action_listen",
    )
    dispatcher = CollectingDispatcher()
    back_end = ProfileOnlyBackEnd()

    await OperationRunner(tracker, dispatcher, {}, back_end, catalogue).answer(broken)

    assert [message["response"] for message in dispatcher.messages] == ["utter_backend_unavailable"]
    assert back_end.calls == []
