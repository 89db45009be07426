"""Sub-agents over litellm's real HTTP path: ``asyncfc run`` as a program, against the shipped
OpenAI-compatible (and Anthropic) server, whose scenario plays the parent's script and, for each
sub-agent's own conversation (its first message is its task), that sub-agent's script."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from asyncfc_cli.testing.anthropic_server import AnthropicServer
from asyncfc_cli.testing.openai_server import OpenAIServer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

CALC = "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n"
ADD_TASK = "What does add() in calc.py return? Answer with the expression and the line."
MUL_TASK = "What does mul() in calc.py return? Answer with the expression and the line."


def helper(label: str, task: str, name: str, answer: str) -> dict:
    """An ``agent`` step whose sub-agent greps for ``name``, reads the file, and answers."""
    return {"call": "agent", "as": label, "args": {"task": task}, "agent": {"steps": [
        {"say": f"Looking for {name}."},
        {"call": "grep", "as": "g", "args": {"pattern": f"def {name}", "path": "calc.py"}},
        {"call": "read_file", "as": "r", "args": {"path": "calc.py"}},
        {"need": ["g", "r"]},
        {"answer": answer},
    ]}}


SCENARIO = {"name": "two_helpers", "steps": [
    {"say": "Two independent questions: a sub-agent for each."},
    helper("a", ADD_TASK, "add", "add() returns a - b (calc.py:2)."),
    helper("b", MUL_TASK, "mul", "mul() returns a * b (calc.py:6)."),
    {"need": ["a", "b"]},
    {"answer": "add() subtracts (calc.py:2); mul() multiplies (calc.py:6)."},
]}


FORMATS = {"openai": (OpenAIServer, "openai/x", "/v1", "OPENAI_API_KEY"),
           "anthropic": (AnthropicServer, "anthropic/claude-sonnet-4-5", "", "ANTHROPIC_API_KEY")}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_two_sub_agents_run_concurrently_over_http_and_the_parent_gets_both_answers(tmp_path, fmt):
    server_class, model, suffix, key = FORMATS[fmt]
    (tmp_path / "calc.py").write_text(CALC)
    (tmp_path / "two_helpers.json").write_text(json.dumps(SCENARIO))
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", key: "sk-test",
           "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    for name in ("ASYNCFC_MODEL", "ASYNCFC_API_KEY"):
        env.pop(name, None)
    with server_class(str(tmp_path / "two_helpers.json"), chunk_delay_s=0.01) as server:
        out = subprocess.run(
            [sys.executable, "-m", "asyncfc_cli", "run", "explain add and mul", "--headless", "--output", "jsonl",
             "--model", model, "--api-base", server.base_url + suffix, "--cwd", str(tmp_path)],
            env=env, capture_output=True, text=True, timeout=100, stdin=subprocess.DEVNULL)
        conversations = [server.conversation(body)[0] for body in server.requests]  # in OpenAI form
    assert out.returncode == 0, out.stderr[-3000:]
    events = [json.loads(line) for line in out.stdout.splitlines()]
    own = [e for e in events if "parent" not in e]
    nested = [e for e in events if "parent" in e]

    # The parent's two agent futures got the sub-agents' answers, and its last request held both.
    agents = {e["id"]: e for e in own if e["type"] == "future_finished" and e["id"] in ("f1", "f2")}
    assert agents["f1"]["output"] == "add() returns a - b (calc.py:2)."
    assert agents["f2"]["output"] == "mul() returns a * b (calc.py:6)."
    last_parent = json.dumps(conversations[-1])
    assert "add() returns a - b" in last_parent and "mul() returns a * b" in last_parent
    assert own[-1]["type"] == "session_finished" and own[-1]["exit_code"] == 0

    # Each sub-agent's conversation started with its own brief and its task, and ran its own tools.
    firsts = [m for m in conversations if not any(message["role"] == "assistant" for message in m)]
    tasks = sorted(m[1]["content"] for m in firsts if m[0]["content"].startswith("You are a sub-agent"))
    assert tasks == sorted([ADD_TASK, MUL_TASK])
    assert {e["parent"] for e in nested} == {"f1", "f2"}
    for parent in ("f1", "f2"):
        tools = [e["tool"] for e in nested if e["parent"] == parent and e["type"] == "future_created"]
        assert tools[:2] == ["grep", "read_file"]

    # They ran at once: each started before the other finished.
    started = {e["id"]: e["t"] for e in own if e["type"] == "future_started" and e["id"] in ("f1", "f2")}
    assert max(started.values()) < min(agents["f1"]["t"], agents["f2"]["t"])
    for parent, other in (("f1", "f2"), ("f2", "f1")):  # each asked the model while the other ran
        asked = [e["t"] for e in nested if e["parent"] == parent and e["type"] == "request_started"]
        assert any(started[other] < t < agents[other]["t"] for t in asked)

    # Totals add up: every request, the parent's and the sub-agents', is in the session's usage.
    requests = [e for e in events if e["type"] == "request_finished"]
    assert len(requests) == len(conversations) and any("parent" in e for e in requests)
    total = sum(e["usage"]["total_tokens"] for e in requests)
    assert own[-1]["usage"]["total_tokens"] == total > 0


def test_a_scenario_whose_sub_agents_cannot_be_told_apart_is_refused_in_words():
    from asyncfc_cli.errors import ScenarioError
    from asyncfc_cli.model.scripted import parse_scenario
    from asyncfc_cli.testing.policies import scenario_policy

    twins = {**SCENARIO, "steps": [helper("a", ADD_TASK, "add", "x"), helper("b", ADD_TASK, "mul", "y")]}
    with pytest.raises(ScenarioError, match="two agent steps have the task"):
        scenario_policy(parse_scenario(twins))
