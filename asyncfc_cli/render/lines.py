"""Formatting pieces shared by the text view's lines (its own and its sub-agents')."""

from __future__ import annotations

import json
import re
from typing import Any

from ..events import Display
from ..futures import State

__all__ = ["STATUS_MARK", "outcome", "printable", "short"]

STATUS_MARK = {State.DONE: ("✓", "ok"), State.FAILED: ("✗", "bad"), State.CANCELLED: ("⊘", "warn")}
"""A finished future's mark and its style, by status."""


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` without control characters (newlines and tabs kept). What a command prints, what a
    file holds and what a model writes go to the user's terminal: an escape sequence in them could
    set the clipboard (OSC 52), retitle the window or clear what ran."""
    return _CONTROL.sub("", text)


def short(value: Any, width: int = 70) -> str:
    """``value`` (a string, or anything as JSON) on one line of at most ``width`` characters."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(printable(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


_OWN_TIME = re.compile(r"^(exit code -?\d+) \(\d+(?:\.\d+)?s\)")


def outcome(display: str, summary: str) -> str:
    """A finished future's summary as its event line shows it: a command's result (``display``:
    the call's ``future_created.display``) starts with its exit code and its own time (``exit code
    0 (2.3s)``), and the line shows the future's duration already, so the second time goes."""
    return _OWN_TIME.sub(r"\1", summary) if Display.of(display).opens_with_exit_code else summary
