"""The all-MiniLM-L6-v2 sentence embedding, alone and as a Rasa featurizer."""

from __future__ import annotations

import numpy as np
import pytest
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.sentence_encoder import SentenceEncoder, default_model_dir
from nlu.sentence_featurizer import SentenceEmbeddingFeaturizer, load_encoder

DIMENSION = 384
AWKWARD_TEXTS = {
    "empty": "",
    "whitespace": "  \n\t ",
    "long": "please help me with my card " * 400,
    "one long word": "x" * 10_000,
    "emoji": "😀😀🙏",
    "chinese": "我的卡丢了",
    "control characters": "\x00\x1b[31m\x7f\u200b",
}


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return load_encoder(None, 128)


@pytest.fixture(scope="module")
def featurizer() -> SentenceEmbeddingFeaturizer:
    return SentenceEmbeddingFeaturizer(
        SentenceEmbeddingFeaturizer.get_default_config(), "sentence_featurizer"
    )


def tokenized(*texts: str) -> list[Message]:
    messages = [Message(data={TEXT: text}) for text in texts]
    return WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()).process(messages)


def test_weights_come_from_the_installed_package():
    assert {"config.json", "vocab.txt", "model.safetensors"} <= {
        path.name for path in default_model_dir().iterdir()
    }


def test_similar_requests_are_closer_than_unrelated_ones(encoder):
    lost, missing, weather, balance, funds = encoder.encode(
        [
            "I lost my card",
            "my card is missing",
            "what's the weather",
            "how much money is in my account",
            "what is my balance",
        ]
    )
    assert lost @ missing > 0.6
    assert lost @ weather < 0.2
    assert balance @ funds > 0.3
    assert balance @ funds > max(lost @ funds, weather @ funds) + 0.15


@pytest.mark.parametrize("text", AWKWARD_TEXTS.values(), ids=AWKWARD_TEXTS.keys())
def test_any_text_gives_a_finite_unit_vector(encoder, text):
    (vector,) = encoder.encode([text])
    assert vector.shape == (DIMENSION,)
    assert vector.dtype == np.float32
    assert np.isfinite(vector).all()
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)


def test_long_texts_are_truncated_to_max_length(encoder):
    ids = encoder.tokenizer.encode("word " * 5000)
    assert len(ids) == 128
    assert (ids[0], ids[-1]) == (encoder.tokenizer.cls_id, encoder.tokenizer.sep_id)


def test_tokenizer_splits_like_bert_uncased(encoder):
    # Expected pieces as transformers' BertTokenizerFast gives them for this vocabulary.
    vocab = {index: token for token, index in encoder.tokenizer.vocab.items()}
    ids = encoder.tokenizer.encode("Héllo, I'd like 2 REFUNDS! 我的")
    assert [vocab[index] for index in ids] == [
        "[CLS]", "hello", ",", "i", "'", "d", "like", "2", "ref", "##unds", "!", "我", "的",
        "[SEP]",
    ]  # fmt: skip


def test_encoding_is_deterministic_and_independent_of_batching(encoder):
    texts = ["block my card", "hi", "a much longer message about a payment that failed twice"]
    batched = encoder.encode(texts, batch_size=2)
    assert np.array_equal(batched, encoder.encode(texts, batch_size=2))
    one_by_one = np.vstack([encoder.encode([text]) for text in texts])
    np.testing.assert_allclose(batched, one_by_one, atol=1e-5)


def test_features_are_attached_after_tokenization(featurizer, encoder):
    (message,) = featurizer.process(tokenized("I lost my card yesterday"))

    sequence, sentence = message.get_dense_features(TEXT)
    assert sentence.features.shape == (1, DIMENSION)
    assert sequence.features.shape == (len(message.get(TOKENS_NAMES[TEXT])), DIMENSION)
    assert {features.origin for features in message.features} == {"sentence_featurizer"}
    np.testing.assert_allclose(
        sentence.features[0], encoder.encode(["I lost my card yesterday"])[0], atol=1e-5
    )


def test_training_data_is_featurized_in_batches(featurizer):
    texts = [f"message number {index}" for index in range(150)]
    training_data = TrainingData(training_examples=tokenized(*texts))

    featurizer.process_training_data(training_data)

    for message in training_data.training_examples:
        assert message.get_dense_features(TEXT)[1].features.shape == (1, DIMENSION)


@pytest.mark.parametrize("text", AWKWARD_TEXTS.values(), ids=AWKWARD_TEXTS.keys())
def test_awkward_messages_do_not_break_the_featurizer(featurizer, text):
    (message,) = featurizer.process(tokenized(text))

    sequence, sentence = message.get_dense_features(TEXT)
    if not message.get(TOKENS_NAMES[TEXT]):
        # Nothing to read: left without features, so the intent classifier falls back.
        assert sentence is None and sequence is None
    else:
        assert np.isfinite(sentence.features).all()
        assert sequence.features.shape[0] == len(message.get(TOKENS_NAMES[TEXT]))


def test_scale_multiplies_the_embedding(encoder):
    config = {**SentenceEmbeddingFeaturizer.get_default_config(), "scale": 5.0}
    (message,) = SentenceEmbeddingFeaturizer(config, "scaled").process(tokenized("hello"))

    sentence = message.get_dense_features(TEXT)[1].features[0]
    assert np.linalg.norm(sentence) == pytest.approx(5.0, abs=1e-4)


def test_model_path_overrides_the_package(tmp_path):
    config = {**SentenceEmbeddingFeaturizer.get_default_config(), "model_path": str(tmp_path)}
    with pytest.raises(FileNotFoundError):
        SentenceEmbeddingFeaturizer(config, "elsewhere")
