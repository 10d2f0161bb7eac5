"""Insurance: policies and coverage, claims and their status, cancelling a policy."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, constr
from sqlalchemy import select

from common.api_errors import ApiError
from common.clock import new_id, utcnow
from services.sandbox.auth import CurrentCustomer, StepUpPurpose, get_db, step_up
from services.sandbox.models import Claim, Policy
from services.sandbox.money import money, quantize
from services.sandbox.routes.common import ME, CurrencyCode, DecimalString, owned

router = APIRouter(prefix=ME, tags=["insurance"])

CLAIM_NEXT_STEPS = {
    "submitted": "We will assign an assessor within 1 business day.",
    "in_review": "An assessor is reviewing your documents; expect an answer in 5 business days.",
    "more_info_needed": "Please upload the hospital invoice in the app so we can continue.",
    "approved": "Approved; payment follows within 2 business days.",
    "paid": "Paid to your bank account.",
    "rejected": "Not covered by the policy; you can appeal within 30 days.",
}


class ClaimRequest(BaseModel):
    incident_date: date
    description: constr(min_length=5, max_length=2000)  # type: ignore[valid-type]
    amount: DecimalString
    currency: CurrencyCode


class CancellationRequest(BaseModel):
    reason: constr(min_length=1, max_length=500)  # type: ignore[valid-type]


def policy_json(policy: Policy) -> dict[str, Any]:
    return {
        "policy_number": policy.id,
        "product": policy.product,
        "product_name": policy.product_name,
        "status": policy.status,
        "coverage": policy.coverage,
        "sum_insured": money(policy.sum_insured, policy.currency),
        "annual_premium": money(policy.annual_premium, policy.currency),
        "start_date": policy.start_date.isoformat(),
        "end_date": policy.end_date.isoformat(),
    }


def claim_json(claim: Claim) -> dict[str, Any]:
    return {
        "claim_id": claim.id,
        "policy_number": claim.policy_id,
        "incident_date": claim.incident_date.isoformat(),
        "description": claim.description,
        "amount_claimed": money(claim.amount_claimed, claim.currency),
        "status": claim.status,
        "next_step": claim.next_step,
        "submitted_at": claim.submitted_at.isoformat(),
        "updated_at": claim.updated_at.isoformat(),
    }


@router.get("/policies", summary="Policies and what they cover")
async def list_policies(request: Request, customer: CurrentCustomer) -> dict[str, Any]:
    query = select(Policy).where(Policy.customer_id == customer.id).order_by(Policy.start_date)
    async with get_db(request).reading() as session:
        policies = (await session.execute(query)).scalars().all()
    return {"policies": [policy_json(p) for p in policies]}


@router.get("/policies/{policy_number}", summary="One policy")
async def get_policy(
    policy_number: str, request: Request, customer: CurrentCustomer
) -> dict[str, Any]:
    async with get_db(request).reading() as session:
        policy = await owned(session, Policy, customer.id, "policy", id=policy_number)
    return policy_json(policy)


@router.post("/policies/{policy_number}/claims", status_code=201, summary="File a claim")
async def file_claim(
    policy_number: str, body: ClaimRequest, request: Request, customer: CurrentCustomer
) -> dict[str, Any]:
    now = utcnow()
    async with get_db(request).writing() as session:
        policy = await owned(session, Policy, customer.id, "policy", id=policy_number)
        if policy.status != "active":
            raise ApiError(422, "policy_not_active", f"the policy is {policy.status}")
        if not policy.start_date <= body.incident_date <= min(policy.end_date, now.date()):
            raise ApiError(
                422, "incident_outside_cover", "the incident date is outside the cover period"
            )
        if body.currency != policy.currency or body.amount > policy.sum_insured:
            raise ApiError(
                422,
                "amount_above_cover",
                "the claim is above what the policy covers",
                sum_insured=money(policy.sum_insured, policy.currency),
            )
        claim = Claim(
            id=new_id("CLM"),
            customer_id=customer.id,
            policy_id=policy.id,
            incident_date=body.incident_date,
            description=body.description,
            amount_claimed=body.amount,
            currency=body.currency,
            status="submitted",
            next_step=CLAIM_NEXT_STEPS["submitted"],
            submitted_at=now,
            updated_at=now,
        )
        session.add(claim)
    return claim_json(claim)


@router.get("/claims", summary="Claims, newest first")
async def list_claims(request: Request, customer: CurrentCustomer) -> dict[str, Any]:
    query = (
        select(Claim).where(Claim.customer_id == customer.id).order_by(Claim.submitted_at.desc())
    )
    async with get_db(request).reading() as session:
        claims = (await session.execute(query)).scalars().all()
    return {"claims": [claim_json(c) for c in claims]}


@router.get("/claims/{claim_id}", summary="Claim status")
async def get_claim(claim_id: str, request: Request, customer: CurrentCustomer) -> dict[str, Any]:
    async with get_db(request).reading() as session:
        claim = await owned(session, Claim, customer.id, "claim", id=claim_id)
    return claim_json(claim)


@router.post(
    "/policies/{policy_number}/cancellation",
    summary="Cancel a policy (step-up policy_change)",
    dependencies=[Depends(step_up(StepUpPurpose.policy_change))],
)
async def cancel_policy(
    policy_number: str, body: CancellationRequest, request: Request, customer: CurrentCustomer
) -> dict[str, Any]:
    now = utcnow()
    async with get_db(request).writing() as session:
        policy = await owned(session, Policy, customer.id, "policy", id=policy_number)
        if policy.status != "active":
            raise ApiError(409, "policy_not_active", f"the policy is already {policy.status}")
        term_days = max((policy.end_date - policy.start_date).days, 1)
        unused_days = max((policy.end_date - now.date()).days, 0)
        refund = quantize(policy.annual_premium * Decimal(unused_days) / Decimal(term_days))
        policy.status, policy.cancelled_at = "cancelled", now
    return {
        **policy_json(policy),
        "cancelled_at": now.isoformat(),
        "reason": body.reason,
        "premium_refund": money(refund, policy.currency),
        "refund_expected_within_days": 7,
    }
