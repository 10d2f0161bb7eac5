"""Masking what no store may keep readable: card numbers, card security codes, ID numbers and
one-time codes. Pure functions, shared by the processes that store customers' words.

The channels mask every customer message with them before Rasa records it (channels/redaction.py
says how); the analytics pipeline masks every text it stores again (analytics/masking.py), as
events may come from elsewhere than the project's channels.

- card numbers (13-19 digits passing the Luhn check, spaces or dashes anywhere) become
  ``[card ending 1111]``;
- card security codes ("cvv 123", "CVC: 1234", "security code 123") become ``[security code]``;
- Chinese resident ID numbers (18 characters with a valid check character) become
  ``[ID number]``;
- a one-time code ("123456", "123 456", "my otp: 123456") becomes ``[one-time code]``.

Placeholders use brackets, not asterisks: the web chat renders ``**`` as bold.
"""

from __future__ import annotations

import re

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
# Six digits on their own (or as two groups of three) inside a longer text: a one-time code
# quoted mid-sentence, which only a store that keeps texts for later has to mask.
_CODE_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])(?<!\d[ \-])\d{3} ?\d{3}(?![ \-]?\d)(?![0-9A-Za-z])")


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = int(digit)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


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


def one_time_code(text: str) -> str | None:
    """The code's digits when the whole message is a one-time code, else None."""
    code = _ONE_TIME_CODE.fullmatch(text)
    return code.group(1) + code.group(2) if code else None


def mask_id_numbers(text: str) -> str:
    return _ID_NUMBER.sub(
        lambda match: ID_NUMBER_PLACEHOLDER if _valid_id_number(match.group()) else match.group(),
        text,
    )


def mask_payment_data(text: str) -> str:
    """The text with card security codes and card numbers masked."""
    masked = _SECURITY_CODE.sub(SECURITY_CODE_PLACEHOLDER, text)
    return _DIGIT_RUN.sub(lambda match: _mask_cards(match.group()), masked)


def mask_for_storage(text: str) -> str:
    """Everything masked: ID numbers, security codes, card numbers and one-time codes, whether
    the code is the whole message or quoted inside one."""
    if one_time_code(text) is not None:
        return ONE_TIME_CODE_PLACEHOLDER
    masked = mask_payment_data(mask_id_numbers(text))
    return _CODE_IN_TEXT.sub(ONE_TIME_CODE_PLACEHOLDER, masked)
