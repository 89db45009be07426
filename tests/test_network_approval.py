"""Network by approval, one command at a time: under ``ask`` the user may let one shell or test
command reach the network although the sandbox keeps the session off it. Through the real gate,
scheduler, tools and bubblewrap."""

from __future__ import annotations

import json
import socket

import pytest

from asyncfc_cli.allow_rules import AllowRule, AllowRules, allow_file, load_allow_rules, remove_saved_allow_rule
from asyncfc_cli.approval import ApprovalGate
from asyncfc_cli.errors import ConfigError
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
                                        "asyncfc config), or for commands like this one with a `network` "
                                        "rule in their allow.toml")
    # ask with someone to answer: also one command or its rule, when it is asked about.
    assert asked.splitlines()[-1].endswith(
        "or for one command or its rule when asked to approve it (a command an allow rule lets through "
        "is not asked about)")


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


# ----------------------------------------------------------------------------- network rules

@pytest.mark.skipif(not SUPPORT.works, reason=f"bubblewrap cannot run here: {SUPPORT.problem}")
@pytest.mark.trio
async def test_the_user_allows_a_commands_rule_the_network_for_the_session(repo):
    """"network_session": the command and later ones its rule matches get the network without
    being asked again; another command is still asked, and stays offline."""
    sandbox = open_sandbox(repo, mode="on")
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(4)
        port = server.getsockname()[1]
        command = f"python3 -m connect {port}"  # its rule: shell(python3 -m connect*)
        scheduler, seen = await run_answered(repo, sandbox, {"f1": "network_session", "f3": "once"},
                                             [command, command + " again", f"python3 connect.py {port}"])
    sandbox.close()
    assert [(e.id, e.rule) for e in seen if isinstance(e, ApprovalRequested)] == [
        ("f1", "shell(python3 -m connect*)"), ("f3", f"shell(python3 connect.py {port})")]
    texts = [scheduler.get(f"f{i}").text for i in (1, 2, 3)]
    assert ["no connection" not in text and "connected" in text for text in texts] == [True, True, False], texts


@pytest.mark.skipif(not SUPPORT.works, reason=f"bubblewrap cannot run here: {SUPPORT.problem}")
@pytest.mark.parametrize("policy", ["ask", "auto"])
@pytest.mark.trio
async def test_a_saved_network_rule_gives_its_commands_the_network_headless_too(repo, tmp_path, monkeypatch, policy):
    """"network_always" saves the rule under `network` in allow.toml; a later headless session
    (nobody to ask) runs what it matches with the network, under ask and under auto."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    bus = EventBus()
    first = ApprovalGate("ask", bus, repo, interactive=True, session_id="s1")
    bus.subscribe(lambda e: first.resolve(e.id, "network_always") if isinstance(e, ApprovalRequested) else None)
    sandbox = open_sandbox(repo, mode="on")
    args = {"command": "python3 -m connect 1"}
    shell = builtin_tools()["shell"]
    grant = await first.admit(GateRequest("f1", shell, args, shell.effect_of(args, repo), context(repo, sandbox=sandbox)))
    assert grant is not None and grant.network
    saved = allow_file().read_text()
    assert 'network = [\n    "shell(python3 -m connect*)",\n]' in saved and "allow = [\n]" in saved, saved
    assert [r.network for r in load_allow_rules()] == [True]

    headless = ApprovalGate(policy, EventBus(), repo, session_id="s2", rules=AllowRules(load_allow_rules()))
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(2)
        scheduler = Scheduler(builtin_tools(), EventBus(), context(repo, sandbox=sandbox, shell_timeout_s=30.0),
                              gate=headless)
        async with scheduler.serving():
            for index, command in enumerate([f"python3 -m connect {server.getsockname()[1]}",
                                             f"python3 connect.py {server.getsockname()[1]}"]):
                scheduler.submit(ToolCall(f"c{index}", "shell", json.dumps({"command": command}), index))
            await scheduler.wait_all_finished()
    sandbox.close()
    matched, other = scheduler.get("f1").text, scheduler.get("f2").text
    assert "connected" in matched and "no connection" not in matched, matched
    # The other command: refused headless under ask (no rule), offline under auto.
    assert ("refused" in other) if policy == "ask" else ("no connection" in other), other


def test_a_network_rule_is_only_for_tools_that_run_commands(tmp_path):
    path = tmp_path / "allow.toml"
    path.write_text('allow = ["edit_file"]\nnetwork = ["shell(npm ci*)", "run_tests"]\n')
    rules = load_allow_rules(path)
    assert [(str(r), r.network) for r in rules] == [
        ("edit_file", False), ("shell(npm ci*)", True), ("run_tests", True)]
    assert AllowRules(rules).allows("shell", "npm ci --quiet").network
    path.write_text('network = ["edit_file"]\n')
    with pytest.raises(ConfigError, match="edit_file runs no command"):
        load_allow_rules(path)


def test_a_network_rule_is_stopped_by_its_text_in_the_session_and_the_file(tmp_path):
    """/disallow names a rule by its text: a network rule goes too, from both of allow.toml's lists."""
    path = tmp_path / "allow.toml"
    path.write_text('allow = ["shell(git status)"]\nnetwork = ["shell(npm ci*)"]\n')
    rules = AllowRules(load_allow_rules(path))
    assert [r.described() for r in rules.rules] == ["shell(git status)", "shell(npm ci*) with network"]
    assert rules.remove(AllowRule.parse("shell(npm ci*)")) and rules.allows("shell", "npm ci") is None
    assert remove_saved_allow_rule(AllowRule.parse("shell(npm ci*)"), path)
    assert [str(r) for r in load_allow_rules(path)] == ["shell(git status)"] and "network" not in path.read_text()
