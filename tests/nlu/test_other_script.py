"""A message in another script reaches the clarification whatever the classifier predicted."""

from __future__ import annotations

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from nlu.other_script import OtherScriptClassifier

CONFIDENT_OUT_OF_SCOPE = {"name": "out_of_scope", "confidence": 0.93}


@pytest.fixture
def classifier(tmp_path) -> OtherScriptClassifier:
    return OtherScriptClassifier.create(
        {},
        LocalModelStorage(tmp_path),
        Resource("other_script"),
        ExecutionContext(GraphSchema({}), node_name="other_script"),
    )


def classified(classifier: OtherScriptClassifier, text: str) -> Message:
    message = Message({TEXT: text})
    message.set(INTENT, dict(CONFIDENT_OUT_OF_SCOPE), add_to_output=True)
    message.set(INTENT_RANKING_KEY, [dict(CONFIDENT_OUT_OF_SCOPE)], add_to_output=True)
    return classifier.process([message])[0]


@pytest.mark.parametrize("text", ["我的银行卡余额是多少", "我的卡丢了！123", "مرحبا", "Привет"])
def test_a_message_without_latin_letters_goes_to_the_clarification(classifier, text):
    message = classified(classifier, text)

    assert message.get(INTENT) == {"name": DEFAULT_NLU_FALLBACK_INTENT_NAME, "confidence": 1.0}
    assert message.get(INTENT_RANKING_KEY) == [message.get(INTENT)]


@pytest.mark.parametrize(
    "text", ["what is my balance", "我的 visa 卡", "123456", "??", "", "café au lait"]
)
def test_a_message_with_latin_letters_or_none_at_all_keeps_its_intent(classifier, text):
    assert classified(classifier, text).get(INTENT) == CONFIDENT_OUT_OF_SCOPE
