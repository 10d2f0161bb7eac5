"""What a customer types is masked here, in the channel, before Rasa records it anywhere.

Rasa Open Source stores a user message as typed: in the tracker store, the event broker and
its logs. PCI DSS forbids keeping a card number readable or a card security code at all, so
the channels pass every customer message through ``redact`` first, with the masking of
common/redaction.py (card numbers, card security codes, ID numbers). A message that is only a
one-time code ("123456", "123 456", "my otp: 123456") becomes ``[one-time code]``; the digits
travel sealed (Fernet, key from REDACTION_SECRET) in the message's metadata
(common/one_time_code.py), where only the action server, which holds the secret, can open them.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from common.one_time_code import ONE_TIME_CODE_PLACEHOLDER
from common.redaction import mask_id_numbers, mask_payment_data, one_time_code

# Line breaks and tabs are text; every other control or format character is not.
_KEPT_CONTROLS = frozenset("\n\t")


@dataclass(frozen=True)
class Redacted:
    text: str
    # A card number or security code was typed: the customer is to be told not to.
    hid_payment_data: bool = False
    one_time_code: str | None = None


def clean_text(text: str) -> str:
    """The text with lone surrogates (which no store can encode) replaced by U+FFFD and
    control characters dropped."""
    text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return "".join(
        character
        for character in text
        if character in _KEPT_CONTROLS or unicodedata.category(character) not in ("Cc", "Cs")
    )


def redact(text: str) -> Redacted:
    code = one_time_code(text)
    if code is not None:
        return Redacted(ONE_TIME_CODE_PLACEHOLDER, one_time_code=code)
    without_ids = mask_id_numbers(text)
    masked = mask_payment_data(without_ids)
    return Redacted(masked, hid_payment_data=masked != without_ids)
