"""SQLAlchemy data model of the sandboxed product back ends.

Every customer-owned row carries `customer_id`, and every query for customer data filters on it:
ownership is checked in the query itself, never after loading.
Timestamps are naive UTC.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import declarative_base
from sqlalchemy.types import TypeDecorator, TypeEngine

Base = declarative_base()


class ExactDecimal(TypeDecorator):
    """Exact decimals: NUMERIC where the database has it, scaled integers on SQLite.

    SQLite's NUMERIC is a binary float, so storing e.g. cents as integers keeps amounts (and SQL
    SUMs over them) exact there too.
    """

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int = 18, scale: int = 2) -> None:
        super().__init__(precision, scale)
        self.scale = scale
        self.step = Decimal(1).scaleb(-scale)

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(self.impl.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        number = Decimal(value)
        if number != number.quantize(self.step):
            raise ValueError(f"at most {self.scale} decimal places, got {number}")
        return int(number.scaleb(self.scale)) if dialect.name == "sqlite" else number

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-self.scale).quantize(self.step)
        return Decimal(value).quantize(self.step)


def money_column(**options: object) -> Column:
    return Column(ExactDecimal(18, 2), nullable=False, **options)


def customer_fk() -> Column:
    return Column(String(16), ForeignKey("customers.id"), nullable=False, index=True)


class SandboxMeta(Base):
    __tablename__ = "sandbox_meta"
    key = Column(String(64), primary_key=True)
    value = Column(String(256), nullable=False)


class Customer(Base):
    __tablename__ = "customers"
    id = Column(String(16), primary_key=True)
    full_name = Column(String(128), nullable=False)
    preferred_language = Column(String(8), nullable=False)
    segment = Column(String(16), nullable=False)
    phone_masked = Column(String(32), nullable=False)
    email = Column(String(128), nullable=False)
    device_id = Column(String(32), nullable=False)
    home_currency = Column(String(3), nullable=False)
    # An IANA zone name: the assistant shows times on the customer's own clock.
    time_zone = Column(String(64), nullable=False)
    customer_since = Column(Date, nullable=False)
    locked = Column(Boolean, nullable=False, default=False)
    lock_reason = Column(String(64))
    locked_at = Column(DateTime)
    password_changed_at = Column(DateTime)
    # Whether the customer agreed to be messaged first (proactive notices), and when not to be:
    # HH:MM on their own clock (time_zone), both set or both null; the window may cross midnight.
    notify_consent = Column(Boolean, nullable=False, default=True)
    quiet_hours_start = Column(String(5))
    quiet_hours_end = Column(String(5))


class Wallet(Base):
    __tablename__ = "wallets"
    id = Column(String(24), primary_key=True)
    customer_id = customer_fk()
    balance = money_column()
    currency = Column(String(3), nullable=False)


class WalletTransaction(Base):
    __tablename__ = "wallet_transactions"
    id = Column(String(24), primary_key=True)
    customer_id = customer_fk()
    wallet_id = Column(String(24), ForeignKey("wallets.id"), nullable=False)
    direction = Column(String(8), nullable=False)  # debit | credit
    amount = money_column()
    currency = Column(String(3), nullable=False)
    merchant = Column(String(64), nullable=False)
    category = Column(String(32), nullable=False)
    status = Column(String(16), nullable=False)  # completed | pending | failed | refunded
    failure_code = Column(String(32))
    # Set when risk checks let a payment through but found it unusual for the customer.
    risk_flag = Column(String(32))
    created_at = Column(DateTime, nullable=False, index=True)


class Refund(Base):
    __tablename__ = "refunds"
    id = Column(String(24), primary_key=True)
    customer_id = customer_fk()
    transaction_id = Column(String(24), ForeignKey("wallet_transactions.id"), nullable=False)
    amount = money_column()
    currency = Column(String(3), nullable=False)
    status = Column(String(16), nullable=False)  # pending | completed
    requested_at = Column(DateTime, nullable=False)
    expected_by = Column(Date, nullable=False)
    completed_at = Column(DateTime)


class Dispute(Base):
    __tablename__ = "disputes"
    id = Column(String(24), primary_key=True)
    customer_id = customer_fk()
    transaction_id = Column(String(24), ForeignKey("wallet_transactions.id"), nullable=False)
    reason = Column(String(32), nullable=False)
    description = Column(Text, nullable=False)
    status = Column(String(16), nullable=False)
    created_at = Column(DateTime, nullable=False)
    __table_args__ = (UniqueConstraint("transaction_id", name="uq_dispute_per_transaction"),)


class BankAccount(Base):
    __tablename__ = "bank_accounts"
    id = Column(String(24), primary_key=True)
    account_number = Column(String(24), nullable=False, unique=True)
    customer_id = customer_fk()
    kind = Column(String(16), nullable=False)  # savings | current | foreign_currency
    currency = Column(String(3), nullable=False)
    balance = money_column()
    status = Column(String(16), nullable=False)
    opened_on = Column(Date, nullable=False)


class BankEntry(Base):
    """One line of an account statement."""

    __tablename__ = "bank_entries"
    id = Column(String(24), primary_key=True)
    customer_id = customer_fk()
    account_id = Column(String(24), ForeignKey("bank_accounts.id"), nullable=False, index=True)
    amount = money_column()  # signed: negative leaves the account
    currency = Column(String(3), nullable=False)
    description = Column(String(128), nullable=False)
    booked_at = Column(DateTime, nullable=False)


class Recipient(Base):
    __tablename__ = "recipients"
    id = Column(String(24), primary_key=True)
    customer_id = customer_fk()
    name = Column(String(128), nullable=False)
    account_number = Column(String(24), nullable=False)
    bank_name = Column(String(64), nullable=False)


class Transfer(Base):
    __tablename__ = "transfers"
    id = Column(String(24), primary_key=True)
    customer_id = customer_fk()
    from_account_id = Column(String(24), ForeignKey("bank_accounts.id"), nullable=False)
    to_account_number = Column(String(24), nullable=False)
    recipient_name = Column(String(128), nullable=False)
    amount = money_column()
    currency = Column(String(3), nullable=False)
    memo = Column(String(128), nullable=False, default="")
    status = Column(String(16), nullable=False)  # completed | processing | returned
    trace_note = Column(String(256), nullable=False, default="")
    created_at = Column(DateTime, nullable=False, index=True)
    expected_arrival = Column(DateTime, nullable=False)


class Card(Base):
    __tablename__ = "cards"
    id = Column(String(24), primary_key=True)
    card_number = Column(String(19), nullable=False, unique=True)
    customer_id = customer_fk()
    account_id = Column(String(24), ForeignKey("bank_accounts.id"), nullable=False)
    kind = Column(String(16), nullable=False)
    # inactive | active | frozen | lost | stolen | replaced
    status = Column(String(16), nullable=False)
    expires = Column(String(7), nullable=False)
    delivery_status = Column(String(24))  # preparing | shipped | delivered
    delivery_eta = Column(Date)
    replaces_card_id = Column(String(24))
    travel_regions = Column(JSON)
    travel_until = Column(Date)
    issued_on = Column(Date, nullable=False)


class CardDecline(Base):
    __tablename__ = "card_declines"
    id = Column(String(24), primary_key=True)
    customer_id = customer_fk()
    card_id = Column(String(24), ForeignKey("cards.id"), nullable=False, index=True)
    merchant = Column(String(64), nullable=False)
    amount = money_column()
    currency = Column(String(3), nullable=False)
    reason_code = Column(String(32), nullable=False)
    occurred_at = Column(DateTime, nullable=False)


class CreditLine(Base):
    __tablename__ = "credit_lines"
    id = Column(String(24), primary_key=True)
    customer_id = customer_fk()
    credit_limit = money_column()
    used = money_column()
    currency = Column(String(3), nullable=False)
    annual_rate = Column(ExactDecimal(6, 4), nullable=False)
    statement_day = Column(Integer, nullable=False)


class CreditLimitRequest(Base):
    __tablename__ = "credit_limit_requests"
    id = Column(String(24), primary_key=True)
    customer_id = customer_fk()
    requested_limit = money_column()
    decision = Column(String(24), nullable=False)
    granted_limit = money_column()
    reason = Column(String(256), nullable=False)
    created_at = Column(DateTime, nullable=False)


class CreditBill(Base):
    __tablename__ = "credit_bills"
    id = Column(String(24), primary_key=True)
    customer_id = customer_fk()
    credit_line_id = Column(String(24), ForeignKey("credit_lines.id"), nullable=False)
    period = Column(String(7), nullable=False)
    amount_due = money_column()
    minimum_due = money_column()
    paid = money_column()
    currency = Column(String(3), nullable=False)
    due_date = Column(Date, nullable=False)
    status = Column(String(16), nullable=False)  # open | paid | overdue | instalments


class InstalmentPlan(Base):
    __tablename__ = "instalment_plans"
    id = Column(String(24), primary_key=True)
    customer_id = customer_fk()
    bill_id = Column(String(24), ForeignKey("credit_bills.id"), nullable=False)
    months = Column(Integer, nullable=False)
    principal = money_column()
    total_fee = money_column()
    monthly_payment = money_column()
    currency = Column(String(3), nullable=False)
    status = Column(String(16), nullable=False)  # quoted | active | expired
    created_at = Column(DateTime, nullable=False)
    quote_expires_at = Column(DateTime, nullable=False)


class Loan(Base):
    __tablename__ = "loans"
    id = Column(String(24), primary_key=True)
    customer_id = customer_fk()
    principal = money_column()
    outstanding = money_column()
    currency = Column(String(3), nullable=False)
    annual_rate = Column(ExactDecimal(6, 4), nullable=False)
    term_months = Column(Integer, nullable=False)
    payments_made = Column(Integer, nullable=False)
    start_date = Column(Date, nullable=False)
    status = Column(String(16), nullable=False)  # active | repaid
    disbursed_to_account_id = Column(String(24), ForeignKey("bank_accounts.id"))


class Policy(Base):
    __tablename__ = "policies"
    id = Column(String(24), primary_key=True)  # the policy number customers see
    customer_id = customer_fk()
    product = Column(String(32), nullable=False)
    product_name = Column(String(64), nullable=False)
    coverage = Column(JSON, nullable=False)
    sum_insured = money_column()
    annual_premium = money_column()
    currency = Column(String(3), nullable=False)
    status = Column(String(16), nullable=False)  # active | cancelled | lapsed
    start_date = Column(Date, nullable=False)
    end_date = Column(Date, nullable=False)
    cancelled_at = Column(DateTime)


class Claim(Base):
    __tablename__ = "claims"
    id = Column(String(24), primary_key=True)
    customer_id = customer_fk()
    policy_id = Column(String(24), ForeignKey("policies.id"), nullable=False)
    incident_date = Column(Date, nullable=False)
    description = Column(Text, nullable=False)
    amount_claimed = money_column()
    currency = Column(String(3), nullable=False)
    # submitted | in_review | more_info_needed | approved | paid | rejected
    status = Column(String(24), nullable=False)
    next_step = Column(String(256), nullable=False)
    submitted_at = Column(DateTime, nullable=False)
    updated_at = Column(DateTime, nullable=False)


class FundHolding(Base):
    __tablename__ = "fund_holdings"
    id = Column(String(24), primary_key=True)
    customer_id = customer_fk()
    fund_code = Column(String(16), nullable=False)
    fund_name = Column(String(64), nullable=False)
    balance = money_column()
    currency = Column(String(3), nullable=False)
    yesterday_yield = money_column()
    seven_day_annualised = Column(ExactDecimal(6, 4), nullable=False)
    total_yield = money_column()


class FundOrder(Base):
    __tablename__ = "fund_orders"
    id = Column(String(24), primary_key=True)
    customer_id = customer_fk()
    holding_id = Column(String(24), ForeignKey("fund_holdings.id"), nullable=False)
    kind = Column(String(16), nullable=False)  # subscription | redemption
    amount = money_column()
    currency = Column(String(3), nullable=False)
    bank_account_id = Column(String(24), ForeignKey("bank_accounts.id"), nullable=False)
    status = Column(String(16), nullable=False)  # processing | completed
    speed = Column(String(16), nullable=False)  # instant | standard
    created_at = Column(DateTime, nullable=False)
    expected_arrival = Column(DateTime, nullable=False)


class CreditScore(Base):
    __tablename__ = "credit_scores"
    customer_id = Column(String(16), ForeignKey("customers.id"), primary_key=True)
    score = Column(Integer, nullable=False)
    band = Column(String(16), nullable=False)
    factors = Column(JSON, nullable=False)
    updated_on = Column(Date, nullable=False)


class ScoreRecord(Base):
    """An item on the customer's credit report that they may dispute."""

    __tablename__ = "score_records"
    id = Column(String(24), primary_key=True)
    customer_id = customer_fk()
    kind = Column(String(32), nullable=False)
    description = Column(String(256), nullable=False)
    reported_on = Column(Date, nullable=False)
    status = Column(String(16), nullable=False)  # reported | disputed | corrected


