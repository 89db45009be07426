"""Formatting pieces shared by the text view's lines (its own and its sub-agents')."""

from __future__ import annotations

import json
import re
from typing import Any

from ..events import Display, printable
from ..futures import State

__all__ = ["STATUS_MARK", "outcome", "printable", "short"]

STATUS_MARK = {State.DONE: ("✓", "ok"), State.FAILED: ("✗", "bad"), State.CANCELLED: ("⊘", "warn")}
"""A finished future's mark and its style, by status."""


def short(value: Any, width: int = 70) -> str:
    """``value`` (a string, or anything as JSON) on one line of at most ``width`` characters."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(printable(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


_OWN_TIME = re.compile(r"^(exit code -?\d+) \(\d+(?:\.\d+)?s\)")


def outcome(display: Display, summary: str) -> str:
    """A finished future's summary as its event line shows it: a command's result (``display``:
    how its tool declared it is shown, ``ChangeTally.display_of``) starts with its exit code and
    its own time (``exit code 0 (2.3s)``), and the line shows the future's duration already, so
    the second time goes."""
    return _OWN_TIME.sub(r"\1", summary) if display.opens_with_exit_code else summary
