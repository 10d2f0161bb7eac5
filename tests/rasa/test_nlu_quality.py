"""NLU quality on held-out data stays above the bar; a drop fails the run."""

from __future__ import annotations

from tooling.nlu_evaluation import evaluate_heldout

MIN_INTENT_ACCURACY = 0.85
MIN_INTENT_MACRO_F1 = 0.85
MIN_ENTITY_F1 = 0.85


def test_held_out_intents_and_entities_are_recognised():
    scores = evaluate_heldout()

    summary = f"{scores} (worst intents and confusions above)"
    assert scores.test_examples >= 50, summary
    assert scores.intent_accuracy >= MIN_INTENT_ACCURACY, summary
    assert scores.intent_macro_f1 >= MIN_INTENT_MACRO_F1, summary
    if scores.entity_micro_f1 is not None:
        assert scores.entity_micro_f1 >= MIN_ENTITY_F1, summary