class ScoreDispute(Base):
    __tablename__ = "score_disputes"
    id = Column(String(24), primary_key=True)
    customer_id = customer_fk()
    record_id = Column(String(24), ForeignKey("score_records.id"), nullable=False, unique=True)
    reason = Column(Text, nullable=False)
    status = Column(String(24), nullable=False)
    created_at = Column(DateTime, nullable=False)
    answer_due = Column(Date, nullable=False)


class Remittance(Base):
    __tablename__ = "remittances"
    id = Column(String(24), primary_key=True)
    customer_id = customer_fk()
    from_account_id = Column(String(24), ForeignKey("bank_accounts.id"), nullable=False)
    beneficiary_name = Column(String(128), nullable=False)
    beneficiary_country = Column(String(2), nullable=False)
    beneficiary_account = Column(String(40), nullable=False)
    send_amount = money_column()
    send_currency = Column(String(3), nullable=False)
    receive_amount = money_column()
    receive_currency = Column(String(3), nullable=False)
    rate = Column(ExactDecimal(18, 6), nullable=False)
    fee = money_column()
    # submitted | compliance_review | sent | credited | returned
    status = Column(String(24), nullable=False)
    created_at = Column(DateTime, nullable=False)
    expected_arrival = Column(DateTime, nullable=False)


