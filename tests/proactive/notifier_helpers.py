"""What the notifier's tests share: a real sandbox whose events are made through its admin
route, and a stand-in for Rasa's HTTP API that records the notices triggered in each
conversation as Rasa would store them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from fastapi import FastAPI, HTTPException, Request

from common.clock import utcnow
from services.sandbox.thread_server import ServerThread

SECRET = "test-only-notifier-backend-secret"
RASA_TOKEN = "test-only-notifier-rasa-token"
# Kinds the admin route can make, most customers' products first: a customer lacking what one
# is about gets 422 and the next is tried.
KINDS = ("payment_failed", "refund_arrived", "suspicious_payment", "card_declined")


@dataclass
class FakeRasa:
    """Rasa's /conversations/{id}/tracker and /trigger_intent, with the API token."""

    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    paused: set[str] = field(default_factory=set)
    forms: dict[str, str] = field(default_factory=dict)
    # Triggers answered 503 before Rasa takes them, then ones taken but answered 500.
    refuse_next: int = 0
    lose_answer_next: int = 0
    # A form that begins just before the next trigger and takes it as an answer.
    form_takes_next: str | None = None
    triggers: list[tuple[str, str]] = field(default_factory=list)
    # Where it answers, once served.
    url: str = ""

    def notices_in(self, conversation_id: str) -> list[str]:
        """The notices shown: the triggers the notice's action answered."""
        events = self.events.get(conversation_id, [])
        return [
            entity["value"]
            for event, answer in zip(events, events[1:], strict=False)
            if event["event"] == "user" and answer.get("name") == "action_send_proactive_notice"
            for entity in event["parse_data"]["entities"]
        ]

    def app(self) -> FastAPI:
        app = FastAPI()

        def check(request: Request) -> None:
            if request.query_params.get("token") != RASA_TOKEN:
                raise HTTPException(401)

        @app.get("/conversations/{conversation_id:path}/tracker")
        async def tracker(conversation_id: str, request: Request) -> dict[str, Any]:
            check(request)
            form = self.forms.get(conversation_id)
            state: dict[str, Any] = {
                "sender_id": conversation_id,
                "paused": conversation_id in self.paused,
                "active_loop": {"name": form} if form else {},
            }
            if request.query_params.get("include_events") != "NONE":
                state["events"] = self.events.get(conversation_id, [])
            return state

        @app.post("/conversations/{conversation_id:path}/trigger_intent")
        async def trigger(conversation_id: str, request: Request) -> dict[str, Any]:
            check(request)
            assert request.query_params.get("output_channel") == "latest"
            if self.refuse_next:
                self.refuse_next -= 1
                raise HTTPException(503)
            body = await request.json()
            entities = [{"entity": k, "value": v} for k, v in body["entities"].items()]
            # Rasa's policies give a form in progress every message, the trigger too.
            answered_by = self.form_takes_next or "action_send_proactive_notice"
            if self.form_takes_next:
                self.forms[conversation_id] = self.form_takes_next
                self.form_takes_next = None
            self.events.setdefault(conversation_id, []).extend(
                [
                    {
                        "event": "user",
                        "text": f"EXTERNAL: {body['name']}",
                        "parse_data": {"intent": {"name": body["name"]}, "entities": entities},
                    },
                    {"event": "action", "name": answered_by},
                ]
            )
            self.triggers.append((conversation_id, body["entities"]["event_id"]))
            if self.lose_answer_next:
                self.lose_answer_next -= 1
                raise HTTPException(500)
            return {"tracker": {"sender_id": conversation_id}}

        return app


def serve_fake_rasa(rasa: FakeRasa) -> ServerThread:
    server = ServerThread(rasa.app()).start()
    rasa.url = server.base_url
    return server


def make_event(sandbox_url: str, customer_id: str, kinds: tuple[str, ...] = KINDS) -> dict:
    """A back-end event of the customer's, made through the sandbox's admin route."""
    for kind in kinds:
        answer = httpx.post(
            f"{sandbox_url}/sandbox/events",
            json={"customer_id": customer_id, "kind": kind},
            headers={"Authorization": f"Bearer {SECRET}"},
            timeout=10,
        )
        if answer.status_code == 201:
            return answer.json()
        assert answer.status_code == 422, answer.text
    raise AssertionError(f"{customer_id} has none of the products {kinds} are about")


def set_notifications(
    sandbox_url: str, customer_id: str, *, consent: bool, quiet_hours: dict | None = None
) -> None:
    """The customer's own choice, as the back end's settings page would save it."""
    answer = httpx.put(
        f"{sandbox_url}/v1/customers/me/notifications",
        json={"consent": consent, "quiet_hours": quiet_hours},
        headers={"Authorization": f"Bearer {SECRET}", "X-Customer-Id": customer_id},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text


def quiet_hours_around(moment: datetime, zone: str = "Asia/Shanghai") -> dict[str, str]:
    """A quiet-hours window holding ``moment`` (naive UTC) on a clock of ``zone``: from an
    hour before to an hour after."""
    local = moment.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(zone))
    return {
        "start": (local - timedelta(hours=1)).strftime("%H:%M"),
        "end": (local + timedelta(hours=1)).strftime("%H:%M"),
    }


class Clock:
    """The notifier's clock: now, moved on by the test."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)
