"""Which framework an npm "test" script runs, and how to have it write a report we can read.

``npm test -- ARGS`` appends ARGS to the script's text, so they reach its *last* command: a
framework is recognised only there (also behind ``npm run NAME``, ``VAR=value`` prefixes and the
cross-env, npx, c8 and nyc wrappers). ``node --test`` reads everything after its options as test
files, so its reporters go in NODE_OPTIONS instead. When the script or the model's args already pick
a reporter we add none; the runner's summary lines are read instead (``parse_test_summary``).
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ._commands import is_assignment, shell_words
from ._fs import read_regular_text
from ._test_reports import TestCase, parse_jest_json, parse_mocha_xunit, parse_node_junit
from ._test_summaries import parse_test_summary, spec_file_output

__all__ = ["NpmTests", "detect_framework", "npm_cases", "npm_test_argv"]

_WRAPPERS = frozenset({"cross-env", "env", "npx", "c8", "nyc"})
_OPERATORS = frozenset({"&&", "||", ";", "|", "&"})
_MAX_HOPS = 3

_REPORTS: dict[str, tuple[str, Callable[[str, str], list[TestCase]]]] = {
    "jest": ("jest.json", parse_jest_json),
    "vitest": ("vitest.json", parse_jest_json),
    "mocha": ("mocha-xunit.xml", parse_mocha_xunit),
    "node": ("node-junit.xml", parse_node_junit),
}
"""Per framework: the report's file name in the scratch folder and its parser."""

_REPORTER_OPTIONS = {
    "jest": ("--json", "--outputFile"),
    "vitest": ("--reporter", "--outputFile"),
    "mocha": ("--reporter", "-R", "-O"),
    "node": ("--test-reporter",),
}
"""Options by which a script or the model already chose where results go: then we add no reporter."""


@dataclass(frozen=True, slots=True)
class NpmTests:
    """The test framework behind a package's "test" script."""

    framework: str
    """jest, vitest, mocha or node (``node --test``); empty if not recognised."""
    hops: int = 0
    """``npm run NAME`` steps between ``npm test`` and the framework: each needs its own ``--``."""
    command: tuple[str, ...] = ()
    """The framework's command line as the script writes it."""


def detect_framework(scripts: Mapping[str, object], name: str = "test", hops: int = 0) -> NpmTests:
    """The framework the script ``name`` ends by running (jest, vitest, mocha or _mocha, ``node
    --test`` or ``tsx --test``), following ``npm run OTHER``; ``NpmTests("")`` if none."""
    script = scripts.get(name)
    if not isinstance(script, str) or hops > _MAX_HOPS:
        return NpmTests("")
    tokens = shell_words(script)
    if tokens is None:
        return NpmTests("")
    last = _after_last_operator(tokens)
    program, rest = _program(last)
    if program == "npm" and rest[:1] in (["run"], ["run-script"]) and len(rest) > 1:
        return detect_framework(scripts, rest[1], hops + (0 if "--" in rest else 1))
    framework = {"jest": "jest", "vitest": "vitest", "mocha": "mocha", "_mocha": "mocha"}.get(program, "")
    if program in ("node", "tsx") and "--test" in rest:
        framework = "node"
    return NpmTests(framework, hops, tuple(last)) if framework else NpmTests("")


def _after_last_operator(tokens: list[str]) -> list[str]:
    cut = max((i for i, token in enumerate(tokens) if token in _OPERATORS), default=-1)
    return tokens[cut + 1:]


def _program(tokens: list[str]) -> tuple[str, list[str]]:
    """The command's program (its base name) and arguments, past VAR=value and wrapper tools."""
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if is_assignment(token) or token == "--":
            index += 1
        elif os.path.basename(token) in _WRAPPERS:
            index += 1
            while index < len(tokens) and tokens[index].startswith("-"):
                index += 1
        else:
            return os.path.basename(token), tokens[index + 1:]
    return "", []


def _chooses_reporter(framework: str, tokens: Sequence[str]) -> bool:
    options = _REPORTER_OPTIONS[framework]
    return any(token == option or token.startswith((option + "=", option + "-", option + ".")) for token in tokens
               for option in options)


def npm_test_argv(found: NpmTests, args: Sequence[str], paths: Sequence[str], report_dir: Path,
                  env: Mapping[str, str]) -> tuple[str, ...]:
    """``npm test`` with the model's args and paths, plus what makes the framework write its report
    into ``report_dir`` (where ``npm_cases`` looks for it).

    May run ``node --version`` once per node binary (cached) to know whether node has a junit reporter.
    """
    extra = [*args, *paths]
    prefix: tuple[str, ...] = ()
    if found.framework and not _chooses_reporter(found.framework, [*found.command, *args]):
        report = str(report_dir / _REPORTS[found.framework][0])
        if found.framework == "node":
            prefix = _node_options_prefix(report, env)
        else:
            extra = [*_report_args(found.framework, report), *extra]
    separators = ("--",) * (1 + found.hops) if extra else ()
    return (*prefix, "npm", "test", "--silent", *separators, *extra)


def _report_args(framework: str, report: str) -> tuple[str, ...]:
    if framework == "jest":
        return ("--json", f"--outputFile={report}")
    if framework == "vitest":  # keep the default reporter too: its summary is the fallback
        return ("--reporter=default", "--reporter=json", f"--outputFile.json={report}")
    return ("--reporter", "xunit", "--reporter-option", f"output={report}")


def _node_options_prefix(report: str, env: Mapping[str, str]) -> tuple[str, ...]:
    """``env NODE_OPTIONS=...`` adding a spec reporter on stdout and a junit report file, when
    this node has a junit reporter (18.19+ and 20.10+) and NODE_OPTIONS picks no reporter yet."""
    current = env.get("NODE_OPTIONS", "")
    node = shutil.which("node", path=env.get("PATH"))
    version = _node_version(node) if node else None
    if version is None or not _has_junit(version) or "--test-reporter" in current:
        return ()
    ours = ("--test-reporter=spec --test-reporter-destination=stdout --test-reporter=junit "
            f"--test-reporter-destination={_node_option_quote(report)}")
    return ("env", "NODE_OPTIONS=" + " ".join(filter(None, [current, ours])))


def _has_junit(version: tuple[int, int]) -> bool:
    return version >= (20, 10) or (18, 19) <= version < (19, 0)


def _node_option_quote(value: str) -> str:
    # NODE_OPTIONS splits on spaces but honours double quotes.
    return f'"{value}"' if " " in value else value


@functools.lru_cache(maxsize=8)
def _node_version(node: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.match(r"v(\d+)\.(\d+)", out.strip())
    return (int(match[1]), int(match[2])) if match else None


def npm_cases(framework: str, report_dir: Path, output: str, root: str) -> list[TestCase] | None:
    """The cases of an npm test run: from the framework's report when it wrote one, else from the
    summary lines in its output; None when neither is there."""
    if framework:
        text = read_regular_text(report_dir / _REPORTS[framework][0])
        try:
            if text is not None:
                cases = _REPORTS[framework][1](text, root)
                return [_with_file_output(case, output) for case in cases] if framework == "node" else cases
        except ValueError:
            pass
    return parse_test_summary(output, root)


def _with_file_output(case: TestCase, output: str) -> TestCase:
    """A node test file that failed to load, with what it printed (its junit entry says only
    "test failed")."""
    if case.outcome != "failed" or case.detail:
        return case
    return TestCase(case.id, case.outcome, spec_file_output(output, case.id))
