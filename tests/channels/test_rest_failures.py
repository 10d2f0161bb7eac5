"""A REST client can tell a message the assistant could not handle (503, send it again) from
one it had nothing to say to: the fault runs found 47 messages answered with an empty 200
during a Redis restart, never handled, and no client could know."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from rasa.core.channels.channel import UserMessage

from channels.rest import FAILURE_REPLY, AnonymousRestInput
from tests.channels.test_customer_messages import ENVIRONMENT


@pytest.fixture(autouse=True)
def embedded_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)


def webhook_of(handle_message: Any) -> Any:
    blueprint = AnonymousRestInput().blueprint(handle_message)
    return next(route.handler for route in blueprint._future_routes if route.uri == "/webhook")


async def post(handle_message: Any, message: str = "what is my balance") -> Any:
    request = SimpleNamespace(
        body=json.dumps({"sender": "rest-failure-test", "message": message}).encode(),
        headers={},
        remote_addr="",
        ip="127.0.0.1",
    )
    return await webhook_of(handle_message)(request)


async def test_a_message_that_could_not_be_handled_is_answered_503_to_send_again():
    async def store_unreachable(message: UserMessage) -> None:
        raise ConnectionError("the lock store's Redis is restarting")

    answer = await post(store_unreachable)

    assert answer.status == 503
    assert answer.headers["Retry-After"] == "2"
    body = json.loads(answer.body)
    assert body["error"] == "unavailable" and body["message"] == FAILURE_REPLY
    assert body["retry_after_seconds"] == 2


async def test_what_was_said_before_a_failure_still_reaches_the_customer():
    async def fails_after_answering(message: UserMessage) -> None:
        await message.output_channel.send_text_message(message.sender_id, "Your balance is 5.00")
        raise ConnectionError("the tracker store went away while saving")

    answer = await post(fails_after_answering)

    assert answer.status == 200
    assert [reply["text"] for reply in json.loads(answer.body)] == ["Your balance is 5.00"]


async def test_a_message_handled_with_nothing_to_say_is_still_an_empty_200():
    async def says_nothing(message: UserMessage) -> None:
        return None

    answer = await post(says_nothing)

    assert answer.status == 200 and json.loads(answer.body) == []
