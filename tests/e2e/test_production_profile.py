"""The same project on PostgreSQL, Redis and RabbitMQ: conversations survive a restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.production_services import (
    fresh_postgres_database,
    fresh_rabbitmq_vhost,
    queued_messages,
    require_servers,
)
from tests.e2e.servers import running_assistant
from tooling.environment import read_profile

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

# The Pika broker publishes to this queue when endpoints.yml names none.
EVENTS_QUEUE = "rasa_core_events"


def test_a_conversation_written_by_one_server_is_read_back_by_a_new_one(
    trained_model: Path, tmp_path: Path
):
    require_servers("postgres", "redis", "rabbitmq")
    profile = read_profile("production")
    environment = {
        **profile,
        "TRACKER_STORE_URL": fresh_postgres_database("fincs_tracker_test"),
        "EVENT_BROKER_URL": fresh_rabbitmq_vhost("fincs_test"),
        "LOCK_STORE_KEY_PREFIX": "fincs_test",
        "RASA_API_TOKEN": "test-only-token",
        "DESK_DATABASE_URL": fresh_postgres_database("fincs_desk_test").replace(
            "postgresql://", "postgresql+asyncpg://"),
    }
    # Ports and the sandbox's database are chosen per test run by running_assistant.
    for per_run in ("ACTION_SERVER_URL", "BACKEND_URL", "SANDBOX_DATABASE_URL", "DESK_URL"):
        environment.pop(per_run)

    with running_assistant(trained_model, tmp_path / "first", **environment) as first:
        status, replies = first.say("pg-customer", "hello")
        assert status == 200 and replies
        first.say("pg-customer", "are you a bot?")

    with running_assistant(trained_model, tmp_path / "second", **environment) as second:
        events = second.tracker("pg-customer")["events"]
        said = [event["text"] for event in events if event["event"] == "user"]
        answered = [event["text"] for event in events if event["event"] == "bot"]
        assert said == ["hello", "are you a bot?"]
        assert any("virtual assistant" in text for text in answered)

        status, replies = second.say("pg-customer", "thanks")
        assert status == 200 and replies

    assert queued_messages("fincs_test", EVENTS_QUEUE) > 0
