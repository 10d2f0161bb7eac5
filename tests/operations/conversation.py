"""Drives the generic operation actions the way the Rasa server does, without a model.

The customer's messages come with the intent and entities the NLU would give; slot mapping,
the form loop (validate, ask the next question, finish) and the rules' choice of action
follow Rasa 3.6's behaviour, so a test reads as a conversation with the real action code
and the real back end.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.operation_forms import GENERATED_ACTIONS
from actions.operations import ActionFinishOperation, ActionPrepareOperation, ActionRunOperation
from actions.rendering import fill_text
from clients.backend import BackendClient
from common.assistant_settings import ActionServerSettings
from common.customer_binding import bound_sender_id
from common.environment import read_profile
from registry.catalogue import Operation, default_catalogue
from registry.slots import CONFIRMATION_SLOT
from tests.recording_desk import RecordingDesk

# The action server's settings as the embedded profile gives them (the code sealing secret).
SETTINGS = ActionServerSettings.from_environment(read_profile("embedded"))

ACTIONS = {action().name(): action for action in GENERATED_ACTIONS}


class Conversation:
    def __init__(
        self,
        customer_id: str,
        client: BackendClient,
        domain: dict[str, Any],
        form_actions: dict[str, Any] | None = None,
        desk: RecordingDesk | None = None,
    ) -> None:
        self.sender = bound_sender_id(customer_id)
        self.client = client
        self.desk = desk or RecordingDesk()
        self.settings = SETTINGS
        self.domain = domain
        self.catalogue = default_catalogue()
        self.form_actions = form_actions or ACTIONS
        self.slots: dict[str, Any] = {}
        self.events: list[dict[str, Any]] = []
        self.form: Operation | None = None
        self.latest: dict[str, Any] = {}
        self._last_buttons: list[dict[str, Any]] = []
        self.last_responses: list[str | None] = []

    # -- what the customer sees ---------------------------------------------------------------
    def render(self, message: dict[str, Any]) -> str:
        if message.get("text"):
            return str(message["text"])
        variants = self.domain["responses"][message["response"]]
        values = {k: str(v) for k, v in self.slots.items() if v is not None}
        values.update({k: str(v) for k, v in message.items() if isinstance(v, (str, int, float))})
        return fill_text(variants[-1]["text"], values)

    def _buttons_of(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        if message.get("buttons"):
            return list(message["buttons"])
        if message.get("response"):
            return list(self.domain["responses"][message["response"]][-1].get("buttons") or [])
        return []

    async def say(
        self,
        text: str,
        intent: str,
        confidence: float = 0.95,
        metadata: dict[str, Any] | None = None,
        ranking: dict[str, float] | None = None,
        **entities: str,
    ) -> list[str]:
        """The customer's message (with what the channel added as metadata, and the NLU's
        other guesses as ``ranking``); returns what the assistant answers."""
        self.latest = {
            "text": text,
            "intent": {"name": intent, "confidence": confidence},
            "intent_ranking": [
                {"name": name, "confidence": score}
                for name, score in sorted(
                    {intent: confidence, **(ranking or {})}.items(), key=lambda item: -item[1]
                )
            ],
            "entities": [{"entity": name, "value": value} for name, value in entities.items()],
            "metadata": metadata or {},
        }
        self.events.append({"event": "user", "text": text, "parse_data": self.latest})
        self._map_entities(entities)
        dispatcher = CollectingDispatcher()
        if self.form is not None:
            await self._form_turn(dispatcher, intent, text, entities)
        else:
            await self._start(dispatcher, intent)
        self._last_buttons = [
            button for message in dispatcher.messages for button in self._buttons_of(message)
        ]
        self.last_responses = [message.get("response") for message in dispatcher.messages]
        return [self.render(message) for message in dispatcher.messages]

    @property
    def last_buttons(self) -> list[dict[str, Any]]:
        return self._last_buttons

    @property
    def paused(self) -> bool:
        """Whether a person has taken over (the assistant stopped answering)."""
        pauses = [e["event"] for e in self.events if e.get("event") in ("pause", "resume")]
        return bool(pauses) and pauses[-1] == "pause"

    # -- Rasa's side ----------------------------------------------------------------------
    def tracker(self) -> Tracker:
        return Tracker(
            self.sender,
            dict(self.slots),
            self.latest,
            list(self.events),
            False,
            None,
            {"name": self.form.form_name} if self.form else {},
            "action_listen",
        )

    def _apply(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            self.events.append(event)
            if event.get("event") == "slot":
                self.slots[event["name"]] = event["value"]

    def _map_entities(self, entities: dict[str, str]) -> None:
        # As Rasa's action_extract_slots does: events after the message, which the form's
        # validation then sees as this turn's answers.
        self._apply(
            [
                {"event": "slot", "name": spec.name, "value": entities[spec.entity]}
                for spec in self.catalogue.slots.values()
                if spec.entity in entities
            ]
        )

    async def _run(self, action: Any, dispatcher: CollectingDispatcher) -> list[dict[str, Any]]:
        events = await action.run(dispatcher, self.tracker(), self.domain)
        self._apply(events)
        return events

    async def _start(self, dispatcher: CollectingDispatcher, intent: str) -> None:
        operation = self.catalogue.operations.get(intent)
        if operation is None:
            return
        if not operation.is_form:
            await self._run(ActionRunOperation(self.client, self.desk, self.settings), dispatcher)
            return
        await self._run(ActionPrepareOperation(self.client, self.desk, self.settings), dispatcher)
        if self.slots.get("operation_refused"):
            return
        self.form = operation
        self._apply([{"event": "active_loop", "name": operation.form_name}])
        prefilled = {
            name: self.slots[name]
            for name in operation.required_slots
            if self.slots.get(name) is not None
        }
        self.slots["requested_slot"] = None
        if prefilled:
            self._apply(
                [
                    {"event": "slot", "name": name, "value": value}
                    for name, value in prefilled.items()
                ]
            )
            await self._run(self._validator(), dispatcher)
        await self._ask_or_finish(dispatcher)

    async def _form_turn(
        self, dispatcher: CollectingDispatcher, intent: str, text: str, entities: dict[str, str]
    ) -> None:
        assert self.form is not None
        requested = self.slots.get("requested_slot")
        spec = self.catalogue.slots.get(requested or "")
        if spec is not None and spec.entity in entities:
            value: Any = entities[spec.entity]
        elif requested == CONFIRMATION_SLOT and intent in {"affirm", "deny"}:
            value = "yes" if intent == "affirm" else "no"
        else:
            value = text
        self._apply([{"event": "slot", "name": requested, "value": value}])
        events = await self._run(self._validator(), dispatcher)
        ended = any(
            e.get("event") == "slot" and e["name"] == "requested_slot" and e["value"] is None
            for e in events
        )
        if ended:
            await self._finish(dispatcher)
            return
        await self._ask_or_finish(dispatcher)

    async def _ask_or_finish(self, dispatcher: CollectingDispatcher) -> None:
        assert self.form is not None
        missing = [name for name in self.form.required_slots if self.slots.get(name) is None]
        if not missing or (
            self.slots.get("requested_slot") is None and self.slots.get("form_cancelled")
        ):
            await self._finish(dispatcher)
            return
        self.slots["requested_slot"] = missing[0]
        ask = self.form_actions.get(f"action_ask_{self.form.form_name}_{missing[0]}")
        if ask is not None:
            await self._run(ask(self.client, self.desk, self.settings), dispatcher)
        else:
            dispatcher.utter_message(response=f"utter_ask_{missing[0]}")

    async def _finish(self, dispatcher: CollectingDispatcher) -> None:
        self.slots["requested_slot"] = None
        self._apply([{"event": "active_loop", "name": None}])
        self.form = None
        await self._run(ActionFinishOperation(self.client, self.desk, self.settings), dispatcher)

    def _validator(self) -> Any:
        assert self.form is not None
        return self.form_actions[f"validate_{self.form.form_name}"](
            self.client, self.desk, self.settings
        )
