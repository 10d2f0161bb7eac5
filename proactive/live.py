"""A session opening in production: the customer's profile and recent events read from the
back end through its client, their past questions from wherever the conversations are kept
(the tracker store or the analytics tables; the caller reads them).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from clients.backend import BackendClient
from proactive.features import Moment, moment_at
from proactive.history import Event, History, Profile, Session, utc_naive

EVENTS_PATH = "/v1/customers/me/events"
# The back end lists at most this many recent events (the sandbox's /events limit).
EVENTS_READ = 50
# How far back past conversations are kept by default: the model learnt how much a question
# asked before weighs from histories known this long.
CONVERSATIONS_KEPT = timedelta(days=90)


async def opening_moment(
    client: BackendClient,
    customer_id: str,
    past_questions: Sequence[tuple[datetime, str]],
    now: datetime,
    conversations_kept: timedelta = CONVERSATIONS_KEPT,
) -> Moment:
    """What the model needs when ``customer_id``'s session opens at ``now`` (UTC, no zone).

    ``past_questions`` are (opened at, intent) of the customer's earlier sessions, as far back
    as ``conversations_kept``.
    """
    profile = await client.get_profile(customer_id)
    listed = await client.call(customer_id, "GET", EVENTS_PATH, params={"limit": EVENTS_READ})
    history = History(
        customer_id=customer_id,
        profile=Profile.from_json(profile),
        history_starts=now - conversations_kept,
        events=tuple(
            sorted(
                (Event(e["kind"], utc_naive(e["occurred_at"])) for e in listed["events"]),
                key=lambda e: e.occurred_at,
            )
        ),
        sessions=tuple(
            sorted(
                (Session(opened_at, question) for opened_at, question in past_questions),
                key=lambda s: s.opened_at,
            )
        ),
    )
    return moment_at(history, now)
