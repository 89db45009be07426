"""Hostile inputs and faults at the tools: effects keyed by real paths, cancelled writes that never
land, special files refused by type, errors in words (issue 14)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import tracemalloc

import pytest
import trio

from asyncfc_cli.events import EventBus
from asyncfc_cli.model.base import ToolCall
from asyncfc_cli.scheduler import Scheduler
from asyncfc_tools import ToolContext, ToolError, ToolSettings, builtin_tools, reads, tool
from asyncfc_tools import files as files_tools
from asyncfc_tools import outline as outline_tool
from asyncfc_tools import search as search_tools
from asyncfc_tools._fs import atomic_write
from test_tools_concurrency import created, order, run_calls
from test_tools_shell import alive
from tools_repo import context, make_repo


@pytest.fixture
def linked(tmp_path):
    repo = make_repo(tmp_path / "repo", {"u.txt": "old\n", "real/a.txt": "old\n"})
    os.symlink("u.txt", repo / "alias.txt")
    os.symlink("real", repo / "linkdir")
    return repo


@pytest.mark.parametrize("write, read", [
    ("alias.txt", "u.txt"), ("u.txt", "alias.txt"), ("linkdir/a.txt", "real/a.txt"), ("linkdir/a.txt", "real"),
])
def test_effects_are_keyed_by_resolved_paths(linked, write, read):
    tools = builtin_tools()
    written = tools["write_file"].effect_of({"path": write, "content": "x"}, linked)
    assert written.conflicts_with(tools["read_file"].effect_of({"path": read}, linked))
    assert written.conflicts_with(tools["list_files"].effect_of({"path": read}, linked))


@pytest.mark.trio
async def test_a_read_waits_for_a_write_through_a_symlink_alias(linked):
    scheduler, events = await run_calls(linked, [
        ("write_file", {"path": "alias.txt", "content": "new\n"}),
        ("read_file", {"path": "u.txt"}),
        ("write_file", {"path": "linkdir/a.txt", "content": "new\n"}),
        ("read_file", {"path": "real/a.txt"}),
    ])
    waits = {fid: c.waits_on for fid, c in created(events).items()}
    assert waits["f2"] == ("f1",) and waits["f4"] == ("f3",)
    seen = order(events)
    assert seen.index(("finish", "f1")) < seen.index(("start", "f2"))
    assert scheduler.get("f2").text == "     1\tnew" and scheduler.get("f4").text == "     1\tnew"


def _blocking_writer(entered, release, left, *, write_first: bool):
    """A sync tool that writes through the file tools' atomic_write, blocking (before or after the
    write) until the test releases it: the window in which a cancel arrives."""
    @tool(effect=reads("path"), name="slow_write")
    def slow_write(ctx: ToolContext, path: str) -> str:
        """Write slowly.

        Args:
            path: the file.
        """
        try:
            if write_first:
                atomic_write(ctx.root / path, "landed\n", path, root=ctx.root)
            entered.set()
            release.wait(10)
            if not write_first:
                atomic_write(ctx.root / path, "landed\n", path, root=ctx.root)
            return f"wrote {path}"
        finally:
            left.set()

    return slow_write


async def _cancel_while_running(repo, *, write_first: bool):
    entered, release, left = threading.Event(), threading.Event(), threading.Event()
    spec = _blocking_writer(entered, release, left, write_first=write_first)
    scheduler = Scheduler({"slow_write": spec}, EventBus(), context(repo))
    async with scheduler.serving():
        rec = scheduler.submit(ToolCall("c1", "slow_write", '{"path": "new/out.txt"}', 0))
        await trio.to_thread.run_sync(entered.wait)
        outcome = scheduler.cancel(["f1"])
        if not write_first:
            await rec.finished.wait()  # reported cancelled while the thread still runs
        release.set()
        await rec.finished.wait()
        await trio.to_thread.run_sync(left.wait)
    return rec, outcome


@pytest.mark.trio
async def test_a_cancelled_write_never_lands_afterwards(tmp_path):
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    rec, outcome = await _cancel_while_running(repo, write_first=False)
    assert outcome == {"f1": "cancelled"} and rec.state.value == "cancelled"
    assert not (repo / "new").exists()  # neither the file nor its folder
    assert not [p for p in repo.rglob("*asyncfc-tmp*")]


@pytest.mark.trio
async def test_a_cancel_after_the_write_landed_reports_the_write(tmp_path):
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    rec, outcome = await _cancel_while_running(repo, write_first=True)
    assert outcome["f1"].startswith("too late") and rec.state.value == "done"
    assert rec.text == "wrote new/out.txt" and (repo / "new/out.txt").read_text() == "landed\n"



@pytest.mark.trio
async def test_a_write_stopped_by_the_call_timeout_never_lands(tmp_path, autojump_clock):
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    entered, release, left = threading.Event(), threading.Event(), threading.Event()
    spec = _blocking_writer(entered, release, left, write_first=False)
    scheduler = Scheduler({"slow_write": spec}, EventBus(), context(repo), call_timeout_s=30)
    async with scheduler.serving():
        rec = scheduler.submit(ToolCall("c1", "slow_write", '{"path": "out.txt"}', 0))
        await rec.finished.wait()  # virtual time: the timeout fires while the thread is blocked
        assert trio.current_time() == 30
        release.set()
        await trio.to_thread.run_sync(left.wait)
    assert rec.state.value == "failed" and "timed out after 30s" in rec.text
    assert not (repo / "out.txt").exists()

@pytest.fixture
def with_fifo(tmp_path):
    """A workspace outside git holding a FIFO named like source (no writer: a read would block)."""
    root = tmp_path / "ws"
    root.mkdir()
    (root / "a.py").write_text("def alpha():\n    return 'needle'\n")
    os.mkfifo(root / "pipe.py")
    os.symlink("pipe.py", root / "link.py")
    return root


@pytest.mark.parametrize("call", [
    lambda ctx: files_tools.read_file.fn(ctx, "pipe.py"),
    lambda ctx: files_tools.read_file.fn(ctx, "link.py"),
    lambda ctx: files_tools.edit_file.fn(ctx, "pipe.py", "a", "b"),
    lambda ctx: outline_tool.outline.fn(ctx, "pipe.py"),
    lambda ctx: search_tools.grep.fn(ctx, "needle", path="pipe.py"),
])
def test_special_files_are_refused_by_type(with_fifo, call):
    with pytest.raises(ToolError, match="is a named pipe"):
        call(context(with_fifo))


def test_whole_tree_reads_skip_special_files(with_fifo, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")  # the Python search and the walk outside git
    ctx = context(with_fifo)
    assert search_tools.grep.fn(ctx, "needle") == "a.py:2:     return 'needle'"
    assert search_tools.list_files.fn(ctx) == "a.py"
    assert "def alpha()" in outline_tool.outline.fn(ctx, ".")


def test_the_repo_map_skips_a_fifo_named_like_source(with_fifo, tmp_path):
    from asyncfc_cli.repomap import build_repo_map

    text = build_repo_map(with_fifo, 500, cache=tmp_path / "cache")
    assert "alpha" in text and "pipe.py" not in text


_GREP_IN_A_CHILD = """
import sys
from pathlib import Path
from asyncfc_tools import ToolContext
from asyncfc_tools.search import grep
print(grep.fn(ToolContext(root=Path(sys.argv[1])), "(a+)+$"))
"""


@pytest.mark.slow
def test_grep_runs_a_catastrophic_pattern_in_linear_time(tmp_path):
    # In a child process: a backtracking engine holds the GIL, so nothing in this process (not
    # even a timeout thread) could stop it.
    root = tmp_path / "ws"
    root.mkdir()
    (root / "long.txt").write_text(("a" * 5_000 + "b\n") * 20)
    env = {**os.environ, "PATH": "/nonexistent"}  # no ripgrep: the in-process search
    done = subprocess.run([sys.executable, "-c", _GREP_IN_A_CHILD, str(root)], env=env, timeout=60,
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "(no matches for '(a+)+$')"


def test_grep_says_which_syntax_it_refuses(tmp_path):
    with pytest.raises(ToolError, match=r"lookahead/lookbehind and backreferences are not supported"):
        search_tools.grep.fn(context(tmp_path), r"(?<=# )TODO")
    with pytest.raises(ToolError, match=r"unsupported regex .*invalid escape sequence"):
        search_tools.grep.fn(context(tmp_path), r"(a)\1")


def _peak_bytes(call):
    tracemalloc.start()
    try:
        result = call()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["python", "ripgrep"])
def test_grep_memory_stays_bounded_by_the_cap(tmp_path, monkeypatch, engine):
    root = tmp_path / "ws"
    root.mkdir()
    lines = 30_000
    (root / "hits.txt").write_text("hit\n" * lines)
    if engine == "ripgrep":  # a stand-in that prints ripgrep's --json records for every line
        records = root.parent / "rg.json"
        path = str(root.resolve() / "hits.txt")
        with records.open("w") as out:
            for number in range(1, lines + 1):
                out.write(json.dumps({"type": "match", "data": {
                    "path": {"text": path}, "lines": {"text": "hit\n"}, "line_number": number}}) + "\n")
        bin_dir = root.parent / "bin"
        bin_dir.mkdir()
        (bin_dir / "rg").write_text(f"#!/bin/sh\ncat {records}\n")
        (bin_dir / "rg").chmod(0o755)
        monkeypatch.setenv("PATH", str(bin_dir))
    else:
        monkeypatch.setenv("PATH", "/nonexistent")
    ctx = context(root, settings=ToolSettings(grep_max_matches=5))
    out, peak = _peak_bytes(lambda: search_tools.grep.fn(ctx, "hit"))
    assert out.splitlines()[-1] == "[... 29,995 more of 30,000 matches in 1 file cut; narrow the pattern, path or glob]"
    assert peak < 1_000_000, f"{peak:,} bytes held for 5 shown matches"


_WAIT_FOR_PID = "while [ ! -s d.pid ]; do sleep 0.01; done; echo started"


@pytest.mark.slow
@pytest.mark.trio
@pytest.mark.parametrize("daemon", [
    "setsid sh -c 'echo $$ > d.pid; exec sleep 300' &",  # left the group, keeps stdout
    "sh -c \"setsid sh -c 'echo \\$\\$ > d.pid; exec sleep 300' &\";",  # double fork: reparented away
])
async def test_a_daemon_holding_stdout_neither_hangs_the_call_nor_outlives_it(tmp_path, daemon):
    from asyncfc_tools.shell import shell

    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    ctx = context(repo, shell_timeout_s=600.0, settings=ToolSettings(kill_grace_s=0.3))
    with trio.fail_after(120):  # before: it waited for the daemon (here 300 s; the call timeout)
        out = await shell.fn(ctx, f"{daemon} {_WAIT_FOR_PID}", timeout_s=600)
    assert out.startswith("exit code 0") and "started" in out
    assert "were stopped when it exited" in out
    assert not alive(int((repo / "d.pid").read_text()))


@pytest.mark.slow
@pytest.mark.trio
async def test_timeout_s_holds_with_a_daemon_holding_stdout(tmp_path):
    from asyncfc_tools import ToolError
    from asyncfc_tools.shell import shell

    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    ctx = context(repo, settings=ToolSettings(kill_grace_s=0.3))
    with trio.fail_after(120), pytest.raises(ToolError, match="timed out after"):
        await shell.fn(ctx, f"setsid sh -c 'echo $$ > d.pid; exec sleep 300' & {_WAIT_FOR_PID}; sleep 300",
                       timeout_s=1)
    assert not alive(int((repo / "d.pid").read_text()))



@pytest.mark.slow
@pytest.mark.trio
async def test_a_daemon_that_escaped_tracking_cannot_hold_the_call_open(tmp_path):
    from asyncfc_tools.shell import shell

    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    ctx = context(repo, settings=ToolSettings(kill_grace_s=0.3))
    # env -i drops the mark; the subshell exits at once, so the daemon is reparented before the
    # command's descendants are next looked up: neither tracking finds it (on a slow machine the
    # lookup may still catch it, and then it is stopped: either way the call cannot hang).
    escape = "sleep 0.2; (setsid env -i sh -c 'echo $$ > d.pid; exec sleep 300' &);"
    try:
        with trio.fail_after(120):
            out = await shell.fn(ctx, f"{escape} {_WAIT_FOR_PID}")
        assert out.startswith("exit code 0") and "started" in out
        daemon = int((repo / "d.pid").read_text())
        assert "still holds its output open" in out or not alive(daemon)
    finally:
        if (repo / "d.pid").exists() and alive(int((repo / "d.pid").read_text())):
            os.kill(int((repo / "d.pid").read_text()), 9)


_LONG = "n" * 300
_BAD_CALLS = [
    ("read_file", '{"path": "a\\u0000b"}', "contains a NUL character"),
    ("write_file", '{"path": "a\\u0000b", "content": "x"}', "contains a NUL character"),
    ("edit_file", '{"path": "a\\u0000b", "old": "x", "new": "y"}', "contains a NUL character"),
    ("list_files", '{"path": "a\\u0000b"}', "contains a NUL character"),
    ("grep", '{"pattern": "x", "path": "a\\u0000b"}', "contains a NUL character"),
    ("outline", '{"path": "a\\u0000b"}', "contains a NUL character"),
    ("shell", '{"command": "echo \\u0000"}', "contains a NUL character"),
    ("write_file", json.dumps({"path": _LONG, "content": "x"}), "is 300 bytes long; file names are limited to 255"),
    ("outline", json.dumps({"path": _LONG + ".py"}), "is 303 bytes long; file names are limited to 255"),
    ("read_file", json.dumps({"path": "a/" * 2100}), "paths are limited to 4,096 bytes"),
    ("read_file", '{"path": "a.txt", "offset": 100000000000000000000}', "is past the end of any file"),
    ("read_file", '{"path": "a.txt", "offset": 1e20}', "must be of type integer, got float 1e+20"),
    ("shell", '{"command": "true", "timeout_s": -1}', "must be a positive number of seconds, got -1"),
    ("shell", '{"command": "true", "timeout_s": NaN}', "must be a finite number, got nan"),
    ("run_tests", '{"timeout_s": NaN}', "must be a finite number, got nan"),
    ("run_tests", '{"timeout_s": Infinity}', "must be a finite number, got inf"),
    ("run_tests", '{"timeout_s": -5}', "must be a positive number of seconds, got -5"),
    ("list_files", '{"pattern": "["}', "invalid glob '[': it has an unclosed [ bracket"),
    ("grep", '{"pattern": "x", "glob": "src/[a-"}', "invalid glob 'src/[a-': it has an unclosed [ bracket"),
]


@pytest.mark.trio
async def test_every_error_is_in_words(tmp_path):
    root = tmp_path / "ws"
    root.mkdir()
    (root / "a.txt").write_text("x\n")
    scheduler = Scheduler(builtin_tools(), EventBus(), context(root))
    async with scheduler.serving():
        for index, (name, args, _) in enumerate(_BAD_CALLS):
            scheduler.submit(ToolCall(f"c{index}", name, args, index))
        await scheduler.wait_all_finished()
    for (name, args, words), rec in zip(_BAD_CALLS, scheduler.futures.values()):
        assert rec.state.value == "failed" and words in rec.text, (name, args, rec.text)
        assert "raised" not in rec.text and "Errno" not in rec.text, rec.text


def test_unexpected_exceptions_are_translated_once():
    from asyncfc_tools import describe_exception

    error = OSError(36, "File name too long", "/w/" + "n" * 300)
    assert describe_exception("t", error).startswith("t failed: File name too long ('/w/nnn")
    group = BaseExceptionGroup("Exceptions from Trio nursery", [ValueError("embedded null byte")])
    assert describe_exception("t", group) == ("t failed: an argument contains a NUL character (\\0), "
                                              "which no path or command line can hold")
    assert describe_exception("t", OverflowError("int too large")).startswith("t failed: a number")


def test_a_glob_that_matches_nothing_says_so(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("x = 1\n")
    ctx = context(tmp_path)
    assert search_tools.list_files.fn(ctx, "src", "src/*.py") == (
        "(no files matching 'src/*.py' under src; a glob with / matches paths relative to src)")
    assert search_tools.grep.fn(ctx, "x", glob="*.rs") == (
        "(no matches for 'x': no file under . matches the glob '*.rs')")


_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<testsuite><testcase classname="t" name="&lol3;"/></testsuite>"""


