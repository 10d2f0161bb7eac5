"""What an attacker or a careless caller tries: dev secrets outside the demo profile, the phone
inbox, amounts that are not money, bodies that are not objects, one code for two transfers."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from common.secrets import InsecureSetting
from services.sandbox.app import create_app
from services.sandbox.config import Settings
from tests.sandbox.conftest import RunningSandbox
from tests.sandbox.test_idempotency import payer, transfer_body

ME = "/v1/customers/me"
INBOX = "/sandbox/devices/{customer_id}/messages"
REAL_SECRET = "a-real-secret-from-the-secret-store"
BAD_AMOUNTS = [
    "1e30",
    "NaN",
    "Infinity",
    "-Infinity",
    "-0",
    "-5.00",
    "0",
    "9" * 40,
    "10.001",
    "1_000",
    "\u0661\u0662",
    " 10",
    "10,00",
    "",
    "0x10",
    1e3,
    True,
    None,
]


@pytest.mark.parametrize("value", [None, "", "dev-only-sandbox-secret", "short"])
def test_outside_the_embedded_profile_a_weak_secret_stops_the_sandbox(value: str | None) -> None:
    environ = {"DEPLOYMENT_PROFILE": "production"}
    if value is not None:
        environ["SANDBOX_SERVICE_SECRET"] = value
    with pytest.raises(InsecureSetting, match="SANDBOX_SERVICE_SECRET"):
        Settings.from_environment(environ)


def test_with_a_real_secret_the_production_sandbox_starts_without_the_phone_inbox() -> None:
    settings = Settings.from_environment(
        {"DEPLOYMENT_PROFILE": "production", "SANDBOX_SERVICE_SECRET": REAL_SECRET}
    )
    assert settings.service_secret == REAL_SECRET and not settings.device_inbox
    assert INBOX not in create_app(settings).openapi()["paths"]


def test_the_embedded_profile_runs_on_its_dev_secret_with_the_phone_inbox() -> None:
    settings = Settings.from_environment(
        {"DEPLOYMENT_PROFILE": "embedded", "SANDBOX_SERVICE_SECRET": "dev-only-sandbox-secret"}
    )
    assert settings.device_inbox
    assert INBOX in create_app(settings).openapi()["paths"]


@pytest.mark.parametrize("amount", BAD_AMOUNTS, ids=repr)
def test_an_amount_that_is_not_plain_money_is_a_422(
    sqlite_sandbox: RunningSandbox, amount: object
) -> None:
    customer, account = payer(sqlite_sandbox, skip=20)
    headers = {
        "Idempotency-Key": f"bad-{uuid.uuid4()}",
        **sqlite_sandbox.verified(customer, "move_money"),
    }
    with sqlite_sandbox.client(customer, **headers) as http:
        reply = http.post(f"{ME}/transfers", json={**transfer_body(account), "amount": amount})
    assert reply.status_code == 422, reply.text
    error = reply.json()["error"]
    assert error["code"] == "invalid_request" and error["message"]
    assert sqlite_sandbox.balance(account) == Decimal("1000.00")


@pytest.mark.parametrize("body", [b"[1,2,3]", b'"hello"', b"", b"null", b"42", b"{", b"\xff"])
def test_a_body_that_is_not_a_json_object_is_a_4xx(
    sqlite_sandbox: RunningSandbox, body: bytes
) -> None:
    customer, account = payer(sqlite_sandbox, skip=21)
    with sqlite_sandbox.client(customer) as http:
        for path in (f"{ME}/transfers", "/v1/verification", f"{ME}/remittance-quotes"):
            reply = http.post(
                path,
                content=body,
                headers={
                    "Content-Type": "application/json",
                    "Idempotency-Key": f"nb-{uuid.uuid4()}",
                    **sqlite_sandbox.verified(customer, "move_money"),
                },
            )
            assert 400 <= reply.status_code < 500, (path, reply.status_code, reply.text)
            assert reply.json()["error"]["code"]


def test_one_code_cannot_pay_two_different_transfers(sandbox: RunningSandbox) -> None:
    customer, account = payer(sandbox, skip=22)
    token = {"X-Verification-Token": sandbox.step_up_token(customer, "move_money")}
    first_key = f"one-{uuid.uuid4()}"
    with sandbox.client(customer, **token) as http:
        first = http.post(
            f"{ME}/transfers",
            json=transfer_body(account, "10.00"),
            headers={"Idempotency-Key": first_key},
        )
        second = http.post(
            f"{ME}/transfers",
            json=transfer_body(account, "20.00"),
            headers={"Idempotency-Key": f"two-{uuid.uuid4()}"},
        )
        replay = http.post(
            f"{ME}/transfers",
            json=transfer_body(account, "10.00"),
            headers={"Idempotency-Key": first_key},
        )
    assert first.status_code == 201, first.text
    assert second.status_code == 403
    assert second.json()["error"]["code"] == "verification_required"
    # The same request again, same key, same token: the original answer, money moved once.
    assert replay.status_code == 201 and replay.json() == first.json()
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert sandbox.balance(account) == Decimal("990.00")


def test_a_refused_request_keeps_its_answer_and_blocks_no_new_request(
    sandbox: RunningSandbox,
) -> None:
    customer, account = payer(sandbox, skip=23)
    refused_key = f"refused-{uuid.uuid4()}"
    token = sandbox.verified(customer, "move_money")
    with sandbox.client(customer) as http:
        refused = http.post(
            f"{ME}/transfers",
            json=transfer_body(account, "5000.00"),
            headers={"Idempotency-Key": refused_key, **token},
        )
        replayed = http.post(
            f"{ME}/transfers",
            json=transfer_body(account, "5000.00"),
            headers={"Idempotency-Key": refused_key, **token},
        )
        # A new request with a new key: the refusal bound nothing to it, and the code that
        # moved nothing still authorises one request.
        smaller = http.post(
            f"{ME}/transfers",
            json=transfer_body(account, "50.00"),
            headers={"Idempotency-Key": f"new-{uuid.uuid4()}", **token},
        )
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "insufficient_funds"
    assert replayed.status_code == 422 and replayed.json() == refused.json()
    assert smaller.status_code == 201, smaller.text
    assert sandbox.balance(account) == Decimal("950.00")


def test_an_unexpected_failure_says_nothing_internal(sqlite_sandbox: RunningSandbox) -> None:
    customer, _ = payer(sqlite_sandbox, skip=24)
    with sqlite_sandbox.client(customer) as http:
        reply = http.get(f"{ME}/wallet/transactions", params={"page": "9" * 30})
    assert reply.status_code == 422
    assert "Traceback" not in reply.text and "sqlalchemy" not in reply.text.lower()
