"""A proactive scenario (capabilities/<line>.yml, ``proactive:``) in the customer's words: the
offer shown when the chat opens and the notice sent when the event happens, each with the
button that starts the scenario's operation on the event's item.

Used by the offers at chat opening and by the outbound notice, so both say the same thing.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from actions.operation_runner import button_payload
from actions.rendering import customer_zone, display_values, fill_text
from clients.backend import BackendClient
from registry.catalogue import SCENARIO_WHEN, Scenario


@dataclass(frozen=True)
class WordedScenario:
    offer: str
    notice: str | None
    # What the button sends: the scenario's operation, started on the event's item.
    payload: str


def when_text(occurred_at: datetime, now: datetime, profile: dict[str, Any] | None) -> str:
    """When the event happened, as a customer says it: "today", "yesterday", "on 3 Nov".
    Times are UTC without a zone, as the back end sends them; the day is the customer's."""
    zone = customer_zone(profile)
    happened = occurred_at.replace(tzinfo=timezone.utc).astimezone(zone).date()
    today = now.replace(tzinfo=timezone.utc).astimezone(zone).date()
    if happened == today:
        return "today"
    if happened == today - timedelta(days=1):
        return "yesterday"
    return f"on {happened.day} {happened:%b}"


def scenario_payload(scenario: Scenario, reference: str) -> str:
    """What the scenario's button sends: its operation's intent, on the event's item when the
    operation takes one."""
    if scenario.entity is None:
        return f"/{scenario.question}"
    return button_payload(scenario.question, scenario.entity, reference)


async def word_scenario(
    client: BackendClient,
    customer_id: str,
    scenario: Scenario,
    event: dict[str, Any],
    now: datetime,
    profile: dict[str, Any] | None = None,
) -> WordedScenario:
    """``event`` as the back end lists it (``kind``, ``reference``, ``occurred_at``), worded
    with the item the scenario's ``details`` read. Raises BackendError when that read fails:
    an offer with a hole in it is worse than none."""
    reference = str(event["reference"])
    values: dict[str, str] = {}
    if scenario.details is not None:
        path = scenario.details.path.replace("{reference}", urllib.parse.quote(reference, safe=""))
        details = await client.call(customer_id, scenario.details.method, path)
        values = display_values(details, zone=customer_zone(profile))
    values[SCENARIO_WHEN] = when_text(
        datetime.fromisoformat(str(event["occurred_at"])), now, profile
    )
    return WordedScenario(
        offer=fill_text(scenario.offer, values),
        notice=fill_text(scenario.notice, values) if scenario.notice else None,
        payload=scenario_payload(scenario, reference),
    )
