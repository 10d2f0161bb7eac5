"""Makes a back-end event happen to a sandbox customer now, as a demo or a designer's check of a
proactive scenario: the notifier tells the customer (unless they did not consent or it is their
quiet hours), and the next chat they open offers it first.

    .venv/bin/python -m tooling.make_event C00001 payment_failed

Kinds: the sandbox's (services/sandbox/events.py: a failed payment, a declined card, a bill due
tomorrow, a refund that arrived, a suspicious payment), each needing the product it is about.
Talks to the sandbox `scripts/run` serves.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from clients.backend import BackendClient, BackendError
from common.environment import process_environment
from services.sandbox.events import EventKind


async def make_event(customer_id: str, kind: str) -> dict:
    environment = process_environment()
    async with BackendClient(
        environment["BACKEND_URL"], environment["SANDBOX_SERVICE_SECRET"]
    ) as backend:
        return await backend.make_event(customer_id, kind)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("customer", help="a sandbox customer, like C00001")
    parser.add_argument("kind", choices=[kind.value for kind in EventKind])
    args = parser.parse_args()
    try:
        event = asyncio.run(make_event(args.customer, args.kind))
    except BackendError as error:
        sys.exit(f"The sandbox did not make it happen: {error}")
    print(f"{event['occurred_at']}  {args.customer}  {event['kind']}: {event['summary']}")


if __name__ == "__main__":
    main()
