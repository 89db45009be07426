"""The approval gate under trio: policies, asking and answering, and the one checkpoint."""

from __future__ import annotations

import pytest
import trio

from asyncfc_cli.approval import ApprovalGate, Decision, describe_call
from asyncfc_cli.errors import CheckpointError
from asyncfc_cli.events import (ApprovalRequested, ApprovalResolved, CheckpointCreated, EventBus,
                                Notice, SessionStarted)
from asyncfc_cli.scheduler import GateRequest
from asyncfc_tools import Effect, ToolError, builtin_tools, pure
from asyncfc_tools import tool as declare
from tools_repo import context, git, make_repo


@pytest.fixture
def repo(tmp_path):
    return make_repo(tmp_path / "repo", {"app.py": "x = 1\n", "tests/test_a.py": "def test(): pass\n"})


@pytest.fixture
def bus():
    bus = EventBus()
    bus.seen = []  # type: ignore[attr-defined]
    bus.subscribe(bus.seen.append)  # type: ignore[attr-defined]
    return bus


def request(root, tool, fid="f1", **args):
    effect = builtin_tools()[tool].effect_of(args, root)
    return GateRequest(fid, builtin_tools()[tool], args, effect, context(root))


@declare(effect=pure(), name="custom")
def CUSTOM(ctx, a: int = 0) -> str:
    """A tool that declares nothing beyond its effect."""
    return ""


def of(bus, cls):
    return [e for e in bus.seen if isinstance(e, cls)]


async def wait_pending(gate, fid):
    while fid not in gate.pending:
        await trio.sleep(0.005)


@pytest.mark.trio
async def test_auto_admits_and_records_one_checkpoint_before_the_first_mutation(repo, bus):
    gate = ApprovalGate("auto", bus, repo, session_id="s1")
    await gate.admit(request(repo, "read_file", path="app.py"))
    assert of(bus, CheckpointCreated) == []  # reads never checkpoint
    async with trio.open_nursery() as nursery:
        nursery.start_soon(gate.admit, request(repo, "write_file", "f2", path="a.txt", content="x"))
        nursery.start_soon(gate.admit, request(repo, "shell", "f3", command="ls"))
    [created] = of(bus, CheckpointCreated)
    assert created.ref.endswith("-s1") and created.commit == gate.checkpoint.commit
    assert git(repo, "rev-parse", created.ref).strip() == created.commit
    await gate.admit(request(repo, "edit_file", "f4", path="app.py", old="1", new="2"))
    assert len(of(bus, CheckpointCreated)) == 1


@pytest.mark.trio
async def test_read_only_refuses_writes_and_shell_and_says_how_to_allow(repo, bus):
    gate = ApprovalGate("read-only", bus, repo)
    for tool, args in (("write_file", {"path": "a", "content": ""}), ("shell", {"command": "ls"}),
                       ("run_tests", {})):
        with pytest.raises(ToolError, match=f"{tool} refused: the approval policy is read-only.*--approval auto"):
            await gate.admit(request(repo, tool, **args))
    await gate.admit(request(repo, "grep", pattern="x"))
    assert of(bus, CheckpointCreated) == []


@pytest.mark.trio
async def test_headless_ask_refuses_with_how_to_allow(repo, bus):
    gate = ApprovalGate("ask", bus, repo)
    with pytest.raises(ToolError, match="policy is ask, but this run has nobody to answer.*--approval auto"):
        await gate.admit(request(repo, "shell", command="rm -rf build"))
    assert of(bus, ApprovalRequested) == []


