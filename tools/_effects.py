"""Effects: what a call may observe or change, and the effect specs a tool declares
(``pure``, ``reads``, ``writes``, ``runs``, ``exclusive``), from which the engine keeps program
order between concurrent calls. Path arguments become conflict keys here (``normalise_effect_path``);
an argument not known yet arrives as ``UNRESOLVED``."""

from __future__ import annotations

import fnmatch
import os
import posixpath
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal


EffectKind = Literal["pure", "reads", "writes", "runs", "declared", "exclusive"]

WHOLE_TREE = "."
"""The path an effect names when it covers the whole workspace (or its path is not yet known)."""


@dataclass(frozen=True, slots=True)
class Effect:
    """What a call may observe or change, used to keep program order between concurrent calls."""

    kind: EffectKind
    """pure: touches nothing; reads/writes: the given paths and everything under them; runs: runs
    the project's own checks (tests, linters, type checkers): reads the whole tree and writes only
    its runner's caches, named by ``paths`` (e.g. "tests"), which no file tool reads; declared: a
    command whose footprint the model declared: it reads the whole tree and writes only ``paths``
    (none: it changes nothing); exclusive: may touch anything (other shell commands)."""
    paths: tuple[str, ...] = ()
    """Normalised workspace-relative paths ("." is the whole tree) for reads/writes/declared; cache
    names for runs; empty otherwise."""
    unconfined: bool = False
    """The call is not confined to the workspace (a shell command): it needs approval even when it
    only reads. Plays no part in ordering."""
    background: bool = False
    """The call starts a long-lived process (a server, a watcher) that keeps running after it has
    started: later calls that conflict with it wait only until it has started, never for its end,
    and it never holds the finish of a task."""

    @property
    def mutates(self) -> bool:
        """True for calls that may change the workspace or run the project's code (and so need
        approval and a checkpoint)."""
        return self.kind in ("writes", "runs", "exclusive") or (self.kind == "declared" and bool(self.paths))

    @property
    def needs_approval(self) -> bool:
        """True for calls the approval policy decides on: those that mutate or are unconfined."""
        return self.mutates or self.unconfined

    def conflicts_with(self, other: Effect) -> bool:
        """Whether running self and other concurrently could differ from running them in order.

        write/write and read/write on overlapping paths conflict; a run conflicts with every write
        (it reads the whole tree) and with runs sharing a cache, never with reads; exclusive
        conflicts with every non-pure effect; pure never conflicts; reads never conflict with reads.
        A declared command reads the whole tree and writes its paths: it conflicts with every write
        and, when it writes, with every read of its paths, every run and every other command.
        """
        if self.kind == "pure" or other.kind == "pure":
            return False
        if self.kind == "exclusive" or other.kind == "exclusive":
            return True
        if "declared" in (self.kind, other.kind):
            return _declared_conflict(self, other) if self.kind == "declared" else _declared_conflict(other, self)
        kinds = {self.kind, other.kind}
        if kinds == {"reads"} or kinds == {"reads", "runs"}:
            return False
        if kinds == {"runs"}:
            return bool(set(self.paths) & set(other.paths))
        if "runs" in kinds:
            return True  # a run reads the whole tree; the other one writes
        return any(_overlap(a, b) for a in self.paths for b in other.paths)


def _declared_conflict(declared: Effect, other: Effect) -> bool:
    """A declared command (reads ".", writes ``declared.paths``, which may be globs) against a
    non-pure, non-exclusive effect."""
    if other.kind == "writes":
        return True  # it reads the whole tree
    if other.kind == "reads":
        return any(_overlap_glob(a, b) for a in declared.paths for b in other.paths)
    return bool(declared.paths) or (other.kind == "declared" and bool(other.paths))


def _overlap_glob(pattern: str, path: str) -> bool:
    """Whether ``path`` (or what lies under it) and what ``pattern`` (a path or glob) names can
    share a file: ``path`` holds the pattern's folder, or lies at or under a match."""
    if not _GLOB_CHARS.search(pattern):
        return _overlap(pattern, path)
    base = glob_base(pattern)
    holds_base = path == WHOLE_TREE or path == base or base.startswith(path.rstrip("/") + "/")
    return holds_base or path_matcher(pattern)(path)


def _overlap(a: str, b: str) -> bool:
    if a == WHOLE_TREE or b == WHOLE_TREE or a == b:
        return True
    return a.startswith(b.rstrip("/") + "/") or b.startswith(a.rstrip("/") + "/")


class _Unresolved:
    """The type of ``UNRESOLVED``."""

    def __repr__(self) -> str:
        return "UNRESOLVED"


UNRESOLVED: Any = _Unresolved()
"""What an effect function is given for an argument whose value is not known yet (the engine's
reference to another call's result, before that call has finished). It is no string, so a path
argument holding it counts as the whole tree (``normalise_effect_path``) and a command as unknown.
How references are written is the engine's business (``asyncfc_cli.futures``), not the tools'."""


