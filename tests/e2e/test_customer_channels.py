"""Which customer a chat belongs to comes from the channel's sign-in, never from the client."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from channels.customer_messages import PAYMENT_DATA_WARNING, TOO_LONG_REPLY
from common.customer_binding import issue_sign_in_token
from common.environment import DEV_SIGNING_SECRET
from tests.channels.stores import PLANTED_CARD_MESSAGE, files_holding
from tests.e2e.servers import LOW_SENDER_MESSAGES_PER_MINUTE, RunningAssistant, SharedAssistant

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def data_dir(shared_assistant_with_short_limits: SharedAssistant) -> Path:
    return shared_assistant_with_short_limits.data_dir


@pytest.fixture(scope="module")
def assistant(
    shared_assistant_with_short_limits: SharedAssistant, request: pytest.FixtureRequest
) -> RunningAssistant:
    """The servers take LOW_SENDER_MESSAGES_PER_MINUTE from a sender: a test goes over it in
    seconds."""
    return shared_assistant_with_short_limits.module(request, block=1)


def token_for(assistant: RunningAssistant, number: int) -> str:
    return issue_sign_in_token(assistant.customer(number), DEV_SIGNING_SECRET.encode())


def post(
    assistant: RunningAssistant, path: str, body: bytes, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"{assistant.rasa_url}{path}", body, {"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def texts(replies: list[dict[str, Any]]) -> list[str]:
    return [reply.get("text") or "" for reply in replies]


def user_texts(assistant: RunningAssistant, sender: str) -> list[str]:
    return [
        event.get("text")
        for event in assistant.tracker(sender)["events"]
        if event["event"] == "user"
    ]


def test_a_signed_in_customer_chats_in_their_own_conversation(assistant):
    customer = assistant.customer(7)

    status, replies = assistant.say(
        "whatever-the-client-says", "hello", sign_in_token=token_for(assistant, 7)
    )

    assert status == 200 and replies
    assert assistant.tracker(f"customer:{customer}")["events"], f"conversation for {customer}"


def test_the_anonymous_channel_refuses_to_pass_for_a_customer(assistant):
    status, _ = assistant.say(f"customer:{assistant.customer(7)}", "show my balance")

    assert status == 403


@pytest.mark.parametrize("kind", ["missing", "garbage", "forged", "expired"])
def test_the_signed_channel_refuses_missing_forged_or_expired_tokens(assistant, kind):
    customer = assistant.customer(7)
    token = {
        "missing": "",
        "garbage": "not-a-token",
        "forged": issue_sign_in_token(customer, b"forged-secret"),
        "expired": issue_sign_in_token(customer, DEV_SIGNING_SECRET.encode(), seconds=-60),
    }[kind]

    status, replies = assistant.say(f"customer:{customer}", "hello", sign_in_token=token)

    assert status == 401
    assert replies == []


def test_a_card_number_and_cvv_are_stored_nowhere_and_the_customer_is_warned(assistant, data_dir):
    anonymous_status, anonymous = assistant.say("rest-card", PLANTED_CARD_MESSAGE)
    signed_status, signed = assistant.say(
        "ignored", PLANTED_CARD_MESSAGE, sign_in_token=token_for(assistant, 8)
    )

    for status, replies in ((anonymous_status, anonymous), (signed_status, signed)):
        assert status == 200
        assert texts(replies)[0] == PAYMENT_DATA_WARNING and len(replies) > 1
    assert user_texts(assistant, "rest-card") == [
        "my card number is [card ending 1111] and [security code]"
    ]
    assert files_holding(data_dir) == {}


def test_a_message_over_the_size_limit_gets_the_size_reply_and_is_not_stored(assistant):
    status, replies = assistant.say("rest-long", "a" * 5000)

    assert status == 200 and texts(replies) == [TOO_LONG_REPLY]
    assert user_texts(assistant, "rest-long") == []


@pytest.mark.parametrize(
    "body",
    [
        b"[1,2,3]",
        b'"hello"',
        b"null",
        b"",
        b"{not json",
        b'{"sender": "rest-odd", "message": 5}',
        b'{"sender": ["x"], "message": "hi"}',
        b'{"message": "hi"}',
    ],
)
def test_a_body_that_is_not_a_message_object_gets_400(assistant, body):
    token = token_for(assistant, 9)

    anonymous, _ = post(assistant, "/webhooks/rest/webhook", body)
    signed, _ = post(
        assistant, "/webhooks/signed_rest/webhook", body, {"Authorization": f"Bearer {token}"}
    )

    assert anonymous == 400
    # The signed channel ignores the sender: a string message is all it needs.
    assert signed == (200 if b'"message": "hi"' in body else 400)
    assert assistant.server_errors() == []


def test_a_lone_surrogate_is_replaced_and_the_message_answered_and_kept(assistant):
    status, replies = post(
        assistant,
        "/webhooks/rest/webhook",
        b'{"sender": "rest-surrogate", "message": "\\ud800 hi"}',
    )

    assert status == 200 and replies
    assert user_texts(assistant, "rest-surrogate") == ["\ufffd hi"]


def test_a_burst_over_the_rate_limit_gets_429_while_another_customer_is_answered(assistant):
    def burst_message(n: int) -> tuple[int, Any]:
        return post(
            assistant,
            "/webhooks/rest/webhook",
            json.dumps({"sender": "rest-burst", "message": f"hello {n}"}).encode(),
        )

    with ThreadPoolExecutor(max_workers=50) as pool:
        burst = [pool.submit(burst_message, n) for n in range(50)]
        started = time.monotonic()
        other_status, other_replies = assistant.say("rest-calm", "hi")
        other_seconds = time.monotonic() - started
        outcomes = [future.result() for future in burst]

    assert other_status == 200 and other_replies
    assert other_seconds < 10, f"another customer waited {other_seconds:.1f} s"
    statuses = [status for status, _ in outcomes]
    assert set(statuses) <= {200, 429} and 429 in statuses and 200 in statuses
    for status, body in outcomes:
        if status == 429:
            assert body["message"] and body["retry_after_seconds"] >= 1
    answered = sum(status == 200 for status in statuses)
    assert len(user_texts(assistant, "rest-burst")) == answered, "nothing lost silently"

    for _ in range(LOW_SENDER_MESSAGES_PER_MINUTE):
        assistant.say("rest-steady", "hi")
    status, _ = assistant.say("rest-steady", "hi")
    assert status == 429


def test_sign_out_revokes_the_token(assistant):
    token = token_for(assistant, 10)
    bearer = {"Authorization": f"Bearer {token}"}
    assert assistant.say("x", "hello", sign_in_token=token)[0] == 200

    status, answer = post(assistant, "/webhooks/signed_rest/sign_out", b"", bearer)

    assert status == 200 and answer["signed_out"] is True
    assert assistant.say("x", "hello", sign_in_token=token)[0] == 401
    assert post(assistant, "/webhooks/signed_rest/sign_out", b"", bearer)[0] == 401
    fresh = token_for(assistant, 10)
    assert assistant.say("x", "hello", sign_in_token=fresh)[0] == 200


def test_rasa_allows_only_the_web_chat_origin(assistant):
    def allowed_origin(origin: str) -> str | None:
        request = urllib.request.Request(
            f"{assistant.rasa_url}/webhooks/rest/webhook",
            method="OPTIONS",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.headers.get("Access-Control-Allow-Origin")

    assert allowed_origin("http://127.0.0.1:5200") == "http://127.0.0.1:5200"
    assert allowed_origin("https://evil.example") is None
