"""Customers are asked how satisfied they are when a request ends, not only after a handoff:
once a session, never in the middle of a request; the action server says how each request
ended (resolved_request, escalation_reason) and keeps the rating and the comment."""

from __future__ import annotations

from typing import Any

from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import ActionHandoffResumed, ActionRequestHuman
from actions.satisfaction import (
    ActionAskSatisfaction,
    ActionRecordRatingComment,
    ActionRecordSatisfaction,
)
from clients.backend import BackendClient
from tests.operations.conversation import Conversation
from tests.operations.test_bank_operations import (
    first_customer,
    pick_recipient,
    sandbox_admin,
    sender_with_recipients,
    sms_code,
)
from tests.recording_desk import RecordingDesk

RATING_QUESTION = "How satisfied are you with the help you got today?"
COMMENT_QUESTION = "Anything you'd like to tell us?"
GENERAL_ACTIONS = {
    action().name(): action
    for action in (
        ActionAskSatisfaction,
        ActionRecordSatisfaction,
        ActionRecordRatingComment,
        ActionRequestHuman,
        ActionHandoffResumed,
    )
}
# data/rules/general.yml: what follows the customer's intent, whatever came before...
AFTER_ANYTHING = {
    "rate_service": "action_record_satisfaction",
    "request_human": "action_request_human",
    "EXTERNAL_handoff_resolved": "action_handoff_resumed",
}
# ...and what follows it right after one of the survey's questions.
AFTER_QUESTION = {
    ("action_ask_satisfaction", "inform"): "action_record_satisfaction",
    ("action_handoff_resumed", "inform"): "action_record_satisfaction",
    ("action_record_satisfaction", "inform"): "action_record_rating_comment",
    ("action_record_satisfaction", "nlu_fallback"): "action_record_rating_comment",
    ("action_record_satisfaction", "deny"): "utter_no_comment_then",
    ("action_record_satisfaction", "affirm"): "utter_go_ahead_with_comment",
    ("utter_go_ahead_with_comment", "inform"): "action_record_rating_comment",
    ("utter_go_ahead_with_comment", "nlu_fallback"): "action_record_rating_comment",
}


class SurveyedConversation(Conversation):
    """The operation conversation plus what Rasa does around it for the survey: the action a
    FollowupAction names runs next, each action run is an event, and the general layer's
    rules for the rating, its comment and a handoff choose the action."""

    async def _run(self, action: Any, dispatcher: CollectingDispatcher) -> list[dict[str, Any]]:
        events = await action.run(dispatcher, self.tracker(), self.domain)
        self._apply([{"event": "action", "name": action.name()}, *events])
        for event in events:
            if event.get("event") == "followup":
                await self._run(self._general(event["name"]), dispatcher)
        return events

    def _general(self, name: str) -> Any:
        return GENERAL_ACTIONS[name](self.client, self.desk, self.settings)

    def _previous_action(self) -> str | None:
        ran = [event["name"] for event in self.events if event.get("event") == "action"]
        return ran[-1] if ran else None

    async def _start(self, dispatcher: CollectingDispatcher, intent: str) -> None:
        chosen = AFTER_QUESTION.get((self._previous_action() or "", intent)) or AFTER_ANYTHING.get(
            intent
        )
        if chosen is None:
            await super()._start(dispatcher, intent)
        elif chosen.startswith("utter_"):
            dispatcher.utter_message(response=chosen)
            self._apply([{"event": "action", "name": chosen}])
        else:
            await self._run(self._general(chosen), dispatcher)

    async def agent_resolves(self) -> list[str]:
        """The agent gives the chat back: the desk resumes it and triggers the intent."""
        self._apply([{"event": "resume"}])
        return await self.say("", "EXTERNAL_handoff_resolved")

    def new_session(self) -> None:
        """An hour of silence: Rasa starts a new session, keeping only who the customer is."""
        self.slots = {"customer_name": self.slots.get("customer_name")}
        self._apply([{"event": "session_started"}])

    def slot_values_set(self, name: str) -> list[Any]:
        return [e["value"] for e in self.events if e.get("event") == "slot" and e["name"] == name]


