"""A button sends an intent and an entity, and Rasa keeps that entity: every slot answered
with buttons has its button's entity declared in the domain and mapped to the slot."""

from __future__ import annotations

from rasa.shared.core.domain import Domain
from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
from rasa.shared.nlu.training_data.message import Message

from registry.catalogue import default_catalogue

BUTTON_KINDS = ("choice", "option")


def test_every_button_entity_is_declared_and_fills_its_slot(project_domain: Domain):
    domain = project_domain.as_dict()
    for spec in default_catalogue().slots.values():
        if spec.kind not in BUTTON_KINDS:
            continue
        assert spec.button_entity in domain["entities"], spec.name
        mappings = domain["slots"][spec.name]["mappings"]
        assert {"type": "from_entity", "entity": spec.button_entity} in mappings, spec.name


def test_rasa_keeps_the_entity_of_the_redemption_speed_button(project_domain: Domain):
    # The button offered for "how fast?" (actions/operation_forms.py builds its payload).
    payload = '/inform{"fund_redemption_speed": "instant"}'

    parsed = YAMLStoryReader.unpack_regex_message(Message.build(payload), project_domain)

    assert [(e["entity"], e["value"]) for e in parsed.get("entities")] == [
        ("fund_redemption_speed", "instant")
    ]
