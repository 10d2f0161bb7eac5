"""The actions each form operation gets, by name: the one list of the generated actions.

actions/operation_forms.py makes a class for each entry (it needs rasa_sdk), the importer
declares each name in Rasa's domain (registry/rasa_domain.py), and
``python -m registry.check --actions`` prints them, so a name seen in a log or a story can
be found: registry/generated_actions.md is this list for the project's registry.
"""

from __future__ import annotations

from dataclasses import dataclass

from registry.catalogue import Catalogue
from registry.slots import VERIFICATION_CODE_SLOT


@dataclass(frozen=True)
class FormAction:
    """``validate_<form>`` (slot None) or ``action_ask_<form>_<slot>`` of one operation."""

    name: str
    class_name: str
    operation: str
    slot: str | None = None


def _camel(name: str) -> str:
    return "".join(part.title() for part in name.split("_"))


def form_actions(catalogue: Catalogue) -> list[FormAction]:
    """Every generated action, in the order the domain declares them.

    The code has no question action: the customer is told it was sent when they say yes.
    """
    actions: list[FormAction] = []
    for operation in catalogue.forms():
        form = operation.form_name
        stem = _camel(operation.name)
        actions.append(FormAction(f"validate_{form}", f"Validate{stem}Form", operation.name))
        for slot in operation.required_slots:
            if slot == VERIFICATION_CODE_SLOT:
                continue
            actions.append(
                FormAction(
                    f"action_ask_{form}_{slot}",
                    f"Ask{stem}Form{_camel(slot)}",
                    operation.name,
                    slot,
                )
            )
    return actions


def listing(catalogue: Catalogue) -> str:
    """The generated actions as the Markdown table committed in registry/generated_actions.md."""
    rows = [
        "# Generated form actions",
        "",
        "Made by actions/operation_forms.py from capabilities/*.yml; this file is written by",
        "`python -m registry.check --write-actions` and a test keeps it current.",
        "",
        "| action | class | operation | asks for |",
        "|---|---|---|---|",
    ]
    rows += [
        f"| {action.name} | {action.class_name} | {action.operation} | {action.slot or ''} |"
        for action in form_actions(catalogue)
    ]
    return "\n".join(rows) + "\n"
