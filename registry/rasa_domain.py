"""The registry in Rasa's terms: the domain, forms, slot mappings and rules it implies.

domain.yml at the root holds what every product line shares (session settings, shared
slots and entities); domain/<line>.yml holds each line's own responses (and any intents,
slots and actions of its own), beside that line's data and actions. The capability registry
(capabilities/<line>.yml, read by registry/catalogue.py) adds what its operations imply: their
intents, the forms of transactional operations with their slots and slot mappings, the
generic actions, and the rules that route each intent to its operation. Rasa reads only one
domain path, so ``ProductLineImporter``, named in config.yml, does the merging for
`rasa train`, `rasa test` and `rasa data validate`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from rasa.shared.core.domain import Domain
from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
from rasa.shared.core.training_data.structures import StoryGraph
from rasa.shared.importers.rasa import RasaFileImporter

from registry.catalogue import Catalogue, default_catalogue
from registry.forms import form_actions
from registry.slots import CONFIRMATION_SLOT, OPERATION_REFUSED_SLOT, domain_declarations

PRODUCT_LINE_DOMAIN_DIR = Path("domain")
GENERIC_ACTIONS = [
    "action_run_operation",
    "action_prepare_operation",
    "action_finish_operation",
    "action_disambiguate",
]


def registry_domain(catalogue: Catalogue, base: dict[str, Any]) -> dict[str, Any]:
    """``base`` (a domain as a dict) with everything the registry's operations need."""
    domain = dict(base)
    intents = list(domain.get("intents") or [])
    known = {intent if isinstance(intent, str) else next(iter(intent)) for intent in intents}
    intents += [intent for intent in catalogue.intents() if intent not in known]
    domain["intents"] = intents

    actions = list(domain.get("actions") or [])
    forms: dict[str, Any] = dict(domain.get("forms") or {})
    slots: dict[str, Any] = {name: dict(slot) for name, slot in (domain.get("slots") or {}).items()}
    for name, declaration in domain_declarations().items():
        slots.setdefault(name, declaration)
    for operation in catalogue.forms():
        form = operation.form_name
        forms[form] = {"required_slots": operation.required_slots}
        for slot in operation.required_slots:
            _add_form_mappings(slots, form, slot)
    actions += [action.name for action in form_actions(catalogue)]
    entities = list(domain.get("entities") or [])
    for spec in catalogue.slots.values():
        entry = slots.setdefault(
            spec.name, {"type": "text", "influence_conversation": False, "mappings": []}
        )
        entity = spec.button_entity if spec.kind in ("choice", "option") else spec.entity
        if entity:
            _prepend_entity_mapping(entry, entity)
            # Rasa drops the entities the domain does not declare (a button's too).
            if entity not in entities:
                entities.append(entity)
    domain["entities"] = entities
    domain["actions"] = list(dict.fromkeys(actions + GENERIC_ACTIONS))
    domain["forms"] = forms
    domain["slots"] = slots
    return domain


def _add_form_mappings(slots: dict[str, Any], form: str, slot: str) -> None:
    entry = slots.setdefault(
        slot, {"type": "text", "influence_conversation": False, "mappings": []}
    )
    mappings = [dict(mapping) for mapping in entry.get("mappings") or []]
    condition = {"active_loop": form, "requested_slot": slot}
    if slot == CONFIRMATION_SLOT:
        for intent, value in (("affirm", "yes"), ("deny", "no")):
            _with_condition(
                mappings, {"type": "from_intent", "intent": intent, "value": value}, condition
            )
    _with_condition(mappings, {"type": "from_text"}, condition)
    entry["mappings"] = mappings


def _with_condition(
    mappings: list[dict[str, Any]], mapping: dict[str, Any], condition: dict[str, str]
) -> None:
    """Adds ``condition`` to the mapping like ``mapping``, creating it if there is none."""
    for existing in mappings:
        if {k: v for k, v in existing.items() if k != "conditions"} == mapping:
            existing["conditions"] = [*existing.get("conditions", []), condition]
            return
    mappings.append({**mapping, "conditions": [condition]})


def _prepend_entity_mapping(entry: dict[str, Any], entity: str) -> None:
    mappings = [dict(mapping) for mapping in entry.get("mappings") or []]
    wanted = {"type": "from_entity", "entity": entity}
    if not any({k: v for k, v in m.items() if k != "conditions"} == wanted for m in mappings):
        mappings.insert(0, wanted)
    entry["mappings"] = mappings


def registry_rules(catalogue: Catalogue) -> str:
    """Rules routing each operation's intent to the generic actions, as rule YAML."""
    rules: list[dict[str, Any]] = []
    for operation in catalogue.operations.values():
        if not operation.is_form:
            rules.append(
                {
                    "rule": f"answer {operation.name}",
                    "steps": [{"intent": operation.name}, {"action": "action_run_operation"}],
                }
            )
            continue
        form = operation.form_name
        rules.append(
            {
                "rule": f"start {form}",
                "steps": [
                    {"intent": operation.name},
                    {"action": "action_prepare_operation"},
                    {"slot_was_set": [{OPERATION_REFUSED_SLOT: False}]},
                    {"action": form},
                    {"active_loop": form},
                ],
            }
        )
        rules.append(
            {
                "rule": f"finish {form}",
                "condition": [{"active_loop": form}],
                "steps": [
                    {"action": form},
                    {"active_loop": None},
                    {"slot_was_set": [{"requested_slot": None}]},
                    {"action": "action_finish_operation"},
                ],
            }
        )
    rules.append(
        {
            "rule": "a request that cannot go ahead stops before its form",
            "steps": [
                {"action": "action_prepare_operation"},
                {"slot_was_set": [{OPERATION_REFUSED_SLOT: True}]},
                {"action": "action_listen"},
            ],
        }
    )
    for intent in catalogue.disambiguation:
        rules.append(
            {
                "rule": f"ask which product {intent} is about",
                "steps": [{"intent": intent}, {"action": "action_disambiguate"}],
            }
        )
    for intent in sorted(catalogue.policy_handoff_intents()):
        rules.append(
            {
                "rule": f"policy hands {intent} to a person",
                "steps": [{"intent": intent}, {"action": "action_request_human"}],
            }
        )
    return yaml.safe_dump({"version": "3.1", "rules": rules}, sort_keys=False)


class ProductLineImporter(RasaFileImporter):
    def get_domain(self) -> Domain:
        shared = super().get_domain()
        if not self._domain_path or Path(self._domain_path).is_dir():
            return shared
        domain_dir = Path(self._domain_path).parent / PRODUCT_LINE_DOMAIN_DIR
        if domain_dir.is_dir():
            shared = shared.merge(Domain.from_directory(domain_dir))
        return Domain.from_dict(registry_domain(default_catalogue(), shared.as_dict()))

    def get_stories(self, exclusion_percentage: int | None = None) -> StoryGraph:
        stories = super().get_stories(exclusion_percentage)
        reader = YAMLStoryReader(self.get_domain())
        generated = reader.read_from_string(registry_rules(default_catalogue()))
        return StoryGraph(stories.story_steps + generated)