class TaxRefund(Base):
    __tablename__ = "tax_refunds"
    id = Column(String(24), primary_key=True)
    customer_id = customer_fk()
    country = Column(String(2), nullable=False)
    merchant = Column(String(64), nullable=False)
    amount = money_column()
    currency = Column(String(3), nullable=False)
    status = Column(String(24), nullable=False)  # submitted | approved | paid | rejected
    submitted_on = Column(Date, nullable=False)
    expected_by = Column(Date, nullable=False)


class FraudCase(Base):
    __tablename__ = "fraud_cases"
    id = Column(String(24), primary_key=True)
    customer_id = customer_fk()
    description = Column(Text, nullable=False)
    related_reference = Column(String(40))
    status = Column(String(16), nullable=False)
    needs_human = Column(Boolean, nullable=False)
    created_at = Column(DateTime, nullable=False)


class CustomerEvent(Base):
    """Recent things that happened to a customer; the assistant predicts intents from them."""

    __tablename__ = "customer_events"
    id = Column(String(24), primary_key=True)
    customer_id = customer_fk()
    kind = Column(String(32), nullable=False)
    reference = Column(String(40), nullable=False)
    summary = Column(String(256), nullable=False)
    occurred_at = Column(DateTime, nullable=False)


class EventOutbox(Base):
    """Events made after the seed, in the order they were committed: the embedded profile's
    queue (the notifier reads it by ``seq``) and what the production profile publishes to
    RabbitMQ (``published_at`` set once the broker confirmed). Written in the transaction that
    makes the event, so an event is never made without its row, nor a row without its event."""

    __tablename__ = "event_outbox"
    # AUTOINCREMENT on SQLite: a seq is never reused, even after the newest row is deleted.
    __table_args__ = {"sqlite_autoincrement": True}
    seq = Column(Integer, primary_key=True, autoincrement=True)
    event_id = Column(String(24), ForeignKey("customer_events.id"), nullable=False, unique=True)
    customer_id = customer_fk()
    kind = Column(String(32), nullable=False)
    reference = Column(String(40), nullable=False)
    occurred_at = Column(DateTime, nullable=False)
    created_at = Column(DateTime, nullable=False)
    published_at = Column(DateTime)


