"""The generic actions that carry out every operation of the capability registry.

action_run_operation answers questions ("what's my bill?"); action_prepare_operation starts a
transactional form; action_finish_operation carries the form out once the customer has
confirmed (or tells them it was cancelled); action_disambiguate asks which product line a
vague request is about. The forms' questions and checks are in actions/operation_forms.py.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import hand_off
from actions.operation_runner import (
    OperationAction,
    OperationStopped,
    Outcome,
    carried_over,
    option_in_words,
)
from clients.backend import BackendError
from registry.catalogue import Catalogue, Operation, SlotSpec, default_catalogue
from registry.slots import (
    CONFIRMATION_SLOT,
    FORM_CANCELLED_SLOT,
    OPERATION_REFUSED_SLOT,
    OUTCOME_SLOT,
    PER_REQUEST_SLOTS,
)


class FormCancelled(str, Enum):
    """Why a form ended before its request ran: the values of the form_cancelled slot."""

    # The customer said cancel (or no to the confirmation): told so when the form ends.
    BY_CUSTOMER = "yes"
    # The customer has already been told why it cannot go on: nothing more is said.
    TOLD = "told"
    # The customer asked for a person mid-form: nothing is done and a person is brought in.
    FOR_A_PERSON = "handoff"


STOP_HERE = SlotSet(OPERATION_REFUSED_SLOT, True)
# "Send 200 yuan to Bob", "pay Bob 300": who gets the money is named, whether or not the NLU
# marked the name, so the customer's only saved recipient is not assumed to be that person
# ("to" in "I want to send" names nobody, nor "back" in "pay back 300"; "pay my bill 300" is
# asked about too, which costs a question, never a wrong person).
PERSON_ENTITY = "recipient"
MONEY_VERB = r"\b(?:send|transfer|pay|give|wire)\b"
NAMES_WHO_GETS_IT = re.compile(
    rf"{MONEY_VERB}.*?\bto\s+(?!(?:send|transfer|pay|give|wire)\b)[^\W\d_]"
    rf"|{MONEY_VERB}\s+(?!(?:back|off|it|all|half|money|cash|in|out|up|for|now)\b)"
    r"[^\W\d_][\w'’.-]*(?:\s+[^\W\d_][\w'’.-]*){0,2}\s+(?:[¥$€£]\s*)?\d",
    re.I,
)


def latest_intent(tracker: Tracker) -> str | None:
    return (tracker.latest_message.get("intent") or {}).get("name")


def form_slot_resets(
    operation: Operation, catalogue: Catalogue, keep: set[str] = frozenset()
) -> list[EventType]:
    """Clears a form's answers so an old amount or card never slips into a new request."""
    names = [*operation.slots, *PER_REQUEST_SLOTS]
    return [SlotSet(name, None) for name in names if name not in keep]


class ActionRunOperation(OperationAction):
    def name(self) -> str:
        return "action_run_operation"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        operation = default_catalogue().operations.get(latest_intent(tracker) or "")
        if operation is None:
            dispatcher.utter_message(response="utter_ask_rephrase")
            return []
        runner = self.runner(tracker, dispatcher, domain)
        if not await runner.answer(operation):
            return []
        return await self.concluded(runner, operation)


def said_before(
    operation: Operation, catalogue: Catalogue, tracker: Tracker, given_now: set[str]
) -> dict[str, str]:
    """Answers the customer has already given without an entity: an option named in the
    request's own words ("someone nicked my purse": stolen), what the request it follows was
    about (the replacement of the card just blocked), or else an option's default."""
    text = tracker.latest_message.get("text") or ""
    carried = carried_over(operation, tracker)
    said: dict[str, str] = {}
    for name in operation.slots:
        spec = catalogue.slots[name]
        if name in given_now:
            continue
        named = option_in_words(text, spec) if spec.kind == "option" else None
        value = named or carried.get(name) or spec.default
        if value is not None:
            said[name] = value
    return said


def nothing_to_choose(operation: Operation, slot: str, domain: dict[str, Any]) -> str:
    """What a customer with nothing to pick for ``slot`` is told: the target's ``none``, or
    ``utter_<operation>_no_<slot>`` for another choice (no account to repay a bill from)."""
    if slot == operation.target and operation.no_target:
        return operation.no_target
    own = f"utter_{operation.name}_no_{slot}"
    return own if own in (domain.get("responses") or {}) else "utter_nothing_found"


