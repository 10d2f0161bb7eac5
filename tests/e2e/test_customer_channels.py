"""Which customer a chat belongs to comes from the channel's sign-in, never from the client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from channels.customer_binding import DEV_SIGNING_SECRET, issue_sign_in_token
from tests.e2e.servers import RunningAssistant, assistant_in

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def assistant(trained_model: Path, tmp_path_factory) -> Iterator[RunningAssistant]:
    with assistant_in(tmp_path_factory.mktemp("channels-e2e"), trained_model) as running:
        yield running


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
    ["", "not-a-token", issue_sign_in_token("C00007", b"forged-secret"),
     issue_sign_in_token("C00007", DEV_SIGNING_SECRET.encode(), seconds=-60)],
)
def test_the_signed_channel_refuses_missing_forged_or_expired_tokens(assistant, token):
    status, replies = assistant.say("customer:C00007", "hello", sign_in_token=token)

    assert status == 401
    assert replies == []
