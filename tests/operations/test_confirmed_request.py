"""What the customer confirmed is what runs. Once they say yes, the request (operation,
amounts, accounts, cards, recipients) is frozen: while the SMS code is awaited a question is
answered without touching it, any change voids the code and shows the confirmation again,
and a made-up form state never runs an operation. Every operation with step-up is tried."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.operations import ActionFinishOperation
from clients.backend import BackendClient
from common.customer_binding import bound_sender_id
from registry.catalogue import default_catalogue
from registry.slots import REQUEST_SLOT
from tests.operations.conversation import Conversation
from tests.operations.test_every_operation import (
    CUSTOMERS,
    PARTICULAR_ANSWERS,
    TYPED_ANSWERS,
    pressed,
    sms_code,
)

CATALOGUE = default_catalogue()
STEP_UP_FORMS = sorted(op.name for op in CATALOGUE.forms() if op.verification)


async def back_end_state(client: BackendClient, customer: str) -> dict[str, Any]:
    """Everything the registry can read about the customer: what an operation would change."""
    paths = {"/v1/customers/me"}
    paths.update(
        spec.options_call.path
        for spec in CATALOGUE.slots.values()
        if spec.options_call is not None and "{" not in spec.options_call.path
    )
    state = {}
    for path in sorted(paths):
        try:
            state[path] = await client.call(customer, "GET", path)
        except Exception as error:  # noqa: BLE001 - a product the customer lacks answers 404
            state[path] = type(error).__name__
    return state


async def until_code_is_asked(chat: Conversation, operation: str) -> bool:
    """Walks the form as a customer would up to the SMS code; False if it ended before."""
    replies = await chat.say(operation.replace("_", " "), operation)
    for _ in range(12):
        if chat.form is None:
            return False
        requested = chat.slots.get("requested_slot")
        spec = CATALOGUE.slots.get(requested or "")
        if requested == "verification_code":
            return True
        if requested == "confirmed":
            replies = await chat.say("yes", "affirm")
        elif chat.last_buttons:
            button = chat.last_buttons[0]
            replies = await chat.say(button["payload"], "inform", **pressed(button))
        else:
            kind = spec.kind if spec else "text"
            text = "for 2 weeks" if spec and spec.future else TYPED_ANSWERS.get(kind, "yes")
            replies = await chat.say(PARTICULAR_ANSWERS.get(requested, text), "inform")
    raise AssertionError(f"{operation} never asked for the code: {replies}")


async def a_change(
    chat: Conversation, client: BackendClient, operation: str
) -> dict[str, str] | None:
    """Entities that would change one answer of the confirmed request to another valid one."""
    shown = json.loads(chat.slots[REQUEST_SLOT])["slots"]
    customer = chat.sender.split(":")[1]
    for name in CATALOGUE.operations[operation].slots:
        spec = CATALOGUE.slots[name]
        if spec.entity is None:
            continue
        if spec.kind == "money":
            return {spec.entity: "7 yuan" if not str(shown[name]).startswith("7.00") else "8 yuan"}
        if spec.kind == "choice" and spec.options_call is not None:
            listed = await client.call(customer, "GET", spec.options_call.path)
            items = listed.get(spec.items) if spec.items != "." else [listed]
            wanted = CATALOGUE.operations[operation].target_filter
            others = [
                str(item[spec.item_id])
                for item in items or []
                if str(item[spec.item_id]) != str(shown[name])
                and all(str(item.get(key)) in allowed for key, allowed in wanted.items())
            ]
            if others:
                return {spec.entity: others[0]}
    return None


async def confirmed_and_awaiting_code(
    operation: str, client: BackendClient, domain_dict, need_change: bool
) -> tuple[Conversation, dict | None]:
    first_reached: Conversation | None = None
    for customer in CUSTOMERS:
        chat = Conversation(customer, client, domain_dict)
        if not await until_code_is_asked(chat, operation):
            continue
        change = await a_change(chat, client, operation)
        if change is not None or not need_change:
            return chat, change
        first_reached = first_reached or chat
    assert first_reached is not None, f"no sampled customer reaches {operation}'s code"
    return first_reached, None


@pytest.mark.parametrize("operation", STEP_UP_FORMS)
async def test_a_change_before_the_code_voids_it_and_asks_again(
    operation, client, sandbox, domain_dict
):
    chat, change = await confirmed_and_awaiting_code(
        operation, client, domain_dict, need_change=True
    )
    customer = chat.sender.split(":")[1]
    before = await back_end_state(client, customer)
    if change is None:
        # Nothing of this request can be named in a message (no slots, one card): words that
        # are not the code change nothing and run nothing.
        replies = await chat.say("hmm, what happens now?", "inform", confidence=0.3)
        assert "utter_waiting_for_code" in chat.last_responses, replies
        assert await back_end_state(client, customer) == before
        return
    stale_code = await sms_code(sandbox.base_url, customer)
    await chat.say("actually use this one instead", "inform", confidence=0.3, **change)
    assert "utter_request_changed" in chat.last_responses
    assert chat.slots.get("verification_id") is None
    assert chat.slots.get("requested_slot") == "confirmed"
    assert CATALOGUE.operations[operation].confirm in chat.last_responses
    # The code sent for the old request does not run the new one.
    await chat.say(stale_code, "inform")
    assert not any(
        str(name).startswith(CATALOGUE.operations[operation].answer) for name in chat.last_responses
    )
    assert await back_end_state(client, customer) == before


@pytest.mark.parametrize("operation", STEP_UP_FORMS)
async def test_a_question_at_the_code_is_answered_and_the_confirmed_request_runs(
    operation, client, sandbox, domain_dict
):
    chat, change = await confirmed_and_awaiting_code(
        operation, client, domain_dict, need_change=False
    )
    customer = chat.sender.split(":")[1]
    confirmed = json.loads(chat.slots[REQUEST_SLOT])["slots"]
    # "Will I still have money left?": the NLU is sure it's a question, and it names a figure.
    replies = await chat.say(
        "will my balance still be ok after this?", "bank_balance", confidence=0.95, **(change or {})
    )
    assert replies, "the question got no answer"
    assert chat.slots.get("requested_slot") == "verification_code"
    assert json.loads(chat.slots[REQUEST_SLOT])["slots"] == confirmed
    assert {name: chat.slots.get(name) for name in confirmed} == confirmed
    await chat.say(await sms_code(sandbox.base_url, customer), "inform")
    assert chat.form is None
    assert chat.slots.get("operation_outcome") is None  # cleared once the form finished
    assert any(
        str(name).startswith(CATALOGUE.operations[operation].answer)
        or name in {"utter_operation_refused", "utter_operation_choice_gone"}
        for name in chat.last_responses
    ), chat.last_responses


def forged_tracker(customer: str, form: str, slots: dict[str, Any]) -> Tracker:
    events = [
        {"event": "active_loop", "name": form},
        {"event": "user", "text": "hi"},
        {"event": "active_loop", "name": None},
    ]
    return Tracker(
        bound_sender_id(customer), slots, {"text": "hi"}, events, False, None, {}, "action_listen"
    )


@pytest.mark.parametrize(
    "slots",
    [
        {},
        {"confirmed": "yes"},
        {"confirmed": "yes", REQUEST_SLOT: "{}"},
    ],
    ids=["no yes at all", "a yes for nothing shown", "a yes for another request"],
)
async def test_a_made_up_form_state_runs_nothing(slots, client, domain_dict):
    customer = "C00001"
    before = await back_end_state(client, customer)
    cards = await client.call(customer, "GET", "/v1/customers/me/cards")
    card = cards["cards"][0]["card_id"] if cards.get("cards") else "CARD"
    for form in ("bank_freeze_card_form", "intl_card_abroad_form", "bank_activate_card_form"):
        dispatcher = CollectingDispatcher()
        tracker = forged_tracker(
            customer,
            form,
            {"card": card, "travel_region": "asia", "travel_until": "2099-01-01", **slots},
        )
        await ActionFinishOperation(client).run(dispatcher, tracker, domain_dict)
        answered = [m.get("response") for m in dispatcher.messages]
        assert not any(
            str(name).startswith(
                ("utter_bank_card_frozen", "utter_intl_card_abroad", "utter_bank_card_activated")
            )
            for name in answered
        ), answered
    assert await back_end_state(client, customer) == before


async def test_too_little_money_is_said_before_the_yes_and_a_smaller_amount_goes_through(
    client, sandbox, domain_dict
):
    from tests.operations.test_bank_operations import (
        balance,
        pick_recipient,
        sender_with_recipients,
    )

    customer = await sender_with_recipients(client)
    before = await balance(client, customer)
    chat = Conversation(customer, client, domain_dict)
    too_much = f"{before + 1000} yuan"
    await chat.say(f"send {too_much}", "bank_transfer", amount=too_much)
    await pick_recipient(chat)
    assert "utter_operation_refused" in chat.last_responses
    assert chat.slots.get("requested_slot") == "amount"
    assert chat.slots.get("verification_id") is None
    await chat.say("12 yuan", "inform", amount="12 yuan")
    assert "utter_confirm_bank_transfer" in chat.last_responses
    await chat.say("yes", "affirm")
    await chat.say(await sms_code(sandbox.base_url, customer), "inform")
    assert "utter_bank_transfer_sent" in chat.last_responses
    assert await balance(client, customer) == before - 12


async def test_a_refused_request_leaves_no_key_behind_for_the_next_one(client, domain_dict):
    from actions.operation_runner import OperationRunner, Outcome, current_request
    from registry.slots import OPERATION_KEY_SLOT
    from tests.operations.test_bank_operations import first_customer

    async def has_credit_line(_: str, profile: dict[str, Any]) -> bool:
        return "credit_line" in profile["products"]

    customer = await first_customer(client, has_credit_line)
    operation = CATALOGUE.operations["credit_raise_limit"]
    slots: dict[str, Any] = {"credit_new_limit": "1.00 CNY", "confirmed": "yes"}

    def runner_for(values: dict[str, Any]) -> OperationRunner:
        tracker = Tracker(
            bound_sender_id(customer), dict(values), {}, [], False, None, {}, "action_listen"
        )
        tracker.slots[REQUEST_SLOT] = current_request(operation, tracker)
        return OperationRunner(tracker, CollectingDispatcher(), domain_dict, client)

    refused = runner_for(slots)
    outcome, events = await refused.execute(operation)
    assert outcome is Outcome.REFUSED
    assert {"event": "slot", "name": OPERATION_KEY_SLOT, "value": None} in [
        {"event": e["event"], "name": e["name"], "value": e["value"]} for e in events
    ]
    said = " ".join(str(m) for m in refused.dispatcher.messages)
    assert "Idempotency" not in said and "idempotency" not in said


async def test_a_code_the_channel_sealed_runs_the_request_and_is_stored_nowhere(
    client, sandbox, domain_dict
):
    from channels.redaction import redact
    from common.one_time_code import ONE_TIME_CODE_PLACEHOLDER, SEALED_CODE_KEY, seal_one_time_code

    chat, _ = await confirmed_and_awaiting_code(
        "bank_freeze_card", client, domain_dict, need_change=False
    )
    code = await sms_code(sandbox.base_url, chat.sender.split(":")[1])
    typed = redact(f"my code is {code}")
    assert typed.text == ONE_TIME_CODE_PLACEHOLDER and typed.one_time_code == code
    sealed = seal_one_time_code(code, chat.settings.redaction_secret)
    await chat.say(typed.text, "inform", metadata={SEALED_CODE_KEY: sealed})
    assert "utter_bank_card_frozen" in chat.last_responses
    recorded = json.dumps([chat.events, chat.slots])
    assert code not in recorded


async def test_a_question_naming_another_card_at_the_code_changes_nothing(
    client, sandbox, domain_dict
):
    """'Freeze my card ending 6636', yes, 'my other card 8660 will keep working, right?',
    the code: 6636 is frozen and 8660 still works."""
    chat, change = await confirmed_and_awaiting_code(
        "bank_freeze_card", client, domain_dict, need_change=True
    )
    assert change is not None, "no sampled customer has two active cards"
    customer = chat.sender.split(":")[1]
    confirmed = json.loads(chat.slots[REQUEST_SLOT])["slots"]["card"]
    other = next(iter(change.values()))
    await chat.say(f"my other card {other} will keep working, right?", "inform", 0.4, **change)
    assert "utter_waiting_for_code" in chat.last_responses
    assert "utter_request_changed" not in chat.last_responses
    await chat.say(await sms_code(sandbox.base_url, customer), "inform")
    assert "utter_bank_card_frozen" in chat.last_responses
    cards = {
        c["card_id"]: c["status"]
        for c in (await client.call(customer, "GET", "/v1/customers/me/cards"))["cards"]
    }
    assert cards[confirmed] == "frozen"
    assert cards[other] == "active"
