"""The action server answers the Rasa server and nobody else: it listens on loopback, refuses
any call without the token (from a script or a browser page alike) before an action runs,
and will not start outside the embedded profile with a missing or public token."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from common.environment import PROJECT_ROOT, process_environment
from common.ports import free_port
from tooling.processes import Server, action_server

ANOTHER_CUSTOMERS_CALL = {
    "next_action": "action_run_operation",
    "sender_id": "customer:C00002",
    "tracker": {
        "sender_id": "customer:C00002",
        "slots": {},
        "events": [],
        "paused": False,
        "latest_message": {
            "text": "balance",
            "intent": {"name": "bank_balance", "confidence": 1.0},
            "entities": [],
        },
        "latest_event_time": None,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": "action_listen",
    },
    "domain": {"responses": {}},
    "version": "3.6.2",
}


@pytest.fixture(scope="module")
def running_action_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = action_server(free_port(), process_environment(BACKEND_URL="http://127.0.0.1:9"))
    server.log_dir = tmp_path_factory.mktemp("action-server")
    server.start()
    try:
        server.wait_until_ready()
        yield server
    finally:
        server.stop()


def post(server: Server, body: bytes, headers: dict[str, str]) -> tuple[int, bytes, dict]:
    url = server.ready_url.replace("/health", "/webhook")
    request = urllib.request.Request(url, body, headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


def listening_addresses(port: int) -> set[str]:
    addresses = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                addresses.add(address)
    return addresses


def test_it_listens_on_loopback_only(running_action_server):
    port = int(running_action_server.environment["ACTION_SERVER_PORT"])
    # 0100007F is 127.0.0.1 as /proc/net/tcp writes it.
    assert listening_addresses(port) == {"0100007F"}


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "application/json"},
        {"Content-Type": "text/plain", "Origin": "http://evil.example"},
        {"Content-Type": "application/json", "Authorization": "Bearer dev-only-guess"},
    ],
    ids=["a script", "a browser page", "a guessed token"],
)
def test_a_call_without_the_token_is_refused_before_any_action_runs(running_action_server, headers):
    status, body, answer_headers = post(
        running_action_server, json.dumps(ANOTHER_CUSTOMERS_CALL).encode(), headers
    )
    assert status == 401
    assert b"C00002" not in body and b"balance" not in body
    assert "Access-Control-Allow-Origin" not in answer_headers


def test_the_rasa_servers_token_is_let_through(running_action_server):
    token = running_action_server.environment["ACTION_SERVER_TOKEN"]
    status, body, _ = post(
        running_action_server,
        json.dumps(ANOTHER_CUSTOMERS_CALL).encode(),
        {"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    # Through, and the action ran: the back end here is unreachable, so it apologises.
    assert status == 200, body
    assert "utter_backend_unavailable" in body.decode()


def test_an_action_that_fails_does_not_echo_the_conversation(running_action_server):
    token = running_action_server.environment["ACTION_SERVER_TOKEN"]
    broken = {**ANOTHER_CUSTOMERS_CALL, "tracker": ["secret words", "my card 4111"]}
    status, body, _ = post(
        running_action_server,
        json.dumps(broken).encode(),
        {"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    assert status >= 400
    assert b"secret words" not in body and b"4111" not in body


@pytest.mark.parametrize("token", ["", "dev-only-action-server-token", "short"])
def test_outside_the_embedded_profile_it_will_not_start_without_a_real_token(token):
    environment = {
        **process_environment(),
        "DEPLOYMENT_PROFILE": "production",
        "ACTION_SERVER_TOKEN": token,
        "ACTION_SERVER_PORT": str(free_port()),
    }
    finished = subprocess.run(
        [sys.executable, "-m", "actions.server"],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode != 0
    assert "ACTION_SERVER_TOKEN" in finished.stderr
