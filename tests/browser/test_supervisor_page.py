"""The supervisors' page in Debian's chromium with real figures: hand-built conversations of
the last days published through Rasa's SQL event broker, the real analytics service
(`python -m analytics`) reading them, and the real desk (`python -m services.desk`) asking it.
The static report (`python -m tooling.kpi_report`) is opened in the same browser.

The page is saved as test-artifacts/supervisor-page.png; with UPDATE_DOCS_SCREENSHOT=1 also as
docs/supervisor-page.png, the README's picture.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Route, expect

from common.environment import PROJECT_ROOT, process_environment
from common.ports import free_port
from services.desk.settings import DEFAULT_DEMO_PASSWORD
from services.desk.supervisor_page import default_filters
from tests.analytics.conversations import Conversation, publish
from tests.browser.conftest import SCREENSHOTS, wait_until
from tooling.processes import Server, desk_server

ANALYTICS_SECRET = "test-only-analytics-service-secret"
DAYS = 8
CARD_MISUSE = [
    "someone used my card without asking",
    "there's a payment on my card I didn't make",
    "a charge on my card that wasn't me",
    "my card was used by someone else",
]
FLIGHTS = ["can you book me a flight to paris", "i need a plane ticket to paris"]
PETS = ["does my policy cover my dog's vet bills", "is vet treatment for my cat covered"]
LOAD_MS = 60_000


def day_at(day: date, hour: int, minute: int = 0) -> str:
    return f"{day.isoformat()} {hour:02d}:{minute:02d}"


def conversations(today: date) -> list[Conversation]:
    """Each of the last DAYS days: resolved requests rated mostly well, a few not understood
    and handed over, an out-of-scope question, a transfer left at the amount, a policy
    handoff; more on some days than others, so the trend moves."""
    made: list[Conversation] = []

    def new(day: date, hour: int, channel: str = "rest") -> Conversation:
        sender = f"customer:C{len(made):05d}"
        made.append(Conversation(sender, day_at(day, hour, len(made) % 60), channel=channel))
        return made[-1]

    for back in range(DAYS):
        day = today - timedelta(days=back + 1)
        for index in range(3 + back % 3):
            c = new(day, 9, "socketio" if index % 2 else "rest")
            c.user("what's my balance", "bank_balance")
            c.resolved("bank:bank_balance", after=12).asked_to_rate().rates(5 - index % 2)
        c = new(day, 10)
        c.user("pay my phone bill", "payments_pay_bill")
        c.resolved("payments:payments_pay_bill", after=30).asked_to_rate().rates(4)
        c = new(day, 10, "socketio")
        c.user("my card limit", "credit_limit").resolved("credit:credit_limit", after=20)
        c.asked_to_rate().rates(3 if back % 2 else 5)
        c = new(day, 11)
        c.user(CARD_MISUSE[back % 4], "nlu_fallback").bot("utter_default")
        c.user(CARD_MISUSE[(back + 1) % 4], "nlu_fallback").bot("utter_default")
        c.hands_off("repeated_fallback", 40, 180).asked_to_rate().rates(2 if back % 3 else 4)
        c = new(day, 12, "socketio")
        c.user(FLIGHTS[back % 2], "out_of_scope").bot("utter_out_of_scope")
        if back % 2:
            c = new(day, 13)
            c.user("send money to Li", "bank_transfer").form("bank_transfer_form", "amount")
            c.bot("utter_ask_bank_transfer_form_amount", "How much?")
        if back % 3 == 0:
            c = new(day, 14)
            c.user("someone stole from my account", "security_report_fraud")
            c.hands_off("policy", 60, 120)
            c = new(day, 15)
            c.user(PETS[back % 2], "nlu_fallback").bot("utter_default")
            c.user("talk to a person", "request_human").hands_off("customer_request", 30, 90)
    return made


@dataclass
class Figures:
    desk_url: str
    kpis: dict[str, Any]
    environment: dict[str, str]


def analytics_get(url: str, path: str) -> Any:
    request = urllib.request.Request(
        f"{url}{path}", headers={"Authorization": f"Bearer {ANALYTICS_SECRET}"}
    )
    with urllib.request.urlopen(request, timeout=60) as reply:
        return json.loads(reply.read())


def all_counted(url: str, sessions: int) -> dict[str, Any]:
    """The KPIs of the period the page shows first, once the service has read every session
    from the broker's table (it reads in the background)."""
    query = urlencode(default_filters(datetime.now(timezone.utc).date()).query())
    deadline = time.monotonic() + 60
    while (kpis := analytics_get(url, f"/kpis?{query}"))["sessions"] < sessions:
        assert time.monotonic() < deadline, f"analytics counted {kpis['sessions']} sessions"
        time.sleep(0.5)
    return kpis


