"""`python -m analytics`: consume the configured event broker and serve the KPIs on
ANALYTICS_HOST:ANALYTICS_PORT (loopback by default)."""

from __future__ import annotations

from analytics.api import create_app
from analytics.ingest import catalogue_lines, open_service_store
from analytics.settings import AnalyticsSettings
from common.environment import process_environment
from common.logging_setup import configure_logging
from common.request_log import serve
from common.store_checks import StoreUnavailable, check_analytics_database


def main() -> None:
    configure_logging("analytics")
    settings = AnalyticsSettings.from_environment(process_environment())
    # Started some other way than scripts/run, the service still creates its database or
    # stops, naming it.
    try:
        check_analytics_database(settings.database_url)
    except StoreUnavailable as error:
        raise SystemExit(f"Not started: {error}") from None
    engine = open_service_store(
        settings.database_url,
        catalogue_lines(),
        idle_seconds=settings.session_idle_minutes * 60,
    )
    # One process: the broker is read by one consumer, in the order it was written.
    serve(create_app(settings, engine=engine), settings.host, settings.port)


if __name__ == "__main__":
    main()
