"""The run_tests tool: find the project's test runner, run it in the project's own environment,
and report counts, failing test ids and the tail of each failure.

Runners, in order: pytest (config or test files), npm test (a real "test" script; jest, vitest,
mocha and node --test are recognised and write a report, see _npm_tests), go test (go.mod), cargo
test (Cargo.toml). Python comes from the repository's ``.venv`` (or ``venv``) if
there is one, else from PATH: never asyncfc's own interpreter by accident.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._api import Display, ToolContext, ToolError, tool
from ._words import positive_seconds
from ._commands import test_run_effect
from ._context import or_default
from ._env import command_environment
from ._fs import read_regular_text
from ._listing import workspace_files
from ._npm_tests import detect_framework, npm_cases, npm_test_argv
from ._process import KILL_GRACE_S, CommandResult, run_command
from ._test_reports import TestCase, counts, parse_cargo, parse_go_json, parse_junit, strip_ansi
from ._text import cap_line, cap_text, plural
from ._watch import changes_note, watch_tree
from .shell import capture_budget, offline_hint

__all__ = ["TestPlan", "plan_tests", "run_tests"]

_REPORT_NAME = "junit.xml"
_DETAIL_LINES = 20
_NPM_DEFAULT_TEST = 'echo "Error: no test specified" && exit 1'


@dataclass(frozen=True, slots=True)
class TestPlan:
    """How the tests of a workspace will be run."""

    __test__ = False

    runner: str
    """pytest, npm, go or cargo."""
    argv: tuple[str, ...]
    """The command line, program first."""
    framework: str = ""
    """For npm: the framework its "test" script runs (jest, vitest, mocha, node); "" if unknown."""
    root: str = ""
    """The workspace root, for naming test files relative to it."""


def _python(root: Path, env: dict[str, str]) -> str:
    for venv in (".venv", "venv"):
        candidate = root / venv / "bin" / "python"
        if candidate.exists():
            return str(candidate)
    found = shutil.which("python3", path=env.get("PATH")) or shutil.which("python", path=env.get("PATH"))
    if found is None:
        raise ToolError("no Python interpreter found: no .venv in the repository and no python3 on PATH")
    return found


def _uses_pytest(root: Path) -> bool:
    if (root / "pytest.ini").is_file() or (root / "conftest.py").is_file():
        return True
    for name, marker in (("pyproject.toml", "[tool.pytest"), ("setup.cfg", "[tool:pytest]"),
                         ("tox.ini", "[pytest]")):
        if marker in (read_regular_text(root / name) or ""):
            return True
    return any(f.suffix == ".py" and (f.name.startswith("test_") or f.stem.endswith("_test"))
               for f in workspace_files(root))


def _npm_scripts(root: Path) -> dict[str, object] | None:
    """package.json's scripts, if it has a real "test" script (not npm init's placeholder)."""
    try:
        scripts = json.loads(read_regular_text(root / "package.json") or "").get("scripts", {})
    except (ValueError, AttributeError):
        return None
    script = scripts.get("test") if isinstance(scripts, dict) else None
    return scripts if isinstance(script, str) and script.strip() != _NPM_DEFAULT_TEST else None


def plan_tests(ctx: ToolContext, paths: Sequence[str], args: Sequence[str], report_dir: Path) -> TestPlan | None:
    """The runner and command for the workspace, or None if it has no tests we can run."""
    root = ctx.resolve(".")
    env = command_environment(ctx.env)
    if _uses_pytest(root):
        report = report_dir / _REPORT_NAME
        argv = [_python(root, env), "-m", "pytest", "-q", "-rfE", "--tb=short",
                "--continue-on-collection-errors", f"--junitxml={report}", "-o", "junit_family=xunit1"]
        return TestPlan("pytest", (*argv, *args, *paths))
    if (scripts := _npm_scripts(root)) is not None:
        found = detect_framework(scripts)
        return TestPlan("npm", npm_test_argv(found, args, paths, report_dir, env), found.framework, str(root))
    if (root / "go.mod").is_file():
        return TestPlan("go", ("go", "test", "-json", *args, *(paths or ["./..."])))
    if (root / "Cargo.toml").is_file():
        return TestPlan("cargo", ("cargo", "test", *args, *paths))
    return None


def _check_paths(ctx: ToolContext, paths: Sequence[str]) -> None:
    for path in paths:
        target = path.split("::")[0].removesuffix("/...")
        if target and not target.startswith("-"):
            ctx.resolve(target)


_OUTWARD = re.compile(r"^(?:/|~)|(?:^|/)\.\.(?:/|$)")


def _check_args(ctx: ToolContext, args: Sequence[str]) -> None:
    """Refuse extra arguments that name a path outside the workspace (``PathOutsideWorkspace``),
    as ``paths`` are: a runner writes where its options say (``--junitxml=~/.bashrc``,
    ``--basetemp=~``, which pytest empties first, ``-o cache_dir=/...``), and the person who
    allowed test runs allowed running the project's tests, not writing outside it."""
    for arg in args:
        for value in (arg, *arg.split("=")[1:]):
            if _OUTWARD.search(value):
                ctx.resolve(value)


def _cases(plan: TestPlan, result: CommandResult, report_dir: Path) -> list[TestCase] | None:
    if plan.runner == "pytest":
        text = read_regular_text(report_dir / _REPORT_NAME)  # the run may have made it a FIFO
        try:
            return parse_junit(text) if text is not None else None
        except ValueError:
            return None
    if plan.runner == "go":
        return parse_go_json(result.stdout)
    if plan.runner == "cargo":
        return parse_cargo(result.stdout + "\n" + result.stderr)
    if plan.runner == "npm":
        return npm_cases(plan.framework, report_dir, result.stdout + "\n" + result.stderr, plan.root)
    return None


