"""run_tests on real repositories (pytest through the repository's .venv) and the report parsers."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from asyncfc_tools import PathOutsideWorkspace, ToolError, ToolSettings
from asyncfc_tools._test_reports import TestCase, counts, parse_cargo, parse_go_json
from asyncfc_tools.run_tests import plan_tests, run_tests
from tools_repo import context, make_repo

TESTS = '''import pytest

def test_ok():
    assert 1

def test_also_ok():
    assert "a" in "abc"

def test_bad():
    assert 1 == 2, "one is not two"

@pytest.fixture
def boom():
    raise RuntimeError("fixture broke")

def test_err(boom):
    pass

@pytest.mark.skip(reason="later")
def test_skip():
    pass

class TestMath:
    @pytest.mark.parametrize("x", [1, 2])
    def test_param(self, x):
        assert x == 1
'''


def fake_venv(root: Path) -> Path:
    """A .venv/bin/python in the repository that runs the interpreter these tests run under."""
    python = root / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(f"#!/bin/sh\nexec {sys.executable} \"$@\"\n")
    python.chmod(0o755)
    return python


@pytest.fixture
def repo(tmp_path):
    root = make_repo(tmp_path / "repo", {
        ".gitignore": ".venv/\n",
        "tests/test_mixed.py": TESTS,
        "tests/test_broken.py": "import module_that_does_not_exist\n",
    })
    fake_venv(root)
    return root


@pytest.mark.trio
async def test_counts_failing_ids_and_tails_with_the_repository_venv(repo):
    out = await run_tests.fn(context(repo, shell_timeout_s=60))
    lines = out.splitlines()
    assert lines[0].startswith("pytest: 3 passed, 2 failed, 2 errors, 1 skipped (exit code 1, ")
    assert lines[1].startswith(f"command: {repo / '.venv/bin/python'} -m pytest -q")
    assert lines[2:9] == [
        "failed:",
        "  tests/test_mixed.py::test_bad",
        "  tests/test_mixed.py::TestMath::test_param[2]",
        "errors:",
        "  tests/test_broken.py",
        "  tests/test_mixed.py::test_err",
        "",
    ]
    assert "--- tests/test_mixed.py::test_bad (failed)" in out and "one is not two" in out
    assert "RuntimeError: fixture broke" in out
    assert "No module named 'module_that_does_not_exist'" in out


@pytest.mark.trio
async def test_paths_and_args_narrow_the_run(repo):
    out = await run_tests.fn(context(repo), paths=["tests/test_mixed.py"], args=["-k", "ok"])
    assert out.startswith("pytest: 2 passed, 0 failed, 0 errors, 0 skipped (exit code 0")
    assert out.splitlines()[1].endswith("-k ok tests/test_mixed.py")


@pytest.mark.trio
async def test_paths_outside_the_workspace_are_refused(repo):
    with pytest.raises(PathOutsideWorkspace):
        await run_tests.fn(context(repo), paths=["../elsewhere/test_x.py"])


@pytest.mark.trio
async def test_repository_without_tests_says_so(tmp_path):
    root = make_repo(tmp_path / "empty", {"README.md": "hi\n", "app.py": "print(1)\n"})
    assert (await run_tests.fn(context(root))).startswith("no tests found: no pytest configuration")


@pytest.mark.trio
async def test_pytest_that_collects_nothing(tmp_path):
    root = make_repo(tmp_path / "r", {"pytest.ini": "[pytest]\n", "app.py": "x = 1\n"})
    fake_venv(root)
    out = await run_tests.fn(context(root))
    assert out.startswith("pytest: no tests ran (exit code 5")


@pytest.mark.trio
async def test_timeout_kills_the_run(tmp_path):
    root = make_repo(tmp_path / "r", {"tests/test_slow.py": "import time\ndef test_slow():\n    time.sleep(60)\n"})
    fake_venv(root)
    with pytest.raises(ToolError, match="tests timed out after 1s and were killed"):
        await run_tests.fn(context(root, settings=ToolSettings(kill_grace_s=0.2)), timeout_s=1)


def test_without_a_venv_python_comes_from_path_not_from_asyncfc(tmp_path):
    root = make_repo(tmp_path / "r", {"test_x.py": "def test_x(): pass\n"})
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").write_text("#!/bin/sh\n")
    (bin_dir / "python3").chmod(0o755)
    plan = plan_tests(context(root, env={"PATH": str(bin_dir)}), [], [], tmp_path)
    assert plan is not None and plan.argv[0] == str(bin_dir / "python3")


def test_other_runners_are_detected(tmp_path):
    root = make_repo(tmp_path / "js", {"package.json": json.dumps({"scripts": {"test": "karma start"}})})
    assert plan_tests(context(root), [], [], tmp_path).argv == ("npm", "test", "--silent")
    root = make_repo(tmp_path / "go", {"go.mod": "module x\n"})
    assert plan_tests(context(root), [], [], tmp_path).argv == ("go", "test", "-json", "./...")
    root = make_repo(tmp_path / "rs", {"Cargo.toml": "[package]\n"})
    assert plan_tests(context(root), [], ["--lib"], tmp_path).argv == ("cargo", "test", "--lib")
    root = make_repo(tmp_path / "npm-default", {"package.json": json.dumps(
        {"scripts": {"test": 'echo "Error: no test specified" && exit 1'}})})
    assert plan_tests(context(root), [], [], tmp_path) is None


def test_go_json_parser():
    events = [
        {"Action": "run", "Package": "ex/a", "Test": "TestOk"},
        {"Action": "pass", "Package": "ex/a", "Test": "TestOk"},
        {"Action": "output", "Package": "ex/a", "Test": "TestBad", "Output": "    a_test.go:9: want 2\n"},
        {"Action": "fail", "Package": "ex/a", "Test": "TestBad"},
        {"Action": "skip", "Package": "ex/a", "Test": "TestLater"},
        {"Action": "fail", "Package": "ex/a"},
        {"Action": "output", "Package": "ex/b", "Output": "b.go:3: undefined: x\n"},
        {"Action": "fail", "Package": "ex/b"},
    ]
    cases = parse_go_json("\n".join(json.dumps(e) for e in events))
    assert counts(cases) == {"passed": 1, "failed": 1, "error": 1, "skipped": 1}
    assert TestCase("TestBad (ex/a)", "failed", "a_test.go:9: want 2") in cases
    assert TestCase("ex/b", "error", "b.go:3: undefined: x") in cases


def test_cargo_parser():
    output = """running 3 tests
