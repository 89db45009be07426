"""Test results as values: parsers for pytest's JUnit XML, ``go test -json`` and cargo's output.

Pure functions over text, so each runner's format is tested without running it.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass

__all__ = ["TestCase", "parse_cargo", "parse_go_json", "parse_junit", "counts"]

OUTCOMES = ("passed", "failed", "error", "skipped")


@dataclass(frozen=True, slots=True)
class TestCase:
    """One test's outcome."""

    __test__ = False  # not a pytest test class, despite the name

    id: str
    """How the runner names it (a pytest node id, ``TestX (pkg)``, ``module::test``)."""
    outcome: str
    """passed, failed, error or skipped."""
    detail: str = ""
    """For failures and errors: the runner's report (traceback, assertion, output)."""


def counts(cases: list[TestCase]) -> dict[str, int]:
    """How many cases had each outcome (every outcome present, zero if none)."""
    tally = Counter(case.outcome for case in cases)
    return {outcome: tally.get(outcome, 0) for outcome in OUTCOMES}


def _junit_id(case: ET.Element) -> str:
    file = case.get("file") or ""
    classname = case.get("classname") or ""
    name = case.get("name") or ""
    if not classname and file:
        return file  # a collection error: the module itself
    module = file[:-3].replace("/", ".") if file.endswith(".py") else ""
    if module and classname.startswith(module):
        parts = [file, *filter(None, classname[len(module) :].split(".")), name]
        return "::".join(parts)
    return "::".join(filter(None, [file or classname, name]))


def parse_junit(xml_text: str) -> list[TestCase]:
    """Cases of a pytest JUnit XML report (``-o junit_family=xunit1``, which names the file).

    Raises:
        ValueError: the text is not a JUnit report.
    """
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as exc:
        raise ValueError(f"not a JUnit XML report: {exc}") from None
    cases = []
    for case in root.iter("testcase"):
        outcome, detail = "passed", ""
        for child in case:
            if child.tag in ("failure", "error") and outcome in ("passed", "skipped"):
                outcome = "failed" if child.tag == "failure" else "error"
                detail = (child.text or child.get("message") or "").strip()
            elif child.tag == "skipped" and outcome == "passed":
                outcome = "skipped"
        cases.append(TestCase(_junit_id(case), outcome, detail))
    return cases


def parse_go_json(output: str) -> list[TestCase]:
    """Cases of ``go test -json`` output; a package that fails without a failing test (a build
    error) is one error case named after the package."""
    outputs: dict[tuple[str, str], list[str]] = {}
    cases: list[TestCase] = []
    failed_packages: set[str] = set()
    for line in output.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        package, test, action = event.get("Package", ""), event.get("Test", ""), event.get("Action")
        if action == "output":
            outputs.setdefault((package, test), []).append(event.get("Output", ""))
        elif action in ("pass", "fail", "skip") and test:
            outcome = {"pass": "passed", "fail": "failed", "skip": "skipped"}[action]
            detail = "".join(outputs.get((package, test), [])) if action == "fail" else ""
            cases.append(TestCase(f"{test} ({package})", outcome, detail.strip()))
            if action == "fail":
                failed_packages.add(package)
        elif action == "fail" and package not in failed_packages:
            detail = "".join(outputs.get((package, ""), []))
            cases.append(TestCase(package, "error", detail.strip()))
    return cases


_CARGO_LINE = re.compile(r"^test (\S+) \.\.\. (ok|FAILED|ignored)\b", re.MULTILINE)
_CARGO_SECTION = re.compile(r"^---- (\S+) stdout ----\n(.*?)(?=^---- |^failures:|\Z)", re.MULTILINE | re.DOTALL)


def parse_cargo(output: str) -> list[TestCase]:
    """Cases of ``cargo test`` output (one ``test name ... ok|FAILED|ignored`` line per test)."""
    details = {name: body.strip() for name, body in _CARGO_SECTION.findall(output)}
    outcome = {"ok": "passed", "FAILED": "failed", "ignored": "skipped"}
    return [TestCase(name, outcome[word], details.get(name, "") if word == "FAILED" else "")
            for name, word in _CARGO_LINE.findall(output)]
