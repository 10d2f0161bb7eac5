"""The service's KPIs over a chosen period, line, channel and intent, as the industry defines
them (the README says each in one sentence); each figure is computed from the sessions
table (analytics.sessions makes its rows from Rasa's events).

- sessions / volume: Rasa sessions that started in the period and in which the customer wrote.
- self-service (containment) rate: sessions with a request resolved and no person brought in,
  over all sessions.
- first-contact resolution rate: sessions with a request resolved after which the same customer
  (their customer id when signed in, else the conversation) started no session about the same
  product line within ``fcr_window_days``, over all sessions.
- CSAT: ratings of 4 or 5 over ratings given; average and distribution of the ratings; response
  rate: sessions that rated over sessions asked to rate.
- escalation rate: sessions that brought in a person, over all sessions, with their reasons.
- abandonment rate: sessions the customer left while the assistant waited for an answer inside
  a flow, over all sessions, with the form and slot (or question) they left at.
- fallback, clarification and out-of-scope rates: the customers' messages the assistant did not
  understand, asked to clarify, or found outside what it serves, over all their messages.
- conversation length: the customer's and the assistant's messages per session.
- time to resolution: from the customer's first message to the resolved request.
- handoff wait: from the handoff to the agent's first message; handling: from that message to
  the agent resolving the conversation.
- proactive offers: sessions whose chat opened with the questions the customer most likely
  came with, over all sessions; and the sessions in which the customer pressed one of them
  next, over the sessions offered something.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.sql import Select

from analytics import store
from clients.analytics import KpiFilters

__all__ = ["ESCALATION_REASONS", "KpiFilters", "compute_kpis", "failed_messages"]

ESCALATION_REASONS = ("customer_request", "repeated_fallback", "policy", "backend_outage")
# A handoff opened without a reason (an action server that does not set the slot yet).
UNSPECIFIED_REASON = "unspecified"
GOOD_RATINGS = (4, 5)
DECIMALS = 4

Row = dict[str, Any]


def _period_bounds(filters: KpiFilters) -> tuple[datetime | None, datetime | None]:
    start = datetime.combine(filters.start, time.min) if filters.start else None
    end = datetime.combine(filters.end + timedelta(days=1), time.min) if filters.end else None
    return start, end


def _selected(query: Select, table: Any, filters: KpiFilters, *, intent: bool = True) -> Select:
    start, end = _period_bounds(filters)
    time_column = table.c.started_at if table is store.sessions else table.c.timestamp
    if start is not None:
        query = query.where(time_column >= start)
    if end is not None:
        query = query.where(time_column < end)
    if filters.line:
        query = query.where(table.c.line == filters.line)
    if filters.channel:
        query = query.where(table.c.channel == filters.channel)
    if intent and filters.intent:
        query = query.where(table.c.first_intent == filters.intent)
    return query


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, DECIMALS) if whole else None


def _median(values: Sequence[float]) -> float | None:
    return round(float(statistics.median(values)), 3) if values else None


def _percentile(values: Sequence[float], share: float) -> float | None:
    """Linear interpolation between the closest ranks (as numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    position = share * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (position - low), 3)


def _customer(row: Row) -> str:
    return str(row["customer_id"] or row["sender_id"])


def _first_contact_resolutions(
    rows: Iterable[Row], later: Sequence[Row], window: timedelta
) -> set[str]:
    """The resolved sessions after which the customer did not come back about the same line
    within ``window``."""
    starts: dict[tuple[str, str | None], list[datetime]] = defaultdict(list)
    for row in later:
        starts[_customer(row), row["line"]].append(row["started_at"])
    resolved_first_time = set()
    for row in rows:
        if not row["resolved"]:
            continue
        came_back = any(
            row["started_at"] < started <= row["ended_at"] + window
            for started in starts[_customer(row), row["line"]]
        )
        if not came_back:
            resolved_first_time.add(row["session_id"])
    return resolved_first_time


def _group_figures(rows: Sequence[Row], first_contact: set[str]) -> Row:
    ratings = [row["rating"] for row in rows if row["rating"] is not None]
    return {
        "sessions": len(rows),
        "self_service_rate": _rate(_contained(rows), len(rows)),
        "first_contact_resolution_rate": _rate(
            sum(row["session_id"] in first_contact for row in rows), len(rows)
        ),
        "csat": _rate(sum(rating in GOOD_RATINGS for rating in ratings), len(ratings)),
        "escalation_rate": _rate(sum(row["escalated"] for row in rows), len(rows)),
    }


def _contained(rows: Iterable[Row]) -> int:
    return sum(row["resolved"] and not row["escalated"] for row in rows)


def _grouped(
    rows: Sequence[Row], key: Callable[[Row], Any], name: str, first_contact: set[str]
) -> list[Row]:
    groups: dict[Any, list[Row]] = defaultdict(list)
    for row in rows:
        groups[key(row)].append(row)
    ordered = sorted(groups.items(), key=lambda item: (-len(item[1]), str(item[0])))
    return [{name: value, **_group_figures(group, first_contact)} for value, group in ordered]


def _trend(rows: Sequence[Row], first: date | None, last: date | None) -> list[Row]:
    if first is None or last is None:
        return []
    by_day: dict[date, list[Row]] = defaultdict(list)
    for row in rows:
        by_day[row["started_at"].date()].append(row)
    days = []
    day = first
    while day <= last:
        figures = _group_figures(by_day.get(day, []), set())
        days.append(
            {
                "date": day.isoformat(),
                "sessions": figures["sessions"],
                "self_service_rate": figures["self_service_rate"],
                "csat": figures["csat"],
                "escalation_rate": figures["escalation_rate"],
            }
        )
        day += timedelta(days=1)
    return days


