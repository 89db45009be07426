"""run_tests behind `npm test`: which framework a script runs, the report arguments it gets, the
parsers for jest/vitest JSON, mocha xunit, node junit and the runners' summary lines, and a real
node --test run when node and npm are installed."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from asyncfc_tools._npm_tests import NpmTests, detect_framework, npm_cases, npm_test_argv
from asyncfc_tools._process import CommandResult
from asyncfc_tools._test_reports import TestCase, counts, parse_jest_json, parse_mocha_xunit, parse_node_junit
from asyncfc_tools._test_summaries import parse_test_summary, spec_file_output
from asyncfc_tools.run_tests import TestPlan, format_report, plan_tests, run_tests
from tools_repo import context, make_repo

ROOT = "/work/app"

JEST_REPORT = {
    "numFailedTests": 2, "numPassedTests": 2, "numTotalTests": 5, "success": False,
    "testResults": [
        {"name": f"{ROOT}/src/math.test.js", "status": "failed", "message": "  ● breaks\n...",
         "assertionResults": [
             {"ancestorTitles": [], "title": "adds", "fullName": "adds", "status": "passed",
              "failureMessages": []},
             {"ancestorTitles": [], "title": "breaks", "fullName": "breaks", "status": "failed",
              "failureMessages": [
                  "Error: expect(received).toBe(expected) // Object.is equality\n\nExpected: 3\n"
                  "Received: 2\n    at Object.toBe (/work/app/src/math.test.js:2:38)\n"
                  "    at Promise.finally.completed (/work/app/node_modules/jest-circus/build/a.js:1:2)\n"
                  "    at new Promise (<anonymous>)"]},
             {"ancestorTitles": [], "title": "later", "status": "pending", "failureMessages": []},
             {"ancestorTitles": [], "title": "planned", "status": "todo", "failureMessages": []},
             {"ancestorTitles": ["suite", "nested"], "title": "inner bad", "status": "failed",
              "failureMessages": ["Error: inner boom\n    at Object.<anonymous> (src/math.test.js:7:33)"]},
             {"ancestorTitles": ["suite"], "title": "inner ok", "status": "passed", "failureMessages": []},
         ]},
        {"name": f"{ROOT}/src/broken.test.js", "status": "failed", "assertionResults": [],
         "message": "  ● Test suite failed to run\n\n    SyntaxError: Missing semicolon. (1:6)\n"
                    "      at constructor (../node_modules/@babel/parser/src/parse-error.ts:96:45)"},
    ],
}

VITEST_REPORT = {  # vitest's json reporter: jest's shape, "skipped" instead of "pending", no file message on success
    "numTotalTests": 3, "numFailedTests": 1,
    "testResults": [
        {"name": f"{ROOT}/test/broken.test.ts", "status": "failed", "assertionResults": [],
         "message": "Failed to parse source for import analysis because the content contains invalid JS syntax."},
        {"name": f"{ROOT}/test/api.test.ts", "status": "failed", "message": "",
         "assertionResults": [
             {"ancestorTitles": ["api"], "title": "logs in", "fullName": "api logs in", "status": "passed",
              "failureMessages": []},
             {"ancestorTitles": ["api"], "title": "logs out", "status": "failed", "failureMessages": [
                 "AssertionError: expected 2 to be 3 // Object.is equality\n    at /work/app/test/api.test.ts:9:20\n"
                 "    at file:///work/app/node_modules/@vitest/runner/dist/index.js:1:1"]},
             {"ancestorTitles": [], "title": "later", "status": "skipped", "failureMessages": []},
         ]},
    ],
}

MOCHA_XUNIT = """<testsuite name="Mocha Tests" tests="5" failures="0" errors="2" skipped="1" time="0.005">
<testcase classname="" name="adds" file="/work/app/test/math.test.js" time="0"/>
<testcase classname="" name="breaks" file="/work/app/test/math.test.js" time="0.002"><failure>Expected values to be strictly equal:

2 !== 3

AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:
    at Context.&#x3C;anonymous&#x3E; (test/math.test.js:3:29)
    at process.processImmediate (node:internal/timers:483:21)</failure></testcase>