@pytest.fixture(scope="module")
def figures(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Figures]:
    directory = tmp_path_factory.mktemp("supervisor-page")
    made = conversations(datetime.now(timezone.utc).date())
    publish(directory / "events.db", made)
    analytics_port, desk_port = free_port(), free_port()
    environment = process_environment(
        EVENT_BROKER_TYPE="sql",
        EVENT_BROKER_URL=f"sqlite:///{directory / 'events.db'}",
        ANALYTICS_DATABASE_URL=f"sqlite:///{directory / 'analytics.db'}",
        ANALYTICS_PORT=str(analytics_port),
        ANALYTICS_URL=f"http://127.0.0.1:{analytics_port}",
        ANALYTICS_SERVICE_SECRET=ANALYTICS_SECRET,
        DESK_DATABASE_URL=f"sqlite+aiosqlite:///{directory / 'desk.db'}",
        # No Rasa here: the desk has no handoff to reconcile.
        RASA_URL=f"http://127.0.0.1:{free_port()}",
    )
    analytics = Server(
        "analytics",
        [sys.executable, "-m", "analytics"],
        f"http://127.0.0.1:{analytics_port}/health",
        environment,
        directory / "logs",
    )
    desk = desk_server(desk_port, environment)
    desk.log_dir = directory / "logs"
    try:
        analytics.start()
        desk.start()
        analytics.wait_until_ready(120)
        desk.wait_until_ready(120)
        kpis = all_counted(environment["ANALYTICS_URL"], len(made))
        yield Figures(f"http://127.0.0.1:{desk_port}", kpis, environment)
    finally:
        desk.stop()
        analytics.stop()


