"""The questions and checks of every transactional form, generated from the registry.

For each form operation the registry declares, this module makes a ``validate_<form>`` action
and one ``action_ask_<form>_<slot>`` action per question, so a new form needs no Python.
A form's checks: each answer is validated against the back end (the customer's own cards,
accounts, recipients, policies); a wrong answer is counted, explained the second time and
followed by "continue or cancel?" the third; a question asked mid-form is answered and the
form goes on; "cancel" ends it; after an explicit "yes" the back end's step-up verification
is completed before anything happens.
"""

from __future__ import annotations

import json
import re
import unicodedata
from abc import abstractmethod
from datetime import date
from decimal import Decimal
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import REQUEST_HUMAN_INTENT
from actions.operation_runner import (
    OperationAction,
    OperationRunner,
    OperationStopped,
    button_payload,
    option_in_words,
    request_snapshot,
)
from actions.operations import FormCancelled, latest_intent
from actions.rendering import context_values, customer_zone, display_values, response_text
from actions.slot_values import (
    match_choice,
    match_option,
    money_slot_value,
    parse_date,
    parse_future_date,
    parse_money,
    parse_share,
    share_of,
)
from clients.backend import BackendError
from common.one_time_code import ONE_TIME_CODE_PLACEHOLDER, SEALED_CODE_KEY, open_one_time_code
from registry.catalogue import Catalogue, Operation, SlotSpec, default_catalogue
from registry.forms import form_actions
from registry.slots import (
    CONFIRMATION_SLOT,
    FAILED_ANSWERS_SLOT,
    FORM_CANCELLED_SLOT,
    OUTCOME_SLOT,
    QUOTE_SLOT,
    REQUEST_SLOT,
    REQUESTED_SLOT,
    VERIFICATION_CODE_SLOT,
    VERIFICATION_ID_SLOT,
)

# A mid-form message is taken as a question of its own only when the NLU is this sure.
DIGRESSION_CONFIDENCE = 0.6
# A message asking a question cannot be an answer: a question the assistant can answer on the
# way is taken when the NLU ranks it this high, even below its fallback threshold.
QUESTION_DIGRESSION_CONFIDENCE = 0.3
CANCEL_CONFIDENCE = 0.5
CANCEL_WORDS = re.compile(r"^\s*(cancel|stop|quit|abort|exit|forget it|never ?mind)\W*$", re.I)
MAX_TEXT_ANSWER = 500
VERIFICATION_CODE = re.compile(r"\b(\d{6})\b")
ACCOUNT_NUMBER = re.compile(r"[A-Z0-9]{8,34}")
# A name as an account holds it: letters of any script with their combining marks (Hindi's
# vowel signs, Thai's tones), and the marks names use between words.
BETWEEN_NAME_WORDS = frozenset(" '’.-")
PERSON_NAME_MAX_WORDS = 6
# Four lines of 35 characters: the most a payment message carries for the beneficiary.
PERSON_NAME_MAX_CHARS = 140
# "His name is David Chen", "it's David Chen": the name follows.
NAME_LEAD_IN = re.compile(
    r"^\s*(?:(?:his|her|their|the)\s+(?:full\s+)?name\s+is|it\s+is|it['’]s|name\s*:)\s*",
    re.I,
)
# Words of a sentence about a name, never part of one: "I don't know his name", "sorry, what".
NOT_IN_NAMES = frozenset(
    "i i'm im my his her their what where how why which sorry don't dont know please help "
    "you your it's should name".split()
)
FAILURES_BEFORE_EXPLAINING = 2
FAILURES_BEFORE_OFFERING_TO_CANCEL = 3


def _printable(text: str) -> str:
    return "".join(char for char in text if char.isprintable()).strip()


def account_number(text: str) -> str | None:
    """An account number or IBAN as typed ("GB29 NWBK 6016 1331 9268 19"), in the compact form
    banks take; None for anything else, words included ("where do I find it")."""
    compact = re.sub(r"[\s-]", "", text.strip().strip(".,;:!")).upper()
    if not ACCOUNT_NUMBER.fullmatch(compact) or sum(char.isdigit() for char in compact) < 6:
        return None
    return compact


