"""Noticing what a check or a declared command changed in the workspace.

Test runs and linters have the ``runs`` effect: the scheduler lets reads run beside them on the
promise that they write only their own caches. A check that breaks the promise (a test that
rewrites a fixture, a snapshot update) is not stopped, but it is reported: the tool's result names
the files that changed while it ran, so the model knows to read them again. A shell command whose
``writes`` the model declared makes the same promise for its declared paths; what it changed
outside them is reported the same way (``outside_declaration``, ``violation_note``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import trio

from ._api import path_matcher
from ._listing import workspace_files

__all__ = ["changed_files", "changes_note", "outside_declaration", "violation_note", "watch_tree"]

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


def _shown(paths: list[str]) -> str:
    return ", ".join(paths[:_SHOWN]) + (f" and {len(paths) - _SHOWN} more" if len(paths) > _SHOWN else "")


def outside_declaration(changed: list[str], declared: list[str]) -> list[str]:
    """The changed files that no declared path or glob covers (a path covers what lies under it)."""
    matchers = [path_matcher(pattern) for pattern in declared]
    return [path for path in changed if not any(match(path) for match in matchers)]


def violation_note(outside: list[str], declared: list[str]) -> str:
    """The line appended to a declared command's result when it changed files outside its
    declaration ("" when it did not)."""
    if not outside:
        return ""
    promised = ", ".join(declared) if declared else "nothing (writes=[])"
    return (f"warning: this command changed files outside its declared writes ({promised}): "
            f"{_shown(outside)}. Calls that ran beside it may have seen their earlier content; read "
            "them again if you need them, and declare every path a command writes.")


def changes_note(changed: list[str]) -> str:
    """The line appended to a check's result when it changed files ("" when it changed none)."""
    if not changed:
        return ""
    shown = _shown(changed)
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
