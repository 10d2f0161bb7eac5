"""Injected latency, errors and outages, per endpoint, for testing how the assistant copes."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from services.sandbox.app import create_app
from services.sandbox.config import Settings
from tests.sandbox.conftest import RunningSandbox

WALLET = "/v1/customers/me/wallet"


@pytest.fixture
def faults(sandbox: RunningSandbox) -> Iterator[RunningSandbox]:
    yield sandbox
    with sandbox.client() as http:
        http.delete("/sandbox/faults")


def inject(sandbox: RunningSandbox, *rules: dict) -> None:
    with sandbox.client() as http:
        response = http.put("/sandbox/faults", json={"rules": list(rules)})
    assert response.status_code == 200, response.text


def test_an_outage_makes_one_endpoint_unavailable_until_cleared(faults: RunningSandbox) -> None:
    inject(faults, {"match": f"{WALLET}*", "outage": True})
    with faults.client("C00001") as http:
        down = http.get(WALLET)
        other = http.get("/v1/customers/me/credit-score")
        http.delete("/sandbox/faults")
        back = http.get("/v1/customers/me")
    assert down.status_code == 503
    assert down.json()["error"]["code"] == "service_unavailable"
    assert other.status_code == 200
    assert back.status_code == 200


def test_latency_delays_the_answer(faults: RunningSandbox) -> None:
    inject(faults, {"match": "get_profile", "latency_ms": 400})
    with faults.client("C00001") as http:
        started = time.perf_counter()
        response = http.get("/v1/customers/me")
        elapsed = time.perf_counter() - started
    assert response.status_code == 200
    assert elapsed >= 0.4


def test_an_error_rate_fails_that_share_of_calls_reproducibly(faults: RunningSandbox) -> None:
    def run() -> list[int]:
        inject(faults, {"match": "/v1/customers/me/credit-score", "error_rate": 0.5})
        with faults.client("C00001") as http:
            return [http.get("/v1/customers/me/credit-score").status_code for _ in range(20)]

    first, second = run(), run()
    assert first == second
    assert set(first) == {200, 503}
    inject(faults, {"match": "/v1/customers/me/credit-score", "error_rate": 1.0})
    with faults.client("C00001") as http:
        assert {http.get("/v1/customers/me/credit-score").status_code for _ in range(5)} == {503}


def test_rules_can_target_one_method_and_never_block_the_controls(faults: RunningSandbox) -> None:
    inject(faults, {"match": "/*", "methods": ["POST"], "outage": True})
    with faults.client("C00001") as http:
        assert http.get(WALLET).status_code == 200
        assert http.post("/v1/verification", json={"purpose": "move_money"}).status_code == 503
        assert http.get("/sandbox/faults").json()["rules"][0]["methods"] == ["POST"]


def test_faults_can_be_set_at_start_from_the_environment() -> None:
    settings = Settings.from_environment(
        {
            "SANDBOX_FAULTS": '[{"match": "get_wallet", "latency_ms": 250, "error_rate": 0.1}]',
            "SANDBOX_SERVICE_SECRET": "test-only-service-secret-of-length",
        }
    )
    app = create_app(settings)
    [rule] = app.state.faults.rules
    assert (rule.match, rule.latency_ms, rule.error_rate, rule.outage) == (
        "get_wallet",
        250,
        0.1,
        False,
    )
