"""What the assistant failed to serve, as a supervisor and a designer see it: the customers'
words grouped by meaning with the NLU's own sentence encoder, ranked by how often they came,
and a draft NLU file that Rasa's own reader takes."""

from __future__ import annotations

import random

import pytest
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

from analytics.failures import draft_nlu, failure_clusters

# The examples SIMILARITY_THRESHOLD was chosen on: paraphrase groups of requests the
# assistant does not serve, and single messages about other things.
CARD_MISUSE = [
    "someone used my card without asking",
    "there's a payment on my card I didn't make",
    "a charge on my card that wasn't me",
    "my card was used by someone else",
    "who spent money on my card??",
]
FLIGHTS = [
    "can you book me a flight to paris",
    "i need a plane ticket to paris",
    "book flights for me",
]
NEW_ADDRESS = [
    "how do I change my address",
    "update my home address",
    "i moved house, need to give you my new address",
]
PET_COVER = [
    "does my policy cover my dog's vet bills",
    "is vet treatment for my cat covered by my insurance",
]
MORTGAGE = ["can I get a mortgage with you", "do you do home loans"]
CANCEL = ["cancel my subscription", "stop my membership please"]
UNRELATED = ["what's the weather tomorrow", "tell me a joke"]


def said(texts: list[str], outcome: str, times: int = 1) -> list[dict[str, str]]:
    return [{"text": text, "outcome": outcome} for text in texts for _ in range(times)]


MESSAGES = (
    said(CARD_MISUSE, "fallback", times=2)
    + said(CARD_MISUSE[:2], "handoff")
    + said(FLIGHTS, "out_of_scope", times=2)
    + said(NEW_ADDRESS, "fallback")
    + said(PET_COVER, "abandoned")
    + said(MORTGAGE, "out_of_scope")
    + said(CANCEL, "handoff")
    + said(UNRELATED, "out_of_scope")
    # Understood messages are not failures, however they read.
    + said(["someone used my card without asking"], "understood", times=5)
)


@pytest.fixture(scope="module")
def clusters() -> list[dict]:
    return failure_clusters(MESSAGES, limit=50)


def cluster_of(clusters: list[dict], text: str) -> int:
    return next(index for index, cluster in enumerate(clusters) if text in cluster["examples"])


@pytest.mark.parametrize(
    "paraphrases", [CARD_MISUSE, FLIGHTS, NEW_ADDRESS, PET_COVER, MORTGAGE, CANCEL]
)
def test_paraphrases_of_one_request_land_in_one_cluster(clusters, paraphrases):
    assert {cluster_of(clusters, text) for text in paraphrases} == {
        cluster_of(clusters, paraphrases[0])
    }


def test_different_requests_land_in_different_clusters(clusters):
    firsts = [
        group[0] for group in (CARD_MISUSE, FLIGHTS, NEW_ADDRESS, PET_COVER, MORTGAGE, CANCEL)
    ]
    places = [cluster_of(clusters, text) for text in firsts + UNRELATED]
    assert len(set(places)) == len(places)


def test_the_most_frequent_failure_comes_first_with_its_counts_and_outcomes(clusters):
    top = clusters[0]
    assert set(top["examples"]) == set(CARD_MISUSE)
    # Twice each as a fallback, the first two once more before a handoff; the understood
    # repeats are not counted.
    assert top["count"] == 12
    assert top["outcomes"] == {"fallback": 10, "handoff": 2}
    # The most frequent phrasings are the first examples.
    assert set(top["examples"][:2]) == set(CARD_MISUSE[:2])
    assert "card" in top["label"]
    counts = [cluster["count"] for cluster in clusters]
    assert counts == sorted(counts, reverse=True)
    assert clusters[1]["count"] == 6 and set(clusters[1]["examples"]) == set(FLIGHTS)
    assert clusters[1]["outcomes"] == {"out_of_scope": 6}


def test_the_same_messages_in_any_order_give_the_same_clusters_and_the_limit_keeps_the_largest(
    clusters,
):
    shuffled = list(MESSAGES)
    random.Random(7).shuffle(shuffled)
    assert failure_clusters(shuffled, limit=50) == clusters
    assert failure_clusters(shuffled, limit=2) == clusters[:2]


def test_nothing_failed_gives_no_clusters_and_an_empty_draft():
    assert failure_clusters(said(["hello"], "understood")) == []
    training = RasaYAMLReader().reads(draft_nlu([]))
    assert training.intent_examples == []


def test_the_draft_nlu_file_reads_as_rasa_training_data_with_one_intent_per_cluster(clusters):
    draft = draft_nlu(clusters)
    training = RasaYAMLReader().reads(draft)

    examples: dict[str, set[str]] = {}
    for message in training.intent_examples:
        examples.setdefault(message.get("intent"), set()).add(message.get("text"))
    assert len(examples) == len(clusters)
    assert all(name.startswith("draft_") for name in examples)
    card_intent = next(name for name, texts in examples.items() if CARD_MISUSE[0] in texts)
    assert examples[card_intent] == set(CARD_MISUSE)
    # Each intent says how often it came and how it ended, for the designer.
    assert "# 12 messages (fallback 10, handoff 2)" in draft


def test_a_customers_brackets_stay_plain_text_in_the_draft():
    cluster = {
        "label": "what is [this](charge)",
        "count": 1,
        "outcomes": {"fallback": 1},
        "examples": ["what is [this](charge) on my statement", "a [card]{ending 4821}"],
    }
    training = RasaYAMLReader().reads(draft_nlu([cluster]))

    assert [message.get("intent") for message in training.intent_examples] == [
        "draft_what_is_this_charge"
    ] * 2
    assert not any(message.get("entities") for message in training.intent_examples)
