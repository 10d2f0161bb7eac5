"""Every service logs one JSON object per line, with the conversation id when one is known
and never what a customer wrote: in the set-up itself, in the request log of the HTTP
services, and in a real action server answering a real call."""

from __future__ import annotations

import io
import json
import logging
import urllib.request
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from channels.log_privacy import install_log_privacy
from common.environment import process_environment
from common.logging_setup import (
    DropConversationText,
    configure_logging,
    conversation,
    current_conversation_id,
)
from common.ports import free_port
from common.request_log import RequestLog
from tooling.processes import Server, action_server

PLANTED = "my card is 4111 1111 1111 1111 and my mother's name is Zhang"


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    configure_logging("test_service", stream=stream)
    try:
        yield stream
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])


def records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_record_is_one_json_line_with_time_level_logger_and_service(log_lines):
    logging.getLogger("fincs.example").warning("queue %s is %d long", "bank", 3)
    [record] = records(log_lines)
    assert record["level"] == "WARNING" and record["logger"] == "fincs.example"
    assert record["service"] == "test_service" and record["msg"] == "queue bank is 3 long"
    assert record["ts"].endswith("+00:00")


def test_a_record_carries_the_conversation_id_while_it_is_known(log_lines):
    logger = logging.getLogger("fincs.example")
    with conversation("customer:C00001"):
        logger.info("operation bank_balance failed: unavailable")
    logger.info("outbox pass done")
    inside, outside = records(log_lines)
    assert inside["conversation_id"] == "customer:C00001"
    assert "conversation_id" not in outside
    assert current_conversation_id() is None


def test_a_record_never_contains_a_planted_message_text(log_lines):
    logger = logging.getLogger("fincs.example")
    with conversation("customer:C00001"):
        logger.info(
            "customer wrote",
            extra={
                "text": PLANTED,
                "body": PLANTED,
                "tracker": {"latest_message": {"text": PLANTED}},
                "intent": "bank_balance",
            },
        )
        try:
            raise RuntimeError("the back end answered 500: " + "x" * 300 + PLANTED)
        except RuntimeError:
            logger.exception("back end call failed")
    output = log_lines.getvalue()
    assert PLANTED not in output and "4111" not in output
    first, second = records(log_lines)
    assert first["intent"] == "bank_balance"
    # The traceback and the error's type stay, its long detail is cut.
    assert "RuntimeError: the back end answered 500" in second["exc"]


def test_a_message_over_the_limit_is_cut(log_lines):
    logging.getLogger("fincs.example").info("%s", "y" * 5000)
    [record] = records(log_lines)
    assert len(record["msg"]) < 1100 and "5000 characters, cut" in record["msg"]


async def test_the_request_log_names_the_route_not_the_path_the_query_or_the_body(log_lines):
    async def relay(request: Request) -> JSONResponse:
        logging.getLogger("fincs.desk").info("relaying a customer message")
        return JSONResponse({"status": "accepted"}, status_code=202)

    app = RequestLog(
        Starlette(
            routes=[
                Route(
                    "/api/conversations/{conversation_id:path}/customer-messages",
                    relay,
                    methods=["POST"],
                ),
            ]
        )
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://desk"
    ) as client:
        await client.post(
            "/api/conversations/customer:C00007/customer-messages",
            params={"token": "signed-secret-token"},
            json={"text": PLANTED},
        )
        await client.get("/cards/4111111111111111")
    handler_line, request_line, unmatched = records(log_lines)
    assert handler_line["conversation_id"] == "customer:C00007"
    assert request_line["conversation_id"] == "customer:C00007"
    assert request_line["method"] == "POST" and request_line["status"] == 202
    assert request_line["path"] == "/api/conversations/{conversation_id:path}/customer-messages"
    assert request_line["duration_ms"] >= 0
    assert unmatched["status"] == 404 and unmatched["path"] == "(no route)"
    output = log_lines.getvalue()
    assert "signed-secret-token" not in output and PLANTED not in output
    assert "4111111111111111" not in output


@pytest.fixture(scope="module")
def running_action_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = action_server(free_port(), process_environment(BACKEND_URL="http://127.0.0.1:9"))
    server.log_dir = tmp_path_factory.mktemp("action-server-logs")
    server.start()
    try:
        server.wait_until_ready()
        yield server
    finally:
        server.stop()


def test_the_action_server_logs_the_conversation_and_never_its_text(running_action_server):
    call = {
        "next_action": "action_run_operation",
        "sender_id": "customer:C00003",
        "tracker": {
            "sender_id": "customer:C00003",
            "slots": {},
            "paused": False,
            "events": [{"event": "user", "text": PLANTED, "parse_data": {}}],
            "latest_message": {
                "text": PLANTED,
                "entities": [],
                "intent": {"name": "bank_balance", "confidence": 1.0},
            },
            "latest_event_time": None,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
        "domain": {"responses": {}},
        "version": "3.6.2",
    }
    token = running_action_server.environment["ACTION_SERVER_TOKEN"]
    request = urllib.request.Request(
        running_action_server.ready_url.replace("/health", "/webhook"),
        json.dumps(call).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
    output = running_action_server.log_path.read_text()
    assert PLANTED not in output and "4111" not in output
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    # The back end here is unreachable: the operation's failure is logged, for this chat.
    assert any(
        line.get("conversation_id") == "customer:C00003" and line["logger"].startswith("actions.")
        for line in lines
    ), output


def test_a_message_through_two_of_the_handlers_is_cut_once_and_says_its_length(log_lines):
    # A process whose logging was set up twice (a library, a test) has two such handlers.
    second = logging.StreamHandler(io.StringIO())
    second.addFilter(DropConversationText("other_service"))
    logging.getLogger().handlers.insert(0, second)

    logging.getLogger("fincs.example").info("%s", "y" * 5000)

    [record] = records(log_lines)
    assert record["msg"].endswith("(5000 characters, cut)") and len(record["msg"]) < 1100
    assert "fincs_message_cut" not in record


def test_a_message_cut_by_the_channels_record_factory_is_not_cut_again(log_lines):
    # The Rasa server's channels install a record factory that cuts every record when it is
    # made; the handler's filter then sees the cut message.
    factory = logging.getLogRecordFactory()
    install_log_privacy()
    try:
        logging.getLogger("fincs.example").info("%s", "y" * 5000)
    finally:
        logging.setLogRecordFactory(factory)

    [record] = records(log_lines)
    assert record["msg"].endswith("(5000 characters, cut)") and len(record["msg"]) < 1100
