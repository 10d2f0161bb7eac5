"""Fifty simultaneous transfers from one account never overdraw it (real HTTP, real database)."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

from tests.sandbox.conftest import RunningSandbox, as_money

ME = "/v1/customers/me"
TRANSFERS = 50


def set_balance(sandbox: RunningSandbox, account: str, amount: Decimal) -> None:
    stored = int(amount * 100) if sandbox.backend == "sqlite" else amount
    sandbox.execute(
        "UPDATE bank_accounts SET balance = :b WHERE account_number = :n", b=stored, n=account
    )


def two_cny_accounts_of_different_customers(sandbox: RunningSandbox) -> list[tuple[str, str]]:
    rows = sandbox.rows(
        "SELECT a.customer_id, a.account_number FROM bank_accounts a JOIN customers c"
        " ON c.id = a.customer_id WHERE a.currency = 'CNY' AND NOT c.locked"
        " ORDER BY a.account_number DESC"
    )
    first = rows[0]
    second = next(row for row in rows if row[0] != first[0])
    return [(first[0], first[1]), (second[0], second[1])]


async def test_fifty_simultaneous_transfers_never_overdraw_and_conserve_money(
    sandbox: RunningSandbox,
) -> None:
    (payer, source), (_, destination) = two_cny_accounts_of_different_customers(sandbox)
    set_balance(sandbox, source, Decimal("1000.00"))
    destination_before = sandbox.balance(destination)
    # A step-up token authorises one transfer: each of the fifty has its own.
    tokens = [sandbox.step_up_token(payer, "move_money") for _ in range(TRANSFERS)]
    run = uuid.uuid4().hex[:8]
    body = {
        "from_account": source,
        "to_account_number": destination,
        "recipient_name": "Wang Fang",
        "amount": "30.00",
        "currency": "CNY",
    }

    async with sandbox.async_client(payer) as http:
        responses = await asyncio.gather(
            *(
                http.post(
                    f"{ME}/transfers",
                    json=body,
                    headers={
                        "Idempotency-Key": f"c-{run}-{n:02d}",
                        "X-Verification-Token": tokens[n],
                    },
                )
                for n in range(TRANSFERS)
            )
        )

    succeeded = [r for r in responses if r.status_code == 201]
    refused = [r for r in responses if r.status_code == 422]
    assert len(succeeded) == 33 and len(refused) == 17, [r.status_code for r in responses]
    assert {r.json()["error"]["code"] for r in refused} == {"insufficient_funds"}
    assert sandbox.balance(source) == Decimal("10.00")
    assert sandbox.balance(destination) == destination_before + Decimal("990.00")
    audit = sandbox.rows(
        "SELECT outcome, amount FROM audit_records WHERE idempotency_key LIKE :k", k=f"c-{run}-%"
    )
    assert sorted(a.outcome for a in audit) == ["rejected"] * 17 + ["succeeded"] * 33
    moved = sum(as_money(sandbox.backend, a.amount) for a in audit if a.outcome == "succeeded")
    assert moved == Decimal("990.00")


async def test_transfers_in_both_directions_at_once_do_not_deadlock(
    sandbox: RunningSandbox,
) -> None:
    (first_customer, first), (second_customer, second) = two_cny_accounts_of_different_customers(
        sandbox
    )
    for account in (first, second):
        set_balance(sandbox, account, Decimal("500.00"))
    tokens = {
        (c, n): sandbox.step_up_token(c, "move_money")
        for c in (first_customer, second_customer)
        for n in range(15)
    }
    run = uuid.uuid4().hex[:8]

    async def send(customer: str, source: str, target: str, n: int) -> int:
        body = {
            "from_account": source,
            "to_account_number": target,
            "recipient_name": "x",
            "amount": "5.00",
            "currency": "CNY",
        }
        async with sandbox.async_client(
            customer, **{"X-Verification-Token": tokens[customer, n]}
        ) as http:
            response = await http.post(
                f"{ME}/transfers", json=body, headers={"Idempotency-Key": f"d-{run}-{customer}-{n}"}
            )
        return response.status_code

    statuses = await asyncio.wait_for(
        asyncio.gather(
            *(send(first_customer, first, second, n) for n in range(15)),
            *(send(second_customer, second, first, n) for n in range(15)),
        ),
        timeout=60,
    )
    assert set(statuses) == {201}
    assert sandbox.balance(first) + sandbox.balance(second) == Decimal("1000.00")