<testcase classname="" name="later" file="/work/app/test/math.test.js" time="0"><skipped/></testcase>
<testcase classname="suite nested" name="deep" file="/work/app/test/math.test.js" time="0"/>
<testcase classname="suite hooked" name="&#x22;before all&#x22; hook for &#x22;never&#x22;" file="/work/app/test/math.test.js" time="0"><failure>hook boom
Error: hook boom
    at Context.&#x3C;anonymous&#x3E; (test/math.test.js:10:51)</failure></testcase>
</testsuite>
"""

NODE_JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites>
	<testcase name="/work/app/test/broken.test.js" time="0.068" classname="test" failure="test failed">
		<failure type="testCodeFailure" message="test failed">
[Error: test failed] { code: 'ERR_TEST_FAILURE', failureType: 'testCodeFailure', cause: 'test failed', exitCode: 1, signal: null }
		</failure>
	</testcase>
	<testcase name="adds" time="0.0007" classname="test"/>
	<testcase name="later" time="0.00008" classname="test">
		<skipped type="skipped" message="not yet"/>
	</testcase>
	<testcase name="planned" time="0.00008" classname="test">
		<skipped type="todo" message="true"/>
	</testcase>
	<testsuite name="suite" time="0.0005" disabled="0" errors="0" tests="2" failures="1" skipped="0">
		<testcase name="inner bad" time="0.00006" classname="test" failure="inner boom">
			<failure type="testCodeFailure" message="inner boom">
Error [ERR_TEST_FAILURE]: inner boom
  cause: Error: inner boom
      at TestContext.&lt;anonymous> (/work/app/test/math.test.js:9:38)
      at Test.runInAsyncScope (node:async_hooks:206:9)
      at Test.run (node:internal/test_runner/test:796:25)
}
			</failure>
		</testcase>
		<testsuite name="nested" time="0.0002" disabled="0" errors="0" tests="1" failures="0" skipped="0">
			<testcase name="deep" time="0.00007" classname="test"/>
		</testsuite>
	</testsuite>
	<!-- tests 6 -->
	<!-- pass 2 -->
	<!-- fail 2 -->
</testsuites>
"""

JEST_OUTPUT = """FAIL ./src/math.test.js
  ● breaks

    expect(received).toBe(expected) // Object.is equality

  ● suite › inner bad

    inner boom

FAIL ./src/broken.test.js
  ● Test suite failed to run

    SyntaxError: /work/app/src/broken.test.js: Missing semicolon. (1:6)

Test Suites: 2 failed, 2 total
Tests:       2 failed, 1 skipped, 1 todo, 3 passed, 7 total
Snapshots:   0 total
Time:        0.381 s
"""

VITEST_OUTPUT = """
\x1b[1m\x1b[30m\x1b[46m RUN \x1b[49m\x1b[39m\x1b[22m \x1b[36mv4.1.12 \x1b[39m\x1b[90m/work/app\x1b[39m

 \x1b[31m❯\x1b[39m math.test.js \x1b[2m(\x1b[22m\x1b[2m4 tests\x1b[22m\x1b[2m | \x1b[22m\x1b[31m2 failed\x1b[39m\x1b[2m)\x1b[22m
\x1b[2m Test Files \x1b[22m \x1b[1m\x1b[31m2 failed\x1b[39m\x1b[22m\x1b[90m (2)\x1b[39m
\x1b[2m      Tests \x1b[22m \x1b[1m\x1b[31m2 failed\x1b[39m\x1b[22m\x1b[2m | \x1b[22m\x1b[1m\x1b[32m3 passed\x1b[39m\x1b[22m\x1b[2m | \x1b[22m\x1b[33m1 skipped\x1b[39m\x1b[2m | \x1b[22m\x1b[90m1 todo\x1b[39m\x1b[90m (7)\x1b[39m

\x1b[31m⎯⎯⎯⎯⎯⎯\x1b[39m\x1b[1m\x1b[41m Failed Suites 1 \x1b[49m\x1b[22m\x1b[31m⎯⎯⎯⎯⎯⎯⎯\x1b[39m

\x1b[41m\x1b[1m FAIL \x1b[22m\x1b[49m broken.test.js\x1b[2m [ broken.test.js ]\x1b[22m
\x1b[31m\x1b[1mError\x1b[22m: Failed to parse source for import analysis\x1b[39m

\x1b[41m\x1b[1m FAIL \x1b[22m\x1b[49m math.test.js\x1b[2m > \x1b[22mbreaks
\x1b[31m\x1b[1mAssertionError\x1b[22m: expected 2 to be 3 // Object.is equality\x1b[39m

\x1b[41m\x1b[1m FAIL \x1b[22m\x1b[49m math.test.js\x1b[2m > \x1b[22msuite\x1b[2m > \x1b[22minner bad
\x1b[31m\x1b[1mError\x1b[22m: inner boom\x1b[39m
"""