async def bank_customer(client: BackendClient) -> str:
    async def holds_an_account(customer: str, profile: dict[str, Any]) -> bool:
        return "bank_account" in profile["products"]

    return await first_customer(client, holds_an_account)


async def customer_without_a_bank_account(client: BackendClient) -> str:
    async def holds_none(customer: str, profile: dict[str, Any]) -> bool:
        return "bank_account" not in profile["products"]

    return await first_customer(client, holds_none)


async def test_a_resolved_request_ends_with_a_one_tap_rating_asked_once_a_session(
    client, domain_dict
):
    chat = SurveyedConversation(await bank_customer(client), client, domain_dict)

    replies = await chat.say("how much money do I have", "bank_balance")

    assert replies[0].startswith("Here are your bank balances:")
    assert replies[1:] == [RATING_QUESTION]
    assert [button["title"] for button in chat.last_buttons] == [
        "5 - Very satisfied",
        "4 - Satisfied",
        "3 - Okay",
        "2 - Dissatisfied",
        "1 - Very dissatisfied",
    ]
    assert chat.last_buttons[1]["payload"] == '/rate_service{"rating": "4"}'
    assert chat.slots["resolved_request"] == "bank:bank_balance"

    again = await chat.say("and my balance once more?", "bank_balance")
    assert RATING_QUESTION not in again
    assert chat.slot_values_set("resolved_request") == ["bank:bank_balance"] * 2

    chat.new_session()
    next_day = await chat.say("what's my balance", "bank_balance")
    assert next_day[-1] == RATING_QUESTION


async def test_the_rating_and_the_comment_are_kept_with_the_conversation(client, domain_dict):
    desk = RecordingDesk()
    chat = SurveyedConversation(await bank_customer(client), client, domain_dict, desk=desk)
    await chat.say("how much money do I have", "bank_balance")

    thanks = await chat.say('/rate_service{"rating": "4"}', "rate_service", rating="4")
    assert thanks == [f"Thank you for rating us; it helps us get better. {COMMENT_QUESTION}"]
    assert [button["title"] for button in chat.last_buttons] == ["No, thanks"]
    assert chat.slots["rating"] == "4"
    # No handoff in this chat: the desk has nothing to keep it with.
    assert desk.ratings == []

    said = "The balance was clear, but I'd like to see pending payments too"
    replies = await chat.say(said, "nlu_fallback", confidence=0.2)
    assert replies == [
        "Thank you, I've passed that on to the team. Is there anything else I can do for you?"
    ]
    assert chat.slots["rating_comment"] == said


async def test_a_bare_number_rates_and_no_thanks_leaves_no_comment(client, domain_dict):
    chat = SurveyedConversation(await bank_customer(client), client, domain_dict)
    await chat.say("how much money do I have", "bank_balance")

    await chat.say("5", "inform")
    replies = await chat.say("/deny", "deny")

    assert chat.slots["rating"] == "5"
    assert replies == ["No problem. Is there anything else I can do for you?"]
    assert chat.slots.get("rating_comment") is None


async def test_a_new_request_instead_of_a_comment_is_served_and_leaves_no_comment(
    client, domain_dict
):
    chat = SurveyedConversation(await bank_customer(client), client, domain_dict)
    await chat.say("how much money do I have", "bank_balance")
    await chat.say('/rate_service{"rating": "3"}', "rate_service", rating="3")

    replies = await chat.say("show me my recent transfers", "bank_transfer_history")

    assert COMMENT_QUESTION not in " ".join(replies)
    assert chat.slots.get("rating_comment") is None
    assert chat.slots["resolved_request"] == "bank:bank_transfer_history"


async def test_no_rating_after_a_request_that_could_not_be_served(client, sandbox, domain_dict):
    chat = SurveyedConversation(await customer_without_a_bank_account(client), client, domain_dict)

    refused = await chat.say("how much money do I have", "bank_balance")
    assert "don't have" in refused[0] or "can't see" in refused[0], refused
    assert RATING_QUESTION not in refused

    served = SurveyedConversation(await bank_customer(client), client, domain_dict)
    await sandbox_admin(
        sandbox.base_url,
        "PUT",
        "/sandbox/faults",
        {"rules": [{"match": "/v1/customers/me/accounts", "outage": True}]},
    )
    try:
        failed = await served.say("how much money do I have", "bank_balance")
    finally:
        await sandbox_admin(sandbox.base_url, "DELETE", "/sandbox/faults")
    assert any("can't reach our systems" in reply for reply in failed), failed
    assert RATING_QUESTION not in failed
    assert chat.slot_values_set("resolved_request") == []
    assert served.slot_values_set("resolved_request") == []


