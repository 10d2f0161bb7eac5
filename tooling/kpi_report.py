"""`python -m tooling.kpi_report --out report.html [--start --end --line --channel]`: the
supervisors' page of the desk as one static HTML file, to mail or archive.

The layout, styles and script are the desk's own (services/desk/supervisor_page.py and its
static/ files), with plotly.js from the plotly package and the figures embedded, so the file
opens anywhere without a server or a network. The figures come from the analytics service
(ANALYTICS_URL and ANALYTICS_SERVICE_SECRET, as the desk reads them) or, with --from-database,
straight from the analytics database (ANALYTICS_DATABASE_URL) through the service's own
functions, for when the service is not running.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timezone
from pathlib import Path

from clients.analytics import AnalyticsClient, AnalyticsError, KpiFilters
from common.environment import process_environment
from common.settings import Environment
from services.desk.settings import DEFAULT_ANALYTICS_PORT
from services.desk.supervisor_page import (
    CHANNELS,
    PRODUCT_LINES,
    Report,
    default_filters,
    static_page,
)

# Clustering in the service may first load its sentence encoder.
SERVICE_TIMEOUT_SECONDS = 120.0


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tooling.kpi_report", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--out", type=Path, required=True, help="the HTML file to write")
    parser.add_argument("--start", type=date.fromisoformat, help="first day, YYYY-MM-DD (UTC)")
    parser.add_argument("--end", type=date.fromisoformat, help="last day, YYYY-MM-DD (UTC)")
    parser.add_argument("--line", choices=PRODUCT_LINES, help="one product line")
    parser.add_argument("--channel", choices=CHANNELS, help="one channel")
    parser.add_argument(
        "--from-database",
        action="store_true",
        help="compute the figures from ANALYTICS_DATABASE_URL instead of asking the service",
    )
    return parser.parse_args(argv)


def chosen_filters(options: argparse.Namespace, today: date) -> KpiFilters:
    """The period asked for; the page's default (the last 30 days) when none is."""
    defaults = default_filters(today, options.line, options.channel)
    if options.start is None and options.end is None:
        return defaults
    return KpiFilters(
        start=options.start, end=options.end, line=options.line, channel=options.channel
    )


async def from_service(env: Environment, filters: KpiFilters) -> Report:
    url = env.text(
        "ANALYTICS_URL",
        f"http://127.0.0.1:{env.integer('ANALYTICS_PORT', DEFAULT_ANALYTICS_PORT)}",
    )
    client = AnalyticsClient(
        url, env.secret("ANALYTICS_SERVICE_SECRET"), timeout_seconds=SERVICE_TIMEOUT_SECONDS
    )
    try:
        kpis = await client.kpis(filters)
        try:
            failures, draft = await client.failures(filters), await client.nlu_draft(filters)
        except AnalyticsError as error:
            if error.status != 503:
                raise
            # A service without the sentence encoder still has every other figure.
            failures, draft = {"clusters": []}, ""
        return Report(kpis, failures, draft)
    finally:
        await client.aclose()


def from_database(env: Environment, filters: KpiFilters) -> Report:
    # The analytics package (and through it TensorFlow, for the clusters) only when asked.
    from analytics.failures import draft_nlu, failure_clusters
    from analytics.ingest import catalogue_lines, open_service_store
    from analytics.kpis import compute_kpis, failed_messages
    from analytics.settings import DEFAULT_DATABASE_URL

    # A database an earlier version made is made current first, as the service does at start.
    engine = open_service_store(
        env.text("ANALYTICS_DATABASE_URL", DEFAULT_DATABASE_URL),
        catalogue_lines(),
        idle_seconds=env.number("ANALYTICS_SESSION_IDLE_MINUTES", 30) * 60,
    )
    try:
        with engine.connect() as connection:
            kpis = compute_kpis(connection, filters)
            clusters = failure_clusters(failed_messages(connection, filters))
    finally:
        engine.dispose()
    return Report(kpis, {"clusters": clusters}, draft_nlu(clusters))


def write_report(out: Path, filters: KpiFilters, from_db: bool, environ: Mapping[str, str]) -> Path:
    env = Environment(environ)
    report = from_database(env, filters) if from_db else asyncio.run(from_service(env, filters))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(static_page(filters, report), encoding="utf-8")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    options = arguments(argv)
    filters = chosen_filters(options, datetime.now(timezone.utc).date())
    try:
        written = write_report(options.out, filters, options.from_database, process_environment())
    except AnalyticsError as error:
        print(
            f"The analytics service did not give the figures ({error}). Start it "
            "(scripts/run does) or make the report with --from-database.",
            file=sys.stderr,
        )
        return 1
    print(f"Wrote {written}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
