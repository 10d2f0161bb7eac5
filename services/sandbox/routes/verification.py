"""Step-up verification: a one-time code sent to the registered device, exchanged for a token."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, constr

from common.api_errors import ApiError
from common.clock import new_id, utcnow
from services.sandbox.auth import CurrentCustomer, StepUpPurpose, get_db, get_settings, hash_secret
from services.sandbox.models import DeviceMessage, Verification, VerificationToken
from services.sandbox.routes.common import owned

router = APIRouter(prefix="/v1/verification", tags=["verification"])

PURPOSE_WORDING = {
    StepUpPurpose.move_money: "move money",
    StepUpPurpose.card_control: "change a card",
    StepUpPurpose.policy_change: "change a policy",
    StepUpPurpose.credential_change: "change your password",
}


class VerificationStart(BaseModel):
    purpose: StepUpPurpose


class VerificationConfirm(BaseModel):
    code: constr(regex=r"^\d{6}$")  # type: ignore[valid-type]


def _code_hash(verification_id: str, code: str) -> str:
    return hash_secret(f"{verification_id}:{code}")


@router.post("", status_code=201, summary="Send a one-time code to the customer's device")
async def start_verification(
    body: VerificationStart, request: Request, customer: CurrentCustomer
) -> dict[str, Any]:
    if customer.locked:
        raise ApiError(403, "account_locked", "the account is locked", reason=customer.lock_reason)
    settings = get_settings(request)
    now = utcnow()
    code = f"{secrets.randbelow(10**6):06d}"
    verification = Verification(
        id=new_id("VER"),
        customer_id=customer.id,
        purpose=body.purpose.value,
        attempts=0,
        status="pending",
        created_at=now,
        expires_at=now + timedelta(seconds=settings.verification_code_ttl_seconds),
    )
    verification.code_hash = _code_hash(verification.id, code)
    message = DeviceMessage(
        customer_id=customer.id,
        device_id=customer.device_id,
        body=f"Your code to {PURPOSE_WORDING[body.purpose]} is {code}. Never share it with anyone.",
        code=code,
        sent_at=now,
    )
    async with get_db(request).writing() as session:
        session.add_all([verification, message])
    return {
        "verification_id": verification.id,
        "purpose": verification.purpose,
        "delivered_to": customer.phone_masked,
        "expires_at": verification.expires_at.isoformat(),
        "attempts_allowed": settings.verification_max_attempts,
    }


@router.post("/{verification_id}/confirm", summary="Exchange the one-time code for a token")
async def confirm_verification(
    verification_id: str,
    body: VerificationConfirm,
    request: Request,
    customer: CurrentCustomer,
) -> dict[str, Any]:
    settings = get_settings(request)
    now = utcnow()
    failure: ApiError | None = None
    token = secrets.token_urlsafe(32)
    async with get_db(request).writing() as session:
        verification = await owned(
            session, Verification, customer.id, "verification", id=verification_id
        )
        if verification.status == "exhausted":
            failure = ApiError(
                403, "verification_attempts_exhausted", "too many wrong codes; start again"
            )
        elif verification.status == "confirmed":
            failure = ApiError(409, "verification_already_used", "this code was already used")
        elif verification.expires_at <= now:
            failure = ApiError(403, "verification_expired", "the code expired; start again")
        elif not secrets.compare_digest(
            verification.code_hash, _code_hash(verification.id, body.code)
        ):
            verification.attempts += 1
            remaining = settings.verification_max_attempts - verification.attempts
            if remaining <= 0:
                verification.status = "exhausted"
                failure = ApiError(
                    403, "verification_attempts_exhausted", "too many wrong codes; start again"
                )
            else:
                failure = ApiError(
                    403, "verification_code_invalid", "wrong code", attempts_remaining=remaining
                )
        else:
            verification.status = "confirmed"
            expires_at = now + timedelta(seconds=settings.verification_token_ttl_seconds)
            session.add(
                VerificationToken(
                    token_hash=hash_secret(token),
                    customer_id=customer.id,
                    purpose=verification.purpose,
                    verification_id=verification.id,
                    expires_at=expires_at,
                )
            )
    # Raised after the commit so a wrong attempt is counted even though the call fails.
    if failure is not None:
        raise failure
    return {
        "verification_token": token,
        "purpose": verification.purpose,
        "expires_at": expires_at.isoformat(),
    }
