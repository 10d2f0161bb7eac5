"""A customer can never read or change another customer's data, whatever number they type."""

from __future__ import annotations

import re
from datetime import date, timedelta

import httpx
import pytest

from tests.sandbox.conftest import RunningSandbox

ME = "/v1/customers/me"


def victim_and_attacker(sandbox: RunningSandbox) -> tuple[str, str]:
    rich = sandbox.customers(
        "EXISTS (SELECT 1 FROM cards k WHERE k.customer_id = c.id AND k.status = 'active')"
        " AND EXISTS (SELECT 1 FROM policies p WHERE p.customer_id = c.id AND p.status = 'active')"
        " AND EXISTS (SELECT 1 FROM wallet_transactions t WHERE t.customer_id = c.id)"
    )
    attackers = sandbox.customers(
        "EXISTS (SELECT 1 FROM bank_accounts a WHERE a.customer_id = c.id AND a.currency = 'CNY')"
    )
    victim = rich[0]
    return victim, next(c for c in attackers if c != victim)


def other_customers_reference(sandbox: RunningSandbox, table: str, column: str, owner: str) -> str:
    value = sandbox.scalar(
        f"SELECT {column} FROM {table} WHERE customer_id <> :owner LIMIT 1", owner=owner
    )
    assert value is not None, f"seed data has no {table} of another customer"
    return value


def test_every_operation_rejects_a_missing_or_wrong_service_secret(sandbox: RunningSandbox) -> None:
    with httpx.Client(base_url=sandbox.base_url) as http:
        operations = http.get("/openapi.json").json()["paths"]
        for path, methods in operations.items():
            concrete = re.sub(r"\{[^}]+\}", "X1", path)
            if path == "/healthz":
                continue
            for method in methods:
                for auth in ({}, {"Authorization": "Bearer not-the-secret"}):
                    response = http.request(
                        method.upper(), concrete, headers={**auth, "X-Customer-Id": "C00001"}
                    )
                    assert response.status_code == 401, (method, path, response.text)
                    assert response.json()["error"]["code"] == "unauthenticated"


def test_a_call_must_name_an_existing_customer(sandbox: RunningSandbox) -> None:
    with sandbox.client() as http:
        assert http.get(f"{ME}/accounts").json()["error"]["code"] == "customer_required"
        unknown = http.get(f"{ME}/accounts", headers={"X-Customer-Id": "C99999"})
        assert unknown.status_code == 404


@pytest.mark.parametrize(
    ("what", "table", "column", "path"),
    [
        ("account", "bank_accounts", "account_number", ME + "/accounts/{}"),
        ("statement", "bank_accounts", "account_number", ME + "/accounts/{}/statement"),
        ("card by number", "cards", "card_number", ME + "/cards/{}"),
        ("card by id", "cards", "id", ME + "/cards/{}"),
        ("card declines", "cards", "card_number", ME + "/cards/{}/declines"),
        ("card delivery", "cards", "id", ME + "/cards/{}/delivery"),
        ("transaction", "wallet_transactions", "id", ME + "/wallet/transactions/{}"),
        (
            "payment diagnosis",
            "wallet_transactions",
            "id",
            ME + "/wallet/transactions/{}/diagnosis",
        ),
        ("refund", "refunds", "id", ME + "/wallet/refunds/{}"),
        ("transfer", "transfers", "id", ME + "/transfers/{}"),
        ("bill", "credit_bills", "id", ME + "/credit-line/bills/{}"),
        ("loan", "loans", "id", ME + "/loans/{}"),
        ("loan schedule", "loans", "id", ME + "/loans/{}/schedule"),
        ("policy", "policies", "id", ME + "/policies/{}"),
        ("claim", "claims", "id", ME + "/claims/{}"),
        ("fund order", "fund_orders", "id", ME + "/fund/orders/{}"),
        ("remittance", "remittances", "id", ME + "/remittances/{}"),
        ("tax refund", "tax_refunds", "id", ME + "/tax-refunds/{}"),
    ],
)
def test_reading_another_customers_resource_looks_like_it_does_not_exist(
    sandbox: RunningSandbox, what: str, table: str, column: str, path: str
) -> None:
    customer = sandbox.customers()[0]
    reference = other_customers_reference(sandbox, table, column, customer)
    with sandbox.client(customer) as http:
        theirs = http.get(path.format(reference))
        nonexistent = http.get(path.format("000000000000000000"))
    assert theirs.status_code == 404, (what, theirs.text)
    assert theirs.json()["error"]["code"] == nonexistent.json()["error"]["code"]