def _tail(text: str, lines: int = _DETAIL_LINES) -> str:
    kept = text.splitlines()[-lines:]
    return "\n".join(cap_line(line, 300) for line in kept)


def format_report(plan: TestPlan, result: CommandResult, cases: list[TestCase] | None, limit: int) -> str:
    """Counts, failing ids and failure tails (or the output's tail when there are no counts)."""
    status = f"exit code {result.exit_code}, {result.duration:.1f}s"
    command = f"command: {shlex.join(plan.argv)}"
    runner = f"{plan.runner} ({plan.framework})" if plan.framework else plan.runner
    output = strip_ansi(result.stdout + "\n" + result.stderr).strip()
    if cases is None:
        return cap_text(f"{runner}: {status} (no per-test results)\n{command}\n{_tail(output, 60)}",
                        limit, what="test output")
    if not cases:
        return f"{runner}: no tests ran ({status}); the runner found no tests\n{command}"
    tally = counts(cases)
    head = (f"{runner}: {tally['passed']} passed, {tally['failed']} failed, "
            f"{plural(tally['error'], 'error')}, {tally['skipped']} skipped ({status})")
    lines = [head, command]
    bad = [c for c in cases if c.outcome in ("failed", "error")]
    for outcome, label in (("failed", "failed"), ("error", "errors")):
        ids = [c.id for c in bad if c.outcome == outcome and c.id]  # summary-only cases have no id
        if ids:
            lines += [f"{label}:", *(f"  {i}" for i in ids)]
    for case in bad:
        if case.detail:
            lines += ["", f"--- {case.id} ({case.outcome})", _tail(case.detail)]
    if any(not case.detail for case in bad):  # the output is the only account of these failures
        lines += ["", "--- output (tail)", _tail(output, 40)]
    return cap_text("\n".join(lines), limit, what="test report")


def _preview(ctx: ToolContext, args: Mapping[str, Any]) -> str:
    """The approval preview of a test run: the command it would run (reads the workspace)."""
    try:
        plan = plan_tests(ctx, list(args.get("paths") or []), list(args.get("args") or []),
                          Path("<report-dir>"))
    except ToolError as exc:
        return f"(run_tests will fail: {exc})"
    return f"$ {shlex.join(plan.argv)}" if plan else "(no tests found; nothing will run)"


def _selection(args: Mapping[str, Any]) -> str:
    """A run of some tests takes apart from a run of the whole suite."""
    return "some" if args.get("paths") else ""


@tool(effect=test_run_effect(), preview=_preview, runs_command=True, duration_key=_selection,
      display=Display.TESTS, subject="paths",
      duration_priors={"run_tests": "run_tests", "run_tests:some": "run_tests_file"},
      recall="run the tests again to see the current results")
async def run_tests(ctx: ToolContext, paths: list[str] | None = None, args: list[str] | None = None,
                    timeout_s: float | None = None) -> str:
    """Run the project's tests and report counts (passed, failed, errors, skipped), the failing
    test ids, the tail of each failure, and the command it ran.

    Detects the runner: pytest first (using the repository's .venv if present), then npm test,
    go test, cargo test. Says so when the repository has no tests.

    Args:
        paths: test files, folders or test ids to run (e.g. `tests/test_api.py::test_login`);
            default: all tests.
        args: extra arguments for the runner, e.g. `["-k", "login", "-x"]` for pytest.
        timeout_s: seconds before the run is killed (default: the configured shell timeout).
    """
    paths, args = list(paths or []), list(args or [])
    _check_paths(ctx, paths)
    _check_args(ctx, args)
    timeout = positive_seconds(timeout_s, ctx.shell_timeout_s)
    env = command_environment(ctx.env)
    grace = or_default(ctx.settings.kill_grace_s, KILL_GRACE_S)
    with tempfile.TemporaryDirectory(prefix="asyncfc-tests-") as scratch:
        plan = plan_tests(ctx, paths, args, Path(scratch))
        if plan is None:
            return ("no tests found: no pytest configuration or test_*.py files, no package.json "
                    "test script, no go.mod and no Cargo.toml in the workspace")
        if plan.runner == "npm":
            env.setdefault("CI", "true")  # jest, vitest, react-scripts: run once, never watch
        try:
            async with watch_tree(ctx.resolve(".")) as changed:
                result = await run_command(plan.argv, cwd=ctx.resolve("."), timeout_s=timeout,
                                           max_bytes=capture_budget(ctx.max_output_chars), env=env,
                                           grace_s=grace, on_output=ctx.progress.output,
                                           sandbox=ctx.sandbox, network=ctx.network,
                                           writable=[ctx.resolve("."), Path(scratch)])
        except OSError as exc:
            raise ToolError(f"could not start {plan.runner}: {exc}") from None
        if result.timed_out:
            raise ToolError(f"tests timed out after {timeout:g}s and were killed; pass timeout_s to "
                            f"allow longer, or run fewer with paths\ncommand: {shlex.join(plan.argv)}\n"
                            f"{_tail(result.stdout, 30)}")
        if plan.runner == "pytest" and "No module named pytest" in result.stderr:
            raise ToolError(f"pytest is not installed for {plan.argv[0]}; install it in the "
                            "project's environment (or create a .venv with it)")
        report = format_report(plan, result, _cases(plan, result, Path(scratch)), ctx.max_output_chars)
        if changed:
            ctx.progress.changed(changed)
        return "\n".join(filter(None, [report, changes_note(changed), offline_hint(ctx, result)]))
