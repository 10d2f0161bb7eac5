"""What a customer types is masked here, in the channel, before Rasa records it anywhere.

Rasa Open Source stores a user message as typed: in the tracker store, the event broker and
its logs. PCI DSS forbids keeping a card number readable or a card security code at all, so
the channels pass every customer message through ``redact`` first:

- card numbers (13-19 digits passing the Luhn check, spaces or dashes anywhere) become
  ``[card ending 1111]``;
- card security codes ("cvv 123", "CVC: 1234", "security code 123") become ``[security code]``;
- Chinese resident ID numbers (18 characters with a valid check character) become
  ``[ID number]``;
- a message that is only a one-time code ("123456", "123 456", "my otp: 123456") becomes
  ``[one-time code]``; the digits travel sealed (Fernet, key from REDACTION_SECRET) in the
  message's metadata (common/one_time_code.py), where only the action server, which holds
  the secret, can open them.

Placeholders use brackets, not asterisks: the web chat renders ``**`` as bold.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from common.one_time_code import ONE_TIME_CODE_PLACEHOLDER

SECURITY_CODE_PLACEHOLDER = "[security code]"
ID_NUMBER_PLACEHOLDER = "[ID number]"

# Digit groups joined by at most one space or dash; not glued to letters or other digits, so
# references such as TX12345678 and longer numbers are left alone.
_DIGIT_RUN = re.compile(r"(?<![0-9A-Za-z])\d+(?:[ \-]\d+)*(?![0-9A-Za-z])")
_SECURITY_CODE = re.compile(
    r"\b(?:cvv2?|cvc2?|csc|cid|card\s+security\s+code|security\s+code)\b"
    r"(?:\s*(?:is|was|:|=|-|#|number|no\.?))*\s*\d{3,4}(?![0-9])",
    re.IGNORECASE,
)
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARACTERS = "10X98765432"
_ONE_TIME_CODE = re.compile(
    r"\s*(?:(?:my|the|your)\s+)?"
    r"(?:(?:sms|verification|security|one[\s-]?time|otp)\s+)?"
    r"(?:(?:code|otp|pin|password)\s*(?:is|was|:|=|-)?\s*)?"
    r"(\d{3})\s?(\d{3})\s*[.!]?\s*",
    re.IGNORECASE,
)
# Line breaks and tabs are text; every other control or format character is not.
_KEPT_CONTROLS = frozenset("\n\t")


@dataclass(frozen=True)
class Redacted:
    text: str
    # A card number or security code was typed: the customer is to be told not to.
    hid_payment_data: bool = False
    one_time_code: str | None = None


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = int(digit)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def clean_text(text: str) -> str:
    """The text with lone surrogates (which no store can encode) replaced by U+FFFD and
    control characters dropped."""
    text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return "".join(
        character
        for character in text
        if character in _KEPT_CONTROLS or unicodedata.category(character) not in ("Cc", "Cs")
    )


def _mask_cards(run: str) -> str:
    """Masks the card numbers inside one run of digit groups ("4111 1111 1111 1111 123")."""
    groups = re.split(r"([ \-])", run)
    digits, separators = groups[0::2], groups[1::2]
    masked: list[str] = []
    start = 0
    while start < len(digits):
        card_end, candidate = None, ""
        for end in range(start + 1, len(digits) + 1):
            candidate += digits[end - 1]
            if len(candidate) > 19:
                break
            if len(candidate) >= 13 and luhn_valid(candidate):
                card_end = end
        if card_end is None:
            masked.append(digits[start])
            if start < len(separators):
                masked.append(separators[start])
            start += 1
            continue
        masked.append(f"[card ending {''.join(digits[start:card_end])[-4:]}]")
        if card_end - 1 < len(separators):
            masked.append(separators[card_end - 1])
        start = card_end
    return "".join(masked)


def _valid_id_number(value: str) -> bool:
    total = sum(int(digit) * weight for digit, weight in zip(value[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK_CHARACTERS[total % 11] == value[17].upper()


def redact(text: str) -> Redacted:
    code = _ONE_TIME_CODE.fullmatch(text)
    if code:
        return Redacted(ONE_TIME_CODE_PLACEHOLDER, one_time_code=code.group(1) + code.group(2))
    masked = _ID_NUMBER.sub(
        lambda match: ID_NUMBER_PLACEHOLDER if _valid_id_number(match.group()) else match.group(),
        text,
    )
    masked, security_codes = _SECURITY_CODE.subn(SECURITY_CODE_PLACEHOLDER, masked)
    without_cards = _DIGIT_RUN.sub(lambda match: _mask_cards(match.group()), masked)
    return Redacted(without_cards, hid_payment_data=bool(security_codes) or without_cards != masked)
