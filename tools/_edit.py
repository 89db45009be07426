"""Exact-match edits as a pure function over text, with helpful failures.

``apply_edit`` either returns the new text or raises ToolError explaining what matched: for no
match, the closest candidate passages with their line numbers; for several, where each one is.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from ._api import ToolError
from ._text import cap_line

__all__ = ["EditOutcome", "apply_edit", "closest_candidates"]

_MAX_SHOWN = 3


@dataclass(frozen=True, slots=True)
class EditOutcome:
    """The result of a successful edit."""

    text: str
    """The whole new text."""
    count: int
    """How many occurrences were replaced."""


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _numbered(lines: list[str], first: int) -> str:
    return "\n".join(f"{first + i:>6}\t{cap_line(line, 200)}" for i, line in enumerate(lines))


def closest_candidates(text: str, old: str, limit: int = _MAX_SHOWN) -> list[tuple[int, float, str]]:
    """The passages of ``text`` most like ``old``: (first line, similarity 0..1, numbered lines).

    Windows of as many lines as ``old`` are compared with difflib (whitespace-insensitive ratio
    first, so an indentation slip still finds its passage).
    """
    lines = text.splitlines()
    want = old.strip("\n").splitlines() or [old]
    size = max(len(want), 1)
    target = "\n".join(part.strip() for part in want)
    matcher = difflib.SequenceMatcher(autojunk=False)
    matcher.set_seq2(target)
    scored: list[tuple[float, int]] = []
    for start in range(max(len(lines) - size + 1, 1)):
        window = "\n".join(part.strip() for part in lines[start : start + size])
        matcher.set_seq1(window)
        if matcher.real_quick_ratio() < 0.3 or matcher.quick_ratio() < 0.3:
            continue
        scored.append((matcher.ratio(), start))
    scored.sort(key=lambda item: (-item[0], item[1]))
    chosen: list[tuple[int, float, str]] = []
    for ratio, start in scored:
        if ratio < 0.4 or any(abs(start + 1 - first) < size for first, _, _ in chosen):
            continue
        chosen.append((start + 1, ratio, _numbered(lines[start : start + size], start + 1)))
        if len(chosen) == limit:
            break
    return chosen


def _no_match(path: str, text: str, old: str) -> ToolError:
    message = [f"{path}: `old` was not found (it must match the file exactly, whitespace included)."]
    candidates = closest_candidates(text, old)
    if candidates:
        message.append("Closest passages in the file:")
        for first, ratio, shown in candidates:
            message.append(f"--- near line {first} ({ratio:.0%} similar):\n{shown}")
        message.append("Copy the exact text from one of these (read_file shows the current file).")
    else:
        message.append("Nothing in the file resembles it; read_file shows the current content.")
    return ToolError("\n".join(message))


def _many_matches(path: str, text: str, old: str, count: int) -> ToolError:
    lines = text.splitlines()
    message = [
        f"{path}: `old` matches {count} times; it must match exactly once. Add surrounding lines "
        "to make it unique, or pass replace_all=true to replace every occurrence. Matches at:"
    ]
    start = text.find(old)
    shown = 0
    while start != -1 and shown < 5:
        number = _line_of(text, start)
        message.append(_numbered(lines[number - 1 : number], number))
        start, shown = text.find(old, start + max(len(old), 1)), shown + 1
    if count > shown:
        message.append(f"... and {count - shown} more")
    return ToolError("\n".join(message))


def apply_edit(path: str, text: str, old: str, new: str, replace_all: bool = False) -> EditOutcome:
    """Replace ``old`` by ``new`` in ``text`` (``path`` is only used in messages).

    A file with CRLF line endings is matched and edited in CRLF even when ``old``/``new`` use ``\\n``.

    Raises:
        ToolError: empty or unchanged ``old``; no match (closest candidates shown); several matches
            without replace_all (their lines shown).
    """
    if not old:
        raise ToolError(f"{path}: `old` is empty; to create or overwrite a file use write_file")
    if old == new:
        raise ToolError(f"{path}: `old` and `new` are the same; nothing to change")
    count = text.count(old)
    if count == 0 and "\r\n" in text and "\r\n" not in old:
        crlf_old = old.replace("\n", "\r\n")
        if text.count(crlf_old):
            old, new = crlf_old, new.replace("\r\n", "\n").replace("\n", "\r\n")
            count = text.count(old)
    if count == 0:
        raise _no_match(path, text, old)
    if count > 1 and not replace_all:
        raise _many_matches(path, text, old, count)
    return EditOutcome(text.replace(old, new) if replace_all else text.replace(old, new, 1), count)
