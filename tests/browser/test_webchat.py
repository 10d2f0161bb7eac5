"""A customer signs in on the web chat page and chats in a real browser (Debian's chromium,
driven by Playwright) with the real sandbox, action server and Rasa server behind it."""

from __future__ import annotations

import re
import urllib.error
import urllib.parse
import urllib.request

import pytest
from playwright.sync_api import expect

from services.webchat.settings import DEFAULT_DEMO_PASSCODE
from tests.browser.conftest import FIRST_REPLY_MS, REPLY_MS, SCREENSHOTS, say, sign_in

pytestmark = pytest.mark.e2e


def test_a_customer_signs_in_chats_and_sees_their_own_data(chat_site, page):
    name = chat_site.assistant.backend("GET", "/v1/customers/me", customer_id="C00001")["name"]
    bot_messages = page.locator(".rw-response")

    sign_in(page, chat_site, "C00001", DEFAULT_DEMO_PASSCODE)
    expect(page.locator("#customer-name")).to_have_text(name)

    say(page, "hi")
    expect(bot_messages.last).to_contain_text(f"Hi {name}", timeout=FIRST_REPLY_MS)

    say(page, "what products do I have")
    expect(bot_messages.last).to_contain_text(name, timeout=REPLY_MS)

    # A human agent's message, pushed as the handoff will push it, is shown as the agent's.
    chat_site.assistant.api(
        "/conversations/customer:C00001/tracker/events"
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
    card = chat_site.assistant.backend("GET", "/v1/customers/me/cards", customer_id="C00003")[
        "cards"
    ][0]
    bot_messages = page.locator(".rw-response")
    sign_in(page, chat_site, "C00003", DEFAULT_DEMO_PASSCODE)

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
        for event in chat_site.assistant.tracker("customer:C00003")["events"]
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
            "GET", f"/v1/customers/me/cards/{card['card_id']}", customer_id="C00003"
        )["status"]
        == "frozen"
    )


def test_a_message_in_chinese_is_answered_in_chinese_and_english_with_a_person_button(
    chat_site, page
):
    sign_in(page, chat_site, "C00001", DEFAULT_DEMO_PASSCODE)

    say(page, "我的银行卡余额是多少")

    answer = page.locator(".rw-response", has_text="只能读懂英文")
    expect(answer).to_contain_text("I can only read English for now", timeout=FIRST_REPLY_MS)
    expect(page.locator(".rw-reply", has_text="Talk to a person")).to_be_visible()


def test_a_wrong_passcode_does_not_sign_in(chat_site, page):
    sign_in(page, chat_site, "C00001", "not-the-passcode")

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
