"""Messages in another script go to the clarification, whatever the classifier made of them.

The classifier has only seen English, so a Chinese message such as "我的银行卡余额是多少"
gets a confident but meaningless intent (out_of_scope, often). Placed after every other
classifier, this component sets the intent of a message whose letters are all non-Latin to
nlu_fallback with full confidence, so the rule for nlu_fallback runs action_clarify_request,
which answers in Chinese and in English and offers a person. Being in the
pipeline, it works the same for every channel, and during a handoff the message still reaches
the agent as typed (a paused conversation runs no action).
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from common.writing_system import is_written_in_another_script

OTHER_SCRIPT = {"name": DEFAULT_NLU_FALLBACK_INTENT_NAME, "confidence": 1.0}


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class OtherScriptClassifier(GraphComponent, IntentClassifier):
    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> OtherScriptClassifier:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            if is_written_in_another_script(message.get(TEXT) or ""):
                message.set(INTENT, dict(OTHER_SCRIPT), add_to_output=True)
                message.set(INTENT_RANKING_KEY, [dict(OTHER_SCRIPT)], add_to_output=True)
        return messages
