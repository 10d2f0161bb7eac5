"""Messaging apps are switched on by their environment variables, and only then."""

from __future__ import annotations

import yaml

from tooling.credentials import configured_messaging_apps, credentials_file

SLACK = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "signing-test"}


def test_no_messaging_app_is_on_without_its_variables():
    assert configured_messaging_apps({}) == {}


def test_an_app_with_only_some_of_its_variables_stays_off():
    assert configured_messaging_apps({"SLACK_BOT_TOKEN": "xoxb-test"}) == {}


def test_an_app_with_all_its_variables_is_added_with_placeholders_not_secrets():
    apps = configured_messaging_apps(SLACK)
    assert set(apps) == {"slack"}
    written = credentials_file(SLACK).read_text()
    assert "xoxb-test" not in written and "${SLACK_BOT_TOKEN}" in written
    channels = yaml.safe_load(written.replace("${", "").replace("}", ""))
    assert "channels.socketio.SignedSocketIOInput" in channels
    assert "channels.rest.SignedRestInput" in channels
    assert "slack" in channels
