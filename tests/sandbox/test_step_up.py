"""Sensitive operations need a one-time code sent to the customer's phone, confirmed first."""

from __future__ import annotations

from tests.sandbox.conftest import RunningSandbox

ME = "/v1/customers/me"


def card_holder(sandbox: RunningSandbox, skip: int = 0) -> tuple[str, str]:
    rows = sandbox.rows(
        "SELECT k.customer_id, k.id FROM cards k JOIN customers c ON c.id = k.customer_id"
        " WHERE k.status = 'active' AND NOT c.locked ORDER BY k.customer_id DESC"
    )
    return rows[skip][0], rows[skip][1]


def start(sandbox: RunningSandbox, customer: str, purpose: str = "card_control") -> str:
    with sandbox.client(customer) as http:
        response = http.post("/v1/verification", json={"purpose": purpose})
    assert response.status_code == 201, response.text
    return response.json()["verification_id"]


def confirm(sandbox: RunningSandbox, customer: str, verification_id: str, code: str):
    with sandbox.client(customer) as http:
        return http.post(f"/v1/verification/{verification_id}/confirm", json={"code": code})


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_freezing_a_card_without_verification_is_refused(sandbox: RunningSandbox) -> None:
    customer, card = card_holder(sandbox)
    with sandbox.client(customer) as http:
        response = http.post(f"{ME}/cards/{card}/freeze")
    assert response.status_code == 403
    assert response.json()["error"] == {
        "code": "verification_required",
        "message": "this operation needs a fresh one-time-code verification",
        "purpose": "card_control",
    }


def test_a_customer_who_confirms_the_code_from_their_phone_can_freeze_their_card(
    sandbox: RunningSandbox,
) -> None:
    customer, card = card_holder(sandbox, skip=1)
    verification_id = start(sandbox, customer)
    with sandbox.client() as http:
        inbox = http.get(f"/sandbox/devices/{customer}/messages").json()["messages"]
    code = inbox[0]["code"]
    assert code in inbox[0]["body"] and len(code) == 6
    confirmed = confirm(sandbox, customer, verification_id, code)
    assert confirmed.status_code == 200
    token = confirmed.json()["verification_token"]
    with sandbox.client(customer, **{"X-Verification-Token": token}) as http:
        frozen = http.post(f"{ME}/cards/{card}/freeze")
        spent = http.post(f"{ME}/cards/{card}/unfreeze")
        unfrozen = http.post(
            f"{ME}/cards/{card}/unfreeze", headers=sandbox.verified(customer, "card_control")
        )
    assert frozen.json()["status"] == "frozen"
    assert spent.status_code == 403
    assert spent.json()["error"]["code"] == "verification_required"
    assert unfrozen.json()["status"] == "active"
    assert confirm(sandbox, customer, verification_id, code).status_code == 409


def test_a_wrong_code_counts_and_three_wrong_codes_end_the_verification(
    sandbox: RunningSandbox,
) -> None:
    customer, _ = card_holder(sandbox, skip=2)
    verification_id = start(sandbox, customer)
    code = sandbox.device_code(customer)
    first = confirm(sandbox, customer, verification_id, wrong(code))
    assert first.status_code == 403
    assert first.json()["error"]["code"] == "verification_code_invalid"
    assert first.json()["error"]["attempts_remaining"] == 2
    confirm(sandbox, customer, verification_id, wrong(code))
    third = confirm(sandbox, customer, verification_id, wrong(code))
    assert third.json()["error"]["code"] == "verification_attempts_exhausted"
    right_too_late = confirm(sandbox, customer, verification_id, code)
    assert right_too_late.json()["error"]["code"] == "verification_attempts_exhausted"


def test_an_expired_code_is_refused(sandbox: RunningSandbox) -> None:
    customer, _ = card_holder(sandbox, skip=3)
    verification_id = start(sandbox, customer)
    code = sandbox.device_code(customer)
    sandbox.execute(
        "UPDATE verifications SET expires_at = created_at WHERE id = :id", id=verification_id
    )
    response = confirm(sandbox, customer, verification_id, code)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "verification_expired"


def test_a_token_works_only_for_its_customer_purpose_and_lifetime(sandbox: RunningSandbox) -> None:
    customer, card = card_holder(sandbox, skip=4)
    other_customer, _ = card_holder(sandbox, skip=5)
    others_token = sandbox.step_up_token(other_customer, "card_control")
    wrong_purpose = sandbox.step_up_token(customer, "move_money")
    expiring = sandbox.step_up_token(customer, "card_control")
    sandbox.execute(
        "UPDATE verification_tokens SET expires_at = '2000-01-01 00:00:00' WHERE customer_id = :c"
        " AND purpose = 'card_control'",
        c=customer,
    )
    with sandbox.client(customer) as http:
        for token in (others_token, wrong_purpose, expiring, "made-up-token"):
            response = http.post(
                f"{ME}/cards/{card}/freeze", headers={"X-Verification-Token": token}
            )
            assert response.status_code == 403
            assert response.json()["error"]["code"] == "verification_required"
    assert sandbox.scalar("SELECT status FROM cards WHERE id = :id", id=card) == "active"


def test_a_locked_account_cannot_start_a_verification(sandbox: RunningSandbox) -> None:
    # Seeded by rule (services/sandbox/README.md): the customers ending in 31, 32 and 33.
    for customer, (reason, self_service) in {
        "C00031": ("too_many_password_attempts", True),
        "C00032": ("suspected_fraud", False),
        "C00033": ("identity_documents_expired", True),
    }.items():
        with sandbox.client(customer) as http:
            response = http.post("/v1/verification", json={"purpose": "move_money"})
            status = http.get(f"{ME}/security").json()
        assert response.status_code == 403, customer
        assert response.json()["error"] == {
            "code": "account_locked",
            "message": "the account is locked",
            "reason": reason,
        }
        assert (status["locked"], status["reason"]) == (True, reason)
        assert status["unlock_path"]["self_service"] is self_service
        assert status["unlock_path"]["steps"]
        assert (
            sandbox.scalar("SELECT count(*) FROM verifications WHERE customer_id = :c", c=customer)
            == 0
        )
