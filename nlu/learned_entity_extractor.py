"""A CRF entity extractor that learns only the entities no pattern can find.

Amounts, dates, card digits and references follow patterns, and the project's spaCy
pipeline finds them by rule (nlu/spacy_pipeline.py). Who a customer sends money to
("Li Wei", "my landlord") follows no pattern; this extractor learns those from the annotated
examples. Rasa's CRFEntityExtractor would learn every annotated entity and report the pattern
ones twice, so this one trains on the configured entity types alone. Examples whose intent
block says `entities_annotated: false` in its metadata (customers' words taken as they were
written, data/nlu/customers/) are left out: a name in them is not marked, and learning from
them would teach that names are never recipients.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.nlu.extractors.crf_entity_extractor import CRFEntityExtractor
from rasa.shared.nlu.constants import ENTITIES, METADATA, METADATA_INTENT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

BILOU_PREFIX = "bilou"


def entities_annotated(message: Message) -> bool:
    intent_metadata = (message.get(METADATA) or {}).get(METADATA_INTENT) or {}
    return intent_metadata.get("entities_annotated", True) is not False


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class LearnedEntityExtractor(CRFEntityExtractor):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**CRFEntityExtractor.get_default_config(), "entities": []}

    def train(self, training_data: TrainingData) -> Resource:
        learned = set(self.component_config["entities"])
        examples = []
        for message in training_data.training_examples:
            if not entities_annotated(message):
                continue
            data = {key: value for key, value in message.data.items() if BILOU_PREFIX not in key}
            if message.get(ENTITIES):
                data[ENTITIES] = [
                    entity for entity in message.get(ENTITIES) if entity.get("entity") in learned
                ]
            examples.append(
                Message(
                    data=data,
                    features=message.features,
                    output_properties=message.output_properties,
                )
            )
        return super().train(TrainingData(examples, entity_synonyms=training_data.entity_synonyms))
