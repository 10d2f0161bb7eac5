"""The analytics service's HTTP API as the desk uses it: refused without the service secret,
the contract's KPI shape with it, 503 from the failure endpoints when the clustering is not
installed; and `python -m analytics` as scripts/run starts it, reading the broker as Rasa
writes to it."""

from __future__ import annotations

import asyncio
import sys
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from analytics.api import create_app
from analytics.ingest import Ingestor, SqlBrokerReader, catalogue_lines
from analytics.settings import AnalyticsSettings
from analytics.store import open_store
from clients.analytics import AnalyticsClient, AnalyticsError, KpiFilters
from common.environment import process_environment
from common.ports import free_port
from tests.analytics.conversations import KPI_KEYS, Conversation, at, publish
from tooling.processes import analytics_server

SECRET = "test-analytics-secret-0123456789"


def resolved(sender_id: str, starts: str) -> Conversation:
    talk = Conversation(sender_id, starts)
    talk.user("what's my balance", "bank_balance").resolved("bank:bank_balance")
    return talk


def not_understood(sender_id: str, starts: str) -> Conversation:
    talk = Conversation(sender_id, starts, channel="socketio")
    talk.user("my card ate my money", "nlu_fallback").bot("utter_default")
    talk.user("thanks", "thank").bot("utter_you_are_welcome")
    return talk


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AnalyticsSettings, Engine]]:
    directory = tmp_path_factory.mktemp("api")
    publish(
        directory / "events.db",
        [
            resolved("customer:C00030", "2026-11-09 09:00"),
            not_understood("anon-33", "2026-11-09 10:00"),
        ],
    )
    settings = AnalyticsSettings(
        service_secret=SECRET, broker_type="sql", broker_url=f"sqlite:///{directory / 'events.db'}"
    )
    engine = open_store(f"sqlite:///{directory / 'analytics.db'}")
    later = at("2026-12-01 00:00")
    ingestor = Ingestor(engine, catalogue_lines(), idle_seconds=1800, clock=lambda: later)
    SqlBrokerReader(settings.broker_url, ingestor).read_once()
    yield settings, engine
    engine.dispose()


@pytest.fixture
def api(filled: tuple[AnalyticsSettings, Engine]) -> TestClient:
    settings, engine = filled
    return TestClient(create_app(settings, engine=engine, consume=False))


def test_every_call_but_health_needs_the_secret(api: TestClient) -> None:
    assert api.get("/health").json() == {"status": "ok"}
    for path in ("/kpis", "/failures", "/failures/nlu.yml"):
        assert api.get(path).status_code == 401
        wrong = api.get(path, headers={"Authorization": "Bearer dev-only-guess"})
        assert wrong.status_code == 401
        assert wrong.json()["error"]["code"] == "unauthenticated"


def test_the_kpis_answer_the_contracts_shape(api: TestClient) -> None:
    answer = api.get(
        "/kpis",
        params={"start": "2026-11-09", "end": "2026-11-09", "line": "bank"},
        headers={"Authorization": f"Bearer {SECRET}"},
    )
    assert answer.status_code == 200
    figures = answer.json()
    assert set(figures) == KPI_KEYS
    assert figures["sessions"] == 1 and figures["self_service_rate"] == 1.0
    assert figures["period"] == {"start": "2026-11-09", "end": "2026-11-09"}
    assert figures["filters"] == {"line": "bank", "channel": None, "intent": None}
    authorised = {"Authorization": f"Bearer {SECRET}"}
    bad = api.get("/kpis?start=yesterday", headers=authorised)
    assert bad.status_code == 422
    # Bad filters get a 4xx or no sessions, never a 5xx or a look at other rows.
    assert api.get("/kpis", params={"intent": "x" * 20_000}, headers=authorised).status_code == 422
    injected = api.get("/kpis", params={"line": "bank' OR 1=1 --"}, headers=authorised)
    assert injected.status_code == 200 and injected.json()["sessions"] == 0
    assert api.get("/kpis?fcr_window_days=-1", headers=authorised).status_code == 422


