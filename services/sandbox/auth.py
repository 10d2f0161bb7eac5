"""Service authentication, the customer on whose behalf a call is made, and step-up checks.

The action server proves it is the action server with a shared secret; it names the customer in
X-Customer-Id, taken from the channel's verified sender binding. Nothing a customer types ever
becomes the customer id.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from enum import Enum
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from common.api_errors import ApiError
from common.clock import utcnow
from services.sandbox.config import Settings
from services.sandbox.db import SandboxDatabase
from services.sandbox.models import (
    Customer,
    IdempotencyRecord,
    VerificationToken,
    VerificationTokenUse,
)

bearer_scheme = HTTPBearer(
    auto_error=False, description="The service secret (SANDBOX_SERVICE_SECRET)"
)


class StepUpPurpose(str, Enum):
    move_money = "move_money"
    card_control = "card_control"
    policy_change = "policy_change"
    credential_change = "credential_change"


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_db(request: Request) -> SandboxDatabase:
    return request.app.state.db


def hash_secret(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


async def require_service(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> None:
    expected = get_settings(request).service_secret.encode()
    presented = credentials.credentials.encode() if credentials else b""
    if not hmac.compare_digest(presented, expected):
        raise ApiError(401, "unauthenticated", "missing or wrong service credentials")


async def current_customer(
    request: Request,
    _: Annotated[None, Depends(require_service)],
    x_customer_id: str | None = Header(None, description="Customer bound to the conversation"),
) -> Customer:
    if not x_customer_id:
        raise ApiError(400, "customer_required", "X-Customer-Id header is required")
    async with get_db(request).reading() as session:
        customer = await session.get(Customer, x_customer_id)
    if customer is None:
        raise ApiError(404, "customer_not_found", "no such customer")
    return customer


CurrentCustomer = Annotated[Customer, Depends(current_customer)]


def step_up(purpose: StepUpPurpose) -> Any:
    """Dependency: the call must carry a live verification token of this customer and purpose,
    not yet spent on another request."""

    async def verified(
        request: Request,
        customer: CurrentCustomer,
        x_verification_token: str | None = Header(
            None,
            description=f"Token from a confirmed step-up verification ({purpose.value}); "
            "one token authorises one request (retries with the same Idempotency-Key pass)",
        ),
    ) -> AsyncIterator[None]:
        if customer.locked:
            raise ApiError(
                403, "account_locked", "the account is locked", reason=customer.lock_reason
            )
        if not x_verification_token:
            raise _verification_required(purpose)
        token_hash = hash_secret(x_verification_token)
        async with get_db(request).reading() as session:
            token = await session.get(VerificationToken, token_hash)
        if (
            token is None
            or token.customer_id != customer.id
            or token.purpose != purpose.value
            or token.expires_at <= utcnow()
        ):
            raise _verification_required(purpose)
        key = request.headers.get("idempotency-key")
        if key and await _refused_before(request, customer.id, key):
            # A replay of a refusal moves nothing: it leaves the token for a new request.
            yield
            return
        claimed = await _spend(request, token_hash, customer.id, key)
        try:
            yield
        except Exception:
            # Nothing was done (a refusal rolls back), so the token may authorise another try.
            if claimed:
                await _unspend(request, token_hash)
            raise

    async def _spend(request: Request, token_hash: str, customer_id: str, key: str | None) -> bool:
        """Marks the token spent on this request; True when this call spent it."""
        db = get_db(request)
        try:
            async with db.writing() as session:
                session.add(
                    VerificationTokenUse(
                        token_hash=token_hash,
                        customer_id=customer_id,
                        idempotency_key=key,
                        used_at=utcnow(),
                    )
                )
            return True
        except IntegrityError:
            pass
        async with db.reading() as session:
            use = await session.get(VerificationTokenUse, token_hash)
        if use is not None and key and use.idempotency_key == key:
            return False  # the same request again: idempotency replays or runs it once
        if use is None and key and await _refused_before(request, customer_id, key):
            # The same request, running at the same time, was refused and handed the token
            # back: this retry gets that refusal replayed, as a later retry would.
            return False
        raise _verification_required(purpose)

    async def _refused_before(request: Request, customer_id: str, key: str) -> bool:
        query = select(IdempotencyRecord.response_status).where(
            IdempotencyRecord.customer_id == customer_id, IdempotencyRecord.key == key
        )
        async with get_db(request).reading() as session:
            status = (await session.execute(query)).scalar()
        return status is not None and status >= 400

    async def _unspend(request: Request, token_hash: str) -> None:
        async with get_db(request).writing() as session:
            await session.execute(
                delete(VerificationTokenUse).where(VerificationTokenUse.token_hash == token_hash)
            )

    return verified


def _verification_required(purpose: StepUpPurpose) -> ApiError:
    return ApiError(
        403,
        "verification_required",
        "this operation needs a fresh one-time-code verification",
        purpose=purpose.value,
    )
