"""The notifier starts only on settings it can use: the embedded profile's sandbox outbox and a
file of its own; outside it real secrets, its own database and one queue, named when missing."""

from __future__ import annotations

import pytest

from common.environment import read_profile
from common.secrets import InsecureSetting
from common.settings import Environment, SettingError
from proactive.notifier_settings import NotifierSettings

REAL = {
    "RASA_API_TOKEN": "a-real-rasa-api-token-0123",
    "SANDBOX_SERVICE_SECRET": "a-real-backend-secret-0123",
}


def settings(profile: str, **overrides: str) -> NotifierSettings:
    return NotifierSettings.read(Environment({**read_profile(profile), **overrides}))


def test_the_embedded_profile_reads_the_sandbox_outbox_into_a_file_of_its_own() -> None:
    embedded = settings("embedded")
    assert embedded.events_database_url == read_profile("embedded")["SANDBOX_DATABASE_URL"]
    assert embedded.amqp_url is None
    assert embedded.database_url == "sqlite:///.data/notifier.db"
    assert embedded.rasa_url == "http://127.0.0.1:5005"
    assert embedded.host == "127.0.0.1"


def test_production_refuses_dev_secrets_and_names_what_is_missing() -> None:
    with pytest.raises(InsecureSetting, match="RASA_API_TOKEN"):
        settings("production")
    with pytest.raises(SettingError, match="NOTIFIER_AMQP_URL"):
        settings("production", **REAL)
    with pytest.raises(SettingError, match="NOTIFIER_DATABASE_URL"):
        settings("production", **REAL, NOTIFIER_AMQP_URL="amqp://rabbitmq:5672/fincs")
    with pytest.raises(SettingError, match="both set"):
        settings(
            "production",
            **REAL,
            NOTIFIER_AMQP_URL="amqp://rabbitmq:5672/fincs",
            NOTIFIER_EVENTS_DATABASE_URL="postgresql://db/fincs_sandbox",
        )


def test_production_reads_its_own_rabbitmq_queue_with_the_credentials_apart() -> None:
    real = settings(
        "production",
        **REAL,
        NOTIFIER_AMQP_URL="amqp://rabbitmq:5672/fincs",
        NOTIFIER_AMQP_USERNAME="fincs",
        NOTIFIER_AMQP_PASSWORD="from-the-secret-store",
        NOTIFIER_DATABASE_URL="postgresql://fincs@db:5432/fincs_notifier",
    )
    assert real.amqp_url == "amqp://fincs:from-the-secret-store@rabbitmq:5672/fincs"
    assert real.events_database_url is None
    assert (real.queue, real.exchange) == ("fincs_notifier", "fincs_backend_events")
