"""The structure the architecture doc promises, checked on the source: no import cycles, the
search package free of Dagster, the SDK free of server code, the product free of the monitoring
tools, and modules of a readable size."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

PACKAGES = ("catalyst_search", "catalyst_orchestration", "monitoring")
MAX_LINES = 250


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """Every module ``path`` imports, top-level or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                names.add(child if child in modules else node.module)
    return names


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, modules) for name, path in modules.items()}


def test_no_import_cycles():
    ours = set(_modules())
    graph = {name: (deps & ours) - {name} for name, deps in _graph().items()}
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                cycles.append([*path[path.index(dep) :], dep])
            elif dep not in state:
                visit(dep, [*path, dep])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_search_package_never_imports_dagster():
    offenders = {
        name: sorted(dep for dep in deps if dep.split(".")[0].startswith("dagster"))
        for name, deps in _graph().items()
        if name.startswith("catalyst_search")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_search_package_never_imports_orchestration():
    offenders = [
        name
        for name, deps in _graph().items()
        if name.startswith("catalyst_search")
        and any(dep.startswith("catalyst_orchestration") for dep in deps)
    ]
    assert offenders == []


def test_the_product_does_not_import_the_monitoring_tools():
    """``monitoring`` (dashboards as code, the local stack) is a developer tool, not installed."""
    offenders = [
        name
        for name, deps in _graph().items()
        if name.startswith("catalyst_") and any(d.split(".")[0] == "monitoring" for d in deps)
    ]
    assert offenders == []


def test_sdk_speaks_http_only():
    """The SDK package imports nothing of the service but its own modules."""
    sdk = [name for name in _graph() if name.split(".")[:2] == ["catalyst_search", "client"]]
    assert "catalyst_search.client.http" in sdk
    for name in sdk:
        outside = [
            d
            for d in _graph()[name]
            if d.startswith(("catalyst_", "fastapi", "qdrant", "dagster"))
            and d.split(".")[:2] != ["catalyst_search", "client"]
        ]
        assert outside == [], name


def test_no_module_past_the_size_limit():
    lengths = {name: len(path.read_text().splitlines()) for name, path in _modules().items()}
    assert {name: n for name, n in lengths.items() if n > MAX_LINES} == {}