def test_without_the_clustering_the_failure_endpoints_say_so(
    api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As in a deployment without the clustering's module (None in sys.modules: ImportError).
    monkeypatch.setitem(sys.modules, "analytics.failures", None)
    headers = {"Authorization": f"Bearer {SECRET}"}
    for path in ("/failures", "/failures/nlu.yml"):
        answer = api.get(path, headers=headers)
        assert answer.status_code == 503
        assert answer.json()["error"]["code"] == "unavailable"


def test_the_failure_endpoints_cluster_what_was_not_served(
    api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    given: list[list[dict[str, Any]]] = []

    def failure_clusters(messages: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
        given.append(messages)
        return [{"label": messages[0]["text"], "count": len(messages)}][:limit]

    clustering = types.ModuleType("analytics.failures")
    clustering.failure_clusters = failure_clusters  # type: ignore[attr-defined]
    clustering.draft_nlu = lambda clusters: f'version: "3.1"\n# {clusters[0]["label"]}\n'  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "analytics.failures", clustering)
    headers = {"Authorization": f"Bearer {SECRET}"}

    answer = api.get("/failures", params={"channel": "socketio"}, headers=headers)
    assert answer.json() == {"clusters": [{"label": "my card ate my money", "count": 1}]}
    # Only the customers' own words that were not served, with what came of them.
    (messages,) = given
    assert [(m["text"], m["outcome"], m["channel"]) for m in messages] == [
        ("my card ate my money", "fallback", "socketio")
    ]
    draft = api.get("/failures/nlu.yml", headers=headers)
    assert draft.status_code == 200 and "# my card ate my money" in draft.text
    assert draft.headers["content-type"].startswith("application/yaml")


async def test_the_desks_client_reads_the_kpis_and_the_refusals(
    filled: tuple[AnalyticsSettings, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, engine = filled
    transport = httpx.ASGITransport(app=create_app(settings, engine=engine, consume=False))
    client = AnalyticsClient("http://analytics", SECRET, transport=transport)
    figures = await client.kpis(KpiFilters(line="bank", fcr_window_days=3))
    assert figures["sessions"] == 1 and set(figures) == KPI_KEYS
    monkeypatch.setitem(sys.modules, "analytics.failures", None)
    with pytest.raises(AnalyticsError) as refused:
        await client.failures(KpiFilters())
    assert refused.value.status == 503
    outsider = AnalyticsClient("http://analytics", "not-the-secret", transport=transport)
    with pytest.raises(AnalyticsError) as unauthenticated:
        await outsider.kpis(KpiFilters())
    assert unauthenticated.value.status == 401
    await client.aclose()
    await outsider.aclose()


async def sessions_seen(client: AnalyticsClient, expected: int, seconds: float = 20) -> int:
    deadline = time.monotonic() + seconds
    while True:
        seen = (await client.kpis(KpiFilters()))["sessions"]
        if seen >= expected or time.monotonic() > deadline:
            return int(seen)
        await asyncio.sleep(0.2)


async def test_the_service_reads_the_broker_continuously(tmp_path: Path) -> None:
    port = free_port()
    environment: dict[str, Any] = process_environment(
        "embedded",
        EVENT_BROKER_TYPE="sql",
        EVENT_BROKER_URL=f"sqlite:///{tmp_path / 'events.db'}",
        ANALYTICS_DATABASE_URL=f"sqlite:///{tmp_path / 'analytics.db'}",
        ANALYTICS_SERVICE_SECRET=SECRET,
        ANALYTICS_POLL_SECONDS="0.2",
    )
    publish(tmp_path / "events.db", [resolved("customer:C00031", "2026-11-10 09:00")])
    server = analytics_server(port, environment)
    server.log_dir = tmp_path / "logs"
    client = AnalyticsClient(f"http://127.0.0.1:{port}", SECRET)
    try:
        server.start().wait_until_ready(60)
        assert await sessions_seen(client, 1) == 1
        # Rasa keeps writing; the running service keeps reading.
        publish(tmp_path / "events.db", [resolved("customer:C00032", "2026-11-10 10:00")])
        assert await sessions_seen(client, 2) == 2
    finally:
        await client.aclose()
        server.stop()
