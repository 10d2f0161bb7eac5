"""Chat with the running assistant from a terminal, over its REST channel.

Buttons are shown numbered; type the number to press one. An empty line or Ctrl-D ends.
With --customer C00001 the chat is signed in as that customer (signed_rest channel).
"""

from __future__ import annotations

import argparse
import json
import urllib.request
import uuid

from channels.customer_binding import issue_sign_in_token
from tooling.environment import process_environment


def send(url: str, sender: str, message: str, sign_in_token: str | None) -> list[dict]:
    body = json.dumps({"sender": sender, "message": message}).encode()
    headers = {"Content-Type": "application/json"}
    if sign_in_token:
        headers["Authorization"] = f"Bearer {sign_in_token}"
    request = urllib.request.Request(url, body, headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def show(replies: list[dict]) -> list[dict]:
    buttons: list[dict] = []
    for reply in replies:
        if reply.get("text"):
            print(f"bot> {reply['text']}")
        for button in reply.get("buttons") or []:
            buttons.append(button)
            print(f"     [{len(buttons)}] {button['title']}")
    return buttons


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
        token = issue_sign_in_token(args.customer,
                                    environment["CHANNEL_SIGNING_SECRET"].encode())
        channel = "signed_rest"
    url = f"{args.server}/webhooks/{channel}/webhook"
    buttons: list[dict] = []
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


if __name__ == "__main__":
    main()
