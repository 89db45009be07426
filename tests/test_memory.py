"""Memory lines: which prompt lines are one, which file they go to, and how they are written."""

from __future__ import annotations

from pathlib import Path

import pytest

from asyncfc_cli.errors import WorkspaceError
from asyncfc_cli.memory import add_memory, memory_line, memory_target
from asyncfc_cli.prompting import project_instructions
from asyncfc_cli.workspace import Workspace


@pytest.mark.parametrize(("typed", "memory"), [
    ("# always use uv", "always use uv"),
    ("#   spaced out  ", "spaced out"),
    ("#123 fix the issue", None),  # an issue number: a task
    ("# Title\n\nA pasted markdown document", None),  # several lines: a task
    ("# ", None),
    ("fix # this", None),
])
def test_a_memory_is_a_single_line_after_a_hash_and_a_space(typed: str, memory: str | None) -> None:
    assert memory_line(typed) == memory


def test_it_goes_to_the_first_instructions_file_the_repository_has(tmp_path: Path) -> None:
    assert memory_target(tmp_path) == "AGENTS.md"
    (tmp_path / ".asyncfc").mkdir()
    (tmp_path / ".asyncfc" / "instructions.md").write_text("x\n")
    assert memory_target(tmp_path) == ".asyncfc/instructions.md"
    (tmp_path / "CLAUDE.md").write_text("no newline at the end")
    done = add_memory(Workspace(tmp_path), "prefer   small   diffs")
    assert (done.path, done.line, done.created) == ("CLAUDE.md", "- prefer small diffs", False)
    assert (tmp_path / "CLAUDE.md").read_text() == "no newline at the end\n- prefer small diffs\n"
    # the next session's system prompt reads it
    assert "- prefer small diffs" in project_instructions(tmp_path)[0].text


def test_a_link_into_git_or_out_of_the_workspace_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / ".git" / "config").write_text("[core]\n")
    (root / "AGENTS.md").symlink_to(root / ".git" / "config")
    with pytest.raises(WorkspaceError, match="inside .git"):
        add_memory(Workspace(root), "x")
    assert (root / ".git" / "config").read_text() == "[core]\n"
    with pytest.raises(WorkspaceError, match="nothing to remember"):
        add_memory(Workspace(root), "   ")
