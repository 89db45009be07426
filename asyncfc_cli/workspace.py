"""The workspace: its root, path confinement, and the context tools run in.

Checkpoints (git snapshots on a private ref, and undo) live in ``checkpoint.py``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from asyncfc_tools import ToolContext, resolve_in_root

from .config import Settings

__all__ = ["Workspace", "child_environment", "find_root"]

_KEY_VARIABLE = re.compile(r"(API_KEY|_API_TOKEN|_SECRET_KEY|ACCESS_KEY|_TOKEN|_SECRET)$")


def find_root(start: Path) -> Path:
    """The git top level above ``start`` (a ``.git`` folder or file), else ``start`` itself."""
    start = Path(os.path.realpath(start))
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return start


def child_environment(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for commands the agent runs: the user's, minus provider keys and tokens."""
    env = os.environ if env is None else env
    return {k: v for k, v in env.items() if not _KEY_VARIABLE.search(k.upper())}


@dataclass(frozen=True, slots=True)
class Workspace:
    """Where a session works. Every file path a tool touches is confined to ``root``."""

    root: Path

    @classmethod
    def discover(cls, cwd: Path | None = None) -> Workspace:
        return cls(find_root(cwd or Path.cwd()))

    def resolve(self, path: str | os.PathLike[str]) -> Path:
        """See ``asyncfc_tools.resolve_in_root``."""
        return resolve_in_root(self.root, path)

    @property
    def is_git(self) -> bool:
        return (self.root / ".git").exists()

    def tool_context(self, settings: Settings) -> ToolContext:
        return ToolContext(
            root=self.root,
            shell_timeout_s=settings.shell_timeout_s,
            max_output_chars=settings.max_output_chars,
            env=child_environment(),
        )
