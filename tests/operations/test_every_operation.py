"""Every operation of every product line works against the real sandbox: each question gives
every sampled customer what their own data calls for, and each form walked through to its
answer leaves the back end changed as the customer asked."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from actions.rendering import fill_body, fill_path
from clients.backend import BackendClient, BackendError
from registry.catalogue import Operation, SlotSpec, default_catalogue
from services.sandbox.thread_server import SandboxThread
from tests.operations.conftest import SERVICE_SECRET, backend_client, sandbox_on_copy
from tests.operations.conversation import Conversation
from tests.unit.test_capability_registry import moves_money

CATALOGUE = default_catalogue()
QUESTIONS = sorted(name for name, op in CATALOGUE.operations.items() if not op.is_form)
FORMS = sorted(name for name, op in CATALOGUE.operations.items() if op.is_form)
CUSTOMERS = [f"C{number:05d}" for number in range(1, 31)]
# Forms walked to their answer per operation, each checked against the back end: enough to
# meet more than one kind of customer, few enough to keep the module near a minute.
FORMS_FINISHED_PER_OPERATION = 3
UNFILLED = re.compile(r"\{[a-z_.0-9]+\}")
GENERIC_ERRORS = {"utter_backend_unavailable", "utter_ask_rephrase"}
# Answers a customer might give to each kind of question, and to a few particular ones.
TYPED_ANSWERS = {
    "money": "100",
    "text": "My phone screen broke when I dropped it",
    "date": "yesterday",
}
PARTICULAR_ANSWERS = {
    "credit_new_limit": "50000",
    "remittance_beneficiary_name": "David Chen",
    "remittance_beneficiary_account": "GB29NWBK60161331926819",
}


def assert_reads_well(replies: list[str]) -> None:
    for reply in replies:
        assert not UNFILLED.search(reply), reply


def pressed(button: dict[str, str]) -> dict[str, str]:
    """The entity a button's payload carries, as the NLU would read it."""
    entity = re.search(r'\{"(\w+)": "([^"]+)"\}', button["payload"])
    return {entity.group(1): entity.group(2)} if entity else {}


# -- what the back end says the customer should read ---------------------------------------
@dataclass(frozen=True)
class Money:
    amount: Any
    currency: str


def raw_values(data: Any, prefix: str = "") -> dict[str, Any]:
    """The back end's values under the names responses give them (``balance_amount``,
    ``card_card_number_masked``), as the back end sent them, not as the actions show them."""
    values: dict[str, Any] = {}
    if isinstance(data, dict):
        if isinstance(data.get("currency"), str) and "amount" in data and prefix:
            values[prefix] = Money(data["amount"], data["currency"])
        for key, value in data.items():
            path = f"{prefix}_{key}" if prefix else str(key)
            if key in {"amount", "limit"} and isinstance(data.get("currency"), str):
                values[path] = Money(value, data["currency"])
            elif isinstance(value, (dict, list)):
                values.update(raw_values(value, path))
            else:
                values[path] = value
    elif isinstance(data, list) and data:
        if all(not isinstance(item, (dict, list)) for item in data):
            values[prefix] = data
        else:
            values.update(raw_values(data[0], f"{prefix}_first"))
    return values


def ways_to_read(key: str, value: Any) -> list[str]:
    """How a customer may read a back-end value: money with two decimals, a date as
    "3 Dec 2026", a time (UTC at the back end) on the sandbox customers' Beijing clock, a
    rate as a percentage, a code word with spaces, a mask with bullets."""
    if isinstance(value, Money):
        return [f"{Decimal(str(value.amount)):,.2f}"]
    if isinstance(value, bool):
        return ["yes" if value else "no"]
    if value is None:
        return ["none"]
    if isinstance(value, list):
        return [", ".join(str(item).replace("_", " ") for item in value)]
    text = str(value)
    if re.match(r"^\d{4}-\d{2}-\d{2}T", text):
        moment = datetime.fromisoformat(text).replace(tzinfo=timezone.utc)
        # "as of" is the back end's clock when it answers: the test's own read and the
        # customer's may fall either side of a minute's turn.
        minutes = (-1, 0, 1) if key == "as_of" else (0,)
        return [
            f"{local.day} {local:%b %Y, %H:%M} (Beijing time)"
            for local in (
                (moment + timedelta(minutes=later)).astimezone(ZoneInfo("Asia/Shanghai"))
                for later in minutes
            )
        ]
    if re.match(r"^\d{4}-\d{2}-\d{2}", text):
        moment = datetime.fromisoformat(text)
        return [f"{moment.day} {moment:%b %Y}"]
    if re.fullmatch(r"0\.\d+", text) and (key.endswith("_rate") or key.endswith("yield")):
        return [f"{Decimal(text) * 100:.2f}".rstrip("0").rstrip(".")]
    return [text, text.replace("_", " "), re.sub(r"\*{2,}(?:[ -]\*{2,})*", "••••", text)]


