"""Credit line and small loans: limit, bills, repayment, instalments, loans and early repayment."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, conint, constr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from common.api_errors import ApiError, not_found
from common.clock import new_id, utcnow
from services.sandbox.auth import CurrentCustomer, StepUpPurpose, get_db, step_up
from services.sandbox.idempotency import (
    IdempotencyKey,
    MoneyRequest,
    Movement,
    move_money_once,
)
from services.sandbox.models import (
    BankEntry,
    CreditBill,
    CreditLimitRequest,
    CreditLine,
    CreditScore,
    InstalmentPlan,
    Loan,
)
from services.sandbox.money import money, quantize
from services.sandbox.routes.common import (
    ME,
    CurrencyCode,
    DecimalString,
    debit,
    lock_own_account,
    owned,
)

router = APIRouter(prefix=ME, tags=["credit"])

INSTALMENT_FEE_RATES = {3: Decimal("0.021"), 6: Decimal("0.039"), 12: Decimal("0.072")}
INSTALMENT_QUOTE_MINUTES = 30
EARLY_REPAYMENT_FEE_RATE = Decimal("0.01")
LOAN_TERMS = (6, 12, 24, 36)
MAX_ACTIVE_LOANS = 2


class LimitRequest(BaseModel):
    requested_limit: DecimalString


class BillRepayment(BaseModel):
    from_account: constr(regex=r"^\d{12,24}$")  # type: ignore[valid-type]
    amount: DecimalString
    currency: CurrencyCode


class InstalmentQuoteRequest(BaseModel):
    months: Literal[3, 6, 12]


class LoanApplication(BaseModel):
    amount: DecimalString
    term_months: conint(ge=6, le=36)  # type: ignore[valid-type]
    to_account: constr(regex=r"^\d{12,24}$")  # type: ignore[valid-type]


class EarlyRepaymentQuoteRequest(BaseModel):
    principal: DecimalString | None = None  # omitted: repay everything


class EarlyRepayment(BaseModel):
    from_account: constr(regex=r"^\d{12,24}$")  # type: ignore[valid-type]
    principal: DecimalString | None = None


def monthly_payment(principal: Decimal, annual_rate: Decimal, months: int) -> Decimal:
    rate = annual_rate / 12
    if months <= 0:
        return Decimal("0.00")
    if rate == 0:
        return quantize(principal / months)
    return quantize(principal * rate / (1 - (1 + rate) ** -months))


def loan_schedule(loan: Loan) -> list[dict[str, Any]]:
    remaining_months = loan.term_months - loan.payments_made
    payment = monthly_payment(loan.outstanding, loan.annual_rate, remaining_months)
    balance = loan.outstanding
    rows = []
    for offset in range(remaining_months):
        interest = quantize(balance * loan.annual_rate / 12)
        principal_part = balance if offset == remaining_months - 1 else payment - interest
        balance = quantize(balance - principal_part)
        rows.append(
            {
                "instalment": loan.payments_made + offset + 1,
                "due_date": _add_months(
                    loan.start_date, loan.payments_made + offset + 1
                ).isoformat(),
                "payment": money(principal_part + interest, loan.currency),
                "principal": money(principal_part, loan.currency),
                "interest": money(interest, loan.currency),
                "balance_after": money(balance, loan.currency),
            }
        )
    return rows


def _add_months(start: date, months: int) -> date:
    month_index = start.month - 1 + months
    return date(start.year + month_index // 12, month_index % 12 + 1, min(start.day, 28))


def credit_line_json(line: CreditLine) -> dict[str, Any]:
    return {
        "credit_line_id": line.id,
        "limit": money(line.credit_limit, line.currency),
        "used": money(line.used, line.currency),
        "available": money(line.credit_limit - line.used, line.currency),
        "annual_rate": str(line.annual_rate),
        "statement_day": line.statement_day,
    }


def bill_json(bill: CreditBill) -> dict[str, Any]:
    today = utcnow().date()
    return {
        "bill_id": bill.id,
        "period": bill.period,
        "amount_due": money(bill.amount_due, bill.currency),
        "minimum_due": money(bill.minimum_due, bill.currency),
        "paid": money(bill.paid, bill.currency),
        "remaining": money(bill.amount_due - bill.paid, bill.currency),
        "due_date": bill.due_date.isoformat(),
        "days_until_due": (bill.due_date - today).days,
        "status": bill.status,
    }


def loan_json(loan: Loan) -> dict[str, Any]:
    remaining = loan.term_months - loan.payments_made
    return {
        "loan_id": loan.id,
        "principal": money(loan.principal, loan.currency),
        "outstanding": money(loan.outstanding, loan.currency),
        "annual_rate": str(loan.annual_rate),
        "term_months": loan.term_months,
        "payments_made": loan.payments_made,
        "monthly_payment": money(
            monthly_payment(loan.outstanding, loan.annual_rate, remaining), loan.currency
        ),
        "next_due_date": _add_months(loan.start_date, loan.payments_made + 1).isoformat()
        if loan.status == "active"
        else None,
        "status": loan.status,
    }


def early_repayment_quote(loan: Loan, principal: Decimal | None) -> dict[str, Decimal]:
    if loan.status != "active":
        raise ApiError(409, "loan_not_active", "the loan is already repaid")
    to_repay = loan.outstanding if principal is None else principal
    if to_repay > loan.outstanding:
        raise ApiError(
            422,
            "above_outstanding",
            "more than the outstanding principal",
            outstanding=money(loan.outstanding, loan.currency),
        )
    days_accrued = utcnow().date().day
    interest = quantize(to_repay * loan.annual_rate * days_accrued / 365)
    fee = quantize(to_repay * EARLY_REPAYMENT_FEE_RATE)
    return {
        "principal": to_repay,
        "interest": interest,
        "fee": fee,
        "total": to_repay + interest + fee,
    }


async def _eligibility(session: AsyncSession, customer_id: str) -> dict[str, Any]:
    score = await session.get(CreditScore, customer_id)
    active = (
        (
            await session.execute(
                select(Loan).where(Loan.customer_id == customer_id, Loan.status == "active")
            )
        )
        .scalars()
        .all()
    )
    points = score.score if score else 0
    reasons = []
    if points < 600:
        reasons.append("credit score below 600")
    if len(active) >= MAX_ACTIVE_LOANS:
        reasons.append(f"already {len(active)} active loans")
    max_amount = (
        Decimal("0.00") if reasons else Decimal(200 * (points - 500)).quantize(Decimal("0.01"))
    )
    rate = (
        Decimal("0.0720")
        if points >= 750
        else Decimal("0.1080")
        if points >= 680
        else Decimal("0.1440")
    )
    return {
        "eligible": not reasons,
        "reasons": reasons,
        "max_amount": max_amount,
        "annual_rate": rate,
    }


@router.get("/credit-line", summary="Credit limit, used and available")
async def get_credit_line(request: Request, customer: CurrentCustomer) -> dict[str, Any]:
    async with get_db(request).reading() as session:
        line = await owned(session, CreditLine, customer.id, "credit line")
    return credit_line_json(line)


@router.post("/credit-line/limit-requests", status_code=201, summary="Ask for a higher limit")
async def request_limit_raise(
    body: LimitRequest, request: Request, customer: CurrentCustomer
) -> dict[str, Any]:
    async with get_db(request).writing() as session:
        line = await owned(session, CreditLine, customer.id, "credit line")
        if body.requested_limit <= line.credit_limit:
            raise ApiError(422, "not_a_raise", "the requested limit is not above the current one")
        score = await session.get(CreditScore, customer.id)
        points = score.score if score else 0
        multiplier = (
            Decimal("2") if points >= 700 else Decimal("1.3") if points >= 620 else Decimal("1")
        )
        granted = min(body.requested_limit, quantize(line.credit_limit * multiplier))
        decision = "approved" if granted == body.requested_limit else "partially_approved"
        reason = "Approved on your repayment history."
        if granted <= line.credit_limit:
            decision, granted = "declined", line.credit_limit
            reason = "Your credit score is too low for a raise now; try again in 3 months."
        elif decision == "partially_approved":
            reason = "We can raise the limit part of the way now, based on your credit score."
        line.credit_limit = granted
        session.add(
            CreditLimitRequest(
                id=new_id("CLR"),
                customer_id=customer.id,
                requested_limit=body.requested_limit,
                decision=decision,
                granted_limit=granted,
                reason=reason,
                created_at=utcnow(),
            )
        )
    return {"decision": decision, "new_limit": money(granted, line.currency), "reason": reason}


@router.get("/credit-line/bills/current", summary="Current bill and due date")
async def get_current_bill(request: Request, customer: CurrentCustomer) -> dict[str, Any]:
    async with get_db(request).reading() as session:
        bill = (
            await session.execute(
                select(CreditBill)
                .where(CreditBill.customer_id == customer.id)
                .order_by(CreditBill.due_date.desc())
            )
        ).scalar()
    if bill is None:
        raise not_found("bill")
    return bill_json(bill)


@router.get("/credit-line/bills/{bill_id}", summary="One bill")
async def get_bill(bill_id: str, request: Request, customer: CurrentCustomer) -> dict[str, Any]:
    async with get_db(request).reading() as session:
        bill = await owned(session, CreditBill, customer.id, "bill", id=bill_id)
    return bill_json(bill)


@router.post(
    "/credit-line/bills/{bill_id}/repayments",
    status_code=201,
    summary="Repay a bill from a bank account (step-up move_money, Idempotency-Key)",
    dependencies=[Depends(step_up(StepUpPurpose.move_money))],
)
async def repay_bill(
    bill_id: str,
    body: BillRepayment,
    request: Request,
    idempotency_key: IdempotencyKey,
    customer: CurrentCustomer,
) -> JSONResponse:
    async def repay(session: AsyncSession) -> Movement:
        bill = await owned(session, CreditBill, customer.id, "bill", lock=True, id=bill_id)
        account = await lock_own_account(session, customer.id, body.from_account)
        remaining = bill.amount_due - bill.paid
        if bill.status in ("paid", "instalments") or remaining <= 0:
            raise ApiError(409, "bill_settled", "nothing is left to pay on this bill")
        if body.currency != bill.currency:
            raise ApiError(422, "currency_mismatch", f"the bill is in {bill.currency}")
        if body.amount > remaining:
            raise ApiError(
                422,
                "overpayment",
                "more than the remaining amount",
                remaining=money(remaining, bill.currency),
            )
        debit(account, body.amount, body.currency)
        line = await session.get(CreditLine, bill.credit_line_id, with_for_update=True)
        line.used = max(Decimal("0.00"), quantize(line.used - body.amount))
        bill.paid = quantize(bill.paid + body.amount)
        if bill.paid >= bill.amount_due:
            bill.status = "paid"
        session.add(
            BankEntry(
                id=new_id("ENT"),
                customer_id=customer.id,
                account_id=account.id,
                amount=-body.amount,
                currency=body.currency,
                description=f"Credit bill {bill.period} repayment",
                booked_at=utcnow(),
            )
        )
        return Movement(
            body={
                "bill": bill_json(bill),
                "paid_now": money(body.amount, body.currency),
                "from_account": account.account_number,
            },
            amount=body.amount,
            currency=body.currency,
            source=account.account_number,
            target=bill.id,
        )

    money_request = MoneyRequest(
        customer_id=customer.id,
        operation="credit.repay_bill",
        idempotency_key=idempotency_key,
        fingerprint={"bill_id": bill_id, **body.dict()},
        amount=body.amount,
        currency=body.currency,
        source=body.from_account,
    )
    return await move_money_once(get_db(request), money_request, repay)


@router.post(
    "/credit-line/bills/{bill_id}/instalment-quotes",
    status_code=201,
    summary="Quote splitting a bill",
)
async def quote_instalments(
    bill_id: str, body: InstalmentQuoteRequest, request: Request, customer: CurrentCustomer
) -> dict[str, Any]:
    now = utcnow()
    async with get_db(request).writing() as session:
        bill = await owned(session, CreditBill, customer.id, "bill", id=bill_id)
        principal = bill.amount_due - bill.paid
        if bill.status not in ("open", "overdue") or principal <= 0:
            raise ApiError(409, "bill_not_splittable", "only an unpaid open bill can be split")
        fee = quantize(principal * INSTALMENT_FEE_RATES[body.months])
        plan = InstalmentPlan(
            id=new_id("INS"),
            customer_id=customer.id,
            bill_id=bill.id,
            months=body.months,
            principal=principal,
            total_fee=fee,
            monthly_payment=quantize((principal + fee) / body.months),
            currency=bill.currency,
            status="quoted",
            created_at=now,
            quote_expires_at=now + timedelta(minutes=INSTALMENT_QUOTE_MINUTES),
        )
        session.add(plan)
    return _plan_json(plan)


def _plan_json(plan: InstalmentPlan) -> dict[str, Any]:
    return {
        "quote_id": plan.id,
        "bill_id": plan.bill_id,
        "months": plan.months,
        "principal": money(plan.principal, plan.currency),
        "total_fee": money(plan.total_fee, plan.currency),
        "monthly_payment": money(plan.monthly_payment, plan.currency),
        "status": plan.status,
        "quote_expires_at": plan.quote_expires_at.isoformat(),
    }


@router.post(
    "/credit-line/instalment-quotes/{quote_id}/accept", summary="Accept an instalment quote"
)
async def accept_instalments(
    quote_id: str, request: Request, customer: CurrentCustomer
) -> dict[str, Any]:
    async with get_db(request).writing() as session:
        plan = await owned(session, InstalmentPlan, customer.id, "instalment quote", id=quote_id)
        if plan.status != "quoted":
            raise ApiError(409, "quote_not_open", f"the quote is {plan.status}")
        if plan.quote_expires_at <= utcnow():
            plan.status = "expired"
            return {**_plan_json(plan), "accepted": False}
        bill = await owned(session, CreditBill, customer.id, "bill", id=plan.bill_id)
        if bill.status not in ("open", "overdue"):
            raise ApiError(409, "bill_not_splittable", "the bill is no longer open")
        plan.status, bill.status = "active", "instalments"
    return {**_plan_json(plan), "accepted": True}


@router.get("/loans/eligibility", summary="How much could I borrow, at what rate")
async def get_loan_eligibility(request: Request, customer: CurrentCustomer) -> dict[str, Any]:
    async with get_db(request).reading() as session:
        result = await _eligibility(session, customer.id)
    return {
        "eligible": result["eligible"],
        "reasons": result["reasons"],
        "max_amount": money(result["max_amount"], "CNY"),
        "annual_rate": str(result["annual_rate"]),
        "terms_months": list(LOAN_TERMS),
    }


@router.post(
    "/loans",
    status_code=201,
    summary="Apply for a loan, paid out at once (step-up move_money, Idempotency-Key)",
    dependencies=[Depends(step_up(StepUpPurpose.move_money))],
)
async def apply_for_loan(
    body: LoanApplication,
    request: Request,
    idempotency_key: IdempotencyKey,
    customer: CurrentCustomer,
) -> JSONResponse:
    async def disburse(session: AsyncSession) -> Movement:
        if body.term_months not in LOAN_TERMS:
            raise ApiError(422, "unsupported_term", "choose a term of 6, 12, 24 or 36 months")
        account = await lock_own_account(session, customer.id, body.to_account)
        if account.currency != "CNY":
            raise ApiError(422, "currency_mismatch", "loans are paid into a CNY account")
        eligibility = await _eligibility(session, customer.id)
        if not eligibility["eligible"]:
            raise ApiError(
                422, "not_eligible", "not eligible for a loan now", reasons=eligibility["reasons"]
            )
        if body.amount > eligibility["max_amount"]:
            raise ApiError(
                422,
                "above_max_amount",
                "above the amount you can borrow",
                max_amount=money(eligibility["max_amount"], "CNY"),
            )
        today = utcnow().date()
        loan = Loan(
            id=new_id("LN"),
            customer_id=customer.id,
            principal=body.amount,
            outstanding=body.amount,
            currency="CNY",
            annual_rate=eligibility["annual_rate"],
            term_months=body.term_months,
            payments_made=0,
            start_date=today,
            status="active",
            disbursed_to_account_id=account.id,
        )
        account.balance = quantize(account.balance + body.amount)
        session.add(loan)
        session.add(
            BankEntry(
                id=new_id("ENT"),
                customer_id=customer.id,
                account_id=account.id,
                amount=body.amount,
                currency="CNY",
                description=f"Loan {loan.id} payout",
                booked_at=utcnow(),
            )
        )
        await session.flush()
        return Movement(
            body={**loan_json(loan), "paid_into": account.account_number},
            amount=body.amount,
            currency="CNY",
            source=loan.id,
            target=account.account_number,
        )

    money_request = MoneyRequest(
        customer_id=customer.id,
        operation="credit.loan_disbursement",
        idempotency_key=idempotency_key,
        fingerprint=body.dict(),
        amount=body.amount,
        currency="CNY",
        source=None,
    )
    return await move_money_once(get_db(request), money_request, disburse)


@router.get("/loans", summary="Loans")
async def list_loans(request: Request, customer: CurrentCustomer) -> dict[str, Any]:
    query = select(Loan).where(Loan.customer_id == customer.id).order_by(Loan.start_date.desc())
    async with get_db(request).reading() as session:
        loans = (await session.execute(query)).scalars().all()
    return {"loans": [loan_json(loan) for loan in loans]}


@router.get("/loans/{loan_id}", summary="One loan")
async def get_loan(loan_id: str, request: Request, customer: CurrentCustomer) -> dict[str, Any]:
    async with get_db(request).reading() as session:
        loan = await owned(session, Loan, customer.id, "loan", id=loan_id)
    return loan_json(loan)


@router.get("/loans/{loan_id}/schedule", summary="Repayment schedule")
async def get_loan_schedule(
    loan_id: str, request: Request, customer: CurrentCustomer
) -> dict[str, Any]:
    async with get_db(request).reading() as session:
        loan = await owned(session, Loan, customer.id, "loan", id=loan_id)
    return {
        "loan_id": loan.id,
        "status": loan.status,
        "schedule": loan_schedule(loan) if loan.status == "active" else [],
    }


@router.post("/loans/{loan_id}/early-repayment-quotes", summary="What repaying early would cost")
async def quote_early_repayment(
    loan_id: str, body: EarlyRepaymentQuoteRequest, request: Request, customer: CurrentCustomer
) -> dict[str, Any]:
    async with get_db(request).reading() as session:
        loan = await owned(session, Loan, customer.id, "loan", id=loan_id)
    quote = early_repayment_quote(loan, body.principal)
    return {
        "loan_id": loan.id,
        "valid_until": utcnow().date().isoformat(),
        **{part: money(value, loan.currency) for part, value in quote.items()},
    }


@router.post(
    "/loans/{loan_id}/early-repayments",
    status_code=201,
    summary="Repay a loan early (step-up move_money, Idempotency-Key)",
    dependencies=[Depends(step_up(StepUpPurpose.move_money))],
)
async def repay_loan_early(
    loan_id: str,
    body: EarlyRepayment,
    request: Request,
    idempotency_key: IdempotencyKey,
    customer: CurrentCustomer,
) -> JSONResponse:
    async def repay(session: AsyncSession) -> Movement:
        loan = await owned(session, Loan, customer.id, "loan", lock=True, id=loan_id)
        account = await lock_own_account(session, customer.id, body.from_account)
        quote = early_repayment_quote(loan, body.principal)
        debit(account, quote["total"], loan.currency)
        loan.outstanding = quantize(loan.outstanding - quote["principal"])
        if loan.outstanding == 0:
            loan.status = "repaid"
        session.add(
            BankEntry(
                id=new_id("ENT"),
                customer_id=customer.id,
                account_id=account.id,
                amount=-quote["total"],
                currency=loan.currency,
                description=f"Loan {loan.id} early repayment",
                booked_at=utcnow(),
            )
        )
        return Movement(
            body={
                "loan": loan_json(loan),
                **{part: money(v, loan.currency) for part, v in quote.items()},
            },
            amount=quote["total"],
            currency=loan.currency,
            source=account.account_number,
            target=loan.id,
        )

    money_request = MoneyRequest(
        customer_id=customer.id,
        operation="credit.loan_early_repayment",
        idempotency_key=idempotency_key,
        fingerprint={"loan_id": loan_id, **body.dict()},
        amount=body.principal,
        currency="CNY",
        source=body.from_account,
    )
    return await move_money_once(get_db(request), money_request, repay)