def person_name(text: str) -> str | None:
    """A recipient's name as typed ("David Chen", "O'Brien-Smith", "陈大卫"), spaces tidied;
    None for a question or a sentence about the name ("sorry, how do I spell it?")."""
    name = " ".join(NAME_LEAD_IN.sub("", text).split()).strip(",;:!")
    words = name.lower().replace("’", "'").split()
    if (
        not name
        or len(name) > PERSON_NAME_MAX_CHARS
        or not unicodedata.category(name[0]).startswith("L")
        or not all(
            unicodedata.category(char)[0] in "LM" or char in BETWEEN_NAME_WORDS for char in name
        )
        or len(words) > PERSON_NAME_MAX_WORDS
        or any(word.strip(".") in NOT_IN_NAMES for word in words)
    ):
        return None
    last = words[-1]
    # "Li Wei." ends a sentence; "J. R. R." keeps its initials.
    return name[:-1] if name.endswith(".") and len(last.strip(".")) > 1 else name


def asks_a_question(tracker: Tracker) -> bool:
    text = (tracker.latest_message.get("text") or "").strip()
    return text.endswith("?") or text.endswith("？")


def value_before_this_turn(tracker: Tracker, name: str) -> Any:
    """A slot's value before the latest message's mappings set it."""
    seen_user_message = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            seen_user_message = True
        elif seen_user_message and event.get("event") == "slot" and event.get("name") == name:
            return event.get("value")
    return None


def typed_option_title(spec: SlotSpec | None, tracker: Tracker) -> bool:
    """Whether the latest message is word for word one of the options offered for ``spec``."""
    if spec is None or spec.kind != "option":
        return False
    text = _printable(tracker.latest_message.get("text") or "").lower()
    return text in {title.lower() for title in spec.choices.values()}


def shown_slots(tracker: Tracker) -> dict[str, Any]:
    """The answers as the confirmation question showed them."""
    try:
        return dict(json.loads(tracker.get_slot(REQUEST_SLOT) or "{}").get("slots") or {})
    except (ValueError, AttributeError):
        return {}


