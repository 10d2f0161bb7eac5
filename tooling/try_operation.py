"""Try a registry operation against the sandbox without training: what would the customer see?

    .venv/bin/python -m tooling.try_operation --customer C00005 bank_card_declined
    .venv/bin/python -m tooling.try_operation --customer C00005 bank_card_declined \\
        --entity card_last_four=8428
    .venv/bin/python -m tooling.try_operation --customer C00001 bank_transfer \\
        --slot account=6222000010008380 --slot recipient=RC0000100 --slot "amount=10.00 CNY"

Runs the same code as the action server (actions/operation_runner.py) on a tracker that
looks as if the customer had just said the intent, and prints the messages with their
responses filled in as Rasa would. A form operation is shown at each step: its confirmation
question and, with --execute, the call itself after the sandbox's step-up verification (the
code is read from the sandbox's simulated phone). For designers writing capabilities/*.yml:
it first runs the registry check for the operation (registry/check.py), and marks what the
customer would see wrong: a missing response, a placeholder left unfilled.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.operation_runner import OperationRunner, OperationStopped, current_request
from actions.rendering import context_values, customer_zone, display_values, fill_text
from clients.backend import BackendClient, BackendError
from common.customer_binding import bound_sender_id
from common.environment import PROJECT_ROOT, process_environment
from registry.catalogue import PLACEHOLDER, Operation, default_catalogue
from registry.check import check
from registry.rasa_domain import registry_domain
from registry.slots import CONFIRMATION_SLOT, QUOTE_SLOT, REQUEST_SLOT


def project_domain() -> dict[str, Any]:
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())
    for part in sorted((PROJECT_ROOT / "domain").glob("*.yml")):
        content = yaml.safe_load(part.read_text()) or {}
        domain.setdefault("responses", {}).update(content.get("responses") or {})
    return registry_domain(default_catalogue(), domain)


def shown(message: dict[str, Any], domain: dict[str, Any], slots: dict[str, Any]) -> str:
    text = message.get("text") or ""
    if message.get("response"):
        variants = domain["responses"].get(message["response"])
        if not variants:
            return f"!! response {message['response']} is missing from domain/"
        values = {key: str(value) for key, value in slots.items() if value is not None}
        values.update(
            {
                key: str(value)
                for key, value in message.items()
                if isinstance(value, (str, int, float))
            }
        )
        text = fill_text(variants[-1]["text"], values)
        unfilled = PLACEHOLDER.findall(text)
        if unfilled:
            text += "\n!! unfilled: " + ", ".join(f"{{{name}}}" for name in unfilled)
    buttons = "".join(
        f"\n   [{button['title']}] -> {button['payload']}"
        for button in message.get("buttons") or []
    )
    return text + buttons


def tracker_for(
    customer: str, intent: str, entities: dict[str, str], slots: dict[str, Any]
) -> Tracker:
    latest = {
        "text": intent,
        "intent": {"name": intent, "confidence": 1.0},
        "entities": [{"entity": name, "value": value} for name, value in entities.items()],
    }
    events = [{"event": "user", "text": intent, "parse_data": latest}]
    return Tracker(
        bound_sender_id(customer), slots, latest, events, False, None, {}, "action_listen"
    )


async def try_operation(args: argparse.Namespace) -> int:
    problems = check(operation=args.intent)
    for problem in problems:
        print("!!", problem)
    if args.intent not in default_catalogue().operations:
        return 1
    environment = process_environment()
    domain = project_domain()
    operation = default_catalogue().operations[args.intent]
    slots: dict[str, Any] = dict(item.split("=", 1) for item in args.slot)
    entities = dict(item.split("=", 1) for item in args.entity)
    async with BackendClient(
        environment["BACKEND_URL"], environment["SANDBOX_SERVICE_SECRET"]
    ) as client:
        try:
            await client.call(args.customer, "GET", "/v1/customers/me")
        except BackendError as error:
            if error.kind != "unavailable":
                raise
            print(
                f"!! the back end at {environment['BACKEND_URL']} does not answer "
                f"({error.message}); start it with scripts/run or set BACKEND_URL"
            )
            return 1
        dispatcher = CollectingDispatcher()
        runner = OperationRunner(
            tracker_for(args.customer, args.intent, entities, slots), dispatcher, domain, client
        )
        if not operation.is_form:
            await runner.answer(operation)
        else:
            await _walk_through_form(
                args, operation, runner, dispatcher, domain, client, slots, entities
            )
    for message in dispatcher.messages:
        print("bot:", shown(message, domain, slots))
    return 1 if problems else 0


async def _walk_through_form(
    args: argparse.Namespace,
    operation: Operation,
    runner: OperationRunner,
    dispatcher: CollectingDispatcher,
    domain: dict[str, Any],
    client: BackendClient,
    slots: dict[str, Any],
    entities: dict[str, str],
) -> None:
    try:
        context = await runner.slot_context(operation)
        values = context_values(context)
        if operation.quote is not None:
            quote = await runner.quote(operation, context)
            values.update(display_values(quote, "quote", customer_zone(context.get("profile"))))
            slots[QUOTE_SLOT] = json.dumps(quote)
        dispatcher.utter_message(response=operation.confirm, **values)
        if args.execute:
            token = None
            if operation.verification:
                started = await client.start_verification(args.customer, operation.verification)
                # The code the sandbox "sent" to the customer's phone, newest first.
                code = (await client.phone_messages(args.customer, limit=1))[0]["code"]
                token = await client.confirm_verification(
                    args.customer, started["verification_id"], str(code)
                )
            # As if the customer had said yes to exactly what was shown above.
            tracker = tracker_for(args.customer, args.intent, entities, slots)
            slots[REQUEST_SLOT] = current_request(operation, tracker)
            slots[CONFIRMATION_SLOT] = "yes"
            runner = OperationRunner(
                tracker_for(args.customer, args.intent, entities, slots), dispatcher, domain, client
            )
            await runner.execute(operation, verification_token=token)
    except OperationStopped:
        return
    except BackendError as error:
        runner.explain_failure(operation, error)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("intent")
    parser.add_argument("--customer", default="C00001")
    parser.add_argument("--entity", action="append", default=[], help="name=value")
    parser.add_argument("--slot", action="append", default=[], help="name=value")
    parser.add_argument(
        "--execute", action="store_true", help="carry out a form operation (moves sandbox money)"
    )
    sys.exit(asyncio.run(try_operation(parser.parse_args())))


if __name__ == "__main__":
    main()
