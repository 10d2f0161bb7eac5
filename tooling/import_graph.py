"""Which of the project's packages import which, and whether that is the way imports may run.

    .venv/bin/python -m tooling.import_graph            # the graph, forbidden edges marked
    .venv/bin/python -m tooling.import_graph --check    # only the forbidden imports; exit 1 if any

The rules are the ones docs/ARCHITECTURE.md explains; tests/unit/test_import_direction.py
holds the tree to them in CI. The walk reads the source with `ast` and imports nothing, so it
is quick and sees imports inside functions and under TYPE_CHECKING too.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

PACKAGES = (
    "common",
    "clients",
    "registry",
    "nlu",
    "policies",
    "actions",
    "channels",
    "services",
    "analytics",
    "proactive",
    "tooling",
    "bench",
    "tests",
)
# The modules directly in services/ that the services share; each subpackage is a service.
SHARED_SERVICES = "services"
# What each part may import besides itself; a part missing here may import anything.
ALLOWED: dict[str, frozenset[str]] = {
    "common": frozenset(),
    "clients": frozenset(),
    "registry": frozenset({"common"}),
    "nlu": frozenset({"common"}),
    "policies": frozenset(),
    # The offers made when a chat opens come from the proactive model.
    "actions": frozenset({"registry", "clients", "common", "proactive"}),
    "channels": frozenset({"registry", "clients", "common"}),
    # The failure clusters use the NLU's sentence encoder.
    "analytics": frozenset({"registry", "clients", "common", "nlu"}),
    # It runs wherever the offers are made and learns from exported histories, not the sandbox;
    # the notifier reads which events have a notice from the registry's scenarios.
    "proactive": frozenset({"registry", "clients", "common"}),
    SHARED_SERVICES: frozenset({"clients", "common"}),
}
SERVICE_MAY_IMPORT = frozenset({"clients", "common", SHARED_SERVICES})
SKIPPED_DIRECTORIES = frozenset({"__pycache__", "node_modules", ".venv"})


@dataclass(frozen=True)
class Import:
    source: Path
    line: int
    importer: str
    imported_module: str
    imported: str

    def __str__(self) -> str:
        return (
            f"{self.source.as_posix()}:{self.line}: {self.importer} -> {self.imported} "
            f"(imports {self.imported_module})"
        )


def part_of(module: str, root: Path = PROJECT_ROOT) -> str | None:
    """The part of the project a dotted module belongs to: a top-level package, or
    services.<name> for a service; None for anything outside the project."""
    names = module.split(".")
    if names[0] not in PACKAGES:
        return None
    if names[0] == "services" and len(names) > 1 and (root / "services" / names[1]).is_dir():
        return f"services.{names[1]}"
    return names[0]


def allowed(importer: str, imported: str) -> bool:
    if importer == imported:
        return True
    if importer.startswith("services."):
        return imported in SERVICE_MAY_IMPORT
    rule = ALLOWED.get(importer)
    return rule is None or imported in rule


def may_import(importer: str) -> str:
    if importer.startswith("services."):
        return ", ".join(sorted(SERVICE_MAY_IMPORT))
    rule = ALLOWED.get(importer)
    if rule is None:
        return "anything"
    return ", ".join(sorted(rule)) or "none of the project's packages"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files(root: Path = PROJECT_ROOT) -> Iterator[Path]:
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            if not SKIPPED_DIRECTORIES & set(path.relative_to(root).parts):
                yield path


def imported_modules(path: Path, root: Path) -> Iterator[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module_name(path, root).split(".")
    if path.name != "__init__.py":
        package.pop()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            # `from package import module` may name a module rather than a name in it.
            for alias in node.names:
                yield node.lineno, f"{module}.{alias.name}" if part_of(module, root) else module


def imports(root: Path = PROJECT_ROOT) -> Iterator[Import]:
    """Every import from one part of the project into another."""
    for path in source_files(root):
        importer = part_of(module_name(path, root), root)
        assert importer is not None
        for line, module in imported_modules(path, root):
            imported = part_of(module, root)
            if imported is not None and imported != importer:
                yield Import(path.relative_to(root), line, importer, module, imported)


def violations(root: Path = PROJECT_ROOT) -> list[Import]:
    return [each for each in imports(root) if not allowed(each.importer, each.imported)]


def describe_violations(found: list[Import]) -> str:
    by_edge: dict[tuple[str, str], list[Import]] = defaultdict(list)
    for each in found:
        by_edge[each.importer, each.imported].append(each)
    lines = [f"{len(found)} import(s) run against the allowed direction (docs/ARCHITECTURE.md):"]
    for (importer, imported), edge in sorted(by_edge.items()):
        lines.append(
            f"\n{importer} -> {imported}   ({importer} may import: {may_import(importer)})"
        )
        lines.extend(
            f"    {each.source.as_posix()}:{each.line} imports {each.imported_module}"
            for each in edge
        )
    return "\n".join(lines)


def graph(root: Path = PROJECT_ROOT) -> dict[str, Counter[str]]:
    edges: dict[str, Counter[str]] = defaultdict(Counter)
    for each in imports(root):
        edges[each.importer][each.imported] += 1
    return edges


def describe_graph(edges: dict[str, Counter[str]]) -> str:
    lines = [
        "Imports between the project's packages (count of import statements; "
        "!! = against the allowed direction):"
    ]
    for importer in sorted(edges):
        lines.append(f"{importer}  (may import: {may_import(importer)})")
        for imported, count in sorted(edges[importer].items()):
            mark = "  " if allowed(importer, imported) else "!!"
            lines.append(f"  {mark} -> {imported} ({count})")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="print only the imports against the rules; exit 1 if there are any",
    )
    arguments = parser.parse_args()
    if not arguments.check:
        print(describe_graph(graph()))
        return
    found = violations()
    print(describe_violations(found) if found else "Every import runs the allowed way.")
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
