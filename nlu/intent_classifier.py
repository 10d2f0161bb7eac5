"""Rasa's logistic-regression intent classifier, safe for messages with nothing to read.

A message that is empty or only whitespace has no tokens, hence no features, and the stock
classifier raises on it. Such a message is classified as nlu_fallback, so the dialogue asks
the customer what they need instead of failing.
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

NOTHING_TO_READ = {"name": DEFAULT_NLU_FALLBACK_INTENT_NAME, "confidence": 1.0}


def has_features(message: Message) -> bool:
    sparse, dense = message.get_sparse_features(TEXT)[1], message.get_dense_features(TEXT)[1]
    return sparse is not None or dense is not None


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True
)
class SafeLogisticRegressionClassifier(LogisticRegressionClassifier):
    def process(self, messages: list[Message]) -> list[Message]:
        readable = [message for message in messages if has_features(message)]
        if readable:
            super().process(readable)
        for message in messages:
            if not has_features(message):
                message.set(INTENT, dict(NOTHING_TO_READ), add_to_output=True)
                message.set(INTENT_RANKING_KEY, [dict(NOTHING_TO_READ)], add_to_output=True)
        return messages
