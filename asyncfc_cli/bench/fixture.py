"""The fixture repository the benchmark measures real tools on and plays real-tools runs in.

A small but not tiny Python project (a shop: cart, pricing, orders... about twenty modules and a
test suite with a few slow integration tests standing for I/O), generated from templates so it is
the same on every machine. The benchmark scenarios name its paths and commands, so a scenario can be
played with the real tools in a fresh copy (``--tools real``).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

__all__ = ["MODULES", "make_fixture_repo"]

MODULES = (
    "cart", "catalog", "pricing", "discounts", "tax", "inventory", "orders", "payments",
    "shipping", "users", "reviews", "search", "reports", "notifications", "returns", "coupons",
)
"""The modules of the ``shop`` package; every one has a test file."""

_MODULE = '''"""{name}: part of the shop fixture."""

from shop.money import Money, round_cents


class {cls}:
    """A {name} record."""

    def __init__(self, key: str, amount: float = 0.0) -> None:
        self.key = key
        self.amount = Money(amount)

    def total(self, quantity: int = 1) -> Money:
        return round_cents(self.amount * quantity)

    def describe(self) -> str:
        return f"{name}:{{self.key}}={{self.amount}}"


def load_{name}(rows: list[dict]) -> list[{cls}]:
    """Build records from rows of a CSV export."""
    return [{cls}(str(row["key"]), float(row.get("amount", 0))) for row in rows]


def sum_{name}(items: list[{cls}]) -> Money:
    return round_cents(sum((item.total() for item in items), Money(0)))
'''

_MONEY = '''"""Money helpers shared by every module."""


class Money(float):
    """An amount in the shop currency."""


def round_cents(value: float) -> Money:
    return Money(round(value + 1e-9, 2))
'''

_TEST = '''from shop.{name} import {cls}, load_{name}, sum_{name}


def test_total():
    assert {cls}("a", 2.5).total(3) == 7.5


def test_load_and_sum():
    items = load_{name}([{{"key": "a", "amount": 1.25}}, {{"key": "b", "amount": 2}}])
    assert sum_{name}(items) == 3.25
'''

_SLOW_TEST = '''import time

import pytest

from shop.orders import Orders


@pytest.mark.parametrize("n", range(4))
def test_checkout_roundtrip(n):
    time.sleep(0.5)  # stands for a database and a payment sandbox
    assert Orders(str(n), 1.0).total(n) == n
'''

_LINT = '''"""A tiny linter: long lines and trailing whitespace (stands for ruff/flake8)."""
import pathlib
import sys

bad = 0
for path in sorted(pathlib.Path("shop").rglob("*.py")):
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if len(line) > 100 or line != line.rstrip():
            print(f"{path}:{number}: style")
            bad += 1
sys.exit(1 if bad else 0)
'''


def _class_name(name: str) -> str:
    return name.capitalize()


def make_fixture_repo(folder: Path, *, git: bool = True) -> Path:
    """Write the fixture project into ``folder`` (created if needed) and commit it.

    Returns:
        ``folder``.
    """
    shop, tests, scripts = folder / "shop", folder / "tests", folder / "scripts"
    for d in (shop, tests, scripts):
        d.mkdir(parents=True, exist_ok=True)
    (shop / "__init__.py").write_text('"""The shop fixture package."""\n')
    (shop / "money.py").write_text(_MONEY)
    for name in MODULES:
        (shop / f"{name}.py").write_text(_MODULE.format(name=name, cls=_class_name(name)))
        (tests / f"test_{name}.py").write_text(_TEST.format(name=name, cls=_class_name(name)))
    (tests / "test_integration.py").write_text(_SLOW_TEST)
    (scripts / "lint.py").write_text(_LINT)
    (folder / "README.md").write_text(
        "# shop\n\nA small shop backend. Tests: `python -m pytest -q`. Lint: `python scripts/lint.py`.\n"
    )
    (folder / "pyproject.toml").write_text(
        '[project]\nname = "shop"\nversion = "0.1.0"\n\n[tool.pytest.ini_options]\n'
        'testpaths = ["tests"]\npythonpath = ["."]\n'
    )
    (folder / "CHANGELOG.md").write_text("# Changelog\n\n## Unreleased\n")
    (folder / ".gitignore").write_text("__pycache__/\n.pytest_cache/\n")
    if git:
        cmd = ["git", "-c", "user.name=asyncfc bench", "-c", "user.email=bench@asyncfc.invalid"]
        for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "shop fixture"]):
            subprocess.run(cmd + args, cwd=folder, check=True, capture_output=True)
    return folder
