"""Imports run one way between the project's packages (docs/ARCHITECTURE.md): common and
clients import none of the others, registry only common, nlu only common, policies none; actions and
channels use registry, clients and common and not each other; analytics uses registry,
clients, common and nlu, and only tooling, bench and tests use it; a service uses clients,
common and the modules services share, never another service; tooling, bench and tests use
anything.
The walk is tooling/import_graph.py's, which prints the whole graph."""

from __future__ import annotations

from pathlib import Path

from tooling.import_graph import allowed, describe_violations, imports, part_of, violations


def test_every_import_runs_the_allowed_way() -> None:
    found = violations()
    assert not found, describe_violations(found)


def test_the_walk_sees_the_project_and_its_parts() -> None:
    edges = {(each.importer, each.imported) for each in imports()}
    # Direct, relative and in-function imports of the project are all seen.
    assert ("tests", "tooling") in edges and ("actions", "common") in edges


def test_the_rules_forbid_what_the_architecture_forbids() -> None:
    forbidden = [
        ("actions", "channels"),
        ("channels", "actions"),
        ("nlu", "actions"),
        ("nlu", "registry"),
        ("policies", "nlu"),
        ("policies", "registry"),
        ("registry", "actions"),
        ("common", "clients"),
        ("clients", "common"),
        ("services.desk", "services.sandbox"),
        ("services.webchat", "channels"),
        ("services.desk", "tooling"),
        ("services.desk", "analytics"),
        ("actions", "analytics"),
        ("channels", "analytics"),
        ("analytics", "actions"),
        ("analytics", "channels"),
        ("analytics", "services.desk"),
        ("analytics", "tooling"),
        ("proactive", "services.sandbox"),
        ("proactive", "actions"),
        ("proactive", "channels"),
    ]
    assert [edge for edge in forbidden if allowed(*edge)] == []
    assert allowed("services.desk", "services") and allowed("tooling", "services.desk")
    assert allowed("analytics", "nlu") and allowed("analytics", "clients")
    assert allowed("tooling", "analytics") and allowed("tests", "analytics")
    assert allowed("actions", "proactive") and allowed("proactive", "registry")


def test_a_violation_names_the_file_the_line_and_what_is_allowed(tmp_path: Path) -> None:
    for package in ("nlu", "actions", "services/desk", "services/sandbox"):
        (tmp_path / package).mkdir(parents=True)
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "nlu" / "importer.py").write_text("import os\nfrom actions import catalogue\n")
    (tmp_path / "services" / "desk" / "db.py").write_text(
        "def f():\n    from ..sandbox.db import Database\n"
    )
    assert part_of("services.desk.db", tmp_path) == "services.desk"
    message = describe_violations(violations(tmp_path))
    assert "nlu -> actions   (nlu may import: common)" in message
    assert "nlu/importer.py:2 imports actions.catalogue" in message
    assert "services.desk -> services.sandbox" in message
    assert "services/desk/db.py:2 imports services.sandbox.db.Database" in message
