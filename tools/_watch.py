"""Noticing what a check changed in the workspace.

Test runs and linters have the ``runs`` effect: the scheduler lets reads run beside them on the
promise that they write only their own caches. A check that breaks the promise (a test that
rewrites a fixture, a snapshot update) is not stopped, but it is reported: the tool's result names
the files that changed while it ran, so the model knows to read them again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import trio

from ._listing import workspace_files

__all__ = ["changed_files", "changes_note", "watch_tree"]

Stamp = Mapping[str, tuple[int, int]]

_SHOWN = 10
_MAX_FILES = 50_000
"""Above this many files stamping the tree twice would cost more than most checks: not watched."""
_CACHES = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis",
                     ".tox", ".nox", "node_modules", ".coverage", "coverage", "htmlcov", ".cache",
                     "target", ".eslintcache", ".tsbuildinfo"})
"""Names of files and folders that checks write as caches (left out even when not ignored)."""


def _is_cache(rel: str) -> bool:
    return rel.endswith((".pyc", ".pyo")) or any(part in _CACHES for part in rel.split("/"))


def _stamp(root: Path) -> dict[str, tuple[int, int]] | None:
    files = workspace_files(root)
    if len(files) > _MAX_FILES:
        return None
    stamp: dict[str, tuple[int, int]] = {}
    for path in files:
        rel = path.relative_to(root).as_posix()
        if _is_cache(rel):
            continue
        try:
            stat = path.lstat()
        except OSError:
            continue
        stamp[rel] = (stat.st_mtime_ns, stat.st_size)
    return stamp


def changed_files(before: Stamp, after: Stamp) -> list[str]:
    """Files (not ignored) created, deleted or modified between two stamps, sorted."""
    return sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))


def changes_note(changed: list[str]) -> str:
    """The line appended to a check's result when it changed files ("" when it changed none)."""
    if not changed:
        return ""
    shown = ", ".join(changed[:_SHOWN]) + (f" and {len(changed) - _SHOWN} more" if len(changed) > _SHOWN else "")
    return (f"note: these files changed while this ran (checks are expected to write only their "
            f"caches): {shown}. Reads made alongside it may show their earlier content; read them "
            "again if you need them.")


@asynccontextmanager
async def watch_tree(root: Path) -> AsyncIterator[list[str]]:
    """Stamp the tree before and after the body; the yielded list is filled with what changed
    (left empty for a tree too big to stamp cheaply)."""
    before = await trio.to_thread.run_sync(_stamp, root)
    changed: list[str] = []
    yield changed
    after = await trio.to_thread.run_sync(_stamp, root) if before is not None else None
    if before is not None and after is not None:
        changed.extend(changed_files(before, after))
