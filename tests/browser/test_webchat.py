"""A customer signs in on the web chat page and chats in a real browser (Debian's chromium,
driven by Playwright) with the real sandbox, action server and Rasa server behind it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

from channels.customer_binding import DEV_SIGNING_SECRET
from services.webchat.process import webchat_server
from services.webchat.settings import DEFAULT_DEMO_PASSCODE
from tests.e2e.servers import RunningAssistant, running_assistant
from tooling.environment import PROJECT_ROOT, process_environment
from tooling.ports import free_port

pytestmark = pytest.mark.e2e

SCREENSHOT = PROJECT_ROOT / "test-artifacts" / "webchat.png"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync",
]
# The first reply of a fresh Rasa server loads the model's pipeline; later ones are quick.
FIRST_REPLY_MS = 90_000
REPLY_MS = 30_000


@dataclass
class ChatSite:
    url: str
    assistant: RunningAssistant


def installed_chromium() -> str:
    """Debian's chromium, installed by scripts/setup-browser when missing."""
    if shutil.which("chromium") is None:
        subprocess.run([str(PROJECT_ROOT / "scripts" / "setup-browser")], check=False)
    path = shutil.which("chromium")
    if path is None:
        reason = "Debian's chromium is missing and scripts/setup-browser could not install it"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


@pytest.fixture(scope="module")
def chat_site(trained_model: Path, tmp_path_factory) -> Iterator[ChatSite]:
    subprocess.run([str(PROJECT_ROOT / "services" / "webchat" / "setup.sh")], check=True)
    data_dir = tmp_path_factory.mktemp("webchat-e2e")
    log_dir = data_dir / "logs"
    with running_assistant(
        trained_model,
        log_dir,
        TRACKER_STORE_URL=f"sqlite:///{data_dir / 'tracker.db'}",
        EVENT_BROKER_URL=f"sqlite:///{data_dir / 'events.db'}",
        CHANNEL_SIGNING_SECRET=DEV_SIGNING_SECRET,
    ) as assistant:
        environment = process_environment(
            BACKEND_URL=assistant.backend_url,
            SANDBOX_SERVICE_SECRET=assistant.backend_secret,
            RASA_URL=assistant.rasa_url,
            CHANNEL_SIGNING_SECRET=DEV_SIGNING_SECRET,
        )
        port = free_port()
        server = webchat_server(port, environment)
        server.log_dir = log_dir
        try:
            server.start().wait_until_ready()
            yield ChatSite(f"http://127.0.0.1:{port}", assistant)
        finally:
            server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = installed_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True,
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def only_loopback(route: Route) -> None:
    # The widget asks for a web font; tests never call out of the machine.
    if urllib.parse.urlparse(route.request.url).hostname == "127.0.0.1":
        route.continue_()
    else:
        route.abort()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 900, "height": 900})
    context.route("**/*", only_loopback)
    yield context.new_page()
    context.close()


def sign_in(page: Page, site: ChatSite, customer_id: str, passcode: str) -> None:
    page.goto(site.url)
    page.fill("input[name=customer]", customer_id)
    page.fill("input[name=passcode]", passcode)
    page.click("button[type=submit]")


def say(page: Page, text: str) -> None:
    page.fill(".rw-new-message", text)
    page.click(".rw-send")


def test_a_customer_signs_in_chats_presses_a_button_and_sees_their_own_data(chat_site, page):
    name = chat_site.assistant.backend("GET", "/v1/customers/me", customer_id="C00001")["name"]
    bot_messages = page.locator(".rw-response")

    sign_in(page, chat_site, "C00001", DEFAULT_DEMO_PASSCODE)
    expect(page.locator("#customer-name")).to_have_text(name)

    say(page, "hi")
    expect(bot_messages.last).to_contain_text(f"Hi {name}", timeout=FIRST_REPLY_MS)

    say(page, "this service is terrible")
    person_please = page.locator(".rw-reply", has_text="Yes, a person please")
    expect(person_please).to_be_visible(timeout=REPLY_MS)
    person_please.click()
    last_turn = page.locator(".rw-group-message").last
    expect(last_turn).to_have_class(re.compile("rw-from-client"))
    expect(last_turn).to_contain_text("Yes, a person please")
    # The assistant's answer to the button is the next turn.
    expect(last_turn).to_have_class(re.compile("rw-from-response"), timeout=REPLY_MS)

    say(page, "what products do I have")
    expect(bot_messages.last).to_contain_text(name, timeout=REPLY_MS)

    # A human agent's message, pushed as the handoff will push it, is shown as the agent's.
    chat_site.assistant.api(
        "/conversations/customer:C00001/tracker/events"
        "?execute_side_effects=true&output_channel=socketio",
        {"event": "bot", "text": None, "data": {"custom": {
            "from": "agent", "agent_name": "Dana", "text": "Hello, I can take it from here."}}},
    )
    agent_message = page.locator(".rw-response.agent-message")
    expect(agent_message).to_contain_text("Agent Dana", timeout=REPLY_MS)
    expect(agent_message).to_contain_text("Hello, I can take it from here.")

    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)


def test_a_customer_freezes_their_card_reading_the_security_code_off_the_phone_panel(
        chat_site, page):
    card = chat_site.assistant.backend("GET", "/v1/customers/me/cards",
                                       customer_id="C00003")["cards"][0]
    bot_messages = page.locator(".rw-response")
    sign_in(page, chat_site, "C00003", DEFAULT_DEMO_PASSCODE)

    say(page, "please freeze my debit card")
    go_ahead = page.locator(".rw-reply", has_text="Yes, go ahead")
    expect(go_ahead).to_be_visible(timeout=FIRST_REPLY_MS)
    go_ahead.click()
    expect(bot_messages.last).to_contain_text("6-digit code", timeout=REPLY_MS)
    expect(page.locator("#phone-latest")).to_contain_text("Your code", timeout=REPLY_MS)
    code = re.search(r"\b(\d{6})\b", page.locator("#phone-latest").inner_text()).group(1)
    say(page, code)

    expect(bot_messages.last).to_contain_text("is frozen", timeout=REPLY_MS)
    assert chat_site.assistant.backend("GET", f"/v1/customers/me/cards/{card['card_id']}",
                                       customer_id="C00003")["status"] == "frozen"


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
