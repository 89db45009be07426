"""Test results as values: parsers for pytest's JUnit XML, ``go test -json``, cargo's output, and
the reports of jest, vitest, mocha (xunit) and ``node --test`` (junit).

Pure functions over text, so each runner's format is tested without running it. A report is written
by the repository's own test run, so it is hostile input: XML is parsed with ``defusedxml``, which
refuses entity declarations (billion laughs), external entities and DTD retrieval.
"""

from __future__ import annotations

import json
import re
import textwrap
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass

__all__ = ["TestCase", "counts", "parse_cargo", "parse_go_json", "parse_jest_json", "parse_junit",
           "parse_mocha_xunit", "parse_node_junit", "relative_path", "strip_ansi",
           "clean_js_failure"]

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


def _xml(text: str) -> ET.Element:
    import defusedxml
    import defusedxml.ElementTree

    try:
        return defusedxml.ElementTree.fromstring(text)
    except ET.ParseError as exc:
        raise ValueError(f"not a JUnit XML report: {exc}") from None
    except defusedxml.DefusedXmlException as exc:
        raise ValueError(f"refused the XML report: it declares entities or a DTD ({exc})") from None


def parse_junit(xml_text: str) -> list[TestCase]:
    """Cases of a pytest JUnit XML report (``-o junit_family=xunit1``, which names the file).

    Raises:
        ValueError: the text is not a JUnit report.
    """
    root = _xml(xml_text)
    return [TestCase(_junit_id(case), *_junit_outcome(case)) for case in root.iter("testcase")]


def _junit_outcome(case: ET.Element) -> tuple[str, str]:
    """A ``<testcase>``'s outcome and, for a failure or error, its text."""
    outcome, detail = "passed", ""
    for child in case:
        if child.tag in ("failure", "error") and outcome in ("passed", "skipped"):
            outcome = "failed" if child.tag == "failure" else "error"
            detail = (child.text or child.get("message") or "").strip()
        elif child.tag == "skipped" and outcome == "passed":
            outcome = "skipped"
    return outcome, detail


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


# JavaScript runners behind `npm test`: jest and vitest (one JSON shape), mocha's xunit and node's junit
# reporters (their human summaries are in _test_summaries). Tests are named `file > describe > test`.

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_RUNTIME_FRAME = re.compile(r"^\s*at .*(node_modules[/\\]|\(node:|\bnode:internal/|\(<anonymous>\))")
_JS_OUTCOME = {"passed": "passed", "failed": "failed", "pending": "skipped", "skipped": "skipped",
               "todo": "skipped", "disabled": "skipped"}


def strip_ansi(text: str) -> str:
    """``text`` without terminal colour codes (vitest and mocha colour even into a pipe)."""
    return _ANSI.sub("", text)


def clean_js_failure(text: str) -> str:
    """A failure message without colours and without stack frames in node_modules or node itself:
    what is left points at the user's code."""
    lines = strip_ansi(text).splitlines()
    return textwrap.dedent("\n".join(line for line in lines if not _RUNTIME_FRAME.match(line))).strip()


def relative_path(path: str, root: str) -> str:
    """``path`` relative to ``root`` when it lies inside it (runners report absolute paths)."""
    prefix = root.rstrip("/") + "/"
    path = path.removeprefix("./")
    return path[len(prefix):] if root and path.startswith(prefix) else path


def parse_jest_json(text: str, root: str = "") -> list[TestCase]:
    """Cases of a jest ``--json`` report or vitest's json reporter (the same shape). A test file
    that failed without a failing test (a syntax error, a throwing import or hook) is one error case
    named after the file.

    Raises:
        ValueError: the text is not such a report.
    """
    try:
        files = json.loads(text)["testResults"]
        return [case for file in files for case in _jest_file(file, root)]
    except (ValueError, TypeError, KeyError, AttributeError):
        raise ValueError("not a jest/vitest JSON report") from None


def _jest_file(file: dict, root: str) -> list[TestCase]:
    name = relative_path(str(file.get("name", "")), root)
    cases = []
    for test in file.get("assertionResults") or []:
        outcome = _JS_OUTCOME.get(test.get("status"), "skipped")
        detail = clean_js_failure("\n".join(test.get("failureMessages") or [])) if outcome == "failed" else ""
        cases.append(TestCase(" > ".join([name, *test.get("ancestorTitles", []), str(test.get("title"))]),
                              outcome, detail))
    if file.get("status") == "failed" and not any(case.outcome == "failed" for case in cases):
        cases.append(TestCase(name, "error", clean_js_failure(str(file.get("message") or ""))))
    return cases


def _js_junit_cases(xml_text: str, root: str, use_classname: bool) -> list[TestCase]:
    cases: list[TestCase] = []

    def walk(element: ET.Element, suites: list[str]) -> None:
        for child in element:
            if child.tag == "testsuite":
                walk(child, [*suites, child.get("name") or ""])
            elif child.tag == "testcase":
                file = relative_path(child.get("file") or "", root)
                classname = child.get("classname") if use_classname else ""
                name = relative_path(child.get("name") or "", root)
                outcome, detail = _junit_outcome(child)
                cases.append(TestCase(" > ".join(filter(None, [file, *suites, classname, name])),
                                      outcome, clean_js_failure(detail)))

    walk(_xml(xml_text), [])
    return cases


def parse_mocha_xunit(xml_text: str, root: str = "") -> list[TestCase]:
    """Cases of mocha's xunit reporter (``classname`` holds the describe titles, ``file`` the file).

    Raises:
        ValueError: the text is not XML.
    """
    return _js_junit_cases(xml_text, root, use_classname=True)


def parse_node_junit(xml_text: str, root: str = "") -> list[TestCase]:
    """Cases of ``node --test``'s junit reporter: a ``<testsuite>`` per describe; a test file that
    failed to load is a case named by its path, whose only text is "test failed" (dropped, so the
    report shows the run's output instead).

    Raises:
        ValueError: the text is not XML.
    """
    return [TestCase(case.id, case.outcome) if case.detail.startswith("[Error: test failed]") else case
            for case in _js_junit_cases(xml_text, root, use_classname=False)]

