"""Test results from the summary JavaScript runners print for people, for when no report was written.

jest ("Tests: 2 failed, 30 passed, 32 total"), vitest ("Tests  2 failed | 30 passed (32)"), mocha
("30 passing", "2 failing") and TAP ("# pass 30", "# fail 2"; node --test's spec reporter says
"ℹ pass 30"). Failed tests are named, with the text under their heading, where the output names
them; every other case has an empty id and is there only to be counted. Pure functions over text.
"""

from __future__ import annotations

import re
from collections import Counter

from ._test_reports import TestCase, clean_js_failure, relative_path, strip_ansi

__all__ = ["parse_test_summary", "spec_file_output"]

_SUMMARY_WORD = {"passed": "passed", "passing": "passed", "pass": "passed", "failed": "failed",
                 "failing": "failed", "fail": "failed", "skipped": "skipped", "skip": "skipped",
                 "pending": "skipped", "todo": "skipped", "cancelled": "error"}
_COUNT = re.compile(r"(\d+) (passed|failed|skipped|pending|todo)\b")
_JEST_TESTS = re.compile(r"^Tests:\s+(.*\d+ total)\s*$", re.MULTILINE)
_JEST_STOP = re.compile(r"^(FAIL|PASS) |^Test Suites:|^\s+● ")
_VITEST_TESTS = re.compile(r"^\s*Tests\s+(\d+ \w+(?: \| \d+ \w+)*)\s+\(\d+\)\s*$", re.MULTILINE)
_VITEST_FAIL = re.compile(r"^\s*FAIL\s+(?:\|[^|]*\|\s+)?(.+?)(?:\s+\[.*\])?\s*$")
_VITEST_STOP = re.compile(r"^\s*(⎯|FAIL\s|Test Files\s)")
_MOCHA_COUNT = re.compile(r"^\s*(\d+) (passing|failing|pending)\b", re.MULTILINE)
_MOCHA_ENTRY = re.compile(r"^\s*\d+\) (.+)$")
_TAP_COUNT = re.compile(r"^(?:# |ℹ )(pass|fail|skip|skipped|todo|cancelled) (\d+)\s*$", re.MULTILINE)
_TAP_POINT = re.compile(r"^(\s*)(not ok|ok)\b(?: \d+)?(?: -)? ?(.*?)(?: # (SKIP|TODO)\b.*)?$", re.IGNORECASE)
_TAP_SUBTEST = re.compile(r"^(\s*)# Subtest: (.*)$")
_TAP_STOP = re.compile(r"^\s*(ok\b|not ok\b|# Subtest:|\d+\.\.\d+)", re.IGNORECASE)
_SPEC_FAILURE = re.compile(r"^✖ (.+?) \([\d.]+m?s\)\s*$")
_SPEC_STOP = re.compile(r"^(test at |✖ )")

Named = list[tuple[str, str]]
"""(test id, the text under its heading), in the order the output names them."""


def parse_test_summary(output: str, root: str = "") -> list[TestCase] | None:
    """Cases from a JavaScript runner's human summary (see the module docstring); None when no
    summary is recognised."""
    lines = strip_ansi(output).splitlines()
    text = "\n".join(lines)
    for parse in (_jest_summary, _vitest_summary, _mocha_summary, _tap_summary):
        found = parse(text, lines, root)
        if found is not None:
            return _summary_cases(*found)
    return None


def _summary_cases(tally: Counter, failed: Named, errors: Named) -> list[TestCase]:
    cases = [TestCase("", outcome) for outcome in ("passed", "skipped") for _ in range(tally[outcome])]
    for outcome, named in (("failed", failed), ("error", errors)):
        unique: dict[str, str] = {}
        for name, body in named:
            unique.setdefault(name, body)  # a closing recap repeats failures: keep the first
        cases += [TestCase(name, outcome, body) for name, body in unique.items()]
        cases += [TestCase("", outcome)] * max(0, tally[outcome] - len(unique))
    return cases


def _tally(pairs: list[tuple[str, str]]) -> Counter:
    tally: Counter = Counter()
    for number, word in pairs:
        tally[_SUMMARY_WORD[word.lower()]] += int(number)
    return tally


def _bodies(lines: list[str], starts: list[int], stop: re.Pattern[str]) -> list[str]:
    """For each heading at ``starts``: the lines under it, up to a ``stop`` line, without the
    runner's frames in node_modules or node itself."""
    bodies = []
    for start in starts:
        body = []
        for line in lines[start + 1:]:
            if stop.match(line):
                break
            body.append(line)
        bodies.append(clean_js_failure("\n".join(body)))
    return bodies