async def test_a_question_answered_in_the_middle_of_a_transfer_asks_for_no_rating(
    client, domain_dict
):
    chat = SurveyedConversation(await sender_with_recipients(client), client, domain_dict)
    await chat.say("send money", "bank_transfer")
    await pick_recipient(chat)

    replies = await chat.say("wait, how much do I have in my account?", "bank_balance")

    assert replies[0].startswith("Here are your bank balances:")
    assert replies[1:] == ["Now, back to your request.", "How much would you like to send?"]
    assert chat.slot_values_set("resolved_request") == []


async def test_a_blocked_card_is_rated_only_once_the_replacement_offer_is_answered(
    client, sandbox, domain_dict
):
    async def one_active_card(customer: str, profile: dict[str, Any]) -> bool:
        cards = (await client.call(customer, "GET", "/v1/customers/me/cards"))["cards"]
        return len(cards) == 1 and cards[0]["status"] == "active"

    customer = await first_customer(client, one_active_card)
    chat = SurveyedConversation(customer, client, domain_dict)
    await chat.say("my card was stolen", "bank_report_lost_card")
    await chat.say("yes", "affirm")
    blocked = await chat.say(await sms_code(sandbox.base_url, customer), "inform")

    assert "is blocked" in blocked[0]
    assert "replacement card" in blocked[1]
    assert RATING_QUESTION not in blocked
    assert chat.slots["resolved_request"] == "bank:bank_report_lost_card"

    await chat.say("/bank_replace_card", "bank_replace_card")
    await chat.say("yes", "affirm")
    ordered = await chat.say(await sms_code(sandbox.base_url, customer), "inform")

    assert ordered[-1] == RATING_QUESTION
    assert chat.slots["resolved_request"] == "bank:bank_replace_card"


async def test_an_answer_that_offers_the_next_step_is_not_followed_by_the_rating(
    client, domain_dict
):
    async def open_bill(customer: str, profile: dict[str, Any]) -> bool:
        if "credit_line" not in profile["products"]:
            return False
        bill = await client.call(customer, "GET", "/v1/customers/me/credit-line/bills/current")
        return bill.get("status") == "open"

    chat = SurveyedConversation(await first_customer(client, open_bill), client, domain_dict)

    replies = await chat.say("what's my credit card bill", "credit_bill")

    assert [button["title"] for button in chat.last_buttons] == [
        "Repay now",
        "Split into instalments",
    ]
    assert RATING_QUESTION not in replies
    assert chat.slots["resolved_request"] == "credit:credit_bill"


async def test_a_policy_handoff_is_rated_when_the_agent_gives_the_chat_back(client, domain_dict):
    desk = RecordingDesk()
    chat = SurveyedConversation("C00002", client, domain_dict, desk=desk)
    await chat.say("someone is using my account", "security_report_fraud")
    await chat.say("a payment of 500 yuan I did not make", "inform")

    handed_over = await chat.say("yes", "affirm")

    assert chat.paused
    assert RATING_QUESTION not in handed_over
    assert chat.slots["escalation_reason"] == "policy"
    assert chat.slot_values_set("resolved_request") == []

    back = await chat.agent_resolves()
    assert back[-1] == RATING_QUESTION
    await chat.say("4", "inform")
    assert desk.ratings == [(chat.sender, 4)]
    assert chat.slots["rating"] == "4"

    answered = await chat.say("what cards do I have", "bank_cards")
    assert RATING_QUESTION not in answered


async def test_asking_for_a_person_says_why_the_chat_was_escalated(client, domain_dict):
    chat = SurveyedConversation(await bank_customer(client), client, domain_dict)

    await chat.say("can I talk to a real person", "request_human")

    assert chat.paused
    assert chat.slots["escalation_reason"] == "customer_request"
