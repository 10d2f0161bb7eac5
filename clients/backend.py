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

Reads may be kept, by a client given a ``ReadCache``, while its caller has said which kept
reads may answer (``keep_reads_for``, set for each action call by the action server): within
one turn no resource is fetched twice, and the customer's profile and what they hold (read
with ``session_wide``) serve a whole session. Every call that may change what a customer holds
drops all of that customer's kept reads, whatever its outcome (a write that timed out may
still have happened). Reads are kept under the customer id the call was made for, the same id
sent to the back end, so one customer's reads can never answer another's.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import httpx

DEFAULT_TIMEOUT_SECONDS = 3.0
DEFAULT_MAX_RETRIES = 2
DEFAULT_BACKOFF_SECONDS = 0.2
# What a customer waits at most for one call, retries included: one attempt's timeout, and what
# is left of this for a retry. Without it, three timed-out reads of 3 s would keep them ~9.6 s.
DEFAULT_DEADLINE_SECONDS = 5.0
RETRYABLE_STATUSES = frozenset({502, 503, 504})
PROFILE_PATH = "/v1/customers/me"


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


@dataclass(frozen=True)
class ReadScope:
    """Which kept reads a read may be answered from.

    ``turn`` names the customer message being answered (with its conversation): everything
    read while answering it is reused for the rest of it. ``holdings`` changes whenever what
    the customer holds may have changed, as every process that answers the conversation can
    tell (the caller derives it from the conversation): a read kept before is never reused.
    """

    turn: str
    holdings: str


@dataclass
class _KeptRead:
    body: str
    turn: str
    holdings: str
    stored_at: float


# Set for each action call; child tasks inherit it, and so do later requests of the same task
# until it is set again.
_read_scope: ContextVar[ReadScope | None] = ContextVar("backend_read_scope", default=None)


def keep_reads_for(scope: ReadScope | None) -> None:
    """Which kept reads may answer the calls made from here on in this task (None: none)."""
    _read_scope.set(scope)


class ReadCache:
    """Reads kept per customer, bounded in customers (least recently served dropped) and age:
    a profile-like read serves the session for ``session_seconds`` when nothing the assistant
    did changed it."""

    def __init__(
        self,
        max_customers: int,
        session_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_customers = max_customers
        self.session_seconds = session_seconds
        self._clock = clock
        self._kept: OrderedDict[str, dict[str, _KeptRead]] = OrderedDict()
        # Bumped whenever a customer's reads are dropped: a read that was under way then is
        # not kept, as it may have been answered before the change. As bounded as the reads.
        self._generations: OrderedDict[str, int] = OrderedDict()

    def generation(self, customer_id: str) -> int:
        return self._generations.get(customer_id, 0)

    def get(
        self, customer_id: str, resource: str, scope: ReadScope, session_wide: bool
    ) -> tuple[bool, Any]:
        """(True, a fresh copy of the kept body) when one may answer; (False, None) otherwise."""
        kept = self._kept.get(customer_id, {}).get(resource)
        if kept is None or kept.holdings != scope.holdings:
            return False, None
        fresh = session_wide and self._clock() - kept.stored_at < self.session_seconds
        if kept.turn != scope.turn and not fresh:
            return False, None
        self._kept.move_to_end(customer_id)
        return True, json.loads(kept.body)

    def put(
        self, customer_id: str, resource: str, scope: ReadScope, body: Any, generation: int
    ) -> None:
        if generation != self.generation(customer_id):
            return
        now = self._clock()
        reads = self._kept.setdefault(customer_id, {})
        for name, kept in list(reads.items()):
            if kept.holdings != scope.holdings or now - kept.stored_at >= self.session_seconds:
                del reads[name]
        reads[resource] = _KeptRead(json.dumps(body), scope.turn, scope.holdings, now)
        self._kept.move_to_end(customer_id)
        while len(self._kept) > self.max_customers:
            self._kept.popitem(last=False)

    def forget(self, customer_id: str) -> None:
        self._kept.pop(customer_id, None)
        self._generations[customer_id] = self.generation(customer_id) + 1
        self._generations.move_to_end(customer_id)
        while len(self._generations) > self.max_customers:
            self._generations.popitem(last=False)

    def __len__(self) -> int:
        return len(self._kept)


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
        read_cache: ReadCache | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.read_cache = read_cache
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
        changes_holdings: bool | None = None,
        session_wide: bool = False,
    ) -> Any:
        """One request for ``customer_id``.

        A GET is answered from a kept read where one may answer (``keep_reads_for``): one made
        in the same turn, or with ``session_wide`` (the profile and what the customer holds) one
        made since their holdings last changed, while it is young enough. ``changes_holdings``
        (by default: any method but GET) drops the customer's kept reads once the request is
        over, whatever its outcome.
        """
        if not customer_id:
            raise ValueError("customer_id must come from the conversation's verified binding")
        method = method.upper()
        scope = _read_scope.get()
        if method == "GET" and scope is not None and self.read_cache is not None:
            return await self._kept_read(customer_id, path, params, scope, session_wide)
        if changes_holdings is None:
            changes_holdings = method != "GET"
        try:
            return await self._request(
                customer_id, method, path, json, params, idempotency_key, verification_token
            )
        finally:
            if changes_holdings and self.read_cache is not None:
                self.read_cache.forget(customer_id)

    async def _kept_read(
        self,
        customer_id: str,
        path: str,
        params: dict[str, Any] | None,
        scope: ReadScope,
        session_wide: bool,
    ) -> Any:
        assert self.read_cache is not None
        resource = f"{path}?{urlencode(sorted(params.items()))}" if params else path
        found, body = self.read_cache.get(customer_id, resource, scope, session_wide)
        if found:
            return body
        generation = self.read_cache.generation(customer_id)
        body = await self._request(customer_id, "GET", path, None, params, None, None)
        self.read_cache.put(customer_id, resource, scope, body, generation)
        return body

    async def _request(
        self,
        customer_id: str,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        params: dict[str, Any] | None,
        idempotency_key: str | None,
        verification_token: str | None,
    ) -> Any:
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
                    self._http.request(method, path, json=body, params=params, headers=headers),
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
        return await self.call(customer_id, "GET", PROFILE_PATH, session_wide=True)

    async def start_verification(self, customer_id: str, purpose: str) -> dict[str, Any]:
        return await self.call(
            customer_id,
            "POST",
            "/v1/verification",
            json={"purpose": purpose},
            changes_holdings=False,
        )

    async def confirm_verification(self, customer_id: str, verification_id: str, code: str) -> str:
        body = await self.call(
            customer_id,
            "POST",
            f"/v1/verification/{_segment(verification_id)}/confirm",
            json={"code": code},
            changes_holdings=False,
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

    async def make_event(self, customer_id: str, kind: str) -> dict[str, Any]:
        """Makes a back-end event happen to the customer now (a failed payment, a declined
        card, a bill due tomorrow, a refund that arrived, a suspicious payment), with the state
        behind it; the event as the back end lists it.

        The sandbox's stand-in for things happening, for demos and tests: a real back end's
        events happen on their own.
        """
        return await self.call(
            customer_id,
            "POST",
            "/sandbox/events",
            json={"customer_id": customer_id, "kind": kind},
        )


def _segment(value: str) -> str:
    """Escape a typed reference so it stays one path segment ("../x" cannot reach another path)."""
    if value.strip(".") == "":
        raise BackendError("not_found", "invalid_reference", "no such reference")
    return quote(value, safe="")
