"""The proactive model: ranks every question of the catalogue for a session that is opening.

Two learned parts. A multinomial logistic regression over the profile gives each question's
prior for this kind of customer; a gradient-boosted classifier over (session, candidate
question) pairs then scores each candidate from that prior and the candidate's own features
(features.py): the events that make it likelier and how recent they are, whether and when the
customer asked it before. A session's scores are normalised into confidences that sum to one;
a question is offered when its confidence reaches the threshold chosen on validation customers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from common.environment import PROJECT_ROOT
from proactive.features import FEATURES, Moment, QuestionTables, profile_vector

# One thread for scikit-learn's OpenMP and BLAS: the data are small, and on a shared, busy
# machine their threads wait for each other (training took ten times longer with two).
THREADS = 1
# The model cache (gitignored), beside the assistant's models.
MODEL_PATH = PROJECT_ROOT / "models" / "proactive.joblib"
OFFERED = 3
# Negative candidates drawn at random for each training session, besides the related ones
# (asked before, or made likelier by an event): scoring every pair would cost several times more.
RANDOM_NEGATIVES = 12
PRIOR_FLOOR = 1e-4
# The ranker may only raise a candidate's score as these rise: a tree fitted on few sessions
# of a rare question would otherwise learn that the question is never the answer whatever the
# customer did, and bury the rare question they asked yesterday.
RISING_WITH = (
    "log_base_rate",
    "log_profile_prior",
    "max_event_log_chance",
    "log_personal_rate",
    "times_asked",
    "was_last_question",
    "asked_last_3_days",
    "asked_last_30_days",
)


@dataclass(frozen=True)
class Offer:
    question: str
    confidence: float


@dataclass
class ProactiveModel:
    tables: QuestionTables
    prior: Pipeline  # scaled profile -> logistic regression
    ranker: HistGradientBoostingClassifier
    # The summed confidence of the questions offered together; nothing is offered until a
    # threshold is chosen on validation customers.
    threshold: float = 1.01
    trained: dict[str, Any] = field(default_factory=dict)
    # The feature columns the ranker was fitted on: a model from another version of
    # features.py is refused at load rather than fed columns it does not know.
    features: tuple[str, ...] = FEATURES

    @property
    def questions(self) -> tuple[str, ...]:
        return self.tables.questions

    def log_priors(self, moments: Sequence[Moment]) -> np.ndarray:
        """(moments, questions): log P(question | profile)."""
        probabilities = self.prior.predict_proba(
            np.array([profile_vector(m.profile, m.at) for m in moments])
        )
        priors = np.full((len(moments), len(self.questions)), PRIOR_FLOOR)
        priors[:, self.prior.classes_] = np.maximum(probabilities, PRIOR_FLOOR)
        return np.log(priors)

    def confidences(self, moments: Sequence[Moment]) -> np.ndarray:
        """(moments, questions): each row sums to one."""
        if not moments:
            return np.zeros((0, len(self.questions)))
        with threadpool_limits(limits=THREADS):
            priors = self.log_priors(moments)
            matrix = np.vstack(
                [
                    self.tables.candidate_matrix(m, prior)
                    for m, prior in zip(moments, priors, strict=True)
                ]
            )
            scores = self.ranker.predict_proba(matrix)[:, 1].reshape(len(moments), -1)
        return scores / scores.sum(axis=1, keepdims=True)

    def rank(self, moment: Moment) -> list[Offer]:
        row = self.confidences([moment])[0]
        return [Offer(self.questions[i], float(row[i])) for i in np.argsort(-row, kind="stable")]

    def offers(self, moment: Moment, limit: int = OFFERED) -> list[Offer]:
        """The ``limit`` likeliest questions when together they are likely enough to hold the
        customer's question (their confidences reach the threshold), best first; else none."""
        best = self.rank(moment)[:limit]
        return best if sum(offer.confidence for offer in best) >= self.threshold else []

    def save(self, path: Path = MODEL_PATH) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(self, path)
        return path


def load(path: Path = MODEL_PATH) -> ProactiveModel:
    """A model this project's own training wrote (joblib runs code from the file it loads)."""
    model = joblib.load(path)
    if not isinstance(model, ProactiveModel):
        raise TypeError(f"{path} does not hold a proactive model")
    if model.features != FEATURES:
        raise ValueError(f"{path} was trained on other features: run python -m proactive.train")
    return model


def fit(
    training: Sequence[tuple[Moment, str]], *, seed: int = 42, iterations: int = 100
) -> ProactiveModel:
    with threadpool_limits(limits=THREADS):
        return _fit(training, seed, iterations)


def _fit(training: Sequence[tuple[Moment, str]], seed: int, iterations: int) -> ProactiveModel:
    tables = QuestionTables.fit(training)
    index = tables.index
    moments = [moment for moment, _ in training]
    answers = np.array([index[question] for _, question in training])
    # Scaled and fairly regularised: some questions are (almost) never asked without a
    # product, which would drive an unregularised fit's weights on and on.
    prior = make_pipeline(StandardScaler(), LogisticRegression(C=0.3, tol=1e-3, max_iter=300))
    prior.fit(np.array([profile_vector(m.profile, m.at) for m in moments]), answers)
    model = ProactiveModel(tables, prior, HistGradientBoostingClassifier())
    log_priors = model.log_priors(moments)
    rng = np.random.default_rng(seed)
    rows, labels, weights = [], [], []
    asked_col, lift_col = FEATURES.index("times_asked"), FEATURES.index("max_event_lift")
    for moment, prior_row, answer in zip(moments, log_priors, answers, strict=True):
        matrix = tables.candidate_matrix(moment, prior_row)
        kept = (matrix[:, asked_col] > 0) | (matrix[:, lift_col] > 0.5)
        kept[answer] = True
        others = np.flatnonzero(~kept)
        drawn = rng.choice(others, size=min(RANDOM_NEGATIVES, len(others)), replace=False)
        # A drawn negative stands for all the others it was drawn from: unweighted, the
        # questions nothing points to would look several times likelier than they are.
        weight = len(others) / len(drawn) if len(drawn) else 1.0
        chosen = np.concatenate([np.flatnonzero(kept), drawn])
        rows.append(matrix[chosen])
        labels.append(chosen == answer)
        weights.append(np.where(np.isin(chosen, drawn), weight, 1.0))
    model.ranker = HistGradientBoostingClassifier(
        max_iter=iterations,
        learning_rate=0.1,
        max_leaf_nodes=31,
        min_samples_leaf=40,
        l2_regularization=1.0,
        monotonic_cst=[int(feature in RISING_WITH) for feature in FEATURES],
        early_stopping=False,
        random_state=seed,
    )
    model.ranker.fit(
        np.vstack(rows), np.concatenate(labels).astype(int), sample_weight=np.concatenate(weights)
    )
    return model
