#!/usr/bin/env python3
"""Structure check (stdlib only): module and class sizes, import cycles.

Fails when a Python module of the project is over MAX_MODULE_LINES lines, a
class over MAX_CLASS_LINES lines, or the project's own modules import each
other in a cycle. Every module counts (product, sandbox, scripts) except the
virtualenv, caches, hidden directories and, unless --with-tests, tests/.

An import counts wherever it is written (module level or inside a function:
a deferred import hides a cycle, it does not remove it), except under
`if TYPE_CHECKING:`. `from package import name` depends on `package.name` when
that is a module of the project, otherwise on `package`.

Usage: scripts/check_structure.py [--with-tests] [ROOT]   (ROOT: the repository)
"""

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

MAX_MODULE_LINES = 500
MAX_CLASS_LINES = 300
SKIPPED_DIRS = {".venv", "venv", "node_modules", "__pycache__", "build", "dist"}
TESTS_DIR = "tests"


def python_files(root: Path, with_tests: bool = False) -> Iterator[Path]:
    skipped = SKIPPED_DIRS if with_tests else SKIPPED_DIRS | {TESTS_DIR}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).parts[:-1]
        if any(part in skipped or part.startswith(".") for part in parts):
            continue
        yield path


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement, skipping `if TYPE_CHECKING:` bodies."""
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
            continue
        if isinstance(node, ast.If) and is_type_checking(node.test):
            pending.extend(node.orelse)
            continue
        pending.extend(ast.iter_child_nodes(node))


def imported_modules(
    node: ast.Import | ast.ImportFrom, name: str, is_package: bool, known: set[str]
) -> Iterator[str]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name
        return
    base = node.module or ""
    if node.level:
        package = name if is_package else name.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{base}" if base else package
    for alias in node.names:
        submodule = f"{base}.{alias.name}" if base else alias.name
        yield submodule if submodule in known else base


def project_target(imported: str, known: set[str]) -> str | None:
    """The project module an import resolves to (its longest known prefix)."""
    candidate = imported
    while candidate:
        if candidate in known:
            return candidate
        candidate = candidate.rpartition(".")[0]
    return None


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (or a self-import)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(start: str) -> None:
        nonlocal counter
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph[node]:
                    found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def check(root: Path, with_tests: bool = False) -> list[str]:
    problems: list[str] = []
    trees: dict[str, tuple[Path, ast.Module]] = {}
    for path in python_files(root, with_tests):
        source = path.read_text(encoding="utf-8")
        relative = path.relative_to(root)
        lines = len(source.splitlines())
        if lines > MAX_MODULE_LINES:
            problems.append(
                f"{relative}: {lines} lines (a module may have {MAX_MODULE_LINES})"
            )
        try:
            tree = ast.parse(source, str(relative))
        except SyntaxError as error:
            problems.append(f"{relative}: does not parse ({error.msg})")
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.end_lineno is not None:
                size = node.end_lineno - node.lineno + 1
                if size > MAX_CLASS_LINES:
                    problems.append(
                        f"{relative}:{node.lineno}: class {node.name} has {size} "
                        f"lines (a class may have {MAX_CLASS_LINES})"
                    )
        trees[module_name(root, path)] = (path, tree)

    known = set(trees)
    graph: dict[str, set[str]] = {name: set() for name in known}
    for name, (path, tree) in trees.items():
        is_package = path.name == "__init__.py"
        for node in imports(tree):
            for imported in imported_modules(node, name, is_package, known):
                target = project_target(imported, known)
                if target is not None and target != name:
                    graph[name].add(target)
    for component in cycles(graph):
        problems.append(f"import cycle among: {', '.join(component)}")
    return problems


def main(argv: list[str]) -> int:
    with_tests = "--with-tests" in argv
    paths = [arg for arg in argv[1:] if arg != "--with-tests"]
    root = Path(paths[0]).resolve() if paths else Path(__file__).resolve().parents[1]
    problems = check(root, with_tests)
    for problem in problems:
        print(problem)
    if problems:
        print(f"structure check: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print("structure check: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
