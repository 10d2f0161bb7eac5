"""The one client for the product back ends, with one error type.

The action server makes every operation's call through it (actions/operation_runner.py), and
reads profiles and completes step-up verification with it; the web chat page checks a customer
at sign-in with it; the web chat page, the terminal chat (tooling/chat.py) and
tooling/try_operation.py read the sandbox's simulated phone with it.

Every call is made on behalf of one customer, whose id the caller takes from the channel's verified
sender binding (or a sign-in it checked), never from anything the customer typed. Calls never block
the event loop (httpx async), always have a timeout, and are retried only when a retry cannot move
money twice: GETs and requests that carry an Idempotency-Key. Retries share one deadline, so a
customer waits at most DEFAULT_DEADLINE_SECONDS for any call however the back end fails. The
caller passes the address and secret from its own settings object.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

import httpx

DEFAULT_TIMEOUT_SECONDS = 3.0
DEFAULT_MAX_RETRIES = 2
DEFAULT_BACKOFF_SECONDS = 0.2
# What a customer waits at most for one call, retries included: one attempt's timeout, and what
# is left of this for a retry. Without it, three timed-out reads of 3 s would keep them ~9.6 s.
DEFAULT_DEADLINE_SECONDS = 5.0
RETRYABLE_STATUSES = frozenset({502, 503, 504})


class BackendError(Exception):
    """Anything that went wrong talking to the back end.

    kind: "unavailable" (timeout, connection failure, 5xx: apologise, offer retry or a person),
    "not_found", "verification_required", "rejected" (the back end said no: limits, funds, state),
    "conflict" (already done, idempotency key reused), "unauthorized" (our own configuration).
    """

    def __init__(
        self,
        kind: str,
        code: str,
        message: str,
        status: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{kind}: {code}: {message}")
        self.kind = kind
        self.code = code
        self.message = message
        self.status = status
        self.details = details or {}

    @property
    def retry_later_may_help(self) -> bool:
        return self.kind == "unavailable"


def _kind_for(status: int, code: str) -> str:
    if status == 401:
        return "unauthorized"
    if status == 404:
        return "not_found"
    if status == 403 and code == "verification_required":
        return "verification_required"
    if status == 409:
        return "conflict"
    if status >= 500:
        return "unavailable"
    return "rejected"


class BackendClient:
    def __init__(
        self,
        base_url: str,
        service_secret: str,
        *,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        max_retries: int = DEFAULT_MAX_RETRIES,
        backoff_seconds: float = DEFAULT_BACKOFF_SECONDS,
        deadline_seconds: float = DEFAULT_DEADLINE_SECONDS,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self.backoff_seconds = backoff_seconds
        self.deadline_seconds = deadline_seconds
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout_seconds),
            headers={"Authorization": f"Bearer {service_secret}"},
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> BackendClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def call(
        self,
        customer_id: str,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        verification_token: str | None = None,
    ) -> Any:
        if not customer_id:
            raise ValueError("customer_id must come from the conversation's verified binding")
        method = method.upper()
        headers = {"X-Customer-Id": customer_id}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        if verification_token:
            headers["X-Verification-Token"] = verification_token
        # A POST without an idempotency key may have reached the back end before failing;
        # repeating it could move money twice, so only safe requests are retried.
        attempts = 1 + (self.max_retries if method == "GET" or idempotency_key else 0)
        last_error: BackendError | None = None
        deadline = asyncio.get_running_loop().time() + self.deadline_seconds
        for attempt in range(attempts):
            if attempt:
                backoff = self.backoff_seconds * 2 ** (attempt - 1)
                if asyncio.get_running_loop().time() + backoff >= deadline:
                    break
                await asyncio.sleep(backoff)
            remaining = deadline - asyncio.get_running_loop().time()
            try:
                response = await asyncio.wait_for(
                    self._http.request(method, path, json=json, params=params, headers=headers),
                    remaining,
                )
            except (httpx.TimeoutException, asyncio.TimeoutError):
                last_error = BackendError(
                    "unavailable", "timeout", "the back end did not answer in time"
                )
                continue
            except httpx.TransportError as exc:
                last_error = BackendError(
                    "unavailable", "connection_failed", str(exc) or type(exc).__name__
                )
                continue
            if response.status_code in RETRYABLE_STATUSES:
                last_error = self._error_from(response)
                continue
            if response.is_success:
                return response.json()
            raise self._error_from(response)
        assert last_error is not None
        raise last_error

    @staticmethod
    def _error_from(response: httpx.Response) -> BackendError:
        try:
            error = response.json().get("error", {})
        except ValueError:
            error = {}
        code = error.get("code") or f"http_{response.status_code}"
        details = {k: v for k, v in error.items() if k not in ("code", "message")}
        return BackendError(
            _kind_for(response.status_code, code),
            code,
            error.get("message") or response.reason_phrase,
            response.status_code,
            details,
        )

    # -- calls made by name in more than one place ----------------------------------------------
    async def get_profile(self, customer_id: str) -> dict[str, Any]:
        return await self.call(customer_id, "GET", "/v1/customers/me")

    async def start_verification(self, customer_id: str, purpose: str) -> dict[str, Any]:
        return await self.call(customer_id, "POST", "/v1/verification", json={"purpose": purpose})

    async def confirm_verification(self, customer_id: str, verification_id: str, code: str) -> str:
        body = await self.call(
            customer_id,
            "POST",
            f"/v1/verification/{_segment(verification_id)}/confirm",
            json={"code": code},
        )
        return body["verification_token"]

    async def phone_messages(
        self, customer_id: str, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """The texts the sandbox "sent" to the customer's phone, newest first (one-time codes).

        The sandbox's stand-in for an SMS gateway, served in the embedded profile only: a real
        back end has no such inbox.
        """
        params = {"limit": limit} if limit is not None else None
        body = await self.call(
            customer_id, "GET", f"/sandbox/devices/{_segment(customer_id)}/messages", params=params
        )
        return list(body["messages"])


def _segment(value: str) -> str:
    """Escape a typed reference so it stays one path segment ("../x" cannot reach another path)."""
    if value.strip(".") == "":
        raise BackendError("not_found", "invalid_reference", "no such reference")
    return quote(value, safe="")
