"""Hostile inputs and faults at the tools: effects keyed by real paths, cancelled writes that never
land, special files refused by type, errors in words (issue 14)."""

from __future__ import annotations

import os

import pytest

from asyncfc_tools import builtin_tools
from test_tools_concurrency import created, order, run_calls
from tools_repo import make_repo


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
