"""What the customer sees when the notifier triggers a notice in their conversation: the action
server's answer to EXTERNAL_proactive_notice, against a real sandbox whose events are made
through its admin route. (A form in progress is given the trigger by Rasa instead: the
end-to-end test tests/e2e/test_proactive_notice.py shows the notifier trying again after it.)"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.proactive_notice import ActionSendProactiveNotice
from clients.backend import BackendClient
from common.customer_binding import bound_sender_id
from registry.catalogue import default_catalogue
from services.sandbox.config import Settings
from services.sandbox.thread_server import SandboxThread
from tests.proactive.notifier_helpers import SECRET, make_event

REVERTED = [
    {"event": "rewind", "timestamp": None},
    {"event": "followup", "timestamp": None, "name": "action_listen"},
]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    database = tmp_path_factory.mktemp("notice_action") / "sandbox.db"
    server = SandboxThread(
        Settings(
            database_url=f"sqlite+aiosqlite:///{database}",
            service_secret=SECRET,
            customers=20,
            seed=42,
        )
    ).start()
    yield server.base_url
    server.stop()


@pytest.fixture
async def action(sandbox: str) -> AsyncIterator[ActionSendProactiveNotice]:
    async with BackendClient(sandbox, SECRET) as client:
        yield ActionSendProactiveNotice(client=client)


def triggered(sender_id: str, event_id: str, *, paused: bool = False) -> Tracker:
    """The conversation as Rasa hands it to the action after the notifier's trigger."""
    latest = {
        "text": "EXTERNAL: EXTERNAL_proactive_notice",
        "intent": {"name": "EXTERNAL_proactive_notice", "confidence": 1.0},
        "entities": [{"entity": "event_id", "value": event_id}],
    }
    return Tracker(
        sender_id,
        {},
        latest,
        [{"event": "user", **latest}],
        paused,
        None,
        {},
        "action_listen",
    )


async def run(action: ActionSendProactiveNotice, tracker: Tracker) -> tuple[list, list]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, {})
    return dispatcher.messages, events


def rewinds(events: list[Any]) -> bool:
    return [event["event"] for event in events] == [e["event"] for e in REVERTED]


async def test_the_customer_is_told_about_their_event_with_a_button_into_its_flow(
    sandbox: str, action: ActionSendProactiveNotice
) -> None:
    event = make_event(sandbox, "C00005")
    messages, events = await run(action, triggered(bound_sender_id("C00005"), event["event_id"]))
    (message,) = messages
    scenario = default_catalogue().scenarios[event["kind"]]
    assert message["text"] and "{" not in message["text"]
    (button,) = message["buttons"]
    assert button["title"] == default_catalogue().describe(scenario.question)
    assert button["payload"].startswith(f"/{scenario.question}")
    if scenario.entity:
        assert event["reference"][-4:] in button["payload"]
    # The conversation goes on from the notice: the customer may press the button or type.
    assert events == []


async def test_nothing_is_said_to_an_anonymous_chat_or_about_another_customers_event(
    sandbox: str, action: ActionSendProactiveNotice
) -> None:
    event = make_event(sandbox, "C00006")
    for sender_id in ("anonymous-web-visitor", bound_sender_id("C00007")):
        messages, events = await run(action, triggered(sender_id, event["event_id"]))
        assert messages == []
        assert rewinds(events), "the trigger leaves no trace in the conversation"
    messages, _ = await run(action, triggered(bound_sender_id("C00006"), "EV-NO-SUCH-EVENT"))
    assert messages == []


async def test_nothing_is_said_while_a_human_agent_has_the_chat(
    sandbox: str, action: ActionSendProactiveNotice
) -> None:
    event = make_event(sandbox, "C00009")
    tracker = triggered(bound_sender_id("C00009"), event["event_id"], paused=True)
    messages, events = await run(action, tracker)
    assert messages == []
    assert rewinds(events)
