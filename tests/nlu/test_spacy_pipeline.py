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
        ("my card 1234 was declined on Monday", [("1234", "card_last_four"), ("Monday", "date")]),
        ("claim on pol-12345678 please", [("pol-12345678", "policy_ref")]),
        ("what happened to TX-20261103A1", [("TX-20261103A1", "transaction_ref")]),
        ("account 6222021012345678 balance", [("6222021012345678", "account_ref")]),
        ("2 days ago i paid 20 bucks", [("2 days ago", "date"), ("20 bucks", "amount")]),
        ("on 2026-11-03 it failed", [("2026-11-03", "date")]),
        ("where is claim CLM0004201", [("CLM0004201", "claim_ref")]),
        ("pay off loan LN00042 early", [("LN00042", "loan_ref")]),
        ("is transfer TR0004201 late", [("TR0004201", "transaction_ref")]),
        ("send 300 to my sister in Hong Kong", [("300", "amount"), ("Hong Kong", "country")]),
        ("borrow 5000 over 12 months", [("5000", "amount")]),
        ("raise my limit to 20k", [("20k", "amount")]),
        ("my card got rejected this morning", [("this morning", "date")]),
        ("how much is due by the 10th", [("the 10th", "date")]),
    ],
)
def test_entities_customers_type_are_found(nlp, text, expected):
    assert [(entity.text, entity.label_) for entity in nlp(text).ents] == expected


@pytest.mark.parametrize(
    "text",
    [
        "hello there",
        "i was born in 1990",
        "what can you do",
        "",
        "😀🙏",
        "我的卡丢了",
        "\x00\x1b[31m",
        "split it into 6 months",
        "my score went from 680 to 610",
        "how do i transfer money",
    ],
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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I want to take 500 out of the money market fund", [("500", "amount")]),
        ("put 2k in", [("2k", "amount")]),
        ("pay back 300", [("300", "amount")]),
        ("invest 3 hundred yuan", [("3 hundred yuan", "amount")]),
        ("put 2 wan into the fund", [("2 wan", "amount")]),
        ("put 2万 into the fund", [("2万", "amount")]),
        ("invest five hundred yuan", [("five hundred yuan", "amount")]),
        ("send $500 to my son in the USA", [("$500", "amount"), ("USA", "country")]),
        ("pay back 300 dollars", [("300 dollars", "amount")]),
    ],
)
def test_amounts_in_customers_words_are_found_whole(nlp, text, expected):
    assert [(entity.text, entity.label_) for entity in nlp(text).ents] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("increase my credit limit by 5k", "by 5k"),
        ("take 5k more", "5k more"),
    ],
)
def test_a_change_keeps_its_words_so_it_is_not_read_as_a_total(nlp, text, expected):
    assert [(entity.text, entity.label_) for entity in nlp(text).ents] == [(expected, "amount")]


def test_a_name_in_chinese_characters_is_a_recipient(nlp):
    assert [(e.text, e.label_) for e in nlp("send 200 yuan to 林").ents] == [
        ("200 yuan", "amount"),
        ("林", "recipient"),
    ]


def test_the_end_of_a_period_is_told_apart_from_a_day_something_happened(nlp):
    assert [(e.text, e.label_) for e in nlp("in Japan until 20 December").ents] == [
        ("Japan", "country"),
        ("20 December", "end_date"),
    ]
    assert [(e.text, e.label_) for e in nlp("from tomorrow till next friday").ents] == [
        ("tomorrow", "date"),
        ("next friday", "end_date"),
    ]
