"""``--output json``: one result object when the task ends, holding the model's answer."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

from asyncfc_cli.events import (RequestStarted, SessionFinished, SessionResumed, SessionStarted, TextDelta,
                                ToolCallParsed)
from asyncfc_cli.render import ResultRenderer


def result_of(*events) -> dict:
    out = io.StringIO()
    renderer = ResultRenderer(out)
    for event in events:
        renderer(event)
    [line] = out.getvalue().splitlines()
    return json.loads(line)


START = SessionStarted(t=0.0, session_id="s1", model="openai/m", mode="async")


def test_the_result_is_what_the_model_said_since_its_last_tool_call() -> None:
    result = result_of(
        START,
        RequestStarted(t=0.1, turn=1), TextDelta(t=0.2, turn=1, text="Let me look."),
        ToolCallParsed(t=0.3, turn=1, call_id="c1", tool="grep", index=0, arguments="{}"),
        RequestStarted(t=1.0, turn=2), TextDelta(t=1.1, turn=2, text="The bug is in "),
        TextDelta(t=1.2, turn=2, text="parse()."),  # cut by the output limit, then continued:
        RequestStarted(t=2.0, turn=3), TextDelta(t=2.1, turn=3, text="I fixed it."),
        SessionFinished(t=2.5, outcome="finished", exit_code=0, turns=3,
                        usage={"prompt_tokens": 10, "completion_tokens": 5}, cost=0.25))
    assert result == {"type": "result", "session_id": "s1", "model": "openai/m", "outcome": "finished",
                      "exit_code": 0, "message": "", "result": "The bug is in parse().\n\nI fixed it.",
                      "turns": 3, "usage": {"prompt_tokens": 10, "completion_tokens": 5}, "cost": 0.25,
                      "duration_s": 2.5}


def test_a_task_stopped_mid_tools_has_no_answer_and_a_resume_names_its_session() -> None:
    result = result_of(
        SessionResumed(t=5.0, session_id="old", model="openai/m", mode="async"),
        RequestStarted(t=5.1, turn=1), TextDelta(t=5.2, turn=1, text="Running the tests."),
        ToolCallParsed(t=5.3, turn=1, call_id="c1", tool="run_tests", index=0, arguments="{}"),
        SessionFinished(t=6.0, outcome="max_turns", exit_code=1, message="stopped: --max-turns 1", turns=1))
    assert (result["session_id"], result["result"], result["exit_code"]) == ("old", "", 1)
    assert result["message"] == "stopped: --max-turns 1" and result["cost"] is None


def test_run_output_json_prints_one_object_a_script_can_read(tmp_path: Path) -> None:
    (tmp_path / "hello.txt").write_text("hi\n")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / "s.yaml").write_text(
        "name: js\nprofile: instant\nsteps:\n  - say: \"Reading.\"\n  - call: read_file\n    as: src\n"
        "    args: {path: hello.txt}\n  - need: [src]\n  - answer: \"It says hi.\"\n")
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "XDG_STATE_HOME": str(tmp_path / ".state"),
           "XDG_CONFIG_HOME": str(tmp_path / ".config")}
    done = subprocess.run([sys.executable, "-m", "asyncfc_cli", "run", "what does it say", "--model", "s.yaml",
                           "--output", "json"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=180, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    [line] = done.stdout.splitlines()
    result = json.loads(line)
    assert (result["result"], result["outcome"], result["exit_code"], result["turns"]) == ("It says hi.", "finished", 0, 2)


def test_a_run_that_cannot_start_still_prints_its_result_object(tmp_path: Path) -> None:
    """``-c`` with no session to continue is stopped before any session: a script piping the
    output to ``jq`` still gets the object the README promises, with the reason."""
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "XDG_STATE_HOME": str(tmp_path / ".state"),
           "XDG_CONFIG_HOME": str(tmp_path / ".config")}
    done = subprocess.run([sys.executable, "-m", "asyncfc_cli", "run", "-c", "go on", "--model", "scripted:demo",
                           "--output", "json"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=180, stdin=subprocess.DEVNULL)
    assert done.returncode == 2
    [line] = done.stdout.splitlines()
    result = json.loads(line)
    assert (result["outcome"], result["exit_code"], result["result"]) == ("config_error", 2, "")
    assert "no sessions recorded" in result["message"]
