"""Executes the registry's operations for one conversation turn.

Everything an operation does goes through here: who the customer is (from the channel
binding), whether they hold the product, which of their things the request is about, the
back-end call, and the answer in the customer's own data. Failures become answers a
customer understands, never an exception.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.backend_access import (
    PROFILE_LIKE_READS,
    apologise_for_unavailable_backend,
    shared_backend_client,
    signed_in_customer,
)
from actions.base import AssistantAction
from actions.handoff import hand_off
from actions.outcomes import resolved
from actions.rendering import (
    UnfilledPlaceholder,
    customer_zone,
    fill_body,
    fill_path,
    item_label,
    render_answer,
)
from actions.slot_values import match_choice, money_from_slot, parse_date, parse_money
from clients.backend import PROFILE_PATH, BackendClient, BackendError
from common.redaction import mask_payment_data
from registry.catalogue import Call, Catalogue, Operation, SlotSpec, default_catalogue
from registry.slots import (
    CONFIRMATION_SLOT,
    OPERATION_KEY_SLOT,
    QUOTE_SLOT,
    REQUEST_SLOT,
)

logger = logging.getLogger(__name__)

MAX_BUTTONS = 6
# Back-end refusals whose words are about our own request, not the customer's: never shown.
INTERNAL_ERROR_CODES = frozenset(
    {
        "idempotency_conflict",
        "invalid_request",
        "customer_required",
        "unauthenticated",
        "customer_not_found",
        "verification_already_used",
    }
)


class Outcome(str, Enum):
    DONE = "done"
    REFUSED = "refused"
    # The back end did not answer: the money may or may not have moved.
    UNKNOWN = "unknown"
    STOPPED = "stopped"


def request_snapshot(operation: Operation, slot_values: dict[str, Any], quote: str | None) -> str:
    """What the customer confirms, as one comparable string: the operation, every answer
    (amounts, accounts, cards, recipients, currency) and the back end's quote."""
    return json.dumps(
        {
            "operation": operation.name,
            "slots": {name: slot_values.get(name) for name in operation.slots},
            "quote": quote,
        },
        sort_keys=True,
    )


def current_request(operation: Operation, tracker: Tracker) -> str:
    return request_snapshot(
        operation,
        {name: tracker.get_slot(name) for name in operation.slots},
        tracker.get_slot(QUOTE_SLOT),
    )


def confirmed_request_stands(operation: Operation, tracker: Tracker) -> bool:
    """An explicit yes was recorded for exactly the request that would run now."""
    shown = tracker.get_slot(REQUEST_SLOT)
    return (
        tracker.get_slot(CONFIRMATION_SLOT) == "yes"
        and shown is not None
        and shown == current_request(operation, tracker)
    )


def _attempt_key(operation: Operation, tracker: Tracker, request: str) -> str:
    fingerprint = hashlib.sha256(request.encode()).hexdigest()
    try:
        pending = json.loads(tracker.get_slot(OPERATION_KEY_SLOT) or "null")
    except ValueError:
        pending = None
    if isinstance(pending, dict) and pending.get("request") == fingerprint:
        return str(pending["key"])
    return f"{operation.name}:{uuid.uuid4().hex}"


def _pending_attempt(request: str, key: str) -> str:
    return json.dumps({"request": hashlib.sha256(request.encode()).hexdigest(), "key": key})


def button_payload(intent: str, entity: str, value: Any) -> str:
    """What a button sends: an intent with the chosen value as an entity, never its title,
    whose words ("up to 10,000 CNY a day") the NLU would read as the customer's own. An id the
    channels would hide as a card number (a 16-digit account number passes the same check) is
    sent by its last four digits, which the choice is matched by: otherwise pressing the button
    would tell the customer off for typing a card number."""
    chosen = str(value)
    if chosen.isdigit() and mask_payment_data(chosen) != chosen:
        chosen = f"ending {chosen[-4:]}"
    return f"/{intent}{json.dumps({entity: chosen}, ensure_ascii=False)}"


# Someone a customer sends money to, named by who they are rather than their name.
PERSON_WORDS = re.compile(
    r"\b(brother|sister|mum|mom|mother|dad|father|son|daughter|wife|husband|partner|"
    r"friend|landlord|landlady|uncle|aunt|cousin|parents?|grandma|grandpa|boss|colleague)\b"
)