@pytest.mark.parametrize("parse", ["parse_junit", "parse_mocha_xunit", "parse_node_junit"])
def test_test_reports_with_entities_are_refused(parse):
    from asyncfc_tools import _test_reports

    with pytest.raises(ValueError, match="refused the XML report: it declares entities"):
        getattr(_test_reports, parse)(_LAUGHS)



def test_ignore_rules_follow_git_for_escapes_and_classes():
    from asyncfc_tools._listing import IgnoreRules

    rules = IgnoreRules("\\!important.txt\n\\#notes\nlog[!s].txt\n")
    assert rules.ignored("!important.txt", False) is True and rules.ignored("#notes", False) is True
    assert rules.ignored("logx.txt", False) is True and rules.ignored("logs.txt", False) is None


def test_the_listening_probe_sees_a_reparented_server_that_tracking_saw():
    """A server that double-forked is no longer its command's descendant; the probe looks at what
    the tree's tracking saw (pid and start time, so a reused pid is never mistaken for it)."""
    from asyncfc_tools._listening import listening_addresses
    from asyncfc_tools._process_tree import ProcessTree, proc_table

    leader = subprocess.Popen(["sleep", "30"])
    server = subprocess.Popen([sys.executable, "-c", "import socket, time; s = socket.socket(); "
                               "s.bind(('127.0.0.1', 0)); s.listen(1); print(s.getsockname()[1], flush=True); "
                               "time.sleep(30)"], stdout=subprocess.PIPE, text=True)
    try:
        port = server.stdout.readline().strip()
        tree = ProcessTree(leader.pid)
        started = (proc_table() or {})[server.pid].started
        assert server.pid not in tree.pids()  # not the leader's descendant
        assert listening_addresses(tree.pids({server.pid: started})) == [f"127.0.0.1:{port}"]
        assert server.pid not in tree.pids({server.pid: started + b"0"})  # another process's pid
    finally:
        for process in (leader, server):
            process.kill()
            process.wait()
