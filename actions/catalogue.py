"""The capability registry: what each product line can do and how (capabilities/<line>.yml).

A line's file names its intents in customers' words (for clarifying buttons and "what can you
do?"), the products a customer must hold for it, the slots its operations ask for, and its
operations: which back-end call answers an intent, which slots it needs, whether it moves money
or changes something (and then asks for confirmation and step-up verification), and which
response words the answer. Generic actions (actions/operations.py) execute the operations and
the domain importer (nlu/domain_importer.py) turns them into forms, slots and rules, so a new
operation needs YAML and training data, not Python.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

# CAPABILITIES_DIR points the action server at another registry (a test's, say).
CAPABILITIES_DIR = Path(
    os.environ.get("CAPABILITIES_DIR")
    or Path(__file__).resolve().parent.parent / "capabilities"
)
GENERAL_LINE = "general"
SLOT_KINDS = ("choice", "money", "option", "text", "date")
VERIFICATION_PURPOSES = ("move_money", "card_control", "policy_change", "credential_change")
# Slots every transactional form shares, after the operation's own slots.
CONFIRMATION_SLOT = "confirmed"
VERIFICATION_CODE_SLOT = "verification_code"


class RegistryError(ValueError):
    """A capabilities file that cannot work; raised when the registry is loaded."""


@dataclass(frozen=True)
class Call:
    method: str
    path: str

    @classmethod
    def parse(cls, text: str, where: str) -> Call:
        method, _, path = str(text).strip().partition(" ")
        if method.upper() not in {"GET", "POST", "PUT", "DELETE"} or not path.startswith("/"):
            raise RegistryError(f"{where}: a call reads like 'GET /v1/...', not {text!r}")
        return cls(method.upper(), path.strip())


@dataclass(frozen=True)
class SlotSpec:
    """Something an operation needs from the customer, and how an answer is checked.

    choice: one of the customer's own things, listed by ``options_call`` (a card, an account,
    a saved recipient; ``items: "."`` when the call answers with the one thing itself, like the
    current bill); the answer must match one of them. money: a positive amount with a
    currency, one of ``currencies`` when given. option: one of fixed ``choices``. text: free
    words of at least ``min_length`` characters. date: a calendar date, in the past unless
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
    choices: dict[str, str] = field(default_factory=dict)
    min_length: int = 1
    currencies: tuple[str, ...] = ()
    future: bool = False
    max_days: int = 365


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
class ProductLine:
    name: str
    title: str
    summary: str
    intent_descriptions: dict[str, str] = field(default_factory=dict)
    products: tuple[str, ...] = ()
    not_held: str | None = None
    handoff: HandoffPolicy = field(default_factory=lambda: HandoffPolicy(skill=GENERAL_LINE))


@dataclass(frozen=True)
class Catalogue:
    lines: tuple[ProductLine, ...]
    operations: dict[str, Operation] = field(default_factory=dict)
    slots: dict[str, SlotSpec] = field(default_factory=dict)
    disambiguation: dict[str, tuple[str, ...]] = field(default_factory=dict)
    digression_replies: dict[str, str] = field(default_factory=dict)

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


def _slot_spec(name: str, content: dict[str, Any], where: str) -> SlotSpec:
    kind = content.get("kind")
    if kind not in SLOT_KINDS:
        raise RegistryError(f"{where}: slot {name} needs a kind, one of {SLOT_KINDS}")
    options = content.get("options")
    if kind == "choice" and not (options and content.get("items") and content.get("id")):
        raise RegistryError(f"{where}: choice slot {name} needs options, items and id")
    spec = SlotSpec(
        name=name,
        kind=kind,
        entity=content.get("entity"),
        options_call=Call.parse(options, f"{where} slot {name}") if kind == "choice" else None,
        items=content.get("items"),
        item_id=content.get("id"),
        match=tuple(content.get("match") or ()),
        label=str(content.get("label", "{id}")),
        choices={str(k): str(v) for k, v in (content.get("choices") or {}).items()},
        min_length=int(content.get("min_length", 1)),
        currencies=tuple(str(code).upper() for code in content.get("currencies") or ()),
        future=bool(content.get("future", False)),
        max_days=int(content.get("max_days", 365)),
    )
    if kind == "option" and not spec.choices:
        raise RegistryError(f"{where}: option slot {name} needs choices")
    return spec


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(str(item) for item in value)
    return (str(value),)