def _within_a_day(moment: Any, day: date) -> bool:
    """Whether a back-end timestamp falls on ``day`` give or take one (time zones, and
    customers counting days loosely)."""
    try:
        found = datetime.fromisoformat(str(moment).replace("Z", "+00:00")).date()
    except ValueError:
        return False
    return abs((found - day).days) <= 1


def _same_amount(item: dict[str, Any], key: str, amount: tuple[Decimal, str]) -> bool:
    """Whether the item's amount is the one named: ``{key: {amount, currency}}``, or ``key``
    beside the item's own ``currency``."""
    value = item.get(key)
    figure, currency = (
        (value.get("amount"), value.get("currency"))
        if isinstance(value, dict)
        else (value, item.get("currency"))
    )
    try:
        return Decimal(str(figure)) == amount[0] and currency in (None, amount[1])
    except InvalidOperation:
        return False


def option_in_words(text: str, spec: SlotSpec) -> str | None:
    """The one choice of ``spec`` that ``text`` names in customers' words ("someone nicked my
    purse": stolen); None when it names none, or more than one."""
    lowered = text.lower()
    named = {
        choice
        for choice, words in spec.words.items()
        if any(re.search(rf"\b{re.escape(word.lower())}\b", lowered) for word in words)
    }
    return named.pop() if len(named) == 1 else None


def carried_over(operation: Operation, tracker: Tracker) -> dict[str, str]:
    """The answers this request takes from the latest confirmed request, when it follows that
    one (registry ``follows``): the card just blocked, and why, for its replacement."""
    if not operation.follows:
        return {}
    for event in reversed(tracker.events):
        if event.get("event") != "slot" or event.get("name") != REQUEST_SLOT:
            continue
        if not event.get("value"):
            continue
        try:
            shown = json.loads(event["value"])
        except ValueError:
            return {}
        answers = shown.get("slots") or {}
        mapping = operation.follows.get(shown.get("operation"), {})
        return {
            mine: str(answers[theirs])
            for mine, theirs in mapping.items()
            if answers.get(theirs) is not None
        }
    return {}


def has_buttons(domain: dict[str, Any], response: str) -> bool:
    variants = (domain.get("responses") or {}).get(response) or []
    return any(variant.get("buttons") for variant in variants)


class OperationStopped(Exception):
    """The operation cannot go on; the customer has already been told why."""


