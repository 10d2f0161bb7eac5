"""What the sessions table knows of one signed-in customer: the requests their past sessions
opened with, which the proactive model weighs when their next chat opens (proactive/live.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from analytics import store
from analytics.sessions import CONVERSATIONAL_INTENTS


def past_questions(
    connection: Connection, customer_id: str, since: datetime
) -> list[dict[str, Any]]:
    """``[{"opened_at", "question"}]`` of ``customer_id``'s sessions started since ``since``
    (UTC, no zone), oldest first. A session that opened with no request (a greeting, a thank
    you, a message not understood) asked nothing the model could offer, and is left out."""
    query = (
        select(store.sessions.c.started_at, store.sessions.c.first_intent)
        .where(store.sessions.c.customer_id == customer_id)
        .where(store.sessions.c.started_at >= since)
        .where(store.sessions.c.first_intent.is_not(None))
        .where(store.sessions.c.first_intent.not_in(sorted(CONVERSATIONAL_INTENTS)))
        .order_by(store.sessions.c.started_at)
    )
    return [
        {"opened_at": row.started_at.isoformat(), "question": row.first_intent}
        for row in connection.execute(query)
    ]