def _operation(name: str, line: str, content: dict[str, Any], where: str) -> Operation:
    where = f"{where} operation {name}"
    if "call" not in content or "answer" not in content:
        raise RegistryError(f"{where}: needs a call and an answer")
    verification = content.get("verification")
    if verification is not None and verification not in VERIFICATION_PURPOSES:
        raise RegistryError(f"{where}: verification must be one of {VERIFICATION_PURPOSES}")
    if verification and not content.get("confirm"):
        raise RegistryError(f"{where}: an operation that needs verification needs a confirm")
    quote = content.get("quote") or {}
    target = content.get("target") or {}
    if isinstance(target, str):
        target = {"slot": target}
    return Operation(
        name=name,
        line=line,
        call=Call.parse(content["call"], where),
        answer=str(content["answer"]),
        needs=_as_tuple(content.get("needs")),
        target=target.get("slot"),
        target_filter={key: _as_tuple(value) for key, value in (target.get("where") or {}).items()},
        pick_latest=bool(target.get("latest", False)),
        target_preference={key: _as_tuple(value)
                           for key, value in (target.get("prefer") or {}).items()},
        no_target=target.get("none"),
        slots=_as_tuple(content.get("slots")),
        confirm=content.get("confirm"),
        verification=verification,
        body=dict(content.get("body") or {}),
        list_key=content.get("list"),
        answer_by=content.get("answer_by"),
        empty=content.get("empty"),
        then=content.get("then"),
        quote=Call.parse(quote["call"], f"{where} quote") if quote else None,
        quote_body=dict(quote.get("body") or {}),
        pays_from=content.get("pays_from"),
    )


def _handoff_policy(line: str, content: dict[str, Any]) -> HandoffPolicy:
    return HandoffPolicy(skill=str(content.get("skill") or line),
                         intents=_as_tuple(content.get("intents")),
                         after=_as_tuple(content.get("after")))


def load_catalogue(directory: Path | None = None) -> Catalogue:
    directory = directory or CAPABILITIES_DIR
    lines: list[ProductLine] = []
    operations: dict[str, Operation] = {}
    slots: dict[str, SlotSpec] = {}
    disambiguation: dict[str, tuple[str, ...]] = {}
    digression_replies: dict[str, str] = {}
    for path in sorted(directory.glob("*.yml")):
        where = f"capabilities/{path.name}"
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        name = content.get("line", path.stem)
        lines.append(
            ProductLine(
                name=name,
                title=content.get("title", path.stem.title()),
                summary=content.get("summary", ""),
                intent_descriptions={
                    str(intent): str(text)
                    for intent, text in (content.get("intents") or {}).items()
                },
                products=_as_tuple(content.get("products")),
                not_held=content.get("not_held"),
                handoff=_handoff_policy(name, content.get("handoff") or {}),
            )
        )
        for slot_name, slot_content in (content.get("slots") or {}).items():
            if slot_name in slots:
                raise RegistryError(f"{where}: slot {slot_name} is already defined elsewhere")
            slots[slot_name] = _slot_spec(slot_name, slot_content or {}, where)
        for operation_name, operation_content in (content.get("operations") or {}).items():
            if operation_name in operations:
                raise RegistryError(f"{where}: operation {operation_name} is defined twice")
            operations[operation_name] = _operation(
                operation_name, name, operation_content or {}, where
            )
        for intent, options in (content.get("disambiguation") or {}).items():
            disambiguation[str(intent)] = _as_tuple(options)
        digression_replies.update(content.get("digression_replies") or {})
    catalogue = Catalogue(tuple(lines), operations, slots, disambiguation, digression_replies)
    _check_references(catalogue)
    return catalogue


def _check_references(catalogue: Catalogue) -> None:
    for operation in catalogue.operations.values():
        for slot in [*operation.slots, *([operation.target] if operation.target else [])]:
            if slot not in catalogue.slots:
                raise RegistryError(f"operation {operation.name}: unknown slot {slot}")
        if operation.target and catalogue.slots[operation.target].kind != "choice":
            raise RegistryError(f"operation {operation.name}: a target must be a choice slot")
        if operation.pays_from and (operation.pays_from not in operation.slots
                                    or catalogue.slots[operation.pays_from].kind != "choice"):
            raise RegistryError(f"operation {operation.name}: pays_from must name one of its "
                                "choice slots")
    known_intents = set(catalogue.intents())
    for line in catalogue.lines:
        unknown_intents = set(line.handoff.intents) - known_intents
        if unknown_intents:
            raise RegistryError(f"line {line.name}: handoff intents {sorted(unknown_intents)} "
                                "are not intents of the registry")
    for intent, options in catalogue.disambiguation.items():
        unknown = [option for option in options if option not in catalogue.operations]
        if unknown:
            raise RegistryError(f"disambiguation {intent}: unknown operations {unknown}")


@lru_cache(maxsize=1)
def default_catalogue() -> Catalogue:
    return load_catalogue()
