"""Security: locked account and how to unlock, fraud reports (to a person), password change."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, constr
from sqlalchemy import select

from common.clock import new_id, utcnow
from services.sandbox.auth import CurrentCustomer, StepUpPurpose, get_db, step_up
from services.sandbox.models import Card, DeviceMessage, FraudCase
from services.sandbox.routes.common import ME

router = APIRouter(prefix=ME, tags=["security"])

RESET_LINK_MINUTES = 15
UNLOCK_PATHS = {
    "too_many_password_attempts": {
        "self_service": True,
        "steps": [
            "Wait 24 hours for the automatic unlock, or",
            "reset your password in the app after face check.",
        ],
    },
    "suspected_fraud": {
        "self_service": False,
        "steps": [
            "A security specialist must review the account with you; we will connect you to one."
        ],
    },
    "identity_documents_expired": {
        "self_service": True,
        "steps": [
            "Upload your renewed ID card in the app under Me > Security.",
            "Review takes about 1 hour.",
        ],
    },
}


class FraudReport(BaseModel):
    description: constr(min_length=5, max_length=2000)  # type: ignore[valid-type]
    related_reference: constr(max_length=40) | None = None  # type: ignore[valid-type]
    # Freezing is protective and undone only with step-up (unfreeze), so it needs none here:
    # a card used without permission stops at once, with the report.
    freeze_cards: bool = False


class PasswordChange(BaseModel):
    delivery: Literal["sms", "email"] = "sms"


@router.get("/security", summary="Is the account locked, why, and how to unlock it")
async def get_security_status(customer: CurrentCustomer) -> dict[str, Any]:
    return {
        "locked": customer.locked,
        "reason": customer.lock_reason,
        "locked_at": customer.locked_at.isoformat() if customer.locked_at else None,
        "unlock_path": UNLOCK_PATHS.get(customer.lock_reason or "") if customer.locked else None,
        "password_changed_at": customer.password_changed_at.isoformat()
        if customer.password_changed_at
        else None,
    }


@router.post(
    "/fraud-reports", status_code=201, summary="Report fraud; the case always goes to a person"
)
async def report_fraud(
    body: FraudReport, request: Request, customer: CurrentCustomer
) -> dict[str, Any]:
    case = FraudCase(
        id=new_id("FRD"),
        customer_id=customer.id,
        description=body.description,
        related_reference=body.related_reference,
        status="open",
        needs_human=True,
        created_at=utcnow(),
    )
    frozen: list[str] = []
    async with get_db(request).writing() as session:
        session.add(case)
        if body.freeze_cards:
            active = select(Card).where(Card.customer_id == customer.id, Card.status == "active")
            for card in (await session.execute(active)).scalars():
                card.status = "frozen"
                frozen.append(f"**** **** **** {card.card_number[-4:]}")
    if not body.freeze_cards:
        cards = "left_as_they_are"
    else:
        cards = "frozen" if frozen else "none_to_freeze"
    return {
        "case_id": case.id,
        "status": case.status,
        "needs_human": True,
        "created_at": case.created_at.isoformat(),
        "cards": cards,
        "frozen_cards": ", ".join(frozen),
        "advice": "Do not share codes; consider freezing your cards.",
    }


@router.post(
    "/password-change",
    summary="Start a password change: sends a reset link (step-up credential_change)",
    dependencies=[Depends(step_up(StepUpPurpose.credential_change))],
)
async def change_password(
    body: PasswordChange, request: Request, customer: CurrentCustomer
) -> dict[str, Any]:
    now = utcnow()
    link = f"https://sandbox.invalid/reset-password/{secrets.token_urlsafe(24)}"
    async with get_db(request).writing() as session:
        session.add(
            DeviceMessage(
                customer_id=customer.id,
                device_id=customer.device_id,
                body=f"Reset your password within {RESET_LINK_MINUTES} minutes: {link}",
                sent_at=now,
            )
        )
    destination = customer.phone_masked if body.delivery == "sms" else customer.email
    return {
        "reset_link_sent_to": destination,
        "delivery": body.delivery,
        "expires_at": (now + timedelta(minutes=RESET_LINK_MINUTES)).isoformat(),
    }
