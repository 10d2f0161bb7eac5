"""Where a handoff goes: the queue of its skill when someone who serves it is at the console,
otherwise a ticket with a promised callback; and who may see it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from services.desk.hours import OpeningHours
from tests.desk.conftest import DeskFactory, RunningDesk

SHANGHAI = ZoneInfo("Asia/Shanghai")


def closed_for_the_next_two_hours() -> tuple[str, datetime]:
    """Opening hours that start two hours from now (local), and that opening moment."""
    opening = (datetime.now(SHANGHAI) + timedelta(hours=2)).replace(second=0, microsecond=0)
    closing = opening + timedelta(hours=1)
    return f"{opening:%H:%M}-{closing:%H:%M}", opening


async def test_outside_opening_hours_a_ticket_promises_a_call_at_the_next_opening(
    start_desk: DeskFactory,
) -> None:
    hours, opening = closed_for_the_next_two_hours()
    desk = await start_desk(opening_hours=hours)
    await desk.agent_at_console("agent")

    outcome = await desk.open_handoff()

    assert (outcome["status"], outcome["ticket_reason"]) == ("ticket", "closed")
    assert outcome["position"] is None
    assert datetime.fromisoformat(outcome["callback_due_at"]) == opening
    assert datetime.fromisoformat(outcome["opens_at"]) == opening
    assert outcome["opens_at"].endswith("+08:00")


async def test_with_nobody_at_the_console_a_ticket_promises_a_callback_within_hours(
    start_desk: DeskFactory,
) -> None:
    desk = await start_desk(callback_hours=2)
    await desk.sign_in("agent")  # signed in, but no console open: not available

    before = datetime.now(timezone.utc)
    outcome = await desk.open_handoff()

    assert (outcome["status"], outcome["ticket_reason"]) == ("ticket", "no_agent")
    due = datetime.fromisoformat(outcome["callback_due_at"])
    assert before + timedelta(hours=2) - timedelta(seconds=5) <= due
    assert due <= datetime.now(timezone.utc) + timedelta(hours=2)
    assert outcome["opens_at"] is None


async def test_an_agent_of_another_skill_does_not_count_as_available(desk: RunningDesk) -> None:
    await desk.agent_at_console("cards")
    assert (await desk.open_handoff(skill="security"))["ticket_reason"] == "no_agent"
    assert (await desk.open_handoff("customer:C00002", skill="bank"))["status"] == "queued"


async def test_a_full_queue_gives_a_ticket(start_desk: DeskFactory) -> None:
    desk = await start_desk(max_queue=2)
    await desk.agent_at_console("agent")
    assert (await desk.open_handoff("customer:C00001"))["status"] == "queued"
    assert (await desk.open_handoff("customer:C00002"))["status"] == "queued"
    full = await desk.open_handoff("customer:C00003")
    assert (full["status"], full["ticket_reason"]) == ("ticket", "queue_full")
    # Another skill has a queue of its own.
    assert (await desk.open_handoff("customer:C00004", skill="bank"))["status"] == "queued"


async def test_tickets_are_callbacks_in_the_console(desk: RunningDesk) -> None:
    lin = await desk.sign_in("agent")
    ticket = await desk.open_handoff()
    overview = (await lin.http.get("/api/agent/queue")).json()
    assert [item["handoff_id"] for item in overview["callbacks"]] == [ticket["handoff_id"]]
    assert overview["callbacks"][0]["callback_due_at"] == ticket["callback_due_at"]
    assert overview["queue"] == [] and overview["mine"] == []

    done = await lin.http.post(f"/api/agent/handoffs/{ticket['handoff_id']}/resolve")
    assert done.status_code == 200
    assert (await lin.http.get("/api/agent/queue")).json()["callbacks"] == []


async def test_an_agent_sees_only_the_queues_of_their_skills(desk: RunningDesk) -> None:
    await desk.agent_at_console("agent")
    zhou = await desk.agent_at_console("cards")
    fraud = await desk.open_handoff("customer:C00001", skill="security")
    card = await desk.open_handoff("customer:C00002", skill="bank")

    queue = (await zhou.http.get("/api/agent/queue")).json()["queue"]
    assert [item["handoff_id"] for item in queue] == [card["handoff_id"]]
    for path in (
        f"/api/agent/handoffs/{fraud['handoff_id']}",
        f"/api/agent/handoffs/{fraud['handoff_id']}/assist?draft=card",
    ):
        assert (await zhou.http.get(path)).status_code == 404
    for action in ("claim", "resolve"):
        reply = await zhou.http.post(f"/api/agent/handoffs/{fraud['handoff_id']}/{action}")
        assert reply.status_code == 404
    reply = await zhou.http.post(
        f"/api/agent/handoffs/{fraud['handoff_id']}/messages", json={"text": "hello"}
    )
    assert reply.status_code == 404
    assert (await zhou.http.get("/api/agent/handoffs/HNOSUCHHANDOFF")).status_code == 404
    assert fraud["handoff_id"] not in (await zhou.http.get("/console")).text


async def test_another_agents_chat_is_out_of_sight(desk: RunningDesk) -> None:
    lin = await desk.agent_at_console("agent")
    zhou = await desk.agent_at_console("cards")
    card = await desk.open_handoff(skill="bank")
    assert (
        await lin.http.post(f"/api/agent/handoffs/{card['handoff_id']}/claim")
    ).status_code == 200

    assert (await zhou.http.get(f"/api/agent/handoffs/{card['handoff_id']}")).status_code == 404
    reply = await zhou.http.post(
        f"/api/agent/handoffs/{card['handoff_id']}/messages", json={"text": "hello"}
    )
    assert reply.status_code == 404
    # Someone of the skill who tries to claim it learns it was taken.
    assert (
        await zhou.http.post(f"/api/agent/handoffs/{card['handoff_id']}/claim")
    ).status_code == 409


class TestOpeningHours:
    zone = SHANGHAI
    monday_9 = datetime(2025, 1, 6, 9, 0, tzinfo=SHANGHAI)

    def test_always_open_by_default(self) -> None:
        hours = OpeningHours.parse("00:00-24:00", "mon-sun", self.zone)
        assert hours.is_open(self.monday_9)
        assert hours.is_open(datetime(2025, 1, 6, 0, 0, tzinfo=SHANGHAI))
        assert hours.is_open(datetime(2025, 1, 5, 23, 59, tzinfo=SHANGHAI))

    def test_weekdays_only(self) -> None:
        hours = OpeningHours.parse("08:00-22:00", "mon-fri", self.zone)
        saturday = datetime(2025, 1, 11, 10, 0, tzinfo=SHANGHAI)
        assert not hours.is_open(saturday)
        assert hours.next_opening(saturday) == datetime(2025, 1, 13, 8, 0, tzinfo=SHANGHAI)
        friday_night = datetime(2025, 1, 10, 22, 0, tzinfo=SHANGHAI)
        assert not hours.is_open(friday_night)
        assert hours.next_opening(friday_night) == datetime(2025, 1, 13, 8, 0, tzinfo=SHANGHAI)
        assert hours.is_open(self.monday_9)

    def test_a_night_shift_runs_past_midnight(self) -> None:
        hours = OpeningHours.parse("22:00-06:00", "fri", self.zone)
        assert hours.is_open(datetime(2025, 1, 10, 23, 0, tzinfo=SHANGHAI))
        assert hours.is_open(datetime(2025, 1, 11, 5, 59, tzinfo=SHANGHAI))
        assert not hours.is_open(datetime(2025, 1, 11, 6, 0, tzinfo=SHANGHAI))

    def test_zones_are_respected(self) -> None:
        hours = OpeningHours.parse("09:00-17:00", "mon-fri", self.zone)
        # 01:30 UTC is 09:30 in Shanghai.
        assert hours.is_open(datetime(2025, 1, 6, 1, 30, tzinfo=timezone.utc))

    @pytest.mark.parametrize(
        "hours, days",
        [
            ("9-17", "mon-fri"),
            ("09:00-25:00", "mon"),
            ("09:00-09:00", "mon"),
            ("09:00-17:00", "mo-fr"),
        ],
    )
    def test_mistyped_hours_are_refused(self, hours: str, days: str) -> None:
        with pytest.raises(ValueError):
            OpeningHours.parse(hours, days, self.zone)