def test_changing_another_customers_resources_fails_and_changes_nothing(
    sandbox: RunningSandbox,
) -> None:
    victim, attacker = victim_and_attacker(sandbox)
    card = sandbox.rows(
        "SELECT id, card_number, status FROM cards WHERE customer_id = :c AND status = 'active'",
        c=victim,
    )[0]
    victim_account = sandbox.scalar(
        "SELECT account_number FROM bank_accounts WHERE customer_id = :c AND currency = 'CNY'",
        c=victim,
    )
    attacker_account = sandbox.scalar(
        "SELECT account_number FROM bank_accounts WHERE customer_id = :c AND currency = 'CNY'",
        c=attacker,
    )
    policy = sandbox.scalar(
        "SELECT id FROM policies WHERE customer_id = :c AND status = 'active'", c=victim
    )
    transaction = sandbox.scalar(
        "SELECT id FROM wallet_transactions WHERE customer_id = :c AND status = 'completed'",
        c=victim,
    )
    balance_before = sandbox.balance(victim_account)
    card_token = sandbox.step_up_token(attacker, "card_control")
    money_token = sandbox.step_up_token(attacker, "move_money")
    policy_token = sandbox.step_up_token(attacker, "policy_change")

    attempts = [
        ("POST", f"{ME}/cards/{card.card_number}/freeze", None, card_token),
        ("POST", f"{ME}/cards/{card.id}/report-lost", {"kind": "stolen"}, card_token),
        ("POST", f"{ME}/cards/{card.card_number}/replace", {"reason": "damaged"}, card_token),
        ("POST", f"{ME}/cards/{card.card_number}/activate", None, None),
        (
            "POST",
            f"{ME}/cards/{card.id}/travel-usage",
            {"regions": ["JP"], "until": str(date.today() + timedelta(days=10))},
            None,
        ),
        ("POST", f"{ME}/policies/{policy}/cancellation", {"reason": "not needed"}, policy_token),
        (
            "POST",
            f"{ME}/policies/{policy}/claims",
            {
                "incident_date": "2024-01-01",
                "description": "broken leg",
                "amount": "10.00",
                "currency": "CNY",
            },
            None,
        ),
        (
            "POST",
            f"{ME}/wallet/transactions/{transaction}/disputes",
            {"reason": "other", "description": "not mine"},
            None,
        ),
        (
            "POST",
            f"{ME}/transfers",
            {
                "from_account": victim_account,
                "to_account_number": attacker_account,
                "recipient_name": "me",
                "amount": "1.00",
                "currency": "CNY",
            },
            money_token,
        ),
    ]
    with sandbox.client(attacker) as http:
        for method, path, body, token in attempts:
            headers = {"Idempotency-Key": f"attack-{path[-24:]}"}
            if token:
                headers["X-Verification-Token"] = token
            response = http.request(method, path, json=body, headers=headers)
            assert response.status_code == 404, (path, response.text)

    assert sandbox.scalar("SELECT status FROM cards WHERE id = :id", id=card.id) == "active"
    assert sandbox.scalar("SELECT status FROM policies WHERE id = :id", id=policy) == "active"
    assert sandbox.balance(victim_account) == balance_before
    assert (
        sandbox.scalar("SELECT count(*) FROM disputes WHERE transaction_id = :t", t=transaction)
        == 0
    )


def test_a_customer_cannot_confirm_another_customers_verification(sandbox: RunningSandbox) -> None:
    victim, attacker = victim_and_attacker(sandbox)
    with sandbox.client(victim) as http:
        started = http.post("/v1/verification", json={"purpose": "move_money"}).json()
    code = sandbox.device_code(victim)
    with sandbox.client(attacker) as http:
        stolen = http.post(
            f"/v1/verification/{started['verification_id']}/confirm", json={"code": code}
        )
    assert stolen.status_code == 404


def test_the_device_inbox_needs_the_service_secret(sandbox: RunningSandbox) -> None:
    with sandbox.client() as http:
        response = http.get(
            "/sandbox/devices/C00001/messages", headers={"Authorization": "Bearer x"}
        )
    assert response.status_code == 401
