"""The file tools: read_file, write_file, edit_file (and the previews the approval gate shows)."""

from __future__ import annotations

import io
import itertools
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._api import READ_AGAIN, Display, Preview, ToolContext, ToolError, reads, tool, writes
from ._edit import apply_edit
from ._fs import SNIFF_BYTES, atomic_write, looks_binary, open_regular, read_text, require_file
from ._text import cap_line, cap_text, plural, unified_diff

__all__ = ["read_file", "write_file", "edit_file", "preview_change"]

DEFAULT_LIMIT = 2_000
"""Lines read_file shows when no limit is given."""
WHOLE_READ_CAP = 256 * 1024
"""Files larger than this are shown in part, with a note on how to read a range."""
COUNT_LINES_CAP = 64 * 1024 * 1024
"""Up to this size read_file counts the file's lines so its notes can say 'of N'."""


def _count_lines(path: Path, size: int) -> int | None:
    if size > COUNT_LINES_CAP:
        return None
    count, last = 0, b"\n"
    with open_regular(path, path.name) as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            count, last = count + block.count(b"\n"), block[-1:]
    return count + (0 if last == b"\n" else 1)


def _size(n: int) -> str:
    """``812 bytes``, ``7.2 MB``: sizes as a person reads them."""
    if n < 1024:
        return f"{n:,} bytes"
    value, unit = n / 1024, "KB"
    for bigger in ("MB", "GB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{value:.1f} {unit}"


def _line_count(text: str) -> int:
    return text.count("\n") + (0 if not text or text.endswith("\n") else 1)


def _numbered_lines(path: Path, offset: int, limit: int, budget: int) -> tuple[list[str], int]:
    """Lines offset..offset+limit-1 as ``  N\\ttext``, stopping early at ``budget`` characters.

    Returns the lines and the number of the last line shown (offset-1 if none).
    """
    shown: list[str] = []
    used, last = 0, offset - 1
    with io.TextIOWrapper(open_regular(path, path.name), encoding="utf-8", errors="replace", newline="") as handle:
        for number, line in enumerate(itertools.islice(handle, offset - 1, offset - 1 + limit), offset):
            entry = f"{number:>6}\t{cap_line(line.rstrip(chr(10)).rstrip(chr(13)))}"
            if shown and used + len(entry) + 1 > budget:
                break
            shown.append(entry)
            used, last = used + len(entry) + 1, number
    return shown, last


def _diff_preview(tool_name: str) -> Preview:
    """The approval preview of a write_file or edit_file call: the diff it would make."""

    def preview(ctx: ToolContext, args: Mapping[str, Any]) -> str:
        return preview_change(ctx, tool_name, dict(args)) or ""

    return preview


_CHANGE_MADE = "the change was made: read_file {args} shows it"
"""What compaction says of a removed write or edit output."""


@tool(effect=reads("path"), recall=READ_AGAIN, subject="path",
      duration_priors={"read_file": "read_file"})
def read_file(ctx: ToolContext, path: str, offset: int = 1, limit: int | None = None) -> str:
    """Read a text file, with line numbers (like `cat -n`).

    Shows up to 2000 lines by default. Large files are shown in part with a note saying how to
    read further; binary files are refused. Undecodable bytes are shown as U+FFFD.

    Args:
        path: the file, relative to the workspace root.
        offset: the first line to show (1-based). Use it to continue a partial read.
        limit: how many lines to show at most (default 2000).
    """
    if offset < 1:
        raise ToolError(f"offset must be 1 or more (lines are numbered from 1), got {offset}")
    if limit is not None and limit < 1:
        raise ToolError(f"limit must be 1 or more, got {limit}")
    if offset > sys.maxsize // 2:
        raise ToolError(f"offset {offset} is past the end of any file; give a line number of the file")
    limit = None if limit is None else min(limit, sys.maxsize // 2)
    real = ctx.resolve(path)
    shown_path = ctx.relative(real)
    size = require_file(real, shown_path).st_size
    try:
        return _read_numbered(real, shown_path, size, offset, limit, ctx.max_output_chars - 300)
    except OSError as exc:
        raise ToolError(f"{shown_path}: cannot be read: {exc.strerror or exc}") from None


def _read_numbered(real: Path, shown: str, size: int, offset: int, limit: int | None, budget: int) -> str:
    with open_regular(real, shown) as handle:
        if looks_binary(handle.read(SNIFF_BYTES)):
            raise ToolError(
                f"{shown} is a binary file ({_size(size)}); read_file shows text only "
                "(use shell with a tool like `file`, `xxd | head` or `unzip -l` to inspect it)"
            )
    if size == 0:
        return f"({shown} is empty)"
    total = _count_lines(real, size)
    lines, last = _numbered_lines(real, offset, limit or DEFAULT_LIMIT, budget)
    if not lines:
        has = plural(total, "line") if total is not None else "fewer lines"
        raise ToolError(f"offset {offset} is past the end of {shown} ({has})")
    notes: list[str] = []
    if size > WHOLE_READ_CAP and limit is None:
        notes.append(f"{shown} is large ({_size(size)}, over the {_size(WHOLE_READ_CAP)} "
                     "cap for a whole read); showing part of it. Use grep to find what you need.")
    if total is None or last < total:
        of = f" of {total:,}" if total is not None else ""
        notes.append(f"showing lines {offset}-{last}{of}; continue with offset={last + 1} "
                     "(and limit to choose how many)")
    body = "\n".join(lines)
    return body + ("\n\n[" + " ".join(notes) + "]" if notes else "")


@tool(effect=writes("path"), preview=_diff_preview("write_file"), recall=_CHANGE_MADE,
      display=Display.WRITE, subject="path",
      duration_priors={"write_file": "write_file"})
def write_file(ctx: ToolContext, path: str, content: str) -> str:
    """Create or overwrite a text file with exactly `content`.

    Missing parent folders are created; an existing file keeps its permissions. The write is atomic
    (a temporary file renamed into place). To change part of a file, prefer edit_file.

    Args:
        path: the file, relative to the workspace root.
        content: the complete new content of the file.
    """
    real = ctx.resolve_for_write(path)
    shown_path = ctx.relative(real)
    if real.is_dir():
        raise ToolError(f"{shown_path} is a folder; give a file path")
    before = read_text(real, shown_path) if real.exists() else None
    created = atomic_write(real, content, shown_path, root=ctx.root)
    size = plural(_line_count(content), "line")
    if created:
        return f"created {shown_path} ({size}, {len(content.encode('utf-8', 'surrogateescape')):,} bytes)"
    if before == content:
        return f"{shown_path} unchanged (the content was already exactly this)"
    diff = cap_text(unified_diff(shown_path, before or "", content), ctx.max_output_chars - 200, what="diff")
    return f"overwrote {shown_path} ({size})\n{diff}"


@tool(effect=writes("path"), preview=_diff_preview("edit_file"), recall=_CHANGE_MADE,
      display=Display.EDIT, subject="path",
      duration_priors={"edit_file": "edit_file"})
def edit_file(ctx: ToolContext, path: str, old: str, new: str, replace_all: bool = False) -> str:
    """Replace an exact passage of a file: `old` becomes `new`.

    `old` must match the file exactly (whitespace and indentation included) and exactly once,
    unless replace_all is true. Include enough surrounding lines to make it unique. On no match
    the error shows the closest passages; on success the result is a unified diff.

    Args:
        path: the file, relative to the workspace root.
        old: the exact text to replace (copy it from read_file output, without the line numbers).
        new: the text to put in its place (may be empty to delete).
        replace_all: replace every occurrence instead of requiring exactly one.
    """
    real = ctx.resolve_for_write(path)
    shown_path = ctx.relative(real)
    before = read_text(real, shown_path)
    outcome = apply_edit(shown_path, before, old, new, replace_all)
    atomic_write(real, outcome.text, shown_path, root=ctx.root)
    diff = cap_text(unified_diff(shown_path, before, outcome.text), ctx.max_output_chars - 200, what="diff")
    return f"edited {shown_path}: {plural(outcome.count, 'replacement')}\n{diff}"


def preview_change(ctx: ToolContext, tool_name: str, args: dict[str, object]) -> str | None:
    """The unified diff a write_file or edit_file call would make, without making it.

    Returns None for other tools. A call that would fail returns its error message instead, so an
    approval prompt shows what will happen either way.
    """
    if tool_name not in ("write_file", "edit_file"):
        return None
    try:
        real = ctx.resolve(str(args.get("path", "")))
        shown_path = ctx.relative(real)
        before = read_text(real, shown_path) if real.exists() or tool_name == "edit_file" else ""
        if tool_name == "write_file":
            after = str(args.get("content", ""))
        else:
            after = apply_edit(shown_path, before, str(args.get("old", "")), str(args.get("new", "")),
                               bool(args.get("replace_all", False))).text
    except ToolError as exc:
        return f"(this call will fail: {exc})"
    diff = unified_diff(shown_path, before, after)
    return cap_text(diff, ctx.max_output_chars, what="diff") or f"(no change to {shown_path})"
