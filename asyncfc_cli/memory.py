"""Memory: a line the person wants every later session to know, added to the project instructions.

The TUI's ``# always run tests with -q`` (and ``/memory TEXT``) appends ``- always run tests with
-q`` to the instructions file the system prompt reads (``prompting.INSTRUCTION_FILES``): the first
one the repository has, else a new ``AGENTS.md``. Trust boundary: the text is the person's, but the
file is the repository's, so it is written only where the file tools could write (its real path
inside the workspace, never in ``.git`` or the user's config): an ``AGENTS.md`` that is a symlink to
``~/.bashrc`` is refused, not appended to.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import ToolError, WorkspaceError
from .prompting import INSTRUCTION_FILES
from .workspace import Workspace

__all__ = ["Remembered", "add_memory", "memory_line", "memory_target"]

NEW_FILE = "AGENTS.md"
"""Where a memory goes in a repository with no instructions file yet (the cross-tool name)."""
MAX_LINE_CHARS = 1000


@dataclass(frozen=True, slots=True)
class Remembered:
    """A memory written."""

    path: str
    """The instructions file, relative to the root (``AGENTS.md``)."""
    line: str
    """The line added, as it is in the file (``- always run tests with -q``)."""
    created: bool
    """The file did not exist before."""


def memory_line(text: str) -> str | None:
    """The memory in a submitted prompt line ``# TEXT`` (hash, space, text, one line), or None
    when ``text`` is not one: a pasted Markdown document (several lines) or ``#123 fix it`` (no
    space) is a task."""
    if not text.startswith("# ") or "\n" in text.strip():
        return None
    return text[2:].strip() or None


def memory_target(root: Path) -> str:
    """The instructions file a memory goes to: the first of ``INSTRUCTION_FILES`` present at
    ``root``, else ``AGENTS.md``."""
    return next((rel for rel in INSTRUCTION_FILES if (root / rel).is_file()), NEW_FILE)


def add_memory(workspace: Workspace, text: str) -> Remembered:
    """Append ``- TEXT`` to the instructions file (``memory_target``), creating it if need be.

    Raises:
        WorkspaceError: the text is empty or too long, or the file's real path is not inside the
            workspace (what ``PathOutsideWorkspace`` refuses), or it cannot be written (in words).
    """
    text = " ".join(text.split())
    if not text:
        raise WorkspaceError("nothing to remember: write the note after the #")
    if len(text) > MAX_LINE_CHARS:
        raise WorkspaceError(f"a memory is one line of at most {MAX_LINE_CHARS} characters")
    rel = memory_target(workspace.root)
    try:
        path = workspace.resolve(rel)
    except ToolError as exc:  # PathOutsideWorkspace: a link out of the workspace, into .git...
        raise WorkspaceError(f"not added: {exc}") from None
    line = f"- {text}"
    try:
        before = path.read_bytes() if path.exists() else None
        if before is not None and not path.is_file():
            raise WorkspaceError(f"{rel} is not a regular file")
        separator = "" if not before or before.endswith(b"\n") else "\n"
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(path, flags, 0o644)
        with os.fdopen(fd, "ab") as out:
            out.write(f"{separator}{line}\n".encode())
    except OSError as exc:
        raise WorkspaceError(f"cannot add to {rel}: {exc.strerror or exc}") from None
    return Remembered(rel, line, created=before is None)