@dataclass
class OperationRunner:
    tracker: Tracker
    dispatcher: CollectingDispatcher
    domain: dict[str, Any]
    client: BackendClient = field(default_factory=shared_backend_client)
    catalogue: Catalogue = field(default_factory=default_catalogue)
    _profile: dict[str, Any] | None = None
    # Set when an answer is one after which the line's policy brings in a person.
    policy_handoff: bool = False
    # Set when the answer offers the next step: an offer said after it (``then``) or buttons
    # of its own ("Repay now" under a bill).
    offered_next_step: bool = False

    # -- who and what ----------------------------------------------------------------------
    def customer_id(self) -> str:
        customer_id = signed_in_customer(self.tracker)
        if customer_id is None:
            self.dispatcher.utter_message(response="utter_sign_in_needed")
            raise OperationStopped
        return customer_id

    async def profile(self) -> dict[str, Any]:
        if self._profile is None:
            self._profile = await self._call(
                self.customer_id(), "GET", PROFILE_PATH, None, session_wide=True
            )
        return self._profile

    async def ensure_held(self, operation: Operation) -> None:
        """Tells a customer who lacks the product what it is, instead of failing."""
        line = self.catalogue.line(operation.line)
        needed = operation.needs or (line.products if line else ())
        if not needed:
            return
        held = set((await self.profile()).get("products", []))
        if held.intersection(needed):
            return
        self.dispatcher.utter_message(
            response=(line.not_held if line and line.not_held else "utter_product_not_held"),
            line_title=line.title if line else operation.line,
        )
        raise OperationStopped

    def label(self, spec: SlotSpec, item: dict[str, Any]) -> str:
        return item_label(
            spec.label, item, str(item.get(spec.item_id or "", "")), customer_zone(self._profile)
        )

    async def options(self, spec: SlotSpec, operation: Operation) -> list[dict[str, Any]]:
        assert spec.options_call is not None and spec.items is not None
        path = fill_path(spec.options_call.path, {})
        result = await self._call(
            self.customer_id(),
            spec.options_call.method,
            path,
            None,
            session_wide=path in PROFILE_LIKE_READS,
        )
        if spec.items == ".":
            items = [result] if isinstance(result, dict) and result else []
        else:
            items = list(result.get(spec.items) or []) if isinstance(result, dict) else []
        if operation.target == spec.name:
            # The target's filter only: the account paying a bill is not filtered as the bill.
            for key, allowed in operation.target_filter.items():
                items = [item for item in items if str(item.get(key)) in allowed]
        return items

    def latest_entity_values(self, entity: str | None) -> list[str]:
        if not entity:
            return []
        return [
            str(found.get("value"))
            for found in self.tracker.latest_message.get("entities") or []
            if found.get("entity") == entity and found.get("value") is not None
        ]

    # -- questions ------------------------------------------------------------------------
    async def answer(self, operation: Operation) -> bool:
        """Answers a question-type operation with the customer's own data; False when the
        customer was told why it could not be answered, or asked which item they mean."""
        try:
            await self.ensure_held(operation)
            context: dict[str, Any] = {"profile": await self.profile()}
            if operation.target:
                context[operation.target] = await self._resolve_target(operation)
            result = await self._call(
                self.customer_id(),
                operation.call.method,
                *self._filled(operation, operation.call, operation.body or None, context),
            )
            self._say_answer(operation, context, result)
        except OperationStopped:
            return False
        except BackendError as error:
            self.explain_failure(operation, error)
            return False
        return True

    async def _resolve_target(self, operation: Operation) -> dict[str, Any]:
        spec = self.catalogue.slots[operation.target or ""]
        items = await self.options(spec, operation)
        if not items:
            self.dispatcher.utter_message(response=operation.no_target or "utter_nothing_found")
            raise OperationStopped
        labels = {str(item.get(spec.item_id or "")): self.label(spec, item) for item in items}
        asked = self.latest_entity_values(spec.button_entity)
        if asked:
            chosen = match_choice("", asked, items, spec.item_id or "", spec.match, labels)
            if chosen is not None:
                return chosen
        described = await self._described_in_message(spec, items)
        if described is not None:
            if len(described) == 1:
                return described[0]
            # What the customer said fits none of them, or several: ask, never guess.
            items = described or items
        elif len(items) == 1 or operation.pick_latest:
            preferred = [
                item
                for item in items
                if all(
                    str(item.get(key)) in allowed
                    for key, allowed in operation.target_preference.items()
                )
            ]
            return (preferred or items)[0]
        self.dispatcher.utter_message(
            response="utter_which_one",
            buttons=[
                {
                    "title": labels[str(item.get(spec.item_id))],
                    "payload": button_payload(
                        operation.name, spec.button_entity, item.get(spec.item_id)
                    ),
                }
                for item in items[:MAX_BUTTONS]
            ],
        )
        raise OperationStopped

    async def _described_in_message(
        self, spec: SlotSpec, items: list[dict[str, Any]]
    ) -> list[dict[str, Any]] | None:
        """The items that fit what the request says about the one it means: a name (of its
        ``match`` keys), a date (``date_key``, a day either side) and an amount (``amount_key``).
        None when the request says none of these ("my transfer hasn't arrived"); empty when
        it describes one that is not there. A person the back end has no name for ("my
        brother") describes one without narrowing the list."""
        text = (self.tracker.latest_message.get("text") or "").strip()
        if not text or text.startswith("/"):
            return None
        lowered = text.lower()
        described = False
        fitting = list(items)
        named = [
            item
            for item in items
            if any(
                len(str(item.get(key) or "")) >= 2 and str(item.get(key)).lower() in lowered
                for key in spec.match
            )
        ]
        if named:
            described, fitting = True, named
        elif PERSON_WORDS.search(lowered):
            described = True
        day = parse_date(lowered, date.today()) if spec.date_key else None
        if day is not None:
            described = True
            fitting = [item for item in fitting if _within_a_day(item.get(spec.date_key), day)]
        amount = await self._amount_in_message(text) if spec.amount_key and day is None else None
        if amount is not None:
            described = True
            fitting = [item for item in fitting if _same_amount(item, spec.amount_key, amount)]
        return fitting if described else None

    async def _amount_in_message(self, text: str) -> tuple[Decimal, str] | None:
        given = self.latest_entity_values("amount")
        home = str((await self.profile()).get("home_currency") or "CNY")
        return parse_money(given[0] if given else text, home)

    # -- transactions ---------------------------------------------------------------------
    async def slot_context(self, operation: Operation) -> dict[str, Any]:
        """The form's answers as the call needs them: chosen items, money as amount+currency."""
        context: dict[str, Any] = {"profile": await self.profile()}
        for name in operation.slots:
            spec = self.catalogue.slots[name]
            value = self.tracker.get_slot(name)
            if spec.kind == "choice":
                items = await self.options(spec, operation)
                chosen = next((i for i in items if str(i.get(spec.item_id)) == str(value)), None)
                if chosen is None:
                    self.dispatcher.utter_message(response="utter_operation_choice_gone")
                    raise OperationStopped
                context[name] = {**chosen, "label": self.label(spec, chosen)}
            elif spec.kind == "money":
                context[name] = money_from_slot(str(value))
            elif spec.kind == "option":
                context[name] = int(value) if str(value).isdigit() else value
                context[f"{name}_label"] = spec.choices.get(str(value), str(value))
            else:
                context[name] = value
        quote = self.tracker.get_slot(QUOTE_SLOT)
        if quote:
            context["quote"] = json.loads(quote)
        return context

    async def quote(self, operation: Operation, context: dict[str, Any]) -> Any:
        """The back end's offer (fees, rate, monthly amount) shown before the customer says yes."""
        assert operation.quote is not None
        return await self._call(
            self.customer_id(),
            operation.quote.method,
            *self._filled(operation, operation.quote, operation.quote_body, context),
            changes_holdings=False,
        )

    def shortfall(self, operation: Operation, context: dict[str, Any]) -> str | None:
        """The money slot that the paying account cannot cover, if any."""
        if not operation.pays_from:
            return None
        balance = (context.get(operation.pays_from) or {}).get("balance")
        if not isinstance(balance, dict):
            return None
        for name in operation.slots:
            if self.catalogue.slots[name].kind != "money":
                continue
            wanted = context.get(name) or {}
            try:
                if wanted.get("currency") == balance.get("currency") and Decimal(
                    str(wanted.get("amount"))
                ) > Decimal(str(balance["amount"])):
                    return name
            except (InvalidOperation, KeyError):
                continue
        return None

    def foreign_amount(
        self, operation: Operation, context: dict[str, Any]
    ) -> tuple[str, str] | None:
        """The money slot written in another currency than the paying account holds ("$500"
        from a yuan account), with the account's currency: it is asked for again, never
        converted or relabelled."""
        if not operation.pays_from:
            return None
        balance = (context.get(operation.pays_from) or {}).get("balance")
        if not isinstance(balance, dict) or not balance.get("currency"):
            return None
        for name in operation.slots:
            if self.catalogue.slots[name].kind != "money":
                continue
            currency = (context.get(name) or {}).get("currency")
            if currency and currency != balance["currency"]:
                return name, str(balance["currency"])
        return None

    async def execute(
        self, operation: Operation, verification_token: str | None = None
    ) -> tuple[Outcome, list[EventType]]:
        """Carries out the confirmed request, and only that: the answers must be exactly the
        ones the customer said yes to. The events keep the idempotency key only while the
        outcome is unknown, so a retry of the same request reuses it and a new one gets its own.
        """
        if not confirmed_request_stands(operation, self.tracker):
            self.dispatcher.utter_message(response="utter_operation_choice_gone")
            return Outcome.STOPPED, [SlotSet(OPERATION_KEY_SLOT, None)]
        request = current_request(operation, self.tracker)
        key = _attempt_key(operation, self.tracker, request)
        try:
            context = await self.slot_context(operation)
            result = await self._call(
                self.customer_id(),
                operation.call.method,
                *self._filled(operation, operation.call, operation.body or None, context),
                idempotency_key=key,
                verification_token=verification_token,
            )
            self._say_answer(operation, context, result)
            return Outcome.DONE, [SlotSet(OPERATION_KEY_SLOT, None)]
        except OperationStopped:
            return Outcome.STOPPED, [SlotSet(OPERATION_KEY_SLOT, None)]
        except BackendError as error:
            self.explain_failure(operation, error)
            if error.kind == "unavailable":
                return Outcome.UNKNOWN, [
                    SlotSet(OPERATION_KEY_SLOT, _pending_attempt(request, key))
                ]
            return Outcome.REFUSED, [SlotSet(OPERATION_KEY_SLOT, None)]

    # -- shared ---------------------------------------------------------------------------
    def _filled(
        self, operation: Operation, call: Call, body: Any, context: dict[str, Any]
    ) -> tuple[str, Any]:
        """The call's path and body filled from ``context``. A placeholder naming nothing in
        it is a registry mistake (``python -m registry.check`` reports it): the customer gets
        the generic failure reply instead of silence, and nothing is sent."""
        try:
            return fill_path(call.path, context), fill_body(body, context)
        except UnfilledPlaceholder as error:
            logger.error("operation %s: %s", operation.name, error)
            apologise_for_unavailable_backend(self.dispatcher, f"/{operation.name}")
            raise OperationStopped from error

    async def _call(
        self,
        customer_id: str,
        method: str,
        path: str,
        body: Any,
        idempotency_key: str | None = None,
        verification_token: str | None = None,
        changes_holdings: bool = True,
        session_wide: bool = False,
    ) -> Any:
        """A read, or a request that may change what the customer holds unless told it cannot.
        A read is made at most once a turn; what the customer holds (``session_wide``) once a
        session, while what answers a question or quotes is never older than the turn."""
        if method == "GET":
            return await self.client.call(customer_id, method, path, session_wide=session_wide)
        return await self.client.call(
            customer_id,
            method,
            path,
            json=body,
            idempotency_key=idempotency_key,
            verification_token=verification_token,
            changes_holdings=changes_holdings,
        )

    def _say_answer(self, operation: Operation, context: dict[str, Any], result: Any) -> None:
        answer = render_answer(operation, self.domain, context, result)
        self.dispatcher.utter_message(response=answer.response, **answer.values)
        if answer.then:
            self.dispatcher.utter_message(response=answer.then, **answer.values)
        self.offered_next_step = bool(answer.then) or has_buttons(self.domain, answer.response)
        if not answer.empty:
            self.policy_handoff = self.catalogue.hands_off_after(answer.response)

    def explain_failure(self, operation: Operation, error: BackendError) -> None:
        logger.info("operation %s failed: %s", operation.name, error)
        if error.kind == "unavailable":
            apologise_for_unavailable_backend(self.dispatcher, f"/{operation.name}")
        elif error.kind == "not_found":
            line = self.catalogue.line(operation.line)
            self.dispatcher.utter_message(
                response=(line.not_held if line and line.not_held else "utter_nothing_found"),
                line_title=line.title if line else operation.line,
            )
        elif error.kind == "verification_required":
            self.dispatcher.utter_message(response="utter_verification_expired")
        elif error.kind in {"rejected", "conflict"} and error.code not in INTERNAL_ERROR_CODES:
            self.dispatcher.utter_message(
                response="utter_operation_refused", reason=_sentence(error.message)
            )
        else:
            logger.error(
                "operation %s: back end refused our own request: %s", operation.name, error
            )
            apologise_for_unavailable_backend(self.dispatcher, f"/{operation.name}")


class OperationAction(AssistantAction):
    """An action that runs registry operations."""

    def runner(
        self, tracker: Tracker, dispatcher: CollectingDispatcher, domain: dict[str, Any]
    ) -> OperationRunner:
        return OperationRunner(tracker, dispatcher, domain, self.client)

    async def concluded(self, runner: OperationRunner, operation: Operation) -> list[EventType]:
        """What follows an operation carried out or answered: a person when the answer is one
        the line's policy hands off, else the request is resolved (and the satisfaction
        question may come next)."""
        if not runner.policy_handoff:
            return resolved(runner.tracker, operation, runner.catalogue, runner.offered_next_step)
        return await hand_off(
            runner.dispatcher,
            runner.tracker,
            runner.domain,
            "policy",
            runner.catalogue.describe(operation.name) or operation.name,
            runner.client,
            self.connector,
        )


def _sentence(message: str) -> str:
    message = message.strip().rstrip(".")
    return (message[:1].upper() + message[1:] + ".") if message else "It was not accepted."
