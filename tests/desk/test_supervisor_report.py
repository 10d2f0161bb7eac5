"""`python -m tooling.kpi_report --from-database`: the supervisors' page as one static file,
its figures computed from the analytics database when no analytics service runs. (The file in
a browser, with the figures from the service, is tests/browser/test_supervisor_page.py.)"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from analytics.ingest import Ingestor, SqlBrokerReader, catalogue_lines
from analytics.store import open_store
from common.environment import PROJECT_ROOT, process_environment
from services.desk.supervisor_page import plotly_bundle
from tests.analytics.conversations import Conversation, at, publish

# Rasa's session expiry: by the clock's day every session here is over.
SESSION_IDLE_SECONDS = 30 * 60


def analytics_database(directory: Path) -> str:
    """Two days of conversations, read into an analytics database as the service would."""
    resolved = Conversation("customer:C00001", "2026-11-02 09:00")
    resolved.user("what's my balance", "bank_balance")
    resolved.resolved("bank:bank_balance", after=12).asked_to_rate().rates(5)
    lost = Conversation("customer:C00002", "2026-11-03 10:00", channel="socketio")
    lost.user("someone used my card without asking", "nlu_fallback").bot("utter_default")
    lost.user("a charge on my card that wasn't me", "nlu_fallback").bot("utter_default")
    lost.hands_off("repeated_fallback", 30, 60).asked_to_rate().rates(2)
    publish(directory / "events.db", [resolved, lost])
    url = f"sqlite:///{directory / 'analytics.db'}"
    engine = open_store(url)
    ingestor = Ingestor(
        engine,
        catalogue_lines(),
        idle_seconds=SESSION_IDLE_SECONDS,
        clock=lambda: at("2026-12-01 00:00"),
    )
    reader = SqlBrokerReader(f"sqlite:///{directory / 'events.db'}", ingestor)
    while reader.read_once():
        pass
    reader.close()
    engine.dispose()
    return url


def embedded_figures(page: str) -> dict:
    found = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page)
    assert found is not None
    return json.loads(found.group(1))


def test_the_report_holds_the_page_its_script_plotly_and_the_databases_figures(tmp_path):
    out = tmp_path / "reports" / "november.html"
    environment = process_environment(ANALYTICS_DATABASE_URL=analytics_database(tmp_path))
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "tooling.kpi_report",
            "--out",
            str(out),
            "--start",
            "2026-11-01",
            "--end",
            "2026-11-30",
            "--from-database",
        ],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert finished.returncode == 0, finished.stderr

    page = out.read_text()
    figures = embedded_figures(page)
    assert figures["kpis"]["sessions"] == 2
    assert figures["kpis"]["period"] == {"start": "2026-11-01", "end": "2026-11-30"}
    assert figures["kpis"]["satisfaction"]["distribution"]["5"] == 1
    [cluster] = figures["failures"]["clusters"]
    assert cluster["count"] == 2 and cluster["outcomes"] == {"fallback": 2}
    assert "- intent: draft_" in figures["nlu_draft"]
    # One file: the page's script and plotly.js inside, nothing fetched.
    assert "<script src=" not in page and '<link rel="stylesheet"' not in page
    assert (PROJECT_ROOT / "services/desk/static/supervisor.js").read_text()[:200] in page
    assert f"plotly.js v{plotly_bundle()[0]}" in page[:10_000_000]
    assert 'value="2026-11-01" disabled' in page


def test_without_a_running_service_the_report_says_what_to_do(tmp_path):
    environment = process_environment(ANALYTICS_URL="http://127.0.0.1:9")
    finished = subprocess.run(
        [sys.executable, "-m", "tooling.kpi_report", "--out", str(tmp_path / "r.html")],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode == 1
    assert "--from-database" in finished.stderr
    assert not (tmp_path / "r.html").exists()
