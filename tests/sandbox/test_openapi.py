"""The OpenAPI description is served and covers every product line."""

from __future__ import annotations

from tests.sandbox.conftest import RunningSandbox

PRODUCT_TAGS = {
    "customers",
    "verification",
    "payments",
    "bank",
    "credit",
    "insurance",
    "wealth",
    "score",
    "international",
    "security",
    "sandbox-only",
}
MONEY_MOVING = [
    ("post", "/v1/customers/me/transfers"),
    ("post", "/v1/customers/me/credit-line/bills/{bill_id}/repayments"),
    ("post", "/v1/customers/me/loans"),
    ("post", "/v1/customers/me/loans/{loan_id}/early-repayments"),
    ("post", "/v1/customers/me/fund/subscriptions"),
    ("post", "/v1/customers/me/fund/redemptions"),
    ("post", "/v1/customers/me/remittances"),
]


def test_openapi_is_served_and_covers_every_router(sandbox: RunningSandbox) -> None:
    with sandbox.client() as http:
        spec = http.get("/openapi.json").json()
        docs = http.get("/docs")
    assert docs.status_code == 200
    tags = {tag for ops in spec["paths"].values() for op in ops.values() for tag in op["tags"]}
    assert PRODUCT_TAGS <= tags
    assert len(spec["paths"]) >= 50
    for method, path in MONEY_MOVING:
        headers = {
            p["name"].lower()
            for p in spec["paths"][path][method]["parameters"]
            if p["in"] == "header"
        }
        assert {"idempotency-key", "x-verification-token", "x-customer-id"} <= headers, path
    amount = spec["components"]["schemas"]["TransferRequest"]["properties"]["amount"]
    assert amount["type"] == "string"
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
