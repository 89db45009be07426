"""Network by approval, one command at a time: under ``ask`` the user may let one shell or test
command reach the network although the sandbox keeps the session off it. Through the real gate,
scheduler, tools and bubblewrap."""

from __future__ import annotations

import json
import socket

import pytest

from asyncfc_cli.approval import ApprovalGate
from asyncfc_cli.events import ApprovalRequested, ApprovalResolved, EventBus
from asyncfc_cli.model.base import ToolCall
from asyncfc_cli.scheduler import GateRequest, Scheduler
from asyncfc_tools import builtin_tools
from asyncfc_tools._sandbox import open_sandbox, probe
from test_sandbox import CONNECT
from tools_repo import context, make_repo

SUPPORT = probe()


@pytest.fixture
def repo(tmp_path):
    return make_repo(tmp_path / "repo", {"connect.py": CONNECT})


async def run_answered(repo, sandbox, answers, commands):
    """Run ``commands`` as shell calls f1, f2... under ``ask``, answering each approval from
    ``answers`` (by future id); returns (scheduler, the approval events)."""
    bus = EventBus()
    seen = []
    gate = ApprovalGate("ask", bus, repo, interactive=True, session_id="s1")

    def answer(event):
        if isinstance(event, (ApprovalRequested, ApprovalResolved)):
            seen.append(event)
        if isinstance(event, ApprovalRequested):
            assert gate.resolve(event.id, answers[event.id])

    bus.subscribe(answer)
    scheduler = Scheduler(builtin_tools(), bus, context(repo, sandbox=sandbox, shell_timeout_s=30.0), gate=gate)
    async with scheduler.serving():
        for index, command in enumerate(commands):
            scheduler.submit(ToolCall(f"c{index}", "shell", json.dumps({"command": command}), index))
        await scheduler.wait_all_finished()
    return scheduler, seen


@pytest.mark.skipif(not SUPPORT.works, reason=f"bubblewrap cannot run here: {SUPPORT.problem}")
@pytest.mark.trio
async def test_the_user_allows_one_command_the_network_and_the_next_stays_off_it(repo):
    sandbox = open_sandbox(repo, mode="on")
    with socket.socket() as server:  # a server on the host's loopback, outside the sandbox
        server.bind(("127.0.0.1", 0))
        server.listen(2)
        command = f"python3 connect.py {server.getsockname()[1]}"
        scheduler, seen = await run_answered(repo, sandbox, {"f1": "network", "f2": "once"}, [command, command])
    sandbox.close()
    asked = [e for e in seen if isinstance(e, ApprovalRequested)]
    assert [e.network for e in asked] == [True, True]  # offered: the sandbox keeps commands offline
    assert [e.decision for e in seen if isinstance(e, ApprovalResolved)] == ["network", "once"]
    first, second = scheduler.get("f1").text, scheduler.get("f2").text
    assert "connected" in first.split("no connection")[0], first
    assert "no connection" in second, second


@pytest.mark.trio
async def test_network_is_not_offered_where_commands_have_it_or_for_file_edits(repo):
    unconfined = open_sandbox(repo, mode="off")
    _, seen = await run_answered(repo, unconfined, {"f1": "network"}, ["echo hi"])
    assert [e.network for e in seen if isinstance(e, ApprovalRequested)] == [False]
    bus = EventBus()
    asked = []
    bus.subscribe(lambda e: asked.append(e) if isinstance(e, ApprovalRequested) else None)
    gate = ApprovalGate("ask", bus, repo, interactive=True, session_id="s1")
    bus.subscribe(lambda e: gate.resolve(e.id, "network") if isinstance(e, ApprovalRequested) else None)
    args = {"path": "a.txt", "content": "x"}
    effect = builtin_tools()["write_file"].effect_of(args, repo)
    confined = open_sandbox(repo, mode="on") if SUPPORT.works else None
    grant = await gate.admit(GateRequest("f1", builtin_tools()["write_file"], args, effect, context(repo, sandbox=confined)))
    assert asked[0].network is False and grant is None  # "network" for an edit grants nothing more
    if confined is not None:
        confined.close()


# ----------------------------------------------------------------------------- the offline hint

LOOKUP = "python3 -c \"import socket; socket.getaddrinfo('pypi.org', 443)\""


@pytest.mark.skipif(not SUPPORT.works, reason=f"bubblewrap cannot run here: {SUPPORT.problem}")
@pytest.mark.trio
async def test_the_offline_hint_offers_approval_only_where_a_person_can_give_it(repo):
    sandbox = open_sandbox(repo, mode="on")
    shell = builtin_tools()["shell"]
    try:
        unasked = await shell.fn(context(repo, sandbox=sandbox, shell_timeout_s=30.0), LOOKUP)
        asked = await shell.fn(context(repo, sandbox=sandbox, shell_timeout_s=30.0,
                                       approval_offers_network=lambda: True), LOOKUP)
    finally:
        sandbox.close()
    # auto, read-only or nobody to answer: only the session's setting can give the network.
    assert unasked.splitlines()[-1] == ("note: the sandbox has no network (only loopback); the user can allow "
                                        "it for the session with --network (or `network = true` in their "
                                        "asyncfc config)")
    # ask with someone to answer: also one command, when it is asked about.
    assert asked.splitlines()[-1].endswith(
        "or for one command when asked to approve it (a command an allow rule lets through is not asked about)")


@pytest.mark.skipif(not SUPPORT.works, reason=f"bubblewrap cannot run here: {SUPPORT.problem}")
def test_a_headless_auto_run_is_not_told_to_ask_for_an_approval(tmp_path):
    """`asyncfc run --approval auto` has no dialog: the hint names --network and nothing else."""
    from typer.testing import CliRunner

    from asyncfc_cli.cli import app

    scenario = tmp_path / "lookup.json"
    scenario.write_text(json.dumps({"name": "lookup", "steps": [
        {"call": "shell", "as": "s", "args": {"command": LOOKUP}}, {"need": ["s"]}, {"answer": "done"}]}))
    repo = make_repo(tmp_path / "work", {"a.txt": "a\n"})
    env = {"XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    result = CliRunner().invoke(app, ["run", "look it up", "--model", str(scenario), "--cwd", str(repo),
                                      "--approval", "auto", "--output", "jsonl"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.stdout + result.stderr
    finished = [json.loads(line) for line in result.stdout.splitlines()
                if line.startswith("{") and '"future_finished"' in line]
    output = finished[0]["output"]
    assert "the user can allow it for the session with --network" in output, output
    assert "approv" not in output