class Verification(Base):
    __tablename__ = "verifications"
    id = Column(String(40), primary_key=True)
    customer_id = customer_fk()
    purpose = Column(String(32), nullable=False)
    code_hash = Column(String(64), nullable=False)
    attempts = Column(Integer, nullable=False, default=0)
    status = Column(String(16), nullable=False)  # pending | confirmed | exhausted
    created_at = Column(DateTime, nullable=False)
    expires_at = Column(DateTime, nullable=False)


class VerificationToken(Base):
    __tablename__ = "verification_tokens"
    token_hash = Column(String(64), primary_key=True)
    customer_id = customer_fk()
    purpose = Column(String(32), nullable=False)
    verification_id = Column(String(40), ForeignKey("verifications.id"), nullable=False)
    expires_at = Column(DateTime, nullable=False)


class VerificationTokenUse(Base):
    """The one request a step-up token was spent on; a token authorises exactly one.

    A money request is named by its Idempotency-Key, so its retries and replays still pass; a
    request without one (card and policy changes) spends the token for good.
    """

    __tablename__ = "verification_token_uses"
    token_hash = Column(String(64), ForeignKey("verification_tokens.token_hash"), primary_key=True)
    customer_id = customer_fk()
    idempotency_key = Column(String(128))
    used_at = Column(DateTime, nullable=False)


