"""The analytics service starts only on settings it can use: a real service secret outside the
embedded profile, the broker endpoints.yml gives Rasa, and the texts it stores masked as the
channels mask them (and a code quoted inside a sentence too)."""

from __future__ import annotations

import pytest

from analytics.masking import event_key, masked_event
from analytics.settings import AnalyticsSettings
from common.environment import read_profile
from common.secrets import InsecureSetting
from common.settings import Environment, SettingError


def settings(profile: str, **overrides: str) -> AnalyticsSettings:
    return AnalyticsSettings.read(Environment({**read_profile(profile), **overrides}))


def test_the_embedded_profile_runs_on_its_dev_secret_and_sqlite_files() -> None:
    embedded = settings("embedded")
    assert embedded.host == "127.0.0.1" and embedded.port == 5400
    assert embedded.broker_type == "sql" and embedded.broker_url.startswith("sqlite:///")
    assert embedded.database_url == "sqlite:///.data/analytics.db"


def test_production_refuses_a_missing_or_dev_secret() -> None:
    with pytest.raises(InsecureSetting, match="ANALYTICS_SERVICE_SECRET"):
        settings("production")
    dev = read_profile("embedded")["ANALYTICS_SERVICE_SECRET"]
    with pytest.raises(InsecureSetting, match="ANALYTICS_SERVICE_SECRET"):
        settings("production", ANALYTICS_SERVICE_SECRET=dev)
    real = settings("production", ANALYTICS_SERVICE_SECRET="a-real-secret-from-the-store-0123")
    # The broker's credentials join its URL as Rasa joins them; the database is PostgreSQL's.
    assert real.broker_url == "amqp://guest:guest@127.0.0.1:5672/fincs"
    assert real.database_url.startswith("postgresql://")


def test_a_broker_analytics_cannot_read_stops_the_start() -> None:
    with pytest.raises(SettingError, match="EVENT_BROKER_TYPE is kafka"):
        settings("embedded", EVENT_BROKER_TYPE="kafka")


def test_stored_events_are_masked_and_keyed_by_their_masked_content() -> None:
    event = {
        "sender_id": "customer:123456",
        "event": "user",
        "timestamp": 1.5,
        "text": "card 4111-1111-1111-1111, CVC: 123, and the code is 123 456",
        "message_id": "ab123456",
        "metadata": {"token": "signed-token", "nested": [{"password": "hunter2"}]},
    }
    masked = masked_event(event)
    assert masked["text"] == (
        "card [card ending 1111], [security code], and the code is [one-time code]"
    )
    # Identifiers are not text: a sender id of digits is kept as it is.
    assert masked["sender_id"] == "customer:123456" and masked["message_id"] == "ab123456"
    assert masked["metadata"] == {"nested": [{}]}
    assert (
        masked_event({"event": "slot", "name": "verification_code", "value": "111222"})["value"]
        is None
    )
    # The same event keys the same; an amount or a reference stays readable.
    assert event_key(masked_event(event)) == event_key(masked)
    reference = masked_event({"event": "user", "text": "send 1500 to TX12345678"})
    assert reference["text"] == "send 1500 to TX12345678"
