"""What every customer channel does with a message before Rasa sees it: limits, redaction,
the warning, the sealed one-time code."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from channels.customer_messages import (
    PAYMENT_DATA_WARNING,
    TOO_LONG_REPLY,
    CustomerMessages,
)
from channels.limits import MAX_MESSAGE_CHARS, MAX_WAITING_PER_CONVERSATION
from common.assistant_settings import ChannelSettings
from common.one_time_code import SEALED_CODE_KEY, open_one_time_code

ENVIRONMENT = {
    "DEPLOYMENT_PROFILE": "embedded",
    "REDACTION_SECRET": "dev-only-redaction-secret",
    "RASA_API_TOKEN": "dev-only-rasa-api-token",
    "ACTION_SERVER_TOKEN": "dev-only-action-server-token",
    "RATE_LIMIT_REDIS_URL": "",
    "CHANNEL_SIGNING_SECRET": "dev-only-channel-signing-secret",
    "DESK_SERVICE_SECRET": "dev-only-desk-service-secret",
}


def gate_for(environ: dict[str, str]) -> CustomerMessages:
    return CustomerMessages(ChannelSettings.from_environment(environ))


class Rasa:
    """Stands in for Rasa's handler: records what it was given and answers."""

    def __init__(self, hold: asyncio.Event | None = None) -> None:
        self.received: list[UserMessage] = []
        self.hold = hold

    async def __call__(self, message: UserMessage) -> None:
        self.received.append(message)
        if self.hold is not None:
            await self.hold.wait()
        await message.output_channel.send_text_message(message.sender_id, "reply")


def texts(output: CollectingOutputChannel) -> list[str]:
    return [message["text"] for message in output.messages]


async def say(
    gate: CustomerMessages,
    rasa: Rasa,
    text: str,
    sender: str = "s1",
    address: str | None = "10.0.0.1",
) -> tuple[Any, CollectingOutputChannel]:
    output = CollectingOutputChannel()
    refusal = await gate.deliver(rasa, text, output, sender, "rest", address)
    return refusal, output


async def test_a_card_number_reaches_rasa_masked_after_a_warning():
    gate, rasa = gate_for(ENVIRONMENT), Rasa()

    refusal, output = await say(gate, rasa, "my card number is 4111 1111 1111 1111 and cvv 123")

    assert refusal is None
    assert rasa.received[0].text == "my card number is [card ending 1111] and [security code]"
    assert rasa.received[0].metadata is None
    assert texts(output) == [PAYMENT_DATA_WARNING, "reply"]


async def test_a_one_time_code_reaches_rasa_sealed_in_the_metadata():
    gate, rasa = gate_for(ENVIRONMENT), Rasa()

    await say(gate, rasa, "my otp: 123 456")

    message = rasa.received[0]
    assert message.text == "[one-time code]"
    assert "123456" not in str(message.metadata)
    assert (
        open_one_time_code(message.metadata[SEALED_CODE_KEY], ENVIRONMENT["REDACTION_SECRET"])
        == "123456"
    )


async def test_a_customer_cannot_trigger_what_only_the_desk_and_the_notifier_may():
    gate, rasa = gate_for(ENVIRONMENT), Rasa()

    await say(gate, rasa, " /EXTERNAL_handoff_resolved")
    await say(gate, rasa, '/EXTERNAL_proactive_notice{"event_id": "EV1"}')
    await say(gate, rasa, "/chat_opened")

    assert [message.text for message in rasa.received] == [
        "EXTERNAL_handoff_resolved",
        'EXTERNAL_proactive_notice{"event_id": "EV1"}',
        # Harmless typed: it only asks for the offers a new chat gets.
        "/chat_opened",
    ]


async def test_a_message_over_the_size_limit_is_answered_without_rasa():
    gate, rasa = gate_for(ENVIRONMENT), Rasa()

    refusal, output = await say(gate, rasa, "x" * (MAX_MESSAGE_CHARS + 1))
    _, fits = await say(gate, rasa, "x" * MAX_MESSAGE_CHARS, sender="s2")

    assert refusal is None and texts(output) == [TOO_LONG_REPLY]
    assert [len(message.text) for message in rasa.received] == [MAX_MESSAGE_CHARS]


