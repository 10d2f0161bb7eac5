"""The questions a signed-in customer most likely came with, offered by the real Rasa server
and action server when the chat page says the chat opened: pressing one runs its flow, and
typing anything else is answered as usual."""

from __future__ import annotations

from typing import Any

import pytest

from actions.rendering import money_text
from common.customer_binding import issue_sign_in_token
from common.environment import DEV_SIGNING_SECRET
from tests.e2e.servers import RunningAssistant, SharedAssistant

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def assistant(
    shared_assistant: SharedAssistant, request: pytest.FixtureRequest
) -> RunningAssistant:
    return shared_assistant.module(request, block=4)


def token_for(customer_id: str) -> str:
    return issue_sign_in_token(customer_id, DEV_SIGNING_SECRET.encode())


def texts(replies: list[dict[str, Any]]) -> str:
    return " ".join(reply.get("text") or "" for reply in replies)


def buttons(replies: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [button for reply in replies for button in reply.get("buttons") or []]


def wallet_customers_without_events(assistant: RunningAssistant) -> list[str]:
    """The module's customers who pay from the wallet and whom nothing has happened to."""
    found = []
    for customer in assistant.customer_ids:
        profile = assistant.backend("GET", "/v1/customers/me", customer_id=customer)
        events = assistant.backend("GET", "/v1/customers/me/events", customer_id=customer)
        if "wallet" in profile["products"] and not profile["account_locked"]:
            if not events["events"]:
                found.append(customer)
        if len(found) == 2:
            return found
    raise AssertionError("the seed has two wallet customers without events")


@pytest.fixture(scope="module")
def customers(assistant: RunningAssistant) -> list[str]:
    return wallet_customers_without_events(assistant)


def test_a_failed_payment_is_offered_first_and_pressing_it_says_why(assistant, customers):
    customer = customers[0]
    failed = assistant.backend(
        "POST", "/sandbox/events", {"customer_id": customer, "kind": "payment_failed"}
    )
    transaction = assistant.backend(
        "GET", f"/v1/customers/me/wallet/transactions/{failed['reference']}", customer_id=customer
    )
    diagnosis = assistant.backend(
        "GET",
        f"/v1/customers/me/wallet/transactions/{failed['reference']}/diagnosis",
        customer_id=customer,
    )
    name = assistant.backend("GET", "/v1/customers/me", customer_id=customer)["name"]
    amount = money_text(transaction["amount"], transaction["currency"])

    status, replies = assistant.say("ignored", "/chat_opened", sign_in_token=token_for(customer))

    assert status == 200
    assert texts(replies) == f"Hello {name}. Is it about one of these? Or type your question."
    offered = buttons(replies)
    assert 1 <= len(offered) <= 3
    assert offered[0] == {
        "title": f"Your {amount} payment to {transaction['merchant']} failed today: see why?",
        "payload": f'/payments_failed{{"transaction_ref": "{failed["reference"]}"}}',
    }

    _, replies = assistant.say("ignored", offered[0]["payload"], token_for(customer))

    said = texts(replies)
    assert f"Your payment of {amount} to {transaction['merchant']}" in said
    assert "did not go through" in said and diagnosis["explanation"] in said
    assert assistant.server_errors() == []


def test_typing_something_else_is_answered_as_usual(assistant, customers):
    customer = customers[1]
    assistant.backend(
        "POST", "/sandbox/events", {"customer_id": customer, "kind": "payment_failed"}
    )
    _, opening = assistant.say("ignored", "/chat_opened", sign_in_token=token_for(customer))
    assert buttons(opening), "a customer whose payment just failed is offered something"
    balance = assistant.backend("GET", "/v1/customers/me/wallet", customer_id=customer)["balance"]

    _, replies = assistant.say("ignored", "what's my wallet balance?", token_for(customer))

    assert texts(replies).startswith(
        f"Your wallet balance is {money_text(balance['amount'], balance['currency'])}."
    )


def test_an_anonymous_chat_is_greeted_without_offers(assistant):
    status, replies = assistant.say("anonymous-opening", "/chat_opened")

    assert status == 200
    assert "How can I help" in texts(replies)
    assert buttons(replies) == []
