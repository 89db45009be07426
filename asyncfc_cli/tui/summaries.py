"""One-line summaries of a call's arguments and of its result, as the TUI's views show them."""

from __future__ import annotations

from typing import Any

from ..futures import BLOCK_CLOSE, block_openings

__all__ = ["args_summary", "short_summary"]


def args_summary(args: Any, width: int = 60) -> str:
    """One line describing a call's arguments, e.g. ``path=src/app.py limit=40``.

    Long values are cut, multi-line values show their first line; ``$fN`` references stay visible.
    """
    if not isinstance(args, dict):
        text = str(args)
    else:
        parts = []
        for key, value in args.items():
            shown = value if isinstance(value, str) else _compact(value)
            first = shown.splitlines()[0] if shown else ""
            if first != shown:
                first += "…"
            parts.append(f"{key}={_clip(first, 40)}")
        text = " ".join(parts)
    return _clip(text.replace("\n", " "), width)


def _compact(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def short_summary(text: str) -> str:
    """A result's one-liner for views: ``<future id="f1" status="done">x`` reads ``f1 done: x``."""
    parts, last = [], 0
    for opening in block_openings(text):
        parts += [text[last:opening.start], f"{opening.id} {opening.state}: "]
        last = opening.end
    parts.append(text[last:])
    return " ".join("".join(parts).replace(BLOCK_CLOSE, " ").split())
