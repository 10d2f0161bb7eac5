"""What is known when a session opens, and each candidate question's features then.

Nothing here looks at or after the session's own opening: events up to it, questions asked in
earlier sessions, the profile. The association between an event kind (at an age) and each
question is learned from the training customers (QuestionTables), never written by hand.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from proactive.history import History, Profile

# Events older than this are not features (the back end's /events lists recent ones).
EVENT_WINDOW = timedelta(days=30)
# Upper limits of the event age buckets, in hours: the same kind means different questions an
# hour after it happened and a week after.
AGE_BUCKET_LIMITS_HOURS = (6, 24, 72, 168, 720)
# An event is related to a question when it makes the question this many times likelier.
RELATED_LIFT = 2.0
# Pseudo-sessions mixed into each event kind's counts (and each age's): a rare kind's few
# sessions do not make a question look related by chance.
SMOOTHING = 20.0
# Pseudo-sessions at the profile's prior mixed into a customer's own question counts.
PERSONAL_SMOOTHING = 3.0
SEGMENTS = ("mass", "young", "affluent", "private")
PRODUCTS = ("wallet", "bank_account", "debit_card", "credit_line", "loan", "insurance", "fund")
# No column names the question itself: what is known of each question is its rates, so that a
# rarely asked question the customer asked yesterday is judged by what they did, not by a tree
# that learnt that question's code is almost never the answer.
FEATURES = (
    "log_base_rate",
    "log_profile_prior",
    "max_event_lift",
    "newest_event_lift",
    "max_event_log_chance",
    "hours_since_related_event",
    "related_events",
    "times_asked",
    "log_personal_rate",
    "share_of_past_questions",
    "asked_last_3_days",
    "asked_last_30_days",
    "days_since_asked",
    "was_last_question",
    "past_sessions",
    "days_since_last_session",
    "events_last_7_days",
    "hours_since_newest_event",
    "known_days",
)


@dataclass(frozen=True)
class Moment:
    """A session opening and what is known then."""

    customer_id: str
    profile: Profile
    at: datetime
    known_days: float
    events: tuple[tuple[str, float], ...]  # (kind, age in hours) in EVENT_WINDOW, newest first
    past: tuple[tuple[str, float], ...]  # (question, age in days) of earlier sessions, newest first


def moment_at(history: History, at: datetime) -> Moment:
    events = tuple(
        (e.kind, (at - e.occurred_at).total_seconds() / 3600)
        for e in reversed(history.events)
        if e.occurred_at <= at and at - e.occurred_at <= EVENT_WINDOW
    )
    past = tuple(
        (s.question, (at - s.opened_at).total_seconds() / 86400)
        for s in reversed(history.sessions)
        if s.opened_at < at
    )
    known_days = (at - history.history_starts).total_seconds() / 86400
    return Moment(history.customer_id, history.profile, at, known_days, events, past)


def examples(histories: Sequence[History], burn_in: timedelta) -> list[tuple[Moment, str]]:
    """Every session opened once its customer's history is known for ``burn_in``, with the
    question asked: earlier sessions count as past questions only, since what came before the
    history's start is unknown."""
    return [
        (moment_at(history, session.opened_at), session.question)
        for history in histories
        for session in history.sessions
        if session.opened_at >= history.history_starts + burn_in
    ]


def age_bucket(hours: float) -> int:
    for bucket, limit in enumerate(AGE_BUCKET_LIMITS_HOURS):
        if hours <= limit:
            return bucket
    return len(AGE_BUCKET_LIMITS_HOURS) - 1


def profile_vector(profile: Profile, at: datetime) -> list[float]:
    return [
        *(float(profile.segment == segment) for segment in SEGMENTS),
        float(profile.preferred_language == "zh"),
        *(float(product in profile.products) for product in PRODUCTS),
        (at.date() - profile.customer_since).days / 365,
    ]


