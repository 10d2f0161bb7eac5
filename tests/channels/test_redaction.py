"""Card numbers, security codes, ID numbers and one-time codes are masked before Rasa records
a message; ordinary amounts and references are not."""

from __future__ import annotations

import pytest
from cryptography import fernet

from channels.redaction import clean_text, redact
from common.one_time_code import ONE_TIME_CODE_PLACEHOLDER, open_one_time_code, seal_one_time_code
from common.redaction import luhn_valid

SECRET = "test-redaction-secret-0123456789"


@pytest.mark.parametrize(
    "digits, valid",
    [
        ("4111111111111111", True),
        ("5500000000000004", True),
        ("378282246310005", True),
        ("4111111111111112", False),
        ("1234567890123456", False),
    ],
)
def test_luhn(digits, valid):
    assert luhn_valid(digits) is valid


@pytest.mark.parametrize(
    "typed",
    [
        "4111111111111111",
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "4111 11111111 1111",
        "41 11 11 11 11 11 11 11",
        "378282246310005",
        "6011 0009 9013 9424",
    ],
)
def test_a_card_number_is_masked_whatever_the_spacing(typed):
    redacted = redact(f"my card is {typed}, thanks")

    digits = typed.replace(" ", "").replace("-", "")
    assert digits not in redacted.text.replace(" ", "").replace("-", "")
    assert redacted.text == f"my card is [card ending {digits[-4:]}], thanks"
    assert redacted.hid_payment_data


def test_the_issues_message_loses_the_card_and_the_cvv():
    redacted = redact("my card number is 4111 1111 1111 1111 and cvv 123")

    assert redacted.text == "my card number is [card ending 1111] and [security code]"
    assert "*" not in redacted.text, "the web chat renders ** as bold"


def test_a_card_number_followed_by_other_digits_is_still_found():
    assert redact("4111 1111 1111 1111 123").text == "[card ending 1111] 123"


@pytest.mark.parametrize(
    "typed", ["CVV 123", "cvc: 1234", "CVV2 is 987", "security code 456", "the csc = 321"]
)
def test_security_codes_are_masked(typed):
    redacted = redact(f"{typed} please")

    assert "[security code]" in redacted.text
    assert not any(char.isdigit() for char in redacted.text)
    assert redacted.hid_payment_data


@pytest.mark.parametrize(
    "ordinary",
    [
        "send 500000 yuan to Li Wei",
        "transfer 1,000,000 cny",
        "what about TX12345678?",
        "card ending in 4821",
        "policy POL0004201",
        "call me on 13800138000",
        "4111111111111112 is not a card",
        "my claim CLM20240101 from 2024-03-01",
        "split 12000 into 12 instalments",
    ],
)
def test_ordinary_numbers_are_left_alone(ordinary):
    redacted = redact(ordinary)

    assert redacted.text == ordinary
    assert not redacted.hid_payment_data
    assert redacted.one_time_code is None


def test_a_chinese_resident_id_number_with_a_valid_check_character_is_masked():
    assert redact("my id is 11010519491231002X").text == "my id is [ID number]"
    assert redact("my id is 110105194912310021").text == "my id is 110105194912310021"


@pytest.mark.parametrize(
    "typed",
    [
        "123456",
        "123 456",
        " 123456 ",
        "code is 123456",
        "my otp: 123456",
        "The code is 123456.",
        "OTP 123456",
    ],
)
def test_a_message_that_is_only_a_one_time_code_is_replaced_and_the_code_kept_apart(typed):
    redacted = redact(typed)

    assert redacted.text == ONE_TIME_CODE_PLACEHOLDER
    assert redacted.one_time_code == "123456"
    assert not redacted.hid_payment_data


def test_six_digits_inside_a_sentence_are_not_a_one_time_code():
    assert redact("send 123456 yuan").one_time_code is None


def test_a_sealed_code_opens_only_with_the_secret_and_within_its_time(monkeypatch):
    sealed = seal_one_time_code("123456", SECRET)

    assert "123456" not in sealed
    assert open_one_time_code(sealed, SECRET) == "123456"
    assert open_one_time_code(sealed, "another-secret-0123456789") is None
    assert open_one_time_code(sealed[:-4] + "AAAA", SECRET) is None
    assert open_one_time_code(None, SECRET) is None

    later = fernet.time.time() + 16 * 60
    monkeypatch.setattr(fernet.time, "time", lambda: later)
    assert open_one_time_code(sealed, SECRET, ttl_seconds=15 * 60) is None


def test_lone_surrogates_and_control_characters_are_cleaned_but_lines_kept():
    assert clean_text("\ud800 hi") == "\ufffd hi"
    assert clean_text("hel\x00lo\x07\x1b[31m\x7f\nnext\tline") == "hello[31m\nnext\tline"
    assert clean_text("😀 你好") == "😀 你好"