def normalise_effect_path(value: object, root: Path | None = None) -> str:
    """Turn a path argument into the key used for conflict checks.

    With a root, the path is resolved as the tools will resolve it (symlinks followed, DESIGN 4):
    a write through ``alias.txt -> u.txt`` or a linked folder and a read of ``u.txt`` get the same
    key, so they are ordered. Anything that is not a plain string (``UNRESOLVED``, a missing
    value), or that leads outside the root, is treated as the whole tree, which is always safe: it
    only adds waiting, never races.
    """
    if not isinstance(value, str) or not value:
        return WHOLE_TREE
    if root is not None:
        return _resolved_key(value, root)
    path = value
    if os.path.isabs(path):
        return WHOLE_TREE
    norm = posixpath.normpath(path.replace(os.sep, "/"))
    if norm.startswith(".."):
        # Outside the root: the tool will refuse it; for ordering, be conservative.
        return WHOLE_TREE
    return norm


def _resolved_key(value: str, root: Path) -> str:
    try:
        real_root = os.path.realpath(root)
        real = os.path.realpath(os.path.join(real_root, os.path.expanduser(value)))
        rel = os.path.relpath(real, real_root)
    except (ValueError, OSError):  # a NUL byte, a name too long: the tool will say so
        return WHOLE_TREE
    norm = posixpath.normpath(rel.replace(os.sep, "/"))
    return WHOLE_TREE if norm == ".." or norm.startswith("../") else norm
_GLOB_CHARS = re.compile(r"[*?\[]")


def glob_base(pattern: str) -> str:
    """The folder a path or glob lies in up to its first glob character (``src/gen_*.py`` ->
    ``src``, ``**/*.o`` -> ``.``); a plain path is its own base."""
    if not _GLOB_CHARS.search(pattern):
        return pattern
    parts = pattern.replace(os.sep, "/").split("/")
    cut = next(i for i, part in enumerate(parts) if _GLOB_CHARS.search(part))
    return "/".join(parts[:cut]) or WHOLE_TREE


def path_matcher(pattern: str) -> Callable[[str], bool]:
    """A test for workspace-relative paths: whether one lies at or under what a declared path or
    glob names (``build/`` covers ``build/x/a.o``; ``src/gen_*.py`` covers ``src/gen_api.py``;
    ``**/*.o`` covers ``a.o`` too). Globs match as ``fnmatch`` does, so ``*`` may cross folders:
    generous to the declaration, never narrower than the model meant."""
    pattern = pattern.replace(os.sep, "/").removeprefix("./").strip("/")
    if pattern in ("", WHOLE_TREE):
        return lambda rel: True
    patterns = {pattern, pattern.removeprefix("**/")}

    def covers(rel: str) -> bool:
        parts = rel.split("/")
        prefixes = ("/".join(parts[:i]) for i in range(1, len(parts) + 1))
        return any(fnmatch.fnmatchcase(prefix, p) for prefix in prefixes for p in patterns)

    return covers


def declared_footprint(patterns: Sequence[object], root: Path | None = None) -> tuple[str, ...]:
    """The effect paths of a command's declared ``writes``: each path or glob normalised (globs
    are compared as globs, see ``Effect.conflicts_with``)."""
    paths: list[str] = []
    for pattern in patterns:
        path = normalise_effect_path(pattern, root)
        if path not in paths:
            paths.append(path)
    return tuple(paths)


EffectSpec = Callable[[Mapping[str, Any], "Path | None"], Effect]
"""Computes a call's effect from its (parsed) arguments and the workspace root."""


def pure() -> EffectSpec:
    """The call touches nothing the other calls can see."""
    return lambda args, root: Effect("pure")


def exclusive() -> EffectSpec:
    """The call may read or change anything (shell commands, test runs)."""
    return lambda args, root: Effect("exclusive")


def runs(*caches: str) -> EffectSpec:
    """The call runs the project's checks (tests, linters): it reads the whole tree and writes only
    these caches (calls sharing a cache run one at a time)."""
    return lambda args, root: Effect("runs", caches)


def _path_effect(kind: EffectKind, params: Sequence[str], default: str | None) -> EffectSpec:
    def spec(args: Mapping[str, Any], root: Path | None) -> Effect:
        paths: list[str] = []
        for name in params:
            value = args.get(name, default)
            values = value if isinstance(value, list) else [value]
            paths.extend(normalise_effect_path(v, root) for v in values)
        return Effect(kind, tuple(paths) or (WHOLE_TREE,))

    return spec


def reads(*params: str, default: str | None = None) -> EffectSpec:
    """The call reads the paths named by these arguments (and what lies under them).

    Args:
        params: names of arguments holding a path or a list of paths.
        default: the path to assume when the argument is absent (``"."`` for the whole tree).
    """
    return _path_effect("reads", params, default)


def writes(*params: str) -> EffectSpec:
    """The call writes the paths named by these arguments."""
    return _path_effect("writes", params, None)