@pytest.mark.trio
async def test_ask_once_session_and_deny(repo, bus):
    gate = ApprovalGate("ask", bus, repo, interactive=True, session_id="s1")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(gate.admit, request(repo, "edit_file", "f1", path="app.py", old="x = 1", new="x = 2"))
        await wait_pending(gate, "f1")
        [asked] = of(bus, ApprovalRequested)
        assert asked.tool == "edit_file" and "-x = 1\n+x = 2" in asked.preview
        assert gate.resolve("f1", "once")  # a view may answer with the wire value
    assert of(bus, ApprovalResolved)[-1].decision is Decision.ONCE
    assert len(of(bus, CheckpointCreated)) == 1

    async with trio.open_nursery() as nursery:
        nursery.start_soon(gate.admit, request(repo, "shell", "f2", command="make build"))
        await wait_pending(gate, "f2")
        assert of(bus, ApprovalRequested)[-1].preview == "$ make build"
        gate.resolve("f2", Decision.SESSION)
    await gate.admit(request(repo, "shell", "f3", command="make build"))  # no question this time
    assert [e.id for e in of(bus, ApprovalRequested)] == ["f1", "f2"]

    async def denied():
        with pytest.raises(ToolError, match="the user denied this write_file call"):
            await gate.admit(request(repo, "write_file", "f4", path="app.py", content="y"))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(denied)
        await wait_pending(gate, "f4")
        gate.resolve("f4", Decision.DENY)
    assert of(bus, ApprovalResolved)[-1].decision is Decision.DENY
    assert (repo / "app.py").read_text() == "x = 1\n"


@pytest.mark.trio
async def test_resolve_unknown_ids_and_bad_decisions(repo, bus):
    gate = ApprovalGate("ask", bus, repo, interactive=True)
    assert gate.resolve("f9", "once") is False
    with pytest.raises(ValueError, match="unknown decision 'maybe'; expected one of once, network, session, always, network_session, network_always, deny"):
        gate.resolve("f9", "maybe")


@pytest.mark.trio
async def test_cancelled_while_waiting_leaves_nothing_pending(repo, bus):
    gate = ApprovalGate("ask", bus, repo, interactive=True)
    with trio.move_on_after(0.2):
        await gate.admit(request(repo, "shell", "f1", command="ls"))
    assert gate.pending == () and gate.resolve("f1", "once") is False


@pytest.mark.trio
async def test_outside_git_a_notice_says_undo_is_unavailable(tmp_path, bus):
    plain = tmp_path / "plain"
    plain.mkdir()
    gate = ApprovalGate("auto", bus, plain)
    await gate.admit(request(plain, "write_file", path="a.txt", content="x"))
    [notice] = of(bus, Notice)
    assert notice.level == "warning" and "`asyncfc undo` cannot restore" in notice.message
    assert gate.checkpoint is None


@pytest.mark.trio
async def test_a_failed_checkpoint_warns_and_lets_the_call_run(repo, bus):
    def broken(root, session_id):
        raise CheckpointError("disk full")

    gate = ApprovalGate("auto", bus, repo, checkpoint=broken)
    await gate.admit(request(repo, "write_file", path="a.txt", content="x"))
    assert "disk full" in of(bus, Notice)[0].message


@pytest.mark.trio
async def test_session_id_comes_from_session_started(repo, bus):
    made = []
    gate = ApprovalGate("auto", bus, repo, checkpoint=lambda root, sid: made.append(sid) or _fake())
    bus.emit(SessionStarted, session_id="20260101-abc", model="scripted:x", mode="async")
    await gate.admit(request(repo, "shell", command="ls"))
    assert made == ["20260101-abc"]


def _fake():
    from asyncfc_cli.checkpoint import Checkpoint

    return Checkpoint("refs/asyncfc/checkpoints/x", "0" * 40, "s", None)


def test_describe_call(repo):
    ctx = context(repo)
    tools = builtin_tools()
    assert describe_call(tools["shell"], {"command": "ls -la"}, ctx) == "$ ls -la"
    assert describe_call(tools["shell"], {"command": "make", "writes": ["build/"]}, ctx) == (
        "$ make\n# the model declares it writes: build/ (changes elsewhere are reported)")
    assert "in the background until it is stopped" in describe_call(
        tools["shell"], {"command": "npm run dev", "background": True}, ctx)
    assert describe_call(tools["run_tests"], {"args": ["-x"]}, ctx).endswith("junit_family=xunit1 -x")
    assert "+hello" in describe_call(tools["write_file"], {"path": "new.txt", "content": "hello\n"}, ctx)
    assert describe_call(CUSTOM, {"a": 1}, ctx) == 'custom {"a": 1}'


def test_unknown_policy(repo, bus):
    with pytest.raises(ValueError):
        ApprovalGate("sometimes", bus, repo)


def test_effect_of_pure_calls_is_not_gated(repo, bus):
    gate = ApprovalGate("read-only", bus, repo)
    req = GateRequest("f1", CUSTOM, {}, Effect("pure"), context(repo))
    trio.run(gate.admit, req)
