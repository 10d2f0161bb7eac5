"""The project's spaCy pipeline finds the entities customers type, as Rasa will see them."""

from __future__ import annotations

import pytest
import spacy

from nlu.spacy_pipeline import build_pipeline, ensure_pipeline, pipeline_fingerprint


@pytest.fixture(scope="module")
def nlp() -> spacy.language.Language:
    return build_pipeline()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("send ¥500 to Li Wei tomorrow", [("¥500", "amount"), ("tomorrow", "date")]),
        ("transfer 1,200 yuan to my mum", [("1,200 yuan", "amount")]),
        ("can i pay 3k cny on 3 March", [("3k cny", "amount"), ("3 March", "date")]),
        ("i paid $20.50 last week", [("$20.50", "amount"), ("last week", "date")]),
        ("convert 300 USD to euros", [("300 USD", "amount"), ("euros", "currency")]),
        ("i lost my card ending in 4821", [("4821", "card_last_four")]),
        ("last 4 digits are 9911", [("9911", "card_last_four")]),
        ("my card 1234 was declined on Monday", [("1234", "card_last_four"),
                                                  ("Monday", "date")]),
        ("claim on pol-12345678 please", [("pol-12345678", "policy_ref")]),
        ("what happened to TX-20261103A1", [("TX-20261103A1", "transaction_ref")]),
        ("account 6222021012345678 balance", [("6222021012345678", "account_ref")]),
        ("2 days ago i paid 20 bucks", [("2 days ago", "date"), ("20 bucks", "amount")]),
        ("on 2026-11-03 it failed", [("2026-11-03", "date")]),
    ],
)
def test_entities_customers_type_are_found(nlp, text, expected):
    assert [(entity.text, entity.label_) for entity in nlp(text).ents] == expected


@pytest.mark.parametrize(
    "text",
    ["hello there", "i was born in 1990", "what can you do", "", "😀🙏", "我的卡丢了",
     "\x00\x1b[31m"],
)
def test_text_without_entities_yields_none(nlp, text):
    assert list(nlp(text).ents) == []


def test_a_built_pipeline_loads_from_disk_and_is_reused(tmp_path):
    target = ensure_pipeline(tmp_path / "pipeline")
    stamp = (target / "fingerprint.txt").stat().st_mtime_ns

    assert ensure_pipeline(target) == target
    assert (target / "fingerprint.txt").stat().st_mtime_ns == stamp
    assert (target / "fingerprint.txt").read_text().strip() == pipeline_fingerprint()
    loaded = spacy.load(target)
    assert [(e.text, e.label_) for e in loaded("card ending 5555").ents] == [
        ("5555", "card_last_four")
    ]