def _satisfaction(rows: Sequence[Row]) -> Row:
    ratings = [row["rating"] for row in rows if row["rating"] is not None]
    # A customer who rated without being asked answered the question all the same.
    asked = sum(row["rating_asked"] or row["rating"] is not None for row in rows)
    counts = Counter(ratings)
    return {
        "csat": _rate(sum(rating in GOOD_RATINGS for rating in ratings), len(ratings)),
        "average": round(statistics.fmean(ratings), 2) if ratings else None,
        "responses": len(ratings),
        "asked": asked,
        "response_rate": _rate(len(ratings), asked),
        "distribution": {str(rating): counts.get(rating, 0) for rating in range(1, 6)},
    }


def _escalation(rows: Sequence[Row]) -> Row:
    escalated = [row for row in rows if row["escalated"]]
    reasons: Counter[str] = Counter({reason: 0 for reason in ESCALATION_REASONS})
    reasons.update(row["escalation_reason"] or UNSPECIFIED_REASON for row in escalated)
    return {
        "rate": _rate(len(escalated), len(rows)),
        "reasons": {
            reason: count
            for reason, count in reasons.items()
            if reason in ESCALATION_REASONS or count
        },
    }


def _abandonment(rows: Sequence[Row]) -> Row:
    where = Counter(row["abandoned_at"] for row in rows if row["abandoned"])
    return {
        "rate": _rate(sum(row["abandoned"] for row in rows), len(rows)),
        "where": dict(where.most_common()),
    }


def _proactive_offers(rows: Sequence[Row]) -> Row:
    offered = sum(row["offered"] for row in rows)
    taken = sum(row["offer_taken"] for row in rows)
    return {
        "offered": offered,
        "taken": taken,
        "offered_rate": _rate(offered, len(rows)),
        "taken_rate": _rate(taken, offered),
    }


def _rows(connection: Connection | OrmSession, query: Select) -> list[Row]:
    return [dict(row._mapping) for row in connection.execute(query)]


def compute_kpis(connection: Connection | OrmSession, filters: KpiFilters) -> dict[str, Any]:
    """The KPIs of the sessions ``filters`` selects, JSON-ready (the shape the desk's page,
    the static report and the simulator read)."""
    rows = _rows(connection, _selected(select(store.sessions), store.sessions, filters))
    # A customer coming back counts whatever the channel or the request that opened it, and
    # also after the period's end.
    start, _ = _period_bounds(filters)
    returning = select(
        store.sessions.c.session_id,
        store.sessions.c.sender_id,
        store.sessions.c.customer_id,
        store.sessions.c.line,
        store.sessions.c.started_at,
    )
    if start is not None:
        returning = returning.where(store.sessions.c.started_at >= start)
    first_contact = _first_contact_resolutions(
        rows, _rows(connection, returning), timedelta(days=filters.fcr_window_days)
    )
    days = [row["started_at"].date() for row in rows]
    first_day = filters.start or (min(days) if days else None)
    last_day = filters.end or (max(days) if days else None)
    customer_messages = sum(row["user_messages"] for row in rows)
    lengths = [row["user_messages"] + row["bot_messages"] for row in rows]
    figures = _group_figures(rows, first_contact)

    def seconds(column: str) -> list[float]:
        return [row[column] for row in rows if row[column] is not None]

    return {
        "period": {
            "start": first_day.isoformat() if first_day else None,
            "end": last_day.isoformat() if last_day else None,
        },
        "filters": {"line": filters.line, "channel": filters.channel, "intent": filters.intent},
        "sessions": len(rows),
        "self_service_rate": figures["self_service_rate"],
        "first_contact_resolution_rate": figures["first_contact_resolution_rate"],
        "satisfaction": _satisfaction(rows),
        "escalation": _escalation(rows),
        "abandonment": _abandonment(rows),
        "fallback_rate": _rate(sum(row["fallbacks"] for row in rows), customer_messages),
        "clarification_rate": _rate(sum(row["clarifications"] for row in rows), customer_messages),
        "out_of_scope_rate": _rate(sum(row["out_of_scope"] for row in rows), customer_messages),
        "volume": len(rows),
        "conversation_length": {
            "average_messages": round(statistics.fmean(lengths), 2) if lengths else None,
            "median_messages": _median(lengths),
        },
        "time_to_resolution_seconds": {
            "median": _median(seconds("time_to_resolution_seconds")),
            "p90": _percentile(seconds("time_to_resolution_seconds"), 0.9),
        },
        "handoff": {
            "wait_seconds_median": _median(seconds("handoff_wait_seconds")),
            "handling_seconds_median": _median(seconds("handoff_handling_seconds")),
        },
        "proactive_offers": _proactive_offers(rows),
        "by_line": _grouped(rows, lambda row: row["line"], "line", first_contact),
        "by_channel": _grouped(rows, lambda row: row["channel"], "channel", first_contact),
        "by_intent": _grouped(rows, lambda row: row["first_intent"], "intent", first_contact),
        "trend": _trend(rows, first_day, last_day),
    }


def failed_messages(
    connection: Connection | OrmSession, filters: KpiFilters
) -> list[dict[str, Any]]:
    """The customers' own messages that ended in a fallback, out of scope, an abandoned flow
    or a handoff, oldest first: what analytics.failures clusters."""
    query = _selected(
        select(
            store.messages.c.text,
            store.messages.c.outcome,
            store.messages.c.line,
            store.messages.c.intent,
            store.messages.c.channel,
            store.messages.c.session_id,
            store.messages.c.timestamp,
        ).where(store.messages.c.outcome != "understood"),
        store.messages,
        filters,
        intent=False,
    ).order_by(store.messages.c.timestamp)
    return [{**row, "timestamp": row["timestamp"].isoformat()} for row in _rows(connection, query)]
