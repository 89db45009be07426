"""The early-wait hold uses the model's time to first token, not the client's start-up.

A real client's first request pays for litellm's import and set-up before anything is sent; if that
counted as time to first token, the session would hold the next request for seconds while a long
call runs, although the model had more to do meanwhile. On MockClock with a client that has a
start-up of its own, then over real HTTP with litellm against the local server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import pytest
import trio

from asyncfc_cli.model.base import Message, RequestSent, StreamItem
from asyncfc_cli.model.scripted import ScriptedClient
from asyncfc_cli.testing.harness import scenario_session

from engine_tools import TOOLS

STARTUP_S = 3.0
SLOW_CALL = {"name": "slow_call", "profile": {"ttft_s": 0.5, "tokens_per_s": 8}, "steps": [
    {"call": "sleep", "as": "a", "args": {"seconds": 2}, "tokens": 0}, "end",
    {"say": "meanwhile", "tokens": 8}, {"need": ["a"]}, {"answer": "done", "tokens": 0}]}


class StartUpClient:
    """The scripted model behind a client that spends ``startup_s`` before its first request goes
    out (litellm's import and set-up), and says when each request is sent."""

    scripted = True

    def __init__(self, inner: ScriptedClient, startup_s: float, announce: bool = True) -> None:
        self.inner, self.startup_s, self.announce = inner, startup_s, announce
        self.name = inner.name

    async def wait_ready(self) -> None:
        pass  # its start-up is inside the request, as a client without the wait would have it

    async def stream(self, messages: Sequence[Message], tools: Sequence[Mapping[str, Any]]) -> AsyncIterator[StreamItem]:
        await trio.sleep(self.startup_s)
        self.startup_s = 0.0
        if self.announce:
            yield RequestSent()
        async for item in self.inner.stream(messages, tools):
            yield item


async def play_with_startup(announce: bool):
    run = scenario_session(SLOW_CALL, tools=TOOLS)
    assert run.session is not None
    run.session.model = StartUpClient(run.session.model, STARTUP_S, announce)
    run.outcome = await run.session.run("task")
    return run


@pytest.mark.trio
async def test_a_client_start_up_does_not_count_as_time_to_first_token(autojump_clock):
    run = await play_with_startup(announce=True)
    first = run.of_type("first_token")[0]
    assert (first.t, first.ttft, first.client_s) == (3.5, 0.5, 3.0)
    # f1 (2 s, no history: benefit of the doubt) is held for one model TTFT, 0.5 s, not 3.5 s:
    # the second request goes out at 4.0 with a placeholder, the model reasons while f1 runs.
    assert run.of_type("request_started")[1].t == 4.0
    assert [e.id for e in run.of_type("future_placeholder")] == ["f1"]
    assert run.outcome.exit_code == 0


@pytest.mark.trio
async def test_without_the_sent_marker_the_start_up_inflates_the_hold(autojump_clock):
    """The contrast that makes the marker necessary: counted from the request's start, the first
    TTFT is 3.5 s and the session holds the next request until f1 finishes."""
    run = await play_with_startup(announce=False)
    assert run.of_type("first_token")[0].ttft == 3.5
    assert run.of_type("request_started")[1].t == 5.5
    assert run.of_type("future_placeholder") == []


QUEUED_BEHIND_A_SERVER = {"name": "queued", "profile": {"ttft_s": 0.5, "tokens_per_s": 8}, "steps": [
    {"call": "shell", "as": "server", "args": {"command": "serve", "background": True, "writes": [".port"]},
     "duration": 1.0, "tokens": 0}, "end",
    {"call": "write_file", "as": "x", "args": {"path": "a.txt", "content": "x"}, "duration": 2.0, "tokens": 0},
    {"call": "run_tests", "as": "t", "args": {"paths": ["tests/test_a.py"]}, "duration": 0.75, "tokens": 0},
    "end", {"say": "meanwhile", "tokens": 8}, {"need": ["t"]}, {"answer": "done", "tokens": 0}]}


@pytest.mark.trio
async def test_a_call_queued_behind_a_server_that_is_up_is_predicted(autojump_clock, tmp_path):
    """t (a test run) waits for the write x and for the background server (its declared .port).
    The server is up: t is predicted from x and its own prior, 0.75 s past the end of the
    response, so the next request is not held for it (a running server has no finish to predict)."""
    from asyncfc_cli.bench.simulate import bench_tools
    from asyncfc_cli.model.scripted import parse_scenario

    scenario = parse_scenario(QUEUED_BEHIND_A_SERVER)
    run = scenario_session(scenario, tools=bench_tools(scenario), root=tmp_path,
                           duration_priors={"write_file": 0.0005, "run_tests:some": 0.75})
    assert run.session is not None
    run.outcome = await run.session.run("task")
    t = run.future("f3", "future_created")
    assert t.tool == "run_tests" and set(t.waits_on) == {"f1", "f2"}
    assert run.of_type("request_finished")[1].t == 2.0
    assert run.of_type("request_started")[2].t == 2.0


# --------------------------------------------------------------------------------------------------
# Over real HTTP: litellm against the local OpenAI-format server, as a user runs it

HTTP_SCENARIO = """
name: tests_while_reading
profile: {ttft_s: 0.4, tokens_per_s: 200}
steps:
  - say: "I'll start the tests and read the code meanwhile."
  - call: shell
    as: tests
    args: {command: "sleep 4; echo 3 passed"}
  - end
  - say: "Reading while the tests run."
  - call: read_file
    as: src
    args: {path: notes.txt}
  - need: [src]
  - need: [tests]
  - answer: "The tests pass and the notes are read."
"""


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_over_http_the_second_request_is_not_held_for_the_clients_start_up(tmp_path):
    """A process per run, litellm importing on its first request: the second request goes out
    while the 4 s command still runs (with its placeholder), not after it. (4 s: the second request
    is prepared by litellm meanwhile, which takes a second or more of CPU on a loaded machine.)"""
    from asyncfc_cli.bench.http import PacedScenarioServer
    from asyncfc_cli.model.scripted import PROFILES, load_scenario

    (tmp_path / "s.yaml").write_text(HTTP_SCENARIO)
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "notes.txt").write_text("notes\n")
    scenario = load_scenario(str(tmp_path / "s.yaml"))
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "OPENAI_API_KEY": "sk-test",
           "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    with PacedScenarioServer(scenario, scenario.profile or PROFILES["fast"]) as server:
        done = subprocess.run(
            [sys.executable, "-m", "asyncfc_cli", "run", "read the notes", "--model", "openai/test-model",
             "--api-base", server.base_url + "/v1", "--output", "jsonl", "--cwd", str(repo)],
            env=env, capture_output=True, text=True, timeout=240, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-2000:]
    events = [json.loads(line) for line in done.stdout.splitlines()]
    of = lambda kind: [e for e in events if e["type"] == kind]  # noqa: E731
    shell = next(e for e in of("future_created") if e["tool"] == "shell")["id"]
    shell_done = next(e["t"] for e in of("future_finished") if e["id"] == shell)
    second = of("request_started")[1]["t"]
    assert second < shell_done
    assert shell in [e["id"] for e in of("future_placeholder")]
    first = of("first_token")[0]
    assert first["client_s"] > first["ttft"]  # the import was measured apart, not as the model's


@pytest.mark.trio
async def test_a_new_model_starts_without_the_last_ones_time_to_first_token(autojump_clock):
    """/model: the early wait is sized from the model's own replies (DESIGN 2), not the last's."""
    run = await play_with_startup(announce=True)
    session = run.session
    assert session is not None and session._reader.ttft is not None
    learned = session._reader.ttft
    session.reconfigure(session.settings)  # the same model (e.g. /mode): what it learned stays
    assert session._reader.ttft == learned
    session.reconfigure(session.settings, model=StartUpClient(session.model.inner, 0.0))
    assert session._reader.ttft is None