MOCHA_OUTPUT = """

  ✔ adds
  1) breaks
  - later
  suite
    2) inner bad
    nested
      ✔ deep


  2 passing (5ms)
  1 pending
  2 failing

  1) breaks:

      AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:
      at Context.<anonymous> (test/math.test.js:3:29)

  2) suite
       nested
         inner bad:
     Error: inner boom
      at Context.<anonymous> (test/math.test.js:8:33)

"""

NODE_TAP = """TAP version 13
# Subtest: /work/app/test/broken.test.js
not ok 1 - /work/app/test/broken.test.js
  ---
  error: 'test failed'
  ...
# Subtest: adds
ok 2 - adds
  ---
  duration_ms: 0.758391
  ...
# Subtest: later
ok 3 - later # SKIP not yet
# Subtest: planned
not ok 4 - planned # TODO
# Subtest: suite
    # Subtest: inner bad
    not ok 1 - inner bad
      ---
      error: 'inner boom'
      ...
    # Subtest: nested
        # Subtest: deep
        ok 1 - deep
        1..1
    ok 2 - nested
    1..2
not ok 5 - suite
  ---
  failureType: 'subtestsFailed'
  ...
1..5
# tests 6
# suites 2
# pass 2
# fail 2
# cancelled 0
# skipped 1
# todo 1
"""

NODE_SPEC = """✔ adds (0.7ms)
▶ suite
  ✖ inner bad (0.1ms)
ℹ tests 3
ℹ suites 1
ℹ pass 1
ℹ fail 2
ℹ skipped 0

✖ failing tests:

test at test/math.test.js:4:1
✖ breaks (0.809037ms)
  AssertionError [ERR_ASSERTION]: one plus one

test at test/math.test.js:9:8
✖ inner bad (0.132158ms)
  Error: inner boom
"""


def failing(cases: list[TestCase]) -> list[tuple[str, str]]:
    return [(c.id, c.outcome) for c in cases if c.outcome in ("failed", "error")]


def test_jest_json_names_tests_by_file_and_describe_and_keeps_the_users_frames():
    cases = parse_jest_json(json.dumps(JEST_REPORT), ROOT)
    assert counts(cases) == {"passed": 2, "failed": 2, "error": 1, "skipped": 2}
    assert failing(cases) == [("src/math.test.js > breaks", "failed"),
                              ("src/math.test.js > suite > nested > inner bad", "failed"),
                              ("src/broken.test.js", "error")]
    breaks = next(c for c in cases if c.id.endswith("> breaks"))
    assert "Expected: 3" in breaks.detail and "math.test.js:2:38" in breaks.detail
    assert "node_modules" not in breaks.detail and "<anonymous>)" not in breaks.detail
    assert "SyntaxError: Missing semicolon" in cases[-1].detail


def test_vitest_json_has_the_same_shape():
    cases = parse_jest_json(json.dumps(VITEST_REPORT), ROOT)
    assert counts(cases) == {"passed": 1, "failed": 1, "error": 1, "skipped": 1}
    assert failing(cases) == [("test/broken.test.ts", "error"), ("test/api.test.ts > api > logs out", "failed")]


def test_json_that_is_not_a_report_is_refused():
    for text in ("{", "[]", '{"testResults": 3}', '{"numTotalTests": 1}'):
        with pytest.raises(ValueError):
            parse_jest_json(text)


