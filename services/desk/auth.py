"""Who is calling: the action server and the Rasa server by the shared service secret, agents
by a signed session cookie (HMAC, 12 hours) set at sign-in. The cookie names a session row, so
signing out ends the session on the server and a copied cookie stops working with it."""

from __future__ import annotations

import asyncio
import hmac
import secrets
from datetime import timedelta
from functools import lru_cache
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from starlette.requests import HTTPConnection

from common.api_errors import ApiError
from common.clock import utcnow
from common.customer_binding import (
    InvalidSignInToken,
    issue_sign_in_token,
    verify_sign_in_token,
)
from services.desk.context import Desk
from services.desk.models import Agent, AgentSession
from services.desk.passwords import hash_password, new_salt, password_matches

SESSION_COOKIE = "desk_session"
SESSION_SECONDS = 12 * 3600

bearer_scheme = HTTPBearer(
    auto_error=False, description="The desk's service secret (DESK_SERVICE_SECRET)"
)


@lru_cache(maxsize=1)
def _decoy_password() -> tuple[str, str]:
    """Checked for unknown usernames too, so timing does not tell which usernames exist."""
    salt = new_salt()
    return salt, hash_password("decoy", salt)


def desk_of(connection: HTTPConnection) -> Desk:
    return connection.app.state.desk


async def require_service(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> None:
    expected = desk_of(request).settings.service_secret.encode()
    presented = credentials.credentials.encode() if credentials else b""
    if not hmac.compare_digest(presented, expected):
        raise ApiError(401, "unauthenticated", "missing or wrong service credentials")


async def check_password(desk: Desk, username: str, password: str) -> Agent | None:
    async with desk.db.reading() as session:
        agent = (
            (await session.execute(select(Agent).where(Agent.username == username)))
            .scalars()
            .first()
        )
    salt, expected = (agent.password_salt, agent.password_hash) if agent else _decoy_password()
    # scrypt takes tens of milliseconds: off the event loop.
    matches = await asyncio.to_thread(password_matches, password, salt, expected)
    return agent if agent is not None and matches else None


async def start_session(desk: Desk, agent: Agent) -> str:
    """A new session of the agent; returns the cookie's value."""
    now = utcnow()
    session_id = secrets.token_urlsafe(24)
    async with desk.db.writing() as session:
        session.add(
            AgentSession(
                id=session_id,
                agent_id=agent.id,
                created_at=now,
                expires_at=now + timedelta(seconds=SESSION_SECONDS),
            )
        )
    return issue_sign_in_token(
        session_id, desk.settings.session_secret.encode(), seconds=SESSION_SECONDS
    )


def _session_id(connection: HTTPConnection) -> str | None:
    token = connection.cookies.get(SESSION_COOKIE, "")
    try:
        return verify_sign_in_token(token, desk_of(connection).settings.session_secret.encode())
    except InvalidSignInToken:
        return None


async def end_session(connection: HTTPConnection) -> None:
    """Revokes the session of the cookie, if it names one."""
    session_id = _session_id(connection)
    if session_id is None:
        return
    async with desk_of(connection).db.writing() as session:
        row = await session.get(AgentSession, session_id)
        if row is not None and row.revoked_at is None:
            row.revoked_at = utcnow()


async def signed_in_agent(connection: HTTPConnection) -> Agent | None:
    """The agent of a live session cookie (an HTTP request or a websocket), or None."""
    session_id = _session_id(connection)
    if session_id is None:
        return None
    query = (
        select(Agent)
        .join(AgentSession, AgentSession.agent_id == Agent.id)
        .where(
            AgentSession.id == session_id,
            AgentSession.revoked_at.is_(None),
            AgentSession.expires_at > utcnow(),
        )
    )
    async with desk_of(connection).db.reading() as session:
        return (await session.execute(query)).scalars().first()


async def current_agent(request: Request) -> Agent:
    agent = await signed_in_agent(request)
    if agent is None:
        raise ApiError(401, "unauthenticated", "sign in at /console first")
    return agent


CurrentAgent = Annotated[Agent, Depends(current_agent)]
ServiceCaller = Depends(require_service)
