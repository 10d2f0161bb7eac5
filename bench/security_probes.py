"""The probes of bench/security.py: each tries one finding of the hardening issue (14) against
the running servers, as an attacker or a careful customer would, and judges what came back.

A probe judges behaviour, never the implementation: "refused" is any 4xx, "not stored" is a
search of the bytes of every file the run wrote, "not done" is the back end's own state.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import hashlib
import ipaddress
import json
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import socketio
import yaml

from common.customer_binding import issue_sign_in_token
from common.environment import read_profile
from common.ports import free_port
from services.desk.settings import DEFAULT_DEMO_PASSWORD
from services.webchat.settings import DEFAULT_DEMO_PASSCODE
from tests.e2e.chat_socket import connected
from tests.e2e.servers import RunningAssistant
from tooling.processes import (
    Server,
    action_server,
    desk_server,
    rasa_server,
    sandbox_server,
    webchat_server,
)

# The public values profiles/embedded.env ships for its secrets.
DEV_VALUE_PREFIX = "dev-only-"
FOREIGN_ORIGIN = "http://evil.example"
# Other loopback addresses, so that an abusive client and an innocent one are different
# client addresses to the servers, as they would be on a network.
INNOCENT_ADDRESS, ABUSIVE_ADDRESS = "127.0.0.2", "127.0.0.3"
CONFIRMATION_MARKERS = ("Shall I", "Go ahead?")
CODE_PROMPT = "6-digit code"
# Text that is the machinery talking, not the assistant: never for a customer's eyes.
INTERNAL_ERROR_MARKERS = (
    "Idempotency-Key",
    "Traceback",
    "Exception",
    "BackendError",
    "error_code",
    "sqlalchemy",
    "http://127.0.0.1",
    "HTTP 4",
    "HTTP 5",
)
SERVER_ERROR_LINE = re.compile(r"ERROR|^Traceback|Exception occurred|\" 500 ")
# A step-up token is secrets.token_urlsafe(32) in the sandbox: 43 URL-safe characters.
TOKEN_CANDIDATE = re.compile(rb"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])")


class ProbeError(RuntimeError):
    """The probe could not get to the point it tests (the conversation went elsewhere)."""


@dataclass(frozen=True)
class Verdict:
    held: bool
    evidence: str


@dataclass(frozen=True)
class Probe:
    finding: int
    ref: str
    title: str
    expected: str
    check: Callable[[Lab], Verdict]
    smoke: bool = False
    # Run order: 0 first; 1 for floods and wrong-password bursts, after the rest, so that
    # whatever limits they trigger cannot be what another probe meets; 2 for the look back
    # at every reply of the run.
    stage: int = 0


@dataclass
class Customer:
    id: str
    profile: dict[str, Any]
    accounts: list[dict[str, Any]]
    cards: list[dict[str, Any]]
    recipients: list[dict[str, Any]]

    def active_cards(self) -> list[dict[str, Any]]:
        return [card for card in self.cards if card["status"] == "active"]

    def holds(self, *products: str) -> bool:
        return set(products) <= set(self.profile.get("products", []))


@dataclass
class Lab:
    """The running assistant and what the probes share: clients, customers, the run's files."""

    running: RunningAssistant
    webchat_url: str
    work: Path
    model: Path
    sandbox_customers: int
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=90))
    # Every text the assistant said to a customer during the run.
    replies: list[str] = field(default_factory=list)
    used: set[str] = field(default_factory=set)
    state: dict[str, Any] = field(default_factory=dict)
    _customers: dict[str, Customer] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        return self.running.environment

    @property
    def rasa(self) -> str:
        return self.running.rasa_url

    def secret(self, name: str) -> str:
        return self.env[name]

    def client_from(self, address: str, **options: Any) -> httpx.Client:
        return httpx.Client(
            transport=httpx.HTTPTransport(local_address=address),
            timeout=options.pop("timeout", 120),
            **options,
        )

    # -- customers --------------------------------------------------------------------------
    def backend(
        self,
        method: str,
        path: str,
        customer: str | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        secret: str | None = None,
    ) -> httpx.Response:
        sent = {
            "Authorization": f"Bearer {secret or self.secret('SANDBOX_SERVICE_SECRET')}",
            **({"X-Customer-Id": customer} if customer else {}),
            **(headers or {}),
        }
        return self.http.request(
            method, f"{self.running.backend_url}{path}", json=body, headers=sent
        )

    def customer(self, customer_id: str) -> Customer:
        if customer_id not in self._customers:

            def get(path: str, key: str) -> list[dict[str, Any]]:
                reply = self.backend("GET", f"/v1/customers/me{path}", customer_id)
                return reply.json().get(key, []) if reply.status_code == 200 else []

            profile = self.backend("GET", "/v1/customers/me", customer_id).json()
            held = set(profile.get("products", []))
            self._customers[customer_id] = Customer(
                customer_id,
                profile,
                get("/accounts", "accounts") if "bank_account" in held else [],
                get("/cards", "cards") if "debit_card" in held else [],
                get("/recipients", "recipients") if "bank_account" in held else [],
            )
        return self._customers[customer_id]

    def take(self, wanted: str, fits: Callable[[Customer], bool]) -> Customer:
        """An unlocked customer no other probe has used whose products fit."""
        for number in range(1, self.sandbox_customers + 1):
            customer_id = f"C{number:05d}"
            if customer_id in self.used:
                continue
            customer = self.customer(customer_id)
            if not customer.profile.get("account_locked") and fits(customer):
                self.used.add(customer_id)
                return customer
        raise ProbeError(f"no unused sandbox customer with {wanted}")

    def refresh(self, customer: Customer) -> Customer:
        self._customers.pop(customer.id, None)
        return self.customer(customer.id)

    def token(self, customer_id: str, seconds: int = 3600) -> str:
        return issue_sign_in_token(
            customer_id, self.secret("CHANNEL_SIGNING_SECRET").encode(), seconds
        )

    def sms_code(self, customer_id: str) -> str:
        inbox = self.backend("GET", f"/sandbox/devices/{customer_id}/messages").json()
        if not inbox["messages"]:
            raise ProbeError(f"no SMS was sent to {customer_id}")
        return str(inbox["messages"][0]["code"])

    def step_up_token(self, customer_id: str, purpose: str = "move_money") -> str:
        started = self.backend("POST", "/v1/verification", customer_id, {"purpose": purpose})
        started.raise_for_status()
        confirmed = self.backend(
            "POST",
            f"/v1/verification/{started.json()['verification_id']}/confirm",
            customer_id,
            {"code": self.sms_code(customer_id)},
        )
        confirmed.raise_for_status()
        return str(confirmed.json()["verification_token"])

    # -- talking ----------------------------------------------------------------------------
    def rest(
        self,
        text: str,
        customer: str | None = None,
        sender: str | None = None,
        client: httpx.Client | None = None,
    ) -> tuple[int, list[dict[str, Any]], float]:
        """A message over REST: signed in as ``customer``, else anonymous as ``sender``."""
        headers, channel = {}, "rest"
        if customer is not None:
            headers, channel = {"Authorization": f"Bearer {self.token(customer)}"}, "signed_rest"
        started = time.monotonic()
        reply = (client or self.http).post(
            f"{self.rasa}/webhooks/{channel}/webhook",
            headers=headers,
            json={"sender": sender or f"security-{uuid.uuid4().hex[:8]}", "message": text},
        )
        seconds = time.monotonic() - started
        replies = reply.json() if reply.status_code == 200 else []
        replies = replies if isinstance(replies, list) else []
        self.replies += [str(r.get("text")) for r in replies if r.get("text")]
        return reply.status_code, replies, seconds

    def tracker(self, sender: str) -> dict[str, Any]:
        return self.running.tracker(sender)

    # -- what the run wrote -----------------------------------------------------------------
    def written_files(self) -> list[Path]:
        """Every store and log of the run, except the back end's own database, whose device
        inbox holds the codes it sends by design."""
        return sorted(
            path
            for path in self.work.rglob("*")
            if path.is_file() and not path.name.startswith("sandbox.db")
        )

    def found_in(self, patterns: Iterable[re.Pattern[bytes]]) -> list[str]:
        patterns = list(patterns)
        return [
            str(path.relative_to(self.work))
            for path in self.written_files()
            if any(pattern.search(path.read_bytes()) for pattern in patterns)
        ]

    def log_errors(self, server_name: str) -> list[str]:
        server = next(s for s in self.running.servers if s.name == server_name)
        if not server.log_path.exists():
            return []
        return [
            line
            for line in server.log_path.read_text(errors="replace").splitlines()
            if SERVER_ERROR_LINE.search(line)
        ]


