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
