"""The files of a workspace folder as git would show them: .gitignore honoured, .git skipped.

Inside a git work tree git itself answers (``git ls-files --cached --others --exclude-standard``),
which is exact (nested .gitignore files, info/exclude, core.excludesFile). Outside one, or without
git, a walk applies the .gitignore files it meets with git's pattern rules, as implemented by the
``pathspec`` library (``IgnoreRules``). Globs given by the model (list_files' pattern, grep's glob)
use the same rules (``glob_matcher``). Only regular files (and links to them) are listed: FIFOs,
sockets and devices are not files any tool may read.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pathspec

from ._api import ToolError
from ._commit import check_live
from ._fs import is_regular, read_regular_text
from ._git import run_git, work_tree_of

__all__ = ["IgnoreRules", "glob_matcher", "workspace_files"]


def glob_matcher(pattern: str) -> Callable[[str], bool]:
    """A test for relative paths: a pattern without ``/`` matches the file name at any depth
    (``*.py``); one with ``/`` matches the whole relative path (``src/**/*.ts``), and a folder
    matches everything under it.

    Raises:
        ToolError: the glob is invalid (an unclosed ``[``, a trailing backslash...), in words.
    """
    text = pattern.strip()
    literal = "\\" + text if text.startswith(("!", "#")) else text  # a glob, not a negation or comment
    try:
        spec = pathspec.GitIgnoreSpec.from_lines([literal])
    except (ValueError, pathspec.patterns.GitWildMatchPatternError) as exc:
        raise _bad_glob(pattern, str(exc)) from None
    if not text:
        raise _bad_glob(pattern, "it is empty")
    if any(p.regex is None for p in spec.patterns):
        raise _bad_glob(pattern, "it has an unclosed [ bracket" if "[" in text else "git's glob rules cannot read it")
    return lambda rel: spec.match_file(rel)


def _bad_glob(pattern: str, why: str) -> ToolError:
    return ToolError(f"invalid glob {pattern!r}: {why}. A glob uses * (any characters but /), ** "
                     "(any folders), ? and [abc]; `*.py` matches names at any depth, `src/**/*.ts` "
                     "paths under src")


class IgnoreRules:
    """The patterns of one .gitignore file, applied to paths relative to the folder holding it."""

    def __init__(self, text: str) -> None:
        lines = text.splitlines()
        try:
            self._spec = pathspec.GitIgnoreSpec.from_lines(lines)
        except (ValueError, pathspec.patterns.GitWildMatchPatternError):
            # git skips a malformed line and keeps the rest: so do we, line by line
            self._spec = pathspec.GitIgnoreSpec.from_lines([line for line in lines if _valid_rule(line)])

    def ignored(self, rel: str, is_dir: bool) -> bool | None:
        """True/False if a rule decides (the last matching one wins), None if none matches."""
        return self._spec.check_file(rel + "/" if is_dir else rel).include


def _valid_rule(line: str) -> bool:
    try:
        pathspec.GitIgnoreSpec.from_lines([line])
    except (ValueError, pathspec.patterns.GitWildMatchPatternError):
        return False
    return True


def _git_files(folder: Path) -> list[Path] | None:
    root = work_tree_of(folder)
    if root is None:
        return None
    try:
        done = run_git(root, ["ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "."],
                       cwd=folder, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    names = sorted(set(done.stdout.decode("utf-8", "surrogateescape").split("\0")) - {""})
    return [folder / name for name in names]


def _walk(folder: Path) -> Iterator[Path]:
    stack: list[tuple[Path, list[tuple[Path, IgnoreRules]]]] = [(folder, [])]
    while stack:
        current, rules = stack.pop()
        ignore_file = current / ".gitignore"
        text = read_regular_text(ignore_file)
        if text is not None:
            rules = [*rules, (current, IgnoreRules(text))]
        try:
            entries = sorted(os.scandir(current), key=lambda e: e.name, reverse=True)
        except OSError:
            continue
        check_live()  # a stopped call stops walking
        for entry in entries:
            is_dir = entry.is_dir(follow_symlinks=False)
            if entry.name == ".git" or _ignored(Path(entry.path), is_dir, rules):
                continue
            if is_dir:
                stack.append((Path(entry.path), rules))
            else:
                yield Path(entry.path)


def _ignored(path: Path, is_dir: bool, rules: list[tuple[Path, IgnoreRules]]) -> bool:
    verdict = False
    for base, rule in rules:
        decided = rule.ignored(path.relative_to(base).as_posix(), is_dir)
        verdict = verdict if decided is None else decided
    return verdict


def workspace_files(folder: Path) -> list[Path]:
    """Every file under ``folder`` that is not ignored, sorted, .git excluded.

    Tracked files that were deleted, submodule folders and other non-files are left out.
    """
    listed = _git_files(folder)
    if listed is None:
        listed = sorted(_walk(folder))
    return [path for path in listed if is_regular(path) or _is_dangling_link(path)]


def _is_dangling_link(path: Path) -> bool:
    return path.is_symlink() and not path.exists()
