"""A product line's policy brings in a person after certain answers (capabilities/<line>.yml
``handoff:``), and asking for a person in the middle of a request stops it and hands over."""

from __future__ import annotations

from typing import Any

from tests.operations.conversation import Conversation
from tests.recording_desk import RecordingDesk


class LockedAccountBackend:
    """The security answer of an account locked for ``reason``. The seeded sandbox locks only
    about 2% of its customers at random, too few to find each reason among a test's few."""

    def __init__(self, reason: str | None) -> None:
        self.reason = reason

    async def call(self, customer_id: str, method: str, path: str, **_: Any) -> dict[str, Any]:
        if path == "/v1/customers/me":
            return await self.get_profile(customer_id)
        assert (method, path) == ("GET", "/v1/customers/me/security")
        return {
            "locked": self.reason is not None,
            "reason": self.reason,
            "locked_at": "2026-11-28T09:00:00Z" if self.reason else None,
        }

    async def get_profile(self, customer_id: str) -> dict[str, Any]:
        return {"customer_id": customer_id, "name": "Test Customer", "products": []}


async def test_a_filed_fraud_report_is_handed_to_the_security_team(client, domain_dict):
    desk = RecordingDesk()
    chat = Conversation("C00002", client, domain_dict, desk=desk)

    await chat.say("someone is using my account", "security_report_fraud")
    await chat.say("a payment of 500 yuan I did not make", "inform")
    replies = await chat.say("yes", "affirm")

    assert "utter_security_fraud_reported" in chat.last_responses
    assert chat.last_responses[-1] == "utter_handoff_queued"
    assert "number 2 in the queue" in replies[-1]
    assert chat.paused
    request = desk.requests[0]
    assert (request.reason, request.skill) == ("policy", "security")
    assert request.reason_detail == "Report fraud or a scam"
    assert "a payment of 500 yuan I did not make" in [line.text for line in request.transcript]


async def test_an_account_only_a_specialist_can_unlock_is_handed_over(domain_dict):
    desk = RecordingDesk()
    chat = Conversation("C00004", LockedAccountBackend("suspected_fraud"), domain_dict, desk=desk)

    await chat.say("why is my account locked", "security_account_locked")

    assert chat.last_responses[0] == "utter_security_account_locked_suspected_fraud"
    assert chat.paused
    assert desk.requests[0].skill == "security"


async def test_a_self_service_answer_is_not_handed_over(domain_dict):
    desk = RecordingDesk()
    chat = Conversation("C00005", LockedAccountBackend(None), domain_dict, desk=desk)

    await chat.say("why is my account locked", "security_account_locked")

    assert chat.last_responses == ["utter_security_account_locked_None"]
    assert not chat.paused
    assert desk.requests == []


async def test_asking_for_a_person_mid_request_stops_it_and_hands_over(client, domain_dict):
    desk = RecordingDesk()
    chat = Conversation("C00003", client, domain_dict, desk=desk)

    await chat.say("report a scam", "security_report_fraud")
    await chat.say("can i talk to a real person", "request_human")

    assert chat.last_responses[0] == "utter_operation_left_for_a_person"
    assert chat.last_responses[-1] == "utter_handoff_queued"
    assert chat.paused and chat.form is None
    assert desk.requests[0].reason == "customer_request"
    assert "Report fraud or a scam" in desk.requests[0].reason_detail
