"""The designer's check of the capability registry: every broken reference, in seconds.

    .venv/bin/python -m registry.check                  # the whole registry
    .venv/bin/python -m registry.check --operation bank_transfer
    .venv/bin/python -m registry.check --actions        # every generated form action
    .venv/bin/python -m registry.check --write-actions  # refresh registry/generated_actions.md

Loads capabilities/*.yml against the schema (CAPABILITIES_DIR points elsewhere), then
checks what the loader cannot see alone: that every response the registry names is in
domain.yml or domain/*.yml (answers, their ``_item`` rows and ``answer_by`` variants,
confirmations, ``empty``, ``then``, ``not_held``, ``target.none``, handoff ``after``,
digression replies, form questions), that the placeholders of those responses name values
the answer can fill, and that each registry intent has enough examples in data/nlu. Each
problem names the file, the line, the key and a fix; the exit code is 1 when there are any.
No training, no servers.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from registry import catalogue as registry
from registry.catalogue import (
    PLACEHOLDER,
    PROFILE_ROOT,
    QUOTE_ROOT,
    Catalogue,
    KeyPath,
    Operation,
    Problem,
    RegistryError,
    Source,
    did_you_mean,
    load_catalogue,
    read_source,
)
from registry.forms import form_actions, listing
from registry.slots import CONFIRMATION_SLOT

MIN_EXAMPLES = 30
ACTIONS_LISTING = Path(__file__).with_name("generated_actions.md")
# Values the actions pass to a response besides the back end's data and the slots
# (actions/operation_runner.py, operation_forms.py): the listed rows, the line's title for
# "not held", a refusal's reason, where the code was sent.
RENDERED_KEYS = frozenset({"items", "line_title", "reason", "delivered_to"})
# Parts of a value's name that actions/rendering.py adds to the back end's keys.
RENDERED_PARTS = frozenset({PROFILE_ROOT, QUOTE_ROOT, "label", "first", "count", "last4", "id"})
# A word-like string literal of the back end's source: its answers' keys are among them.
FIELD_LITERAL = re.compile(r"""["']([A-Za-z][A-Za-z0-9_]*)["']""")


@dataclass
class Domain:
    """The responses (with the file and line that define each), slots and intents."""

    responses: dict[str, tuple[Source, list[str]]] = field(default_factory=dict)
    slots: set[str] = field(default_factory=set)
    intents: set[str] = field(default_factory=set)


def read_domain(root: Path) -> Domain:
    domain = Domain()
    for path in [root / "domain.yml", *sorted((root / "domain").glob("*.yml"))]:
        if not path.is_file():
            continue
        source = read_source(path)
        content = source.data if isinstance(source.data, dict) else {}
        for name, variants in (content.get("responses") or {}).items():
            texts = [
                str(variant.get("text") or "")
                for variant in variants or []
                if isinstance(variant, dict)
            ]
            domain.responses[str(name)] = (source, texts)
        domain.slots.update(str(name) for name in content.get("slots") or {})
        domain.intents.update(
            intent if isinstance(intent, str) else next(iter(intent))
            for intent in content.get("intents") or []
        )
    return domain


def backend_fields(root: Path) -> set[str]:
    """The keys the back end may answer with, read from the sandbox's source: its routes
    build their answers as dicts, and it has no response schemas to read instead."""
    sandbox = root / "services" / "sandbox"
    if not sandbox.is_dir():
        sandbox = registry.PROJECT_ROOT / "services" / "sandbox"
    return {
        word
        for path in sandbox.rglob("*.py")
        for word in FIELD_LITERAL.findall(path.read_text(encoding="utf-8"))
    }


def intent_examples(root: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    for path in sorted((root / "data" / "nlu").glob("*.yml")):
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for entry in content.get("nlu") or []:
            if isinstance(entry, dict) and "intent" in entry:
                counts[str(entry["intent"])] += sum(
                    1
                    for row in str(entry.get("examples") or "").splitlines()
                    if row.strip().startswith("- ")
                )
    return counts


@dataclass
class Checker:
    catalogue: Catalogue
    domain: Domain
    fields: set[str]
    examples: Counter[str]
    problems: list[Problem] = field(default_factory=list)

    def report(self, source: str, path: KeyPath, message: str, fix: str = "") -> None:
        self.problems.append(self.catalogue.problem(source, path, message, fix))

    # -- responses ------------------------------------------------------------------------
    def response_exists(self, source: str, path: KeyPath, name: str, line: str) -> bool:
        if name in self.domain.responses:
            return True
        self.report(
            source,
            path,
            f"response {name!r} is not in domain.yml or domain/*.yml",
            did_you_mean(name, self.domain.responses)
            or f"Add it under responses: in domain/{line}.yml.",
        )
        return False

    def placeholders_fill(self, name: str, whole: set[str], parts: set[str]) -> None:
        """Flags ``{value}`` placeholders of response ``name`` that nothing can fill."""
        source, texts = self.domain.responses[name]
        for text in texts:
            for placeholder in PLACEHOLDER.findall(text):
                if placeholder in whole or _made_of(placeholder, parts):
                    continue
                self.problems.append(
                    source.problem(
                        ("responses", name),
                        f"placeholder {{{placeholder}}} names no value of the "
                        "answer, slot or back-end field, so the customer would see the braces",
                        did_you_mean(placeholder, [*whole, *self.fields])
                        or "Name a key of the back end's answer, joined by underscores.",
                    )
                )

    def operation(self, operation: Operation) -> None:
        at = ("operations", operation.name)
        source, line = operation.source, operation.line
        whole = set(RENDERED_KEYS) | self.domain.slots
        parts = set(RENDERED_PARTS) | self.fields | set(self.catalogue.slots)
        parts.update(f"{name}_label" for name in operation.slots)
        named: list[tuple[KeyPath, str]] = [((*at, "answer"), operation.answer)]
        for key in ("confirm", "empty", "then"):
            if getattr(operation, key):
                named.append(((*at, key), getattr(operation, key)))
        if operation.no_target:
            named.append(((*at, "target", "none"), operation.no_target))
        if operation.list_key:
            named.append(((*at, "list"), f"{operation.answer}_item"))
        variants = [
            name
            for name in self.domain.responses
            if name.startswith(f"{operation.answer}_") and name != f"{operation.answer}_item"
        ]
        if operation.answer_by and not variants:
            self.report(
                source,
                (*at, "answer_by"),
                f"no response {operation.answer}_<{operation.answer_by}> answers by "
                f"{operation.answer_by}",
                f"Add {operation.answer}_<value> responses, or remove answer_by.",
            )
        for path, name in named:
            if self.response_exists(source, path, name, line):
                self.placeholders_fill(name, whole, parts)
        for name in variants:
            self.placeholders_fill(name, whole, parts)
        for index, slot in enumerate(operation.slots):
            spec = self.catalogue.slots[slot]
            if spec.kind == "choice" and spec.items == ".":
                # The one thing the call answers with is chosen before the form starts.
                continue
            questions = [f"utter_ask_{operation.form_name}_{slot}", f"utter_ask_{slot}"]
            if not any(question in self.domain.responses for question in questions):
                self.report(
                    source,
                    (*at, "slots", index),
                    f"the form has no question for {slot!r}",
                    f"Add {questions[1]} (or {questions[0]}) to domain/{line}.yml.",
                )
        self.enough_examples(source, at, operation.name)

    def enough_examples(self, source: str, path: KeyPath, intent: str) -> None:
        found = self.examples.get(intent, 0)
        if found < MIN_EXAMPLES:
            line = Path(source).stem
            self.report(
                source,
                path,
                f"intent {intent!r} has {found} examples in data/nlu",
                f"Add {MIN_EXAMPLES - found} or more to data/nlu/{line}.yml.",
            )

    # -- the lines --------------------------------------------------------------------------
    def lines(self) -> None:
        operations = self.catalogue.operations
        for line in self.catalogue.lines:
            if line.not_held and self.response_exists(
                line.source, ("not_held",), line.not_held, line.name
            ):
                self.placeholders_fill(line.not_held, set(RENDERED_KEYS) | self.domain.slots, set())
            for index, response in enumerate(line.handoff.after):
                self.response_exists(line.source, ("handoff", "after", index), response, line.name)
            for intent in line.intent_descriptions:
                if intent not in operations:
                    self.enough_examples(line.source, ("intents", intent), intent)
        known_intents = set(self.catalogue.intents()) | self.domain.intents
        for label, source in self.catalogue.sources.items():
            for intent, response in (source.data.get("digression_replies") or {}).items():
                if intent not in known_intents:
                    self.report(
                        label,
                        ("digression_replies", intent),
                        f"{intent!r} is not an intent",
                        did_you_mean(intent, known_intents),
                    )
                self.response_exists(
                    label, ("digression_replies", intent), response, Path(label).stem
                )


def _made_of(name: str, parts: set[str]) -> bool:
    """Whether ``name`` is known parts joined by underscores (``card_card_number_masked``)."""
    words = name.split("_")
    reachable = [True] + [False] * len(words)
    for start in range(len(words)):
        if reachable[start]:
            for end in range(start + 1, len(words) + 1):
                if "_".join(words[start:end]) in parts:
                    reachable[end] = True
    return reachable[-1]


def check(
    root: Path = registry.PROJECT_ROOT,
    capabilities: Path | None = None,
    operation: str | None = None,
) -> list[Problem]:
    """Every problem of the registry in ``capabilities`` (CAPABILITIES_DIR by default) with
    the domain and data under ``root``; only those of ``operation`` when given."""
    capabilities = capabilities or registry.CAPABILITIES_DIR
    try:
        catalogue = load_catalogue(capabilities)
        domain = read_domain(root)
    except RegistryError as error:
        return error.problems
    checker = Checker(catalogue, domain, backend_fields(root), intent_examples(root))
    if operation is not None:
        if operation not in catalogue.operations:
            return [
                Problem(
                    "capabilities",
                    None,
                    "operations",
                    f"no operation {operation!r}",
                    did_you_mean(operation, catalogue.operations),
                )
            ]
        checker.operation(catalogue.operations[operation])
        return checker.problems
    for each in catalogue.operations.values():
        checker.operation(each)
    checker.lines()
    if capabilities.resolve() == (registry.PROJECT_ROOT / "capabilities").resolve():
        checker.problems += listing_problems(catalogue)
    return checker.problems


def listing_problems(catalogue: Catalogue) -> list[Problem]:
    listed = ACTIONS_LISTING.read_text(encoding="utf-8") if ACTIONS_LISTING.is_file() else ""
    if listed == listing(catalogue):
        return []
    return [
        Problem(
            registry.display_path(ACTIONS_LISTING),
            None,
            "",
            "does not list the form actions the registry generates now",
            "Run: .venv/bin/python -m registry.check --write-actions",
        )
    ]


def action_rows(catalogue: Catalogue) -> Iterator[str]:
    for action in form_actions(catalogue):
        asks = action.slot if action.slot not in {None, CONFIRMATION_SLOT} else ""
        kind = (
            "confirmation"
            if action.slot == CONFIRMATION_SLOT
            else ("question" if action.slot else "validation")
        )
        yield f"{action.name:<60} {action.operation:<28} {kind:<12} {asks}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operation", help="check only this operation")
    parser.add_argument(
        "--root",
        type=Path,
        default=registry.PROJECT_ROOT,
        help="where domain.yml, domain/ and data/nlu are",
    )
    parser.add_argument(
        "--actions",
        action="store_true",
        help="print every generated form action with its operation",
    )
    parser.add_argument(
        "--write-actions",
        action="store_true",
        help=f"write the list of generated actions to {ACTIONS_LISTING.name}",
    )
    args = parser.parse_args(argv)
    if args.actions or args.write_actions:
        try:
            catalogue = load_catalogue()
        except RegistryError as error:
            print(error, file=sys.stderr)
            return 1
        if args.write_actions:
            ACTIONS_LISTING.write_text(listing(catalogue), encoding="utf-8")
        if args.actions:
            print("\n".join(action_rows(catalogue)))
        return 0
    problems = check(args.root, operation=args.operation)
    for problem in problems:
        print(problem)
    scope = f"operation {args.operation}" if args.operation else "the registry"
    print(
        f"registry check: {len(problems)} problem(s) in {scope}",
        file=sys.stderr if problems else sys.stdout,
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
