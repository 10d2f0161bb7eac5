"""A customer signs in on the web chat page and chats in a real browser (Debian's chromium,
driven by Playwright) with the real sandbox, action server and Rasa server behind it. The chat
opens with the questions the customer most likely came with, or a greeting."""

from __future__ import annotations

import re
import urllib.error
import urllib.parse
import urllib.request

import pytest
from playwright.sync_api import expect

from actions.rendering import money_text
from services.webchat.settings import DEFAULT_DEMO_PASSCODE
from tests.browser.conftest import (
    FIRST_REPLY_MS,
    REPLY_MS,
    SCREENSHOTS,
    ChatSite,
    SharedChatSite,
    chat_opened,
    say,
    sign_in,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def chat_site(shared_chat_site: SharedChatSite, request: pytest.FixtureRequest) -> ChatSite:
    return shared_chat_site.module(request, block=0)


def test_a_customer_signs_in_chats_and_sees_their_own_data(chat_site, page):
    customer = chat_site.assistant.customer(1)
    name = chat_site.assistant.backend("GET", "/v1/customers/me", customer_id=customer)["name"]
    bot_messages = page.locator(".rw-response")

    sign_in(page, chat_site, customer, DEFAULT_DEMO_PASSCODE)
    expect(page.locator("#customer-name")).to_have_text(name)
    opening = chat_opened(page)
    expect(bot_messages.first).to_contain_text(name)

    say(page, "hi")
    expect(bot_messages.nth(opening)).to_contain_text(f"Hi {name}", timeout=FIRST_REPLY_MS)

    say(page, "what products do I have")
    expect(bot_messages.last).to_contain_text(name, timeout=REPLY_MS)

    # A human agent's message, pushed as the handoff will push it, is shown as the agent's.
    chat_site.assistant.api(
        f"/conversations/customer:{customer}/tracker/events"
        "?execute_side_effects=true&output_channel=socketio",
        {
            "event": "bot",
            "text": None,
            "data": {
                "custom": {
                    "from": "agent",
                    "agent_name": "Dana",
                    "text": "Hello, I can take it from here.",
                }
            },
        },
    )
    agent_message = page.locator(".rw-response.agent-message")
    expect(agent_message).to_contain_text("Agent Dana", timeout=REPLY_MS)
    expect(agent_message).to_contain_text("Hello, I can take it from here.")

    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "webchat.png"), full_page=True)


def test_a_customer_freezes_their_card_reading_the_security_code_off_the_phone_panel(
    chat_site, page
):
    customer = chat_site.assistant.customer(3)
    card = chat_site.assistant.backend("GET", "/v1/customers/me/cards", customer_id=customer)[
        "cards"
    ][0]
    bot_messages = page.locator(".rw-response")
    sign_in(page, chat_site, customer, DEFAULT_DEMO_PASSCODE)
    chat_opened(page)

    say(page, "please freeze my debit card")
    go_ahead = page.locator(".rw-reply", has_text="Yes, go ahead")
    expect(go_ahead).to_be_visible(timeout=FIRST_REPLY_MS)
    # The widget renders Markdown: the masked card must show as the assistant wrote it (once
    # "**** **** **** 4464" showed as "** ** **** 4464", half of it taken for bold).
    shown_card = f"•••• {card['card_number_masked'][-4:]}"
    confirmation = page.locator(".rw-response", has_text="freeze your card")
    expect(confirmation).to_contain_text(f"I'll freeze your card {shown_card}: payments")
    written = [
        event["text"]
        for event in chat_site.assistant.tracker(f"customer:{customer}")["events"]
        if event["event"] == "bot" and "freeze your card" in (event.get("text") or "")
    ]
    expect(confirmation).to_contain_text(written[-1])
    expect(confirmation.locator("strong, em")).to_have_count(0)
    go_ahead.click()
    expect(bot_messages.last).to_contain_text("6-digit code", timeout=REPLY_MS)
    expect(page.locator("#phone-latest")).to_contain_text("Your code", timeout=REPLY_MS)
    code = re.search(r"\b(\d{6})\b", page.locator("#phone-latest").inner_text()).group(1)
    say(page, code)

    frozen = page.locator(".rw-response", has_text=f"Your card {shown_card} is frozen")
    expect(frozen).to_be_visible(timeout=REPLY_MS)
    # The request is done: the customer is asked, once, how satisfied they are.
    expect(bot_messages.last).to_contain_text("How satisfied are you", timeout=REPLY_MS)
    expect(page.locator(".rw-reply", has_text="5 - Very satisfied")).to_be_visible()
    assert (
        chat_site.assistant.backend(
            "GET", f"/v1/customers/me/cards/{card['card_id']}", customer_id=customer
        )["status"]
        == "frozen"
    )


