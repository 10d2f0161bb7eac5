"""Origins, revoked sign-ins and the sign-in token's id and secret."""

from __future__ import annotations

import socket
import uuid

import pytest

from channels.sessions import RevokedTokens
from common.assistant_settings import ChannelSettings, channel_origins
from common.customer_binding import (
    InvalidSignInToken,
    issue_sign_in_token,
    verify_sign_in_claims,
    verify_sign_in_token,
)
from common.environment import DEV_SIGNING_SECRET
from common.settings import Environment

SECRET = b"test-channel-signing-secret-0123"


def allowed_origins(environ: dict[str, str]) -> tuple[str, ...]:
    return channel_origins(Environment(environ))


def test_the_embedded_profile_allows_the_web_chat_page_only():
    assert allowed_origins({"DEPLOYMENT_PROFILE": "embedded"}) == (
        "http://127.0.0.1:5200",
        "http://localhost:5200",
    )


def test_elsewhere_only_configured_origins_are_allowed():
    assert allowed_origins({"DEPLOYMENT_PROFILE": "production"}) == ()
    assert allowed_origins(
        {"CHANNEL_ALLOWED_ORIGINS": " https://chat.example.com/, https://m.example.com"}
    ) == ("https://chat.example.com", "https://m.example.com")


def test_each_token_has_its_own_id_and_verification_keeps_its_shape():
    first, second = issue_sign_in_token("C00042", SECRET), issue_sign_in_token("C00042", SECRET)

    assert verify_sign_in_token(first, SECRET) == "C00042"
    claims = verify_sign_in_claims(first, SECRET)
    assert claims.customer_id == "C00042"
    assert claims.token_id != verify_sign_in_claims(second, SECRET).token_id


def test_a_signature_with_non_ascii_characters_is_refused_not_a_crash():
    payload = issue_sign_in_token("C00042", SECRET).split(".")[0]

    with pytest.raises(InvalidSignInToken):
        verify_sign_in_token(f"{payload}.é", SECRET)


def test_the_signing_secret_has_no_fallback():
    with pytest.raises(RuntimeError, match="CHANNEL_SIGNING_SECRET"):
        ChannelSettings.from_environment({"DEPLOYMENT_PROFILE": "production"})
    with pytest.raises(RuntimeError, match="CHANNEL_SIGNING_SECRET"):
        ChannelSettings.from_environment(
            {"DEPLOYMENT_PROFILE": "production", "CHANNEL_SIGNING_SECRET": DEV_SIGNING_SECRET}
        )


def redis_url() -> str:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    return "redis://127.0.0.1:6379/2"


@pytest.mark.parametrize("where", ["memory", "redis"])
async def test_a_revoked_token_stays_revoked_until_it_would_have_expired(where):
    url = redis_url() if where == "redis" else None
    revoked, token_id = RevokedTokens(url), uuid.uuid4().hex
    claims = verify_sign_in_claims(issue_sign_in_token("C00042", SECRET, seconds=600), SECRET)

    assert not await revoked.is_revoked(token_id)
    await revoked.revoke(token_id, claims.expires_at)

    assert await revoked.is_revoked(token_id)
    assert not await revoked.is_revoked(uuid.uuid4().hex)
    if url:
        assert await RevokedTokens(url).is_revoked(token_id), "another replica sees it"
