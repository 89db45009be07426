"""The workspace: its root, path confinement, and the context tools run in.

Checkpoints (git snapshots on a private ref, and undo) live in ``checkpoint.py``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from asyncfc_tools import ToolContext, ToolSettings, child_environment, resolve_in_root

from .config import Settings, user_config_path

if TYPE_CHECKING:
    from asyncfc_tools._sandbox import Sandbox

__all__ = ["Workspace", "child_environment", "find_root", "keyless_environment"]


def keyless_environment(keys: Collection[str] = ()) -> dict[str, str]:
    """The environment of a command: ours without provider keys (``child_environment``) and
    without ``keys``, variables holding a key whatever their name (the user's endpoint pairings,
    ``config.endpoint_keys``)."""
    return {name: value for name, value in child_environment().items() if name not in keys}


def find_root(start: Path) -> Path:
    """The git top level above ``start`` (a ``.git`` folder or file), else ``start`` itself."""
    start = Path(os.path.realpath(start))
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return start


@dataclass(frozen=True, slots=True)
class Workspace:
    """Where a session works. Every file path a tool touches is confined to ``root``."""

    root: Path

    @classmethod
    def discover(cls, cwd: Path | None = None) -> Workspace:
        return cls(find_root(cwd or Path.cwd()))

    @property
    def off_limits(self) -> tuple[Path, ...]:
        """Folders refused even inside the workspace: the user's asyncfc config folder (when the
        workspace holds it, e.g. a session in the home folder), where the trust store and key
        pairings live, which the agent must not be able to change."""
        return (user_config_path().parent,)

    def resolve(self, path: str | os.PathLike[str]) -> Path:
        """The real path of ``path`` in the workspace, checked as the file tools check it (see
        ``asyncfc_tools.resolve_in_root``; ``off_limits`` refused too).

        Raises:
            PathOutsideWorkspace: outside the root, in ``.git``, or in ``off_limits``.
        """
        return resolve_in_root(self.root, path, self.off_limits)

    @property
    def is_git(self) -> bool:
        return (self.root / ".git").exists()

    def tool_context(self, settings: Settings, sandbox: Sandbox | None = None, *,
                     approval_offers_network: Callable[[], bool] = lambda: False,
                     keys: Collection[str] = (), protected: Collection[Path] = ()) -> ToolContext:
        """What the tools get; ``off_limits`` are off limits to them too, and so are ``protected``
        folders (asyncfc's own: transcripts and caches, which a later session believes).
        ``approval_offers_network``: see ``ToolContext``. ``keys``: variables holding a key
        whatever their name (the user's endpoint pairings), left out of the commands' environment
        like every key-named one."""
        return ToolContext(
            root=self.root,
            shell_timeout_s=settings.shell_timeout_s,
            max_output_chars=settings.max_output_chars,
            env=keyless_environment(keys),
            off_limits=tuple(dict.fromkeys((*self.off_limits, *protected))),
            sandbox=sandbox,
            settings=ToolSettings(web_allow_local=settings.web_allow_local, repo_trusted=settings.repo_trusted),
            approval_offers_network=approval_offers_network,
        )
