"""The project's own spaCy pipeline: a blank English pipeline with rule-based entities.

No pretrained spaCy 3.4 model can be downloaded here, so setup builds this pipeline from
the patterns below; Rasa's SpacyNLP loads it from disk and SpacyEntityExtractor reads its
entities. Rebuilding from the same code always gives the same pipeline.

Entity labels are the Rasa entity names they feed (see domain.yml).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

import spacy
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

DEFAULT_PIPELINE_DIR = Path(".cache/spacy/fincs_en")

CURRENCY_CODES = ["cny", "rmb", "usd", "eur", "gbp", "hkd", "jpy", "sgd", "aud", "cad", "krw"]
CURRENCY_WORDS = [
    "yuan",
    "renminbi",
    "kuai",
    "dollar",
    "dollars",
    "bucks",
    "euro",
    "euros",
    "pound",
    "pounds",
    "quid",
    "yen",
    "won",
]
CURRENCY_SYMBOLS = ["¥", "￥", "$", "€", "£"]
MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
]
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
CARD_WORDS = ["card", "debit", "credit", "visa", "mastercard", "unionpay"]

NUMBER = {"TEXT": {"REGEX": r"^\d{1,3}(,\d{3})+(\.\d{1,2})?$|^\d+(\.\d{1,2})?$"}}
NUMBER_SCALED = {"TEXT": {"REGEX": r"^\d+(\.\d+)?[kK]$"}}
CURRENCY_NAME = {"LOWER": {"IN": CURRENCY_CODES + CURRENCY_WORDS}}
CURRENCY_SYMBOL = {"TEXT": {"IN": CURRENCY_SYMBOLS}}
LAST_FOUR = {"TEXT": {"REGEX": r"^[*xX•]*\d{4}$"}}

COUNTRIES = [
    "japan",
    "thailand",
    "usa",
    "us",
    "united states",
    "america",
    "uk",
    "united kingdom",
    "britain",
    "england",
    "france",
    "singapore",
    "hong kong",
    "macau",
    "macao",
    "taiwan",
    "germany",
    "canada",
    "australia",
    "vietnam",
    "korea",
    "south korea",
    "italy",
    "spain",
    "malaysia",
    "switzerland",
    "philippines",
    "new zealand",
    "indonesia",
    "greece",
    "india",
    "netherlands",
    "portugal",
    "russia",
    "mexico",
    "brazil",
    "turkey",
    "egypt",
    "dubai",
    "uae",
    "ireland",
    "austria",
    "belgium",
    "sweden",
    "norway",
    "denmark",
    "finland",
    "cambodia",
    "laos",
    "myanmar",
    "nepal",
    "sri lanka",
    "maldives",
    "mongolia",
    "kazakhstan",
    "china",
]
# Words after which a bare number is an amount of money: "send 500 to", "borrow 5k".
MONEY_LEAD_INS = [
    "send",
    "sending",
    "transfer",
    "transferring",
    "pay",
    "paying",
    "repay",
    "borrow",
    "lend",
    "redeem",
    "withdraw",
    "deposit",
    "invest",
    "put",
    "move",
    "limit",
    "claim",
    "claiming",
    "amount",
    "loan",
    "only",
    "split",
    "top",
    # "take 500 out", "pay back 300", "get 2k out", "invest 300"; past forms for what happened
    "withdrew",
    "sent",
    "paid",
    "transferred",
    "repaid",
    "invested",
    "borrowed",
    "deposited",
    "redeemed",
    "took",
    "take",
    "taking",
    "back",
    "get",
    "investing",
    "add",
]
# Words that lead to money only with a large number ("raise it to 5000", not "to 610").
WEAK_MONEY_LEAD_INS = ["to", "is", "for", "about", "around", "a", "me", "of"]
COUNT_WORDS = [
    "months",
    "month",
    "instalments",
    "installments",
    "payments",
    "days",
    "years",
    "times",
    "points",
    "digits",
    "weeks",
    "hours",
    "minutes",
    "percent",
    "%",
]
# Words that multiply the number before them: "3 hundred yuan", "2 wan" (20,000), "2 grand".
SCALE_WORDS = ["hundred", "thousand", "k", "grand", "wan", "million"]
# Amounts in words ("three hundred", "fifty yuan") count only with a scale or a currency.
NUMBER_WORDS = (
    "a one two three four five six seven eight nine ten eleven twelve fifteen twenty thirty "
    "forty fifty sixty seventy eighty ninety"
).split()
# A change rather than a figure: "raise my limit by 5k", "5k more". Kept in the entity so
# the form sees that the total was not said.
CHANGE_WORDS_BEFORE = ["by", "another", "extra", "additional"]
CHANGE_WORDS_AFTER = ["more", "extra", "higher", "lower", "less"]
# Words before the last day of a period: "until 20 December", "till next friday".
UNTIL_WORDS = ["until", "till", "til", "through", "thru"]
# Names written in Chinese characters follow these words: "send 200 yuan to 林".
RECIPIENT_LEAD_INS = ["to", "for", "pay", "paying"]
# Entities whose pattern needs context words ("card ending in 1234", "borrow 5k", "until
# 20 December") that their value leaves out; the trimmer below cuts the context off.
LABELS_TRIMMED_OF_CONTEXT = ("card_last_four", "amount", "recipient", "account_ref", "end_date")


def _amount_patterns() -> list[dict[str, Any]]:
    value_forms = [NUMBER, NUMBER_SCALED]
    patterns: list[dict[str, Any]] = []
    for value in value_forms:
        patterns += [
            {"label": "amount", "pattern": [CURRENCY_SYMBOL, value]},
            {"label": "amount", "pattern": [value, CURRENCY_NAME]},
            {"label": "amount", "pattern": [CURRENCY_NAME, value]},
            {
                "label": "amount",
                "pattern": [value, {"LOWER": {"IN": ["k", "thousand"]}}, CURRENCY_NAME],
            },
        ]
    # "5k" and "3 hundred" are money wherever they appear; a currency after them belongs too.
    patterns.append({"label": "amount", "pattern": [NUMBER_SCALED]})
    scale = {"LOWER": {"IN": SCALE_WORDS}}
    for value in (NUMBER, {"LOWER": {"IN": NUMBER_WORDS}}):
        patterns += [
            {"label": "amount", "pattern": [value, scale]},
            {"label": "amount", "pattern": [value, scale, scale]},
            {"label": "amount", "pattern": [value, scale, CURRENCY_NAME]},
        ]
    patterns.append(
        {"label": "amount", "pattern": [{"LOWER": {"IN": NUMBER_WORDS[1:]}}, CURRENCY_NAME]}
    )
    # "2万", "300元", "50块" as customers mix them into English.
    chinese = r"^\d+(\.\d{1,2})?([万千百][元块]?|[元块])$"
    patterns.append({"label": "amount", "pattern": [{"TEXT": {"REGEX": chinese}}]})
    change = {"LOWER": {"IN": CHANGE_WORDS_BEFORE}}
    for value in (NUMBER, NUMBER_SCALED):
        patterns += [
            {"label": "amount", "pattern": [change, value]},
            {"label": "amount", "pattern": [change, CURRENCY_SYMBOL, value]},
            {"label": "amount", "pattern": [value, {"LOWER": {"IN": CHANGE_WORDS_AFTER}}]},
        ]
    # "¥500" and "$1,200.50" are one token in spaCy's English tokenizer only sometimes.
    symbol_prefixed = r"^[¥￥$€£]\d{1,3}(,\d{3})*(\.\d{1,2})?$|^[¥￥$€£]\d+(\.\d{1,2})?[kK]?$"
    patterns.append({"label": "amount", "pattern": [{"TEXT": {"REGEX": symbol_prefixed}}]})
    joined_code = r"^\d+(\.\d{1,2})?(cny|rmb|usd|eur|gbp|hkd|jpy|yuan)$"
    patterns.append({"label": "amount", "pattern": [{"LOWER": {"REGEX": joined_code}}]})
    # A bare number counts as money only after a money word (the trimmer drops it when a
    # count follows, "6 months", and keeps a currency that follows, "send 200 dollars").
    bare = {
        "TEXT": {
            "REGEX": r"^\d{1,3}(,\d{3})+(\.\d{1,2})?$|^\d{1,3}(\.\d{1,2})?$|"
            r"^\d{5,9}(\.\d{1,2})?$|^\d+(\.\d+)?[kK]$|^\d{4}\.\d{1,2}$|"
            r"^[1-9]000$"
        }
    }
    large = {
        "TEXT": {
            "REGEX": r"^\d{1,3}(,\d{3})+(\.\d{1,2})?$|^\d{5,9}(\.\d{1,2})?$|"
            r"^\d+(\.\d+)?[kK]$|^[1-9]000$"
        }
    }
    for lead in MONEY_LEAD_INS:
        patterns.append({"label": "amount", "pattern": [{"LOWER": lead}, bare]})
    for lead in WEAK_MONEY_LEAD_INS:
        patterns.append({"label": "amount", "pattern": [{"LOWER": lead}, large]})
    return patterns


def _currency_patterns() -> list[dict[str, Any]]:
    names = CURRENCY_CODES + [
        "yuan",
        "renminbi",
        "us dollars",
        "us dollar",
        "dollars",
        "euros",
        "euro",
        "pounds",
        "british pounds",
        "yen",
        "hong kong dollars",
        "singapore dollars",
    ]
    return [
        {"label": "currency", "pattern": [{"LOWER": word} for word in name.split()]}
        for name in names
    ]


def _card_patterns() -> list[dict[str, Any]]:
    lead_ins = [
        [{"LOWER": {"IN": ["ending", "ends"]}}, {"LOWER": {"IN": ["in", "with"]}, "OP": "?"}],
        [{"LOWER": {"IN": CARD_WORDS}}, {"LOWER": {"IN": ["no", "no.", "number", "#"]}, "OP": "?"}],
        [
            {"LOWER": "last"},
            {"LOWER": {"IN": ["four", "4"]}},
            {"LOWER": {"IN": ["digits"]}, "OP": "?"},
            {"LOWER": {"IN": ["are", "is", ":"]}, "OP": "?"},
        ],
    ]
    return [{"label": "card_last_four", "pattern": lead + [LAST_FOUR]} for lead in lead_ins]


def _reference_patterns() -> list[dict[str, Any]]:
    """References in the formats the product back ends issue."""
    formats = {
        "account_ref": r"^(ACC-?\d{6,10}|62\d{14,17})$",
        "policy_ref": r"^POL-?\d{6,10}$",
        "claim_ref": r"^CLM-?\d{5,10}$",
        "loan_ref": r"^LN-?\d{5,10}$",
        # At least one digit, so words like "transfer" never pass for a reference.
        "transaction_ref": r"^(?=\D*\d)(TXR|TXN|TX|TR|RM|RF|FO)-?[A-Z0-9]{5,16}$",
    }
    # Case-insensitive: customers type "pol-123456" as often as "POL-123456".
    return [
        {"label": label, "pattern": [{"TEXT": {"REGEX": "(?i)" + regex}}]}
        for label, regex in formats.items()
    ]


def _country_patterns() -> list[dict[str, Any]]:
    return [
        {"label": "country", "pattern": [{"LOWER": word} for word in name.split()]}
        for name in COUNTRIES
    ]


def _date_patterns() -> list[dict[str, Any]]:
    day_number = {"TEXT": {"REGEX": r"^([1-9]|[12]\d|3[01])(st|nd|rd|th)?$"}}
    month = {"LOWER": {"IN": MONTHS}}
    relative = [
        [{"LOWER": {"IN": ["today", "yesterday", "tomorrow", "tonight"]}}],
        [
            {"LOWER": "day"},
            {"LOWER": {"IN": ["before", "after"]}},
            {"LOWER": {"IN": ["yesterday", "tomorrow"]}},
        ],
        [
            {"LOWER": {"IN": ["last", "this", "next"]}},
            {"LOWER": {"IN": WEEKDAYS + ["week", "month", "year", "weekend"]}},
        ],
        [{"LOWER": {"IN": WEEKDAYS}}],
        [
            {"TEXT": {"REGEX": r"^\d{1,2}$"}},
            {"LOWER": {"IN": ["days", "weeks", "months"]}},
            {"LOWER": "ago"},
        ],
        [
            {"LOWER": {"IN": ["a", "one", "two", "three", "few"]}},
            {"LOWER": {"IN": ["day", "days", "week", "weeks", "month", "months"]}},
            {"LOWER": "ago"},
        ],
    ]
    calendar = [
        [month, day_number],
        [day_number, month],
        [{"LOWER": "the"}, day_number, {"LOWER": "of"}, month],
        # spaCy splits ISO dates into "2026", "-", "11", "-", "03".
        [
            {"TEXT": {"REGEX": r"^\d{4}$"}},
            {"TEXT": "-"},
            {"TEXT": {"REGEX": r"^\d{1,2}$"}},
            {"TEXT": "-"},
            {"TEXT": {"REGEX": r"^\d{1,2}$"}},
        ],
        [{"TEXT": {"REGEX": r"^\d{1,2}/\d{1,2}(/\d{2,4})?$"}}],
    ]
    whole_months = [name for name in MONTHS if len(name) > 3 and name != "june"] + ["june"]
    loose = [
        [
            {"LOWER": {"IN": ["this", "yesterday", "tomorrow"]}},
            {"LOWER": {"IN": ["morning", "afternoon", "evening"]}},
        ],
        [{"LOWER": "the"}, {"TEXT": {"REGEX": r"^([1-9]|[12]\d|3[01])(st|nd|rd|th)$"}}],
        [{"LOWER": {"IN": whole_months}}],
    ]
    # "Until 20 December": the end of a period, kept apart from a day something happened.
    until = {"LOWER": {"IN": UNTIL_WORDS}}
    ends = [[until, *pattern] for pattern in relative[:4] + calendar + loose]
    return [{"label": "date", "pattern": pattern} for pattern in relative + calendar + loose] + [
        {"label": "end_date", "pattern": pattern} for pattern in ends
    ]


def _account_kind_patterns() -> list[dict[str, Any]]:
    """ "From my savings", "out of the current account": the account money comes from, named
    by its kind (the forms match it against the customer's accounts); only the kind is kept.
    "To my savings" is left alone: in a transfer it is where the money goes, not the source."""
    kind = [{"LOWER": {"IN": ["my", "the"]}, "OP": "?"}, {"LOWER": {"IN": ["savings", "current"]}}]
    return [
        {"label": "account_ref", "pattern": [{"LOWER": "from"}, *kind]},
        {"label": "account_ref", "pattern": [{"LOWER": "out"}, {"LOWER": "of"}, *kind]},
    ]


def _recipient_patterns() -> list[dict[str, Any]]:
    """Names in Chinese characters, which the learned extractor has never seen; a name
    written in letters is left to it (nlu/learned_entity_extractor.py)."""
    han_name = {"TEXT": {"REGEX": r"^[\u4e00-\u9fff]{1,4}$"}}
    return [
        {"label": "recipient", "pattern": [{"LOWER": lead}, han_name]}
        for lead in RECIPIENT_LEAD_INS
    ]


def entity_patterns() -> list[dict[str, Any]]:
    return (
        _amount_patterns()
        + _recipient_patterns()
        + _account_kind_patterns()
        + _currency_patterns()
        + _card_patterns()
        + _reference_patterns()
        + _country_patterns()
        + _date_patterns()
    )


@Language.component("fincs_entity_trimmer")
def trim_entity_context(doc: Doc) -> Doc:
    trimmed = []
    for entity in doc.ents:
        if entity.label_ in ("card_last_four", "recipient", "account_ref") and len(entity) > 1:
            entity = Span(doc, entity.end - 1, entity.end, label=entity.label_)
        elif entity.label_ == "end_date":
            entity = Span(doc, entity.start + 1, entity.end, label="end_date")
        elif entity.label_ == "amount" and entity[0].lower_ in MONEY_LEAD_INS + WEAK_MONEY_LEAD_INS:
            following = doc[entity.end].lower_ if entity.end < len(doc) else ""
            if following in COUNT_WORDS:
                continue
            end = entity.end
            while end < len(doc) and doc[end].lower_ in SCALE_WORDS:
                end += 1
            if end < len(doc) and doc[end].lower_ in CURRENCY_CODES + CURRENCY_WORDS:
                end += 1
            if end < len(doc) and doc[end].lower_ in CHANGE_WORDS_AFTER:
                end += 1
            entity = Span(doc, entity.start + 1, end, label="amount")
        trimmed.append(entity)
    doc.ents = filter_spans(trimmed)
    return doc


def build_pipeline() -> Language:
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER"})
    ruler.add_patterns(entity_patterns())
    nlp.add_pipe("fincs_entity_trimmer")
    nlp.meta["name"] = "fincs_en"
    nlp.meta["version"] = "1.0.0"
    nlp.meta["description"] = "Blank English tokenizer with rule-based financial entities"
    return nlp


def pipeline_fingerprint() -> str:
    """Changes whenever the patterns or the spaCy version change."""
    content = json.dumps(entity_patterns(), sort_keys=True) + spacy.__version__
    content += ",".join(LABELS_TRIMMED_OF_CONTEXT)
    return hashlib.sha256(content.encode()).hexdigest()[:16]


def ensure_pipeline(target: Path = DEFAULT_PIPELINE_DIR) -> Path:
    """Builds the pipeline into ``target`` unless an identical build is already there."""
    stamp = target / "fingerprint.txt"
    fingerprint = pipeline_fingerprint()
    if stamp.exists() and stamp.read_text().strip() == fingerprint:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    build_pipeline().to_disk(target)
    stamp.write_text(fingerprint + "\n")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=Path, default=DEFAULT_PIPELINE_DIR)
    args = parser.parse_args()
    print(ensure_pipeline(args.target))


if __name__ == "__main__":
    main()
