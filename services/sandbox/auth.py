"""Service authentication, the customer on whose behalf a call is made, and step-up checks.

The action server proves it is the action server with a shared secret; it names the customer in
X-Customer-Id, taken from the channel's verified sender binding. Nothing a customer types ever
becomes the customer id.
"""

from __future__ import annotations

import hashlib
import hmac
from enum import Enum
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.sandbox.clock import utcnow
from services.sandbox.config import Settings
from services.sandbox.db import Database
from services.sandbox.errors import ApiError
from services.sandbox.models import Customer, VerificationToken

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


def get_db(request: Request) -> Database:
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
    """Dependency: the call must carry a live verification token of this customer and purpose."""

    async def verified(
        request: Request,
        customer: CurrentCustomer,
        x_verification_token: str | None = Header(
            None, description=f"Token from a confirmed step-up verification ({purpose.value})"
        ),
    ) -> None:
        if customer.locked:
            raise ApiError(
                403, "account_locked", "the account is locked", reason=customer.lock_reason
            )
        if not x_verification_token:
            raise _verification_required(purpose)
        async with get_db(request).reading() as session:
            token = await session.get(VerificationToken, hash_secret(x_verification_token))
        if (
            token is None
            or token.customer_id != customer.id
            or token.purpose != purpose.value
            or token.expires_at <= utcnow()
        ):
            raise _verification_required(purpose)

    return verified


def _verification_required(purpose: StepUpPurpose) -> ApiError:
    return ApiError(
        403,
        "verification_required",
        "this operation needs a fresh one-time-code verification",
        purpose=purpose.value,
    )
