"""The same project on PostgreSQL, Redis and RabbitMQ: conversations survive a restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.environment import read_profile
from tests.channels.stores import PLANTED_CARD_MESSAGE, PLANTED_VALUES, files_holding
from tests.e2e.production_services import (
    drained_messages,
    fresh_postgres_database,
    fresh_rabbitmq_vhost,
    postgres_rows_holding,
    queued_messages,
    require_servers,
)
from tests.e2e.servers import running_assistant

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

# The Pika broker publishes to this queue when endpoints.yml names none.
EVENTS_QUEUE = "rasa_core_events"
# The production profile has no secrets of its own: a deployment's secret store sets them.
TEST_SECRETS = {
    name: f"test-only-{name.lower()}-0123456789"
    for name in (
        "RASA_API_TOKEN",
        "CHANNEL_SIGNING_SECRET",
        "ACTION_SERVER_TOKEN",
        "REDACTION_SECRET",
        "SANDBOX_SERVICE_SECRET",
        "DESK_SERVICE_SECRET",
        "DESK_SESSION_SECRET",
        "ANALYTICS_SERVICE_SECRET",
    )
}


def test_a_conversation_written_by_one_server_is_read_back_by_a_new_one(
    trained_model: Path, tmp_path: Path
):
    require_servers("postgres", "redis", "rabbitmq")
    profile = read_profile("production")
    environment = {
        **profile,
        "TRACKER_STORE_URL": fresh_postgres_database("fincs_tracker_test"),
        "EVENT_BROKER_URL": fresh_rabbitmq_vhost("fincs_test"),
        "LOCK_STORE_KEY_PREFIX": "fincstest",
        **TEST_SECRETS,
        "DESK_DATABASE_URL": fresh_postgres_database("fincs_desk_test").replace(
            "postgresql://", "postgresql+asyncpg://"
        ),
    }
    # Ports and the sandbox's database are chosen per test run by running_assistant.
    for per_run in ("ACTION_SERVER_URL", "BACKEND_URL", "SANDBOX_DATABASE_URL", "DESK_URL"):
        environment.pop(per_run)

    with running_assistant(trained_model, tmp_path / "first", **environment) as first:
        status, replies = first.say("pg-customer", "hello")
        assert status == 200 and replies
        first.say("pg-customer", "are you a bot?")
        first.say("pg-card", PLANTED_CARD_MESSAGE)

    with running_assistant(trained_model, tmp_path / "second", **environment) as second:
        events = second.tracker("pg-customer")["events"]
        said = [event["text"] for event in events if event["event"] == "user"]
        answered = [event["text"] for event in events if event["event"] == "bot"]
        assert said == ["hello", "are you a bot?"]
        assert any("virtual assistant" in text for text in answered)

        status, replies = second.say("pg-customer", "thanks")
        assert status == 200 and replies

    assert queued_messages("fincs_test", EVENTS_QUEUE) > 0
    # The card number and CVV were masked before anything stored them.
    assert postgres_rows_holding(environment["TRACKER_STORE_URL"], PLANTED_VALUES) == {}
    assert postgres_rows_holding(environment["DESK_DATABASE_URL"], PLANTED_VALUES) == {}
    published = b"\n".join(drained_messages("fincs_test", EVENTS_QUEUE)).lower()
    assert published and not [v for v in PLANTED_VALUES if v.encode() in published]
    assert files_holding(tmp_path) == {}


def test_the_production_profile_will_not_start_on_the_embedded_profiles_dev_secrets(
    trained_model: Path, tmp_path: Path
):
    require_servers("postgres", "redis", "rabbitmq")
    environment = {
        **read_profile("production"),
        **{name: value for name, value in read_profile("embedded").items() if name in TEST_SECRETS},
        "TRACKER_STORE_URL": fresh_postgres_database("fincs_tracker_test"),
        "EVENT_BROKER_URL": fresh_rabbitmq_vhost("fincs_test"),
    }
    for per_run in ("ACTION_SERVER_URL", "BACKEND_URL", "SANDBOX_DATABASE_URL", "DESK_URL"):
        environment.pop(per_run)
    with pytest.raises(RuntimeError, match="SANDBOX_SERVICE_SECRET"):
        with running_assistant(trained_model, tmp_path, **environment):
            pass