def test_a_message_in_chinese_is_answered_in_chinese_and_english_with_a_person_button(
    chat_site, page
):
    sign_in(page, chat_site, chat_site.assistant.customer(1), DEFAULT_DEMO_PASSCODE)
    chat_opened(page)

    say(page, "我的银行卡余额是多少")

    answer = page.locator(".rw-response", has_text="只能读懂英文")
    expect(answer).to_contain_text("I can only read English for now", timeout=FIRST_REPLY_MS)
    expect(page.locator(".rw-reply", has_text="Talk to a person")).to_be_visible()


def a_wallet_customer_without_events(site: ChatSite) -> str:
    """A customer who pays from the wallet and whom nothing has happened to lately."""
    # From the fourth: the other tests chat as the first and the third.
    for customer in site.assistant.customer_ids[3:]:
        profile = site.assistant.backend("GET", "/v1/customers/me", customer_id=customer)
        events = site.assistant.backend("GET", "/v1/customers/me/events", customer_id=customer)
        if "wallet" in profile["products"] and not profile["account_locked"]:
            if not events["events"]:
                return customer
    raise AssertionError("the seed has a wallet customer without events")


def test_a_customer_whose_payment_just_failed_is_offered_it_first_and_one_click_says_why(
    chat_site, page
):
    customer = a_wallet_customer_without_events(chat_site)
    # The payment fails as the back end records it: an event and the failed transaction.
    failed = chat_site.assistant.backend(
        "POST", "/sandbox/events", {"customer_id": customer, "kind": "payment_failed"}
    )
    transaction = chat_site.assistant.backend(
        "GET", f"/v1/customers/me/wallet/transactions/{failed['reference']}", customer_id=customer
    )
    diagnosis = chat_site.assistant.backend(
        "GET",
        f"/v1/customers/me/wallet/transactions/{failed['reference']}/diagnosis",
        customer_id=customer,
    )
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    sign_in(page, chat_site, customer, DEFAULT_DEMO_PASSCODE)

    amount = money_text(transaction["amount"], transaction["currency"])
    offers = page.locator(".rw-reply")
    expect(offers.first).to_have_text(
        f"Your {amount} payment to {transaction['merchant']} failed today: see why?",
        timeout=FIRST_REPLY_MS,
    )
    expect(page.locator(".rw-response").first).to_contain_text("Is it about one of these?")
    assert offers.count() <= 3

    offers.first.click()
    answer = page.locator(".rw-response", has_text="did not go through")
    expect(answer).to_contain_text(f"Your payment of {amount} to {transaction['merchant']}")
    expect(answer).to_contain_text(diagnosis["explanation"])
    # The page's policy holds and the chat needed nothing it refuses: only the widget's web
    # font, which the policy keeps out by design, was turned away.
    assert [text for text in refused if "fonts.googleapis.com" not in text] == []


def test_a_wrong_passcode_does_not_sign_in(chat_site, page):
    sign_in(page, chat_site, chat_site.assistant.customer(1), "not-the-passcode")

    expect(page.get_by_role("alert")).to_contain_text("Wrong customer number or passcode")
    assert urllib.parse.urlparse(page.url).path == "/sign-in"


def test_the_chat_page_needs_a_sign_in(chat_site):
    request = urllib.request.Request(f"{chat_site.url}/chat")
    opener = urllib.request.build_opener(NoRedirects)
    with pytest.raises(urllib.error.HTTPError) as refused:
        opener.open(request, timeout=10)

    assert refused.value.code == 303
    assert refused.value.headers["Location"] == "/"


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs) -> None:
        return None
