"""The human handoff in the browser: a customer on the web chat page, agents in the desk's web
console, all in Debian's chromium against the real servers."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Page, Response, Route, expect

from services.desk.settings import DEFAULT_DEMO_PASSWORD
from services.webchat.settings import DEFAULT_DEMO_PASSCODE
from tests.browser.conftest import (
    FIRST_REPLY_MS,
    REPLY_MS,
    SCREENSHOTS,
    ChatSite,
    SharedChatSite,
    only_loopback,
    say,
    sign_in,
    wait_until,
)

pytestmark = pytest.mark.e2e

CLAIM_REQUESTS = "**/api/agent/handoffs/*/claim"


@pytest.fixture(scope="module")
def chat_site(shared_chat_site: SharedChatSite, request: pytest.FixtureRequest) -> ChatSite:
    return shared_chat_site.module(request, block=1)


@pytest.fixture
def new_page(browser: Browser) -> Iterator[Callable[[], Page]]:
    """Pages in separate browser contexts: a customer and agents do not share cookies."""
    contexts = []

    def open_page() -> Page:
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        context.route("**/*", only_loopback)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def console_of(page: Page, site: ChatSite, username: str) -> Page:
    page.goto(f"{site.assistant.desk_url}/console")
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(DEFAULT_DEMO_PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("queue")).to_be_visible()
    expect(page.get_by_test_id("connection")).not_to_contain_text("connecting", timeout=REPLY_MS)
    return page


def customer_waiting(page: Page, name: str):
    item = page.get_by_test_id("queue-item").filter(has_text=name)
    expect(item).to_be_visible(timeout=REPLY_MS)
    return item


def test_a_customer_is_helped_by_an_agent_in_the_console_and_returns_to_the_bot(
    chat_site, new_page
):
    customer = chat_site.assistant.customer(21)
    name = chat_site.assistant.backend("GET", "/v1/customers/me", customer_id=customer)["name"]
    agent = console_of(new_page(), chat_site, "agent")
    chat = new_page()
    bot_messages = chat.locator(".rw-response")
    sign_in(chat, chat_site, customer, DEFAULT_DEMO_PASSCODE)

    say(chat, "I want to talk to a person")
    expect(bot_messages.last).to_contain_text("number 1 in the queue", timeout=FIRST_REPLY_MS)

    customer_waiting(agent, name).get_by_test_id("claim-button").click()
    expect(agent.get_by_test_id("summary")).to_contain_text(name, timeout=REPLY_MS)
    expect(agent.get_by_test_id("profile")).to_contain_text(customer)
    transcript = agent.get_by_test_id("conversation-transcript")
    expect(transcript).to_contain_text("I want to talk to a person")
    expect(bot_messages.last).to_contain_text("Lin has joined the chat", timeout=REPLY_MS)

    say(chat, "how do I unlock my account?")
    expect(transcript).to_contain_text("how do I unlock my account?", timeout=REPLY_MS)

    # Agent assist offers answers while the agent types; one click puts one in the box.
    message_box = agent.get_by_test_id("message-input")
    message_box.fill("unlock account")
    suggestion = agent.get_by_test_id("assist-suggestion").first
    expect(suggestion).to_be_visible(timeout=REPLY_MS)
    suggested_text = suggestion.inner_text()
    suggestion.click()
    expect(message_box).not_to_have_value("unlock account")
    message_box.fill("I've checked: your account is fine, just reset your password.")
    agent.get_by_test_id("send-button").click()

    from_agent = chat.locator(".rw-response.agent-message").last
    expect(from_agent).to_contain_text("Agent Lin", timeout=REPLY_MS)
    expect(from_agent).to_contain_text("your account is fine")
    expect(transcript).to_contain_text("your account is fine")

    SCREENSHOTS.mkdir(exist_ok=True)
    agent.screenshot(path=str(SCREENSHOTS / "agent-console.png"), full_page=True)

    agent.get_by_test_id("resolve-button").click()
    expect(chat.locator(".rw-response", has_text="you're back with me")).to_be_visible(
        timeout=REPLY_MS
    )
    very_satisfied = chat.locator(".rw-reply", has_text="5 - Very satisfied")
    expect(very_satisfied).to_be_visible(timeout=REPLY_MS)
    very_satisfied.click()
    expect(bot_messages.last).to_contain_text("Thank you for rating us", timeout=REPLY_MS)
    chat.screenshot(path=str(SCREENSHOTS / "webchat-handoff.png"), full_page=True)
    assert suggested_text


def test_of_two_agents_claiming_the_same_chat_at_once_one_gets_it_and_the_other_is_told(
    chat_site, new_page
):
    customer = chat_site.assistant.customer(22)
    name = chat_site.assistant.backend("GET", "/v1/customers/me", customer_id=customer)["name"]
    lin = console_of(new_page(), chat_site, "agent")
    zhou = console_of(new_page(), chat_site, "cards")
    chat = new_page()
    sign_in(chat, chat_site, customer, DEFAULT_DEMO_PASSCODE)

    # A card matter goes to the bank queue, which both agents serve.
    say(chat, "/bank_card_declined")
    expect(chat.locator(".rw-response").last).to_be_visible(timeout=FIRST_REPLY_MS)
    say(chat, "/request_human")
    expect(chat.locator(".rw-response").last).to_contain_text("in the queue", timeout=REPLY_MS)

    # Both press Claim. Each console's claim request is held at the browser until the other's
    # has been sent too, then both are let go together: the desk gets them at the same moment,
    # not one after the other.
    held: list[Route] = []
    answered: list[int] = []

    def hold(claim: Route) -> None:
        held.append(claim)

    def answer(response: Response) -> None:
        if response.request.method == "POST" and response.url.endswith("/claim"):
            answered.append(response.status)

    for console in (lin, zhou):
        console.route(CLAIM_REQUESTS, hold)
        console.on("response", answer)
        customer_waiting(console, name).get_by_test_id("claim-button").click()
    wait_until(lin, lambda: len(held) == 2, "both consoles' claim requests")
    for claim in held:
        claim.continue_()

    wait_until(lin, lambda: len(answered) == 2, "the desk's answers to both claims")
    assert sorted(answered) == [200, 409]
    joined = chat.locator(".rw-response", has_text="has joined the chat")
    expect(joined).to_have_count(1, timeout=REPLY_MS)
    winner, loser = (lin, zhou) if "Lin" in joined.inner_text() else (zhou, lin)
    expect(winner.get_by_test_id("my-conversation").filter(has_text=name)).to_be_visible(
        timeout=REPLY_MS
    )
    expect(loser.locator("#placeholder")).to_have_text(
        "Someone else claimed that conversation first.", timeout=REPLY_MS
    )
    expect(loser.get_by_test_id("my-conversation").filter(has_text=name)).to_have_count(0)


def test_the_console_shows_when_the_customer_leaves(chat_site, new_page):
    customer = chat_site.assistant.customer(23)
    name = chat_site.assistant.backend("GET", "/v1/customers/me", customer_id=customer)["name"]
    agent = console_of(new_page(), chat_site, "agent")
    chat = new_page()
    sign_in(chat, chat_site, customer, DEFAULT_DEMO_PASSCODE)
    say(chat, "/request_human")
    expect(chat.locator(".rw-response").last).to_contain_text(
        "in the queue", timeout=FIRST_REPLY_MS
    )
    waiting = customer_waiting(agent, name)
    expect(waiting.get_by_test_id("customer-left-badge")).to_have_count(0)

    chat.context.close()

    expect(waiting.get_by_test_id("customer-left-badge")).to_be_visible(timeout=REPLY_MS)
