"""The headless text view makes a run reviewable: each edit's unified diff under its line (coloured
on a terminal, plain when piped) and, at the end, the files changed with lines added and removed
and the tests last run with their counts. A real session: scripted model, real tools, real files."""

from __future__ import annotations

import io
import subprocess

import pytest

from asyncfc_cli import events as ev
from asyncfc_cli.render.changes import runner_counts
from asyncfc_cli.render.text import TextRenderer
from asyncfc_cli.testing.harness import run_scenario
from asyncfc_tools import builtin_tools

CALC = "def add(a, b):\n    return a - b\n\n\ndef double(x):\n    return x * 2\n"
TESTS = ("import unittest\nfrom calc import add\n\n\nclass T(unittest.TestCase):\n"
         "    def test_add(self):\n        self.assertEqual(add(2, 2), 4)\n\n"
         "    def test_zero(self):\n        self.assertEqual(add(0, 0), 0)\n")
SCENARIO = {"name": "fix", "profile": {"ttft_s": 0.01, "tokens_per_s": 1000}, "steps": [
    {"call": "edit_file", "as": "e", "args": {"path": "calc.py", "old": "a - b", "new": "a + b"}},
    {"call": "write_file", "as": "w", "args": {"path": "notes.txt", "content": "fixed add\nchecked\n"}},
    {"call": "shell", "as": "t", "args": {"command": "python3 -m unittest"}},
    {"need": ["e", "w", "t"]},
    {"answer": "Fixed add; both tests pass."},
]}


@pytest.fixture
def repo(tmp_path):
    (tmp_path / "calc.py").write_text(CALC)
    (tmp_path / "test_calc.py").write_text(TESTS)
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"]):
        subprocess.run(["git", *args], cwd=tmp_path, check=True)
    return tmp_path


async def rendered(repo, color: bool, scenario: dict = SCENARIO) -> str:
    run = await run_scenario(scenario, tools=builtin_tools(), root=repo)
    assert run.outcome.exit_code == 0, run.outcome
    out = io.StringIO()
    renderer = TextRenderer(out, color=color)
    for event in run.events:
        renderer(event)
    return out.getvalue()


@pytest.mark.trio
async def test_each_edit_shows_its_diff_and_the_end_summarises_files_and_tests(repo):
    lines = (await rendered(repo, color=False)).split("\n")
    edited = next(i for i, line in enumerate(lines) if "✓ f1 edit_file" in line)
    assert "edited calc.py: 1 replacement" in lines[edited]
    assert [line.strip() for line in lines[edited + 1:edited + 4]] == ["--- a/calc.py", "+++ b/calc.py", "@@ -1,5 +1,5 @@"]
    diff_body = lines[edited + 4:edited + 11]
    assert "-    return a - b" in [line[12:] for line in diff_body]
    assert "+    return a + b" in [line[12:] for line in diff_body]
    assert "\033[" not in "\n".join(lines)  # plain when not a terminal
    end = lines[-6:]
    assert end[0].endswith("] 2 files changed, +3 -1")
    assert end[1].split() == ["calc.py", "+1", "-1"]
    assert end[2].split() == ["notes.txt", "+2", "(new)"]
    assert end[3].strip() == "tests last run: f3 python3 -m unittest: 2 passed"
    assert "finished (exit 0)" in end[4] and end[5] == ""


@pytest.mark.trio
async def test_on_a_terminal_the_diff_is_coloured_by_line_kind(repo):
    output = await rendered(repo, color=True)
    assert "\033[31m            -    return a - b\033[0m" in output
    assert "\033[32m            +    return a + b\033[0m" in output


def test_a_failed_setup_prints_the_reason_then_the_verdict():
    out = io.StringIO()
    TextRenderer(out, color=False)(ev.SessionFinished(t=0.0, outcome="config_error", exit_code=2,
                                                      message="no model configured."))
    assert out.getvalue().split("\n") == ["[   0.00s] no model configured.",
                                          "[   0.00s] config_error (exit 2) · 0 requests · 0 tokens", ""]


@pytest.mark.parametrize("output, counts", [
    ("..\n------\nRan 4 tests in 2.1s\n\nFAILED (failures=1, errors=1)\n", "2 failed, 2 passed"),
    ("Ran 3 tests in 0.1s\n\nOK\n", "3 passed"),
    ("collected 9\n===== 2 failed, 7 passed in 0.51s =====\n", "2 failed, 7 passed"),
    ("exit code 0", ""),
])
def test_test_counts_are_read_from_what_the_runner_printed(output, counts):
    assert runner_counts(output) == counts


SHELL_SCENARIO = {"name": "gen", "profile": {"ttft_s": 0.01, "tokens_per_s": 1000}, "steps": [
    {"call": "edit_file", "as": "e", "args": {"path": "calc.py", "old": "a - b", "new": "a + b"}},
    {"need": ["e"]},
    {"call": "shell", "as": "g", "args": {"command": "printf 'x\\n' > gen.txt && sed -i s/x/y/ calc.py"}},
    {"need": ["g"]},
    {"call": "shell", "as": "d", "args": {"command": "mkdir -p out && echo 1 > out/a.txt", "writes": ["out/"]}},
    {"call": "shell", "as": "r", "args": {"command": "git status --short"}},
    {"need": ["d", "r"]},
    {"answer": "Done."},
]}


@pytest.mark.trio
async def test_the_summary_lists_the_files_commands_changed_and_names_the_command(repo):
    lines = (await rendered(repo, color=False, scenario=SHELL_SCENARIO)).split("\n")
    start = next(i for i, line in enumerate(lines) if "files changed" in line)
    assert lines[start].endswith("] 3 files changed, +1 -1")
    assert [line.split(None, 1) for line in lines[start + 1:start + 4]] == [
        ["calc.py", "+1 -1, also changed by f3 shell"],
        ["gen.txt", "changed by f3 shell"],
        ["out/a.txt", "changed by f5 shell"],
    ]


def test_files_only_commands_changed_are_listed_without_line_counts():
    from asyncfc_cli.render.changes import ChangeTally, summary_lines

    tally = ChangeTally()
    tally.apply(ev.FutureCreated(t=0.0, id="f1", tool="shell", args={"command": "make"}, effect="exclusive"))
    tally.apply(ev.FilesChanged(t=0.5, id="f1", paths=("build/out.txt", "gen.py")))
    assert summary_lines(tally) == ["2 files changed", "  build/out.txt  changed by f1 shell",
                                    "  gen.py         changed by f1 shell"]


def test_the_verdict_counts_one_request_in_the_singular():
    """A resumed follow-up is often one request: "1 requests" reads as a slip."""
    out = io.StringIO()
    TextRenderer(out, color=False)(ev.SessionFinished(t=1.0, outcome="finished", exit_code=0, turns=1,
                                                      usage={"total_tokens": 5302}))
    assert out.getvalue() == "[   1.00s] finished (exit 0) · 1 request · 5302 tokens\n"
