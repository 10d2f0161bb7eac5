"""Bringing in a person: what is sent to the desk, what the customer is told, when the
assistant pauses, and the way back with a rating."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

from actions.clarification import ActionClarifyRequest
from actions.handoff import ActionHandoffResumed, ActionRequestHuman, paused, when
from actions.handoff_connector import HandoffOutcome, load_connector
from actions.rendering import customer_zone
from actions.satisfaction import ActionRecordSatisfaction, rating_given
from clients.backend import BackendError
from tests.recording_desk import RecordingDesk, UnreachableDesk
from tests.unit.trackers import bot_event, tracker_after, user_event

PAUSED = paused()


def escalated(reason: str) -> list[dict[str, Any]]:
    """The event that tells the analytics why a person was brought in."""
    return [SlotSet("escalation_reason", reason)]


class ProfileBackend:
    def __init__(self, fails: bool = False) -> None:
        self.fails = fails

    async def get_profile(self, customer_id: str) -> dict[str, Any]:
        if self.fails:
            raise BackendError("unavailable", "timeout", "no answer")
        return {"customer_id": customer_id, "name": "Li Wei", "products": ["wallet", "bank"]}


def with_message_ids(tracker: Tracker) -> Tracker:
    for number, event in enumerate(tracker.events):
        event["timestamp"] = 1_700_000_000.0 + number
        if event["event"] == "user":
            event["message_id"] = f"m{number}"
    return tracker


def signed_in_request(text: str = "i want to talk to a person", **kwargs: Any) -> Tracker:
    earlier = [
        user_event("my card was declined", "bank_card_declined"),
        bot_event("Your card ending 4821 was declined because it is frozen."),
    ]
    return with_message_ids(
        tracker_after(
            text,
            "request_human",
            earlier_events=kwargs.pop("earlier_events", earlier),
            sender_id="customer:C00001",
            slots={
                "customer_name": "Li Wei",
                "verification_code": "123456",
                "amount": None,
                "card": "4821",
            },
            **kwargs,
        )
    )


async def test_a_request_for_a_person_queues_the_chat_and_pauses_the_assistant(
    dispatcher, domain_dict
):
    desk = RecordingDesk(HandoffOutcome(status="queued", position=2))

    events = await ActionRequestHuman(ProfileBackend(), desk).run(
        dispatcher, signed_in_request(), domain_dict
    )

    assert events == [*escalated("customer_request"), *PAUSED]
    assert dispatcher.messages[-1]["response"] == "utter_handoff_queued"
    assert dispatcher.messages[-1]["position"] == "2"
    assert "{position}" in domain_dict["responses"]["utter_handoff_queued"][0]["text"]


async def test_the_agent_gets_the_transcript_intents_slots_and_profile(dispatcher, domain_dict):
    desk = RecordingDesk()

    await ActionRequestHuman(ProfileBackend(), desk).run(
        dispatcher, signed_in_request(), domain_dict
    )

    request = desk.requests[0]
    assert request.conversation_id == "customer:C00001"
    assert request.customer_id == "C00001"
    assert request.reason == "customer_request"
    assert [line.author for line in request.transcript] == ["customer", "bot", "customer"]
    assert request.transcript[0].text == "my card was declined"
    assert request.transcript[0].message_id == "m0"
    assert [intent["name"] for intent in request.intents] == ["bank_card_declined", "request_human"]
    assert request.intents[0]["description"]
    assert request.slots == {"customer_name": "Li Wei", "card": "4821"}
    assert request.profile is not None and request.profile["name"] == "Li Wei"
    # The card decline was the last product matter: the bank's agents take it.
    assert request.skill == "bank"


async def test_the_agent_reads_what_the_customer_said_not_the_chat_page_s_opening_message(
    dispatcher, domain_dict
):
    desk = RecordingDesk()
    opened_with_offers = [
        user_event("/chat_opened", "chat_opened"),
        bot_event("Hello Li Wei. Is it about one of these? Or type your question."),
        user_event("my card was declined", "bank_card_declined"),
        bot_event("Your card ending 4821 was declined because it is frozen."),
    ]

    await ActionRequestHuman(ProfileBackend(), desk).run(
        dispatcher, signed_in_request(earlier_events=opened_with_offers), domain_dict
    )

    request = desk.requests[0]
    assert [line.text for line in request.transcript if line.author == "customer"] == [
        "my card was declined",
        "i want to talk to a person",
    ]
    assert [intent["name"] for intent in request.intents] == ["bank_card_declined", "request_human"]


async def test_without_a_profile_the_handoff_still_happens(dispatcher, domain_dict):
    desk = RecordingDesk()

    events = await ActionRequestHuman(ProfileBackend(fails=True), desk).run(
        dispatcher, signed_in_request(), domain_dict
    )

    assert events == [*escalated("customer_request"), *PAUSED]
    assert desk.requests[0].profile is None


async def test_outside_business_hours_the_customer_gets_a_callback_and_the_bot_stays(
    dispatcher, domain_dict
):
    desk = RecordingDesk(
        HandoffOutcome(
            status="ticket",
            ticket_reason="closed",
            opens_at="2026-11-30T08:00:00+08:00",
            callback_due_at="2026-11-30T10:00:00+08:00",
        )
    )

    events = await ActionRequestHuman(ProfileBackend(), desk).run(
        dispatcher, signed_in_request(), domain_dict
    )

    assert events == escalated("customer_request")
    said = dispatcher.messages[-1]
    assert said["response"] == "utter_handoff_ticket_closed"
    assert said["opens_at"] == "Mon 30 Nov 2026, 08:00 (Beijing time)"
    assert said["callback_due_at"] == "Mon 30 Nov 2026, 10:00 (Beijing time)"


async def test_with_nobody_free_the_customer_gets_a_callback(dispatcher, domain_dict):
    desk = RecordingDesk(
        HandoffOutcome(
            status="ticket", ticket_reason="no_agent", callback_due_at="2026-11-30T10:00:00+08:00"
        )
    )

    await ActionRequestHuman(ProfileBackend(), desk).run(
        dispatcher, signed_in_request(), domain_dict
    )

    assert dispatcher.messages[-1]["response"] == "utter_handoff_ticket_busy"


async def test_an_anonymous_customer_without_an_agent_is_told_how_else_to_reach_one(
    dispatcher, domain_dict
):
    desk = RecordingDesk(HandoffOutcome(status="ticket", ticket_reason="no_agent"))

    await ActionRequestHuman(ProfileBackend(), desk).run(
        dispatcher, tracker_after("a person please", "request_human"), domain_dict
    )

    assert desk.requests[0].customer_id is None
    assert desk.requests[0].profile is None
    assert dispatcher.messages[-1]["response"] == "utter_handoff_ticket_anonymous"


async def test_when_the_desk_cannot_be_reached_the_customer_gets_the_hotline(
    dispatcher, domain_dict
):
    events = await ActionRequestHuman(ProfileBackend(), UnreachableDesk()).run(
        dispatcher, signed_in_request(), domain_dict
    )

    assert events == []
    assert dispatcher.messages[-1]["response"] == "utter_handoff_unreachable"
    assert "95188" in domain_dict["responses"]["utter_handoff_unreachable"][0]["text"]


async def test_asking_for_a_person_after_an_outage_is_handed_off_as_an_outage(
    dispatcher, domain_dict
):
    desk = RecordingDesk()
    earlier = [
        user_event("what's my balance", "payments_balance"),
        {
            **bot_event("Sorry, I can't reach our systems right now"),
            "metadata": {"utter_action": "utter_backend_unavailable"},
        },
    ]

    await ActionRequestHuman(ProfileBackend(), desk).run(
        dispatcher, signed_in_request("/request_human", earlier_events=earlier), domain_dict
    )

    assert desk.requests[0].reason == "backend_outage"
    assert desk.requests[0].skill == "payments"


async def test_a_complaint_goes_to_a_person_by_the_general_line_policy(dispatcher, domain_dict):
    desk = RecordingDesk()

    await ActionRequestHuman(ProfileBackend(), desk).run(
        dispatcher,
        tracker_after("this is outrageous", "complain", sender_id="customer:C00002"),
        domain_dict,
    )

    assert desk.requests[0].reason == "policy"
    assert desk.requests[0].reason_detail == "Make a complaint"
    assert desk.requests[0].skill == "general"
    assert dispatcher.messages[0]["response"] == "utter_handoff_lead_complain"


async def test_a_third_misunderstanding_in_a_row_brings_in_a_person(dispatcher, domain_dict):
    desk = RecordingDesk()
    earlier = [
        user_event("blah", "nlu_fallback"),
        bot_event("Did you mean one of these?"),
        user_event("blah blah", "nlu_fallback"),
        {
            **bot_event("Would you like to talk to a person?"),
            "metadata": {"utter_action": "utter_offer_person_after_failures"},
        },
    ]

    events = await ActionClarifyRequest(ProfileBackend(), desk).run(
        dispatcher,
        tracker_after("blah blah blah", earlier_events=earlier, sender_id="customer:C00003"),
        domain_dict,
    )

    assert events == [*escalated("repeated_fallback"), *PAUSED]
    assert desk.requests[0].reason == "repeated_fallback"
    assert dispatcher.messages[0]["response"] == "utter_handoff_lead_repeated_fallback"


async def test_after_the_agent_resolves_the_assistant_is_back_and_asks_for_a_rating(
    dispatcher, domain_dict
):
    tracker = tracker_after("", "EXTERNAL_handoff_resolved")
    tracker.latest_message["entities"] = [{"entity": "agent_name", "value": "Lin"}]

    await ActionHandoffResumed(ProfileBackend(), RecordingDesk()).run(
        dispatcher, tracker, domain_dict
    )

    assert dispatcher.messages[0]["response"] == "utter_handoff_back"
    assert dispatcher.messages[0]["agent_name"] == "Lin"
    assert dispatcher.messages[1]["response"] == "utter_ask_satisfaction"
    buttons = dispatcher.messages[1]["buttons"]
    assert [button["payload"] for button in buttons] == [
        f'/rate_service{{"rating": "{rating}"}}' for rating in (5, 4, 3, 2, 1)
    ]


async def test_a_rating_after_the_agent_resolved_is_recorded_at_the_desk(dispatcher, domain_dict):
    desk = RecordingDesk()
    resumed = [
        user_event("", "EXTERNAL_handoff_resolved"),
        {"event": "action", "name": "action_handoff_resumed"},
    ]
    tracker = tracker_after(
        "/rate_service", "rate_service", earlier_events=resumed, sender_id="customer:C00004"
    )
    tracker.latest_message["entities"] = [{"entity": "rating", "value": "4"}]

    await ActionRecordSatisfaction(ProfileBackend(), desk).run(dispatcher, tracker, domain_dict)

    assert desk.ratings == [("customer:C00004", 4)]
    assert dispatcher.messages[0]["response"] == "utter_thanks_for_rating"


def test_ratings_are_read_from_digits_and_words_and_nothing_else():
    def rated(text: str) -> int | None:
        return rating_given(tracker_after(text, "rate_service"))

    assert rated("i'd give it a 4") == 4
    assert rated("very dissatisfied") == 1
    assert rated("very satisfied") == 5
    assert rated("it was okay") == 3
    assert rated("9 out of 10") is None
    # Negated words are not guessed at: "not good" is no 4, "not bad" no 2.
    assert rated("not good at all") is None
    assert rated("wasn't great") is None
    assert rated("not bad") is None
    assert rated("'; DROP TABLE ratings; --") is None


def test_desk_times_read_on_the_customers_clock_and_missing_ones_do_not_break():
    beijing, london = customer_zone(None), customer_zone({"time_zone": "Europe/London"})

    assert when("2026-11-30T08:00:00+08:00", beijing) == "Mon 30 Nov 2026, 08:00 (Beijing time)"
    assert when("2026-11-30T08:00:00+08:00", london) == "Mon 30 Nov 2026, 00:00 (UTC)"
    assert when(None, beijing) == "as soon as possible"
    assert when("not a time", beijing) == "not a time"


def test_an_external_desk_is_plugged_in_by_naming_its_class():
    connector = load_connector("tests.recording_desk:RecordingDesk")

    assert isinstance(connector, RecordingDesk)