def test_mocha_xunit():
    cases = parse_mocha_xunit(MOCHA_XUNIT, ROOT)
    assert counts(cases) == {"passed": 2, "failed": 2, "error": 0, "skipped": 1}
    assert failing(cases) == [("test/math.test.js > breaks", "failed"),
                              ('test/math.test.js > suite hooked > "before all" hook for "never"', "failed")]
    assert "2 !== 3" in cases[1].detail and "node:internal" not in cases[1].detail


def test_node_junit_nests_suites_and_leaves_a_file_that_did_not_load_to_the_output():
    cases = parse_node_junit(NODE_JUNIT, ROOT)
    assert counts(cases) == {"passed": 2, "failed": 2, "error": 0, "skipped": 2}
    assert failing(cases) == [("test/broken.test.js", "failed"), ("suite > inner bad", "failed")]
    assert cases[0].detail == ""  # "test failed" says nothing: the report shows the output instead
    assert "math.test.js:9:38" in cases[-2].detail and "node:async_hooks" not in cases[-2].detail
    with pytest.raises(ValueError):
        parse_node_junit("<testsuites><testcase")


@pytest.mark.parametrize(("output", "tally", "bad"), [
    (JEST_OUTPUT, {"passed": 3, "failed": 2, "error": 1, "skipped": 2},
     [("src/math.test.js > breaks", "failed"), ("src/math.test.js > suite > inner bad", "failed"),
      ("src/broken.test.js", "error")]),
    (VITEST_OUTPUT, {"passed": 3, "failed": 2, "error": 1, "skipped": 2},
     [("math.test.js > breaks", "failed"), ("math.test.js > suite > inner bad", "failed"),
      ("broken.test.js", "error")]),
    (MOCHA_OUTPUT, {"passed": 2, "failed": 2, "error": 0, "skipped": 1},
     [("breaks", "failed"), ("suite > nested > inner bad", "failed")]),
    (NODE_TAP, {"passed": 2, "failed": 2, "error": 0, "skipped": 2},
     [("test/broken.test.js", "failed"), ("suite > inner bad", "failed")]),
    (NODE_SPEC, {"passed": 1, "failed": 2, "error": 0, "skipped": 0},
     [("breaks", "failed"), ("inner bad", "failed")]),
], ids=["jest", "vitest", "mocha", "tap", "node-spec"])
def test_summary_lines(output, tally, bad):
    cases = parse_test_summary(output, ROOT)
    assert cases is not None and counts(cases) == tally
    assert failing(cases) == bad


def test_summary_counts_failures_it_cannot_name_and_recognises_nothing_else():
    cases = parse_test_summary("\n  5 passing (3ms)\n  2 failing\n\n  1) adds:\n     Error: x\n")
    assert counts(cases)["failed"] == 2 and [c.id for c in cases if c.outcome == "failed"] == ["adds", ""]
    assert parse_test_summary("> build\nDone in 3s\nok\n") is None


@pytest.mark.parametrize(("scripts", "expected"), [
    ({"test": "jest"}, NpmTests("jest", 0, ("jest",))),
    ({"test": "cross-env NODE_ENV=test jest --coverage"},
     NpmTests("jest", 0, ("cross-env", "NODE_ENV=test", "jest", "--coverage"))),
    ({"test": "npm run lint && vitest run"}, NpmTests("vitest", 0, ("vitest", "run"))),
    ({"test": "c8 --reporter=lcov mocha 'test/**/*.spec.js'"},
     NpmTests("mocha", 0, ("c8", "--reporter=lcov", "mocha", "test/**/*.spec.js"))),
    ({"test": "node --test test/"}, NpmTests("node", 0, ("node", "--test", "test/"))),
    ({"test": "npm run unit", "unit": "./node_modules/.bin/jest src"},
     NpmTests("jest", 1, ("./node_modules/.bin/jest", "src"))),
    ({"test": "npm run unit --", "unit": "vitest"}, NpmTests("vitest", 0, ("vitest",))),
    ({"test": "vitest run && eslint ."}, NpmTests("")),  # our arguments would reach eslint
    ({"test": "node scripts/test.js"}, NpmTests("")),
    ({"test": "npm run test"}, NpmTests("")),
    ({"test": "jest 'unbalanced"}, NpmTests("")),
], ids=["jest", "cross-env", "after-lint", "c8-mocha", "node", "npm-run", "npm-run-dashes", "not-last",
        "node-script", "loop", "bad-quote"])
