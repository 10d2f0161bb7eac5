"""A new session remembers who the customer is and forgets half-finished requests."""

from __future__ import annotations

from actions.session import ActionSessionStart
from tests.unit.trackers import tracker_after


async def test_new_session_keeps_the_customer_name_and_drops_request_details(
    dispatcher, domain_dict
):
    tracker = tracker_after("hi", "greet", slots={"customer_name": "Li Wei", "amount": "¥500"})

    events = await ActionSessionStart().run(dispatcher, tracker, domain_dict)

    assert events[0]["event"] == "session_started"
    slot_events = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert slot_events == {"customer_name": "Li Wei"}
    assert (events[-1]["event"], events[-1]["name"]) == ("action", "action_listen")


async def test_session_start_for_a_new_customer_sets_no_slots(dispatcher, domain_dict):
    events = await ActionSessionStart().run(dispatcher, tracker_after("hi", "greet"), domain_dict)

    assert [e["event"] for e in events] == ["session_started", "action"]