@dataclass
class QuestionTables:
    """The questions and, learned from training sessions, how often each is asked and how much
    each event kind at each age makes it likelier."""

    questions: tuple[str, ...]
    log_base: np.ndarray  # (questions,)
    log_lift: dict[tuple[str, int], np.ndarray]  # (kind, age bucket) -> (questions,)

    @property
    def index(self) -> dict[str, int]:
        return {question: i for i, question in enumerate(self.questions)}

    @classmethod
    def fit(cls, training: Sequence[tuple[Moment, str]]) -> QuestionTables:
        counts = Counter(question for _, question in training)
        questions = tuple(sorted(counts))
        index = {question: i for i, question in enumerate(questions)}
        base = np.array([counts[q] for q in questions], dtype=float) / len(training)
        by_event: dict[tuple[str, int], np.ndarray] = {}
        by_kind: dict[str, np.ndarray] = {}
        for moment, question in training:
            for kind, bucket in {(kind, age_bucket(hours)) for kind, hours in moment.events}:
                by_event.setdefault((kind, bucket), np.zeros(len(questions)))[index[question]] += 1
            for kind in {kind for kind, _ in moment.events}:
                by_kind.setdefault(kind, np.zeros(len(questions)))[index[question]] += 1
        # An age bucket's few sessions are shrunk towards its kind at any age, the kind towards
        # the base rate: a kind seen a few times still points at its questions.
        kind_rate = {
            kind: (row + SMOOTHING * base) / (row.sum() + SMOOTHING)
            for kind, row in by_kind.items()
        }
        log_lift = {
            (kind, bucket): np.log(
                (row + SMOOTHING * kind_rate[kind]) / (row.sum() + SMOOTHING) / base
            )
            for (kind, bucket), row in by_event.items()
        }
        return cls(questions, np.log(base), log_lift)

    def candidate_matrix(self, moment: Moment, log_prior: np.ndarray) -> np.ndarray:
        """One row per question, FEATURES' columns; NaN where a feature has no value."""
        count = len(self.questions)
        index = self.index
        matrix = np.full((count, len(FEATURES)), np.nan)
        column = {name: i for i, name in enumerate(FEATURES)}
        matrix[:, column["log_base_rate"]] = self.log_base
        matrix[:, column["log_profile_prior"]] = log_prior
        lifts = [
            (hours, self.log_lift.get((kind, age_bucket(hours)), np.zeros(count)))
            for kind, hours in moment.events
        ]
        related_threshold = math.log(RELATED_LIFT)
        if lifts:
            stacked = np.vstack([lift for _, lift in lifts])
            ages = np.array([hours for hours, _ in lifts])[:, None]
            related = stacked >= related_threshold
            matrix[:, column["max_event_lift"]] = stacked.max(axis=0)
            matrix[:, column["newest_event_lift"]] = stacked[0]
            # How likely the question is after its likeliest-making event, not only how much
            # likelier: a rare question made ten times likelier can still be unlikely.
            matrix[:, column["max_event_log_chance"]] = (stacked + self.log_base).max(axis=0)
            matrix[:, column["hours_since_related_event"]] = np.where(related, ages, np.inf).min(
                axis=0
            )
            matrix[:, column["related_events"]] = related.sum(axis=0)
            matrix[:, column["hours_since_newest_event"]] = lifts[0][0]
        else:
            matrix[:, column["max_event_lift"]] = 0.0
            matrix[:, column["newest_event_lift"]] = 0.0
            matrix[:, column["max_event_log_chance"]] = self.log_base
            matrix[:, column["related_events"]] = 0.0
        hours_since_related = matrix[:, column["hours_since_related_event"]]
        hours_since_related[np.isinf(hours_since_related)] = np.nan
        matrix[:, column["events_last_7_days"]] = sum(
            1 for _, hours in moment.events if hours <= 168
        )
        asked = np.zeros(count)
        asked_lately = np.zeros(count)
        asked_just_now = np.zeros(count)
        days_since = np.full(count, np.nan)
        for question, days in reversed(moment.past):
            i = index.get(question)
            if i is not None:
                asked[i] += 1
                asked_lately[i] += days <= 30
                asked_just_now[i] += days <= 3
                days_since[i] = days
        matrix[:, column["times_asked"]] = asked
        matrix[:, column["share_of_past_questions"]] = asked / max(1, len(moment.past))
        # The customer's own rate for each question, their past sessions shrunk towards the
        # profile's prior: on one scale for rare and common questions alike, so a rare question
        # they keep asking ranks high.
        matrix[:, column["log_personal_rate"]] = np.log(
            (asked + PERSONAL_SMOOTHING * np.exp(log_prior))
            / (len(moment.past) + PERSONAL_SMOOTHING)
        )
        matrix[:, column["asked_last_3_days"]] = asked_just_now
        matrix[:, column["asked_last_30_days"]] = asked_lately
        matrix[:, column["days_since_asked"]] = days_since
        last = np.zeros(count)
        if moment.past and moment.past[0][0] in index:
            last[index[moment.past[0][0]]] = 1
        matrix[:, column["was_last_question"]] = last
        matrix[:, column["past_sessions"]] = len(moment.past)
        if moment.past:
            matrix[:, column["days_since_last_session"]] = moment.past[0][1]
        matrix[:, column["known_days"]] = moment.known_days
        return matrix
