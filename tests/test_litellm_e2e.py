"""``asyncfc run`` as a user runs it, with a real model client (litellm) against the local
OpenAI-format and Anthropic-format servers, real tools, in a throwaway git repository.

The servers play a scripted scenario over HTTP, so the model decides from what it is shown
(placeholders, delivered values) exactly as a real one must. The three modes of one format run
concurrently (each its own server and repository) to keep the suite quick.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from asyncfc_cli.testing.anthropic_server import AnthropicServer
from asyncfc_cli.testing.openai_server import Fault, OpenAIServer

MODES = ("async", "sync", "serial")
KEY = "sk-e2e-RECOGNISABLE-4b1d9e77"

CALC = '''"""Arithmetic helpers."""


def add(a, b):
    """The sum of a and b."""
    return a - b


def mul(a, b):
    """The product of a and b."""
    return a * b
'''

TESTS = '''import unittest

from calc import add, mul


class CalcTest(unittest.TestCase):
    def test_add(self):
        self.assertEqual(add(2, 3), 5)

    def test_mul(self):
        self.assertEqual(mul(2, 3), 6)


if __name__ == "__main__":
    unittest.main()
'''

SCENARIO = """
name: fix_add
steps:
  - say: "I'll read the code and run the tests at the same time."
  - call: read_file
    as: src
    args: {path: calc.py}
  - call: shell
    as: before
    args: {command: "python3 -m unittest -q"}
  - need: [src]
  - say: "add() subtracts its arguments; fixing it."
  - call: edit_file
    as: fix
    args: {path: calc.py, old: "return a - b", new: "return a + b"}
  - call: shell
    as: after
    args: {command: "python3 -m unittest -q"}
  - need: [before, after]
  - answer: "Fixed add() in calc.py: it subtracted; the tests pass now."
"""

FORMATS = {
    "openai": (OpenAIServer, "openai/test-model", "/v1", "OPENAI_API_KEY"),
    "anthropic": (AnthropicServer, "anthropic/claude-sonnet-4-5", "", "ANTHROPIC_API_KEY"),
}


def make_repo(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "calc.py").write_text(CALC)
    (folder / "test_calc.py").write_text(TESTS)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "calc"]):
        subprocess.run(git + args, cwd=folder, check=True, capture_output=True)
    return folder


@dataclass
class Run:
    mode: str
    returncode: int
    events: list[dict]
    stdout: str
    stderr: str
    transcript: str
    calc: str
    requests: int

    def of(self, kind: str) -> list[dict]:
        return [e for e in self.events if e["type"] == kind]


@dataclass(frozen=True)
class Case:
    name: str
    mode: str = "async"
    faults: dict | None = None


def run_cases(tmp_path: Path, fmt: str, cases: list[Case], *, subprocesses: bool = False) -> dict[str, Run]:
    """One server, repository and ``asyncfc run`` per case. In this process by default (litellm is
    imported once, so the suite stays quick); ``subprocesses``: as separate programs started at
    once, exactly as a user runs them."""
    server_cls, model, suffix, key_variable = FORMATS[fmt]
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "fix_add.yaml").write_text(SCENARIO)
    env = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", key_variable: KEY, "ASYNCFC_MODEL": None,
           "ASYNCFC_API_KEY": None, "XDG_STATE_HOME": str(tmp_path / "state"),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    launched = {}
    for case in cases:
        server = server_cls(str(tmp_path / "fix_add.yaml"), faults=case.faults, call_gap_s=0.2)
        server.start()
        repo = make_repo(tmp_path / case.name)
        args = ["run", "fix the failing test", "--model", model, "--api-base", server.base_url + suffix,
                "--mode", case.mode, "--output", "jsonl", "--cwd", str(repo),
                "--transcript", str(tmp_path / f"{case.name}.transcript.jsonl")]
        if subprocesses:
            launched[case.name] = (case, server, repo, _start(args, env))
        else:
            try:
                launched[case.name] = (case, server, repo, _in_process(args, env))
            finally:
                server.stop()
    runs = {}
    for name, (case, server, repo, outcome) in launched.items():
        try:
            if subprocesses:
                stdout, stderr = outcome.communicate(timeout=90)
                code = outcome.returncode
            else:
                code, stdout, stderr = outcome
        finally:
            server.stop()
        transcript = tmp_path / f"{name}.transcript.jsonl"
        runs[name] = Run(case.mode, code, [json.loads(line) for line in stdout.splitlines()],
                         stdout, stderr, transcript.read_text() if transcript.exists() else "",
                         (repo / "calc.py").read_text(), len(server.requests))
    return runs


def _start(args: list[str], env: dict) -> subprocess.Popen:
    full_env = {**os.environ, **env}
    for name in [k for k, v in env.items() if v is None]:
        full_env.pop(name, None)
    return subprocess.Popen([sys.executable, "-m", "asyncfc_cli", *args], env=full_env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)


def _in_process(args: list[str], env: dict) -> tuple[int, str, str]:
    from typer.testing import CliRunner

    from asyncfc_cli.cli import app

    result = CliRunner().invoke(app, args, env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def assert_fixed(run: Run) -> None:
    assert run.returncode == 0, (run.mode, run.stderr[-2000:])
    finished = run.of("session_finished")[-1]
    assert finished["outcome"] == "finished" and finished["exit_code"] == 0
    assert "return a + b" in run.calc and "return a - b" not in run.calc
    after = [f for f in run.of("future_finished") if "OK" in f.get("output", "")]
    assert after, f"{run.mode}: the second test run did not pass"
    assert run.of("request_finished")[0]["usage"]["total_tokens"] > 0


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_a_coding_task_finishes_the_same_in_every_mode(tmp_path, fmt):
    runs = run_cases(tmp_path, fmt, [Case(mode, mode) for mode in MODES])
    for run in runs.values():
        assert_fixed(run)
    assert len({run.calc for run in runs.values()}) == 1
    # Mid-stream dispatch: read_file (f1) started while the response that emitted it was still
    # streaming its next call.
    first_request_end = next(e["t"] for e in runs["async"].of("request_finished") if e["turn"] == 1)
    f1_start = next(e["t"] for e in runs["async"].of("future_started") if e["id"] == "f1")
    assert f1_start < first_request_end


def test_a_users_run_leaves_no_trace_of_the_key(tmp_path):
    """As separate programs, with the key in OPENAI_API_KEY / ANTHROPIC_API_KEY: not in the event
    stream, stderr or the transcript."""
    runs = {**run_cases(tmp_path / "o", "openai", [Case("openai")], subprocesses=True),
            **run_cases(tmp_path / "a", "anthropic", [Case("anthropic")], subprocesses=True)}
    for run in runs.values():
        assert_fixed(run)
        for text in (run.stdout, run.stderr, run.transcript):
            assert KEY not in text


def test_provider_faults_are_retried_visibly_or_end_with_exit_code_3(tmp_path):
    runs = run_cases(tmp_path, "openai", [
        Case("retried", faults={1: Fault.http(429, retry_after=0.2), 2: Fault.http(503)}),
        Case("cut", faults={1: Fault.cut()}),
    ])
    retried, cut = runs["retried"], runs["cut"]
    assert_fixed(retried)
    assert [e["attempt"] for e in retried.of("request_retry")] == [1, 2]
    assert cut.returncode == 3
    assert cut.of("session_finished")[-1]["outcome"] == "model_error"
    # cut inside the last call's arguments (await_future): the complete calls ran, the cut one never
    assert [e["tool"] for e in cut.of("future_created")] == ["read_file", "shell"]
    assert cut.calc == CALC
