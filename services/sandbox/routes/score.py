"""Credit score: the score and its factors, how to improve it, disputing a record."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, constr
from sqlalchemy import select

from common.api_errors import ApiError
from common.clock import new_id, utcnow
from services.sandbox.auth import CurrentCustomer, get_db
from services.sandbox.models import CreditScore, ScoreDispute, ScoreRecord
from services.sandbox.routes.common import ME, owned

router = APIRouter(prefix=f"{ME}/credit-score", tags=["score"])

DISPUTE_ANSWER_DAYS = 20
TIPS_BY_FACTOR = {
    "payment_history": "Pay every bill by its due date; automate the minimum repayment.",
    "credit_utilisation": "Keep the credit line below 30% used; repay before the statement date.",
    "credit_age": "Keep your oldest accounts open; the score rewards a long history.",
    "recent_inquiries": "Avoid applying for several loans or limit raises within a few months.",
    "identity_completeness": "Complete your profile and keep your ID documents up to date.",
}


class ScoreDisputeRequest(BaseModel):
    reason: constr(min_length=5, max_length=2000)  # type: ignore[valid-type]


@router.get("", summary="Score, band and the factors behind it")
async def get_score(request: Request, customer: CurrentCustomer) -> dict[str, Any]:
    async with get_db(request).reading() as session:
        score = await owned(session, CreditScore, customer.id, "credit score")
    return {
        "score": score.score,
        "band": score.band,
        "range": {"min": 350, "max": 950},
        "factors": score.factors,
        "updated_on": score.updated_on.isoformat(),
    }


@router.get("/tips", summary="How to improve the score, weakest factors first")
async def get_tips(request: Request, customer: CurrentCustomer) -> dict[str, Any]:
    async with get_db(request).reading() as session:
        score = await owned(session, CreditScore, customer.id, "credit score")
    weakest = sorted(score.factors, key=lambda factor: factor["rating"])
    return {
        "score": score.score,
        "tips": [
            {"factor": f["factor"], "rating": f["rating"], "tip": TIPS_BY_FACTOR[f["factor"]]}
            for f in weakest
            if f["rating"] < 4
        ],
    }


@router.get("/records", summary="Items on the credit report")
async def list_records(request: Request, customer: CurrentCustomer) -> dict[str, Any]:
    query = (
        select(ScoreRecord)
        .where(ScoreRecord.customer_id == customer.id)
        .order_by(ScoreRecord.reported_on.desc())
    )
    async with get_db(request).reading() as session:
        records = (await session.execute(query)).scalars().all()
    return {
        "records": [
            {
                "record_id": r.id,
                "kind": r.kind,
                "description": r.description,
                "reported_on": r.reported_on.isoformat(),
                "status": r.status,
            }
            for r in records
        ]
    }


@router.post(
    "/records/{record_id}/disputes", status_code=201, summary="Dispute a record on the report"
)
async def dispute_record(
    record_id: str, body: ScoreDisputeRequest, request: Request, customer: CurrentCustomer
) -> dict[str, Any]:
    now = utcnow()
    async with get_db(request).writing() as session:
        record = await owned(session, ScoreRecord, customer.id, "record", id=record_id)
        if record.status != "reported":
            raise ApiError(409, "already_disputed", f"the record is {record.status}")
        record.status = "disputed"
        dispute = ScoreDispute(
            id=new_id("SDP"),
            customer_id=customer.id,
            record_id=record.id,
            reason=body.reason,
            status="under_investigation",
            created_at=now,
            answer_due=now.date() + timedelta(days=DISPUTE_ANSWER_DAYS),
        )
        session.add(dispute)
    return {
        "dispute_id": dispute.id,
        "record_id": record.id,
        "status": dispute.status,
        "answer_due": dispute.answer_due.isoformat(),
    }
