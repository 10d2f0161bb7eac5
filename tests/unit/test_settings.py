"""Every process reads its settings the same way: a typed, frozen object read once, secrets
without defaults outside the embedded profile, and a message naming the variable at fault."""

from __future__ import annotations

import dataclasses

import pytest

from common import assistant_settings
from common.assistant_settings import ActionServerSettings, ChannelSettings
from common.environment import read_profile
from common.secrets import InsecureSetting
from common.settings import Environment, EnvironmentSettings, SettingError
from services.desk.settings import DeskSettings
from services.sandbox.config import Settings as SandboxSettings
from services.webchat.settings import WebChatSettings

EMBEDDED = read_profile("embedded")
EVERY_SETTINGS = [
    ActionServerSettings,
    ChannelSettings,
    SandboxSettings,
    DeskSettings,
    WebChatSettings,
]
# The secrets each process's settings hold, in the order they are read.
SECRETS = {
    ActionServerSettings: [
        "ACTION_SERVER_TOKEN",
        "SANDBOX_SERVICE_SECRET",
        "DESK_SERVICE_SECRET",
        "REDACTION_SECRET",
    ],
    ChannelSettings: [
        "CHANNEL_SIGNING_SECRET",
        "REDACTION_SECRET",
        "DESK_SERVICE_SECRET",
        "RASA_API_TOKEN",
        "ACTION_SERVER_TOKEN",
    ],
    SandboxSettings: ["SANDBOX_SERVICE_SECRET"],
    DeskSettings: ["DESK_SERVICE_SECRET", "RASA_API_TOKEN", "DESK_SESSION_SECRET"],
    WebChatSettings: ["SANDBOX_SERVICE_SECRET", "CHANNEL_SIGNING_SECRET"],
}


def production(**overrides: str) -> dict[str, str]:
    """The embedded profile's values with real secrets, as a deployment would have them."""
    real = {
        name: f"a-real-{name.lower()}-from-the-store"
        for name in EMBEDDED
        if name.endswith(("_SECRET", "_TOKEN"))
    }
    return {**EMBEDDED, **real, "DEPLOYMENT_PROFILE": "production", **overrides}


@pytest.mark.parametrize("settings_class", EVERY_SETTINGS, ids=lambda cls: cls.__name__)
def test_every_process_reads_its_settings_through_the_one_constructor(settings_class):
    settings = settings_class.from_environment(EMBEDDED)

    assert issubclass(settings_class, EnvironmentSettings)
    assert dataclasses.is_dataclass(settings)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.port = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("settings_class", "name"),
    [(cls, name) for cls, names in SECRETS.items() for name in names],
    ids=lambda value: getattr(value, "__name__", value),
)
def test_a_dev_or_missing_secret_outside_the_embedded_profile_is_named(settings_class, name):
    settings_class.from_environment(production())

    with pytest.raises(InsecureSetting, match=name):
        settings_class.from_environment(production(**{name: EMBEDDED[name]}))
    unset = production()
    del unset[name]
    with pytest.raises(InsecureSetting, match=name):
        settings_class.from_environment(unset)


def test_the_back_end_secret_is_its_own_or_else_the_sandbox_standing_in():
    with_own = ActionServerSettings.from_environment(
        production(BACKEND_SERVICE_SECRET="the-real-back-end-secret-0123")
    )
    sandbox_only = ActionServerSettings.from_environment(production())

    assert with_own.backend.secret == "the-real-back-end-secret-0123"
    assert sandbox_only.backend.secret == production()["SANDBOX_SERVICE_SECRET"]
    with pytest.raises(InsecureSetting, match="BACKEND_SERVICE_SECRET.*SANDBOX_SERVICE_SECRET"):
        ActionServerSettings.from_environment(
            {
                name: value
                for name, value in production().items()
                if name != "SANDBOX_SERVICE_SECRET"
            }
        )


def test_a_value_of_the_wrong_type_names_its_variable():
    with pytest.raises(SettingError, match="DESK_MAX_QUEUE"):
        DeskSettings.from_environment({**EMBEDDED, "DESK_MAX_QUEUE": "twenty"})
    with pytest.raises(SettingError, match="BACKEND_TIMEOUT_SECONDS"):
        ActionServerSettings.from_environment({**EMBEDDED, "BACKEND_TIMEOUT_SECONDS": "3s"})


def test_typed_reads_treat_empty_as_unset():
    env = Environment({"A": " 7 ", "B": "", "C": " https://a.example/, ,https://b.example"})

    assert (env.integer("A", 1), env.integer("B", 2), env.number("missing", 0.5)) == (7, 2, 0.5)
    assert env.optional("B") is None and env.text("B", "default") == "default"
    assert env.items("C") == ("https://a.example", "https://b.example")


def test_the_assistant_reads_its_settings_once_per_process(monkeypatch):
    for name, value in EMBEDDED.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DESK_TIMEOUT_SECONDS", "7")
    assistant_settings.action_server_settings.cache_clear()
    try:
        first = assistant_settings.action_server_settings()
        monkeypatch.setenv("DESK_TIMEOUT_SECONDS", "1")
        assert assistant_settings.action_server_settings() is first
        assert first.desk.timeout_seconds == 7
    finally:
        assistant_settings.action_server_settings.cache_clear()


BIND_ADDRESSES = {
    ActionServerSettings: "ACTION_SERVER_HOST",
    SandboxSettings: "SANDBOX_HOST",
    DeskSettings: "DESK_HOST",
    WebChatSettings: "WEBCHAT_HOST",
}


@pytest.mark.parametrize("settings_class", list(BIND_ADDRESSES), ids=lambda cls: cls.__name__)
def test_every_server_binds_loopback_unless_its_deployment_names_an_address(settings_class):
    variable = BIND_ADDRESSES[settings_class]

    assert settings_class.from_environment(production()).host == "127.0.0.1"
    assert settings_class.from_environment(production(**{variable: "0.0.0.0"})).host == "0.0.0.0"


def test_how_long_and_for_how_many_customers_back_end_reads_are_kept_is_configured():
    defaults = ActionServerSettings.from_environment(EMBEDDED)
    tuned = ActionServerSettings.from_environment(
        {**EMBEDDED, "BACKEND_SESSION_READ_SECONDS": "60", "BACKEND_CACHED_CUSTOMERS": "200"}
    )

    assert (defaults.session_read_seconds, defaults.cached_customers) == (300.0, 5000)
    assert (tuned.session_read_seconds, tuned.cached_customers) == (60.0, 200)
