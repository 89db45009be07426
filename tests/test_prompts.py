"""The system prompt: futures text in async mode only, project instructions, repo map, and the
protocol text matching the engine's exact wire shapes."""

from __future__ import annotations

import os

import pytest

from asyncfc_cli.config import Settings
from asyncfc_cli.errors import ConfigError
from asyncfc_cli.futures import future_block, placeholder
from asyncfc_cli.prompting import build_system_prompt, project_instructions
from asyncfc_cli.workspace import Workspace
from asyncfc_prompts import PROMPT_NAMES, load_prompt

FUTURES_HEADING = "## Tool calls are futures"
TOOLS = ("read_file", "write_file", "edit_file", "list_files", "grep", "outline", "shell",
         "run_tests")


def prompt(workspace: Workspace, mode: str, repo_map: str = "") -> str:
    return build_system_prompt(Settings(), workspace, mode=mode, repo_map=repo_map)


def test_prompts_are_package_data():
    for name in PROMPT_NAMES:
        assert load_prompt(name).strip()
    with pytest.raises(KeyError):
        load_prompt("nonsense")


def test_futures_text_appears_in_the_async_prompt_only(workspace):
    assert FUTURES_HEADING in prompt(workspace, "async")
    assert "await_future" in prompt(workspace, "async")
    for mode in ("sync", "serial"):
        text = prompt(workspace, mode)
        assert FUTURES_HEADING not in text
        assert "await_future" not in text and '"$f' not in text and "placeholder" not in text


def test_every_mode_explains_every_tool_and_how_to_finish(workspace):
    for mode in ("async", "sync", "serial"):
        text = prompt(workspace, mode)
        for name in TOOLS:
            assert f"`{name}(" in text, name
        assert "run_tests" in text and "summary" in text
        assert str(workspace.root) in text


def test_futures_text_uses_the_engines_exact_wire_shapes():
    text = load_prompt("futures")
    assert placeholder("f3", "running") in text  # {"future": "f3", "status": "running"}
    assert '"status": "pending"' in text
    assert future_block("f3", "done", "...result text...") in text
    assert '"$f3"' in text
    for status in ("done", "failed", "cancelled"):
        assert f"`{status}`" in text
    for phrase in ("await_future(ids, timeout_s?)", "cancel_future(ids)", "Never guess a pending",
                   "Keep thinking while tools run", "`f1`, `f2`"):
        assert phrase in text


def test_instruction_files_are_picked_up_and_labelled(workspace):
    root = workspace.root
    assert project_instructions(root) == []
    (root / "AGENTS.md").write_text("Run tests with `make check`.\n")
    (root / "CLAUDE.md").write_text("Never touch vendor/.\n")
    (root / ".asyncfc").mkdir()
    (root / ".asyncfc" / "instructions.md").write_text("Use tabs.\n")
    text = prompt(workspace, "sync")
    assert "## Project instructions" in text
    for label, body in (("AGENTS.md", "Run tests with `make check`."), ("CLAUDE.md", "Never touch vendor/."),
                        (".asyncfc/instructions.md", "Use tabs.")):
        assert f'<instructions file="{label}">\n{body}' in text
    assert text.index('file="AGENTS.md"') < text.index('file="CLAUDE.md"')


def test_no_instructions_section_without_files_and_symlinks_count_once(workspace):
    root = workspace.root
    assert "## Project instructions" not in prompt(workspace, "async")
    (root / "AGENTS.md").write_text("Shared rules.\n")
    os.symlink("AGENTS.md", root / "CLAUDE.md")
    assert [i.path for i in project_instructions(root)] == ["AGENTS.md"]
    (root / "AGENTS.md").write_text("")
    (root / "CLAUDE.md").unlink()
    assert project_instructions(root) == []


def test_huge_instructions_are_cut_with_a_note(workspace):
    (workspace.root / "AGENTS.md").write_text("rule\n" * 10_000)
    [item] = project_instructions(workspace.root)
    assert len(item.text) < 21_000 and "read_file AGENTS.md" in item.text


def test_repo_map_section_is_included_when_there_is_a_map(workspace):
    assert "## Repository map" not in prompt(workspace, "async", repo_map="")
    text = prompt(workspace, "async", repo_map="src/a.py:\n  1: def main():")
    assert text.rstrip().endswith("## Repository map" + text.split("## Repository map")[1].rstrip())
    assert "src/a.py:\n  1: def main():" in text


def test_repo_map_is_built_from_the_workspace(workspace, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (workspace.root / "lib.py").write_text("def helper(x):\n    return x\n")
    (workspace.root / "main.py").write_text("from lib import helper\n\nhelper(1)\n")
    text = build_system_prompt(Settings(map_tokens=200), workspace, mode="async")
    assert "lib.py:\n  1: def helper(x)" in text
    assert "## Repository map" not in build_system_prompt(Settings(map_tokens=0), workspace,
                                                           mode="async")


def test_unknown_mode_is_a_config_error(workspace):
    with pytest.raises(ConfigError, match="parallel"):
        prompt(workspace, "parallel")


def test_prompts_teach_declared_writes_and_background_processes(workspace):
    for mode in ("async", "sync", "serial"):
        text = prompt(workspace, mode)
        for phrase in ('writes=["build/"]', "writes=[]", "background=true", "never with `&`",
                       "goes on beside it"):
            assert phrase in text, (mode, phrase)
    futures = load_prompt("futures")
    assert "never holds up the\n  end of the task" in futures and 'cancel_future(["fN"])' in futures
