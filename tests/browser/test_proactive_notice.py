"""An outbound notice in a real browser: a signed-in customer has the web chat open, their
payment fails in the back end, and the notice appears in the chat without their typing
anything; its button runs the flow. The notifier runs beside the page's servers as scripts/run
runs it, reading the sandbox's outbox."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from actions.rendering import money_text
from services.webchat.settings import DEFAULT_DEMO_PASSCODE
from tests.browser.conftest import (
    REPLY_MS,
    SCREENSHOTS,
    ChatSite,
    SharedChatSite,
    chat_opened,
    sign_in,
)
from tests.e2e.notifier_process import notifier_beside

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def notifying_site(
    shared_chat_site: SharedChatSite,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ChatSite]:
    chat_site = shared_chat_site.module(request, block=2)
    with notifier_beside(chat_site.assistant, tmp_path_factory.mktemp("notifier")):
        yield chat_site


def a_consenting_wallet_customer(site: ChatSite) -> str:
    """A customer who pays from the wallet and agreed to be told, with no quiet hours (the
    seeded ones may hold the hour the test runs at)."""
    for customer in site.assistant.customer_ids:
        profile = site.assistant.backend("GET", "/v1/customers/me", customer_id=customer)
        if "wallet" in profile["products"] and not profile["account_locked"]:
            site.assistant.backend(
                "PUT",
                "/v1/customers/me/notifications",
                {"consent": True, "quiet_hours": None},
                customer_id=customer,
            )
            return customer
    raise AssertionError("the seed has a wallet customer")


def test_a_failed_payment_appears_in_the_open_chat_and_its_button_says_why(notifying_site, page):
    customer = a_consenting_wallet_customer(notifying_site)
    backend = notifying_site.assistant.backend
    sign_in(page, notifying_site, customer, DEFAULT_DEMO_PASSCODE)
    chat_opened(page)

    failed = backend("POST", "/sandbox/events", {"customer_id": customer, "kind": "payment_failed"})
    transaction = backend(
        "GET", f"/v1/customers/me/wallet/transactions/{failed['reference']}", customer_id=customer
    )
    amount = money_text(transaction["amount"], transaction["currency"])

    notice = page.locator(".rw-response", has_text=f"Your {amount} payment")
    expect(notice).to_contain_text(transaction["merchant"], timeout=REPLY_MS)
    expect(notice).to_contain_text("did not go through")
    assert page.locator(".rw-client").count() == 0, "the customer typed nothing"

    page.locator(".rw-reply", has_text="Find out why").last.click()
    answer = page.locator(".rw-response", has_text=f"Your payment of {amount}")
    expect(answer).to_contain_text(transaction["merchant"], timeout=REPLY_MS)
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "webchat-notice.png"), full_page=True)
