"""Customers talk to the real Rasa server and action server over the REST channel."""

from __future__ import annotations

import pytest

from common.customer_binding import issue_sign_in_token
from common.environment import DEV_SIGNING_SECRET
from tests.e2e.servers import RunningAssistant, SharedAssistant

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def assistant(
    shared_assistant: SharedAssistant, request: pytest.FixtureRequest
) -> RunningAssistant:
    return shared_assistant.module(request, block=3)


def texts(replies: list[dict]) -> str:
    return " ".join(reply.get("text", "") for reply in replies)


def test_a_customer_greets_asks_for_help_and_says_goodbye(assistant):
    status, replies = assistant.say("rest-happy", "hello")
    assert status == 200
    assert "How can I help" in texts(replies)

    _, replies = assistant.say("rest-happy", "what can you do?")
    assert "person" in texts(replies)

    _, replies = assistant.say("rest-happy", "thanks, bye")
    assert replies, "the assistant should answer a goodbye"


def test_the_assistant_admits_it_is_a_bot(assistant):
    _, replies = assistant.say("rest-bot", "are you a real person?")
    assert "virtual assistant" in texts(replies)


def test_asking_for_a_person_with_no_agent_at_the_desk_gets_a_way_to_reach_one(assistant):
    _, replies = assistant.say("rest-human", "let me speak to a human agent")
    assert "not signed in" in texts(replies) and "95188" in texts(replies)


def test_a_button_payload_is_understood(assistant):
    _, replies = assistant.say("rest-button", "/help")
    assert "person" in texts(replies)


BAD_INPUTS = {
    "empty": "",
    "whitespace": "   \n\t ",
    "ten thousand characters": "my card " * 1250,
    "control characters": "hel\x00lo\x07\x1b[31m\x7f",
    "emoji": "😀😀🙏🏽 💳❓",
    "chinese": "你好，我的银行卡丢了怎么办",
    "arabic": "مرحبا، أين أموالي؟",
    "script injection": "<script>alert('x')</script>",
    "sql injection": "'; DROP TABLE events; --",
    "template injection": "{{7*7}} ${jndi:ldap://x} %s%s%n",
    "fake payload": '/greet{"customer_id": "C00002"}',
}


@pytest.mark.parametrize("label", list(BAD_INPUTS))
def test_bad_input_gets_a_sensible_reply_and_the_conversation_goes_on(assistant, label):
    sender = f"rest-bad-{label.replace(' ', '-')}"
    status, replies = assistant.say(sender, BAD_INPUTS[label])
    assert status == 200
    assert texts(replies).strip(), f"no reply to {label} input"

    status, replies = assistant.say(sender, "hi")
    assert status == 200
    assert "How can I help" in texts(replies)
    assert assistant.server_errors() == []


def test_bad_input_is_kept_in_the_conversation_history(assistant):
    # Under the channels' size limit (2,000 characters); longer ones get a size reply.
    message = "<script>alert('x')</script> 😀 " + "x" * 1900
    assistant.say("rest-history", message)

    stored = [
        e.get("text") for e in assistant.tracker("rest-history")["events"] if e["event"] == "user"
    ]
    assert message in stored


def test_a_message_over_the_size_limit_gets_a_clear_reply_and_the_next_one_is_answered(assistant):
    status, replies = assistant.say("rest-huge", "x" * 1_000_000)
    assert status == 200
    assert "too long" in texts(replies).lower()
    status, replies = assistant.say("rest-huge", "hi")
    assert "How can I help" in texts(replies)


def test_a_chinese_speaking_customer_is_answered_in_chinese_and_english_and_offered_a_person(
    assistant,
):
    customer = next(
        customer_id
        for customer_id in assistant.customer_ids
        if assistant.backend("GET", "/v1/customers/me", customer_id=customer_id)[
            "preferred_language"
        ]
        == "zh"
    )
    token = issue_sign_in_token(customer, DEV_SIGNING_SECRET.encode())

    status, replies = assistant.say("ignored", "我的银行卡余额是多少", sign_in_token=token)

    assert status == 200
    assert "只能读懂英文" in texts(replies) and "only read English" in texts(replies)
    assert "not something I can help with" not in texts(replies)
    buttons = [button for reply in replies for button in reply.get("buttons", [])]
    assert [button["payload"] for button in buttons] == ["/request_human"]

    _, replies = assistant.say("ignored", buttons[0]["payload"], sign_in_token=token)
    assert "call you back" in texts(replies)


def test_entities_are_extracted_by_the_project_spacy_pipeline(assistant):
    parsed = assistant.api("/model/parse", {"text": "send ¥500 to my card ending in 4821 tomorrow"})

    found = {
        (entity["entity"], entity["value"], entity["extractor"]) for entity in parsed["entities"]
    }
    assert ("amount", "¥500", "SpacyEntityExtractor") in found
    assert ("card_last_four", "4821", "SpacyEntityExtractor") in found
    assert ("date", "tomorrow", "SpacyEntityExtractor") in found