def template(domain: dict[str, Any], response: str) -> str:
    return str(domain["responses"][response][-1]["text"])


def assert_shows_figures(reply: str, text: str, values: dict[str, Any]) -> int:
    """Every placeholder of ``text`` naming a back-end value shows that value in ``reply``;
    returns how many were checked."""
    checked = 0
    for name in re.findall(r"\{(\w+)\}", text):
        if name not in values:
            continue
        forms = ways_to_read(name, values[name])
        assert any(form.lower() in reply.lower() for form in forms), (name, forms, reply)
        checked += 1
    return checked


@dataclass
class Expected:
    """The responses a customer's own data calls for, and the data their answer shows."""

    responses: list[str]
    values: dict[str, Any] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)


async def listed(client: BackendClient, customer: str, spec: SlotSpec) -> list[dict[str, Any]]:
    assert spec.options_call is not None
    answer = await client.call(customer, "GET", spec.options_call.path)
    if spec.items == ".":
        return [answer] if answer else []
    return list(answer.get(spec.items or "") or [])


async def what_their_data_calls_for(
    operation: Operation, customer: str, client: BackendClient, domain: dict[str, Any]
) -> Expected:
    """Asks the back end, as the customer, what the question should get: not held, nothing
    to act on, nothing to show, or the answer (in its variant for the state) with the data."""
    line = CATALOGUE.line(operation.line)
    assert line is not None
    profile = await client.call(customer, "GET", "/v1/customers/me")
    needed = set(operation.needs or line.products)
    if needed and not needed.intersection(profile["products"]):
        return Expected([line.not_held or "utter_product_not_held"])
    context: dict[str, Any] = {"profile": profile}
    if operation.target:
        spec = CATALOGUE.slots[operation.target]
        items = [
            item
            for item in await listed(client, customer, spec)
            if all(str(item.get(k)) in v for k, v in operation.target_filter.items())
        ]
        if not items:
            return Expected([operation.no_target or "utter_nothing_found"])
        # Asked which, the customer presses the first button; "the latest" is the first too,
        # unless the registry prefers some.
        preferred = [
            item
            for item in items
            if all(str(item.get(k)) in v for k, v in operation.target_preference.items())
        ]
        context[operation.target] = (preferred or items)[0]
    try:
        result = await client.call(
            customer,
            operation.call.method,
            fill_path(operation.call.path, context),
            json=fill_body(operation.body or None, context),
        )
    except BackendError as error:
        assert error.kind == "not_found", error
        return Expected([line.not_held or "utter_nothing_found"])
    if operation.list_key and not result.get(operation.list_key):
        return Expected([operation.empty or "utter_nothing_found"])
    answer = operation.answer
    if operation.answer_by:
        variant = f"{answer}_{result.get(operation.answer_by)}"
        answer = variant if variant in domain["responses"] else answer
    values = raw_values(result)
    for key, value in context.items():
        values.update(raw_values(value, key))
    rows = list(result[operation.list_key][:5]) if operation.list_key else []
    return Expected([answer, *([operation.then] if operation.then else [])], values, rows)


