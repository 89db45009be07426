"""`asyncfc tools` and `asyncfc undo` through typer's CliRunner."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from asyncfc_cli.checkpoint import create_checkpoint
from asyncfc_cli.cli import app
from tools_repo import make_repo

runner = CliRunner()


def test_tools_lists_every_tool_with_effect_and_required_parameters():
    result = runner.invoke(app, ["tools"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    names = [line.split()[0] for line in lines[:24:2]]
    assert names == ["read_file", "write_file", "edit_file", "list_files", "grep", "outline", "shell",
                     "run_tests", "web_fetch", "agent", "await_future", "cancel_future"]
    assert lines[4].split() == ["edit_file", "writes", "path*,", "old*,", "new*,", "replace_all"]
    assert "shell          exclusive  command*, timeout_s" in result.output


def test_tools_json_prints_the_schemas():
    result = runner.invoke(app, ["tools", "--json"])
    schemas = json.loads(result.output)
    assert [s["function"]["name"] for s in schemas][:2] == ["read_file", "write_file"]
    assert schemas[0]["function"]["parameters"]["required"] == ["path"]


def test_undo_restores_and_lists_changes(tmp_path):
    root = make_repo(tmp_path / "repo", {"a.txt": "one\n"})
    create_checkpoint(root, "s1")
    (root / "a.txt").write_text("two\n")
    (root / "b.txt").write_text("new\n")
    result = runner.invoke(app, ["undo", "--cwd", str(root)])
    assert result.exit_code == 0, result.output
    assert "  restored  a.txt" in result.output
    assert "  deleted   b.txt  (created since the checkpoint)" in result.output
    assert (root / "a.txt").read_text() == "one\n" and not (root / "b.txt").exists()
    again = runner.invoke(app, ["undo", "--cwd", str(root)])
    assert again.exit_code == 1 and "nothing to undo" in again.output


def test_undo_outside_git_exits_2(tmp_path):
    result = runner.invoke(app, ["undo", "--cwd", str(tmp_path)])
    assert result.exit_code == 2
    assert "not inside a git repository" in result.output and "git init" in result.output
