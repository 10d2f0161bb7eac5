"""Chat with the running assistant from a terminal, over its REST channel.

Buttons are shown numbered; type the number to press one. An empty line or Ctrl-D ends.
"""

from __future__ import annotations

import argparse
import json
import urllib.request
import uuid

from tooling.environment import process_environment


def send(url: str, sender: str, message: str) -> list[dict]:
    body = json.dumps({"sender": sender, "message": message}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
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
    parser.add_argument("--url", default=(
        f"http://127.0.0.1:{environment['RASA_PORT']}/webhooks/rest/webhook"))
    parser.add_argument("--sender", default=f"terminal-{uuid.uuid4().hex[:8]}")
    args = parser.parse_args()
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
        buttons = show(send(args.url, args.sender, text))


if __name__ == "__main__":
    main()
