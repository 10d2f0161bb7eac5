"""The same money-moving request sent twice moves money once, and says so."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

from tests.sandbox.conftest import RunningSandbox

ME = "/v1/customers/me"
EXTERNAL_ACCOUNT = "6228480000000000017"


def payer(sandbox: RunningSandbox, skip: int) -> tuple[str, str]:
    rows = sandbox.rows(
        "SELECT a.customer_id, a.account_number FROM bank_accounts a JOIN customers c"
        " ON c.id = a.customer_id WHERE a.currency = 'CNY' AND NOT c.locked"
        " ORDER BY a.account_number"
    )
    customer, account = rows[skip]
    sandbox.execute(
        "UPDATE bank_accounts SET balance = :b WHERE account_number = :n",
        b=100000 if sandbox.backend == "sqlite" else Decimal("1000.00"),
        n=account,
    )
    return customer, account


def transfer_body(account: str, amount: str = "25.00") -> dict[str, str]:
    return {
        "from_account": account,
        "to_account_number": EXTERNAL_ACCOUNT,
        "recipient_name": "Li Lei",
        "amount": amount,
        "currency": "CNY",
    }


def test_a_retried_transfer_moves_money_once(sandbox: RunningSandbox) -> None:
    customer, account = payer(sandbox, skip=0)
    key = f"retry-{uuid.uuid4()}"
    token = sandbox.step_up_token(customer, "move_money")
    with sandbox.client(
        customer, **{"X-Verification-Token": token, "Idempotency-Key": key}
    ) as http:
        first = http.post(f"{ME}/transfers", json=transfer_body(account))
        second = http.post(f"{ME}/transfers", json=transfer_body(account))
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert sandbox.balance(account) == Decimal("975.00")
    audit = sandbox.rows(
        "SELECT outcome, amount, currency, source, target FROM audit_records"
        " WHERE idempotency_key = :k",
        k=key,
    )
    assert len(audit) == 1
    assert audit[0].outcome == "succeeded" and audit[0].source == account
    assert audit[0].target == EXTERNAL_ACCOUNT and audit[0].currency == "CNY"


def test_reusing_a_key_for_a_different_request_is_a_conflict(sandbox: RunningSandbox) -> None:
    customer, account = payer(sandbox, skip=1)
    token = sandbox.step_up_token(customer, "move_money")
    headers = {"X-Verification-Token": token, "Idempotency-Key": f"reuse-{uuid.uuid4()}"}
    with sandbox.client(customer, **headers) as http:
        assert http.post(f"{ME}/transfers", json=transfer_body(account, "10.00")).status_code == 201
        conflict = http.post(f"{ME}/transfers", json=transfer_body(account, "99.00"))
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "idempotency_key_reused"
    assert sandbox.balance(account) == Decimal("990.00")


def test_a_refusal_is_remembered_and_audited(sandbox: RunningSandbox) -> None:
    customer, account = payer(sandbox, skip=2)
    key = f"refused-{uuid.uuid4()}"
    token = sandbox.step_up_token(customer, "move_money")
    with sandbox.client(
        customer, **{"X-Verification-Token": token, "Idempotency-Key": key}
    ) as http:
        first = http.post(f"{ME}/transfers", json=transfer_body(account, "5000.00"))
        sandbox.execute(
            "UPDATE bank_accounts SET balance = balance * 100 WHERE account_number = :n", n=account
        )
        again = http.post(f"{ME}/transfers", json=transfer_body(account, "5000.00"))
    assert first.status_code == again.status_code == 422
    assert first.json() == again.json()
    assert first.json()["error"]["code"] == "insufficient_funds"
    outcomes = sandbox.rows(
        "SELECT outcome, detail FROM audit_records WHERE idempotency_key = :k", k=key
    )
    assert [(o.outcome, o.detail) for o in outcomes] == [("rejected", "insufficient_funds")]


def test_money_moves_only_with_a_key_and_amounts_never_as_floats(sandbox: RunningSandbox) -> None:
    customer, account = payer(sandbox, skip=3)
    token = sandbox.step_up_token(customer, "move_money")
    with sandbox.client(customer, **{"X-Verification-Token": token}) as http:
        keyless = http.post(f"{ME}/transfers", json=transfer_body(account))
        as_float = http.post(
            f"{ME}/transfers",
            json={**transfer_body(account), "amount": 25.1},
            headers={"Idempotency-Key": f"float-{uuid.uuid4()}"},
        )
        sub_cent = http.post(
            f"{ME}/transfers",
            json=transfer_body(account, "0.001"),
            headers={"Idempotency-Key": f"cent-{uuid.uuid4()}"},
        )
    assert keyless.status_code == 400
    assert keyless.json()["error"]["code"] == "idempotency_key_required"
    assert as_float.status_code == sub_cent.status_code == 422
    assert sandbox.balance(account) == Decimal("1000.00")


async def test_the_same_request_sent_ten_times_at_once_moves_money_once(
    sandbox: RunningSandbox,
) -> None:
    customer, account = payer(sandbox, skip=4)
    key = f"burst-{uuid.uuid4()}"
    token = sandbox.step_up_token(customer, "move_money")
    async with sandbox.async_client(
        customer, **{"X-Verification-Token": token, "Idempotency-Key": key}
    ) as http:
        responses = await asyncio.gather(
            *(http.post(f"{ME}/transfers", json=transfer_body(account)) for _ in range(10))
        )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["transfer_id"] for r in responses}) == 1
    assert sandbox.balance(account) == Decimal("975.00")
    assert (
        sandbox.scalar("SELECT count(*) FROM audit_records WHERE idempotency_key = :k", k=key) == 1
    )
