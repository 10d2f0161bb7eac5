"""What the model is measured against: the most popular questions, the question tied to the
most recent event, and a rule list as a designer would write it.

Each ranks at least three questions for a session (the popular ones fill what it has no
opinion on) and names what it would offer on its own: nothing for the popular list's fill.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from proactive.features import Moment

# The question a designer ties to each back-end event kind.
EVENT_QUESTION = {
    "account_locked": "security_account_locked",
    "payment_failed": "payments_failed",
    "payment_pending": "payments_pending",
    "refund_pending": "payments_refund_missing",
    "card_declined": "bank_card_declined",
    "card_in_delivery": "bank_card_delivery",
    "transfer_delayed": "bank_transfer_missing",
    "bill_due_tomorrow": "credit_repay",
    "bill_overdue": "credit_late_payment",
    "claim_in_review": "insurance_claim_status",
    "redemption_processing": "wealth_redemption_arrival",
    "remittance_in_review": "intl_remittance_status",
}
# The rule list: the first rules that apply, most urgent first; a rule applies while its event
# is at most this many hours old.
RULES: tuple[tuple[str, float], ...] = (
    ("account_locked", 72),
    ("remittance_in_review", 7 * 24),
    ("transfer_delayed", 5 * 24),
    ("payment_failed", 3 * 24),
    ("card_declined", 3 * 24),
    ("bill_overdue", 7 * 24),
    ("bill_due_tomorrow", 2 * 24),
    ("payment_pending", 3 * 24),
    ("claim_in_review", 14 * 24),
    ("redemption_processing", 3 * 24),
    ("refund_pending", 14 * 24),
    ("card_in_delivery", 7 * 24),
)
OFFERED = 3


@dataclass(frozen=True)
class Guess:
    ranking: list[str]  # best first, at least OFFERED questions
    offered: list[str]  # what the method offers on its own, at most OFFERED (may be empty)


def _unique(questions: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(questions))


class MostPopular:
    def __init__(self, training: Sequence[tuple[Moment, str]]) -> None:
        self.popular = [q for q, _ in Counter(q for _, q in training).most_common()]

    def fill(self, questions: Sequence[str]) -> list[str]:
        return _unique([*questions, *self.popular[: OFFERED + len(questions)]])

    def guess(self, moment: Moment) -> Guess:
        return Guess(self.popular[:OFFERED], self.popular[:OFFERED])


class LatestEvent:
    """The question tied to the newest event, then the next newest events' questions."""

    def __init__(self, popular: MostPopular) -> None:
        self.popular = popular

    def guess(self, moment: Moment) -> Guess:
        tied = _unique(
            [EVENT_QUESTION[kind] for kind, _ in moment.events if kind in EVENT_QUESTION]
        )
        return Guess(self.popular.fill(tied), tied[:OFFERED])


class RuleList:
    """Urgent events first, each within its rule's time; then the customer's last question."""

    def __init__(self, popular: MostPopular) -> None:
        self.popular = popular

    def guess(self, moment: Moment) -> Guess:
        newest = {}
        for kind, hours in moment.events:
            newest.setdefault(kind, hours)
        fired = [
            EVENT_QUESTION[kind]
            for kind, within in RULES
            if kind in newest and newest[kind] <= within
        ]
        fired = _unique(fired)
        last = [moment.past[0][0]] if moment.past else []
        return Guess(self.popular.fill([*fired, *last]), fired[:OFFERED])
