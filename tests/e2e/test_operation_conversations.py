"""Customers carry out requests end to end: real Rasa server (NLU, rules, forms), real action
server and real sandbox, over the signed REST channel, in their own words."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from common.customer_binding import bound_sender_id, issue_sign_in_token
from common.environment import DEV_SIGNING_SECRET
from tests.e2e.servers import RunningAssistant, SharedAssistant

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def assistant(
    shared_assistant: SharedAssistant, request: pytest.FixtureRequest
) -> Iterator[RunningAssistant]:
    running = shared_assistant.module(request, block=0)
    yield running
    assert running.server_errors() == []


class Chat:
    """One customer's chat: sends text, remembers the last buttons, reads the SMS inbox."""

    def __init__(self, assistant: RunningAssistant, customer: str) -> None:
        self.assistant = assistant
        self.customer = customer
        self.sender = f"e2e-{uuid.uuid4().hex[:8]}"
        self.token = issue_sign_in_token(customer, DEV_SIGNING_SECRET.encode())
        self.buttons: list[dict[str, Any]] = []

    def say(self, text: str) -> list[str]:
        status, replies = self.assistant.say(self.sender, text, self.token)
        assert status == 200
        self.buttons = [button for reply in replies for button in reply.get("buttons") or []]
        return [reply.get("text", "") for reply in replies]

    def press(self, index: int = 0) -> list[str]:
        return self.say(self.buttons[index]["payload"])

    def sms_code(self) -> str:
        inbox = self.assistant.backend("GET", f"/sandbox/devices/{self.customer}/messages")
        return inbox["messages"][0]["code"]

    def backend(self, path: str) -> Any:
        return self.assistant.backend("GET", f"/v1/customers/me{path}", customer_id=self.customer)


def savings_balance(chat: Chat) -> Decimal:
    return Decimal(chat.backend("/accounts")["accounts"][0]["balance"]["amount"])


def test_a_customer_sends_money_asks_a_question_on_the_way_and_confirms_with_the_sms_code(
    assistant,
):
    chat = Chat(assistant, assistant.customer(1))
    before = savings_balance(chat)

    assert "send money to" in chat.say("I want to send 20 yuan to someone")[0]
    confirmation = chat.press(0)[-1]
    assert "send 20.00 CNY" in confirmation and confirmation.endswith("Shall I send it?")
    digression = chat.say("what is my balance in the bank account?")
    assert digression[0].startswith("Here are your bank balances:")
    assert digression[-1] == confirmation
    assert "6-digit code" in chat.say("yes")[0]
    done = chat.say(chat.sms_code())

    assert done[0].startswith("Sent: 20.00 CNY")
    assert savings_balance(chat) == before - Decimal("20.00")


def test_a_customer_who_changes_their_mind_cancels_and_nothing_moves(assistant):
    chat = Chat(assistant, assistant.customer(1))
    before = savings_balance(chat)
    chat.say("transfer 50 rmb please")
    chat.press(1)

    assert chat.say("no, cancel it") == ["OK, I've cancelled it. Nothing was changed."]
    assert savings_balance(chat) == before


def test_three_wrong_codes_stop_the_transfer_and_nothing_moves(assistant):
    chat = Chat(assistant, assistant.customer(1))
    before = savings_balance(chat)
    chat.say("send 30 yuan")
    chat.press(0)
    chat.say("yes")
    right = chat.sms_code()
    wrong = "000000" if right != "000000" else "111111"

    assert "doesn't match" in chat.say(wrong)[0]
    assert "doesn't match" in chat.say(wrong)[0]
    assert "couldn't verify it's you" in chat.say(wrong)[0]
    assert savings_balance(chat) == before


def test_a_stolen_card_is_blocked_after_confirmation_and_verification(assistant):
    chat = Chat(assistant, assistant.customer(3))
    card = chat.backend("/cards")["cards"][0]

    # "Stole" says which: the customer is not asked whether it was lost or stolen.
    confirmation = chat.say("someone stole my debit card")
    assert "block your card" in confirmation[0] and "(It was stolen)" in confirmation[0]
    chat.say("yes")
    done = chat.say(chat.sms_code())

    assert "is blocked" in done[0] and "replacement card" in done[1]
    assert chat.backend(f"/cards/{card['card_id']}")["status"] == "stolen"


def test_a_customer_without_a_bank_account_is_told_how_to_open_one(assistant):
    profiles = {
        customer: assistant.backend("GET", "/v1/customers/me", customer_id=customer)
        for customer in assistant.customer_ids
    }
    customer = next(c for c, p in profiles.items() if "bank_account" not in p["products"])
    chat = Chat(assistant, customer)

    assert "can't see a bank account" in chat.say("what's the balance of my savings account")[0]


def customers_where(assistant: RunningAssistant, wanted) -> list[str]:
    found = []
    for customer in assistant.customer_ids:
        if wanted(
            assistant.backend("GET", "/v1/customers/me", customer_id=customer),
            assistant.backend("GET", "/v1/customers/me/events", customer_id=customer),
        ):
            found.append(customer)
    return found


def test_a_vague_payment_problem_is_narrowed_down_with_buttons_for_the_lines_held(assistant):
    customer = customers_where(
        assistant, lambda p, e: {"wallet", "debit_card"} <= set(p["products"])
    )[0]
    chat = Chat(assistant, customer)

    chat.say("my payment didn't go through")

    assert {button["payload"] for button in chat.buttons} == {
        "/payments_failed",
        "/bank_card_declined",
    }


def test_a_failed_wallet_payment_is_explained_with_its_real_reason(assistant):
    customer = customers_where(
        assistant, lambda p, e: any(x["kind"] == "payment_failed" for x in e["events"])
    )[0]
    failed = assistant.backend(
        "GET", "/v1/customers/me/wallet/transactions?status=failed", customer_id=customer
    )["transactions"][0]
    chat = Chat(assistant, customer)

    answer = " ".join(chat.say("why did my wallet payment fail?"))

    assert failed["merchant"] in answer


def test_a_customer_without_a_credit_line_asking_to_repay_is_told_what_it_is(assistant):
    customer = customers_where(assistant, lambda p, e: "credit_line" not in p["products"])[0]
    chat = Chat(assistant, customer)

    replies = chat.say("i want to repay my credit bill")

    assert "credit line" in replies[0] and "Shall I" not in replies[0]
    assert chat.say("what's my credit score")  # the conversation goes on normally


def test_a_resolved_request_is_rated_with_a_typed_number_and_a_comment(assistant):
    # The last wallet holder: a customer no other test here talks to, so this is the first
    # request of their session.
    customer = customers_where(assistant, lambda p, e: "wallet" in p["products"])[-1]
    chat = Chat(assistant, customer)

    answered = chat.say("how much is in my wallet?")
    assert answered[-1] == "How satisfied are you with the help you got today?"
    assert len(chat.buttons) == 5
    assert chat.say("4")[-1].endswith("Anything you'd like to tell us?")
    thanks = chat.say("quick and clear")
    assert thanks == [
        "Thank you, I've passed that on to the team. Is there anything else I can do for you?"
    ]
    # Asked once a session: the next answer ends without the question.
    assert "How satisfied" not in " ".join(chat.say("what's my wallet balance"))

    slots = assistant.tracker(bound_sender_id(customer))["slots"]
    assert slots["rating"] == "4"
    assert slots["rating_comment"] == "quick and clear"
    assert slots["resolved_request"].startswith("payments:")