def log_message(line: str) -> str:
    """What a log line says: its message when the service logs JSON lines, else the line."""
    with contextlib.suppress(ValueError, AttributeError):
        return str(json.loads(line).get("msg") or line)
    return line


class Chat:
    """A signed-in customer's conversation over the signed REST channel."""

    def __init__(self, lab: Lab, customer: Customer) -> None:
        self.lab, self.customer = lab, customer
        self.buttons: list[dict[str, Any]] = []

    def say(self, text: str) -> list[str]:
        status, replies, _ = self.lab.rest(text, customer=self.customer.id)
        if status != 200:
            raise ProbeError(f"{text!r} got HTTP {status}")
        self.buttons = [b for r in replies for b in r.get("buttons") or []]
        texts = [str(r.get("text") or "") for r in replies]
        return texts

    def press(self, choose: Callable[[list[dict[str, Any]]], int] = lambda _: 0) -> list[str]:
        return self.say(self.buttons[choose(self.buttons)]["payload"])

    def to_confirmation(
        self, first: str, choose: Callable[[list[dict[str, Any]]], int] = lambda _: 0
    ) -> list[str]:
        """Says ``first`` and answers the form's button questions until the confirmation."""
        texts = self.say(first)
        for _ in range(5):
            if any(marker in text for text in texts for marker in CONFIRMATION_MARKERS):
                return texts
            if not self.buttons:
                break
            texts = self.press(choose)
        raise ProbeError(f"no confirmation after {first!r}: {brief(' / '.join(texts))}")

    def to_code_prompt(self) -> None:
        texts = self.say("yes")
        if not any(CODE_PROMPT in text for text in texts):
            raise ProbeError(f"no code asked after yes: {brief(' / '.join(texts))}")


def brief(text: str, limit: int = 140) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def refused(status: int) -> bool:
    return 400 <= status < 500


def digits_pattern(number: str) -> re.Pattern[bytes]:
    """The number's digits with any spacing or dashes between them."""
    return re.compile(r"[\s-]?".join(re.escape(d) for d in number).encode())


def balances(customer: Customer) -> dict[str, Decimal]:
    return {a["account_number"]: Decimal(a["balance"]["amount"]) for a in customer.accounts}


def spent(before: Customer, after: Customer) -> dict[str, Decimal]:
    start, end = balances(before), balances(after)
    return {
        number: start[number] - end.get(number, start[number])
        for number in start
        if start[number] != end.get(number, start[number])
    }


def card_status(lab: Lab, customer: Customer, last4: str) -> str:
    cards = lab.refresh(customer).cards
    return next(c["status"] for c in cards if c["card_number_masked"].endswith(last4))


def last4(card: dict[str, Any]) -> str:
    return str(card["card_number_masked"])[-4:]


# == 1. The action server answers anyone =====================================================
def action_server_of(lab: Lab) -> Server:
    return next(s for s in lab.running.servers if s.name == "actions")


def listening_addresses(pid: int) -> list[str]:
    """Addresses the process (and any process of its session) listens on, from /proc."""
    pids = [pid]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) == pid:  # the session id; servers start sessions of their own
                pids.append(int(stat.parent.name))
    inodes = set()
    for each in set(pids):
        for link in Path(f"/proc/{each}/fd").glob("*"):
            with contextlib.suppress(OSError):
                target = str(link.readlink())
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
    found = []
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            columns = line.split()
            if columns[3] == "0A" and columns[9] in inodes:  # 0A: LISTEN
                address, port = columns[1].split(":")
                found.append(f"{decode_address(address)}:{int(port, 16)}")
    return found


def decode_address(hex_address: str) -> str:
    raw = bytes.fromhex(hex_address)
    # /proc/net/tcp* print each 32-bit word in host (little-endian) order.
    return str(ipaddress.ip_address(b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))))


def probe_action_server_binds_loopback(lab: Lab) -> Verdict:
    process = action_server_of(lab).process
    assert process is not None
    addresses = listening_addresses(process.pid)
    if not addresses:
        raise ProbeError(f"no listening socket found for the action server (pid {process.pid})")
    loopback = all(a.startswith(("127.", "::1:", "::ffff:127.")) for a in addresses)
    return Verdict(loopback, "listens on " + ", ".join(sorted(set(addresses))))


def domain(lab: Lab) -> dict[str, Any]:
    if "domain" not in lab.state:
        reply = lab.http.get(
            f"{lab.rasa}/domain",
            params={"token": lab.running.api_token},
            headers={"Accept": "application/json"},
        )
        reply.raise_for_status()
        lab.state["domain"] = reply.json()
    return lab.state["domain"]


