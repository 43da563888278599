"""The simulator package's shape: small modules and classes, no import cycles."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.sandbox.pagerduty.helpers import REPO_ROOT

PACKAGE = REPO_ROOT / "sandbox" / "pagerduty"
MAX_MODULE_LINES = 500
MAX_CLASS_LINES = 300


def modules() -> dict[str, Path]:
    return {
        f"sandbox.pagerduty.{path.stem}": path
        for path in sorted(PACKAGE.glob("*.py"))
        if path.stem != "__init__"
    }


def test_no_module_over_500_lines_and_no_class_over_300() -> None:
    for name, path in modules().items():
        lines = path.read_text().count("\n")
        assert lines <= MAX_MODULE_LINES, f"{name}: {lines} lines"
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                assert size <= MAX_CLASS_LINES, f"{name}.{node.name}: {size} lines"


def imports_of(path: Path, known: set[str]) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in known}
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module in known and node.module != "sandbox.pagerduty":
                found.add(node.module)
            for alias in node.names:
                if f"{node.module}.{alias.name}" in known:
                    found.add(f"{node.module}.{alias.name}")
            if node.module == "sandbox.pagerduty" and not any(
                f"sandbox.pagerduty.{a.name}" in known for a in node.names
            ):
                found.add("sandbox.pagerduty")  # the package itself: a cycle
    return found


def test_imports_between_modules_point_one_way() -> None:
    known = set(modules()) | {"sandbox.pagerduty"}
    graph = {name: imports_of(path, known) for name, path in modules().items()}
    assert all("sandbox.pagerduty" not in deps for deps in graph.values()), graph
    done: set[str] = set()

    def visit(name: str, trail: tuple[str, ...]) -> None:
        assert name not in trail, " -> ".join((*trail, name))
        if name in done:
            return
        for dependency in graph.get(name, set()):
            visit(dependency, (*trail, name))
        done.add(name)

    for name in graph:
        visit(name, ())


def test_contract_files_travel_with_the_package() -> None:
    contract = PACKAGE / "contract"
    names = {path.name for path in contract.iterdir()}
    assert {
        "pagerduty-openapi-subset.json",
        "pagerduty-api-facts.md",
        "ORIGIN.md",
    } <= names
    origin = (contract / "ORIGIN.md").read_text()
    assert "91a06fb" in origin and "2026-08-14" in origin
