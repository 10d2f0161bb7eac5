"""Chat with the running assistant from a terminal, over its REST channel.

The chat opens as the web chat's does (a signed-in customer is offered the questions they most
likely came with). Buttons are shown numbered; type the number to press one. An empty line or
Ctrl-D ends.
With --customer C00001 the chat is signed in as that customer (signed_rest channel), and the
SMS the sandbox "sends" to the customer's phone (security codes) are shown as `phone>` lines.
While a human agent has the chat, their messages (and the assistant's return afterwards) are
read from the conversation's record and shown as they arrive: REST cannot push them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid

from clients.backend import BackendClient, BackendError
from common.customer_binding import issue_sign_in_token
from common.environment import process_environment
from common.system_intents import CHAT_OPENED_INTENT


def send(url: str, sender: str, message: str, sign_in_token: str | None) -> list[dict]:
    body = json.dumps({"sender": sender, "message": message}).encode()
    headers = {"Content-Type": "application/json"}
    if sign_in_token:
        headers["Authorization"] = f"Bearer {sign_in_token}"
    request = urllib.request.Request(url, body, headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)
    except urllib.error.HTTPError as refused:
        # A refusal (429: too fast) or a message not handled (503: send it again) says why in
        # its body; the chat goes on.
        try:
            reason = json.load(refused).get("message")
        except (ValueError, AttributeError):
            reason = None
        return [{"text": reason or f"(the assistant answered HTTP {refused.code})"}]


def show(replies: list[dict]) -> list[dict]:
    buttons: list[dict] = []
    for reply in replies:
        if reply.get("text"):
            print(f"bot> {reply['text']}")
        for button in reply.get("buttons") or []:
            buttons.append(button)
            print(f"     [{len(buttons)}] {button['title']}")
    return buttons


class SandboxPhone:
    """The customer's simulated phone in the sandbox: shows texts that arrived since last look."""

    def __init__(self, environment: dict[str, str], customer: str) -> None:
        self._url = environment["BACKEND_URL"]
        self._secret = environment["SANDBOX_SERVICE_SECRET"]
        self._customer = customer
        self._seen = {message["sent_at"] for message in self._messages()}

    def _messages(self) -> list[dict]:
        # The terminal is synchronous: each look runs the async client in its own event loop.
        async def look() -> list[dict]:
            async with BackendClient(self._url, self._secret) as backend:
                return await backend.phone_messages(self._customer)

        try:
            return asyncio.run(look())
        except BackendError:
            return []

    def show_new(self) -> None:
        for message in reversed(self._messages()):
            if message["sent_at"] not in self._seen:
                self._seen.add(message["sent_at"])
                print(f"phone> {message['body']}")


class HandoffWatcher:
    """Shows what reaches the conversation from outside the customer's own turns: the agent's
    and the desk's messages, and the assistant's answers to the desk's resume."""

    def __init__(self, server: str, api_token: str, sender: str) -> None:
        quoted = urllib.parse.quote(sender, safe=":@")
        self._url = f"{server}/conversations/{quoted}/tracker?token={api_token}"
        self._seen = 0
        self._after_resume = False
        self._stop = threading.Event()

    def _events(self) -> list[dict]:
        try:
            with urllib.request.urlopen(self._url, timeout=5) as response:
                return json.load(response).get("events") or []
        except (OSError, ValueError):
            return []

    def show_new(self) -> None:
        events = self._events()
        for event in events[self._seen :]:
            if event.get("event") == "user":
                intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name") or ""
                self._after_resume = intent.startswith("EXTERNAL_")
            elif event.get("event") == "bot" and event.get("text"):
                metadata = event.get("metadata") or {}
                if metadata.get("handoff_kind") == "agent":
                    print(f"\nagent {metadata.get('agent_name') or ''}> {event['text']}")
                elif metadata.get("handoff_kind") == "desk":
                    print(f"\ndesk> {event['text']}")
                elif self._after_resume:
                    print(f"\nbot> {event['text']}")
        self._seen = len(events)

    def skip_to_now(self) -> None:
        self._seen = len(self._events())

    def run_in_background(self, every_seconds: float = 1.0) -> None:
        def watch() -> None:
            while not self._stop.wait(every_seconds):
                self.show_new()

        threading.Thread(target=watch, daemon=True).start()

    def stop(self) -> None:
        self._stop.set()


def main() -> None:
    environment = process_environment()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customer", help="sign in as this synthetic customer, e.g. C00001")
    parser.add_argument("--server", default=f"http://127.0.0.1:{environment['RASA_PORT']}")
    args = parser.parse_args()
    sender = f"terminal-{uuid.uuid4().hex[:8]}"
    token = None
    channel = "rest"
    if args.customer:
        # The terminal stands in for a channel's sign-in page, so it signs the token itself.
        token = issue_sign_in_token(args.customer, environment["CHANNEL_SIGNING_SECRET"].encode())
        channel = "signed_rest"
    url = f"{args.server}/webhooks/{channel}/webhook"
    phone = SandboxPhone(environment, args.customer) if args.customer else None
    conversation = f"customer:{args.customer}" if args.customer else sender
    # Rasa's HTTP API needs its token; without one the agent's replies are not shown here.
    watcher = HandoffWatcher(args.server, environment.get("RASA_API_TOKEN", ""), conversation)
    watcher.skip_to_now()
    watcher.run_in_background()
    # As the web chat page does when a chat opens: a signed-in customer is offered what they
    # most likely came with (actions/proactive_offers.py), anyone else is greeted.
    buttons = show(send(url, sender, f"/{CHAT_OPENED_INTENT}", token))
    if phone is not None:
        phone.show_new()
    while True:
        try:
            text = input("you> ").strip()
        except EOFError:
            break
        if not text:
            break
        if text.isdigit() and 0 < int(text) <= len(buttons):
            text = buttons[int(text) - 1]["payload"]
        buttons = show(send(url, sender, text, token))
        if phone is not None:
            phone.show_new()
    watcher.stop()


if __name__ == "__main__":
    main()