def action_call(
    lab: Lab,
    action: str,
    customer_id: str,
    intent: str,
    slots: dict[str, Any],
    events: list[dict[str, Any]],
) -> dict[str, Any]:
    """What the Rasa server would send the action server, made up by hand."""
    sender = f"customer:{customer_id}"
    return {
        "next_action": action,
        "sender_id": sender,
        "version": "3.6.2",
        "domain": domain(lab),
        "tracker": {
            "sender_id": sender,
            "slots": slots,
            "latest_message": {
                "intent": {"name": intent, "confidence": 1.0},
                "entities": [],
                "text": intent,
            },
            "events": events,
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
    }


def victim(lab: Lab) -> Customer:
    """Another customer, whose data the forged calls go after."""
    if "victim" not in lab.state:
        lab.state["victim"] = lab.take(
            "a bank account and an active debit card",
            lambda c: c.holds("bank_account", "debit_card") and bool(c.active_cards()),
        )
    return lab.state["victim"]


def leaked(body: str, customer: Customer) -> list[str]:
    return [
        f"account {a['account_number'][-4:]}"
        for a in customer.accounts
        if a["account_number"] in body or f"{a['balance']['amount']}" in body
    ]


def forged_balance_call(lab: Lab, headers: dict[str, str], content_type: str) -> Verdict:
    target = victim(lab)
    body = action_call(lab, "action_run_operation", target.id, "bank_balance", {}, [])
    reply = lab.http.post(
        lab.env["ACTION_SERVER_URL"],
        content=json.dumps(body),
        headers={"Content-Type": content_type, **headers},
    )
    leaks = leaked(reply.text, target)
    cors = reply.headers.get("access-control-allow-origin")
    return Verdict(
        refused(reply.status_code) and not leaks,
        f"HTTP {reply.status_code}; {target.id}'s data in the answer: "
        f"{', '.join(leaks) or 'none'}"
        + (f"; Access-Control-Allow-Origin: {cors}" if cors else "")
        + f"; body: {brief(reply.text, 80)}",
    )


def probe_forged_call_json(lab: Lab) -> Verdict:
    return forged_balance_call(lab, {}, "application/json")


def probe_forged_call_from_a_browser(lab: Lab) -> Verdict:
    return forged_balance_call(lab, {"Origin": FOREIGN_ORIGIN}, "text/plain")


def forged_finish(lab: Lab, headers: dict[str, str], must_refuse: bool, region: str) -> Verdict:
    """action_finish_operation for a form nobody filled: another customer's card enabled
    abroad (an operation with a confirmation and no step-up), no yes anywhere. Each probe
    asks for a region of its own, so that one cannot hide what another did."""
    target = lab.refresh(victim(lab))
    card = target.active_cards()[0]
    until = (datetime.date.today() + datetime.timedelta(days=10)).isoformat()
    slots = {"card": card["card_id"], "travel_region": region, "travel_until": until}
    events = [
        {"event": "active_loop", "name": "intl_card_abroad_form"},
        {"event": "slot", "name": "card", "value": card["card_id"]},
        {"event": "active_loop", "name": None},
    ]
    body = action_call(lab, "action_finish_operation", target.id, "intl_card_abroad", slots, events)
    before = card["travel"]
    reply = lab.http.post(lab.env["ACTION_SERVER_URL"], json=body, headers=headers)
    after = next(c for c in lab.refresh(target).cards if c["card_id"] == card["card_id"])
    unchanged = after["travel"] == before
    return Verdict(
        unchanged and (refused(reply.status_code) or not must_refuse),
        f"HTTP {reply.status_code}; card {last4(card)} of {target.id} abroad "
        f"before {before['regions']}, after {after['travel']['regions']}; "
        f"body: {brief(reply.text, 80)}",
    )


def probe_forged_finish_without_secret(lab: Lab) -> Verdict:
    return forged_finish(lab, {}, must_refuse=True, region="JP")


def probe_forged_finish_with_secret(lab: Lab) -> Verdict:
    return forged_finish(
        lab,
        {"Authorization": f"Bearer {lab.secret('ACTION_SERVER_TOKEN')}"},
        must_refuse=False,
        region="TH",
    )


# == 2. Public default secrets ===============================================================
def dev_secrets() -> dict[str, str]:
    return {
        name: value
        for name, value in read_profile("embedded").items()
        if value.startswith(DEV_VALUE_PREFIX)
    }


def production_start(
    lab: Lab, name: str, make: Callable[[int, dict[str, str]], Server], timeout: float
) -> Verdict:
    """Starts one service as production would, but with the embedded profile's dev secrets:
    it must stop at once, naming a variable. Databases stay SQLite files of this run, so the
    secrets are the only thing wrong with the configuration."""
    where = lab.work / "production-start"
    environment = {
        **lab.env,
        **dev_secrets(),
        "DEPLOYMENT_PROFILE": "production",
        "SANDBOX_DATABASE_URL": f"sqlite+aiosqlite:///{where / 'sandbox.db'}",
        "DESK_DATABASE_URL": f"sqlite+aiosqlite:///{where / 'desk.db'}",
        "TRACKER_STORE_URL": f"sqlite:///{where / 'tracker.db'}",
        "EVENT_BROKER_URL": f"sqlite:///{where / 'events.db'}",
    }
    server = make(free_port(), environment)
    server.log_dir = where
    started = time.monotonic()
    server.start()
    try:
        assert server.process is not None
        while time.monotonic() - started < timeout and server.process.poll() is None:
            with contextlib.suppress(httpx.HTTPError):
                if lab.http.get(server.ready_url, timeout=2).status_code < 500:
                    return Verdict(
                        False,
                        f"{name} started and answers on its port "
                        f"after {time.monotonic() - started:.0f} s",
                    )
            time.sleep(0.5)
        code = server.process.poll()
        if code is None:
            return Verdict(False, f"{name} still running after {timeout:.0f} s")
        output = server.log_path.read_text(errors="replace")
        named = sorted(n for n in dev_secrets() if n in output)
        last = next(
            (line for line in reversed(output.splitlines()) if any(n in line for n in named)),
            output.strip().splitlines()[-1:] or [""],
        )
        return Verdict(
            code != 0 and bool(named),
            f"exit {code} after {time.monotonic() - started:.0f} s; names "
            f"{', '.join(named) or 'no variable'}: {brief(str(last), 120)}",
        )
    finally:
        server.stop()


def probe_production_sandbox(lab: Lab) -> Verdict:
    return production_start(lab, "sandbox", sandbox_server, 60)


def probe_production_desk(lab: Lab) -> Verdict:
    return production_start(lab, "desk", desk_server, 60)


def probe_production_webchat(lab: Lab) -> Verdict:
    return production_start(lab, "web chat", webchat_server, 60)


def probe_production_action_server(lab: Lab) -> Verdict:
    return production_start(lab, "action server", action_server, 90)


def probe_production_rasa(lab: Lab) -> Verdict:
    return production_start(
        lab, "Rasa server", lambda port, env: rasa_server(lab.model, port, env), 180
    )


def probe_forged_sign_in_token(lab: Lab) -> Verdict:
    customer = lab.take("any products", lambda c: True)
    forged = issue_sign_in_token(customer.id, dev_secrets()["CHANNEL_SIGNING_SECRET"].encode())
    reply = lab.http.post(
        f"{lab.rasa}/webhooks/signed_rest/webhook",
        headers={"Authorization": f"Bearer {forged}"},
        json={"sender": "x", "message": "what's my bank balance?"},
    )
    return Verdict(
        refused(reply.status_code),
        f"token for {customer.id} signed with the public dev secret: "
        f"HTTP {reply.status_code} {brief(reply.text, 100)}",
    )


def relay(lab: Lab, conversation: str, secret: str) -> tuple[httpx.Response, str]:
    text = f"Your account is at risk, sign in again at {FOREIGN_ORIGIN}/login ({uuid.uuid4().hex})"
    reply = lab.http.post(
        f"{lab.rasa}/webhooks/handoff/relay",
        headers={"Authorization": f"Bearer {secret}"},
        json={
            "conversation_id": conversation,
            "message_id": uuid.uuid4().hex,
            "kind": "agent",
            "agent_name": "Support",
            "text": text,
        },
    )
    return reply, text


def relay_probe(lab: Lab, secret: str, label: str) -> Verdict:
    customer = lab.take("any products", lambda c: True)
    Chat(lab, customer).say("hello")
    conversation = f"customer:{customer.id}"
    reply, text = relay(lab, conversation, secret)
    recorded = any(e.get("text") == text for e in lab.tracker(conversation)["events"])
    return Verdict(
        refused(reply.status_code) and not recorded,
        f"{label}: HTTP {reply.status_code} {brief(reply.text, 80)}; "
        f"message in the customer's conversation: {'yes' if recorded else 'no'}",
    )


def probe_relay_with_dev_secret(lab: Lab) -> Verdict:
    return relay_probe(lab, dev_secrets()["DESK_SERVICE_SECRET"], "public dev desk secret")


def probe_relay_without_open_handoff(lab: Lab) -> Verdict:
    return relay_probe(
        lab, lab.secret("DESK_SERVICE_SECRET"), "the desk's real secret, no handoff open"
    )


def probe_sms_codes_with_dev_secret(lab: Lab) -> Verdict:
    customer = lab.take("any products", lambda c: True)
    reply = lab.backend(
        "GET",
        f"/sandbox/devices/{customer.id}/messages",
        secret=dev_secrets()["SANDBOX_SERVICE_SECRET"],
    )
    return Verdict(
        refused(reply.status_code),
        f"{customer.id}'s phone inbox with the public dev sandbox secret: "
        f"HTTP {reply.status_code} {brief(reply.text, 80)}",
    )


# == 3. Card numbers, CVVs and codes in clear ================================================
CARD_MESSAGES = {
    "anonymous REST": ("4111 1111 1111 1111", "123"),
    "signed REST": ("5555 5555 5555 4444", "456"),
    "socket.io": ("4012 8888 8888 1881", "789"),
}


def card_message(channel: str) -> str:
    number, cvv = CARD_MESSAGES[channel]
    return f"my card number is {number} and cvv {cvv}"


def stored_card_data(lab: Lab, channel: str) -> list[str]:
    number, cvv = CARD_MESSAGES[channel]
    return lab.found_in(
        [
            digits_pattern(number.replace(" ", "")),
            re.compile(rf"cvv\W{{0,3}}{cvv}".encode(), re.IGNORECASE),
        ]
    )


def card_verdict(lab: Lab, channel: str, answer: str) -> Verdict:
    # The Rasa server and the desk write asynchronously to their stores and logs.
    time.sleep(2)
    found = stored_card_data(lab, channel)
    return Verdict(
        not found,
        f"reply: {brief(answer, 160)}; number or CVV found in: "
        f"{', '.join(found) or 'nothing'} "
        f"(of {len(lab.written_files())} files)",
    )


def probe_card_number_anonymous_rest(lab: Lab) -> Verdict:
    status, replies, _ = lab.rest(card_message("anonymous REST"))
    return card_verdict(
        lab, "anonymous REST", f"HTTP {status} " + " / ".join(str(r.get("text")) for r in replies)
    )


def probe_card_number_signed_rest(lab: Lab) -> Verdict:
    # Then a person is asked for, so the conversation also reaches the desk's transcript.
    chat = Chat(lab, lab.take("any products", lambda c: True))
    answer = chat.say(card_message("signed REST"))
    handoff = chat.say("can I talk to a person?")
    return card_verdict(
        lab,
        "signed REST",
        f"{brief(' / '.join(answer), 60)}; asked for a person: {' / '.join(handoff)}",
    )


def probe_card_number_socketio(lab: Lab) -> Verdict:
    customer = lab.take("any products", lambda c: True)

    async def talk() -> list[dict[str, Any]]:
        async with connected(lab.rasa, auth={"token": lab.token(customer.id)}) as socket:
            await socket.client.emit("user_uttered", {"message": card_message("socket.io")})
            return await socket.replies(first_within=60)

    replies = asyncio.run(talk())
    lab.replies += [str(r.get("text")) for r in replies if r.get("text")]
    return card_verdict(lab, "socket.io", " / ".join(str(r.get("text")) for r in replies))


def transfer_with_code(lab: Lab) -> tuple[Customer, str, list[str]]:
    """A transfer confirmed with its SMS code, once per run: (customer, code, replies)."""
    if "transfer" not in lab.state:
        # Accounts in CNY only, so that whichever the assistant offers first can pay yuan.
        customer = lab.take(
            "CNY bank accounts and a saved recipient",
            lambda c: (
                bool(c.accounts)
                and bool(c.recipients)
                and all(a["balance"]["currency"] == "CNY" for a in c.accounts)
            ),
        )
        chat = Chat(lab, customer)
        chat.to_confirmation("I want to send 20 yuan to someone")
        chat.to_code_prompt()
        code = lab.sms_code(customer.id)
        done = chat.say(code)
        lab.state["transfer"] = (customer, code, done)
    return lab.state["transfer"]


def probe_one_time_code_not_stored(lab: Lab) -> Verdict:
    customer, code, done = transfer_with_code(lab)
    time.sleep(2)
    # Not inside a longer number (a timestamp's digits), as a code typed on its own is.
    found = lab.found_in([re.compile(rb"(?<![\d.])" + code.encode() + rb"(?!\d)")])
    return Verdict(
        not found,
        f"{customer.id} typed the code; reply: "
        f"{brief(' / '.join(done), 70)}; code found in: "
        f"{', '.join(found) or 'nothing'}",
    )


def probe_step_up_token_not_in_tracker(lab: Lab) -> Verdict:
    customer, _, _ = transfer_with_code(lab)
    with sqlite3.connect(f"file:{lab.work / 'logs' / 'sandbox.db'}?mode=ro", uri=True) as db:
        hashes = {
            row[0]
            for row in db.execute(
                "SELECT token_hash FROM verification_tokens WHERE customer_id = ?", (customer.id,)
            )
        }
    if not hashes:
        raise ProbeError(f"the sandbox issued no step-up token to {customer.id}")
    slots = lab.tracker(f"customer:{customer.id}")["slots"]
    in_slots = [
        name
        for name, value in slots.items()
        if isinstance(value, str) and hashlib.sha256(value.encode()).hexdigest() in hashes
    ]
    in_files = [
        str(path.relative_to(lab.work))
        for path in lab.written_files()
        if any(
            hashlib.sha256(m.group()).hexdigest() in hashes
            for m in TOKEN_CANDIDATE.finditer(path.read_bytes())
        )
    ]
    return Verdict(
        not in_slots and not in_files,
        f"{len(hashes)} token(s) issued to {customer.id}; in tracker slots: "
        f"{', '.join(in_slots) or 'none'}; in files: {', '.join(in_files) or 'none'}",
    )


# == 4. Stalling and rate limits =============================================================
def hi_latency(lab: Lab, client: httpx.Client, customer: Customer, times: int = 3) -> float:
    seconds = []
    for _ in range(times):
        status, _, elapsed = lab.rest("hi", customer=customer.id, client=client)
        if status != 200:
            raise ProbeError(f"the other customer's hi got HTTP {status}")
        seconds.append(elapsed)
    return statistics.median(seconds)


def probe_megabyte_message(lab: Lab) -> Verdict:
    innocent = lab.take("any products", lambda c: True)
    with lab.client_from(INNOCENT_ADDRESS) as calm, lab.client_from(ABUSIVE_ADDRESS) as loud:
        baseline = hi_latency(lab, calm, innocent)
        huge = ("balance " * 131072)[:1_000_000]
        with ThreadPoolExecutor(1) as pool:
            flood = pool.submit(lab.rest, huge, None, None, loud)
            time.sleep(0.3)
            during = hi_latency(lab, calm, innocent)
            status, replies, seconds = flood.result(timeout=180)
    prompt = refused(status) or (status == 200 and seconds < 5 and bool(replies))
    steady = during <= max(3 * baseline, baseline + 1.0)
    return Verdict(
        prompt and steady,
        f"1 MB message: HTTP {status} in {seconds:.1f} s "
        f"({brief(' / '.join(str(r.get('text')) for r in replies), 60) or 'no reply'}); "
        f"another customer's hi: {baseline * 1000:.0f} ms before, "
        f"{during * 1000:.0f} ms during",
    )


def probe_fifty_messages_at_once(lab: Lab) -> Verdict:
    customer = lab.take("a bank account", lambda c: bool(c.accounts))
    limits = httpx.Limits(max_connections=60)
    with lab.client_from(ABUSIVE_ADDRESS, limits=limits) as loud, ThreadPoolExecutor(50) as pool:
        started = time.monotonic()
        outcomes = list(
            pool.map(
                lambda _: _status_or_error(
                    lambda: lab.rest("what's my bank balance?", customer.id, None, loud)[0]
                ),
                range(50),
            )
        )
        seconds = time.monotonic() - started
    counts = Counter(outcomes)
    broken = sum(n for k, n in counts.items() if not isinstance(k, int) or k >= 500)
    return Verdict(
        counts[429] > 0 and not broken,
        f"{customer.id}, 50 messages at once: {describe_counts(counts)} in {seconds:.1f} s",
    )


def _status_or_error(send: Callable[[], int]) -> int | str:
    try:
        return send()
    except httpx.HTTPError as error:
        return type(error).__name__


def describe_counts(counts: Counter[Any]) -> str:
    return ", ".join(
        f"{n}× {k if isinstance(k, str) else f'HTTP {k}'}"
        for k, n in sorted(counts.items(), key=lambda item: str(item[0]))
    )


def limited(reply: httpx.Response) -> bool:
    return reply.status_code == 429 or "retry-after" in reply.headers


def burst(
    lab: Lab, send: Callable[[httpx.Client], httpx.Response], times: int
) -> tuple[Counter[Any], float]:
    with lab.client_from(ABUSIVE_ADDRESS) as loud:
        started = time.monotonic()
        replies = [send(loud) for _ in range(times)]
    return (
        Counter(429 if limited(r) else r.status_code for r in replies),
        time.monotonic() - started,
    )


def probe_desk_password_burst(lab: Lab) -> Verdict:
    counts, seconds = burst(
        lab,
        lambda client: client.post(
            f"{lab.running.desk_url}/console/login",
            json={"username": "agent", "password": f"wrong-{uuid.uuid4().hex[:6]}"},
        ),
        30,
    )
    return Verdict(
        counts[429] > 0,
        f"30 wrong passwords for agent in {seconds:.1f} s: {describe_counts(counts)}",
    )


def probe_webchat_passcode_burst(lab: Lab) -> Verdict:
    customer = lab.take("any products", lambda c: True)
    counts, seconds = burst(
        lab,
        lambda client: client.post(
            f"{lab.webchat_url}/sign-in", data={"customer": customer.id, "passcode": "wrong"}
        ),
        10,
    )
    return Verdict(
        counts[429] > 0,
        f"10 wrong passcodes for {customer.id} in {seconds:.1f} s: {describe_counts(counts)}",
    )


# == 5. Sessions =============================================================================
async def socket_refused(url: str, **options: Any) -> tuple[bool, str]:
    try:
        async with connected(url, **options):
            return False, "connected"
    except socketio.exceptions.ConnectionError as error:
        return True, f"refused ({brief(str(error), 60)})"


def probe_socket_foreign_origin(lab: Lab) -> Verdict:
    customer = lab.take("any products", lambda c: True)
    is_refused, what = asyncio.run(
        socket_refused(
            lab.rasa, auth={"token": lab.token(customer.id)}, headers={"Origin": FOREIGN_ORIGIN}
        )
    )
    handshake = lab.http.get(
        f"{lab.rasa}/socket.io/",
        params={"EIO": "4", "transport": "polling"},
        headers={"Origin": FOREIGN_ORIGIN},
    )
    cors = handshake.headers.get("access-control-allow-origin", "none")
    return Verdict(
        is_refused,
        f"valid token, Origin {FOREIGN_ORIGIN}: {what}; handshake "
        f"HTTP {handshake.status_code}, Access-Control-Allow-Origin: {cors}",
    )


def probe_expired_socket(lab: Lab) -> Verdict:
    customer = lab.take("any products", lambda c: True)
    question = "what products do I have?"

    async def talk() -> tuple[bool, list[dict[str, Any]]]:
        async with connected(lab.rasa, auth={"token": lab.token(customer.id, seconds=4)}) as socket:
            await asyncio.sleep(6)
            with contextlib.suppress(socketio.exceptions.SocketIOError):
                await socket.client.emit("user_uttered", {"message": question})
            replies: list[dict[str, Any]] = []
            with contextlib.suppress(asyncio.TimeoutError):
                replies = await socket.replies(first_within=15)
            for _ in range(20):
                if not socket.client.connected:
                    break
                await asyncio.sleep(0.5)
            return socket.client.connected, replies

    still_open, replies = asyncio.run(talk())
    # Being told that the sign-in ended is right; having the question answered is not.
    answered = any(
        e.get("text") == question
        for e in lab.tracker(f"customer:{customer.id}")["events"]
        if e["event"] == "user"
    )
    texts = " / ".join(str(r.get("text")) for r in replies)
    return Verdict(
        not still_open and not answered,
        f"token expired 2 s before the message; socket "
        f"{'still open' if still_open else 'closed'}; message taken into the "
        f"conversation: {'yes' if answered else 'no'}; told: {brief(texts, 80) or '-'}",
    )


def probe_socket_cap(lab: Lab) -> Verdict:
    customer = lab.take("any products", lambda c: True)
    token, attempts = lab.token(customer.id), 16

    async def open_many() -> int:
        outcomes: list[bool] = []
        all_tried = asyncio.Event()

        def tried(accepted: bool) -> None:
            outcomes.append(accepted)
            if len(outcomes) == attempts:
                all_tried.set()

        async def hold() -> None:
            try:
                async with connected(lab.rasa, auth={"token": token}):
                    tried(True)
                    await all_tried.wait()
            except socketio.exceptions.ConnectionError:
                tried(False)

        # Side by side, connecting and hanging up: a polling client takes up to the server's
        # ping interval for either, and every socket stays open until all have been tried.
        await asyncio.wait_for(asyncio.gather(*(hold() for _ in range(attempts))), 240)
        return sum(outcomes)

    accepted = asyncio.run(open_many())
    return Verdict(
        accepted < attempts, f"{accepted} of {attempts} sockets with one customer's token accepted"
    )


def probe_webchat_sign_out(lab: Lab) -> Verdict:
    customer = lab.take("any products", lambda c: True)
    with httpx.Client(base_url=lab.webchat_url, timeout=30) as browser:
        signed_in = browser.post(
            "/sign-in", data={"customer": customer.id, "passcode": DEFAULT_DEMO_PASSCODE}
        )
        token = browser.cookies.get("webchat_sign_in")
        if not token:
            raise ProbeError(f"web chat sign-in gave no token (HTTP {signed_in.status_code})")
        cookies = dict(browser.cookies)
        out = browser.post("/sign-out")
        page = httpx.get(f"{lab.webchat_url}/chat", cookies=cookies, timeout=30)
    reply = lab.http.post(
        f"{lab.rasa}/webhooks/signed_rest/webhook",
        headers={"Authorization": f"Bearer {token}"},
        json={"sender": "x", "message": "what products do I have?"},
    )
    return Verdict(
        refused(reply.status_code),
        f"sign-out HTTP {out.status_code}; the old token on signed REST: "
        f"HTTP {reply.status_code}; the old cookie on /chat: HTTP {page.status_code}",
    )


def probe_desk_sign_out(lab: Lab) -> Verdict:
    with httpx.Client(base_url=lab.running.desk_url, timeout=30) as browser:
        browser.post(
            "/console/login", json={"username": "agent", "password": DEFAULT_DEMO_PASSWORD}
        )
        cookies = dict(browser.cookies)
        if not cookies:
            raise ProbeError("the desk's sign-in set no cookie")
        out = browser.post("/console/logout")
    after = httpx.get(f"{lab.running.desk_url}/api/agent/queue", cookies=cookies, timeout=30)
    return Verdict(
        refused(after.status_code),
        f"logout HTTP {out.status_code}; the old cookie on the agents' API: "
        f"HTTP {after.status_code}",
    )


def framing_policy(reply: httpx.Response) -> str | None:
    policy = reply.headers.get("content-security-policy", "")
    return policy if "frame-ancestors" in policy else None


def pages_verdict(pages: dict[str, httpx.Response]) -> Verdict:
    missing = [name for name, reply in pages.items() if framing_policy(reply) is None]
    example = next((framing_policy(r) for r in pages.values() if framing_policy(r)), None)
    return Verdict(
        not missing,
        (
            "without CSP frame-ancestors: " + ", ".join(missing)
            if missing
            else f"all pages send it: {brief(example or '', 90)}"
        ),
    )


def probe_desk_console_headers(lab: Lab) -> Verdict:
    return pages_verdict({"/console": lab.http.get(f"{lab.running.desk_url}/console")})


def probe_webchat_headers(lab: Lab) -> Verdict:
    customer = lab.take("any products", lambda c: True)
    with httpx.Client(base_url=lab.webchat_url, timeout=30) as browser:
        pages = {"/": browser.get("/")}
        browser.post("/sign-in", data={"customer": customer.id, "passcode": DEFAULT_DEMO_PASSCODE})
        pages["/chat"] = browser.get("/chat")
    return pages_verdict(pages)


def probe_rasa_cors(lab: Lab) -> Verdict:
    simple = lab.http.get(f"{lab.rasa}/", headers={"Origin": FOREIGN_ORIGIN})
    preflight = lab.http.options(
        f"{lab.rasa}/webhooks/rest/webhook",
        headers={"Origin": FOREIGN_ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    answers = {
        name: reply.headers.get("access-control-allow-origin")
        for name, reply in (("GET /", simple), ("preflight", preflight))
    }
    return Verdict(
        all(a not in ("*", FOREIGN_ORIGIN) for a in answers.values()),
        "Access-Control-Allow-Origin for "
        + FOREIGN_ORIGIN
        + ": "
        + "; ".join(f"{name}: {answer or 'none'}" for name, answer in answers.items()),
    )


# == 6. Bad input ============================================================================
BAD_BODIES = {
    "[1,2,3]": b"[1,2,3]",
    '"hello"': b'"hello"',
    "empty": b"",
    "invalid JSON": b'{"sender": "x", "message": ',
}


def bad_bodies(lab: Lab, channel: str, headers: dict[str, str]) -> Verdict:
    statuses = {
        name: lab.http.post(
            f"{lab.rasa}/webhooks/{channel}/webhook",
            content=body,
            headers={"Content-Type": "application/json", **headers},
        ).status_code
        for name, body in BAD_BODIES.items()
    }
    return Verdict(
        all(refused(s) for s in statuses.values()),
        "; ".join(f"{name}: HTTP {status}" for name, status in statuses.items()),
    )


def probe_bad_bodies_anonymous(lab: Lab) -> Verdict:
    return bad_bodies(lab, "rest", {})


def probe_bad_bodies_signed(lab: Lab) -> Verdict:
    customer = lab.take("any products", lambda c: True)
    return bad_bodies(lab, "signed_rest", {"Authorization": f"Bearer {lab.token(customer.id)}"})


def probe_lone_surrogate(lab: Lab) -> Verdict:
    sender = f"security-surrogate-{uuid.uuid4().hex[:6]}"
    # json.dumps writes the lone surrogate as the escape \ud800, as a client would send it.
    body = json.dumps({"sender": sender, "message": "\ud800 hi"})
    reply = lab.http.post(
        f"{lab.rasa}/webhooks/rest/webhook",
        content=body.encode(),
        headers={"Content-Type": "application/json"},
    )
    replies = reply.json() if reply.status_code == 200 else []
    texts = (
        [str(r.get("text")) for r in replies if isinstance(r, dict)]
        if isinstance(replies, list)
        else []
    )
    recorded = [e for e in lab.tracker(sender)["events"] if e["event"] == "user"]
    return Verdict(
        reply.status_code == 200 and bool(texts) and bool(recorded),
        f"HTTP {reply.status_code}; reply: {brief(' / '.join(texts), 70) or 'none'}; "
        f"user messages recorded: {len(recorded)}",
    )


def probe_huge_amount(lab: Lab) -> Verdict:
    chat = Chat(
        lab,
        lab.take(
            "a bank account and a saved recipient",
            lambda c: bool(c.accounts) and bool(c.recipients),
        ),
    )
    errors_before = len(lab.log_errors("actions"))
    status, replies, _ = lab.rest("send 99999999999999999999999999999 yuan", chat.customer.id)
    texts = [str(r.get("text")) for r in replies if r.get("text")]
    new_errors = lab.log_errors("actions")[errors_before:]
    return Verdict(
        status == 200 and bool(texts) and not new_errors,
        f"HTTP {status}; reply: {brief(' / '.join(texts), 80) or 'none'}; "
        f"new errors in the action server's log: {len(new_errors)}"
        + (f" ({brief(log_message(new_errors[0]), 80)})" if new_errors else ""),
    )


def sandbox_transfer(lab: Lab, customer: Customer, amount: str, token: str) -> httpx.Response:
    account = next(a for a in customer.accounts if Decimal(a["balance"]["amount"]) > 10)
    recipient = customer.recipients[0]
    return lab.backend(
        "POST",
        "/v1/customers/me/transfers",
        customer.id,
        {
            "from_account": account["account_number"],
            "to_account_number": recipient["account_number"],
            "recipient_name": recipient["name"],
            "amount": amount,
            "currency": account["balance"]["currency"],
        },
        headers={"X-Verification-Token": token, "Idempotency-Key": uuid.uuid4().hex},
    )


def sandbox_payer(lab: Lab) -> Customer:
    return lab.take(
        "a bank account with money and a saved recipient",
        lambda c: (
            c.recipients != [] and any(Decimal(a["balance"]["amount"]) > 10 for a in c.accounts)
        ),
    )


def probe_sandbox_exponent_amount(lab: Lab) -> Verdict:
    customer = sandbox_payer(lab)
    reply = sandbox_transfer(lab, customer, "1e30", lab.step_up_token(customer.id))
    return Verdict(
        refused(reply.status_code),
        f'amount "1e30": HTTP {reply.status_code} {brief(reply.text, 100)}',
    )


def probe_step_up_token_reused(lab: Lab) -> Verdict:
    customer = sandbox_payer(lab)
    token = lab.step_up_token(customer.id)
    first = sandbox_transfer(lab, customer, "1.00", token)
    if first.status_code != 201:
        raise ProbeError(
            f"the first transfer failed: HTTP {first.status_code} {brief(first.text, 80)}"
        )
    second = sandbox_transfer(lab, customer, "2.00", token)
    return Verdict(
        refused(second.status_code),
        f"first transfer HTTP {first.status_code}; a different one with the same "
        f"token: HTTP {second.status_code} {brief(second.text, 80)}",
    )


# == 7. What the customer confirmed is what runs =============================================
def probe_fund_deposit_frozen(lab: Lab) -> Verdict:
    customer = lab.take(
        "a bank account with at least 1,500 CNY",
        lambda c: any(
            a["balance"]["currency"] == "CNY" and Decimal(a["balance"]["amount"]) >= 1500
            for a in c.accounts
        ),
    )
    chat = Chat(lab, customer)

    def savings(buttons: list[dict[str, Any]]) -> int:
        return next((i for i, b in enumerate(buttons) if "saving" in b["title"].lower()), 0)

    chat.to_confirmation("put 500 yuan into the fund", savings)
    chat.to_code_prompt()
    between = chat.say("will I still have 1000 yuan left in savings?")
    done = chat.say(lab.sms_code(customer.id))
    moved = spent(customer, lab.refresh(customer))
    total = sum(moved.values(), Decimal(0))
    return Verdict(
        total in (Decimal(0), Decimal(500)),
        f"{customer.id}: taken from accounts: {total:.2f} CNY; after the question: "
        f"{brief(' / '.join(between), 150)}; after the code: "
        f"{brief(' / '.join(done), 150)}",
    )


def probe_card_freeze_frozen(lab: Lab) -> Verdict:
    customer = lab.take("two active debit cards", lambda c: len(c.active_cards()) >= 2)
    chosen, other = (last4(card) for card in customer.active_cards()[:2])
    chat = Chat(lab, customer)
    chat.to_confirmation(
        f"freeze my card ending {chosen}",
        lambda buttons: next((i for i, b in enumerate(buttons) if chosen in b["title"]), 0),
    )
    chat.to_code_prompt()
    between = chat.say(f"my other card {other} will keep working, right?")
    done = chat.say(lab.sms_code(customer.id))
    statuses = {card: card_status(lab, customer, card) for card in (chosen, other)}
    # A question is not a change: the code carries out the request the customer said yes to.
    return Verdict(
        statuses[other] == "active" and statuses[chosen] == "frozen",
        f"{customer.id}: card {chosen} {statuses[chosen]}, card {other} "
        f"{statuses[other]}; after the question: {brief(' / '.join(between), 150)}; "
        f"after the code: {brief(' / '.join(done), 150)}",
    )


# == 8. One refusal locks the customer out ===================================================
def transfer_attempt(lab: Lab, chat: Chat, amount: Decimal) -> list[str]:
    """Asks for a transfer and goes as far as the assistant lets it: confirmation, code."""
    texts = chat.say(f"I want to send {amount:.0f} yuan to someone")
    for _ in range(5):
        if any(marker in t for t in texts for marker in CONFIRMATION_MARKERS):
            texts = chat.say("yes")
        elif any(CODE_PROMPT in t for t in texts):
            return chat.say(lab.sms_code(chat.customer.id))
        elif form_choices(chat.buttons):
            texts = chat.press(lambda buttons: buttons.index(form_choices(buttons)[0]))
        else:
            return texts
    return texts


def form_choices(buttons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The buttons that answer the form's question; never one that brings in a person, which
    would pause the conversation for the rest of the probe."""
    return [b for b in buttons if "person" not in str(b.get("title", "")).lower()]


def probe_refusal_then_smaller_transfer(lab: Lab) -> Verdict:
    customer = lab.take(
        "CNY bank accounts and a saved recipient",
        lambda c: (
            bool(c.accounts)
            and bool(c.recipients)
            and all(a["balance"]["currency"] == "CNY" for a in c.accounts)
        ),
    )
    richest = max(Decimal(a["balance"]["amount"]) for a in customer.accounts)
    # More than any account holds, or above the per-transfer cap when that is lower.
    too_much = richest + 1000 if richest < 48_000 else Decimal(60_000)
    chat = Chat(lab, customer)
    refusal = transfer_attempt(lab, chat, too_much)
    before = lab.refresh(customer)
    second = transfer_attempt(lab, chat, Decimal(10))
    moved = spent(before, lab.refresh(customer))
    locked_out = any("Idempotency" in text for text in second)
    return Verdict(
        not locked_out and sum(moved.values(), Decimal(0)) == Decimal(10),
        f"{customer.id}: {too_much:.0f} yuan -> {brief(' / '.join(refusal), 60)}; "
        f"then 10 yuan -> {brief(' / '.join(second), 60)}; "
        f"moved {sum(moved.values(), Decimal(0)):.2f}",
    )


def probe_no_internal_errors_shown(lab: Lab) -> Verdict:
    shown = [text for text in lab.replies if any(m in text for m in INTERNAL_ERROR_MARKERS)]
    return Verdict(
        not shown,
        f"{len(lab.replies)} replies of this run checked; with internal "
        f"error text: {len(shown)}" + (f" ({brief(shown[0], 80)})" if shown else ""),
    )


# == 9. Telemetry ============================================================================
RASA_CONFIG = Path(".config") / "rasa" / "global.yml"
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
CRASH_REPORTING_CHECK = """
import urllib.parse, sentry_sdk, rasa.telemetry
rasa.telemetry.initialize_error_reporting()  # as Rasa's command line does at every start
client = sentry_sdk.Hub.current.client
print("crash reports would go to " + urllib.parse.urlparse(client.dsn).hostname
      if client and client.dsn else "no crash reporting set up")
"""


def as_plain_rasa(lab: Lab, command: list[str]) -> str:
    """Runs ``command`` from the project's environment as a developer's shell would: without
    the RASA_TELEMETRY_ENABLED the project's servers get, and with a copy of the user's Rasa
    configuration, since Rasa writes its default (telemetry on) into a home that has none."""
    config = Path.home() / RASA_CONFIG
    with tempfile.TemporaryDirectory() as home:
        if config.exists():
            (Path(home) / RASA_CONFIG).parent.mkdir(parents=True)
            shutil.copy(config, Path(home) / RASA_CONFIG)
        environment = {k: v for k, v in lab.env.items() if k != "RASA_TELEMETRY_ENABLED"}
        result = subprocess.run(
            command, env={**environment, "HOME": home}, capture_output=True, text=True, timeout=120
        )
    return ANSI_ESCAPE.sub("", result.stdout + result.stderr)


def probe_telemetry_off(lab: Lab) -> Verdict:
    config = Path.home() / RASA_CONFIG
    setting = (
        (yaml.safe_load(config.read_text()) or {}).get("metrics", {}).get("enabled")
        if config.exists()
        else "no file"
    )
    output = as_plain_rasa(lab, [str(Path(sys.executable).with_name("rasa")), "telemetry"])
    status = next(
        (line.strip() for line in output.splitlines() if "currently" in line), brief(output, 80)
    )
    return Verdict(
        "currently disabled" in status,
        f"`rasa telemetry`: {status} (~/{RASA_CONFIG} metrics.enabled: {setting})",
    )


def probe_crash_reporting_off(lab: Lab) -> Verdict:
    output = as_plain_rasa(lab, [sys.executable, "-c", CRASH_REPORTING_CHECK])
    said = next(
        (line for line in output.splitlines() if "crash report" in line), brief(output, 100)
    )
    return Verdict("no crash reporting" in said, said)


PROBES = [
    Probe(
        1,
        "1.1",
        "action server's listening address",
        "loopback only",
        probe_action_server_binds_loopback,
        smoke=True,
    ),
    Probe(
        1,
        "1.2",
        "POST /webhook without the secret (JSON): action_run_operation for "
        "another customer (bank balance)",
        "refused (4xx), no customer data",
        probe_forged_call_json,
        smoke=True,
    ),
    Probe(
        1,
        "1.3",
        "the same as text/plain with Origin " + FOREIGN_ORIGIN,
        "refused (4xx), no customer data",
        probe_forged_call_from_a_browser,
    ),
    Probe(
        1,
        "1.4",
        "action_finish_operation without the secret, made-up form state, no yes "
        "(another customer's card enabled abroad)",
        "refused (4xx); card unchanged",
        probe_forged_finish_without_secret,
    ),
    Probe(
        1,
        "1.5",
        "the same with the Rasa server's secret (ACTION_SERVER_TOKEN)",
        "card unchanged in the back end",
        probe_forged_finish_with_secret,
    ),
    Probe(
        2,
        "2.1",
        "sandbox started with DEPLOYMENT_PROFILE=production and the dev secrets",
        "exits non-zero naming the variable",
        probe_production_sandbox,
        smoke=True,
    ),
    Probe(2, "2.2", "desk, the same", "exits non-zero naming the variable", probe_production_desk),
    Probe(
        2,
        "2.3",
        "web chat, the same",
        "exits non-zero naming the variable",
        probe_production_webchat,
    ),
    Probe(
        2,
        "2.4",
        "action server, the same",
        "exits non-zero naming the variable",
        probe_production_action_server,
    ),
    Probe(
        2,
        "2.5",
        "Rasa server, the same",
        "exits non-zero naming the variable",
        probe_production_rasa,
    ),
    Probe(
        2,
        "2.6",
        "sign-in token minted with the public dev secret, server on a real one",
        "refused (4xx)",
        probe_forged_sign_in_token,
        smoke=True,
    ),
    Probe(
        2,
        "2.7",
        "fake agent message to /webhooks/handoff/relay with the dev desk secret",
        "refused (4xx), not in the conversation",
        probe_relay_with_dev_secret,
    ),
    Probe(
        2,
        "2.8",
        "fake agent message to the relay, real secret, no handoff open",
        "refused (4xx), not in the conversation",
        probe_relay_without_open_handoff,
    ),
    Probe(
        2,
        "2.9",
        "another customer's SMS codes from the sandbox with the dev secret",
        "refused (4xx)",
        probe_sms_codes_with_dev_secret,
    ),
    Probe(
        3,
        "3.1",
        '"my card number is 4111 1111 1111 1111 and cvv 123" over anonymous REST',
        "number and CVV in no store or log",
        probe_card_number_anonymous_rest,
        smoke=True,
    ),
    Probe(
        3,
        "3.2",
        "a card number and CVV over signed REST, then a person asked for",
        "number and CVV in no store, log or desk",
        probe_card_number_signed_rest,
    ),
    Probe(
        3,
        "3.3",
        "a card number and CVV over socket.io",
        "number and CVV in no store or log",
        probe_card_number_socketio,
    ),
    Probe(
        3,
        "3.4",
        "the one-time code typed during a transfer",
        "in no store or log in clear",
        probe_one_time_code_not_stored,
    ),
    Probe(
        3,
        "3.5",
        "the step-up token of that transfer",
        "in no tracker slot, store or log",
        probe_step_up_token_not_in_tracker,
    ),
    Probe(
        4,
        "4.1",
        "a 1 MB message while another customer says hi",
        "prompt 4xx or short reply; the other's latency near its baseline",
        probe_megabyte_message,
        stage=1,
    ),
    Probe(
        4,
        "4.2",
        "50 messages at once in one conversation",
        "limited (429), no 5xx",
        probe_fifty_messages_at_once,
        stage=1,
    ),
    Probe(
        4,
        "4.3",
        "30 wrong desk passwords in a burst",
        "limited (429)",
        probe_desk_password_burst,
        stage=1,
    ),
    Probe(
        4,
        "4.4",
        "10 wrong web chat passcodes",
        "limited (429)",
        probe_webchat_passcode_burst,
        stage=1,
    ),
    Probe(
        5,
        "5.1",
        "socket.io connect with a valid token and a foreign Origin",
        "refused",
        probe_socket_foreign_origin,
    ),
    Probe(
        5,
        "5.2",
        "a socket whose token expires, then a message",
        "closed, no reply",
        probe_expired_socket,
    ),
    Probe(
        5, "5.3", "web chat sign-out, then the old token", "refused (4xx)", probe_webchat_sign_out
    ),
    Probe(5, "5.4", "desk sign-out, then the old cookie", "refused (4xx)", probe_desk_sign_out),
    Probe(
        5, "5.5", "16 sockets with one customer's token", "some refused (a cap)", probe_socket_cap
    ),
    Probe(
        5,
        "5.6",
        "desk console page headers",
        "CSP with frame-ancestors",
        probe_desk_console_headers,
        smoke=True,
    ),
    Probe(
        5,
        "5.7",
        "web chat pages' headers (sign-in, chat)",
        "CSP with frame-ancestors",
        probe_webchat_headers,
    ),
    Probe(
        5,
        "5.8",
        "Rasa's CORS for a foreign Origin",
        "neither * nor the origin",
        probe_rasa_cors,
        smoke=True,
    ),
    Probe(
        6,
        "6.1",
        'bodies [1,2,3], "hello", empty, invalid JSON to the anonymous REST webhook',
        "4xx each",
        probe_bad_bodies_anonymous,
        smoke=True,
    ),
    Probe(6, "6.2", "the same to the signed REST webhook", "4xx each", probe_bad_bodies_signed),
    Probe(
        6,
        "6.3",
        '"\\ud800 hi" (a lone surrogate as a JSON escape)',
        "a reply, and the message recorded",
        probe_lone_surrogate,
    ),
    Probe(
        6,
        "6.4",
        '"send 99999999999999999999999999999 yuan", signed in',
        "a sensible reply, no action-server error",
        probe_huge_amount,
    ),
    Probe(
        6,
        "6.5",
        'amount "1e30" to the sandbox\'s transfer endpoint',
        "4xx",
        probe_sandbox_exponent_amount,
    ),
    Probe(
        6,
        "6.6",
        "one step-up token for two different transfers",
        "second refused (4xx)",
        probe_step_up_token_reused,
    ),
    Probe(
        7,
        "7.1",
        '"put 500 yuan into the fund", yes, "will I still have 1000 yuan left in savings?", code',
        "500 deposited or nothing, never 1000",
        probe_fund_deposit_frozen,
    ),
    Probe(
        7,
        "7.2",
        '"freeze my card ending NNNN", yes, "my other card MMMM will keep working, right?", code',
        "NNNN frozen, MMMM active",
        probe_card_freeze_frozen,
    ),
    Probe(
        8,
        "8.1",
        "a transfer refused for too little money, then a smaller one",
        "the smaller one goes through; no Idempotency-Key error",
        probe_refusal_then_smaller_transfer,
    ),
    Probe(
        8,
        "8.2",
        "every reply customers got in this run",
        "no internal error text",
        probe_no_internal_errors_shown,
        smoke=True,
        stage=2,
    ),
    Probe(
        9,
        "9.1",
        "`rasa telemetry` from the project's environment after scripts/setup",
        "telemetry disabled",
        probe_telemetry_off,
        smoke=True,
    ),
    Probe(
        9,
        "9.2",
        "Rasa's crash reporting as its command line sets it up",
        "no crash reporting to an outside tracker",
        probe_crash_reporting_off,
    ),
]
