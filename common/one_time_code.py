"""A one-time code travels sealed from the channel to the action server.

The channel masks a message that is only a one-time code (channels/redaction.py) so that no store
keeps it readable, and puts the digits, sealed with REDACTION_SECRET (Fernet), in the message's
metadata; the action server, which holds the same secret, opens them to verify the code.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

SEALED_CODE_KEY = "sealed_one_time_code"
# What the text shows in place of the code.
ONE_TIME_CODE_PLACEHOLDER = "[one-time code]"
# The SMS code's own validity is shorter; past this a sealed code cannot be opened at all.
DEFAULT_SEAL_TTL_SECONDS = 15 * 60


def _fernet(secret: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest()))


def seal_one_time_code(code: str, secret: str) -> str:
    return _fernet(secret).encrypt(code.encode()).decode()


def open_one_time_code(
    sealed: object, secret: str, ttl_seconds: int = DEFAULT_SEAL_TTL_SECONDS
) -> str | None:
    """The code sealed by the channel, or None when forged, altered or older than the TTL."""
    if not isinstance(sealed, str):
        return None
    try:
        return _fernet(secret).decrypt(sealed.encode(), ttl=ttl_seconds).decode()
    except (InvalidToken, UnicodeError):
        return None