RECORD_CSP_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  const target = event.target && event.target.outerHTML ? event.target.outerHTML : "";
  window.cspViolations.push({ directive: event.violatedDirective, target: target.slice(0, 200) });
});
"""


def console_error(message: ConsoleMessage, problems: list[str]) -> None:
    # The page's CSP refusals are told apart by refused_by_csp, with what was refused.
    if message.type == "error" and "Content Security Policy" not in message.text:
        problems.append(message.text)


def refused_by_csp(page: Page) -> list[dict[str, str]]:
    """What the page's CSP refused, but for the stylesheet of plotly.js's map traces: the
    bundle adds it as inline CSS when it loads, and the page draws no map."""
    refused = page.evaluate("window.cspViolations")
    return [each for each in refused if ".maplibregl" not in each["target"]]


def local_or_file(route: Route) -> None:
    # The report is a file; the page and its data come from this machine only.
    url = urllib.parse.urlparse(route.request.url)
    if url.scheme in ("file", "blob", "data") or url.hostname == "127.0.0.1":
        route.continue_()
    else:
        route.abort()


@pytest.fixture
def problems() -> list[str]:
    """Errors the page's scripts met, and anything the page's CSP refused."""
    return []


@pytest.fixture
def wide_page(browser: Browser, problems: list[str]) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.route("**/*", local_or_file)
    page = context.new_page()
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    page.on("console", lambda message: console_error(message, problems))
    page.on("pageerror", lambda error: problems.append(str(error)))
    yield page
    context.close()


def percent(value: float) -> str:
    return f"{value * 100:.1f}%"


def expect_real_figures(page: Page, kpis: dict[str, Any]) -> None:
    wait_until(
        page,
        lambda: page.evaluate("document.body.dataset.ready") == "true",
        "figures",
        timeout_ms=LOAD_MS,
    )
    expect(page.locator("#tile-self-service")).to_have_text(percent(kpis["self_service_rate"]))
    expect(page.locator("#tile-fcr")).to_have_text(percent(kpis["first_contact_resolution_rate"]))
    expect(page.locator("#tile-csat")).to_have_text(percent(kpis["satisfaction"]["csat"]))
    expect(page.locator("#tile-escalation")).to_have_text(percent(kpis["escalation"]["rate"]))
    expect(page.locator("#tile-fallback")).to_have_text(percent(kpis["fallback_rate"]))
    expect(page.locator("#tile-sessions")).to_have_text(str(kpis["sessions"]))
    satisfaction = kpis["satisfaction"]
    expect(page.locator("#tile-csat-note")).to_contain_text(
        f"({satisfaction['responses']} of {satisfaction['asked']})"
    )
    # Every chart is drawn by plotly.js (an SVG of its own), none says it has nothing.
    for chart in ("trend", "lines", "channels", "satisfaction", "escalations", "abandonment"):
        box = page.get_by_test_id(f"chart-{chart}")
        expect(box.locator("svg.main-svg").first).to_be_visible(timeout=LOAD_MS)
        expect(box.locator(".empty")).to_have_count(0)
    expect(page.get_by_test_id("chart-escalations")).to_contain_text("not understood three times")
    expect(page.get_by_test_id("chart-lines")).to_contain_text("bank")
    expect(page.get_by_test_id("chart-channels")).to_contain_text("socketio")
    clusters = page.get_by_test_id("failure-cluster")
    expect(clusters.first).to_contain_text("card", timeout=LOAD_MS)
    expect(clusters.first).to_contain_text("not understood")
    expect(page.get_by_test_id("failure-clusters")).to_contain_text("paris")


def test_the_supervisor_sees_the_services_real_figures_and_charts(
    wide_page: Page, figures: Figures, problems: list[str]
):
    page = wide_page
    page.goto(f"{figures.desk_url}/console/supervisor")
    page.get_by_test_id("login-username").fill("lead")
    page.get_by_test_id("login-password").fill(DEFAULT_DEMO_PASSWORD)
    page.get_by_test_id("login-submit").click()
    page.wait_for_url("**/console/supervisor**")

    expect_real_figures(page, figures.kpis)
    # The draft NLU file downloads with the clusters as intents.
    with page.expect_download() as download:
        page.get_by_test_id("download-nlu").click()
    draft = Path(download.value.path()).read_text()
    assert "- intent: draft_" in draft and CARD_MISUSE[0] in draft
    assert problems == []
    assert refused_by_csp(page) == []

    SCREENSHOTS.mkdir(exist_ok=True)
    shot = SCREENSHOTS / "supervisor-page.png"
    page.screenshot(path=str(shot), full_page=True)
    if os.environ.get("UPDATE_DOCS_SCREENSHOT") == "1":
        shutil.copyfile(shot, PROJECT_ROOT / "docs" / "supervisor-page.png")

    # One line, one channel: the service's figures for them.
    page.locator("select[name=line]").select_option("bank")
    page.locator("select[name=channel]").select_option("socketio")
    page.get_by_test_id("apply-filters").click()
    # A loaded machine may take seconds to answer: waited for as long as the first load.
    expect(page.get_by_test_id("period")).to_contain_text(
        "line bank · channel socketio", timeout=LOAD_MS
    )
    query = urllib.parse.urlparse(page.url).query
    bank = analytics_get(figures.environment["ANALYTICS_URL"], f"/kpis?{query}")
    assert bank["sessions"] < figures.kpis["sessions"]
    expect(page.locator("#tile-sessions")).to_have_text(str(bank["sessions"]), timeout=LOAD_MS)


def test_an_agent_is_shown_the_door(wide_page: Page, figures: Figures):
    page = wide_page
    page.goto(f"{figures.desk_url}/console")
    page.get_by_test_id("login-username").fill("agent")
    page.get_by_test_id("login-password").fill(DEFAULT_DEMO_PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("queue")).to_be_visible(timeout=LOAD_MS)
    expect(page.get_by_test_id("figures-link")).to_have_count(0)
    reply = page.goto(f"{figures.desk_url}/console/supervisor")
    assert reply is not None and reply.status == 403
    expect(page.get_by_test_id("refusal")).to_contain_text("supervisors only")


def test_the_static_report_is_the_same_page_in_one_file(
    wide_page: Page, figures: Figures, problems: list[str], tmp_path: Path
):
    out = tmp_path / "report.html"
    subprocess.run(
        [sys.executable, "-m", "tooling.kpi_report", "--out", str(out)],
        cwd=PROJECT_ROOT,
        env=figures.environment,
        check=True,
        timeout=120,
    )

    wide_page.goto(out.as_uri())
    expect_real_figures(wide_page, figures.kpis)
    # Nothing to ask a server for: the filters only say what the report shows.
    expect(wide_page.locator("select[name=line]")).to_be_disabled()
    assert problems == []
    assert refused_by_csp(wide_page) == []
