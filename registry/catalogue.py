"""The capability registry: what each product line can do and how (capabilities/<line>.yml).

A line's file names its intents in customers' words (for clarifying buttons and "what can you
do?"), the products a customer must hold for it, the slots its operations ask for, and its
operations: which back-end call answers an intent, which slots it needs, whether it moves money
or changes something (and then asks for confirmation and step-up verification), and which
response words the answer. Generic actions (actions/operations.py) execute the operations and
registry/rasa_domain.py turns them into forms, slots and rules, so a new operation needs YAML
and training data, not Python.

Every file is validated at load against registry/capabilities.schema.json, then every
reference between entries is resolved; a mistake is a ``RegistryError`` whose problems name
the file, the line, the key and the fix. registry/README.md documents every key.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from registry.slots import CONFIRMATION_SLOT, VERIFICATION_CODE_SLOT

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# CAPABILITIES_DIR points the action server at another registry (a test's, say).
CAPABILITIES_DIR = Path(os.environ.get("CAPABILITIES_DIR") or PROJECT_ROOT / "capabilities")
SCHEMA_PATH = Path(__file__).with_name("capabilities.schema.json")
GENERAL_LINE = "general"
# ``{card.card_id}`` in a call, ``{card_card_number_masked}`` in a response.
PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_.]+)\}")
# What a call's placeholders may start with besides the operation's slots.
PROFILE_ROOT = "profile"
QUOTE_ROOT = "quote"

KeyPath = tuple[str | int, ...]
TYPE_WORDS = {
    "object": "a mapping of keys",
    "array": "a list",
    "string": "a text",
    "integer": "a whole number",
    "boolean": "true or false",
}


@dataclass(frozen=True)
class Problem:
    """One mistake in a designer's YAML: where it is, what is wrong, and how to fix it."""

    file: str
    line: int | None
    key: str
    message: str
    fix: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"
        return f"{text}. {self.fix}" if self.fix else text


class RegistryError(ValueError):
    """A capabilities file that cannot work; raised when the registry is loaded."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


def did_you_mean(wrong: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(wrong, sorted(set(known)), n=1, cutoff=0.6)
    return f"Did you mean {close[0]!r}?" if close else ""


def dotted(path: Iterable[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


@dataclass(frozen=True)
class Source:
    """A YAML file as read, with the line of every key and list item in it."""

    label: str
    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def line(self, *path: str | int) -> int | None:
        """The line of ``path``, or of the nearest enclosing key that has one."""
        key: KeyPath = tuple(path)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return self.lines.get(())

    def problem(self, path: KeyPath, message: str, fix: str = "") -> Problem:
        return Problem(self.label, self.line(*path), dotted(path), message, fix)


def display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def read_source(path: Path) -> Source:
    """Reads a YAML file, keeping each node's line; a syntax error becomes a RegistryError."""
    label = display_path(path)
    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise RegistryError(
            [
                Problem(
                    label,
                    mark.line + 1 if mark else None,
                    "",
                    f"is not valid YAML ({getattr(error, 'problem', error)})",
                    "Check the indentation and quoting on that line.",
                )
            ]
        ) from error
    lines: dict[KeyPath, int] = {(): 1}
    _record_lines(node, (), lines)
    return Source(label, data if data is not None else {}, lines)