def _jest_summary(text: str, lines: list[str], root: str) -> tuple[Counter, Named, Named] | None:
    totals = _JEST_TESTS.findall(text)
    if not totals:
        return None
    failed, errors, file = [], [], ""
    for index, line in enumerate(lines):
        if match := re.match(r"^FAIL (\S+)", line):
            file = relative_path(match[1], root)
        elif match := re.match(r"^\s+● (.+?)\s*$", line):
            body = _bodies(lines, [index], _JEST_STOP)[0]
            if match[1] == "Test suite failed to run":
                errors.append((file, body))
            else:
                failed.append((" > ".join(filter(None, [file, *match[1].split(" › ")])), body))
    return _tally(_COUNT.findall(totals[-1])), failed, errors


def _vitest_summary(text: str, lines: list[str], root: str) -> tuple[Counter, Named, Named] | None:
    totals = _VITEST_TESTS.findall(text)
    if not totals:
        return None
    failed, errors = [], []
    for index, line in enumerate(lines):
        if match := _VITEST_FAIL.match(line):
            name = relative_path(match[1], root)
            (failed if " > " in name else errors).append((name, _bodies(lines, [index], _VITEST_STOP)[0]))
    return _tally(_COUNT.findall(totals[-1])), failed, errors


def _mocha_summary(text: str, lines: list[str], root: str) -> tuple[Counter, Named, Named] | None:
    found = _MOCHA_COUNT.findall(text)
    if not found:
        return None
    after = next((i for i, line in enumerate(lines) if re.match(r"^\s*\d+ failing\s*$", line)), len(lines))
    return _tally(found), _mocha_failures(lines, after + 1), []


def _mocha_failures(lines: list[str], start: int) -> Named:
    """Mocha's numbered failure list: ``1) suite``, deeper title lines, the last ending in ":", then
    the error."""
    failed: Named = []
    parts: list[str] | None = None
    for index in range(start, len(lines)):
        line = lines[index]
        if match := _MOCHA_ENTRY.match(line):
            parts = [match[1].strip()]
        elif parts is not None and line.strip():
            parts.append(line.strip())
        if parts is not None and parts[-1].endswith(":"):
            title = " > ".join([*parts[:-1], parts[-1][:-1]])
            failed.append((title, _bodies(lines, [index], _MOCHA_ENTRY)[0]))
            parts = None
        elif parts is not None and len(parts) > 8:
            parts = None  # not a title after all
    return failed


def _tap_summary(text: str, lines: list[str], root: str) -> tuple[Counter, Named, Named] | None:
    counted = _TAP_COUNT.findall(text)
    if not any(word in ("pass", "fail") for word, _ in counted):
        return None
    failed = _tap_failures(lines, root) or _spec_failures(lines, root)
    return _tally([(number, word) for word, number in counted]), failed, []


def _tap_failures(lines: list[str], root: str) -> Named:
    """Leaf ``not ok`` test points with their YAML block, named through the ``# Subtest:`` lines
    that open them (node nests subtests by indentation and reports a parent after its children)."""
    failed: Named = []
    open_subtests: list[tuple[int, str]] = []
    previous_indent = -1
    for index, line in enumerate(lines):
        if match := _TAP_SUBTEST.match(line):
            open_subtests.append((len(match[1]), match[2]))
        elif match := _TAP_POINT.match(line):
            indent = len(match[1])
            parents = [name for depth, name in open_subtests if depth < indent]
            if match[2].lower() == "not ok" and match[4] is None and previous_indent <= indent:
                body = _bodies(lines, [index], _TAP_STOP)[0]
                body = "\n".join(row for row in body.splitlines() if row.strip() not in ("---", "..."))
                failed.append((" > ".join([*parents, relative_path(match[3], root)]), body))
            open_subtests = [(depth, name) for depth, name in open_subtests if depth < indent]
            previous_indent = indent
    return failed


def _spec_failures(lines: list[str], root: str) -> Named:
    """Failures under node --test's spec reporter's "✖ failing tests:" heading."""
    heading = next((i for i, line in enumerate(lines) if line.strip() == "✖ failing tests:"), None)
    if heading is None:
        return []
    starts = [i for i in range(heading + 1, len(lines)) if _SPEC_FAILURE.match(lines[i])]
    names = [relative_path(_SPEC_FAILURE.match(lines[i])[1], root) for i in starts]
    return list(zip(names, _bodies(lines, starts, _SPEC_STOP)))


def spec_file_output(output: str, path: str) -> str:
    """What node --test's spec reporter printed just before ``✖ …/path (12ms)``: the output of a test
    file that failed to load (its syntax error or uncaught exception); "" if there is no such line."""
    lines = strip_ansi(output).splitlines()
    failure = re.compile(rf"^\s*✖ (\S*/)?{re.escape(path)} \(")
    end = next((i for i, line in enumerate(lines) if failure.match(line)), None)
    if end is None:
        return ""
    start = end
    while start > 0 and end - start < 40 and not re.match(r"^\s*[✔✖▶﹣ℹ] ", lines[start - 1]):
        start -= 1
    return clean_js_failure("\n".join(lines[start:end]))
