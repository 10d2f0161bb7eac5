"""The one way a customer's message reaches Rasa, whichever channel it came by: cleaned,
checked against the limits, redacted, and only then handed to Rasa, which records it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import OutputChannel, UserMessage

from channels.limits import MAX_MESSAGE_CHARS, MessageLimits, Refusal
from channels.redaction import clean_text, redact
from common.assistant_settings import ChannelSettings, channel_settings
from common.one_time_code import SEALED_CODE_KEY, seal_one_time_code
from common.system_intents import is_external_intent_payload

logger = logging.getLogger(__name__)

PAYMENT_DATA_WARNING = (
    "For your security, please never type card numbers or card security codes (CVV) in this "
    "chat. I have hidden what you typed."
)
TOO_LONG_REPLY = (
    f"That message is too long for me: please keep messages under {MAX_MESSAGE_CHARS:,} "
    "characters, or send it in parts."
)
REFUSAL_REPLIES = {
    "rate_limited": "You are sending messages faster than I can read them. Please wait a "
    "moment, then send your message again.",
    "busy": "I am still answering your previous messages. Please wait for my reply, then "
    "send this one again.",
}

MessageHandler = Callable[[UserMessage], Awaitable[Any]]


class CustomerMessages:
    def __init__(self, settings: ChannelSettings | None = None) -> None:
        # The process's settings are read here, as the Rasa server builds its channels, so a
        # missing or dev-only secret stops it at start.
        settings = settings or channel_settings()
        self._secret = settings.redaction_secret
        self.limits = MessageLimits(settings)

    def refusal_reply(self, refusal: Refusal) -> str:
        return REFUSAL_REPLIES[refusal.reason]

    async def deliver(
        self,
        on_new_message: MessageHandler,
        text: str,
        output: OutputChannel,
        sender_id: str,
        input_channel: str,
        address: str | None,
    ) -> Refusal | None:
        """Hands the message to Rasa, or says why not: a refusal the channel reports in its
        own way (429, a bot message). A message too long is answered here."""
        refusal = await self.limits.over_rate(sender_id, address)
        if refusal is not None:
            logger.warning("%s: message refused, %s", input_channel, refusal.reason)
            return refusal
        text = clean_text(text)
        if is_external_intent_payload(text):
            # Only the desk and the notifier trigger these, through Rasa's authenticated API;
            # typed, it is read as words.
            logger.warning("%s: an external intent's payload sent as a message", input_channel)
            text = text.lstrip().removeprefix("/")
        if len(text) > MAX_MESSAGE_CHARS:
            logger.warning("%s: message of %d characters refused", input_channel, len(text))
            await output.send_text_message(sender_id, TOO_LONG_REPLY)
            return None
        async with self.limits.waiting_turn(sender_id) as refusal:
            if refusal is not None:
                logger.warning("%s: message refused, %s", input_channel, refusal.reason)
                return refusal
            redacted = redact(text)
            if redacted.hid_payment_data:
                logger.warning("%s: card data hidden from a message", input_channel)
                await output.send_text_message(sender_id, PAYMENT_DATA_WARNING)
            metadata = (
                {SEALED_CODE_KEY: seal_one_time_code(redacted.one_time_code, self._secret)}
                if redacted.one_time_code
                else None
            )
            await on_new_message(
                UserMessage(
                    redacted.text, output, sender_id, input_channel=input_channel, metadata=metadata
                )
            )
        return None
