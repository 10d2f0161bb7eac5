"""When the assistant is unsure, it asks with buttons worded for customers."""

from __future__ import annotations

from typing import Any

from rasa_sdk.executor import CollectingDispatcher

from actions.clarification import ActionClarifyRequest, consecutive_failures
from tests.unit.trackers import bot_event, tracker_after, user_event

RANKING = [
    {"name": "nlu_fallback", "confidence": 0.9},
    {"name": "help", "confidence": 0.3},
    {"name": "affirm", "confidence": 0.25},
    {"name": "request_human", "confidence": 0.2},
    {"name": "bot_challenge", "confidence": 0.1},
    {"name": "complain", "confidence": 0.06},
]


async def run(tracker, dispatcher: CollectingDispatcher, domain: dict[str, Any]) -> list[dict]:
    await ActionClarifyRequest().run(dispatcher, tracker, domain)
    return dispatcher.messages


async def test_unclear_message_offers_the_top_guesses_as_described_buttons(dispatcher, domain_dict):
    messages = await run(
        tracker_after("hmm the thing", intent_ranking=RANKING), dispatcher, domain_dict
    )

    assert messages[0]["response"] == "utter_ask_which_request"
    titles = [button["title"] for button in messages[0]["buttons"]]
    payloads = [button["payload"] for button in messages[0]["buttons"]]
    assert titles == [
        "See what I can do",
        "Talk to a person",
        "Ask whether I'm a bot",
        "None of these",
    ]
    assert payloads == ["/help", "/request_human", "/bot_challenge", "/deny"]


async def test_yes_and_no_are_never_offered_as_guesses(dispatcher, domain_dict):
    ranking = [{"name": "affirm", "confidence": 0.5}, {"name": "deny", "confidence": 0.4}]
    messages = await run(tracker_after("uh", intent_ranking=ranking), dispatcher, domain_dict)

    assert messages[0]["response"] == "utter_ask_rephrase"


async def test_an_empty_message_is_answered_with_a_request_to_rephrase(dispatcher, domain_dict):
    messages = await run(tracker_after("", intent_ranking=[]), dispatcher, domain_dict)

    assert messages[0]["response"] == "utter_ask_rephrase"


async def test_a_message_in_another_script_is_asked_for_in_english(dispatcher, domain_dict):
    messages = await run(
        tracker_after("我的卡丢了", intent_ranking=RANKING), dispatcher, domain_dict
    )

    assert messages[0]["response"] == "utter_english_only"


def test_the_english_only_answer_is_in_chinese_and_english_and_offers_a_person(domain_dict):
    answer = domain_dict["responses"]["utter_english_only"][0]

    assert "只能读懂英文" in answer["text"]
    assert "I can only read English for now" in answer["text"]
    assert [button["payload"] for button in answer["buttons"]] == ["/request_human"]


async def test_chinese_after_failures_is_still_answered_in_chinese_not_handed_off(
    dispatcher, domain_dict
):
    earlier = [
        user_event("blah", "nlu_fallback"),
        bot_event("Did you mean one of these?"),
        user_event("我的卡丢了", "nlu_fallback"),
        bot_event("Sorry, I can only read English for now."),
    ]
    messages = await run(
        tracker_after("我的银行卡余额是多少", intent_ranking=RANKING, earlier_events=earlier),
        dispatcher,
        domain_dict,
    )

    assert [message["response"] for message in messages] == ["utter_english_only"]


async def test_a_second_failure_in_a_row_offers_a_person(dispatcher, domain_dict):
    earlier = [user_event("blah", "nlu_fallback"), bot_event("Did you mean one of these?")]
    messages = await run(
        tracker_after("blah blah", intent_ranking=RANKING, earlier_events=earlier),
        dispatcher,
        domain_dict,
    )

    assert messages[0]["response"] == "utter_offer_person_after_failures"
    offered = domain_dict["responses"]["utter_offer_person_after_failures"][0]["buttons"]
    assert "/request_human" in [button["payload"] for button in offered]


def test_an_understood_message_ends_the_streak_of_failures():
    events = [
        user_event("blah", "nlu_fallback"),
        user_event("what can you do", "help"),
        user_event("blah", "nlu_fallback"),
    ]
    assert consecutive_failures(events) == 1


def test_saying_none_of_these_keeps_the_streak_going():
    events = [
        user_event("blah", "nlu_fallback"),
        user_event("None of these", "deny"),
        user_event("blah again", "nlu_fallback"),
    ]
    assert consecutive_failures(events) == 2


async def test_a_message_most_like_nothing_we_do_gets_the_out_of_scope_answer(
    dispatcher, domain_dict
):
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.35},
        {"name": "out_of_scope", "confidence": 0.3},
        {"name": "bank_balance", "confidence": 0.2},
    ]
    messages = await run(
        tracker_after("how do I cook rice", intent_ranking=ranking), dispatcher, domain_dict
    )

    assert [message["response"] for message in messages] == ["utter_out_of_scope", None]
    # Then what the assistant can do, as the out-of-scope rule says it, so it is no dead end.
    assert messages[1]["text"].startswith("Here is what I can help you with:")
    assert "- Bank accounts and debit cards:" in messages[1]["text"]
