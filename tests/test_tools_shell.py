"""The shell tool: real processes, process-group kills, bounded output, scrubbed environment."""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

import pytest
import trio

from asyncfc_tools import ToolError, ToolSettings, child_environment
from asyncfc_tools.shell import shell
from tools_repo import context, make_repo


def alive(pid: int) -> bool:
    """True if ``pid`` is a live process (a zombie waiting to be reaped counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return False
    return data[data.rfind(b")") + 2 :].split()[0] not in (b"Z", b"X")


def read_pid(path: Path) -> int:
    return int(path.read_text().split()[0])


@pytest.fixture
def repo(tmp_path):
    return make_repo(tmp_path / "repo", {"a.txt": "alpha\n"})


@pytest.fixture
def ctx(repo):
    return context(repo, shell_timeout_s=30.0, settings=ToolSettings(kill_grace_s=0.3))


@pytest.mark.trio
async def test_exit_code_stdout_stderr_and_cwd(ctx, repo):
    out = await shell.fn(ctx, "cat a.txt; pwd; echo oops >&2; exit 3")
    assert out.startswith("exit code 3 (")
    assert f"stdout:\nalpha\n{os.path.realpath(repo)}\nstderr:\noops" in out


@pytest.mark.trio
async def test_no_output(ctx):
    assert (await shell.fn(ctx, "true")).endswith("(no output)")


@pytest.mark.trio
async def test_empty_command_and_bad_timeout(ctx):
    with pytest.raises(ToolError, match="empty"):
        await shell.fn(ctx, "  ")
    with pytest.raises(ToolError, match="positive"):
        await shell.fn(ctx, "true", timeout_s=0)


@pytest.mark.trio
async def test_provider_keys_are_removed_from_the_child_environment(ctx, repo, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-secret")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-secret")
    monkeypatch.setenv("ASYNCFC_VISIBLE", "yes")
    out = await shell.fn(ctx, "env")
    assert "ASYNCFC_VISIBLE=yes" in out
    assert "secret" not in out
    explicit = context(repo, env=child_environment({"PATH": os.environ["PATH"], "MY_API_KEY": "x1"}))
    assert "MY_API_KEY" not in await shell.fn(explicit, "env")


@pytest.mark.trio
async def test_timeout_kills_children_that_ignore_sigterm(ctx, repo):
    command = "sh -c 'trap \"\" TERM; echo $$ > child.pid; sleep 60' & echo started; wait"
    with pytest.raises(ToolError) as err:
        await shell.fn(ctx, command, timeout_s=1.5)
    assert "timed out after" in str(err.value) and "started" in str(err.value)
    assert "raise timeout_s above 1.5" in str(err.value)
    pid = read_pid(repo / "child.pid")
    assert not alive(pid), f"child {pid} survived the timeout"


@pytest.mark.trio
async def test_cancellation_kills_the_process_group(ctx, repo):
    pid_file = repo / "child.pid"
    async with trio.open_nursery() as nursery:
        nursery.start_soon(shell.fn, ctx, "sh -c 'trap \"\" TERM; echo $$ > child.pid; sleep 60' & sleep 60")
        while not pid_file.exists() or not pid_file.read_text().strip():
            await trio.sleep(0.01)
        pid = read_pid(pid_file)
        assert alive(pid)
        nursery.cancel_scope.cancel()
    assert not alive(pid)


@pytest.mark.trio
async def test_background_processes_left_behind_are_stopped(ctx, repo):
    out = await shell.fn(ctx, "sleep 60 & echo $! > bg.pid; echo done")
    assert out.startswith("exit code 0")
    assert "left running (started with `&`, or daemons) were stopped" in out and "background=true" in out
    assert not alive(read_pid(repo / "bg.pid"))


@pytest.mark.trio
async def test_fifty_megabytes_of_output_is_truncated_and_memory_stays_bounded(ctx):
    tracemalloc.start()
    try:
        out = await shell.fn(ctx, "head -c 50000000 /dev/zero | tr '\\0' 'a'; echo; echo THE-END")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert out.startswith("exit code 0")
    assert len(out) <= ctx.max_output_chars + 500
    assert "bytes of 50,000,009 cut" in out
    assert out.rstrip().endswith("THE-END")
    assert peak < 4 * 1024 * 1024, f"peak Python memory {peak:,} bytes for 50 MB of output"


@pytest.mark.trio
async def test_unknown_program_is_a_normal_exit_code(ctx):
    out = await shell.fn(ctx, "definitely-not-a-program-xyz")
    assert out.startswith("exit code 127") and "not found" in out


@pytest.mark.trio
async def test_commands_cannot_wait_for_a_person(ctx, repo):
    out = await shell.fn(ctx, "echo pager=$PAGER; cat; git commit --allow-empty 2>&1; echo rc=$?")
    assert "pager=cat" in out and "rc=1" in out  # no stdin to read, the commit aborts (no editor)
