"""What the simulator's customers come for, how often, how they say it, and how each of them
judges at the end whether they got it.

A goal is drawn by weight (most contacts are about payments, cards and bills, fewer about
insurance, the fund, the credit score, money abroad or security), then a customer of the
sandbox it fits (``Goal.particulars`` reads their products and state: a card to freeze, a bill
to repay). The judge reads the back end before and after the conversation and what the
assistant said: the card is now frozen, a new transfer of the amount exists, the balance
given is the balance held. Judging is pure: ``Case`` holds everything, so tests build one by
hand.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

# Bot messages that mean the chat went to a person (queued, joined or a promised callback).
HANDOFF_MARKS = (
    "I've asked a colleague to join",
    "A colleague is joining this chat",
    "call you back on your registered phone",
    "I'm bringing in a colleague",
    "I'm connecting you to one now",
    "I'm connecting you",
    "passing this chat to a colleague",
    "I'm bringing in a fraud specialist",
    "call them any time on 95188",
    "call us any time on 95188",
)
# Bot messages that tell a customer, politely, that this is not served here.
NOT_SERVED_MARKS = ("not something I can help with", "only read English", "talk to a person")


@dataclass(frozen=True)
class Turn:
    speaker: str  # "customer" or "assistant"
    text: str
    buttons: tuple[Mapping[str, str], ...] = ()


@dataclass
class Transcript:
    turns: list[Turn] = field(default_factory=list)

    def assistant_text(self) -> str:
        return "\n".join(turn.text for turn in self.turns if turn.speaker == "assistant")

    def handed_off(self) -> bool:
        text = self.assistant_text()
        return any(mark in text for mark in HANDOFF_MARKS)


class Snapshot:
    """A customer's back-end state as the judge sees it at one moment: each path read once.

    ``read`` answers a path under /v1/customers/me ("" for the profile, "/cards"...) with its
    JSON, or None when the back end says 404; ``table:<name>`` is the number of the customer's
    rows in a table the API does not list (disputes)."""

    def __init__(self, read: Callable[[str], Any]) -> None:
        self._read = read
        self._seen: dict[str, Any] = {}

    @classmethod
    def of(cls, state: Mapping[str, Any]) -> Snapshot:
        """A snapshot from a fixed state (tests)."""
        return cls(lambda path: state.get(path))

    def get(self, path: str) -> Any:
        if path not in self._seen:
            self._seen[path] = self._read(path)
        return self._seen[path]

    def products(self) -> set[str]:
        profile = self.get("") or {}
        return set(profile.get("products") or [])

    def locked(self) -> bool:
        return bool((self.get("") or {}).get("account_locked"))

    def items(self, path: str, key: str) -> list[dict[str, Any]]:
        return list((self.get(path) or {}).get(key) or [])


@dataclass(frozen=True)
class Verdict:
    met: bool
    reason: str


@dataclass
class Case:
    """One finished conversation, as its customer judges it."""

    goal: Goal
    particulars: dict[str, Any]
    before: Snapshot
    after: Snapshot
    transcript: Transcript


Particulars = Callable[[Snapshot, random.Random], "dict[str, Any] | None"]
Judge = Callable[[Case], Verdict]


@dataclass(frozen=True)
class Goal:
    name: str
    line: str
    weight: float
    openers: tuple[str, ...]
    particulars: Particulars
    judge: Judge
    # Replies to the questions the assistant asks on the way: (words of the question,
    # templates); the first whose words are in the question answers it. Which buttons the
    # customer presses (a card's last digits, a recipient's name) is in the particulars,
    # under "press".
    answers: tuple[tuple[str, tuple[str, ...]], ...] = ()
    in_scope: bool = True  # out-of-scope customers are counted apart
    # What the judge compares with the state after, read before the conversation starts
    # (a snapshot reads a path when first asked, which may be after the change).
    remembers: tuple[str, ...] = ()


def money(value: Mapping[str, str]) -> str:
    """An amount as the customer reads it: 1,234.50 CNY."""
    return f"{Decimal(value['amount']):,.2f} {value['currency']}"


def said(case: Case, *pieces: str) -> Verdict:
    text = case.transcript.assistant_text()
    missing = [piece for piece in pieces if piece not in text]
    if missing:
        return Verdict(False, f"not told {missing[0]!r}")
    return Verdict(True, "told " + ", ".join(repr(piece) for piece in pieces))


def last4(number: str) -> str:
    return number.replace(" ", "")[-4:]


# -- who fits ----------------------------------------------------------------------------------


def holds(*products: str) -> Particulars:
    def fits(before: Snapshot, rng: random.Random) -> dict[str, Any] | None:
        return {} if set(products) <= before.products() else None

    return fits


# The keys of an item whose value a button naming that item shows.
ITEM_NAMES = ("merchant", "recipient_name", "beneficiary_name", "claim_id", "policy_number")


def with_items(product: str, path: str, key: str, where: Callable[[dict], bool]) -> Particulars:
    """Customers holding ``product`` with at least one item of ``path`` that fits."""

    def fits(before: Snapshot, rng: random.Random) -> dict[str, Any] | None:
        if product and product not in before.products():
            return None
        found = [item for item in before.items(path, key) if where(item)]
        if not found:
            return None
        # What the customer recognises it by on a button: the shop, the person paid...
        names = [str(found[0][k]) for k in ITEM_NAMES if found[0].get(k)]
        return {"item": found[0], "press": names}

    return fits


def card_in(status: str) -> Particulars:
    def fits(before: Snapshot, rng: random.Random) -> dict[str, Any] | None:
        if "debit_card" not in before.products() or before.locked():
            return None
        cards = [card for card in before.items("/cards", "cards") if card["status"] == status]
        if not cards:
            return None
        card = rng.choice(cards)
        digits = last4(card["card_number_masked"])
        return {"card": card, "press": [digits], "last4": digits}

    return fits


def a_decline(before: Snapshot, rng: random.Random) -> dict[str, Any] | None:
    if "debit_card" not in before.products():
        return None
    for card in before.items("/cards", "cards"):
        declines = before.items(f"/cards/{card['card_id']}/declines", "declines")
        if declines:
            digits = last4(card["card_number_masked"])
            return {"card": card, "merchants": [d["merchant"] for d in declines], "press": [digits]}
    return None


def paying_account(before: Snapshot, amount: int) -> dict[str, Any] | None:
    """An active CNY account holding the amount with room to spare."""
    for account in before.items("/accounts", "accounts"):
        balance = account["balance"]
        if (
            account["status"] == "active"
            and balance["currency"] == "CNY"
            and Decimal(balance["amount"]) >= amount * 2
        ):
            return account
    return None


def a_transfer(before: Snapshot, rng: random.Random) -> dict[str, Any] | None:
    if "bank_account" not in before.products() or before.locked():
        return None
    recipients = before.items("/recipients", "recipients")
    amount = rng.choice((20, 50, 88, 100, 150, 200, 250, 300, 500, 666))
    account = paying_account(before, amount)
    if not recipients or account is None:
        return None
    recipient = rng.choice(recipients)
    return {
        "amount": str(amount),
        "recipient": recipient["name"],
        "press": [recipient["name"], last4(account["account_number"])],
        "known_transfers": [t["transfer_id"] for t in before.items("/transfers", "transfers")],
    }


def a_bill_to_repay(before: Snapshot, rng: random.Random) -> dict[str, Any] | None:
    if "credit_line" not in before.products() or before.locked():
        return None
    bill = before.get("/credit-line/bills/current")
    if not bill or bill["status"] not in ("open", "overdue"):
        return None
    remaining = Decimal(bill["remaining"]["amount"])
    amount = min(int(remaining), rng.choice((100, 200, 300, 500, 800, 1000)))
    account = paying_account(before, amount)
    if amount < 1 or account is None:
        return None
    return {"amount": str(amount), "press": [last4(account["account_number"])]}


def a_bill_to_split(before: Snapshot, rng: random.Random) -> dict[str, Any] | None:
    if "credit_line" not in before.products() or before.locked():
        return None
    bill = before.get("/credit-line/bills/current")
    if not bill or bill["status"] not in ("open", "overdue"):
        return None
    return {"press": [rng.choice(("3", "6", "12"))]}


def a_bill(before: Snapshot, rng: random.Random) -> dict[str, Any] | None:
    if "credit_line" not in before.products():
        return None
    bill = before.get("/credit-line/bills/current")
    return {"bill": bill} if bill else None


def a_claim_to_file(before: Snapshot, rng: random.Random) -> dict[str, Any] | None:
    if "insurance" not in before.products() or before.locked():
        return None
    active = [p for p in before.items("/policies", "policies") if p["status"] == "active"]
    if not active:
        return None
    policy = rng.choice(active)
    happened = date.today() - timedelta(days=rng.randint(2, 20))
    return {
        "press": [policy["policy_number"]],
        "amount": str(rng.choice((300, 680, 1200, 2450, 3000))),
        "incident_date": f"{happened.day} {happened:%B}",
        "known_claims": [c["claim_id"] for c in before.items("/claims", "claims")],
    }


def a_redemption(before: Snapshot, rng: random.Random) -> dict[str, Any] | None:
    if not {"fund", "bank_account"} <= before.products() or before.locked():
        return None
    fund = before.get("/fund")
    accounts = [
        a
        for a in before.items("/accounts", "accounts")
        if a["status"] == "active"
        and a["balance"]["currency"] == "CNY"
        and a["kind"] in ("savings", "current")
    ]
    if not fund or not accounts or Decimal(fund["balance"]["amount"]) < 200:
        return None
    amount = rng.choice((50, 100, 150, 200))
    return {
        "amount": str(amount),
        "press": [last4(accounts[0]["account_number"]), rng.choice(("Instant", "Standard"))],
        "known_orders": [o["order_id"] for o in before.items("/fund/orders", "orders")],
    }


def locked_by_self_service(before: Snapshot, rng: random.Random) -> dict[str, Any] | None:
    security = before.get("/security") or {}
    if not security.get("locked"):
        return None
    return {"reason": security["reason"]}


def anyone(before: Snapshot, rng: random.Random) -> dict[str, Any] | None:
    return {}


def unlocked(before: Snapshot, rng: random.Random) -> dict[str, Any] | None:
    return None if before.locked() else {}


# -- judges ------------------------------------------------------------------------------------


def told_wallet_balance(case: Case) -> Verdict:
    return said(case, money(case.before.get("/wallet")["balance"]))


def told_first_item(path: str, key: str, field_name: str) -> Judge:
    def judge(case: Case) -> Verdict:
        items = case.before.items(path, key)
        if not items:
            return Verdict(False, f"nothing at {path} to be told about")
        return said(case, str(items[0][field_name]))

    return judge


def told_failed_payment(case: Case) -> Verdict:
    return said(case, case.particulars["item"]["merchant"], "did not go through")


def told_pending_payment(case: Case) -> Verdict:
    return said(case, case.particulars["item"]["merchant"], "pending")


def told_refund(case: Case) -> Verdict:
    refunds = case.before.items("/wallet/refunds", "refunds")
    pending = [r for r in refunds if r["status"] == "pending"]
    return said(case, (pending or refunds)[0]["transaction_id"])


def dispute_opened(case: Case) -> Verdict:
    before = case.before.get("table:disputes") or 0
    after = case.after.get("table:disputes") or 0
    if after <= before:
        return Verdict(False, "no new dispute at the back end")
    return Verdict(True, "a new dispute at the back end")


def told_bank_balances(case: Case) -> Verdict:
    balances = [money(a["balance"]) for a in case.before.items("/accounts", "accounts")]
    return said(case, *balances)


def told_a_decline(case: Case) -> Verdict:
    text = case.transcript.assistant_text()
    if any(merchant in text for merchant in case.particulars["merchants"]):
        return Verdict(True, "told the declined payment's merchant")
    return Verdict(False, "not told any decline of the card")


def card_now(*statuses: str) -> Judge:
    def judge(case: Case) -> Verdict:
        card_id = case.particulars["card"]["card_id"]
        card = case.after.get(f"/cards/{card_id}") or {}
        status = card.get("status")
        if status in statuses:
            return Verdict(True, f"the card is {status}")
        return Verdict(False, f"the card is {status}, not {' or '.join(statuses)}")

    return judge


def transfer_made(case: Case) -> Verdict:
    known = set(case.particulars["known_transfers"])
    for transfer in case.after.items("/transfers", "transfers"):
        if (
            transfer["transfer_id"] not in known
            and Decimal(transfer["amount"]) == Decimal(case.particulars["amount"])
            and transfer["recipient_name"] == case.particulars["recipient"]
        ):
            return Verdict(True, f"transfer {transfer['transfer_id']} exists")
    return Verdict(False, "no new transfer of that amount to that recipient")


def told_latest_transfer(case: Case) -> Verdict:
    """Its reference, or the transfer itself among the recent ones with its status."""
    transfer = case.particulars["item"]
    by_reference = said(case, transfer["transfer_id"])
    if by_reference.met:
        return by_reference
    amount = money({"amount": transfer["amount"], "currency": transfer["currency"]})
    return said(case, f"{amount} to {transfer['recipient_name']}, {transfer['status']}")


def told_bill(case: Case) -> Verdict:
    return said(case, money(case.particulars["bill"]["amount_due"]))


def bill_repaid(case: Case) -> Verdict:
    before = case.before.get("/credit-line/bills/current")
    after = case.after.get("/credit-line/bills/current") or {}
    paid = Decimal(after.get("paid", {}).get("amount", "0")) - Decimal(before["paid"]["amount"])
    if paid == Decimal(case.particulars["amount"]):
        return Verdict(True, f"{paid} paid on the bill")
    return Verdict(False, f"{paid} paid on the bill, not {case.particulars['amount']}")


def bill_split(case: Case) -> Verdict:
    after = case.after.get("/credit-line/bills/current") or {}
    if after.get("status") == "instalments":
        return Verdict(True, "the bill is on instalments")
    return Verdict(False, f"the bill is {after.get('status')}")


def told_credit_limit(case: Case) -> Verdict:
    return said(case, money(case.before.get("/credit-line")["limit"]))


def told_loan_eligibility(case: Case) -> Verdict:
    eligibility = case.before.get("/loans/eligibility") or {}
    if eligibility.get("eligible"):
        return said(case, money(eligibility["max_amount"]))
    return said(case, "can't offer you a new loan")


def told_claim(case: Case) -> Verdict:
    claims = case.before.items("/claims", "claims")
    preferred = [
        c
        for c in claims
        if c["status"] in ("submitted", "in_review", "more_info_needed", "approved")
    ]
    return said(case, (preferred or claims)[0]["claim_id"])


def claim_filed(case: Case) -> Verdict:
    known = set(case.particulars["known_claims"])
    for claim in case.after.items("/claims", "claims"):
        if claim["claim_id"] not in known:
            amount = Decimal(claim["amount_claimed"]["amount"])
            if amount == Decimal(case.particulars["amount"]):
                return Verdict(True, f"claim {claim['claim_id']} exists")
            return Verdict(False, f"claim {claim['claim_id']} is for {amount}")
    return Verdict(False, "no new claim at the back end")


def told_policies(case: Case) -> Verdict:
    policies = case.before.items("/policies", "policies")
    return said(case, *(p["policy_number"] for p in policies[:5]))


def told_fund_balance(case: Case) -> Verdict:
    return said(case, money(case.before.get("/fund")["balance"]))


def redeemed(case: Case) -> Verdict:
    known = set(case.particulars["known_orders"])
    for order in case.after.items("/fund/orders", "orders"):
        if order["order_id"] not in known and order["kind"] == "redemption":
            return Verdict(True, f"redemption {order['order_id']} exists")
    return Verdict(False, "no new redemption at the back end")


def told_score(case: Case) -> Verdict:
    score = case.before.get("/credit-score")
    if not score:
        return said(case, "can't find a credit score")
    return said(case, f"Your credit score is {score['score']}")


def told_a_tip(case: Case) -> Verdict:
    """A tip of theirs, or, when every factor is already strong, how to keep it so."""
    tips = case.before.items("/credit-score/tips", "tips")
    text = case.transcript.assistant_text()
    if any(tip["tip"] in text for tip in tips):
        return Verdict(True, "told a tip for the score")
    if "already built on strong factors" in text and "Keep paying on time" in text:
        return Verdict(True, "told the score's factors are all strong and how to keep them")
    return Verdict(False, "not told how to improve the score")


def told_rates(case: Case) -> Verdict:
    return said(case, "USD", "EUR")


def told_lock(case: Case) -> Verdict:
    text = case.transcript.assistant_text()
    if "Your account was locked" in text or "Your account has been locked" in text:
        return Verdict(True, "told why the account is locked")
    return Verdict(False, "not told why the account is locked")


def reset_link_sent(case: Case) -> Verdict:
    return said(case, "password reset link is on its way")


def reached_a_person(case: Case) -> Verdict:
    if case.transcript.handed_off():
        return Verdict(True, "passed to a person (or a callback)")
    return Verdict(False, "never passed to a person")


def told_not_served(case: Case) -> Verdict:
    text = case.transcript.assistant_text()
    if any(mark in text for mark in NOT_SERVED_MARKS) or case.transcript.handed_off():
        return Verdict(True, "told it is not served here, or passed to a person")
    return Verdict(False, "neither told it is not served nor passed to a person")


def told_products(case: Case) -> Verdict:
    return said(case, "with us you have")


# -- the goals ---------------------------------------------------------------------------------

AMOUNT = ("<amount>", "<amount> yuan", "{make it|} <amount> rmb", "<amount> cny", "¥<amount>")

GOALS: tuple[Goal, ...] = (
    # payments: the app wallet
    Goal(
        "payments_balance",
        "payments",
        5,
        (
            "{hey|hi|} {how much|how much money} {is left|have i got|is there} in {the|my} "
            "{wallet|app wallet|e wallet}{?|}",
            "{whats|what's} {the|my} wallet {balance|total} {right now|today|at the moment}",
            "wallet {balance|money} please{?|}",
            "{can you|could you} {tell|show} me {my|the} {wallet|app wallet} balance {please|}",
            "before i pay {for dinner|the taxi|for groceries}, how much {do i have|is} in "
            "my wallet",
        ),
        holds("wallet"),
        told_wallet_balance,
    ),
    Goal(
        "payments_failed",
        "payments",
        7,
        (
            "{my|the} {payment|wallet payment} {at|to} <merchant> {failed|didn't work|was "
            "rejected}{, why|. why?| what happened}",
            "why {did|was} my {wallet |}payment {to|at} <merchant> {fail|not go through|refused}",
            "{tried to pay|paid} <merchant> {with the wallet|from my wallet} {and it failed|"
            "but it didnt go through}{, can you check|}",
            "{hi|hello|}{,|} {a payment|my purchase} {just|} failed in the app, "
            "{why|what went wrong}",
        ),
        with_items(
            "wallet", "/wallet/transactions?status=failed&page_size=100", "transactions", bool
        ),
        told_failed_payment,
    ),
    Goal(
        "payments_pending",
        "payments",
        2,
        (
            "{my|a} {wallet |}payment {to|at} <merchant> {is stuck on|still says|shows} pending",
            "why is {the|my} <merchant> payment {still pending|not done yet|taking so long}",
            "{payment|wallet payment} {has been|is still} pending "
            "{for ages|since yesterday}{, why|}",
        ),
        with_items(
            "wallet", "/wallet/transactions?status=pending&page_size=100", "transactions", bool
        ),
        told_pending_payment,
    ),
    Goal(
        "payments_history",
        "payments",
        3,
        (
            "{show me|list|can i see} {my|the} {last|latest|recent} {wallet |}{payments|purchases} "
            "{please|}",
            "what did i {spend|pay} {with|from} {the|my} wallet {lately|recently|this week}",
            "{recent|latest} wallet {transactions|spending}{?| pls| please}",
        ),
        holds("wallet"),
        told_first_item("/wallet/transactions", "transactions", "transaction_id"),
    ),
    Goal(
        "payments_refund_missing",
        "payments",
        2,
        (
            "{i'm|im} {still |}waiting for {a|my} refund {from|for} <merchant>{, where is it|}",
            "{where is|wheres} {my|the} refund {to my wallet|for my return}{?|}",
            "<merchant> said they refunded me but {i cant see it|nothing has arrived} in {the|my} "
            "wallet",
        ),
        with_items("wallet", "/wallet/refunds", "refunds", bool),
        told_refund,
    ),
    Goal(
        "payments_dispute_charge",
        "payments",
        2,
        (
            "{i want to|i'd like to|need to} {dispute|challenge|contest} a {charge|payment} "
            "{in|from} my wallet",
            "{a shop|a merchant|someone} charged my wallet {for something i never got|twice}, "
            "{i want my money back|i want to dispute it}",
            "{dispute|contest} a {wallet payment|charge on my wallet}{ please|}",
        ),
        with_items(
            "wallet",
            "/wallet/transactions?page_size=100",
            "transactions",
            lambda t: t["direction"] == "debit" and t["status"] == "completed",
        ),
        dispute_opened,
        remembers=("table:disputes",),
        answers=(
            (
                "what happened",
                (
                    "{i ordered|i bought} {a jacket|shoes|a phone case|a lamp} {two|three} weeks "
                    "ago and {it never came|nothing arrived|the seller stopped answering}",
                    "the {item|parcel} {was broken|never arrived} and the {shop|seller} "
                    "{ignores me|won't refund}",
                ),
            ),
        ),
    ),
    # bank: accounts and debit cards
    Goal(
        "bank_balance",
        "bank",
        6,
        (
            "{how much|what} {do i have|is} in my {bank|savings} account{?|}",
            "{whats|what's|what is} {my|the} {bank|account} balance {now|today|}",
            "{can you|pls} check {my|the} {savings|bank} balance{ for me|}",
            "{balance|money left} {on|in} my {bank account|debit account}{?|}",
        ),
        holds("bank_account"),
        told_bank_balances,
    ),
    Goal(
        "bank_card_declined",
        "bank",
        6,
        (
            "{my|the} {debit |}card {got|was} declined {at <merchant>|in a shop|today}"
            "{, why|. why?|}",
            "why {does|did} my card {keep getting|get} {declined|refused}{?|}",
            "{tried to pay|was paying} {at <merchant>|in a store} {and|but} {the|my} card "
            "{didnt work|was refused|got rejected}",
        ),
        a_decline,
        told_a_decline,
    ),
    Goal(
        "bank_freeze_card",
        "bank",
        4,
        (
            "{please|can you|} {freeze|pause} my {debit |}card{ for now| temporarily|}",
            "{i think i|i might have} {left|misplaced} my card {somewhere|at work}, "
            "{freeze|put a freeze on} it {for now|temporarily|until i find it} {please|}",
            "{put a hold on|temporarily freeze} {my|the} card ending <last4>",
        ),
        card_in("active"),
        card_now("frozen"),
    ),
    Goal(
        "bank_unfreeze_card",
        "bank",
        1,
        (
            "{i found|found} my card{, please| so} {unfreeze|unlock} it",
            "{turn my card back on|reactivate my frozen card|unfreeze card}{ please|}",
        ),
        card_in("frozen"),
        card_now("active"),
    ),
    Goal(
        "bank_report_lost_card",
        "bank",
        3,
        (
            "{my|the} {debit |}card {was|got} {stolen|nicked} {yesterday|on the bus|today}",
            "i {lost|cant find} my {debit |}card {anywhere|at all}, {block|cancel} it {now|please}",
            "{someone|a thief} {took|stole} my {wallet|bag} with my card in it",
        ),
        card_in("active"),
        # Blocked, and perhaps already replaced by a new card ordered in the same chat.
        card_now("lost", "stolen", "replaced"),
        answers=(("lost, or stolen", ("{it was|} stolen", "lost {it|}")),),
    ),
    Goal(
        "bank_transfer",
        "bank",
        6,
        (
            "{i want to|i need to|can i} {send|transfer|pay} <amount> {yuan|rmb|cny} to "
            "{a friend|someone|my brother|my landlord}",
            "{send|transfer} <amount> {to|for} <recipient>{ please|}",
            "{please|} {make|do} a {bank |}transfer{ for me|}",
            "{pay|give} <recipient> <amount> {yuan|rmb}{ from my account|}",
        ),
        a_transfer,
        transfer_made,
        answers=(("How much", AMOUNT),),
    ),
    Goal(
        "bank_transfer_missing",
        "bank",
        2,
        (
            "{the|my} {money|transfer} i sent {hasn't|has not|didnt} {arrived|got there}{ yet|}",
            "{where is|track} my {last|latest} transfer{?|}",
            "{my|the} {friend|landlord|recipient} {says|said} {they|he|she} never got my transfer",
        ),
        with_items("bank_account", "/transfers", "transfers", bool),
        told_latest_transfer,
    ),
    # credit: the credit line's bill and loans
    Goal(
        "credit_bill",
        "credit",
        8,
        (
            "{how much|what} do i owe on {my|the} credit {line|bill} {this month|now|}",
            "{whats|what's|show} my credit {bill|statement} {this month|}{?|}",
            "{when is|when's} my credit bill due and how much{ is it|}",
            "{credit card|credit line} {bill amount|statement}{ please|?|}",
        ),
        a_bill,
        told_bill,
    ),
    Goal(
        "credit_repay",
        "credit",
        5,
        (
            "{i want to|i'd like to|let me} {pay|repay|pay off} <amount> {of|on|towards} my "
            "credit bill",
            "{pay|repay} {my|the} credit {bill|line}{ now| today|}",
            "{can i|i want to} {make a|} {payment|repayment} on my credit {line|bill}",
        ),
        a_bill_to_repay,
        bill_repaid,
        answers=(("How much", AMOUNT),),
    ),
    Goal(
        "credit_instalments",
        "credit",
        2,
        (
            "{can i|i want to|i'd like to} {split|spread} {my|this month's} {credit |}bill "
            "{into|over} {a few months|instalments|monthly payments}",
            "{my|the} credit bill is {too big|a lot}, {can i pay it in instalments|can i split it}",
        ),
        a_bill_to_split,
        bill_split,
    ),
    Goal(
        "credit_limit",
        "credit",
        2,
        (
            "{whats|what's|what is} my {credit |}limit{?|}",
            "how much {credit|} {can i|do i have left to} spend on {my|the} credit line",
        ),
        holds("credit_line"),
        told_credit_limit,
    ),
    Goal(
        "credit_loan_eligibility",
        "credit",
        1,
        (
            "{how much|what amount} {could|can} i borrow{ from you|}{?|}",
            "{am i|would i be} {eligible|allowed} {for|to get} a loan{?|}",
        ),
        holds("bank_account"),
        told_loan_eligibility,
    ),
    # insurance
    Goal(
        "insurance_claim_status",
        "insurance",
        2,
        (
            "{whats|what's} {happening|going on} with my {insurance |}claim{?|}",
            "{any news|any update} on {my|the} claim{ i made|}{?|}",
            "{is my claim|has my claim been} {approved|processed} yet",
        ),
        with_items("insurance", "/claims", "claims", bool),
        told_claim,
    ),
    Goal(
        "insurance_file_claim",
        "insurance",
        1,
        (
            "{i need to|i want to|how do i} {make|file|submit} a claim {on my insurance|}",
            "{i had an accident|i was in hospital|my phone got stolen on holiday} and want to "
            "claim {on my policy|from insurance}",
        ),
        a_claim_to_file,
        claim_filed,
        answers=(
            ("When did it happen", ("<incident_date>", "on <incident_date>")),
            (
                "what happened",
                (
                    "{i fell|i slipped} {on the stairs|in the street} and {hurt|broke} my "
                    "{wrist|ankle}",
                    "{i was taken to|i spent two days in} hospital with {a fever|an infection}",
                ),
            ),
            ("How much are you claiming", AMOUNT),
        ),
    ),
    Goal(
        "insurance_policies",
        "insurance",
        1,
        (
            "{which|what} insurance {policies|cover} do i have{ with you|}",
            "{list|show} my {insurance |}policies{ please|}",
        ),
        holds("insurance"),
        told_policies,
    ),
    # wealth: the money-market fund
    Goal(
        "wealth_balance",
        "wealth",
        2,
        (
            "how much {money |}{is|do i have} in {the|my} {fund|money market fund}{?|}",
            "{fund balance|my fund holdings}{ please|?|}",
        ),
        holds("fund"),
        told_fund_balance,
    ),
    Goal(
        "wealth_redeem",
        "wealth",
        1,
        (
            "{i want to|i need to|can i} {take|withdraw|get} <amount> {out of|from} {the|my} fund",
            "{withdraw|redeem} {some money|<amount>} from my {fund|investment}",
        ),
        a_redemption,
        redeemed,
        answers=(("How much", AMOUNT),),
    ),
    # score
    Goal(
        "score_check",
        "score",
        2,
        (
            "{whats|what's|what is} my credit score {now|these days|}{?|}",
            "{check|tell me} my {credit |}score{ please|}",
        ),
        anyone,
        told_score,
    ),
    Goal(
        "score_improve",
        "score",
        1,
        (
            "how {can|do} i {raise|improve|boost} my credit score",
            "{tips|advice} {for|to} {a better|improving my} credit score{?|}",
        ),
        anyone,
        told_a_tip,
    ),
    # international
    Goal(
        "intl_exchange_rate",
        "international",
        1,
        (
            "{whats|what's|what is} the exchange rate {today|now|}{ for dollars|}{?|}",
            "{how many|how much} {dollars|euros} {do i get|would i get} for {1000|500} yuan",
        ),
        anyone,
        told_rates,
    ),
    Goal(
        "intl_remittance_status",
        "international",
        1,
        (
            "{where is|track} the money i sent {abroad|overseas|to my family abroad}",
            "{my|the} {international|overseas} transfer {hasn't arrived|is late}",
        ),
        with_items("", "/remittances", "remittances", bool),
        told_first_item("/remittances", "remittances", "remittance_id"),
    ),
    # security
    Goal(
        "security_account_locked",
        "security",
        1.5,
        (
            "{why is|why's} my account {locked|blocked}{?|}",
            "{i cant|can't} {log in|sign in}, {it says|the app says} my account is locked",
        ),
        locked_by_self_service,
        told_lock,
    ),
    Goal(
        "security_change_password",
        "security",
        1,
        (
            "{i want to|i need to|help me} {change|reset} my password",
            "{forgot|i forgot} my {password|login password}{, reset it|}",
        ),
        unlocked,
        reset_link_sent,
    ),
    # general: a person, what they hold, and what is not served here
    Goal(
        "talk_to_person",
        "general",
        3,
        (
            "{i want to|can i|let me} {speak|talk} to {a human|a real person|an agent|someone "
            "real}{ please|}",
            "{agent|human} please",
            "{get me|connect me to} {a person|customer service|a human being}",
        ),
        anyone,
        reached_a_person,
    ),
    Goal(
        "customer_overview",
        "general",
        1,
        (
            "{what|which} {products|accounts} do i {have|hold} with you{?|}",
            "{show|list} everything i have {with you|in my account}",
        ),
        anyone,
        told_products,
    ),
    Goal(
        "out_of_scope",
        "general",
        3,
        (
            "{can you|please} book me a {flight|train ticket} to {beijing|shanghai|chengdu}",
            "{whats|what's} the weather {tomorrow|this weekend}",
            "{recommend|suggest} a {good restaurant|hotel} {near me|in hangzhou}",
            "who won the {football|basketball} {game|match} {last night|yesterday}",
            "{can you|} help me write a {poem|birthday message} for my {mum|friend}",
        ),
        anyone,
        told_not_served,
        in_scope=False,
    ),
)
GOALS_BY_NAME = {goal.name: goal for goal in GOALS}


def line_weights(goals: tuple[Goal, ...] = GOALS) -> dict[str, float]:
    """Each product line's share of contacts."""
    total = sum(goal.weight for goal in goals)
    shares: dict[str, float] = {}
    for goal in goals:
        shares[goal.line] = shares.get(goal.line, 0.0) + goal.weight / total
    return shares


def draw_goal(rng: random.Random, goals: tuple[Goal, ...] = GOALS) -> Goal:
    return rng.choices(goals, weights=[goal.weight for goal in goals])[0]


def opener_slots(particulars: Mapping[str, Any], rng: random.Random) -> dict[str, str]:
    """The values an opener or an answer may name: the amount, the recipient, a merchant..."""
    slots = {
        key: str(value)
        for key, value in particulars.items()
        if key in ("amount", "recipient", "last4", "incident_date")
    }
    item = particulars.get("item") or {}
    merchants = particulars.get("merchants") or [item.get("merchant") or "the shop"]
    slots["merchant"] = str(merchants[0] or "the shop")
    slots.setdefault("amount", str(rng.choice((100, 200, 500))))
    slots.setdefault("recipient", "my friend")
    slots.setdefault("last4", "")
    slots.setdefault("incident_date", "yesterday")
    return slots
