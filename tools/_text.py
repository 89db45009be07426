"""Text shaping shared by the tools: caps with an honest note, bounded capture, unified diffs.

Everything here is pure (no I/O) so the limits can be tested without files or processes.
"""

from __future__ import annotations

import difflib

__all__ = ["HeadTail", "cap_text", "cap_line", "unified_diff", "plural"]

MAX_LINE_CHARS = 2_000
"""Longest single line a tool shows; minified files would otherwise fill the whole cap."""


def plural(count: int, noun: str) -> str:
    """``1 match``, ``3 matches``, with thousands separators."""
    suffix = "" if count == 1 else ("es" if noun.endswith(("s", "x", "ch", "sh")) else "s")
    return f"{count:,} {noun}{suffix}"


def cap_line(line: str, limit: int = MAX_LINE_CHARS) -> str:
    """The line, or its first ``limit`` characters and a note of how many were cut."""
    if len(line) <= limit:
        return line
    return f"{line[:limit]}... [{len(line) - limit:,} more characters on this line]"


def cap_text(text: str, limit: int, *, what: str = "output") -> str:
    """``text`` if it fits in ``limit`` characters, else its head and tail around a cut note.

    The note says how many characters and lines were cut, so the model knows the text is partial.
    """
    if len(text) <= limit:
        return text
    keep = max(limit - 120, 2)
    head, tail = text[: keep // 2], text[len(text) - keep // 2 :]
    cut = text[len(head) : len(text) - len(tail)]
    note = f"\n[... {what} truncated: {len(cut):,} characters ({cut.count(chr(10)):,} lines) cut ...]\n"
    return head + note + tail


class HeadTail:
    """Keeps the first and last bytes of a stream within a fixed budget, counting what it drops.

    Memory stays bounded by ``limit`` however much is fed, which is what lets a command print
    gigabytes without hurting us.
    """

    def __init__(self, limit: int) -> None:
        self._head_limit = limit // 2
        self._tail_limit = limit - self._head_limit
        self._head = bytearray()
        self._tail = bytearray()
        self.total = 0
        """Bytes fed so far."""

    def feed(self, data: bytes) -> None:
        self.total += len(data)
        room = self._head_limit - len(self._head)
        if room > 0:
            self._head += data[:room]
            data = data[room:]
        if data:
            self._tail += data
            excess = len(self._tail) - self._tail_limit
            if excess > 0:
                del self._tail[:excess]

    @property
    def dropped(self) -> int:
        """Bytes fed but no longer kept."""
        return self.total - len(self._head) - len(self._tail)

    def text(self) -> str:
        """The kept bytes as text (undecodable bytes replaced), with a note where bytes were cut."""
        head = self._head.decode("utf-8", errors="replace")
        tail = self._tail.decode("utf-8", errors="replace")
        if not self.dropped:
            return head + tail
        return f"{head}\n[... {self.dropped:,} bytes of {self.total:,} cut ...]\n{tail}"


def unified_diff(path: str, before: str, after: str, *, context: int = 3) -> str:
    """A git-style unified diff of one file's text (``--- a/path`` / ``+++ b/path``)."""
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"a/{path}",
        tofile=f"b/{path}",
        n=context,
    )
    out = []
    for line in lines:
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)