def _record_lines(node: yaml.Node | None, path: KeyPath, lines: dict[KeyPath, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key_path = (*path, str(key_node.value))
            lines[key_path] = key_node.start_mark.line + 1
            _record_lines(value_node, key_path, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*path, index)] = item.start_mark.line + 1
            _record_lines(item, (*path, index), lines)


@dataclass(frozen=True)
class Call:
    method: str
    path: str

    @classmethod
    def parse(cls, text: str) -> Call:
        """A call the schema has already checked reads like ``GET /v1/...``."""
        method, _, path = str(text).strip().partition(" ")
        return cls(method.upper(), path.strip())


@dataclass(frozen=True)
class SlotSpec:
    """Something an operation needs from the customer, and how an answer is checked.

    choice: one of the customer's own things, listed by ``options_call`` (a card, an account,
    a saved recipient; ``items: "."`` when the call answers with the one thing itself, like the
    current bill); the answer must match one of them. money: a positive amount with a
    currency, one of ``currencies`` when given. option: one of fixed ``choices``, also named
    by its ``words``. text: free words of at least ``min_length`` characters, in the
    ``text_format`` when one is given. date: a calendar date, in the past unless
    ``future`` (then up to ``max_days`` ahead).
    """

    name: str
    kind: str
    entity: str | None = None
    options_call: Call | None = None
    items: str | None = None
    item_id: str | None = None
    match: tuple[str, ...] = ()
    label: str = "{id}"
    # An item's date and amount keys: "the transfer two days ago", "the 500 one".
    date_key: str | None = None
    amount_key: str | None = None
    choices: dict[str, str] = field(default_factory=dict)
    # The words customers use for each choice ("nicked" for stolen).
    words: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # The choice taken when the request names none: the question is then not asked.
    default: str | None = None
    min_length: int = 1
    # The form a text answer must have (``account_number``, ``person_name``), checked as the
    # customer answers.
    text_format: str | None = None
    currencies: tuple[str, ...] = ()
    future: bool = False
    max_days: int = 365
    source: str = ""

    @property
    def button_entity(self) -> str:
        """The entity a button for this slot's answer carries: its own entity, else its name
        (the importer declares it, so Rasa keeps it in the payload)."""
        return self.entity or self.name


@dataclass(frozen=True)
class Operation:
    """One thing the assistant does for a customer, triggered by the intent of the same name."""

    name: str
    line: str
    call: Call
    answer: str
    needs: tuple[str, ...] = ()
    target: str | None = None
    target_filter: dict[str, tuple[str, ...]] = field(default_factory=dict)
    pick_latest: bool = False
    target_preference: dict[str, tuple[str, ...]] = field(default_factory=dict)
    no_target: str | None = None
    slots: tuple[str, ...] = ()
    confirm: str | None = None
    verification: str | None = None
    body: dict[str, Any] = field(default_factory=dict)
    list_key: str | None = None
    answer_by: str | None = None
    empty: str | None = None
    then: str | None = None
    quote: Call | None = None
    quote_body: dict[str, Any] = field(default_factory=dict)
    # The choice slot whose item (an account) pays the money slot: its balance is checked
    # before the customer is asked to confirm, not after the code.
    pays_from: str | None = None
    # Requests this one continues: ``{operation: {this slot: that slot}}``. Their answers are
    # carried over, not asked again (the card just blocked, and why, for its replacement).
    follows: dict[str, dict[str, str]] = field(default_factory=dict)
    # What "all of it", "half of it" and "the minimum" are of: ``of`` names the choice slot
    # (the bill), ``all`` and ``minimum`` its item's money fields.
    amount_shares: dict[str, str] = field(default_factory=dict)
    source: str = ""

    @property
    def is_form(self) -> bool:
        return bool(self.slots or self.confirm)

    @property
    def form_name(self) -> str:
        return f"{self.name}_form"

    @property
    def required_slots(self) -> list[str]:
        required = list(self.slots)
        if self.confirm:
            required.append(CONFIRMATION_SLOT)
        if self.verification:
            required.append(VERIFICATION_CODE_SLOT)
        return required


@dataclass(frozen=True)
class HandoffPolicy:
    """Which agents' queue serves a line, and the cases its policy sends to a person.

    ``intents``: requests a person always handles (a complaint); ``after``: answers after which
    a person takes over (a fraud report filed, an account only a specialist can unlock).
    """

    skill: str
    intents: tuple[str, ...] = ()
    after: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scenario:
    """What the assistant says first after one kind of back-end event (``payment_failed``):
    ``offer``, the button shown when the customer opens the chat, and ``notice``, the message
    sent when the event happens (none when absent); both lead to the ``question`` operation,
    with the event's reference as its ``entity`` so the flow starts on that item. ``details``
    reads the item: its answer's keys fill the wording, beside ``{when}`` (the event's time).
    """

    event: str
    line: str
    question: str
    offer: str
    notice: str | None = None
    entity: str | None = None
    details: Call | None = None
    source: str = ""


@dataclass(frozen=True)
class ProductLine:
    name: str
    title: str
    summary: str
    intent_descriptions: dict[str, str] = field(default_factory=dict)
    products: tuple[str, ...] = ()
    not_held: str | None = None
    handoff: HandoffPolicy = field(default_factory=lambda: HandoffPolicy(skill=GENERAL_LINE))
    source: str = ""


@dataclass(frozen=True)
class Catalogue:
    lines: tuple[ProductLine, ...]
    operations: dict[str, Operation] = field(default_factory=dict)
    slots: dict[str, SlotSpec] = field(default_factory=dict)
    disambiguation: dict[str, tuple[str, ...]] = field(default_factory=dict)
    digression_replies: dict[str, str] = field(default_factory=dict)
    # Proactive scenarios by the back-end event kind they follow.
    scenarios: dict[str, Scenario] = field(default_factory=dict)
    # The files as read, by label, so a later check can say on which line a key is.
    sources: dict[str, Source] = field(default_factory=dict, compare=False, repr=False)

    def describe(self, intent: str) -> str | None:
        for line in self.lines:
            if intent in line.intent_descriptions:
                return line.intent_descriptions[intent]
        return None

    def line(self, name: str) -> ProductLine | None:
        return next((line for line in self.lines if line.name == name), None)

    def line_of_intent(self, intent: str) -> ProductLine | None:
        operation = self.operations.get(intent)
        if operation is not None:
            return self.line(operation.line)
        return next((line for line in self.lines if intent in line.intent_descriptions), None)

    def handoff_skill(self, intent: str | None) -> str:
        line = self.line_of_intent(intent or "")
        return line.handoff.skill if line else GENERAL_LINE

    def policy_handoff_intents(self) -> set[str]:
        return {intent for line in self.lines for intent in line.handoff.intents}

    def hands_off_after(self, response: str) -> bool:
        return any(response in line.handoff.after for line in self.lines)

    def product_lines_in(self, domain_intents: list[str]) -> list[ProductLine]:
        """Product lines (not the general layer) that have at least one trained intent."""
        known = set(domain_intents)
        return [
            line
            for line in self.lines
            if line.name != GENERAL_LINE and known.intersection(line.intent_descriptions)
        ]

    def forms(self) -> list[Operation]:
        return [operation for operation in self.operations.values() if operation.is_form]

    def form_operation(self, form_name: str) -> Operation | None:
        return next((op for op in self.forms() if op.form_name == form_name), None)

    def intents(self) -> list[str]:
        names = {intent for line in self.lines for intent in line.intent_descriptions}
        names.update(self.operations)
        names.update(self.disambiguation)
        return sorted(names)

    def problem(self, source: str, path: KeyPath, message: str, fix: str = "") -> Problem:
        """A problem at ``path`` of the file ``source`` (a label of ``sources``)."""
        known = self.sources.get(source)
        if known is None:
            return Problem(source, None, dotted(path), message, fix)
        return known.problem(path, message, fix)


# -- schema ---------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def schema_validator() -> Draft202012Validator:
    return Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


def schema_problems(source: Source) -> list[Problem]:
    """Every way ``source`` breaks the written schema, in the order of its lines."""
    problems = {
        problem: None
        for error in schema_validator().iter_errors(source.data)
        for problem in _explained(source, error)
    }
    return sorted(problems, key=lambda problem: problem.line or 0)


def _explained(source: Source, error: ValidationError) -> Iterator[Problem]:
    path: KeyPath = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "anyOf" and error.context:
        # The alternative that fits the value's type says what is wrong with it.
        fitting = [each for each in error.context if each.validator != "type"]
        if fitting:
            for each in fitting:
                yield from _explained(source, each)
            return
        yield source.problem(path, f"{error.instance!r} is not {_described(schema)}")
        return
    if error.validator == "additionalProperties":
        allowed = list(schema.get("properties") or {})
        for key in sorted(set(error.instance) - set(allowed)):
            fix = did_you_mean(str(key), allowed) or f"The keys here are {', '.join(allowed)}."
            yield source.problem((*path, key), f"unknown key {key!r}", fix)
        return
    if error.validator in {"required", "dependentRequired"}:
        # jsonschema reports each missing key as an error of its own; schema_problems drops
        # the repeats this gives.
        wanted = (
            error.validator_value
            if error.validator == "required"
            else [name for names in error.validator_value.values() for name in names]
        )
        reason = (
            " (an operation with verification asks for an explicit yes first)"
            if error.validator == "dependentRequired"
            else ""
        )
        for key in wanted:
            if key in error.instance:
                continue
            described = ((schema.get("properties") or {}).get(key) or {}).get("description")
            yield source.problem(
                path,
                f"needs {key!r}{reason}",
                f"Add {key}: {described}." if described else f"Add {key}.",
            )
        return
    if error.validator == "enum":
        allowed = [str(value) for value in error.validator_value]
        yield source.problem(
            path,
            f"must be one of {', '.join(allowed)}, not {error.instance!r}",
            did_you_mean(str(error.instance), allowed),
        )
        return
    if error.validator == "propertyNames":
        yield source.problem(
            path,
            f"{error.instance!r} is not a usable name",
            "Use lower case letters, digits and underscores.",
        )
        return
    if error.validator == "type":
        kind = TYPE_WORDS.get(str(error.validator_value), str(error.validator_value))
        described = schema.get("description")
        yield source.problem(
            path,
            f"must be {kind}, not {error.instance!r}",
            f"Write {described}." if described else "",
        )
        return
    yield source.problem(path, f"{error.instance!r} is not {_described(schema)}")


def _described(schema: dict[str, Any]) -> str:
    return str(schema.get("description") or "allowed here")


# -- loading ----------------------------------------------------------------------------------
def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(str(item) for item in value)
    return (str(value),)


def _slot_spec(name: str, content: dict[str, Any], source: str) -> SlotSpec:
    kind = content["kind"]
    return SlotSpec(
        name=name,
        kind=kind,
        entity=content.get("entity"),
        options_call=Call.parse(content["options"]) if kind == "choice" else None,
        items=content.get("items"),
        item_id=content.get("id"),
        match=tuple(content.get("match") or ()),
        label=str(content.get("label", "{id}")),
        date_key=content.get("date_key"),
        amount_key=content.get("amount_key"),
        choices={str(k): str(v) for k, v in (content.get("choices") or {}).items()},
        words={str(k): _as_tuple(v) for k, v in (content.get("words") or {}).items()},
        default=content.get("default"),
        min_length=int(content.get("min_length", 1)),
        text_format=content.get("format"),
        currencies=tuple(str(code).upper() for code in content.get("currencies") or ()),
        future=bool(content.get("future", False)),
        max_days=int(content.get("max_days", 365)),
        source=source,
    )


def _operation(name: str, line: str, content: dict[str, Any], source: str) -> Operation:
    quote = content.get("quote") or {}
    target = content.get("target") or {}
    if isinstance(target, str):
        target = {"slot": target}
    return Operation(
        name=name,
        line=line,
        call=Call.parse(content["call"]),
        answer=str(content["answer"]),
        needs=_as_tuple(content.get("needs")),
        target=target.get("slot"),
        target_filter={key: _as_tuple(value) for key, value in (target.get("where") or {}).items()},
        pick_latest=bool(target.get("latest", False)),
        target_preference={
            key: _as_tuple(value) for key, value in (target.get("prefer") or {}).items()
        },
        no_target=target.get("none"),
        slots=_as_tuple(content.get("slots")),
        confirm=content.get("confirm"),
        verification=content.get("verification"),
        body=dict(content.get("body") or {}),
        list_key=content.get("list"),
        answer_by=content.get("answer_by"),
        empty=content.get("empty"),
        then=content.get("then"),
        quote=Call.parse(quote["call"]) if quote else None,
        quote_body=dict(quote.get("body") or {}),
        pays_from=content.get("pays_from"),
        follows={
            str(earlier): {str(k): str(v) for k, v in slots.items()}
            for earlier, slots in (content.get("follows") or {}).items()
        },
        amount_shares={str(k): str(v) for k, v in (content.get("amount_shares") or {}).items()},
        source=source,
    )


def _scenario(event: str, line: str, content: dict[str, Any], source: str) -> Scenario:
    return Scenario(
        event=event,
        line=line,
        question=str(content["question"]),
        offer=str(content["offer"]),
        notice=content.get("notice"),
        entity=content.get("entity"),
        details=Call.parse(content["details"]) if content.get("details") else None,
        source=source,
    )


def _handoff_policy(line: str, content: dict[str, Any]) -> HandoffPolicy:
    return HandoffPolicy(
        skill=str(content.get("skill") or line),
        intents=_as_tuple(content.get("intents")),
        after=_as_tuple(content.get("after")),
    )


def read_sources(directory: Path) -> list[Source]:
    """The directory's capabilities files, each checked against the schema."""
    sources: list[Source] = []
    problems: list[Problem] = []
    for path in sorted(directory.glob("*.yml")):
        try:
            source = read_source(path)
        except RegistryError as error:
            problems += error.problems
            continue
        if not isinstance(source.data, dict):
            problems.append(
                source.problem(
                    (),
                    "is not a mapping of keys",
                    "Start the file with line:, title: and summary:.",
                )
            )
            continue
        problems += schema_problems(source)
        sources.append(source)
    if problems:
        raise RegistryError(problems)
    return sources


def load_catalogue(directory: Path | None = None) -> Catalogue:
    sources = read_sources(directory or CAPABILITIES_DIR)
    lines: list[ProductLine] = []
    operations: dict[str, Operation] = {}
    slots: dict[str, SlotSpec] = {}
    disambiguation: dict[str, tuple[str, ...]] = {}
    digression_replies: dict[str, str] = {}
    scenarios: dict[str, Scenario] = {}
    problems: list[Problem] = []
    for source in sources:
        content = source.data
        name = content.get("line", Path(source.label).stem)
        lines.append(
            ProductLine(
                name=name,
                title=content.get("title", Path(source.label).stem.title()),
                summary=content.get("summary", ""),
                intent_descriptions={
                    str(intent): str(text)
                    for intent, text in (content.get("intents") or {}).items()
                },
                products=_as_tuple(content.get("products")),
                not_held=content.get("not_held"),
                handoff=_handoff_policy(name, content.get("handoff") or {}),
                source=source.label,
            )
        )
        for slot_name, slot_content in (content.get("slots") or {}).items():
            if slot_name in slots:
                problems.append(
                    source.problem(
                        ("slots", slot_name),
                        "is already defined",
                        f"It is in {slots[slot_name].source}; give this one another name.",
                    )
                )
                continue
            slots[slot_name] = _slot_spec(slot_name, slot_content, source.label)
        for operation_name, operation_content in (content.get("operations") or {}).items():
            if operation_name in operations:
                problems.append(
                    source.problem(
                        ("operations", operation_name),
                        "is defined twice",
                        f"It is also in {operations[operation_name].source}.",
                    )
                )
                continue
            operations[operation_name] = _operation(
                operation_name, name, operation_content, source.label
            )
        for intent, options in (content.get("disambiguation") or {}).items():
            disambiguation[str(intent)] = _as_tuple(options)
        digression_replies.update(content.get("digression_replies") or {})
        for event, scenario_content in (content.get("proactive") or {}).items():
            if event in scenarios:
                problems.append(
                    source.problem(
                        ("proactive", event),
                        "already has a scenario",
                        f"It is in {scenarios[event].source}; one event kind has one scenario.",
                    )
                )
                continue
            scenarios[event] = _scenario(event, name, scenario_content, source.label)
    catalogue = Catalogue(
        tuple(lines),
        operations,
        slots,
        disambiguation,
        digression_replies,
        scenarios,
        {source.label: source for source in sources},
    )
    problems += reference_problems(catalogue)
    if problems:
        raise RegistryError(problems)
    return catalogue


# -- references between entries ---------------------------------------------------------------
def reference_problems(catalogue: Catalogue) -> list[Problem]:
    """Names that point at nothing: slots, operations, intents and call placeholders."""
    problems: list[Problem] = []
    for operation in catalogue.operations.values():
        slot_problems = _slot_reference_problems(catalogue, operation)
        # With a slot unknown, its placeholders would only repeat the same mistake.
        problems += slot_problems or _call_placeholder_problems(catalogue, operation)
    known_intents = catalogue.intents()
    for line in catalogue.lines:
        for index, intent in enumerate(line.handoff.intents):
            if intent not in known_intents:
                problems.append(
                    catalogue.problem(
                        line.source,
                        ("handoff", "intents", index),
                        f"{intent!r} is not an intent of the registry",
                        did_you_mean(intent, known_intents)
                        or "Name it under intents: or operations: first.",
                    )
                )
    for intent, options in catalogue.disambiguation.items():
        source = _source_defining(catalogue, "disambiguation", intent)
        for index, option in enumerate(options):
            if option not in catalogue.operations:
                problems.append(
                    catalogue.problem(
                        source,
                        ("disambiguation", intent, index),
                        f"unknown operation {option!r}",
                        did_you_mean(option, catalogue.operations)
                        or "List operations defined under operations:.",
                    )
                )
    for scenario in catalogue.scenarios.values():
        problems += _scenario_problems(catalogue, scenario)
    return problems


# What a scenario's wording may name besides its details' keys: when the event happened.
SCENARIO_WHEN = "when"
SCENARIO_REFERENCE = "reference"


def _scenario_problems(catalogue: Catalogue, scenario: Scenario) -> list[Problem]:
    at = ("proactive", scenario.event)
    operation = catalogue.operations.get(scenario.question)
    if operation is None:
        return [
            catalogue.problem(
                scenario.source,
                (*at, "question"),
                f"unknown operation {scenario.question!r}",
                did_you_mean(scenario.question, catalogue.operations)
                or "Name an operation defined under operations:.",
            )
        ]
    problems: list[Problem] = []
    if scenario.entity is not None:
        slot_names = [*operation.slots, *([operation.target] if operation.target else [])]
        entities = {
            catalogue.slots[name].button_entity for name in slot_names if name in catalogue.slots
        }
        if scenario.entity not in entities:
            problems.append(
                catalogue.problem(
                    scenario.source,
                    (*at, "entity"),
                    f"{scenario.question} does not take the entity {scenario.entity!r}",
                    f"Use one of: {', '.join(sorted(entities))}."
                    if entities
                    else "Leave entity out: the operation takes no item.",
                )
            )
    if scenario.details is not None:
        if scenario.details.method != "GET":
            problems.append(
                catalogue.problem(
                    scenario.source,
                    (*at, "details"),
                    "must read, not change anything",
                    "Use a GET call.",
                )
            )
        for placeholder in PLACEHOLDER.findall(scenario.details.path):
            if placeholder != SCENARIO_REFERENCE:
                problems.append(
                    catalogue.problem(
                        scenario.source,
                        (*at, "details"),
                        f"{{{placeholder}}} is not known when the event happens",
                        "Only {reference}, the event's reference, can be used.",
                    )
                )
    for key in ("offer", "notice"):
        wording = getattr(scenario, key)
        for placeholder in PLACEHOLDER.findall(wording or ""):
            if placeholder != SCENARIO_WHEN and scenario.details is None:
                problems.append(
                    catalogue.problem(
                        scenario.source,
                        (*at, key),
                        f"{{{placeholder}}} has nothing to come from",
                        "Add details: (a GET of the event's item) or use only {when}.",
                    )
                )
    return problems


def _source_defining(catalogue: Catalogue, section: str, key: str) -> str:
    return next(
        (
            label
            for label, source in catalogue.sources.items()
            if key in (source.data.get(section) or {})
        ),
        "capabilities",
    )


def _slot_reference_problems(catalogue: Catalogue, operation: Operation) -> list[Problem]:
    problems: list[Problem] = []
    at = ("operations", operation.name)
    for index, slot in enumerate(operation.slots):
        if slot not in catalogue.slots:
            problems.append(
                catalogue.problem(
                    operation.source,
                    (*at, "slots", index),
                    f"unknown slot {slot!r}",
                    did_you_mean(slot, catalogue.slots) or "Define it under slots: first.",
                )
            )
    target = operation.target
    if target and target not in catalogue.slots:
        problems.append(
            catalogue.problem(
                operation.source,
                (*at, "target"),
                f"unknown slot {target!r}",
                did_you_mean(target, catalogue.slots) or "Define it under slots: first.",
            )
        )
    elif target and catalogue.slots[target].kind != "choice":
        problems.append(
            catalogue.problem(
                operation.source,
                (*at, "target"),
                f"a target must be a choice slot, not {target!r}",
                "Name a slot of kind choice.",
            )
        )
    choices = [
        name
        for name in operation.slots
        if name in catalogue.slots and catalogue.slots[name].kind == "choice"
    ]
    if operation.pays_from and operation.pays_from not in choices:
        problems.append(
            catalogue.problem(
                operation.source,
                (*at, "pays_from"),
                "pays_from must name one of its choice slots",
                did_you_mean(operation.pays_from, choices)
                or f"One of: {', '.join(choices) or 'none (add a choice slot under slots:)'}.",
            )
        )
    shares_of = operation.amount_shares.get("of")
    if shares_of and shares_of not in choices:
        problems.append(
            catalogue.problem(
                operation.source,
                (*at, "amount_shares", "of"),
                "amount_shares.of must name one of its choice slots",
                did_you_mean(shares_of, choices)
                or f"One of: {', '.join(choices) or 'none (add a choice slot under slots:)'}.",
            )
        )
    return problems + _follows_problems(catalogue, operation)


def _follows_problems(catalogue: Catalogue, operation: Operation) -> list[Problem]:
    """``follows`` names an operation, and slots of this one and of that one."""
    problems: list[Problem] = []
    at = ("operations", operation.name, "follows")
    for earlier, slots in operation.follows.items():
        before = catalogue.operations.get(earlier)
        if before is None:
            problems.append(
                catalogue.problem(
                    operation.source,
                    (*at, earlier),
                    f"unknown operation {earlier!r}",
                    did_you_mean(earlier, catalogue.operations),
                )
            )
            continue
        for mine, theirs in slots.items():
            for name, owner in ((mine, operation), (theirs, before)):
                if name not in owner.slots:
                    problems.append(
                        catalogue.problem(
                            operation.source,
                            (*at, earlier, mine),
                            f"{name!r} is not a slot of {owner.name}",
                            did_you_mean(name, owner.slots)
                            or f"Its slots: {', '.join(owner.slots) or 'none'}.",
                        )
                    )
    return problems


def call_context_roots(
    catalogue: Catalogue, operation: Operation, for_quote: bool = False
) -> set[str]:
    """What a call's ``{root.key}`` placeholders may start with (see OperationRunner).

    A question's call is filled from the customer's profile and its target; a form's from the
    profile, its answers (an option's words as ``<slot>_label``) and, once quoted, the quote.
    """
    roots = {PROFILE_ROOT}
    if not operation.is_form:
        return roots | ({operation.target} if operation.target else set())
    roots.update(operation.slots)
    roots.update(
        f"{name}_label"
        for name in operation.slots
        if name in catalogue.slots and catalogue.slots[name].kind == "option"
    )
    if operation.quote is not None and not for_quote:
        roots.add(QUOTE_ROOT)
    return roots


def _strings_in(value: Any, path: KeyPath) -> Iterator[tuple[KeyPath, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _strings_in(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings_in(item, (*path, index))
    elif isinstance(value, str):
        yield path, value


def _call_placeholder_problems(catalogue: Catalogue, operation: Operation) -> list[Problem]:
    at = ("operations", operation.name)
    templates: list[tuple[KeyPath, str, set[str]]] = []
    roots = call_context_roots(catalogue, operation)
    templates.append(((*at, "call"), operation.call.path, roots))
    templates += [(path, text, roots) for path, text in _strings_in(operation.body, (*at, "body"))]
    if operation.quote is not None:
        quote_roots = call_context_roots(catalogue, operation, for_quote=True)
        templates.append(((*at, "quote", "call"), operation.quote.path, quote_roots))
        templates += [
            (path, text, quote_roots)
            for path, text in _strings_in(operation.quote_body, (*at, "quote", "body"))
        ]
    problems: list[Problem] = []
    for path, text, allowed in templates:
        for placeholder in PLACEHOLDER.findall(text):
            root = placeholder.split(".")[0]
            if root in allowed:
                continue
            problems.append(
                catalogue.problem(
                    operation.source,
                    path,
                    f"placeholder {{{placeholder}}} names nothing the call "
                    f"is filled from ({', '.join(sorted(allowed))})",
                    did_you_mean(root, allowed) or "Add the slot to slots: or use profile.",
                )
            )
    return problems


@lru_cache(maxsize=1)
def default_catalogue() -> Catalogue:
    return load_catalogue()
