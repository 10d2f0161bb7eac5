"""Which customer a chat belongs to comes from the channel's sign-in, never from the client."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from channels.customer_messages import PAYMENT_DATA_WARNING, TOO_LONG_REPLY
from common.customer_binding import issue_sign_in_token
from common.environment import DEV_SIGNING_SECRET
from tests.channels.stores import PLANTED_CARD_MESSAGE, files_holding
from tests.e2e.servers import RunningAssistant, assistant_in

pytestmark = pytest.mark.e2e


# Low enough that a test can go over it in seconds.
SENDER_MESSAGES_PER_MINUTE = 12


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("channels-e2e")


@pytest.fixture(scope="module")
def assistant(trained_model: Path, data_dir: Path) -> Iterator[RunningAssistant]:
    with assistant_in(
        data_dir, trained_model, CHANNEL_SENDER_MESSAGES_PER_MINUTE=str(SENDER_MESSAGES_PER_MINUTE)
    ) as running:
        yield running


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
    token = issue_sign_in_token("C00007", DEV_SIGNING_SECRET.encode())

    status, replies = assistant.say("whatever-the-client-says", "hello", sign_in_token=token)

    assert status == 200 and replies
    assert assistant.tracker("customer:C00007")["events"], "conversation stored for C00007"


def test_the_anonymous_channel_refuses_to_pass_for_a_customer(assistant):
    status, _ = assistant.say("customer:C00007", "show my balance")

    assert status == 403


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not-a-token",
        issue_sign_in_token("C00007", b"forged-secret"),
        issue_sign_in_token("C00007", DEV_SIGNING_SECRET.encode(), seconds=-60),
    ],
)
def test_the_signed_channel_refuses_missing_forged_or_expired_tokens(assistant, token):
    status, replies = assistant.say("customer:C00007", "hello", sign_in_token=token)

    assert status == 401
    assert replies == []


def test_a_card_number_and_cvv_are_stored_nowhere_and_the_customer_is_warned(assistant, data_dir):
    anonymous_status, anonymous = assistant.say("rest-card", PLANTED_CARD_MESSAGE)
    token = issue_sign_in_token("C00008", DEV_SIGNING_SECRET.encode())
    signed_status, signed = assistant.say("ignored", PLANTED_CARD_MESSAGE, sign_in_token=token)

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
    token = issue_sign_in_token("C00009", DEV_SIGNING_SECRET.encode())

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

    for _ in range(SENDER_MESSAGES_PER_MINUTE):
        assistant.say("rest-steady", "hi")
    status, _ = assistant.say("rest-steady", "hi")
    assert status == 429


def test_sign_out_revokes_the_token(assistant):
    token = issue_sign_in_token("C00010", DEV_SIGNING_SECRET.encode())
    bearer = {"Authorization": f"Bearer {token}"}
    assert assistant.say("x", "hello", sign_in_token=token)[0] == 200

    status, answer = post(assistant, "/webhooks/signed_rest/sign_out", b"", bearer)

    assert status == 200 and answer["signed_out"] is True
    assert assistant.say("x", "hello", sign_in_token=token)[0] == 401
    assert post(assistant, "/webhooks/signed_rest/sign_out", b"", bearer)[0] == 401
    fresh = issue_sign_in_token("C00010", DEV_SIGNING_SECRET.encode())
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
