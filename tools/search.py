"""list_files and grep: what is in the workspace, and where a pattern occurs.

Both honour .gitignore and skip .git (see ``_listing``). grep uses ripgrep when it is on PATH and
Python's ``re`` otherwise; the output is the same either way: ``path:line: text``, sorted by path
then line, capped with a note of how many matches were cut.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ._api import ToolContext, ToolError, reads, tool
from ._fs import SNIFF_BYTES, looks_binary
from ._listing import glob_matcher, workspace_files
from ._text import cap_line, plural

__all__ = ["Match", "grep", "list_files", "format_matches", "python_grep", "ripgrep"]

MAX_FILES = 1_000
"""Paths list_files shows before cutting."""
MAX_MATCHES = 200
"""Matches grep shows before cutting (``ctx.extra["grep"]["max_matches"]`` overrides)."""
_MATCH_LINE_CHARS = 300


@dataclass(frozen=True, slots=True, order=True)
class Match:
    """One matching line."""

    path: str
    """Workspace-relative path with forward slashes."""
    line: int
    """1-based line number."""
    text: str
    """The line, without its line ending."""


def _scope(ctx: ToolContext, path: str) -> tuple[Path, str]:
    real = ctx.resolve(path)
    if not real.exists():
        raise ToolError(f"{path}: no such file or folder (use list_files to see what exists)")
    return real, ctx.relative(real)


def _candidates(ctx: ToolContext, real: Path, pattern: str | None) -> list[tuple[Path, str]]:
    """(path, shown path) of the non-ignored files under ``real`` matching ``pattern``.

    Symlinks that lead out of the workspace are left out: their content is not ours to show.
    """
    root = ctx.resolve(".")
    files = [real] if real.is_file() else workspace_files(real)
    matches = glob_matcher(pattern) if pattern else None
    found = []
    for file in files:
        scoped = file.name if file == real else file.relative_to(real).as_posix()
        if matches is not None and not matches(scoped):
            continue
        if file.is_symlink() and not file.resolve().is_relative_to(root):
            continue
        found.append((file, file.relative_to(root).as_posix()))
    return found


@tool(effect=reads("path", default="."))
def list_files(ctx: ToolContext, path: str = ".", pattern: str | None = None) -> str:
    """List the files under a folder (recursively), honouring .gitignore and skipping .git.

    Args:
        path: the folder to list, relative to the workspace root (default: the whole workspace).
        pattern: a glob to keep only some files: `*.py` matches names at any depth, `src/**/*.ts`
            matches paths relative to `path`.
    """
    real, shown = _scope(ctx, path)
    files = [name for _, name in _candidates(ctx, real, pattern)]
    if not files:
        what = f" matching {pattern!r}" if pattern else ""
        return f"(no files{what} under {shown})"
    lines = files[:MAX_FILES]
    if len(files) > MAX_FILES:
        lines.append(f"[... {len(files) - MAX_FILES:,} more of {plural(len(files), 'file')} cut; "
                     "narrow it with path or pattern]")
    return "\n".join(lines)


def _compile(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE if ignore_case else 0)
    except re.error as exc:
        raise ToolError(
            f"bad regex {pattern!r}: {exc.msg} at position {exc.pos}. grep takes a regular "
            "expression: escape special characters like ( [ . * + ? with a backslash to match "
            "them literally"
        ) from None


def python_grep(files: Iterable[tuple[Path, str]], regex: re.Pattern[str]) -> Iterator[Match]:
    """Matching lines of the given (real path, shown path) files; binary files are skipped."""
    for real, shown in files:
        try:
            with real.open("rb") as handle:
                if looks_binary(handle.read(SNIFF_BYTES)):
                    continue
            with real.open(encoding="utf-8", errors="replace", newline="") as handle:
                for number, line in enumerate(handle, 1):
                    text = line.rstrip("\r\n")
                    if regex.search(text):
                        yield Match(shown, number, text)
        except OSError:
            continue


def ripgrep(rg: str, ctx: ToolContext, real: Path, pattern: str, glob: str | None,
            ignore_case: bool) -> list[Match] | None:
    """Matches found by ripgrep, or None if it could not run or rejected the pattern.

    Paths are re-shown relative to the workspace and filtered by the same glob rules as the Python
    search, so the two give identical output.
    """
    argv = [rg, "--json", "--hidden", "--no-ignore-dot", "--no-require-git", "--glob", "!.git",
            "--no-config"]
    if ignore_case:
        argv.append("--ignore-case")
    if glob:
        argv += ["--glob", glob]
    argv += ["--regexp", pattern, "--", str(real)]
    try:
        done = subprocess.run(argv, cwd=ctx.root, env=ctx.env, capture_output=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode not in (0, 1):
        return None
    allowed = {shown for _, shown in _candidates(ctx, real, glob)}
    return [m for m in parse_rg_json(done.stdout, ctx.resolve(".")) if m.path in allowed]


def parse_rg_json(output: bytes, root: Path) -> list[Match]:
    """The match records of ``rg --json`` output as Matches (paths relative to ``root``)."""
    found = []
    for raw in output.splitlines():
        try:
            record = json.loads(raw)
        except ValueError:
            continue
        if record.get("type") != "match":
            continue
        data = record["data"]
        path = data["path"].get("text") or ""
        text = data["lines"].get("text")
        if text is None:
            continue
        shown = Path(root, path).relative_to(root).as_posix()
        found.append(Match(shown, int(data["line_number"]), text.rstrip("\r\n")))
    return found


def format_matches(matches: list[Match], limit: int, pattern: str) -> str:
    """``path:line: text`` lines, sorted, at most ``limit``, with a note of how many were cut."""
    if not matches:
        return f"(no matches for {pattern!r})"
    ordered = sorted(matches)
    lines = [f"{m.path}:{m.line}: {cap_line(m.text, _MATCH_LINE_CHARS)}" for m in ordered[:limit]]
    if len(ordered) > limit:
        files = len({m.path for m in ordered})
        lines.append(f"[... {len(ordered) - limit:,} more of {plural(len(ordered), 'match')} in "
                     f"{plural(files, 'file')} cut; narrow the pattern, path or glob]")
    return "\n".join(lines)


@tool(effect=reads("path", default="."))
def grep(ctx: ToolContext, pattern: str, path: str = ".", glob: str | None = None,
         ignore_case: bool = False) -> str:
    """Search file contents for a regular expression; prints `path:line: text` for each match.

    Honours .gitignore, skips .git and binary files. Results are sorted by path and line and
    capped (the note says how many were cut).

    Args:
        pattern: a regular expression (Python syntax), e.g. `def \\w+_test` or `TODO|FIXME`.
        path: the file or folder to search, relative to the workspace root (default: everything).
        glob: only search files matching this glob, e.g. `*.py` or `src/**/*.ts`.
        ignore_case: match without regard to case.
    """
    regex = _compile(pattern, ignore_case)
    real, _ = _scope(ctx, path)
    limit = int(ctx.extra.get("grep", {}).get("max_matches", MAX_MATCHES))
    rg = shutil.which("rg", path=(ctx.env or {}).get("PATH"))
    found = ripgrep(rg, ctx, real, pattern, glob, ignore_case) if rg else None
    if found is None:
        found = list(python_grep(_candidates(ctx, real, glob), regex))
    return format_matches(found, limit, pattern)