@pytest.mark.parametrize("operation", QUESTIONS)
async def test_a_question_is_answered_for_every_customer(operation, client, domain_dict):
    spec = CATALOGUE.operations[operation]
    for customer in CUSTOMERS:
        expected = await what_their_data_calls_for(spec, customer, client, domain_dict)
        chat = Conversation(customer, client, domain_dict)
        replies = await chat.say(operation.replace("_", " "), operation)
        if "utter_which_one" in chat.last_responses:
            button = chat.last_buttons[0]
            replies = await chat.say(button["payload"], operation, **pressed(button))
        assert_reads_well(replies)
        assert not GENERIC_ERRORS.intersection(chat.last_responses), (customer, replies)
        sent = chat.last_responses[: len(expected.responses)]
        assert sent == expected.responses, (customer, chat.last_responses, replies)
        answer_text = template(domain_dict, expected.responses[0])
        if expected.values and "{" in answer_text:
            # An answer without placeholders (the account is not locked) is proven by its
            # variant alone; one with them must show the customer's own figures.
            answer = replies[0]
            checked = assert_shows_figures(answer, answer_text, expected.values)
            if expected.rows and "{items}" in answer_text:
                row_text = template(domain_dict, f"{spec.answer}_item")
                for row in expected.rows:
                    checked += assert_shows_figures(answer, row_text, raw_values(row))
            assert checked, f"{customer} read none of their figures: {answer}"


