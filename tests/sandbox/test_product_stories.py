"""Each product line's operations, told as what a customer gets done."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

from tests.sandbox.conftest import RunningSandbox, as_money

ME = "/v1/customers/me"


def holder(sandbox: RunningSandbox, condition: str, skip: int = 0) -> str:
    return sandbox.customers(condition)[skip]


def fund_cny_account(sandbox: RunningSandbox, customer: str, amount: str = "100000.00") -> str:
    account = sandbox.scalar(
        "SELECT account_number FROM bank_accounts WHERE customer_id = :c AND currency = 'CNY'"
        " ORDER BY account_number",
        c=customer,
    )
    stored = int(Decimal(amount) * 100) if sandbox.backend == "sqlite" else Decimal(amount)
    sandbox.execute(
        "UPDATE bank_accounts SET balance = :b WHERE account_number = :n", b=stored, n=account
    )
    return account


HAS_CNY_ACCOUNT = (
    "EXISTS (SELECT 1 FROM bank_accounts a WHERE a.customer_id = c.id AND a.currency = 'CNY')"
)


def test_a_customer_who_lost_a_card_gets_it_blocked_and_a_replacement_on_its_way(
    sandbox: RunningSandbox,
) -> None:
    customer = holder(
        sandbox,
        "EXISTS (SELECT 1 FROM cards k WHERE k.customer_id = c.id AND k.status = 'active')",
        6,
    )
    card = sandbox.scalar(
        "SELECT id FROM cards WHERE customer_id = :c AND status = 'active'", c=customer
    )

    def verified() -> dict[str, str]:
        return sandbox.verified(customer, "card_control")

    with sandbox.client(customer) as http:
        blocked = http.post(
            f"{ME}/cards/{card}/report-lost", json={"kind": "lost"}, headers=verified()
        ).json()
        unfreeze = http.post(f"{ME}/cards/{card}/unfreeze", headers=verified())
        replaced = http.post(
            f"{ME}/cards/{card}/replace",
            json={"reason": "lost", "delivery": "express"},
            headers=verified(),
        )
        twice = http.post(f"{ME}/cards/{card}/replace", json={"reason": "lost"}, headers=verified())
        new_card = replaced.json()["new_card"]["card_id"]
        delivery = http.get(f"{ME}/cards/{new_card}/delivery").json()
        activated = http.post(f"{ME}/cards/{new_card}/activate").json()
    assert blocked["status"] == "lost" and blocked["replacement_offered"]
    assert unfreeze.json()["error"]["code"] == "card_state_conflict"
    assert replaced.status_code == 201
    assert twice.json()["error"] == {**twice.json()["error"], "code": "already_replaced"}
    assert delivery["status"] == "preparing"
    assert date.fromisoformat(delivery["eta"]) > date.today() - timedelta(days=1)
    assert activated["status"] == "active"


def test_a_customer_learns_why_a_payment_failed_and_disputes_a_charge(
    sandbox: RunningSandbox,
) -> None:
    # One who also waits for a refund, so the refunds list has something to be right about.
    failed = sandbox.rows(
        "SELECT t.customer_id, t.id, t.failure_code FROM wallet_transactions t"
        " WHERE t.status = 'failed' AND EXISTS (SELECT 1 FROM refunds r"
        " WHERE r.customer_id = t.customer_id AND r.status = 'pending') ORDER BY t.customer_id"
    )[0]
    expected_refunds = {
        row.id: (f"{as_money(sandbox.backend, row.amount):.2f}", row.status)
        for row in sandbox.rows(
            "SELECT id, amount, status FROM refunds WHERE customer_id = :c", c=failed.customer_id
        )
    }
    with sandbox.client(failed.customer_id) as http:
        diagnosis = http.get(f"{ME}/wallet/transactions/{failed.id}/diagnosis").json()
        page = http.get(f"{ME}/wallet/transactions", params={"page": 1, "page_size": 5}).json()
        charge = next(t for t in page["transactions"] if t["status"] == "completed")
        dispute = http.post(
            f"{ME}/wallet/transactions/{charge['transaction_id']}/disputes",
            json={"reason": "not_received", "description": "parcel never came"},
        )
        again = http.post(
            f"{ME}/wallet/transactions/{charge['transaction_id']}/disputes",
            json={"reason": "not_received", "description": "parcel never came"},
        )
        refunds = http.get(f"{ME}/wallet/refunds").json()["refunds"]
    assert diagnosis["reason_code"] == failed.failure_code and diagnosis["money_taken"] is False
    assert len(page["transactions"]) == 5 and page["total"] >= 5
    assert dispute.status_code == 201 and again.status_code == 409
    assert (
        expected_refunds
        and {r["refund_id"]: (r["amount"], r["status"]) for r in refunds} == expected_refunds
    )


def test_a_customer_reads_a_statement_and_traces_a_late_transfer(sandbox: RunningSandbox) -> None:
    late = sandbox.rows("SELECT customer_id, id FROM transfers WHERE status = 'processing'")[0]
    account = sandbox.scalar(
        "SELECT account_number FROM bank_accounts WHERE customer_id = :c", c=late.customer_id
    )
    with sandbox.client(late.customer_id) as http:
        traced = http.get(f"{ME}/transfers/{late.id}").json()
        statement = http.get(f"{ME}/accounts/{account}/statement").json()
        recipients = http.get(f"{ME}/recipients").json()["recipients"]
    assert traced["overdue"] is True and "name check" in traced["trace_note"]
    opening, closing = (
        Decimal(statement["opening_balance"]["amount"]),
        Decimal(statement["closing_balance"]["amount"]),
    )
    assert opening + sum(Decimal(e["amount"]) for e in statement["entries"]) == closing
    assert sorted(r["name"] for r in recipients) == sorted(
        row.name
        for row in sandbox.rows(
            "SELECT name FROM recipients WHERE customer_id = :c", c=late.customer_id
        )
    )
    assert recipients


def test_a_customer_splits_a_bill_and_another_repays_theirs(sandbox: RunningSandbox) -> None:
    open_bills = sandbox.rows(
        "SELECT b.customer_id, b.id FROM credit_bills b JOIN customers c ON c.id = b.customer_id"
        f" WHERE b.status = 'open' AND NOT c.locked AND {HAS_CNY_ACCOUNT}"
        " ORDER BY b.id"
    )
    (splitter, split_bill), (payer, paid_bill) = open_bills[0], open_bills[1]
    with sandbox.client(splitter) as http:
        quote = http.post(
            f"{ME}/credit-line/bills/{split_bill}/instalment-quotes", json={"months": 6}
        ).json()
        accepted = http.post(
            f"{ME}/credit-line/instalment-quotes/{quote['quote_id']}/accept"
        ).json()
    assert accepted["accepted"] is True and accepted["months"] == 6
    assert Decimal(quote["total_fee"]["amount"]) > 0

    account = fund_cny_account(sandbox, payer)
    token = sandbox.step_up_token(payer, "move_money")
    with sandbox.client(
        payer, **{"X-Verification-Token": token, "Idempotency-Key": str(uuid.uuid4())}
    ) as http:
        before = http.get(f"{ME}/credit-line").json()
        repaid = http.post(
            f"{ME}/credit-line/bills/{paid_bill}/repayments",
            json={"from_account": account, "amount": "1.00", "currency": "CNY"},
        )
        after = http.get(f"{ME}/credit-line").json()
    assert repaid.status_code == 201, repaid.text
    assert Decimal(before["used"]["amount"]) - Decimal(after["used"]["amount"]) == Decimal("1.00")
    assert sandbox.balance(account) == Decimal("99999.00")


def test_an_eligible_customer_borrows_and_repays_early(sandbox: RunningSandbox) -> None:
    customer = holder(
        sandbox,
        f"{HAS_CNY_ACCOUNT} AND EXISTS (SELECT 1 FROM credit_scores s WHERE"
        " s.customer_id = c.id AND s.score >= 700)"
        " AND NOT EXISTS (SELECT 1 FROM loans l WHERE l.customer_id = c.id)",
    )
    account = fund_cny_account(sandbox, customer, "5000.00")

    def once() -> dict[str, str]:
        return {"Idempotency-Key": str(uuid.uuid4()), **sandbox.verified(customer, "move_money")}

    with sandbox.client(customer) as http:
        eligibility = http.get(f"{ME}/loans/eligibility").json()
        loan = http.post(
            f"{ME}/loans",
            json={"amount": "10000.00", "term_months": 12, "to_account": account},
            headers=once(),
        ).json()
        schedule = http.get(f"{ME}/loans/{loan['loan_id']}/schedule").json()["schedule"]
        quote = http.post(f"{ME}/loans/{loan['loan_id']}/early-repayment-quotes", json={}).json()
        repaid = http.post(
            f"{ME}/loans/{loan['loan_id']}/early-repayments",
            json={"from_account": account},
            headers=once(),
        ).json()
    assert eligibility["eligible"]
    assert len(schedule) == 12
    assert sum(Decimal(row["principal"]["amount"]) for row in schedule) == Decimal("10000.00")
    assert repaid["loan"]["status"] == "repaid"
    assert sandbox.balance(account) == Decimal("15000.00") - Decimal(quote["total"]["amount"])


def test_a_policyholder_files_a_claim_and_cancels_a_policy(sandbox: RunningSandbox) -> None:
    policy = sandbox.rows(
        "SELECT p.customer_id, p.id, p.start_date FROM policies p JOIN customers c"
        " ON c.id = p.customer_id WHERE p.status = 'active' AND NOT c.locked ORDER BY p.id DESC"
    )[0]
    with sandbox.client(policy.customer_id) as http:
        coverage = http.get(f"{ME}/policies/{policy.id}").json()["coverage"]
        filed = http.post(
            f"{ME}/policies/{policy.id}/claims",
            json={
                "incident_date": str(date.today() - timedelta(days=1)),
                "description": "Slipped on ice",
                "amount": "800.00",
                "currency": "CNY",
            },
        ).json()
        status = http.get(f"{ME}/claims/{filed['claim_id']}").json()
        refused = http.post(
            f"{ME}/policies/{policy.id}/cancellation", json={"reason": "too expensive"}
        )
        token = sandbox.step_up_token(policy.customer_id, "policy_change")
        cancelled = http.post(
            f"{ME}/policies/{policy.id}/cancellation",
            json={"reason": "too expensive"},
            headers={"X-Verification-Token": token},
        ).json()
    assert coverage and status["status"] == "submitted" and status["next_step"]
    assert refused.status_code == 403
    assert (
        cancelled["status"] == "cancelled" and Decimal(cancelled["premium_refund"]["amount"]) >= 0
    )


def test_a_saver_puts_money_in_the_fund_and_takes_some_out(sandbox: RunningSandbox) -> None:
    customer = holder(sandbox, HAS_CNY_ACCOUNT, 11)
    account = fund_cny_account(sandbox, customer, "20000.00")

    def once() -> dict[str, str]:
        return {"Idempotency-Key": str(uuid.uuid4()), **sandbox.verified(customer, "move_money")}

    with sandbox.client(customer) as http:
        subscribed = http.post(
            f"{ME}/fund/subscriptions",
            json={"from_account": account, "amount": "5000.00"},
            headers=once(),
        )
        instant = http.post(
            f"{ME}/fund/redemptions",
            json={"to_account": account, "amount": "1000.00", "speed": "instant"},
            headers=once(),
        ).json()
        standard = http.post(
            f"{ME}/fund/redemptions",
            json={"to_account": account, "amount": "1000.00"},
            headers=once(),
        ).json()
        order = http.get(f"{ME}/fund/orders/{standard['order_id']}").json()
        fund = http.get(f"{ME}/fund").json()
    assert subscribed.status_code == 201, subscribed.text
    assert instant["status"] == "completed"
    assert order["status"] == "processing" and order["expected_arrival"] > order["created_at"]
    assert "yesterday_yield" in fund
    assert sandbox.balance(account) == Decimal("16000.00")


def test_a_customer_understands_their_score_and_disputes_a_record(sandbox: RunningSandbox) -> None:
    record = sandbox.rows(
        "SELECT customer_id, id FROM score_records WHERE status = 'reported' ORDER BY id"
    )[0]
    with sandbox.client(record.customer_id) as http:
        score = http.get(f"{ME}/credit-score").json()
        tips = http.get(f"{ME}/credit-score/tips").json()
        disputed = http.post(
            f"{ME}/credit-score/records/{record.id}/disputes", json={"reason": "I paid on time"}
        )
        again = http.post(
            f"{ME}/credit-score/records/{record.id}/disputes", json={"reason": "I paid on time"}
        )
    assert 350 <= score["score"] <= 950 and len(score["factors"]) == 5
    assert tips["score"] == score["score"]
    assert disputed.status_code == 201 and again.status_code == 409


def test_a_traveller_sends_money_abroad_and_enables_their_card(sandbox: RunningSandbox) -> None:
    customer = holder(
        sandbox,
        f"{HAS_CNY_ACCOUNT} AND c.segment <> 'private' AND EXISTS (SELECT 1 FROM cards k"
        " WHERE k.customer_id = c.id AND k.status = 'active')",
        2,
    )
    account = fund_cny_account(sandbox, customer, "10000.00")
    card = sandbox.scalar(
        "SELECT id FROM cards WHERE customer_id = :c AND status = 'active'", c=customer
    )
    token = sandbox.step_up_token(customer, "move_money")
    body = {"send_amount": "1000.00", "send_currency": "CNY", "receive_currency": "USD"}
    with sandbox.client(customer, **{"X-Verification-Token": token}) as http:
        rates = http.get(f"{ME}/fx/rates").json()["rates"]
        quote = http.post(f"{ME}/remittance-quotes", json=body).json()
        sent = http.post(
            f"{ME}/remittances",
            headers={"Idempotency-Key": str(uuid.uuid4())},
            json={
                **body,
                "from_account": account,
                "beneficiary_name": "John Smith",
                "beneficiary_country": "US",
                "beneficiary_account": "US12345678901234",
            },
        ).json()
        status = http.get(f"{ME}/remittances/{sent['remittance_id']}").json()
        travel = http.post(
            f"{ME}/cards/{card}/travel-usage",
            json={"regions": ["US", "CA"], "until": str(date.today() + timedelta(days=20))},
        ).json()
        tax = http.get(f"{ME}/tax-refunds").json()["tax_refunds"]
    assert Decimal(quote["receive"]["amount"]) == (
        Decimal("1000.00") * Decimal(rates["USD"])
    ).quantize(Decimal("0.01"))
    assert status["status"] == "submitted" and status["receive"] == quote["receive"]
    assert sandbox.balance(account) == Decimal("10000.00") - Decimal(quote["total_debit"]["amount"])
    assert travel["travel"]["regions"] == ["CA", "US"]
    assert {(t["tax_refund_id"], t["merchant"], t["status"]) for t in tax} == {
        (row.id, row.merchant, row.status)
        for row in sandbox.rows(
            "SELECT id, merchant, status FROM tax_refunds WHERE customer_id = :c", c=customer
        )
    }


def test_fraud_goes_to_a_person_and_a_password_reset_link_reaches_the_phone(
    sandbox: RunningSandbox,
) -> None:
    customer = holder(sandbox, "1=1", 3)
    token = sandbox.step_up_token(customer, "credential_change")
    with sandbox.client(customer) as http:
        case = http.post(
            f"{ME}/fraud-reports", json={"description": "Someone used my card in Paris"}
        ).json()
        reset = http.post(
            f"{ME}/password-change", json={}, headers={"X-Verification-Token": token}
        ).json()
        inbox = http.get(f"/sandbox/devices/{customer}/messages").json()["messages"]
        events = http.get(f"{ME}/events").json()["events"]
        profile = http.get(ME).json()
    assert case["needs_human"] is True
    assert reset["reset_link_sent_to"] == profile["phone"]
    assert "reset-password" in inbox[0]["body"]
    stored = sandbox.rows(
        "SELECT full_name, preferred_language FROM customers WHERE id = :c", c=customer
    )[0]
    assert (profile["name"], profile["preferred_language"]) == tuple(stored)
    newest = sandbox.rows(
        "SELECT id, kind FROM customer_events WHERE customer_id = :c"
        " ORDER BY occurred_at DESC, id LIMIT 10",
        c=customer,
    )
    assert [(e["event_id"], e["kind"]) for e in events] == [tuple(row) for row in newest]
