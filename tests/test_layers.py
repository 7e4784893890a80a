"""The apps stand in floors; each imports only from the floors below it (README, Architecture).

Read from the code's own imports with `ast`, so the picture in the README cannot drift: an
import that runs back up fails here with the file, the line and the two floors.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Bottom first. Packages on one floor may not import each other either (identity,
# integrations and notifications stand side by side).
FLOORS = [
    {"web"},
    {"audit"},
    {"tenants"},
    {"tokens"},
    {"identity", "integrations", "notifications"},
    {"portal"},
]
FLOOR_OF = {package: level for level, packages in enumerate(FLOORS) for package in packages}


def app_modules():
    for package in FLOOR_OF:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield package, path


def imported_packages(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0]


def wrong_way_imports():
    for package, path in app_modules():
        for line, target in imported_packages(path):
            if target in FLOOR_OF and target != package and FLOOR_OF[target] >= FLOOR_OF[package]:
                yield f"{path.relative_to(ROOT)}:{line} {package} imports {target}"


def test_no_app_imports_a_floor_above_or_beside_it():
    assert list(wrong_way_imports()) == []


def test_every_app_package_has_a_floor():
    packages = {p.parent.name for p in ROOT.glob("*/apps.py")} | {"web"}
    assert packages <= set(FLOOR_OF)


@pytest.mark.parametrize(
    "source, expected",
    [
        ("from tokens.models import Token\n", [(1, "tokens")]),
        ("import tenants.models\n", [(1, "tenants")]),
        ("def f():\n    from identity import views\n", [(2, "identity")]),
        ("from . import models\n", []),
    ],
)
def test_the_reader_sees_top_level_and_function_level_imports(tmp_path, source, expected):
    path = tmp_path / "module.py"
    path.write_text(source)
    assert list(imported_packages(path)) == expected
