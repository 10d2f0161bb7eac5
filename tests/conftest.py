"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from rasa.shared.core.domain import Domain

from common.environment import PROJECT_ROOT
from registry.rasa_domain import ProductLineImporter
from tooling.model_cache import ensure_model

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

# Under CI=true every test must run: a skip means a server, browser or data set CI should have
# is missing, and a green run would hide that the test proved nothing.
_skipped_under_ci: list[pytest.TestReport] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        _skipped_under_ci.append(report)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if os.environ.get("CI") != "true" or not _skipped_under_ci:
        return
    terminalreporter.section("skipped under CI=true (each fails the run)", sep="=", red=True)
    for report in _skipped_under_ci:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        terminalreporter.write_line(f"{report.nodeid}: {reason}")


def pytest_sessionfinish(session: pytest.Session) -> None:
    if os.environ.get("CI") == "true" and _skipped_under_ci:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def project_domain() -> Domain:
    importer = ProductLineImporter(
        config_file=str(PROJECT_ROOT / "config.yml"),
        domain_path=str(PROJECT_ROOT / "domain.yml"),
        training_data_paths=[str(PROJECT_ROOT / "data")],
    )
    return importer.get_domain()


@pytest.fixture(scope="session")
def domain_dict(project_domain: Domain) -> dict[str, Any]:
    """The domain as Rasa sends it to the action server."""
    return project_domain.as_dict()


@pytest.fixture(scope="session")
def trained_model() -> Path:
    """The assistant's model, trained at most once per run and reused when unchanged."""
    return ensure_model()
