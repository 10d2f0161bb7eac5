"""The proactive model, trained and evaluated on a smoke-sized set of sandbox customers: held-out
customers, a threshold chosen on validation only, better guesses than the baselines, and a
newcomer with a failed payment offered it first."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from proactive.evaluate import split_by_customer
from proactive.features import examples, moment_at
from proactive.history import Event, History, Profile, histories_from
from proactive.model import load
from proactive.train import BURN_IN, TEST_SHARE, VALIDATION_SHARE

NOW = datetime(2025, 3, 14, 9, 0)


def newcomer(*events: tuple[str, float]) -> History:
    """A customer with a wallet, cards and a bank account, no past conversation, and these
    (kind, hours ago) events."""
    return History(
        customer_id="C09999",
        profile=Profile(
            "mass", "zh", date(2023, 5, 1), frozenset({"wallet", "bank_account", "debit_card"})
        ),
        history_starts=NOW - timedelta(days=90),
        events=tuple(
            sorted(
                (Event(kind, NOW - timedelta(hours=hours)) for kind, hours in events),
                key=lambda event: event.occurred_at,
            )
        ),
        sessions=(),
    )


def test_customers_are_split_three_ways_with_no_customer_on_two_sides(smoke_lines) -> None:
    histories = histories_from(smoke_lines)
    split = split_by_customer(
        histories, test_share=TEST_SHARE, validation_share=VALIDATION_SHARE, seed=42
    )
    sides = [
        {h.customer_id for h in side} for side in (split.training, split.validation, split.test)
    ]
    assert sum(len(side) for side in sides) == len(histories)
    assert not (sides[0] & sides[1] or sides[0] & sides[2] or sides[1] & sides[2])
    assert len(sides[2]) == pytest.approx(len(histories) * TEST_SHARE, abs=1)
    again = split_by_customer(
        histories, test_share=TEST_SHARE, validation_share=VALIDATION_SHARE, seed=42
    )
    assert {h.customer_id for h in again.test} == sides[2]


def test_the_offer_threshold_is_chosen_on_validation_customers_only(smoke_lines, trained) -> None:
    outcome, choices = trained
    split = split_by_customer(
        histories_from(smoke_lines),
        test_share=TEST_SHARE,
        validation_share=VALIDATION_SHARE,
        seed=42,
    )
    validation = examples(split.validation, BURN_IN)
    assert len(choices) == len(outcome.coverage)
    for choice in choices:
        assert choice.sessions == len(validation) == outcome.sessions["validation"]
        assert choice.asked == [question for _, question in validation]
    assert 0 < outcome.model.threshold < 1


def test_the_model_guesses_better_than_every_baseline(trained) -> None:
    outcome, _ = trained
    model = outcome.test["model"]
    baselines = {name: result for name, result in outcome.test.items() if name != "model"}
    assert set(baselines) == {"most popular", "latest event", "rule list"}
    for name, baseline in baselines.items():
        assert model.top3 > baseline.top3 + 0.05, name
        # Offering less often than the baselines, it is right far more often when it does.
        assert model.right_when_offered > baseline.right_when_offered + 0.2, name
    for name in ("most popular", "latest event"):
        assert model.top1 > baselines[name].top1 + 0.05, name
    # On top-1 the rule list (a designer's event table that happens to match the generator's
    # main questions) is level with the model at this size; the full run in
    # bench/results/proactive.md records the model ahead with five times the customers.
    assert model.top1 > baselines["rule list"].top1 - 0.05
    # At a lower precision target it serves more sessions than any baseline.
    lower_target = min(outcome.coverage)
    _, broader = outcome.coverage[lower_target]
    assert all(broader.served > baseline.served + 0.05 for baseline in baselines.values())
    assert 0.15 < model.offered < broader.offered


def test_a_newcomer_with_a_failed_payment_is_offered_it_first(trained) -> None:
    model = trained[0].model
    offers = model.offers(moment_at(newcomer(("payment_failed", 3)), NOW))
    assert offers and offers[0].question == "payments_failed"
    assert len(offers) <= 3
    locked = model.rank(moment_at(newcomer(("account_locked", 1), ("bill_due_tomorrow", 30)), NOW))
    assert locked[0].question == "security_account_locked"


def test_nothing_is_offered_when_nothing_points_anywhere(trained) -> None:
    model = trained[0].model
    assert model.offers(moment_at(newcomer(), NOW)) == []
    ranked = model.rank(moment_at(newcomer(), NOW))
    assert len(ranked) == len(model.questions) and sum(
        o.confidence for o in ranked
    ) == pytest.approx(1)


def test_the_model_file_loads_back_and_guesses_the_same(trained, tmp_path: Path) -> None:
    model = trained[0].model
    path = model.save(tmp_path / "proactive.joblib")
    again = load(path)
    moment = moment_at(newcomer(("card_declined", 5)), NOW)
    assert again.offers(moment) == model.offers(moment)
    assert again.threshold == model.threshold
