"""Limits: --max-turns and --max-cost stop a task with exit code 1 and a message saying which limit
was hit and how to raise it; in the session, and through `asyncfc run` as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import trio

from asyncfc_cli.config import Settings
from asyncfc_cli.errors import Ending
from asyncfc_cli.events import EventBus
from asyncfc_cli.model.base import ResponseEnd
from asyncfc_cli.model.scripted import ScriptedClient, parse_scenario
from asyncfc_cli.session import Session
from asyncfc_cli.simtools import simulated_tools
from asyncfc_cli.testing.openai_server import OpenAIServer
from asyncfc_cli.workspace import Workspace

FAST = {"ttft_s": 0, "tokens_per_s": 8}
# Five turns of work, then the answer: more than the limits below allow.
LONG = {"name": "long", "profile": FAST, "steps": [
    *[step for n in range(5) for step in (
        {"call": "read_file", "as": f"r{n}", "args": {"path": f"m{n}.py"}, "duration": 0.1},
        {"need": [f"r{n}"]})],
    {"answer": "done"},
]}


class Priced:
    """A scripted model whose every response costs ``cost`` USD (as litellm would report it)."""

    def __init__(self, scenario, cost: float) -> None:
        self.inner, self.cost = ScriptedClient(scenario), cost
        self.name, self.scripted, self.requests = self.inner.name, True, 0

    async def wait_ready(self):
        pass

    async def stream(self, messages, tools):
        self.requests += 1
        async for item in self.inner.stream(messages, tools):
            yield replace(item, usage=replace(item.usage, cost=self.cost)) if isinstance(
                item, ResponseEnd) else item


async def run_long(tmp_path: Path, settings: Settings, cost: float = 0.0):
    sc = parse_scenario(LONG)
    model = Priced(sc, cost)
    bus = EventBus()
    events = []
    bus.subscribe(events.append)
    session = Session(model=model, tools=simulated_tools(sc), bus=bus,
                      settings=settings.replace(model="scripted:long"), workspace=Workspace(tmp_path))
    outcome = await session.run("do the long thing")
    return outcome, model, [e for e in events if e.type == "session_finished"]


@pytest.mark.trio
async def test_the_turn_limit_stops_with_exit_code_1_and_says_how_to_raise_it(tmp_path, autojump_clock):
    outcome, model, [finished] = await run_long(tmp_path, Settings(max_turns=3))
    assert (outcome.outcome, outcome.exit_code) == ("turn_limit", 1) and outcome.outcome is Ending.TURN_LIMIT
    assert model.requests == 3
    assert "turn limit" in outcome.message and "(3 model requests)" in outcome.message
    assert "--max-turns" in outcome.message and "max_turns" in outcome.message
    assert (finished.outcome, finished.exit_code, finished.message) == (
        "turn_limit", 1, outcome.message)


@pytest.mark.trio
async def test_the_cost_limit_stops_with_exit_code_1_and_says_how_to_raise_it(tmp_path, autojump_clock):
    outcome, model, [finished] = await run_long(tmp_path, Settings(max_cost=0.05), cost=0.02)
    assert (outcome.outcome, outcome.exit_code) == ("cost_limit", 1) and outcome.outcome is Ending.COST_LIMIT
    assert model.requests == 3  # 0.02 + 0.02 < 0.05 <= 0.06
    assert "cost limit" in outcome.message and "$0.05" in outcome.message
    assert "--max-cost" in outcome.message and "max_cost" in outcome.message
    assert finished.exit_code == 1 and finished.cost == pytest.approx(0.06)


@pytest.mark.trio
async def test_within_its_limits_the_task_finishes(tmp_path, autojump_clock):
    outcome, model, _ = await run_long(tmp_path, Settings(max_turns=6, max_cost=1.0), cost=0.02)
    assert (outcome.outcome, outcome.exit_code) == ("finished", 0) and outcome.outcome is Ending.FINISHED
    assert model.requests == 6


# ---------------------------------------------------------------------------------------- CLI


def asyncfc(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    repo = tmp_path / "repo"
    repo.mkdir(exist_ok=True)
    full_env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True",
                "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CONFIG_HOME": str(tmp_path / "config"),
                "XDG_CACHE_HOME": str(tmp_path / "cache"), **(env or {})}
    full_env.pop("ASYNCFC_MODEL", None)
    return subprocess.run([sys.executable, "-m", "asyncfc_cli", "run", *args], cwd=repo,
                          env=full_env, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)


def finished_event(stdout: str) -> dict:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")][-1]


def test_asyncfc_run_max_turns_exits_1_and_says_so(tmp_path):
    (tmp_path / "long.yaml").write_text(json.dumps(LONG))
    done = asyncfc(tmp_path, "do it", "--model", str(tmp_path / "long.yaml"), "--simulate-tools",
                   "--profile", "instant", "--max-turns", "2", "--output", "jsonl")
    assert done.returncode == 1, done.stderr
    event = finished_event(done.stdout)
    assert (event["type"], event["outcome"], event["exit_code"]) == ("session_finished", "turn_limit", 1)
    assert "--max-turns" in event["message"]
    text = asyncfc(tmp_path, "do it", "--model", str(tmp_path / "long.yaml"), "--simulate-tools",
                   "--profile", "instant", "--max-turns", "2", "--headless")
    assert text.returncode == 1
    assert "turn limit was reached (2 model requests)" in text.stdout + text.stderr
    assert "--max-turns" in text.stdout + text.stderr


def test_max_turns_from_the_config_file_applies_too(tmp_path):
    (tmp_path / "long.yaml").write_text(json.dumps(LONG))
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / ".asyncfc.toml").write_text("max_turns = 1\n")
    done = asyncfc(tmp_path, "do it", "--model", str(tmp_path / "long.yaml"), "--simulate-tools",
                   "--profile", "instant", "--output", "jsonl")
    assert done.returncode == 1 and finished_event(done.stdout)["turns"] == 1


@pytest.mark.timeout(240)
def test_asyncfc_run_max_cost_exits_1_with_a_priced_model(tmp_path):
    """A real litellm client (openai/gpt-4.1 is priced in litellm's cost map) against the local
    OpenAI-format server: the first response costs more than the limit."""
    (tmp_path / "long.yaml").write_text(json.dumps(LONG))
    with OpenAIServer(str(tmp_path / "long.yaml"), model="gpt-4.1") as server:
        done = asyncfc(tmp_path, "do it", "--model", "openai/gpt-4.1",
                       "--api-base", server.base_url + "/v1", "--max-cost", "0.000001",
                       "--output", "jsonl", env={"OPENAI_API_KEY": "sk-test-limits-000000"})
        requests = len(server.requests)
    assert done.returncode == 1, done.stderr[-2000:]
    event = finished_event(done.stdout)
    assert (event["outcome"], event["exit_code"]) == ("cost_limit", 1)
    assert "--max-cost" in event["message"] and event["cost"] > 0.000001
    assert requests == 1


class _StuckScript:
    """A model whose script cannot go on: it raises as the scripted client does when stuck."""

    name = "scripted:stuck"
    scripted = True

    async def wait_ready(self):
        pass

    async def stream(self, messages, tools):
        from asyncfc_cli.errors import ScenarioError

        raise ScenarioError("scenario 'stuck': step 2 needs a but the conversation holds no value for it")
        yield  # an async generator, like every client's stream


@pytest.mark.trio
async def test_a_scenario_error_is_a_config_error_mid_run_and_at_start_up(tmp_path, autojump_clock):
    """The outcome is the error's own (``AsyncfcError.outcome``), wherever the session stops."""
    from asyncfc_cli.app import run_headless

    bus = EventBus()
    session = Session(model=_StuckScript(), tools={}, bus=bus, settings=Settings(), workspace=Workspace(tmp_path))
    mid_run = await session.run("go")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nsteps: 7\n")
    events: list = []
    code = await trio.to_thread.run_sync(lambda: run_headless(
        "go", Settings(model=str(bad)), Workspace(tmp_path), renderer=events.append))
    start_up = events[-1]
    assert (mid_run.outcome, mid_run.exit_code) == ("config_error", 2) and mid_run.outcome is Ending.CONFIG_ERROR
    assert (start_up.type, start_up.outcome, start_up.exit_code, code) == ("session_finished", "config_error", 2, 2)
    assert "a scenario is a mapping with a 'steps' list" in start_up.message
