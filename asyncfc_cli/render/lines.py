"""Formatting pieces shared by the text view's lines (its own and its sub-agents')."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["STATUS_MARK", "short"]

STATUS_MARK = {"done": ("✓", "ok"), "failed": ("✗", "bad"), "cancelled": ("⊘", "warn")}
"""A finished future's mark and its style, by status."""


def short(value: Any, width: int = 70) -> str:
    """``value`` (a string, or anything as JSON) on one line of at most ``width`` characters."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
