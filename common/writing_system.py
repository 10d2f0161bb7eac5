"""Which writing system a message is in: the assistant reads English only for now, so a
message whose letters are all of another script (Chinese, Arabic, Cyrillic...) is answered
with a request to write in English instead of being guessed at."""

from __future__ import annotations

import unicodedata


def is_written_in_another_script(text: str) -> bool:
    """True when the message has letters but none of them Latin (e.g. Chinese, Arabic).

    Digits, punctuation and emoji are not letters, so "123" or "?" are not another script;
    one Latin letter ("我的 visa 卡") is enough for the message to be read as usual.
    """
    letters = [char for char in text if char.isalpha()]
    if not letters:
        return False
    return not any("LATIN" in unicodedata.name(char, "") for char in letters)