class DeviceMessage(Base):
    """What the sandbox 'sends' to the customer's registered phone."""

    __tablename__ = "device_messages"
    id = Column(Integer, primary_key=True, autoincrement=True)
    customer_id = customer_fk()
    device_id = Column(String(32), nullable=False)
    body = Column(String(256), nullable=False)
    code = Column(String(8))
    sent_at = Column(DateTime, nullable=False)


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_records"
    id = Column(Integer, primary_key=True, autoincrement=True)
    customer_id = Column(String(16), nullable=False)
    key = Column(String(128), nullable=False)
    operation = Column(String(64), nullable=False)
    request_hash = Column(String(64), nullable=False)
    response_status = Column(Integer)
    response_body = Column(JSON)
    created_at = Column(DateTime, nullable=False)
    __table_args__ = (UniqueConstraint("customer_id", "key", name="uq_idempotency_key"),)


class AuditRecord(Base):
    __tablename__ = "audit_records"
    id = Column(Integer, primary_key=True, autoincrement=True)
    customer_id = Column(String(16), nullable=False, index=True)
    actor = Column(String(64), nullable=False)
    operation = Column(String(64), nullable=False)
    amount = Column(ExactDecimal(18, 2))
    currency = Column(String(3))
    source = Column(String(40))
    target = Column(String(40))
    idempotency_key = Column(String(128))
    outcome = Column(String(16), nullable=False)  # succeeded | rejected
    detail = Column(String(256), nullable=False, default="")
    created_at = Column(DateTime, nullable=False)