class OperationFormValidator(OperationAction):
    """``validate_<form>`` for one form operation; generated subclasses set ``operation_name``."""

    @property
    @abstractmethod
    def operation_name(self) -> str:
        """The registry operation whose form this validates."""

    def name(self) -> str:
        return f"validate_{self.operation_name}_form"

    def typed_code(self, tracker: Tracker) -> str | None:
        """The one-time code of the latest message: sealed by the channel (which masked it in
        the text, so no store keeps it), or typed in the text where no channel sealed it."""
        sealed = (tracker.latest_message.get("metadata") or {}).get(SEALED_CODE_KEY)
        if sealed is not None:
            return open_one_time_code(sealed, self.settings.redaction_secret)
        found = VERIFICATION_CODE.search(_printable(tracker.latest_message.get("text") or ""))
        return found.group(1) if found else None

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        runner = self.runner(tracker, dispatcher, domain)
        operation = runner.catalogue.operations[self.operation_name]
        requested = tracker.get_slot(REQUESTED_SLOT)
        candidates = tracker.slots_to_validate()
        if requested is None:
            return await self._validate_prefilled(runner, operation, candidates)
        if self._wants_to_cancel(tracker, requested):
            return [
                SlotSet(FORM_CANCELLED_SLOT, FormCancelled.BY_CUSTOMER.value),
                SlotSet(REQUESTED_SLOT, None),
            ]
        if self._wants_a_person(tracker):
            return [
                SlotSet(FORM_CANCELLED_SLOT, FormCancelled.FOR_A_PERSON.value),
                SlotSet(REQUESTED_SLOT, None),
            ]
        if requested == VERIFICATION_CODE_SLOT and tracker.get_slot(CONFIRMATION_SLOT) == "yes":
            return await self._while_code_awaited(runner, operation, candidates)
        events: list[EventType] = []
        # An option's title typed back ("Instant (today, up to 10,000 CNY a day)") answers
        # that question only; the amount in its words is not the customer's.
        title_typed = typed_option_title(runner.catalogue.slots.get(requested), tracker)
        for name, value in candidates.items():
            if name != requested and name in operation.slots:
                accepted = (
                    [] if title_typed else await self._validated(runner, operation, name, value)
                )
                events += accepted or [SlotSet(name, value_before_this_turn(tracker, name))]
        if requested == CONFIRMATION_SLOT and self._changes_shown_request(tracker, events):
            # "Yes, but make it 1000": the yes was for another request; show the new one.
            dispatcher.utter_message(response="utter_request_changed")
            return [*events, SlotSet(CONFIRMATION_SLOT, None), SlotSet(REQUEST_SLOT, None)]
        requested_spec = runner.catalogue.slots.get(requested)
        if (
            requested_spec is not None
            and requested_spec.kind == "text"
            and await self._answered_digression(runner, operation)
        ):
            # Free words would take any message as the answer: another request or a question
            # typed here is answered, and the question is asked again.
            return [*events, SlotSet(requested, None)]
        try:
            accepted = await self._validated(
                runner, operation, requested, candidates.get(requested)
            )
        except OperationStopped:
            # The customer has been told why; the form ends without another word.
            return [
                SlotSet(FORM_CANCELLED_SLOT, FormCancelled.TOLD.value),
                SlotSet(REQUEST_SLOT, None),
            ]
        if accepted:
            return [*events, *accepted, SlotSet(FAILED_ANSWERS_SLOT, 0.0)]
        if await self._answered_digression(runner, operation):
            return [*events, SlotSet(requested, None)]
        if asks_a_question(tracker):
            # "Where do I find his account number?" is not a wrong answer: it is told what
            # the question needs, and nothing is counted.
            self._explain(runner, requested)
            return [*events, SlotSet(requested, None)]
        return [*events, *self._count_failure(runner, requested)]

    @staticmethod
    def _changes_shown_request(tracker: Tracker, events: list[EventType]) -> bool:
        shown = shown_slots(tracker)
        return any(
            event.get("name") in shown and event.get("value") != shown[event["name"]]
            for event in events
        )

    async def _while_code_awaited(
        self, runner: OperationRunner, operation: Operation, candidates: dict[str, Any]
    ) -> list[EventType]:
        """The request is frozen once confirmed: only the code, "cancel" or a question without
        side effects are taken. A change voids the code and asks for confirmation again."""
        tracker, dispatcher = runner.tracker, runner.dispatcher
        shown = shown_slots(tracker)
        reverts: list[EventType] = []
        changes: list[EventType] = []
        for name, value in candidates.items():
            if name not in operation.slots:
                continue
            reverts.append(SlotSet(name, shown.get(name)))
            try:
                accepted = await self._validated(runner, operation, name, value)
            except OperationStopped:
                accepted = []
            changes += [event for event in accepted if event.get("value") != shown.get(name)]
        for event in reverts:
            # What runs below must be what was confirmed, not this message's raw words.
            tracker.slots[event["name"]] = event["value"]
        code = self.typed_code(tracker)
        if changes and code is None:
            if await self._answered_digression(runner, operation):
                return [*reverts, SlotSet(VERIFICATION_CODE_SLOT, None)]
            if asks_a_question(tracker):
                # "My other card will keep working, right?" names a card but asks; it does
                # not change the request.
                dispatcher.utter_message(response="utter_waiting_for_code")
                return [*reverts, SlotSet(VERIFICATION_CODE_SLOT, None)]
            dispatcher.utter_message(response="utter_request_changed")
            return [
                *reverts,
                *changes,
                SlotSet(CONFIRMATION_SLOT, None),
                SlotSet(VERIFICATION_ID_SLOT, None),
                SlotSet(VERIFICATION_CODE_SLOT, None),
                SlotSet(REQUEST_SLOT, None),
                SlotSet(FAILED_ANSWERS_SLOT, 0.0),
            ]
        if code is not None:
            try:
                done = await self._verified_and_done(runner, operation, code)
            except OperationStopped:
                return [
                    *reverts,
                    SlotSet(FORM_CANCELLED_SLOT, FormCancelled.TOLD.value),
                    SlotSet(REQUESTED_SLOT, None),
                ]
            if done:
                return [*reverts, *done, SlotSet(FAILED_ANSWERS_SLOT, 0.0)]
        elif await self._answered_digression(runner, operation):
            return [*reverts, SlotSet(VERIFICATION_CODE_SLOT, None)]
        elif (tracker.latest_message.get("text") or "").strip():
            dispatcher.utter_message(response="utter_waiting_for_code")
            return [*reverts, SlotSet(VERIFICATION_CODE_SLOT, None)]
        return [*reverts, *self._count_failure(runner, VERIFICATION_CODE_SLOT)]

    async def _validate_prefilled(
        self, runner: OperationRunner, operation: Operation, candidates: dict[str, Any]
    ) -> list[EventType]:
        events: list[EventType] = []
        for name, value in candidates.items():
            if name in operation.slots and value is not None:
                try:
                    accepted = await self._validated(runner, operation, name, value)
                except OperationStopped:
                    accepted = []
                if not accepted:
                    self._explain_unusable_request_value(runner, name)
                events += accepted or [SlotSet(name, None)]
        return events

    @staticmethod
    def _explain_unusable_request_value(runner: OperationRunner, name: str) -> None:
        """Something the request named that is none of the customer's ("send 200 yuan to 林"
        with no such recipient) is explained before the question, never replaced by another
        of theirs; other unusable values are simply asked for."""
        explanation = f"utter_explain_{name}"
        if runner.catalogue.slots[name].kind == "choice" and explanation in (
            runner.domain.get("responses") or {}
        ):
            runner.dispatcher.utter_message(response=explanation)

    def _wants_to_cancel(self, tracker: Tracker, requested: str) -> bool:
        intent = tracker.latest_message.get("intent") or {}
        text = tracker.latest_message.get("text") or ""
        if CANCEL_WORDS.match(text):
            return True
        if intent.get("name") == "cancel" and intent.get("confidence", 0) >= CANCEL_CONFIDENCE:
            return True
        return requested == CONFIRMATION_SLOT and tracker.get_slot(CONFIRMATION_SLOT) == "no"

    def _wants_a_person(self, tracker: Tracker) -> bool:
        intent = tracker.latest_message.get("intent") or {}
        return (
            intent.get("name") == REQUEST_HUMAN_INTENT
            and intent.get("confidence", 0) >= DIGRESSION_CONFIDENCE
        )

    async def _validated(
        self, runner: OperationRunner, operation: Operation, name: str, value: Any
    ) -> list[EventType]:
        """The events that set an accepted answer; empty when the answer is not usable."""
        text = _printable(str(value)) if value is not None else ""
        if name == CONFIRMATION_SLOT:
            return await self._confirmed(runner, operation, text)
        if name == VERIFICATION_CODE_SLOT:
            # Codes are taken only once the request is confirmed (_while_code_awaited).
            return []
        spec = runner.catalogue.slots.get(name)
        if spec is None or not text:
            return []
        accepted = await self._slot_value(runner, operation, spec, text)
        return [SlotSet(name, accepted)] if accepted is not None else []

    async def _slot_value(
        self, runner: OperationRunner, operation: Operation, spec: SlotSpec, text: str
    ) -> str | None:
        if spec.kind == "choice":
            try:
                items = await runner.options(spec, operation)
            except BackendError:
                return None
            labels = {str(item.get(spec.item_id)): runner.label(spec, item) for item in items}
            chosen = match_choice(
                text,
                runner.latest_entity_values(spec.button_entity),
                items,
                spec.item_id or "",
                spec.match,
                labels,
            )
            return str(chosen.get(spec.item_id)) if chosen else None
        if spec.kind == "money":
            if ONE_TIME_CODE_PLACEHOLDER in text:
                # Six digits alone look like a code to the channel; here they are an amount.
                text = text.replace(
                    ONE_TIME_CODE_PLACEHOLDER, self.typed_code(runner.tracker) or ""
                )
            home = await self._home_currency(runner)
            found = parse_money(text, spec.currencies[0] if spec.currencies else home)
            share = parse_share(text)
            if found is None and share is not None:
                found = await self._share_of_figure(runner, operation, share)
            if found is None or (spec.currencies and found[1] not in spec.currencies):
                return None
            return money_slot_value(*found)
        if spec.kind == "option":
            pressed = runner.latest_entity_values(spec.button_entity)
            return next(
                (value for value in pressed if value in spec.choices),
                match_option(text, spec.choices) or option_in_words(text, spec),
            )
        if spec.kind == "date":
            found_date = (
                parse_future_date(text, date.today(), spec.max_days)
                if spec.future
                else parse_date(text, date.today())
            )
            return found_date.isoformat() if found_date else None
        if spec.kind == "text":
            if text.startswith("/") or len(text) < spec.min_length:
                return None
            if spec.text_format == "account_number":
                return account_number(text)
            if spec.text_format == "person_name":
                return person_name(text)
            return text[:MAX_TEXT_ANSWER]
        return None

    async def _share_of_figure(
        self, runner: OperationRunner, operation: Operation, share: str
    ) -> tuple[Decimal, str] | None:
        """ "Half of it", "the minimum": that part of the figure the operation's
        ``amount_shares`` name (the bill's remaining amount); None where it names none, so
        the customer is asked for a figure rather than given a guess."""
        shares = operation.amount_shares
        figure_key = shares.get("minimum" if share == "minimum" else "all")
        spec = runner.catalogue.slots.get(shares.get("of", ""))
        if spec is None or not figure_key:
            return None
        chosen = str(runner.tracker.get_slot(spec.name))
        try:
            items = await runner.options(spec, operation)
        except BackendError:
            return None
        item = next((i for i in items if str(i.get(spec.item_id)) == chosen), {})
        figure = item.get(figure_key)
        if not isinstance(figure, dict):
            return None
        amount = share_of(Decimal(str(figure["amount"])), share)
        return (amount, str(figure["currency"])) if amount > 0 else None

    async def _home_currency(self, runner: OperationRunner) -> str:
        try:
            return str((await runner.profile()).get("home_currency") or "CNY")
        except BackendError:
            return "CNY"

    async def _confirmed(
        self, runner: OperationRunner, operation: Operation, text: str
    ) -> list[EventType]:
        if text != "yes" or runner.tracker.get_slot(REQUEST_SLOT) is None:
            return []
        if not operation.verification:
            return [SlotSet(CONFIRMATION_SLOT, "yes")]
        try:
            started = await runner.client.start_verification(
                runner.customer_id(), operation.verification
            )
        except BackendError as error:
            runner.dispatcher.utter_message(
                response=(
                    "utter_verification_impossible"
                    if error.code == "account_locked"
                    else "utter_backend_unavailable"
                )
            )
            raise OperationStopped from error
        runner.dispatcher.utter_message(
            response="utter_verification_code_sent",
            delivered_to=started.get("delivered_to", "your phone"),
        )
        return [
            SlotSet(CONFIRMATION_SLOT, "yes"),
            SlotSet(VERIFICATION_ID_SLOT, started["verification_id"]),
        ]

    async def _verified_and_done(
        self, runner: OperationRunner, operation: Operation, code: str
    ) -> list[EventType]:
        """Checks the code and carries the confirmed request out at once, so the back end's
        step-up token lives only in this call and is never stored in the conversation."""
        verification_id = runner.tracker.get_slot(VERIFICATION_ID_SLOT)
        if not verification_id:
            return []
        try:
            token = await runner.client.confirm_verification(
                runner.customer_id(), verification_id, code
            )
        except BackendError as error:
            if error.code == "verification_code_invalid":
                return []
            if error.kind in {"rejected", "not_found", "conflict"}:
                runner.dispatcher.utter_message(response="utter_verification_failed")
                raise OperationStopped from error
            if error.kind == "unavailable":
                runner.dispatcher.utter_message(response="utter_backend_unavailable")
                raise OperationStopped from error
            return []
        outcome, events = await runner.execute(operation, verification_token=token)
        return [
            SlotSet(VERIFICATION_CODE_SLOT, "verified"),
            SlotSet(OUTCOME_SLOT, outcome.value),
            *events,
        ]

    @staticmethod
    def _digression_intent(runner: OperationRunner, operation: Operation) -> str | None:
        """The request or question the latest message is instead of an answer, if any: the
        NLU's top intent when it is sure; for a message asking a question, also the best-ranked
        question the assistant can answer on the way when the NLU is less sure ("what's my
        bill?", which the repayment question itself suggests). The form's own request is an
        answer to it, never a digression."""
        catalogue = runner.catalogue
        message = runner.tracker.latest_message

        def another_request(name: str) -> bool:
            return name != operation.name and (
                name in catalogue.digression_replies or name in catalogue.operations
            )

        top = message.get("intent") or {}
        if top.get("confidence", 0) >= DIGRESSION_CONFIDENCE and another_request(
            top.get("name") or ""
        ):
            return str(top["name"])
        if not asks_a_question(runner.tracker):
            return None
        for ranked in [top, *(message.get("intent_ranking") or [])]:
            name = ranked.get("name") or ""
            answerable = name in catalogue.digression_replies or (
                name in catalogue.operations and not catalogue.operations[name].is_form
            )
            if (
                ranked.get("confidence", 0) >= QUESTION_DIGRESSION_CONFIDENCE
                and another_request(name)
                and answerable
            ):
                return str(name)
        return None

    async def _answered_digression(self, runner: OperationRunner, operation: Operation) -> bool:
        catalogue, dispatcher = runner.catalogue, runner.dispatcher
        name = self._digression_intent(runner, operation)
        if name is None:
            return False
        if name in catalogue.digression_replies:
            dispatcher.utter_message(response=catalogue.digression_replies[name])
            return True
        other = catalogue.operations[name]
        if other.is_form:
            dispatcher.utter_message(response="utter_one_request_at_a_time")
            return True
        await runner.answer(other)
        dispatcher.utter_message(response="utter_back_to_form")
        return True

    @staticmethod
    def _explain(runner: OperationRunner, requested: str) -> None:
        explanation = f"utter_explain_{requested}"
        runner.dispatcher.utter_message(
            response=explanation
            if explanation in (runner.domain.get("responses") or {})
            else "utter_explain_generic"
        )

    @staticmethod
    def _has_format(runner: OperationRunner, requested: str) -> bool:
        spec = runner.catalogue.slots.get(requested)
        return spec is not None and spec.text_format is not None

    def _count_failure(self, runner: OperationRunner, requested: str) -> list[EventType]:
        tracker, dispatcher = runner.tracker, runner.dispatcher
        failures = int(tracker.get_slot(FAILED_ANSWERS_SLOT) or 0) + 1
        if latest_intent(tracker) == "affirm" and failures > FAILURES_BEFORE_OFFERING_TO_CANCEL:
            # "Continue" after the continue-or-cancel question: a fresh start on this question.
            return [SlotSet(requested, None), SlotSet(FAILED_ANSWERS_SLOT, 0.0)]
        if requested == VERIFICATION_CODE_SLOT:
            dispatcher.utter_message(response="utter_verification_code_wrong")
        elif failures >= FAILURES_BEFORE_OFFERING_TO_CANCEL:
            dispatcher.utter_message(response="utter_continue_or_cancel")
        elif failures >= FAILURES_BEFORE_EXPLAINING or self._has_format(runner, requested):
            # An answer in the wrong form is told at once what form is expected.
            self._explain(runner, requested)
        else:
            dispatcher.utter_message(response="utter_answer_not_usable")
        return [SlotSet(requested, None), SlotSet(FAILED_ANSWERS_SLOT, float(failures))]


