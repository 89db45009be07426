"""Helpers for the tool tests: throwaway git repositories and tool contexts (not a test module)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from asyncfc_tools import ToolContext


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout


def make_repo(root: Path, files: dict[str, str | bytes] | None = None, *, commit: bool = True) -> Path:
    """A git repository at ``root`` holding ``files`` (committed unless commit=False)."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "test@example.com")
    git(root, "config", "user.name", "Test")
    write_files(root, files or {})
    if commit and files:
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "initial")
    return root


def write_files(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def context(root: Path, **kwargs: object) -> ToolContext:
    return ToolContext(root=root, **kwargs)  # type: ignore[arg-type]
