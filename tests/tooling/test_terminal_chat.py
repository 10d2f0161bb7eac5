"""The terminal chat (`scripts/chat`) opens as the web chat does and presses buttons by number,
against a stand-in Rasa server that records what it was sent."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from common.system_intents import CHAT_OPENED_INTENT
from tooling import chat

OFFER = {
    "title": "Your 30.04 CNY payment to Starbucks failed today: see why?",
    "payload": '/payments_failed{"transaction_ref":"W1"}',
}


class StandInRasa(BaseHTTPRequestHandler):
    received: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.received.append(body["message"])
        if body["message"] == f"/{CHAT_OPENED_INTENT}":
            replies = [{"text": "Is it about one of these?", "buttons": [OFFER]}]
        else:
            replies = [{"text": f"you sent {body['message']}"}]
        self._answer(replies)

    def do_GET(self) -> None:  # noqa: N802 - the handoff watcher reads the conversation
        self._answer({"events": []})

    def _answer(self, payload: object) -> None:
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def rasa_url() -> Iterator[str]:
    StandInRasa.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), StandInRasa)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_chat_opens_with_the_offers_and_a_number_presses_one(
    rasa_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    typed = iter(["1"])

    def type_next(_: str) -> str:
        try:
            return next(typed)
        except StopIteration:
            raise EOFError from None

    monkeypatch.setattr("builtins.input", type_next)
    monkeypatch.setattr("sys.argv", ["chat", "--server", rasa_url])
    chat.main()
    shown = capsys.readouterr().out
    assert StandInRasa.received == [f"/{CHAT_OPENED_INTENT}", OFFER["payload"]]
    assert f"[1] {OFFER['title']}" in shown
    assert f"you sent {OFFER['payload']}" in shown
