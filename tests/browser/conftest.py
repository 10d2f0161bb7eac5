"""The customer web chat page and the agents' console in a real browser (Debian's chromium,
driven by Playwright), with the real sandbox, action server, Rasa server and agent desk."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

from common.environment import DEV_SIGNING_SECRET, PROJECT_ROOT, process_environment
from common.ports import free_port
from tests.e2e.servers import (
    BLOCK_SIZE,
    BLOCKS,
    RunningAssistant,
    SharedAssistant,
    assistant_in,
)
from tooling.processes import webchat_server

SCREENSHOTS = PROJECT_ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
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


@dataclass
class SharedChatSite:
    """One web chat page and one stack of servers for every browser module (starting them
    costs about 25 s), each module chatting as its own block of customers
    (tests/e2e/servers.py's SharedAssistant), so each still runs alone and in any order."""

    url: str
    servers: SharedAssistant

    def module(self, request: pytest.FixtureRequest, block: int) -> ChatSite:
        return ChatSite(self.url, self.servers.module(request, block))


@pytest.fixture(scope="session")
def shared_chat_site(trained_model, tmp_path_factory) -> Iterator[SharedChatSite]:
    subprocess.run([str(PROJECT_ROOT / "services" / "webchat" / "setup.sh")], check=True)
    data_dir = tmp_path_factory.mktemp("webchat-e2e")
    # Chosen first: the Rasa server lets the page's origin (and only it) open a socket.
    port = free_port()
    with assistant_in(
        data_dir,
        trained_model,
        SANDBOX_CUSTOMERS=str(BLOCKS * BLOCK_SIZE),
        CHANNEL_ALLOWED_ORIGINS=f"http://127.0.0.1:{port}",
        # Short, so that an agent's absence is seen within a test.
        DESK_AGENT_GRACE_SECONDS="3",
    ) as assistant:
        environment = process_environment(
            BACKEND_URL=assistant.backend_url,
            SANDBOX_SERVICE_SECRET=assistant.backend_secret,
            RASA_URL=assistant.rasa_url,
            CHANNEL_SIGNING_SECRET=DEV_SIGNING_SECRET,
        )
        server = webchat_server(port, environment)
        server.log_dir = data_dir / "logs"
        try:
            server.start().wait_until_ready()
            yield SharedChatSite(f"http://127.0.0.1:{port}", SharedAssistant(assistant, data_dir))
        finally:
            server.stop()


# One per module, not per session: Playwright's sync API keeps an event loop running in the
# main thread while it is open, and every asyncio test after it would fail to start its own.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = installed_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
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


def chat_opened(page: Page) -> int:
    """Waits for what the assistant says as the chat opens (the questions the customer most
    likely came with, or a greeting: both by name); returns how many messages it shows, so a
    test can tell the replies to what it says next from the opening."""
    expect(page.locator(".rw-response").first).to_be_visible(timeout=FIRST_REPLY_MS)
    return page.locator(".rw-response").count()


def say(page: Page, text: str) -> None:
    page.fill(".rw-new-message", text)
    page.click(".rw-send")


def wait_until(
    page: Page, condition: Callable[[], bool], what: str, timeout_ms: int = REPLY_MS
) -> None:
    """Polls the condition while Playwright delivers the page's events (route and response
    handlers run only while a Playwright call is in progress)."""
    deadline = time.monotonic() + timeout_ms / 1000
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        page.wait_for_timeout(20)