async def test_a_lone_surrogate_is_replaced_and_the_message_delivered():
    gate, rasa = gate_for(ENVIRONMENT), Rasa()

    await say(gate, rasa, "\ud800 hi")

    assert rasa.received[0].text == "\ufffd hi"


async def test_a_sender_over_the_rate_is_refused_while_others_go_on():
    gate = gate_for({**ENVIRONMENT, "CHANNEL_SENDER_MESSAGES_PER_MINUTE": "3"})
    rasa = Rasa()

    outcomes = [(await say(gate, rasa, "hi", sender="busy-one"))[0] for _ in range(5)]
    other, output = await say(gate, rasa, "hi", sender="someone-else")

    assert outcomes[:3] == [None] * 3
    assert [refusal.reason for refusal in outcomes[3:]] == ["rate_limited"] * 2
    assert 0 < outcomes[3].retry_after_seconds <= 60
    assert other is None and texts(output) == ["reply"]


async def test_an_address_over_its_rate_is_refused_whatever_the_sender():
    gate = gate_for({**ENVIRONMENT, "CHANNEL_ADDRESS_MESSAGES_PER_MINUTE": "2"})
    rasa = Rasa()

    outcomes = [(await say(gate, rasa, "hi", sender=f"s{n}"))[0] for n in range(3)]
    elsewhere, _ = await say(gate, rasa, "hi", sender="s9", address="10.0.0.2")

    assert [outcome and outcome.reason for outcome in outcomes] == [None, None, "rate_limited"]
    assert elsewhere is None


async def test_a_burst_in_one_conversation_is_refused_beyond_the_waiting_places():
    hold = asyncio.Event()
    gate, rasa = gate_for(ENVIRONMENT), Rasa(hold)

    burst = [asyncio.create_task(say(gate, rasa, f"message {n}")) for n in range(50)]
    await asyncio.sleep(0.1)
    other = asyncio.create_task(say(gate, Rasa(), "hi", sender="another-customer"))
    other_refusal, other_output = await asyncio.wait_for(other, 5)
    hold.set()
    outcomes = [refusal for refusal, _ in await asyncio.gather(*burst)]

    assert other_refusal is None and texts(other_output) == ["reply"]
    assert len(rasa.received) == MAX_WAITING_PER_CONVERSATION
    assert sum(refusal is None for refusal in outcomes) == MAX_WAITING_PER_CONVERSATION
    assert {refusal.reason for refusal in outcomes if refusal} == {"busy"}


def test_outside_the_embedded_profile_a_dev_redaction_secret_stops_the_channel():
    with pytest.raises(RuntimeError, match="REDACTION_SECRET"):
        gate_for(
            {
                **ENVIRONMENT,
                "DEPLOYMENT_PROFILE": "production",
                "CHANNEL_SIGNING_SECRET": "a-real-secret-from-the-store",
            }
        )
    with pytest.raises(RuntimeError, match="REDACTION_SECRET"):
        gate_for(
            {
                "DEPLOYMENT_PROFILE": "production",
                "CHANNEL_SIGNING_SECRET": "a-real-secret-from-the-store",
            }
        )


@pytest.mark.parametrize("name", ["RASA_API_TOKEN", "ACTION_SERVER_TOKEN"])
def test_outside_the_embedded_profile_the_rasa_server_needs_real_tokens(name):
    real = {
        key: "a-real-secret-from-the-store"
        for key in ENVIRONMENT
        if key.isupper() and key not in ("DEPLOYMENT_PROFILE", "RATE_LIMIT_REDIS_URL")
    }
    production = {**ENVIRONMENT, **real, "DEPLOYMENT_PROFILE": "production"}
    gate_for(production)
    with pytest.raises(RuntimeError, match=name):
        gate_for({**production, name: ENVIRONMENT[name]})