# -- forms -----------------------------------------------------------------------------------
async def sms_inbox(base_url: str, customer: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(
        base_url=base_url, headers={"Authorization": f"Bearer {SERVICE_SECRET}"}
    ) as http:
        inbox = (await http.get(f"/sandbox/devices/{customer}/messages")).json()
    return list(inbox["messages"])


async def sms_code(base_url: str, customer: str) -> str:
    return str((await sms_inbox(base_url, customer))[0]["code"])


async def walk_through(chat: Conversation, operation: str, base_url: str) -> list[str]:
    """Answers every question the form asks as a customer would: the first button, or a
    typical typed answer; says yes and types the SMS code."""
    replies = await chat.say(operation.replace("_", " "), operation)
    for _ in range(12):
        assert_reads_well(replies)
        if chat.form is None:
            return replies
        requested = chat.slots.get("requested_slot")
        spec = CATALOGUE.slots.get(requested or "")
        if requested == "confirmed":
            replies = await chat.say("yes", "affirm")
        elif requested == "verification_code":
            code = await sms_code(base_url, chat.sender.split(":")[1])
            replies = await chat.say(code, "inform")
        elif chat.last_buttons:
            button = chat.last_buttons[0]
            replies = await chat.say(button["payload"], "inform", **pressed(button))
        else:
            kind = spec.kind if spec else "text"
            text = "for 2 weeks" if spec and spec.future else TYPED_ANSWERS.get(kind, "yes")
            replies = await chat.say(PARTICULAR_ANSWERS.get(requested, text), "inform")
    raise AssertionError(f"{operation} never finished")


class RecordingClient:
    """The back-end client, keeping what each call that changes state answered."""

    def __init__(self, client: BackendClient) -> None:
        self._client = client
        self.changes: list[tuple[str, str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    async def call(self, customer_id: str, method: str, path: str, **options: Any) -> Any:
        answer = await self._client.call(customer_id, method, path, **options)
        if method != "GET" and not path.startswith("/v1/customers/me/verifications"):
            self.changes.append((method, path, answer))
        return answer


def is_quote(operation: Operation, change: tuple[str, str, Any]) -> bool:
    """The back end's offer shown before the yes (fees, a rate): asked for, nothing changed."""
    if operation.quote is None:
        return False
    pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(operation.quote.path))
    return change[0] == operation.quote.method and re.fullmatch(pattern, change[1]) is not None


def answers_given(chat: Conversation, operation: Operation) -> dict[str, Any]:
    """Each answer of the form as it stood when the form ran (the form clears them after)."""
    given: dict[str, Any] = {}
    for event in chat.events:
        if event.get("event") == "slot" and event["name"] in operation.slots:
            if event["value"] is not None:
                given[event["name"]] = event["value"]
    return given


def choice_slots_of_the_back_end() -> dict[str, SlotSpec]:
    """One choice slot per kind of thing the back end lists, by the key identifying it."""
    return {
        spec.item_id: spec
        for spec in CATALOGUE.slots.values()
        if spec.kind == "choice" and spec.item_id
    }


def described_items(result: Any) -> Iterator[dict[str, Any]]:
    """The result, and the things nested in it (a new card, the loan repaid)."""
    if isinstance(result, dict):
        yield result
        for value in result.values():
            if isinstance(value, dict):
                yield value


async def assert_result_is_listed(client: BackendClient, customer: str, result: Any) -> int:
    """Each thing the call answered with (a card, a claim, a transfer, the bill) is what a
    later list of the customer's things shows, value for value. Returns how many."""
    seen = 0
    for item in described_items(result):
        for key, spec in choice_slots_of_the_back_end().items():
            if key not in item:
                continue
            found = [
                row for row in await listed(client, customer, spec) if row.get(key) == item[key]
            ]
            if not found or not set(found[0]) <= set(item):
                # A reference to the thing (a dispute names its charge), not the thing itself.
                continue
            assert {k: item[k] for k in found[0]} == found[0], (spec.name, item, found[0])
            seen += 1
    return seen


def amount(result: dict[str, Any], path: str) -> Decimal:
    value: Any = result
    for part in path.split("."):
        value = value[part]
    return Decimal(str(value))


# How much each money-moving operation takes from (-) or pays into (+) the chosen account,
# read from the back end's answer. A money-moving operation missing here fails the test.
MONEY_MOVED: dict[str, Callable[[dict[str, Any]], Decimal]] = {
    "bank_transfer": lambda r: -amount(r, "amount"),
    "credit_repay": lambda r: -amount(r, "paid_now.amount"),
    "credit_loan_apply": lambda r: amount(r, "principal.amount"),
    "credit_repay_early": lambda r: -amount(r, "total.amount"),
    "wealth_deposit": lambda r: -amount(r, "amount"),
    # A redemption reaches the account once it completes; a standard one takes a day.
    "wealth_redeem": lambda r: amount(r, "amount") if r["status"] == "completed" else Decimal(0),
    "intl_send_abroad": lambda r: -amount(r, "send.amount") - amount(r, "fee.amount"),
}


@dataclass
class FormRun:
    customer: str
    client: BackendClient
    base_url: str
    result: dict[str, Any]
    given: dict[str, Any]
    before: dict[str, Any]


StateCheck = Callable[[FormRun], Awaitable[None]]


async def limit_is_the_decision(run: FormRun) -> None:
    line = await run.client.call(run.customer, "GET", "/v1/customers/me/credit-line")
    if run.result["decision"] == "declined":
        assert line["limit"] == run.before["credit-line"]["limit"]
    else:
        assert line["limit"] == run.result["new_limit"]


async def charge_is_disputed(run: FormRun) -> None:
    # The sandbox lists no disputes; disputing the same charge again names the one opened.
    with pytest.raises(BackendError) as refused:
        await run.client.call(
            run.customer,
            "POST",
            f"/v1/customers/me/wallet/transactions/{run.result['transaction_id']}/disputes",
            json={"reason": "other", "description": "The same charge again"},
        )
    assert refused.value.code == "dispute_exists"


def chosen_becomes(slot: str, key: str, state: str) -> StateCheck:
    async def check(run: FormRun) -> None:
        spec = CATALOGUE.slots[slot]
        rows = await listed(run.client, run.customer, spec)
        chosen = [row for row in rows if str(row[spec.item_id or ""]) == str(run.given[slot])]
        assert chosen and chosen[0][key] == state, (slot, chosen)

    return check


async def reset_link_sent(run: FormRun) -> None:
    inbox = await sms_inbox(run.base_url, run.customer)
    assert "reset-password" in inbox[0]["body"]


async def fraud_case_opened(run: FormRun) -> None:
    # The sandbox has no read of fraud cases: the case it opened goes to a person.
    assert run.result["case_id"] and run.result["status"] == "open"


# What a form changes that no list of the customer's things shows as the call's answer.
STATE_CHECKS: dict[str, StateCheck] = {
    "credit_raise_limit": limit_is_the_decision,
    "credit_instalments": chosen_becomes("credit_bill", "status", "instalments"),
    "payments_dispute_charge": charge_is_disputed,
    "score_dispute": chosen_becomes("score_record", "status", "disputed"),
    "security_change_password": reset_link_sent,
    "security_report_fraud": fraud_case_opened,
}


async def balances(client: BackendClient, customer: str) -> dict[str, Decimal]:
    accounts = (await client.call(customer, "GET", "/v1/customers/me/accounts"))["accounts"]
    return {a["account_number"]: Decimal(a["balance"]["amount"]) for a in accounts}


async def before_the_form(client: BackendClient, customer: str) -> dict[str, Any]:
    profile = await client.call(customer, "GET", "/v1/customers/me")
    before: dict[str, Any] = {"accounts": {}}
    if "bank_account" in profile["products"]:
        before["accounts"] = await balances(client, customer)
    if "credit_line" in profile["products"]:
        before["credit-line"] = await client.call(customer, "GET", "/v1/customers/me/credit-line")
    return before


async def assert_back_end_changed(run: FormRun, operation: Operation) -> None:
    checks = await assert_result_is_listed(run.client, run.customer, run.result)
    if moves_money(operation, CATALOGUE):
        assert operation.name in MONEY_MOVED, f"say how {operation.name} moves money"
        account = str(run.given[operation.pays_from or "account"])
        after = await balances(run.client, run.customer)
        moved = after[account] - run.before["accounts"][account]
        assert moved == MONEY_MOVED[operation.name](run.result), (account, moved, run.result)
        money_slots = [s for s in operation.slots if CATALOGUE.slots[s].kind == "money"]
        if money_slots:
            # The amount the customer asked for is the one the back end took or paid.
            asked = Decimal(re.sub(r"[^\d.]", "", str(run.given[money_slots[0]])))
            figures = raw_values(run.result).values()
            assert asked in {Decimal(str(v.amount)) for v in figures if isinstance(v, Money)}
        checks += 1
    if operation.name in STATE_CHECKS:
        await STATE_CHECKS[operation.name](run)
        checks += 1
    assert checks, f"nothing shows what {operation.name} changed: add it to STATE_CHECKS"


@pytest.fixture
async def own_sandbox(seeded_database: Path, tmp_path: Path) -> AsyncIterator[SandboxThread]:
    """A form changes what the next form would find (a card frozen, a bill split): each form
    starts from the seeded data."""
    with sandbox_on_copy(seeded_database, tmp_path) as server:
        yield server


@pytest.mark.parametrize("operation", FORMS)
async def test_a_form_can_be_walked_through_to_its_answer(operation, own_sandbox, domain_dict):
    spec = CATALOGUE.operations[operation]
    finished: list[str] = []
    outcomes: list[list[str | None]] = []
    async with backend_client(own_sandbox) as backend:
        client = RecordingClient(backend)
        for customer in CUSTOMERS:
            before = await before_the_form(backend, customer)
            chat = Conversation(customer, client, domain_dict)  # type: ignore[arg-type]
            await walk_through(chat, operation, own_sandbox.base_url)
            outcomes.append(chat.last_responses)
            assert not GENERIC_ERRORS.intersection(chat.last_responses), (customer, outcomes)
            if not any(str(name).startswith(spec.answer) for name in chat.last_responses):
                changed = [change for change in client.changes if not is_quote(spec, change)]
                assert changed == [], (customer, chat.last_responses, changed)
                client.changes.clear()
                continue
            carried_out = [change for change in client.changes if not is_quote(spec, change)]
            assert [method for method, _, _ in carried_out] == [spec.call.method], carried_out
            run = FormRun(
                customer,
                backend,
                own_sandbox.base_url,
                carried_out[0][2],
                answers_given(chat, spec),
                before,
            )
            await assert_back_end_changed(run, spec)
            client.changes.clear()
            finished.append(customer)
            if len(finished) == FORMS_FINISHED_PER_OPERATION:
                return
    assert finished, f"{operation} reached its answer for none of {len(CUSTOMERS)}: {outcomes}"
