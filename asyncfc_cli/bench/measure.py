"""Measure the real tools on the fixture repository and store the table as package data.

Re-measure (takes about a minute; writes ``asyncfc_cli/tool_latencies.py``,
which the engine reads for its duration priors (``durations``))::

    LITELLM_LOCAL_MODEL_COST_MAP=True python -m asyncfc_cli.bench.measure

Each probe is one real tool call (the same functions the engine runs) on a fresh fixture copy; the
table keeps the median of several runs, in seconds. Scenario steps without a ``duration`` take the
entry named by their ``latency`` key (default: their tool's name).
"""

from __future__ import annotations

import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import trio

from asyncfc_tools import Display, ToolContext, builtin_tools, child_environment

from .fixture import make_fixture_repo

__all__ = ["PROBES", "measure", "python_command", "write_table"]

PROBES: dict[str, tuple[str, dict[str, Any], int]] = {
    "read_file": ("read_file", {"path": "shop/orders.py"}, 9),
    "write_file": ("write_file", {"path": "shop/scratch.py", "content": "X = 1\n" * 40}, 9),
    "edit_file": ("edit_file", {"path": "shop/money.py", "old": "1e-9", "new": "1e-09"}, 9),
    "list_files": ("list_files", {"path": "."}, 9),
    "grep": ("grep", {"pattern": "round_cents"}, 9),
    "outline": ("outline", {"path": "shop/orders.py"}, 9),
    "shell": ("shell", {"command": "git status --short"}, 5),
    "lint": ("shell", {"command": "python scripts/lint.py"}, 5),
    "build": ("shell", {"command": "python -m compileall -q -f shop"}, 5),
    "pytest_file": ("shell", {"command": "python -m pytest -q -p no:cacheprovider tests/test_cart.py"}, 3),
    "pytest_suite": ("shell", {"command": "python -m pytest -q -p no:cacheprovider"}, 3),
    "run_tests_file": ("run_tests", {"paths": ["tests/test_cart.py"]}, 3),
    "run_tests": ("run_tests", {}, 3),
}
"""Table entry -> (tool, arguments, runs)."""


def python_command(command: str) -> str:
    """Run ``python ...`` commands with this interpreter (the fixture needs pytest)."""
    import shlex

    return shlex.quote(sys.executable) + command[6:] if command.startswith("python ") else command


async def _time_call(spec: Any, ctx: ToolContext, args: Mapping[str, Any]) -> float:
    if "command" in args:
        args = {**args, "command": python_command(args["command"])}
    start = time.perf_counter()
    if spec.is_async:
        await spec.fn(ctx, **args)
    else:
        spec.fn(ctx, **args)
    elapsed = time.perf_counter() - start
    if spec.facts.display is Display.EDIT:  # put the text back so the next run's `old` matches again
        spec.fn(ctx, **{**args, "old": args["new"], "new": args["old"]})
    return elapsed


async def measure(root: Path) -> dict[str, float]:
    """Median seconds per probe, measured in the fixture at ``root``."""
    tools = builtin_tools()
    ctx = ToolContext(root=root, shell_timeout_s=300.0, max_output_chars=30_000, env=child_environment())
    table: dict[str, float] = {}
    for key, (name, args, runs) in PROBES.items():
        if name not in tools:
            continue
        await _time_call(tools[name], ctx, args)  # warm caches (tree-sitter, page cache)
        samples = [await _time_call(tools[name], ctx, args) for _ in range(runs)]
        table[key] = round(statistics.median(samples), 4)
        print(f"{key:14} {table[key]:8.4f} s  ({name}, {runs} runs)", file=sys.stderr)
    return table


def write_table(table: Mapping[str, float], path: Path) -> None:
    """Write the table as the Python module ``tool_latencies.py`` (package data that needs no loader)."""
    rows = "\n".join(f"    {k!r}: {v!r}," for k, v in table.items())
    machine = f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}"
    path.write_text(
        '"""Tool latencies measured by ``python -m asyncfc_cli.bench.measure`` (generated; do not edit).\n\n'
        "Median seconds of real tool calls on the benchmark's fixture repository.\n"
        '"""\n\n'
        f"MEASURED_ON = {time.strftime('%Y-%m-%d')!r}\nMACHINE = {machine!r}\n\n"
        f"TOOL_LATENCIES: dict[str, float] = {{\n{rows}\n}}\n"
    )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="asyncfc-bench-") as tmp:
        root = make_fixture_repo(Path(tmp) / "shop")
        table = trio.run(measure, root)
    target = Path(__file__).parent.parent / "tool_latencies.py"
    write_table(table, target)
    print(f"wrote {target}", file=sys.stderr)


if __name__ == "__main__":
    main()