def test_detect_framework(scripts, expected):
    assert detect_framework(scripts) == expected


def test_report_arguments_go_after_the_separators_that_reach_the_framework(tmp_path):
    env = {"PATH": ""}
    jest = npm_test_argv(NpmTests("jest", 0, ("jest",)), ["-t", "adds"], ["src/a.test.js"], tmp_path, env)
    assert jest == ("npm", "test", "--silent", "--", "--json", f"--outputFile={tmp_path / 'jest.json'}",
                    "-t", "adds", "src/a.test.js")
    vitest = npm_test_argv(NpmTests("vitest", 1, ("vitest",)), [], [], tmp_path, env)
    assert vitest == ("npm", "test", "--silent", "--", "--", "--reporter=default", "--reporter=json",
                      f"--outputFile.json={tmp_path / 'vitest.json'}")
    mocha = npm_test_argv(NpmTests("mocha", 0, ("mocha",)), [], [], tmp_path, env)
    assert mocha[4:] == ("--reporter", "xunit", "--reporter-option", f"output={tmp_path / 'mocha-xunit.xml'}")
    assert npm_test_argv(NpmTests(""), [], [], tmp_path, env) == ("npm", "test", "--silent")


def test_a_reporter_the_user_chose_is_left_alone(tmp_path):
    env = {"PATH": ""}
    for found, args in [(NpmTests("mocha", 0, ("mocha", "--reporter", "dot")), []),
                        (NpmTests("jest", 0, ("jest",)), ["--json"]),
                        (NpmTests("vitest", 0, ("vitest", "--reporter=verbose")), ["-t", "x"])]:
        assert npm_test_argv(found, args, [], tmp_path, env) == ("npm", "test", "--silent",
                                                                 *(("--", *args) if args else ()))


def fake_node(bin_dir: Path, version: str) -> dict[str, str]:
    bin_dir.mkdir(parents=True)
    (bin_dir / "node").write_text(f"#!/bin/sh\necho {version}\n")
    (bin_dir / "node").chmod(0o755)
    return {"PATH": str(bin_dir), "NODE_OPTIONS": "--max-old-space-size=4096"}


def test_node_gets_its_reporters_through_node_options_when_it_has_junit(tmp_path):
    found = NpmTests("node", 0, ("node", "--test", "test/"))
    argv = npm_test_argv(found, [], ["test/a.test.js"], tmp_path, fake_node(tmp_path / "new", "v20.20.2"))
    assert argv[:2] == ("env", "NODE_OPTIONS=--max-old-space-size=4096 --test-reporter=spec "
                        "--test-reporter-destination=stdout --test-reporter=junit "
                        f"--test-reporter-destination={tmp_path / 'node-junit.xml'}")
    assert argv[2:] == ("npm", "test", "--silent", "--", "test/a.test.js")
    bare = npm_test_argv(found, [], [], tmp_path, {"PATH": str(tmp_path / "new")})
    assert bare[1].startswith("NODE_OPTIONS=--test-reporter=spec ")
    old = npm_test_argv(found, [], [], tmp_path, fake_node(tmp_path / "old", "v18.12.0"))
    assert old == ("npm", "test", "--silent")  # no junit reporter: its TAP or spec summary is read


def test_cases_come_from_the_report_else_from_the_summary(tmp_path):
    assert npm_cases("jest", tmp_path, JEST_OUTPUT, ROOT) == parse_test_summary(JEST_OUTPUT, ROOT)
    (tmp_path / "jest.json").write_text(json.dumps(JEST_REPORT))
    assert npm_cases("jest", tmp_path, "", ROOT) == parse_jest_json(json.dumps(JEST_REPORT), ROOT)
    (tmp_path / "jest.json").write_text("{truncated")
    assert npm_cases("jest", tmp_path, JEST_OUTPUT, ROOT) == parse_test_summary(JEST_OUTPUT, ROOT)
    assert npm_cases("", tmp_path, "lint ok\n", ROOT) is None


