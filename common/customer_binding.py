"""How a conversation is bound to a customer, by the channel and never by what they type.

At sign-in the channel side (the web chat page, a terminal) issues a token signed with
CHANNEL_SIGNING_SECRET. A channel that verifies the token sets the conversation's sender id to
``customer:<id>``; channels that do not verify anything refuse sender ids of that form. Actions
therefore read the customer from the sender id alone (``customer_id_from_sender``).

Each token carries a unique id (``jti``) so that signing out can revoke that one token
(channels/sessions.py). The functions here are pure: the caller passes the secret from its
own settings object.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

BOUND_SENDER_PREFIX = "customer:"
DEFAULT_TOKEN_SECONDS = 8 * 3600
# Where a socket presents its token: the socket.io auth payload's key, or the socket URL's
# query parameter (the web chat page's widget can only use the URL).
SIGN_IN_TOKEN_KEY = "token"


class InvalidSignInToken(Exception):
    """The token is malformed, forged or expired."""


@dataclass(frozen=True)
class SignInClaims:
    customer_id: str
    expires_at: float
    # Tokens issued before ids existed are told apart by their signature.
    token_id: str


def _signature(payload: str, secret: bytes) -> str:
    return hmac.new(secret, payload.encode(), hashlib.sha256).hexdigest()


def issue_sign_in_token(
    customer_id: str, secret: bytes, seconds: int = DEFAULT_TOKEN_SECONDS
) -> str:
    claims = {
        "sub": customer_id,
        "exp": int(time.time()) + seconds,
        "jti": secrets.token_urlsafe(12),
    }
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"{payload}.{_signature(payload, secret)}"


def verify_sign_in_token(token: str, secret: bytes) -> str:
    """Returns the customer id the token was issued for."""
    return verify_sign_in_claims(token, secret).customer_id


def verify_sign_in_claims(token: str, secret: bytes) -> SignInClaims:
    payload, _, signature = token.partition(".")
    expected = _signature(payload, secret)
    # Bytes: compare_digest refuses str with non-ASCII characters, which a forger may send.
    if not payload or not hmac.compare_digest(signature.encode(), expected.encode()):
        raise InvalidSignInToken("bad signature")
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        customer_id, expires = str(claims["sub"]), int(claims["exp"])
        token_id = str(claims.get("jti") or signature)
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise InvalidSignInToken("malformed token") from error
    if expires < time.time():
        raise InvalidSignInToken("expired")
    return SignInClaims(customer_id, expires, token_id)


def bound_sender_id(customer_id: str) -> str:
    return f"{BOUND_SENDER_PREFIX}{customer_id}"


def customer_id_from_sender(sender_id: str | None) -> str | None:
    """The customer a conversation belongs to, or None for an anonymous conversation."""
    if sender_id and sender_id.startswith(BOUND_SENDER_PREFIX):
        return sender_id.removeprefix(BOUND_SENDER_PREFIX) or None
    return None
