"""The files of a workspace folder as git would show them: .gitignore honoured, .git skipped.

Inside a git work tree git itself answers (``git ls-files --cached --others --exclude-standard``),
which is exact (nested .gitignore files, info/exclude, core.excludesFile). Outside one, or without
git, a walk applies the .gitignore files it meets with the same pattern rules (``IgnoreRules``).
"""

from __future__ import annotations

import fnmatch
import os
import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

from ._git import run_git, work_tree_of

__all__ = ["IgnoreRules", "glob_matcher", "workspace_files"]


def _glob_regex(pattern: str) -> str:
    """Translate a gitignore-style glob (``**`` crosses folders, ``*`` does not) to a regex."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("/**", i) and i + 3 == len(pattern):
            out.append("/.*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape("["))
                i += 1
            else:
                out.append(fnmatch.translate(pattern[i : end + 1])[4:-3])
                i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)


def glob_matcher(pattern: str) -> Callable[[str], bool]:
    """A test for relative paths: a pattern without ``/`` matches the file name at any depth
    (``*.py``); one with ``/`` matches the whole relative path (``src/**/*.ts``)."""
    pattern = pattern.strip()
    if "/" not in pattern.rstrip("/"):
        regex = re.compile(_glob_regex(pattern.rstrip("/")) + r"\Z")
        return lambda rel: any(regex.match(part) for part in rel.split("/"))
    regex = re.compile(_glob_regex(pattern.lstrip("/")) + r"(?:/.*)?\Z")
    return lambda rel: bool(regex.match(rel))


class IgnoreRules:
    """The patterns of one .gitignore file, applied to paths relative to the folder holding it."""

    def __init__(self, text: str) -> None:
        self._rules: list[tuple[re.Pattern[str], bool, bool]] = []
        for raw in text.splitlines():
            line = raw.rstrip()
            if not line or line.startswith("#"):
                continue
            negate = line.startswith("!")
            line = line[1:] if negate else line
            dir_only = line.endswith("/")
            line = line.rstrip("/")
            anchored = "/" in line
            body = _glob_regex(line.lstrip("/"))
            regex = re.compile(body + r"\Z" if anchored else r"(?:.*/)?" + body + r"\Z")
            self._rules.append((regex, negate, dir_only))

    def ignored(self, rel: str, is_dir: bool) -> bool | None:
        """True/False if a rule decides (the last matching one wins), None if none matches."""
        verdict = None
        for regex, negate, dir_only in self._rules:
            if (is_dir or not dir_only) and regex.match(rel):
                verdict = not negate
        return verdict


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
        if ignore_file.is_file():
            rules = [*rules, (current, IgnoreRules(ignore_file.read_text("utf-8", "replace")))]
        try:
            entries = sorted(os.scandir(current), key=lambda e: e.name, reverse=True)
        except OSError:
            continue
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
        return sorted(_walk(folder))
    return [path for path in listed if path.is_file() or path.is_symlink() and not path.is_dir()]
