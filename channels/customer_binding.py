"""How a conversation is bound to a customer, by the channel and never by what they type.

At sign-in the channel side issues a token signed with CHANNEL_SIGNING_SECRET. A channel
that verifies the token sets the conversation's sender id to ``customer:<id>``; channels
that do not verify anything refuse sender ids of that form. Actions therefore read the
customer from the sender id alone (``customer_id_from_sender``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time

BOUND_SENDER_PREFIX = "customer:"
DEFAULT_TOKEN_SECONDS = 8 * 3600
DEV_SIGNING_SECRET = "dev-only-channel-signing-secret"


class InvalidSignInToken(Exception):
    """The token is malformed, forged or expired."""


def signing_secret() -> bytes:
    return os.environ.get("CHANNEL_SIGNING_SECRET", DEV_SIGNING_SECRET).encode()


def _signature(payload: str, secret: bytes) -> str:
    return hmac.new(secret, payload.encode(), hashlib.sha256).hexdigest()


def issue_sign_in_token(
    customer_id: str, secret: bytes | None = None, seconds: int = DEFAULT_TOKEN_SECONDS
) -> str:
    claims = {"sub": customer_id, "exp": int(time.time()) + seconds}
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"{payload}.{_signature(payload, secret or signing_secret())}"


def verify_sign_in_token(token: str, secret: bytes | None = None) -> str:
    """Returns the customer id the token was issued for."""
    payload, _, signature = token.partition(".")
    if not payload or not hmac.compare_digest(signature,
                                              _signature(payload, secret or signing_secret())):
        raise InvalidSignInToken("bad signature")
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        customer_id, expires = str(claims["sub"]), int(claims["exp"])
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidSignInToken("malformed token") from error
    if expires < time.time():
        raise InvalidSignInToken("expired")
    return customer_id


def bound_sender_id(customer_id: str) -> str:
    return f"{BOUND_SENDER_PREFIX}{customer_id}"


def customer_id_from_sender(sender_id: str | None) -> str | None:
    """The customer a conversation belongs to, or None for an anonymous conversation."""
    if sender_id and sender_id.startswith(BOUND_SENDER_PREFIX):
        return sender_id.removeprefix(BOUND_SENDER_PREFIX) or None
    return None
