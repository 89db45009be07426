"""Views decide from what a tool declares, never from its name (STYLE 13, issue 15 item 3).

A tool states how it is shown in its ``@tool(...)`` declaration (``ToolFacts.display`` and
``subject``); the engine copies that into ``future_created``, so the renderers, the TUI, the allow
rules and the benchmark, which see only events, can decide from it. This test reads their code with
``ast`` (like ``test_layers`` reads the import graph) and fails on a comparison with the name of a
built-in tool: ``tool == "shell"``, ``tool in {"write_file", "edit_file"}``, a set of tool names
kept for such a test, or a ``case "shell":``. A name the model calls a tool by may still appear as
data (a benchmark's probe, a fixture); only deciding on it is refused. The engine is held to the
same rule (its facts come from ``ToolSpec``): the whole package is read, the views first.

``await_future`` and ``cancel_future`` are the futures protocol's own words: a view compares with
``futures.AWAIT_FUTURE``, the protocol's one spelling, not with a literal.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from asyncfc_cli.protocol_tools import engine_tools
from asyncfc_cli.subagent import AGENT
from asyncfc_tools import builtin_tools

ROOT = Path(__file__).resolve().parent.parent / "asyncfc_cli"
VIEWS = ("render", "tui", "timeline_state.py", "bench", "allow_rules.py")
"""What only sees tools through events (or a rule's text): folders and modules under asyncfc_cli
(``timeline_state`` is the TUI's and the benchmark plot's model of the stream)."""
FIXTURES = ("tui/synthetic.py",)
"""Hand-made event streams: they name tools as a model would, and decide nothing."""
TOOL_NAMES = frozenset({*builtin_tools(), *engine_tools(), AGENT})


def _names_in(node: ast.AST) -> list[str]:
    """The tool names a literal holds: a string, or a set, list or tuple of them (also inside a
    ``set(...)``/``frozenset(...)`` call)."""
    if isinstance(node, ast.Constant):
        return [node.value] if node.value in TOOL_NAMES else []
    if isinstance(node, ast.Set | ast.List | ast.Tuple):
        return [name for item in node.elts for name in _names_in(item)]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("set", "frozenset"):
        return [name for arg in node.args for name in _names_in(arg)]
    return []


def decisions_on_names(source: str) -> Iterator[tuple[int, str]]:
    """(line, name) for each place ``source`` decides on a tool's name."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            for op, left, right in zip(node.ops, operands, operands[1:]):
                # ``"agent" in step`` looks a key up; ``tool in ("shell", ...)`` decides on a name.
                sides = [right] if isinstance(op, ast.In | ast.NotIn) else [left, right]
                for side in sides:
                    yield from ((node.lineno, name) for name in _names_in(side))
        elif isinstance(node, ast.Set) or (isinstance(node, ast.Call) and _names_in(node)):
            yield from ((node.lineno, name) for name in _names_in(node))  # kept for a membership test
        elif isinstance(node, ast.MatchValue):
            yield from ((node.lineno, name) for name in _names_in(node.value))


def view_modules() -> Iterator[Path]:
    for part in VIEWS:
        path = ROOT / part
        for module in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            if module.relative_to(ROOT).as_posix() not in FIXTURES:
                yield module


def found_in(modules: Iterator[Path]) -> list[str]:
    return sorted({f"{module.relative_to(ROOT.parent)}:{line} decides on the tool name {name!r}"
                   for module in modules
                   for line, name in decisions_on_names(module.read_text(encoding="utf-8"))})


def test_views_decide_from_declared_facts_not_from_tool_names():
    found = found_in(view_modules())
    assert not found, ("declare it in the tool's @tool(display=..., subject=...) and read "
                       "future_created.display/subject instead:\n" + "\n".join(found))


def test_the_engine_decides_from_declarations_not_from_tool_names():
    engine = (m for m in sorted(ROOT.rglob("*.py")) if m.relative_to(ROOT).as_posix() not in FIXTURES)
    found = found_in(engine)
    assert not found, "ask the call's ToolSpec (its facts) instead:\n" + "\n".join(found)


def test_the_views_are_where_they_were():
    """A folder renamed away would make the test above pass on nothing."""
    assert len(list(view_modules())) > 20 and all((ROOT / part).exists() for part in VIEWS)


@pytest.mark.parametrize("source", [
    'if call.tool == "shell":\n    pass',
    'x = lane.tool != "edit_file"',
    'FILE_TOOLS = frozenset({"write_file", "edit_file"})',
    'ok = tool in ("shell", "run_tests")',
    'ok = "run_tests" == tool',
    'match tool:\n    case "shell":\n        pass',
    'skip = f.tool == "await_future"',
])
def test_the_rule_catches_what_it_forbids(source):
    """The test can fail: each of these was (or was like) a line of a view."""
    assert list(decisions_on_names(source))


@pytest.mark.parametrize("source", [
    'if "agent" in step:\n    pass',
    'PROBES = {"shell": ("shell", {"command": "ls"}, 5)}',
    'skip = f.tool == AWAIT_FUTURE',
    'if display is Display.COMMAND:\n    pass',
    'self._command("cancel_future", future_id)',
])
def test_the_rule_lets_data_and_facts_through(source):
    assert not list(decisions_on_names(source))
