"""Payments (wallet): balance, history, why a payment failed or is pending, refunds, disputes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, constr
from sqlalchemy import func, select

from common.api_errors import ApiError
from common.clock import new_id, utcnow
from services.sandbox.auth import CurrentCustomer, get_db
from services.sandbox.models import Dispute, Refund, Wallet, WalletTransaction
from services.sandbox.money import money
from services.sandbox.routes.common import ME, Paging, owned

router = APIRouter(prefix=f"{ME}/wallet", tags=["payments"])

FAILURE_REASONS = {
    "insufficient_balance": "The wallet balance was lower than the payment amount.",
    "bank_declined": "The linked bank card declined the charge; the bank gave no further reason.",
    "risk_control": "Our risk checks paused the payment because it looked unusual for you.",
    "merchant_timeout": "The merchant did not confirm in time, so the payment was cancelled.",
    "daily_limit_exceeded": "The payment would have exceeded your daily payment limit.",
}
PENDING_REASONS = {
    "merchant_confirmation": "Waiting for the merchant to confirm; usually done within 2 hours.",
    "bank_processing": "Your bank is still processing it; it settles within 1 business day.",
}


class DisputeRequest(BaseModel):
    reason: Literal["not_received", "not_as_described", "duplicate_charge", "unauthorised", "other"]
    description: constr(min_length=1, max_length=1000)  # type: ignore[valid-type]


def transaction_json(tx: WalletTransaction) -> dict[str, Any]:
    return {
        "transaction_id": tx.id,
        "direction": tx.direction,
        **money(tx.amount, tx.currency),
        "merchant": tx.merchant,
        "category": tx.category,
        "status": tx.status,
        "failure_code": tx.failure_code,
        # "unusual_for_customer": risk checks let it through but it did not look like them.
        "risk_flag": tx.risk_flag,
        "created_at": tx.created_at.isoformat(),
    }


def refund_json(refund: Refund) -> dict[str, Any]:
    return {
        "refund_id": refund.id,
        "transaction_id": refund.transaction_id,
        **money(refund.amount, refund.currency),
        "status": refund.status,
        "requested_at": refund.requested_at.isoformat(),
        "expected_by": refund.expected_by.isoformat(),
        "completed_at": refund.completed_at.isoformat() if refund.completed_at else None,
    }


@router.get("", summary="Wallet balance")
async def get_wallet(request: Request, customer: CurrentCustomer) -> dict[str, Any]:
    async with get_db(request).reading() as session:
        wallet = await owned(session, Wallet, customer.id, "wallet")
    return {"wallet_id": wallet.id, "balance": money(wallet.balance, wallet.currency)}


@router.get("/transactions", summary="Transaction history, newest first, paged")
async def list_transactions(
    request: Request,
    paging: Paging,
    customer: CurrentCustomer,
    status: Literal["completed", "pending", "failed", "refunded"] | None = Query(None),
) -> dict[str, Any]:
    page, page_size = paging
    query = select(WalletTransaction).where(WalletTransaction.customer_id == customer.id)
    if status:
        query = query.where(WalletTransaction.status == status)
    async with get_db(request).reading() as session:
        total = (
            await session.execute(select(func.count()).select_from(query.subquery()))
        ).scalar_one()
        rows = (
            await session.execute(
                query.order_by(WalletTransaction.created_at.desc(), WalletTransaction.id)
                .offset((page - 1) * page_size)
                .limit(page_size)
            )
        ).scalars()
        items = [transaction_json(tx) for tx in rows]
    return {"page": page, "page_size": page_size, "total": total, "transactions": items}


@router.get("/transactions/{transaction_id}", summary="One transaction")
async def get_transaction(
    transaction_id: str, request: Request, customer: CurrentCustomer
) -> dict[str, Any]:
    async with get_db(request).reading() as session:
        tx = await owned(session, WalletTransaction, customer.id, "transaction", id=transaction_id)
    return transaction_json(tx)


@router.get(
    "/transactions/{transaction_id}/diagnosis", summary="Why a payment failed or is pending"
)
async def diagnose_transaction(
    transaction_id: str, request: Request, customer: CurrentCustomer
) -> dict[str, Any]:
    async with get_db(request).reading() as session:
        tx = await owned(session, WalletTransaction, customer.id, "transaction", id=transaction_id)
    result: dict[str, Any] = {
        "transaction_id": tx.id,
        "status": tx.status,
        "reason_code": tx.failure_code,
    }
    if tx.status == "failed":
        result["explanation"] = FAILURE_REASONS.get(tx.failure_code or "", "The payment failed.")
        result["money_taken"] = False
        result["next_step"] = "You can try the payment again; no money left your wallet."
    elif tx.status == "pending":
        result["explanation"] = PENDING_REASONS.get(tx.failure_code or "", "Still processing.")
        result["next_step"] = "No action needed yet; we will notify you when it settles."
    elif tx.risk_flag:
        result["explanation"] = (
            "The payment went through, but our risk checks found it unusual for you."
        )
        result["next_step"] = "If you did not make it, report it and we will freeze your cards."
    else:
        result["explanation"] = f"The payment is {tx.status}; nothing is wrong with it."
    return result


@router.get("/refunds", summary="Refunds, newest first")
async def list_refunds(request: Request, customer: CurrentCustomer) -> dict[str, Any]:
    query = (
        select(Refund).where(Refund.customer_id == customer.id).order_by(Refund.requested_at.desc())
    )
    async with get_db(request).reading() as session:
        refunds = (await session.execute(query)).scalars().all()
    return {"refunds": [refund_json(r) for r in refunds]}


@router.get("/refunds/{refund_id}", summary="Refund status")
async def get_refund(refund_id: str, request: Request, customer: CurrentCustomer) -> dict[str, Any]:
    async with get_db(request).reading() as session:
        refund = await owned(session, Refund, customer.id, "refund", id=refund_id)
    return refund_json(refund)


@router.post("/transactions/{transaction_id}/disputes", status_code=201, summary="Dispute a charge")
async def open_dispute(
    transaction_id: str,
    body: DisputeRequest,
    request: Request,
    customer: CurrentCustomer,
) -> dict[str, Any]:
    now = utcnow()
    async with get_db(request).writing() as session:
        tx = await owned(session, WalletTransaction, customer.id, "transaction", id=transaction_id)
        if tx.direction != "debit" or tx.status not in ("completed", "pending"):
            raise ApiError(422, "not_disputable", "only charges that took money can be disputed")
        existing = (
            await session.execute(select(Dispute).where(Dispute.transaction_id == tx.id))
        ).scalar()
        if existing is not None:
            raise ApiError(
                409, "dispute_exists", "this charge is already disputed", dispute_id=existing.id
            )
        dispute = Dispute(
            id=new_id("DSP"),
            customer_id=customer.id,
            transaction_id=tx.id,
            reason=body.reason,
            description=body.description,
            status="opened",
            created_at=now,
        )
        session.add(dispute)
    return {
        "dispute_id": dispute.id,
        "transaction_id": tx.id,
        "status": dispute.status,
        "answer_expected_by": (now + timedelta(days=10)).date().isoformat(),
    }
