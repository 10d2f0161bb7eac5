"""Runs the whole assistant on this machine: what `scripts/run` starts after setup.

Checks every configured store first (common/store_checks.py: the project's PostgreSQL
databases, the analytics service's and the notifier's among them, and, on this machine, its
RabbitMQ virtual host are created; a store that cannot be used stops the start, naming it),
trains if the training data or configuration changed, starts every server on loopback (the
analytics service with them, and the notifier, which tells customers about back-end events in
their conversation), prints how to talk to the assistant, and stops everything it started on
Ctrl-C.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Sequence

from common.environment import process_environment
from common.settings import Environment
from common.store_checks import (
    StoreSettings,
    StoreUnavailable,
    check_backend,
    check_stores_or_exit,
)
from proactive.notifier_settings import DEFAULT_PORT as NOTIFIER_PORT
from proactive.notifier_settings import configured_database_url
from services.desk.settings import DEFAULT_DEMO_PASSWORD as DESK_DEMO_PASSWORD
from services.webchat.settings import DEFAULT_DEMO_PASSCODE
from tooling.model_cache import ensure_model
from tooling.processes import (
    Server,
    action_server,
    analytics_server,
    desk_server,
    notifier_server,
    rasa_server,
    sandbox_server,
    stop_all,
    webchat_server,
    with_backend_events_queue,
)


def servers_to_start(environment: dict[str, str]) -> list[Server]:
    return [
        sandbox_server(int(environment["SANDBOX_PORT"]), environment),
        action_server(int(environment["ACTION_SERVER_PORT"]), environment),
        rasa_server(ensure_model(), int(environment["RASA_PORT"]), environment),
        desk_server(int(environment["DESK_PORT"]), environment),
        webchat_server(int(environment["WEBCHAT_PORT"]), environment),
        analytics_server(int(environment["ANALYTICS_PORT"]), environment),
        notifier_server(int(environment.get("NOTIFIER_PORT") or NOTIFIER_PORT), environment),
    ]


def how_to_talk(environment: dict[str, str]) -> str:
    rasa_port = environment["RASA_PORT"]
    passcode = environment.get("WEBCHAT_DEMO_PASSCODE") or DEFAULT_DEMO_PASSCODE
    desk_password = environment.get("DESK_DEMO_PASSWORD") or DESK_DEMO_PASSWORD
    return f"""
The assistant is running. Talk to it:
  - in a browser:  http://127.0.0.1:{environment["WEBCHAT_PORT"]}/
        sign in as a synthetic customer, e.g. C00001, passcode {passcode}
  - in another terminal:  scripts/chat                      (anonymous)
                          scripts/chat --customer C00001    (signed in as a synthetic customer)
                          scripts/shell                     (Rasa's own rasa shell)
  - over REST:  curl -s localhost:{rasa_port}/webhooks/rest/webhook \\
        -H 'Content-Type: application/json' -d '{{"sender": "demo", "message": "hi"}}'
Human agents' console: http://127.0.0.1:{environment["DESK_PORT"]}/console
        sign in as agent "agent" (all queues) or "cards" (bank and payments), password
        {desk_password}; then ask the assistant for a person ("talk to a person").
        With no agent signed in (or outside DESK_OPENING_HOURS), customers get a callback.
The product back-end sandbox: http://127.0.0.1:{environment["SANDBOX_PORT"]}/docs
Supervisors' page (the service's figures): \
http://127.0.0.1:{environment["DESK_PORT"]}/console/supervisor
        sign in as "lead", password {desk_password}; the figures come from the analytics
        service on port {environment["ANALYTICS_PORT"]}, which reads the event broker continuously.
Back-end events reach the customers' chats through the notifier: make one with
        .venv/bin/python -m tooling.make_event C00001 payment_failed
        and C00001 sees the notice in the open web chat (after their quiet hours, 23:00-07:00
        Beijing time); a chat they open next offers it first.
Logs are in .data/logs/. Press Ctrl-C to stop everything.
"""


def run_until_stopped(servers: Sequence[Server], banner: str, stores: StoreSettings) -> None:
    """Starts the servers, checks the back end once they answer, prints the banner, and stops
    every one on Ctrl-C, on SIGTERM or when one of them crashes."""
    stop_requested = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop_requested.set())
    signal.signal(signal.SIGTERM, lambda *_: stop_requested.set())
    try:
        for server in servers:
            print(f"Starting {server.name} ...", flush=True)
            server.start()
        for server in servers:
            server.wait_until_ready()
        try:
            print(f"  {check_backend(stores)}", flush=True)
        except StoreUnavailable as error:
            raise SystemExit(f"Stopped: {error}") from None
        print(banner, flush=True)
        while not stop_requested.wait(1):
            crashed = [s for s in servers if s.process and s.process.poll() is not None]
            if crashed:
                print(
                    f"{crashed[0].name} stopped unexpectedly:\n{crashed[0].log_tail()}",
                    file=sys.stderr,
                )
                break
    finally:
        print("Stopping ...", flush=True)
        stop_all(servers)


def main() -> None:
    environment = with_backend_events_queue(process_environment())
    stores = StoreSettings.from_environment(environment)
    # Before training or starting anything: a store that cannot be used stops here.
    check_stores_or_exit(
        stores,
        analytics_database_url=environment["ANALYTICS_DATABASE_URL"],
        notifier_database_url=configured_database_url(Environment(environment)),
    )
    run_until_stopped(servers_to_start(environment), how_to_talk(environment), stores)


if __name__ == "__main__":
    main()