class ActionPrepareOperation(OperationAction):
    """Checks a transactional request can go ahead before its form starts (the rules run
    the form next).

    Answers this message gave (an amount, a card's last digits, "nicked" for stolen) and those
    of the request it follows are kept; older ones are cleared. A choice with a single
    possible answer (the customer's only account) is made for them. When the request cannot
    go ahead (not signed in, product not held, nothing to act on) the customer is told why
    and the form does not start.
    """

    def name(self) -> str:
        return "action_prepare_operation"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        catalogue = default_catalogue()
        operation = catalogue.operations.get(latest_intent(tracker) or "")
        if operation is None or not operation.is_form:
            dispatcher.utter_message(response="utter_ask_rephrase")
            return [STOP_HERE]
        runner = self.runner(tracker, dispatcher, domain)
        entities = {e.get("entity") for e in tracker.latest_message.get("entities") or []}
        given_now = {
            name
            for name in operation.slots
            if catalogue.slots[name].entity in entities or name in entities
        }
        events = form_slot_resets(operation, catalogue, keep=given_now)
        said = said_before(operation, catalogue, tracker, given_now)
        events += [SlotSet(name, value) for name, value in said.items()]
        given_now |= set(said)
        try:
            runner.customer_id()
            await runner.ensure_held(operation)
            if operation.verification and (await runner.profile()).get("account_locked"):
                # Said before any question: a locked account cannot receive the code.
                dispatcher.utter_message(response="utter_verification_impossible")
                return [*events, STOP_HERE]
            for name in operation.slots:
                spec = catalogue.slots[name]
                if spec.kind != "choice" or name in given_now:
                    continue
                items = await runner.options(spec, operation)
                if not items:
                    dispatcher.utter_message(response=nothing_to_choose(operation, name, domain))
                    return [*events, STOP_HERE]
                if len(items) == 1 and not names_someone_else(spec, tracker):
                    events.append(SlotSet(name, str(items[0].get(spec.item_id))))
        except OperationStopped:
            return [*events, STOP_HERE]
        except BackendError as error:
            runner.explain_failure(operation, error)
            return [*events, STOP_HERE]
        return [*events, SlotSet(OPERATION_REFUSED_SLOT, False)]


def names_someone_else(spec: SlotSpec, tracker: Tracker) -> bool:
    """Whether the request names who gets the money in words no entity caught, so that the
    one saved recipient must not be picked for the customer."""
    text = tracker.latest_message.get("text") or ""
    return spec.entity == PERSON_ENTITY and NAMES_WHO_GETS_IT.search(text) is not None


def dropped_response(operation: Operation, domain: dict[str, Any]) -> str:
    """What a customer who stopped a request is told: ``utter_<operation>_dropped`` where
    "cancelled" would read as done (stopping a policy cancellation), else the general words."""
    own = f"utter_{operation.name}_dropped"
    return own if own in (domain.get("responses") or {}) else "utter_operation_cancelled"


def finished_form(tracker: Tracker) -> str | None:
    """The form that has just completed: the last loop activated before the current one ended."""
    for event in reversed(tracker.events):
        if event.get("event") == "active_loop" and event.get("name"):
            return str(event["name"])
    return None


class ActionFinishOperation(OperationAction):
    def name(self) -> str:
        return "action_finish_operation"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        catalogue = default_catalogue()
        operation = catalogue.form_operation(finished_form(tracker) or "")
        if operation is None:
            return []
        resets = form_slot_resets(operation, catalogue)
        cancelled = tracker.get_slot(FORM_CANCELLED_SLOT)
        if cancelled == FormCancelled.FOR_A_PERSON.value:
            dispatcher.utter_message(response="utter_operation_left_for_a_person")
            return [
                *resets,
                *await hand_off(
                    dispatcher,
                    tracker,
                    domain,
                    "customer_request",
                    "Asked for a person in the middle of: "
                    f"{catalogue.describe(operation.name) or operation.name}",
                    self.client,
                    self.connector,
                ),
            ]
        if cancelled or tracker.get_slot(CONFIRMATION_SLOT) == "no":
            if cancelled != FormCancelled.TOLD.value:
                dispatcher.utter_message(response=dropped_response(operation, domain))
            return resets
        runner = self.runner(tracker, dispatcher, domain)
        outcome = tracker.get_slot(OUTCOME_SLOT)
        if outcome is None and operation.verification:
            # Only the form, with a code verified in this conversation, carries these out.
            dispatcher.utter_message(response=dropped_response(operation, domain))
            return resets
        events: list[EventType] = []
        if outcome is None:
            done, events = await runner.execute(operation)
            outcome = done.value
        if outcome == Outcome.DONE.value:
            return [*resets, *events, *await self.concluded(runner, operation)]
        return [*resets, *events]


class ActionDisambiguate(OperationAction):
    """ "My payment failed": wallet or card? Asks with buttons among the lines the customer
    holds; with only one of them, answers for that one straight away."""

    def name(self) -> str:
        return "action_disambiguate"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        catalogue = default_catalogue()
        options = [
            catalogue.operations[name]
            for name in catalogue.disambiguation.get(latest_intent(tracker) or "", ())
        ]
        runner = self.runner(tracker, dispatcher, domain)
        held: set[str] = set()
        try:
            if runner.customer_id():
                held = set((await runner.profile()).get("products", []))
        except OperationStopped:
            return []
        except BackendError:
            held = set()
        candidates = [op for op in options if not held or _holds(catalogue, op, held)]
        if len(candidates) == 1 and not candidates[0].is_form:
            if not await runner.answer(candidates[0]):
                return []
            return await self.concluded(runner, candidates[0])
        dispatcher.utter_message(
            response="utter_which_product",
            buttons=[
                {"title": catalogue.describe(op.name) or op.name, "payload": f"/{op.name}"}
                for op in (candidates or options)
            ],
        )
        return []


def _holds(catalogue: Catalogue, operation: Operation, held: set[str]) -> bool:
    line = catalogue.line(operation.line)
    needed = operation.needs or (line.products if line else ())
    return not needed or bool(held.intersection(needed))
