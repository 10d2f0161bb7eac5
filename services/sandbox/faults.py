"""Fault injection for tests and demos: latency, random errors and outages per endpoint.

A rule matches a request by path pattern (glob, starting with "/") or by operation id (the route
function's name, e.g. "create_transfer"). The first matching rule applies. /sandbox/* control
endpoints are never faulted, so a test can always clear what it injected.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import random
from typing import Any

from pydantic import BaseModel, Field, confloat, conint
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

CONTROL_PREFIX = "/sandbox/"


class FaultRule(BaseModel):
    match: str = Field(
        ..., description='Path glob such as "/v1/customers/me/wallet*" or an operation id'
    )
    methods: list[str] | None = Field(None, description="Only these HTTP methods; all when omitted")
    latency_ms: conint(ge=0, le=120_000) = 0  # type: ignore[valid-type]
    error_rate: confloat(ge=0, le=1) = 0  # type: ignore[valid-type]
    outage: bool = False

    def applies_to(self, method: str, path: str, operation_id: str | None) -> bool:
        if self.methods and method.upper() not in {m.upper() for m in self.methods}:
            return False
        if self.match.startswith("/"):
            return fnmatch.fnmatchcase(path, self.match)
        return self.match == operation_id


class FaultSet(BaseModel):
    rules: list[FaultRule] = Field(default_factory=list)


class FaultInjector:
    def __init__(self, seed: int, rules: list[FaultRule] | None = None) -> None:
        self._seed = seed
        self.replace(rules or [])

    def replace(self, rules: list[FaultRule]) -> None:
        self.rules = list(rules)
        # Re-seeding on every change makes a given error_rate produce the same sequence each run.
        self._random = random.Random(self._seed)

    def rule_for(self, method: str, path: str, operation_id: str | None) -> FaultRule | None:
        return next((r for r in self.rules if r.applies_to(method, path, operation_id)), None)

    def should_fail(self, rule: FaultRule) -> bool:
        return rule.outage or (rule.error_rate > 0 and self._random.random() < rule.error_rate)


def rules_from_json(raw: list[dict[str, Any]] | str) -> list[FaultRule]:
    items = json.loads(raw) if isinstance(raw, str) else raw
    return [FaultRule.parse_obj(item) for item in items]


class FaultInjectionMiddleware:
    def __init__(self, app: ASGIApp, injector: FaultInjector) -> None:
        self.app = app
        self.injector = injector

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        rule = self.injector.rule_for(scope["method"], scope["path"], _operation_id(scope))
        if rule is None:
            await self.app(scope, receive, send)
            return
        if rule.latency_ms:
            await asyncio.sleep(rule.latency_ms / 1000)
        if self.injector.should_fail(rule):
            await _send_unavailable(send, "outage" if rule.outage else "injected_error")
            return
        await self.app(scope, receive, send)


def _operation_id(scope: Scope) -> str | None:
    for route in scope["app"].router.routes:
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return getattr(route, "name", None)
    return None


async def _send_unavailable(send: Send, cause: str) -> None:
    body = json.dumps(
        {
            "error": {
                "code": "service_unavailable",
                "message": "back end unavailable",
                "cause": cause,
            }
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [(b"content-type", b"application/json"), (b"retry-after", b"5")],
        }
    )
    await send({"type": "http.response.body", "body": body})
