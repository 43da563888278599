"""scripts/check_structure.py: module and class sizes, import cycles."""

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def load_checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "check_structure", ROOT / "scripts" / "check_structure.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


checker = load_checker()


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_a_long_module_and_a_long_class_are_reported(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(checker.MAX_CLASS_LINES))
    write(
        tmp_path,
        {
            "long.py": "x = 1\n" * (checker.MAX_MODULE_LINES + 1),
            "ok.py": "x = 1\n" * checker.MAX_MODULE_LINES,
            "big_class.py": f"class Big:\n{body}\n",
        },
    )
    problems = checker.check(tmp_path)
    assert any(p.startswith("long.py: 501 lines") for p in problems), problems
    assert any("class Big has 301 lines" in p for p in problems), problems
    assert not any(p.startswith("ok.py") for p in problems), problems


def test_import_cycles_are_found_through_every_import_form(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "a.py": "import b\n",
            "b.py": "def f() -> None:\n    from c import g\n",
            "c.py": "from a import x\n",
            "pkg/__init__.py": "",
            "pkg/one.py": "from . import two\n",
            "pkg/two.py": "from .three import y\n",
            "pkg/three.py": "import pkg.one\n",
            "typed.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    import untyped\n",
            "untyped.py": "import typed\n",
            "acyclic.py": "import a\nimport os\n",
        },
    )
    problems = checker.check(tmp_path)
    assert "import cycle among: a, b, c" in problems, problems
    assert "import cycle among: pkg.one, pkg.three, pkg.two" in problems, problems
    assert len(problems) == 2, problems


def test_tests_count_only_when_asked(tmp_path: Path) -> None:
    write(tmp_path, {"tests/test_x.py": "x = 1\n" * (checker.MAX_MODULE_LINES + 1)})
    assert checker.check(tmp_path) == []
    assert len(checker.check(tmp_path, with_tests=True)) == 1


def test_the_command_fails_on_a_problem(tmp_path: Path) -> None:
    write(tmp_path, {"a.py": "import b\n", "b.py": "import a\n"})
    assert checker.main(["check_structure.py", str(tmp_path)]) == 1
    (tmp_path / "b.py").write_text("import os\n")
    assert checker.main(["check_structure.py", str(tmp_path)]) == 0
