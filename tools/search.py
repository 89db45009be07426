"""list_files and grep: what is in the workspace, and where a pattern occurs.

Both honour .gitignore and skip .git (see ``_listing``). grep uses ripgrep when it is on PATH and
RE2 (``google-re2``) otherwise; the output is the same either way: ``path:line: text``, sorted by
path then line, capped with a note of how many matches were cut.

Both engines match in time linear in the input, so no pattern can hang a call (Python's ``re``
backtracks: ``(a+)+$`` over a long line holds the interpreter for minutes, where no timeout or
Ctrl-C can reach it). The price is RE2's syntax: no lookaround and no backreferences; a pattern
that needs them is refused with a message saying so. Memory is bounded too: only the first
matches (in output order) are kept; the rest are counted (``MatchCollector``).
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._api import READ_AGAIN, ToolContext, ToolError, reads, tool
from ._commit import CallStopped, check_live, on_stop
from ._context import or_default
from ._env import command_environment, find_program
from ._fs import SNIFF_BYTES, looks_binary, open_regular, special_kind
from ._listing import glob_matcher, workspace_files
from ._text import cap_line, plural

__all__ = ["Match", "MatchCollector", "grep", "list_files", "format_matches", "python_grep", "ripgrep"]

MAX_FILES = 1_000
"""Paths list_files shows before cutting."""
MAX_MATCHES = 200
"""Matches grep shows before cutting (``ToolSettings.grep_max_matches`` overrides)."""
_MATCH_LINE_CHARS = 300
_RG_TIMEOUT_S = 120.0


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
    try:
        kind = special_kind(real.stat().st_mode)
    except FileNotFoundError:
        raise ToolError(f"{path}: no such file or folder (use list_files to see what exists)") from None
    except OSError as exc:
        raise ToolError(f"{path}: cannot be read: {exc.strerror}") from None
    if kind is not None:
        raise ToolError(f"{path} is {kind}, not a regular file or folder; it cannot be searched")
    return real, ctx.relative(real)


def _candidates(ctx: ToolContext, real: Path, pattern: str | None) -> list[tuple[Path, str]]:
    """(path, shown path) of the non-ignored files under ``real`` matching ``pattern``.

    Symlinks that lead out of the workspace are left out: their content is not ours to show; so
    are files in its ``off_limits`` folders (asyncfc's own config, sessions and caches, when the
    workspace holds them), which read_file refuses too.
    """
    root = ctx.resolve(".")
    files = [real] if real.is_file() else workspace_files(real)
    matches = glob_matcher(pattern) if pattern else None
    refused = [folder for folder in map(Path, map(os.path.realpath, ctx.off_limits)) if folder.is_relative_to(root)]
    found = []
    for file in files:
        scoped = file.name if file == real else file.relative_to(real).as_posix()
        if matches is not None and not matches(scoped):
            continue
        target = file.resolve() if file.is_symlink() else file
        if not target.is_relative_to(root) or any(target.is_relative_to(folder) for folder in refused):
            continue
        found.append((file, file.relative_to(root).as_posix()))
    return found


@tool(effect=reads("path", default="."), recall=READ_AGAIN, subject="path",
      duration_priors={"list_files": "list_files"})
def list_files(ctx: ToolContext, path: str = ".", pattern: str | None = None) -> str:
    """List the files under a folder (recursively), honouring .gitignore and skipping .git.

    Args:
        path: the folder to list, relative to the workspace root (default: the whole workspace).
        pattern: a glob to keep only some files: `*.py` matches names at any depth, `src/**/*.ts`
            matches paths relative to `path`.
    """
    real, shown = _scope(ctx, path)
    files = [name for _, name in _candidates(ctx, real, pattern)]
    if not files and pattern:
        how = f"; a glob with / matches paths relative to {shown}" if "/" in pattern.strip("/") else ""
        return f"(no files matching {pattern!r} under {shown}{how})"
    if not files:
        return f"(no files under {shown})"
    lines = files[:MAX_FILES]
    if len(files) > MAX_FILES:
        lines.append(f"[... {len(files) - MAX_FILES:,} more of {plural(len(files), 'file')} cut; "
                     "narrow it with path or pattern]")
    return "\n".join(lines)


def _compile(pattern: str, ignore_case: bool) -> Any:
    """The RE2 regex for ``pattern``; ToolError in words for a bad or unsupported pattern.

    When RE2 refuses a pattern, Python's parser says whether it is malformed (with the position)
    or valid but needs a feature that only a backtracking engine has.
    """
    import re2

    options = re2.Options()
    options.log_errors = False
    options.case_sensitive = not ignore_case
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        reason = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ToolError(
            f"bad regex {pattern!r}: {exc.msg} at position {exc.pos}. grep takes a regular "
            "expression: escape special characters like ( [ . * + ? with a backslash to match "
            "them literally"
        ) from None
    raise ToolError(
        f"unsupported regex {pattern!r}: {reason}. grep matches in linear time (RE2 syntax, as "
        "ripgrep): lookahead/lookbehind and backreferences are not supported, nor is \\Z (use $). "
        "Match a wider pattern and narrow it with read_file or shell instead"
    )


class MatchCollector:
    """The first ``limit`` matches in output order, and a count of all of them: memory stays
    bounded by the limit however many lines match (a 200 MB file of hits keeps ``limit`` lines)."""

    def __init__(self, limit: int) -> None:
        self.limit = max(limit, 0)
        self.total = 0
        """Matches seen."""
        self.files: set[str] = set()
        """Files with a match."""
        self._kept: list[Match] = []

    def add(self, match: Match) -> None:
        self.total += 1
        self.files.add(match.path)
        self._kept.append(match)
        if len(self._kept) >= 2 * self.limit + 64:
            self._kept = sorted(self._kept)[: self.limit]

    def kept(self) -> list[Match]:
        """The first ``limit`` matches, sorted by path then line."""
        return sorted(self._kept)[: self.limit]


def python_grep(files: Iterable[tuple[Path, str]], regex: Any) -> Iterator[Match]:
    """Matching lines of the given (real path, shown path) files; binary and special files (FIFOs,
    devices) are skipped. Stops when its call is stopped."""
    for real, shown in files:
        check_live()
        try:
            with open_regular(real, shown) as raw:
                if looks_binary(raw.read(SNIFF_BYTES)):
                    continue
                raw.seek(0)
                with io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="") as handle:
                    for number, line in enumerate(handle, 1):
                        text = line.rstrip("\r\n")
                        if regex.search(text):
                            yield Match(shown, number, text)
                        if not number % 4096:
                            check_live()
        except (OSError, ToolError) as exc:
            if isinstance(exc, CallStopped):
                raise
            continue


def ripgrep(rg: str, ctx: ToolContext, real: Path, pattern: str, glob: str | None,
            ignore_case: bool, limit: int, candidates: list[tuple[Path, str]]) -> MatchCollector | None:
    """ripgrep's matches, or None if it could not run or rejected the pattern.

    Output is read as it comes (never held whole) and ripgrep is killed if the call is stopped.
    Paths are re-shown relative to the workspace and kept only if they are among ``candidates``
    (``_candidates``: the files the Python search would read), so the two give identical output.
    """
    argv = [rg, "--json", "--hidden", "--no-ignore-dot", "--no-require-git", "--glob", "!.git",
            "--no-config"]
    if ignore_case:
        argv.append("--ignore-case")
    if glob:
        argv += ["--glob", glob]
    argv += ["--regexp", pattern, "--", str(real)]
    allowed = {shown for _, shown in candidates}
    root = ctx.resolve(".")
    found = MatchCollector(limit)
    try:
        process = subprocess.Popen(argv, cwd=ctx.root, env=command_environment(ctx.env), stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    except OSError:
        return None
    with process, on_stop(process.kill), _deadline(_RG_TIMEOUT_S, process.kill):
        assert process.stdout is not None
        for raw in process.stdout:
            if b'"match"' in raw[:32]:  # begin/end/context records are not parsed
                match = _rg_match(raw, root)
                if match is not None and match.path in allowed:
                    found.add(match)
        check_live()
    return found if process.returncode in (0, 1) else None


@contextmanager
def _deadline(seconds: float, action: Callable[[], object]) -> Iterator[None]:
    """Run ``action`` if the block is still running after ``seconds``."""
    timer = threading.Timer(seconds, action)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def parse_rg_json(output: bytes, root: Path) -> list[Match]:
    """The match records of ``rg --json`` output as Matches (paths relative to ``root``)."""
    return [m for raw in output.splitlines() if (m := _rg_match(raw, root)) is not None]


def _rg_match(raw: bytes, root: Path) -> Match | None:
    """One ``rg --json`` line as a Match; None for other records and lines that are not JSON."""
    try:
        record = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(record, dict) or record.get("type") != "match":
        return None
    data = record["data"]
    path = data["path"].get("text") or ""
    text = data["lines"].get("text")
    if text is None:
        return None
    shown = Path(root, path).relative_to(root).as_posix()
    return Match(shown, int(data["line_number"]), text.rstrip("\r\n"))


def format_matches(matches: list[Match], limit: int, pattern: str, *, total: int | None = None,
                   files: int | None = None) -> str:
    """``path:line: text`` lines, sorted, at most ``limit``, with a note of how many were cut.

    ``total`` and ``files`` count every match when ``matches`` holds only the first ones.
    """
    total = len(matches) if total is None else total
    if not total:
        return f"(no matches for {pattern!r})"
    ordered = sorted(matches)
    lines = [f"{m.path}:{m.line}: {cap_line(m.text, _MATCH_LINE_CHARS)}" for m in ordered[:limit]]
    if total > limit:
        files = len({m.path for m in ordered}) if files is None else files
        lines.append(f"[... {total - limit:,} more of {plural(total, 'match')} in "
                     f"{plural(files, 'file')} cut; narrow the pattern, path or glob]")
    return "\n".join(lines)


@tool(effect=reads("path", default="."), recall=READ_AGAIN, subject="pattern",
      duration_priors={"grep": "grep"})
def grep(ctx: ToolContext, pattern: str, path: str = ".", glob: str | None = None,
         ignore_case: bool = False) -> str:
    """Search file contents for a regular expression; prints `path:line: text` for each match.

    Honours .gitignore, skips .git and binary files. Results are sorted by path and line and
    capped (the note says how many were cut).

    Args:
        pattern: a regular expression (RE2 syntax, as ripgrep: no lookaround or backreferences), e.g. `def \\w+_test` or `TODO|FIXME`.
        path: the file or folder to search, relative to the workspace root (default: everything).
        glob: only search files matching this glob, e.g. `*.py` or `src/**/*.ts`.
        ignore_case: match without regard to case.
    """
    regex = _compile(pattern, ignore_case)
    real, shown = _scope(ctx, path)
    limit = or_default(ctx.settings.grep_max_matches, MAX_MATCHES)
    candidates = _candidates(ctx, real, glob)  # listed once: git ls-files or a walk, and a stat each
    rg = find_program("rg", (ctx.env or {}).get("PATH"))
    found = ripgrep(rg, ctx, real, pattern, glob, ignore_case, limit, candidates) if rg else None
    if found is None:
        found = MatchCollector(limit)
        for match in python_grep(candidates, regex):
            found.add(match)
    if not found.total and glob and not candidates:
        return f"(no matches for {pattern!r}: no file under {shown} matches the glob {glob!r})"
    return format_matches(found.kept(), limit, pattern, total=found.total, files=len(found.files))
