"""The indexed rule policy finds exactly the rules Rasa's RulePolicy finds, on the assistant's
own rules and on made-up ones, so every prediction stays Rasa's."""

from __future__ import annotations

import json
import random
import tarfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rasa.core.policies.rule_policy import RULES, RULES_FOR_LOOP_UNHAPPY_PATH, RulePolicy
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.constants import SHOULD_NOT_BE_SET
from rasa.shared.core.domain import State

from policies.indexed_rules import IndexedRulePolicy

TABLES = (RULES, RULES_FOR_LOOP_UNHAPPY_PATH)


def policy_with(
    policy_class: type[RulePolicy], lookup: dict[str, Any], tmp_path: Path
) -> RulePolicy:
    return policy_class(
        {**policy_class.get_default_config()},
        LocalModelStorage(tmp_path),
        Resource("rules"),
        ExecutionContext(GraphSchema({}), "test"),
        lookup=lookup,
    )


def the_model_rules(model: Path) -> dict[str, Any]:
    with tarfile.open(model) as archive:
        member = next(m for m in archive.getmembers() if m.name.endswith("rule_policy.json"))
        extracted = archive.extractfile(member)
        assert extracted is not None
        return json.load(extracted)["lookup"]


def conversations_from(rule_keys: list[str], rng: random.Random) -> list[list[State]]:
    """Each rule's own turns as a conversation, and the same with the last turn's intent or
    action swapped for another rule's, or its intent given as text, as Rasa's first search
    does: matches, near misses and the cases the index must leave to Rasa's check."""
    rules = [json.loads(key) for key in rule_keys]
    last_turns = [states[-1] for states in rules if states]
    conversations = []
    for states in rules:
        conversations.append(states)
        if not states or not states[-1].get("user"):
            continue
        other = rng.choice(last_turns)
        swapped = dict(states[-1])
        swapped["user"] = other.get("user", {})
        conversations.append([*states[:-1], swapped])
        swapped = dict(states[-1])
        swapped["prev_action"] = other.get("prev_action", {})
        conversations.append([*states[:-1], swapped])
        as_text = dict(states[-1])
        as_text["user"] = {"text": "freeze my card"}
        conversations.append([*states[:-1], as_text])
    return conversations


def test_the_assistants_rules_are_found_as_rasa_finds_them(
    trained_model: Path, tmp_path: Path
) -> None:
    lookup = the_model_rules(trained_model)
    assert len(lookup[RULES]) > 200, "the registry's rules"
    indexed = policy_with(IndexedRulePolicy, lookup, tmp_path)
    rasa = policy_with(RulePolicy, lookup, tmp_path)
    rng = random.Random(17)
    for table in TABLES:
        keys = sorted(lookup[table])
        sample = rng.sample(keys, min(len(keys), 250))
        matched = 0
        for states in conversations_from(sample, rng):
            expected = rasa._get_possible_keys(lookup[table], states)
            assert indexed._get_possible_keys(lookup[table], states) == expected, states
            matched += bool(expected)
        if table == RULES:
            assert matched >= len(sample), "every rule matches at least its own turns"


# Made-up rules over a small vocabulary, so that values, "must not be set", missing parts and
# conversation starts collide often.
VALUES = st.sampled_from(["a", "b", SHOULD_NOT_BE_SET, ""])
USER = st.fixed_dictionaries({}, optional={"intent": VALUES, "text": VALUES})
PREVIOUS_ACTION = st.fixed_dictionaries({}, optional={"action_name": VALUES})
SUB_STATES = st.fixed_dictionaries(
    {},
    optional={
        "user": USER,
        "prev_action": PREVIOUS_ACTION,
        "active_loop": st.fixed_dictionaries({}, optional={"name": VALUES}),
        "slots": st.fixed_dictionaries(
            {}, optional={"card": st.one_of(VALUES, st.just([1.0]), st.just((1.0,)))}
        ),
    },
)
TURNS = st.lists(SUB_STATES, min_size=1, max_size=3)


def near(turns: list[State]) -> st.SearchStrategy[list[State]]:
    """A rule's own turns with the last turn's user or previous action drawn anew."""
    return st.one_of(
        st.builds(lambda user: [*turns[:-1], {**turns[-1], "user": user}], USER),
        st.builds(
            lambda action: [*turns[:-1], {**turns[-1], "prev_action": action}], PREVIOUS_ACTION
        ),
    )


@settings(max_examples=400, deadline=None)
@given(rules=st.lists(TURNS, min_size=1, max_size=12), data=st.data())
def test_made_up_rules_are_found_as_rasa_finds_them(
    rules: list[list[State]], data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    conversation = data.draw(st.one_of(TURNS, st.sampled_from(rules).flatmap(near)))
    lookup = {RULES: {json.dumps(turns): "action" for turns in rules}}
    tmp_path = tmp_path_factory.mktemp("rules")
    indexed = policy_with(IndexedRulePolicy, lookup, tmp_path)
    rasa = policy_with(RulePolicy, lookup, tmp_path)
    assert indexed._get_possible_keys(lookup[RULES], conversation) == rasa._get_possible_keys(
        lookup[RULES], conversation
    )
