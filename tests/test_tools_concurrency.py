"""Through the real scheduler with the real tools: the effect declarations let reads run together
and keep writes to one path (and every shell command) in program order."""

from __future__ import annotations

import json

import pytest

from asyncfc_cli.approval import ApprovalGate
from asyncfc_cli.events import CheckpointCreated, EventBus, FutureCreated, FutureFinished, FutureStarted
from asyncfc_cli.model.base import ToolCall
from asyncfc_cli.scheduler import Scheduler
from asyncfc_tools import builtin_tools
from tools_repo import context, make_repo


@pytest.fixture
def repo(tmp_path):
    return make_repo(tmp_path / "repo", {"a.py": "A = 1\n", "b.py": "B = 1\n", "c.py": "C = 1\n"})


async def run_calls(repo, calls, gate=None):
    """Submit the calls in order (as one model response would) and return (scheduler, events)."""
    bus = EventBus()
    events = []
    bus.subscribe(events.append)
    scheduler = Scheduler(builtin_tools(), bus, context(repo), gate=gate)
    async with scheduler.serving():
        for index, (name, args) in enumerate(calls):
            scheduler.submit(ToolCall(f"c{index}", name, json.dumps(args), index))
        await scheduler.wait_all_finished()
    return scheduler, events


def created(events):
    return {e.id: e for e in events if isinstance(e, FutureCreated)}


def order(events):
    """(kind, id) of every start and finish, in the order they happened."""
    return [("start" if isinstance(e, FutureStarted) else "finish", e.id)
            for e in events if isinstance(e, (FutureStarted, FutureFinished))]


@pytest.mark.trio
async def test_reads_run_together(repo):
    scheduler, events = await run_calls(repo, [
        ("read_file", {"path": "a.py"}),
        ("grep", {"pattern": "= 1"}),
        ("outline", {"path": "b.py"}),
        ("list_files", {}),
    ])
    assert all(c.waits_on == () for c in created(events).values())
    # Every read started before any of them finished: they ran concurrently.
    seen = order(events)
    assert [kind for kind, _ in seen[:4]] == ["start"] * 4
    assert all(rec.state.value == "done" for rec in scheduler.futures.values())


@pytest.mark.trio
async def test_writes_to_one_path_serialise_in_program_order(repo):
    scheduler, events = await run_calls(repo, [
        ("write_file", {"path": "a.py", "content": "A = 2\n"}),
        ("edit_file", {"path": "a.py", "old": "A = 2", "new": "A = 3"}),
        ("read_file", {"path": "a.py"}),
        ("write_file", {"path": "b.py", "content": "B = 2\n"}),
        ("read_file", {"path": "c.py"}),
    ])
    waits = {fid: c.waits_on for fid, c in created(events).items()}
    assert waits == {"f1": (), "f2": ("f1",), "f3": ("f1", "f2"), "f4": (), "f5": ()}
    seen = order(events)
    assert seen.index(("finish", "f1")) < seen.index(("start", "f2"))
    assert seen.index(("finish", "f2")) < seen.index(("start", "f3"))
    # The edit saw the write, the read saw the edit: the result equals running them one by one.
    assert scheduler.get("f2").state.value == "done"
    assert scheduler.get("f3").text == "     1\tA = 3"
    assert (repo / "a.py").read_text() == "A = 3\n" and (repo / "b.py").read_text() == "B = 2\n"


@pytest.mark.trio
async def test_shell_is_exclusive_and_the_gate_checkpoints_once(repo):
    bus_gate = EventBus()
    gate_events = []
    bus_gate.subscribe(gate_events.append)
    gate = ApprovalGate("auto", bus_gate, repo, session_id="s1")
    scheduler, events = await run_calls(repo, [
        ("read_file", {"path": "a.py"}),
        ("write_file", {"path": "b.py", "content": "B = 5\n"}),
        ("shell", {"command": "cat b.py && touch d.py"}),
        ("read_file", {"path": "c.py"}),
    ], gate=gate)
    waits = {fid: c.waits_on for fid, c in created(events).items()}
    assert waits["f3"] == ("f1", "f2") and waits["f4"] == ("f3",)
    assert "B = 5" in scheduler.get("f3").text
    assert len([e for e in gate_events if isinstance(e, CheckpointCreated)]) == 1


@pytest.mark.trio
async def test_a_read_only_command_waits_for_earlier_writes_only_and_a_check_lets_reads_pass(repo):
    scheduler, events = await run_calls(repo, [
        ("write_file", {"path": "b.py", "content": "B = 5\n"}),
        ("shell", {"command": "cat b.py | wc -l"}),
        ("read_file", {"path": "c.py"}),
        ("shell", {"command": "pyflakes . 2>&1 | tail -5"}),
        ("read_file", {"path": "a.py"}),
        ("edit_file", {"path": "a.py", "old": "A = 1", "new": "A = 2"}),
    ])
    waits = {fid: c.waits_on for fid, c in created(events).items()}
    effects = {fid: c.effect for fid, c in created(events).items()}
    assert effects == {"f1": "writes", "f2": "reads", "f3": "reads", "f4": "runs", "f5": "reads", "f6": "writes"}
    # The shell read sees the write; the reads run beside the check; the edit waits for the check
    # (which reads the whole tree) and for the reads that cover a.py.
    assert waits["f2"] == ("f1",) and waits["f3"] == () and waits["f4"] == ("f1",)
    assert waits["f5"] == () and waits["f6"] == ("f2", "f4", "f5")
    assert scheduler.get("f2").text.splitlines()[-1].strip() == "1"


@pytest.mark.trio
async def test_read_only_policy_fails_the_mutating_futures_only(repo):
    gate = ApprovalGate("read-only", EventBus(), repo)
    scheduler, _ = await run_calls(repo, [
        ("write_file", {"path": "a.py", "content": "x"}),
        ("read_file", {"path": "a.py"}),
    ], gate=gate)
    assert scheduler.get("f1").state.value == "failed" and "read-only" in scheduler.get("f1").text
    assert scheduler.get("f2").text == "     1\tA = 1"
