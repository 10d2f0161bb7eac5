"""The blended intent classifier: trains, predicts, persists and loads, survives empty messages."""

from __future__ import annotations

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import (
    CountVectorsFeaturizer,
)
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.intent_classifier import BlendedLogisticRegressionClassifier

EXAMPLES = {
    "lost_card": ["I lost my card", "my card is gone", "can't find my card", "card missing"],
    "balance": [
        "what is my balance",
        "how much money do I have",
        "show my balance",
        "balance please",
    ],
    "greet": ["hello", "hi there", "good morning", "hey"],
}
# Stand-in sentence embeddings: one direction per intent, so the test needs no model.
DIRECTIONS = {intent: np.eye(3)[index] for index, intent in enumerate(sorted(EXAMPLES))}
# An embedding that points nowhere in particular.
NOWHERE = np.ones(3) / np.sqrt(3)


@pytest.fixture
def storage(tmp_path) -> LocalModelStorage:
    return LocalModelStorage(tmp_path)


def context_of(node_name: str) -> ExecutionContext:
    return ExecutionContext(GraphSchema({}), node_name=node_name)


@pytest.fixture
def context() -> ExecutionContext:
    return context_of("intent_classifier")


def add_dense(message: Message, direction: np.ndarray) -> None:
    message.add_features(
        Features(direction[np.newaxis, :] * 5, "sentence", TEXT, "sentence_featurizer")
    )


@pytest.fixture
def featurize(storage):
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    counts = CountVectorsFeaturizer.create(
        {
            **CountVectorsFeaturizer.get_default_config(),
            "analyzer": "char_wb",
            "min_ngram": 2,
            "max_ngram": 4,
        },
        storage,
        Resource("counts"),
        context_of("count_vectors_featurizer"),
    )
    training = TrainingData(
        [
            Message(data={TEXT: text, INTENT: intent})
            for intent, texts in EXAMPLES.items()
            for text in texts
        ]
    )
    tokenizer.process_training_data(training)
    counts.train(training)
    counts.process_training_data(training)
    for message in training.training_examples:
        add_dense(message, DIRECTIONS[message.get(INTENT)])

    def messages(*texts: str, direction=NOWHERE) -> list[Message]:
        found = [Message(data={TEXT: text}) for text in texts]
        # The project's spaCy tokenizer gives a blank message no tokens, so no featurizer
        # gives it features (WhitespaceTokenizer would make one empty token of it).
        readable = [message for message in found if message.get(TEXT).strip()]
        counts.process(tokenizer.process(readable))
        for message in readable:
            add_dense(message, direction)
        return found

    return training, messages


def test_trains_predicts_and_ranks(storage, context, featurize):
    training, messages = featurize
    classifier = BlendedLogisticRegressionClassifier.create(
        BlendedLogisticRegressionClassifier.get_default_config(),
        storage,
        Resource("classifier"),
        context,
    )
    classifier.train(training)

    (message,) = classifier.process(messages("my card is lost", direction=DIRECTIONS["lost_card"]))

    assert message.get(INTENT)["name"] == "lost_card"
    ranking = message.get(INTENT_RANKING_KEY)
    assert [entry["name"] for entry in ranking][0] == "lost_card"
    assert sum(entry["confidence"] for entry in ranking) == pytest.approx(1.0)
    assert set(classifier.models) == {"dense", "sparse"}


def test_the_sparse_view_reads_words_when_the_dense_one_cannot_tell(storage, context, featurize):
    training, messages = featurize
    classifier = BlendedLogisticRegressionClassifier.create(
        {"dense_weight": 0.5}, storage, Resource("classifier"), context
    )
    classifier.train(training)

    # The embedding points nowhere in particular: the n-grams decide.
    (message,) = classifier.process(messages("what is my balance", direction=NOWHERE))

    assert message.get(INTENT)["name"] == "balance"


def test_persists_and_loads_the_same_predictions(storage, context, featurize):
    training, messages = featurize
    resource = Resource("classifier")
    config = BlendedLogisticRegressionClassifier.get_default_config()
    trained = BlendedLogisticRegressionClassifier.create(config, storage, resource, context)
    trained.train(training)
    loaded = BlendedLogisticRegressionClassifier.load(config, storage, resource, context)

    texts = ("hello there", "where is my card", "how much is my balance")
    before = [m.get(INTENT_RANKING_KEY) for m in trained.process(messages(*texts))]
    after = [m.get(INTENT_RANKING_KEY) for m in loaded.process(messages(*texts))]

    assert set(loaded.models) == {"dense", "sparse"}
    for first, second in zip(before, after, strict=True):
        assert [e["name"] for e in first] == [e["name"] for e in second]
        np.testing.assert_allclose(
            [e["confidence"] for e in first], [e["confidence"] for e in second]
        )


@pytest.mark.parametrize("text", ["", "   \n\t"])
def test_a_message_with_nothing_to_read_goes_to_fallback(storage, context, featurize, text):
    training, messages = featurize
    classifier = BlendedLogisticRegressionClassifier.create(
        {}, storage, Resource("classifier"), context
    )
    classifier.train(training)

    empty, readable = classifier.process(messages(text, "hi there"))

    assert empty.get(INTENT)["name"] == DEFAULT_NLU_FALLBACK_INTENT_NAME
    assert empty.get(INTENT_RANKING_KEY)[0]["name"] == DEFAULT_NLU_FALLBACK_INTENT_NAME
    assert readable.get(INTENT)["name"] != DEFAULT_NLU_FALLBACK_INTENT_NAME


def test_an_untrained_classifier_loads_and_still_answers_empty_messages(
    storage, context, featurize
):
    _, messages = featurize
    resource = Resource("never_trained")
    classifier = BlendedLogisticRegressionClassifier.load({}, storage, resource, context)

    (message,) = classifier.process(messages(""))

    assert message.get(INTENT)["name"] == DEFAULT_NLU_FALLBACK_INTENT_NAME


@pytest.mark.parametrize(
    "config",
    [{"sparse_C": 0}, {"dense_weight": 1.5}, {"class_weight": "heavy"}, {"dense_max_iter": 0}],
)
def test_bad_settings_are_refused(config):
    with pytest.raises(InvalidConfigException):
        BlendedLogisticRegressionClassifier.validate_config(
            {**BlendedLogisticRegressionClassifier.get_default_config(), **config}
        )
