"""The apps stand in floors; each imports only from the floors below it (README, Architecture).

Read from the code's own imports with `ast`, so the picture in the README cannot drift: an
import that runs back up fails here with the file, the line and the two floors.
"""

import ast
import json
import os
import subprocess
import sys
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
    {"approvals"},
    {"identity", "integrations", "notifications"},
    {"portal"},
]
FLOOR_OF = {package: level for level, packages in enumerate(FLOORS) for package in packages}

# Beside the floors: testbed (servers and throw-away databases) stands under both the suite and
# the bench, and none of these may need the suite: `make bench` installs only the bench extra.
OUTSIDE_THE_SUITE = {
    "testbed": {"tests", "bench", "pytest", "_pytest"},
    "bench": {"tests", "pytest", "_pytest"},
    "siem_agent": {"tests", "pytest", "_pytest"},
}


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


def test_the_bench_the_testbed_and_the_agent_import_nothing_from_the_suite():
    found = [
        f"{path.relative_to(ROOT)}:{line} {package} imports {target}"
        for package, banned in OUTSIDE_THE_SUITE.items()
        for path in sorted((ROOT / package).rglob("*.py"))
        for line, target in imported_packages(path)
        if target in banned
    ]
    assert found == []


# Every module of testbed and bench, imported in a process where pytest and tests/ cannot be
# found, as after `pip install -e .[bench]`. DRF and knox are the bench extra: without them
# (the suite's virtualenv) the modules that need them are left out, on the hermetic settings.
WITHOUT_THE_SUITE = """
import contextlib, importlib, importlib.util, io, json, os, pkgutil, sys

class Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("pytest", "_pytest", "tests"):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked)", name=name)

sys.meta_path.insert(0, Blocked())
extra = all(importlib.util.find_spec(name) for name in ("rest_framework", "knox"))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings" if extra else "testbed.settings"
import django

django.setup()
failures = {}
for package in ("testbed", "bench"):
    path = importlib.import_module(package).__path__
    for module in pkgutil.walk_packages(path, package + "."):
        try:
            importlib.import_module(module.name)
        except ModuleNotFoundError as error:
            if extra or error.name.split(".")[0] not in ("rest_framework", "knox"):
                failures[module.name] = str(error)
import bench.run

with contextlib.redirect_stdout(io.StringIO()) as usage, contextlib.suppress(SystemExit):
    bench.run.main(["--help"])
print(json.dumps({"failures": failures, "usage": usage.getvalue()}))
"""


def test_every_bench_module_imports_without_pytest_or_the_tests_folder(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_THE_SUITE],
        cwd=ROOT,
        env={**os.environ, "LOAD_STATIC_ROOT": str(tmp_path)},  # testbed.served_settings
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["failures"] == {}
    assert "--parts" in found["usage"]


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