test tests::adds ... ok
test tests::later ... ignored
test tests::breaks ... FAILED

failures:

---- tests::breaks stdout ----
thread 'tests::breaks' panicked at src/lib.rs:9:9:
assertion failed: 1 == 2

failures:
    tests::breaks

test result: FAILED. 1 passed; 1 failed; 1 ignored; 0 measured; 0 filtered out
"""
    cases = parse_cargo(output)
    assert counts(cases) == {"passed": 1, "failed": 1, "error": 0, "skipped": 1}
    assert [c.detail for c in cases if c.outcome == "failed"] == [
        "thread 'tests::breaks' panicked at src/lib.rs:9:9:\nassertion failed: 1 == 2"]


@pytest.mark.skipif(shutil.which("go") is None, reason="go is not installed")
@pytest.mark.trio
async def test_go_for_real(tmp_path):
    root = make_repo(tmp_path / "g", {"go.mod": "module ex\n\ngo 1.20\n",
                                      "a_test.go": "package ex\nimport \"testing\"\n"
                                                   "func TestOk(t *testing.T) {}\n"
                                                   "func TestBad(t *testing.T) { t.Fatal(\"no\") }\n"})
    out = await run_tests.fn(context(root, env=dict(os.environ)))
    assert out.startswith("go: 1 passed, 1 failed")