def test_a_node_test_file_that_did_not_load_gets_what_it_printed(tmp_path):
    spec = ("✔ adds (0.7ms)\n/work/app/test/broken.test.js:1\nsyntax error here (\n       ^^^^^\n\n"
            "SyntaxError: Unexpected identifier 'error'\n    at wrapSafe (node:internal/modules/cjs/loader:1464:18)\n"
            "\nNode.js v20.20.2\n✖ /work/app/test/broken.test.js (137.7ms)\n  'test failed'\n")
    assert spec_file_output(spec, "test/broken.test.js") == (
        "/work/app/test/broken.test.js:1\nsyntax error here (\n       ^^^^^\n\n"
        "SyntaxError: Unexpected identifier 'error'\n\nNode.js v20.20.2")
    assert spec_file_output(spec, "test/other.test.js") == ""
    (tmp_path / "node-junit.xml").write_text(NODE_JUNIT)
    cases = npm_cases("node", tmp_path, spec, ROOT)
    assert cases[0].id == "test/broken.test.js" and "SyntaxError" in cases[0].detail


def test_report_from_a_summary_lists_named_failures_with_their_text():
    plan = TestPlan("npm", ("npm", "test", "--silent"), "mocha", ROOT)
    out = format_report(plan, CommandResult(1, MOCHA_OUTPUT, "", 0.4), parse_test_summary(MOCHA_OUTPUT), 20_000)
    lines = out.splitlines()
    assert lines[0] == "npm (mocha): 2 passed, 2 failed, 0 errors, 1 skipped (exit code 1, 0.4s)"
    assert lines[2:5] == ["failed:", "  breaks", "  suite > nested > inner bad"]
    assert "--- suite > nested > inner bad (failed)\nError: inner boom" in out
    assert "--- output (tail)" not in out


def test_failures_the_output_does_not_name_are_shown_through_the_output_tail():
    output = "running...\nboom: something broke\n# pass 4\n# fail 1\n"
    out = format_report(TestPlan("npm", ("npm", "test")), CommandResult(1, output, "", 0.1),
                        parse_test_summary(output), 20_000)
    assert out.startswith("npm: 4 passed, 1 failed, 0 errors, 0 skipped")
    assert "failed:" not in out and "--- output (tail)\nrunning...\nboom: something broke" in out


def test_plan_for_a_package_with_jest(tmp_path):
    root = make_repo(tmp_path / "js", {"package.json": json.dumps({"scripts": {"test": "jest --ci"}})})
    plan = plan_tests(context(root), [], [], tmp_path)
    assert (plan.runner, plan.framework, plan.root) == ("npm", "jest", str(root))
    assert plan.argv[3:5] == ("--", "--json")


NODE_SUITE = """const test = require('node:test');
const assert = require('node:assert');
test('adds', () => { assert.strictEqual(1 + 1, 2); });
test('breaks', () => { assert.strictEqual(1 + 1, 3, 'one plus one'); });
test('later', { skip: 'not yet' }, () => {});
test.describe('suite', () => {
  test.it('inner ok', () => {});
  test.it('inner bad', () => { throw new Error('inner boom'); });
});
"""


@pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None, reason="node/npm not installed")
@pytest.mark.parametrize(("script", "from_report"), [("node --test test/", True),
                                                     ("node --test --test-reporter=tap test/", False)],
                         ids=["junit-report", "tap-summary"])
@pytest.mark.trio
async def test_node_test_for_real(tmp_path, script, from_report):
    root = make_repo(tmp_path / "n", {"package.json": json.dumps({"name": "n", "scripts": {"test": script}}),
                                      "test/math.test.js": NODE_SUITE, "test/broken.test.js": "syntax error here (\n"})
    out = await run_tests.fn(context(root, env=dict(os.environ), shell_timeout_s=60))
    lines = out.splitlines()
    assert lines[0].startswith("npm (node): 2 passed, 3 failed, 0 errors, 1 skipped (exit code 1, "), out
    assert lines[2] == "failed:"
    assert sorted(lines[3:6]) == ["  breaks", "  suite > inner bad", "  test/broken.test.js"]
    assert "one plus one" in out
    assert ("--test-reporter=junit" in lines[1]) is from_report
    if from_report:  # the file's own output, which its junit entry lacks
        assert "SyntaxError: Unexpected identifier" in out