class OperationSlotQuestion(OperationAction):
    """``action_ask_<form>_<slot>``: asks for one answer, with buttons where there is a list
    to choose from, and words the confirmation with the request's real figures."""

    @property
    @abstractmethod
    def operation_name(self) -> str:
        """The registry operation whose form asks."""

    @property
    @abstractmethod
    def slot_name(self) -> str:
        """The slot asked for."""

    def name(self) -> str:
        return f"action_ask_{self.operation_name}_form_{self.slot_name}"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        catalogue = default_catalogue()
        operation = catalogue.operations[self.operation_name]
        runner = self.runner(tracker, dispatcher, domain)
        try:
            if self.slot_name == CONFIRMATION_SLOT:
                return await self._ask_confirmation(runner, operation, domain)
            spec = catalogue.slots.get(self.slot_name)
            response = self._question(domain)
            if spec is not None and spec.kind == "choice":
                items = await runner.options(spec, operation)
                dispatcher.utter_message(
                    response=response,
                    buttons=[
                        {
                            "title": runner.label(spec, item),
                            "payload": button_payload(
                                "inform", spec.button_entity, item.get(spec.item_id)
                            ),
                        }
                        for item in items[:6]
                    ],
                )
            elif spec is not None and spec.kind == "option":
                dispatcher.utter_message(
                    response=response,
                    buttons=[
                        {
                            "title": title,
                            "payload": button_payload("inform", spec.button_entity, key),
                        }
                        for key, title in spec.choices.items()
                    ],
                )
            else:
                dispatcher.utter_message(response=response)
        except OperationStopped:
            return []
        except BackendError as error:
            runner.explain_failure(operation, error)
        return []

    def _question(self, domain: dict[str, Any]) -> str:
        return self._question_for(self.slot_name, domain)

    def _question_for(self, slot: str, domain: dict[str, Any]) -> str:
        specific = f"utter_ask_{self.operation_name}_form_{slot}"
        if specific in (domain.get("responses") or {}):
            return specific
        return f"utter_ask_{slot}"

    async def _ask_confirmation(
        self, runner: OperationRunner, operation: Operation, domain: dict[str, Any]
    ) -> list[EventType]:
        context = await runner.slot_context(operation)
        short = runner.shortfall(operation, context)
        if short is not None:
            # Said before the yes and the code, not after them; the amount is asked again.
            runner.dispatcher.utter_message(
                response="utter_operation_refused",
                reason="The account balance is too low for this amount.",
            )
            runner.dispatcher.utter_message(response=self._question_for(short, domain))
            return [SlotSet(short, None), SlotSet(REQUESTED_SLOT, short)]
        foreign = runner.foreign_amount(operation, context)
        if foreign is not None:
            slot, held = foreign
            runner.dispatcher.utter_message(
                response="utter_operation_refused",
                reason=(
                    f"The account it would come from holds {held}, and I won't change the "
                    f"currency of {runner.tracker.get_slot(slot)} for you. Please give "
                    f"the amount in {held}."
                ),
            )
            runner.dispatcher.utter_message(response=self._question_for(slot, domain))
            return [SlotSet(slot, None), SlotSet(REQUESTED_SLOT, slot)]
        events: list[EventType] = []
        values = context_values(context)
        quote_json = runner.tracker.get_slot(QUOTE_SLOT)
        if operation.quote is not None:
            quote = await runner.quote(operation, context)
            values.update(display_values(quote, "quote", customer_zone(context.get("profile"))))
            quote_json = json.dumps(quote)
            events.append(SlotSet(QUOTE_SLOT, quote_json))
        assert operation.confirm is not None
        runner.dispatcher.utter_message(
            response=operation.confirm,
            buttons=[
                {"title": "Yes, go ahead", "payload": "/affirm"},
                {"title": "No, cancel", "payload": "/cancel"},
            ],
            **values,
        )
        if response_text(domain, operation.confirm) is None:
            raise OperationStopped
        answers = {name: runner.tracker.get_slot(name) for name in operation.slots}
        events.append(SlotSet(REQUEST_SLOT, request_snapshot(operation, answers, quote_json)))
        return events


def _generated_actions(catalogue: Catalogue) -> list[type[Action]]:
    """One class per entry of registry.forms.form_actions (registry/generated_actions.md)."""
    generated: list[type[Action]] = []
    for action in form_actions(catalogue):
        if action.slot is None:
            generated.append(
                type(
                    action.class_name,
                    (OperationFormValidator,),
                    {"operation_name": action.operation},
                )
            )
        else:
            generated.append(
                type(
                    action.class_name,
                    (OperationSlotQuestion,),
                    {"operation_name": action.operation, "slot_name": action.slot},
                )
            )
    return generated


# rasa_sdk registers every Action subclass that exists once the actions package is imported.
GENERATED_ACTIONS = _generated_actions(default_catalogue())
