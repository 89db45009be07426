"""How a tool call and its result read in the transcript and the output modal (pure, Rich only)."""

from __future__ import annotations

import difflib
import json
import re
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from ..events import Display
from ..futures import State
from ..timeline_state import FutureLane
from .summaries import args_summary, short_summary
from .timeline_render import PALETTE, STATE_ICONS, format_seconds

__all__ = ["call_title", "call_body", "diff_text", "fold", "opens_unfolded", "preview_text"]

FOLD_LINES = 12
_OWN_TIME = re.compile(r"\(\d+(?:\.\d+)?s\)|\(\d+m\d\ds\)")
"""A time in parentheses in a result's summary: the call (or the one it awaited) said how long."""


def call_title(lane: FutureLane, width: int = 100) -> str:
    """``✓ f3 grep pattern=… → 12 matches (0.4s)``: one line of at most ``width`` for a collapsed
    call; the outcome keeps its room first, the arguments get what is left (or are left out)."""
    asked = lane.approval == "asked" and not lane.final
    icon = "?" if asked else STATE_ICONS.get(lane.state, "?")
    head = f"{icon} {lane.id} {lane.tool}"
    took = ""
    if asked:
        sep, outcome = "  · ", "awaiting approval"
    elif lane.final:
        sep, outcome = "  → ", short_summary(lane.summary or lane.state)
        took = f" ({format_seconds(lane.duration, 0.1)})" if lane.started is not None else ""
        if _OWN_TIME.search(lane.summary or ""):
            took = ""  # the tool already said how long it took (``exit code 0 (2.3s)``)
    else:  # running: what it printed last says more than "running"
        sep, outcome = "  · ", lane.last_line or lane.state
        if lane.background:
            outcome = f"background · {outcome}"
    args_room = width - len(head) - 1 - len(sep) - min(len(outcome), 24) - len(took)
    args = " " + args_summary(lane.args, args_room) if args_room >= 8 else ""
    room = max(1, width - len(head) - len(args) - len(sep) - len(took))
    if len(outcome) > room:
        outcome = outcome[: room - 1] + "…"
    return f"{head}{args}{sep}{outcome}{took}"


def diff_text(old: str, new: str, path: str = "") -> Text:
    """A coloured unified diff of an edit (removed lines red, added green, hunks cyan)."""
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), f"a/{path}", f"b/{path}", lineterm="", n=2)
    return preview_text("\n".join(lines))


def preview_text(text: str) -> Text:
    """Colour a diff-looking preview line by line; anything else stays plain."""
    out = Text()
    for line in text.splitlines():
        if line.startswith(("+++", "---")):
            style = "bold"
        elif line.startswith("+"):
            style = PALETTE[State.DONE]
        elif line.startswith("-"):
            style = PALETTE[State.FAILED]
        elif line.startswith("@@"):
            style = PALETTE["now"]
        elif line.startswith("$ "):
            style = "bold " + PALETTE[State.RUNNING]
        else:
            style = ""
        out.append(line + "\n", style=style)
    out.rstrip()
    return out


def fold(text: str, max_lines: int = FOLD_LINES) -> Text:
    """The first ``max_lines`` lines, then a note saying how many were folded and where to see them."""
    lines = text.splitlines()
    shown = Text("\n".join(lines[:max_lines]))
    if len(lines) > max_lines:
        shown.append(f"\n… {len(lines) - max_lines} more lines (select the future, press o)",
                     style=f"italic {PALETTE['label_dim']}")
    return shown


def _arguments(lane: FutureLane) -> RenderableType:
    """What the call was asked to do, as its tool's display says (``Display``): an edit's diff, a
    command line, a written file's content; else its arguments as JSON."""
    args: Any = lane.args
    if isinstance(args, dict):
        subject = args.get(lane.subject, "") if lane.subject else ""
        if lane.display is Display.EDIT and isinstance(args.get("old"), str) and isinstance(args.get("new"), str):
            return diff_text(args["old"], args["new"], str(subject))
        if lane.display is Display.COMMAND and lane.subject in args:
            return preview_text(f"$ {subject}")
        if lane.display is Display.WRITE and isinstance(args.get("content"), str):
            return Text.assemble((f"{subject}\n", "bold"), fold(args["content"], 8))
        return Text(json.dumps(args, ensure_ascii=False, indent=None)[:400], style=PALETTE["label_dim"])
    return Text(str(args)[:400], style=PALETTE["label_dim"])


def opens_unfolded(lane: FutureLane) -> bool:
    """Whether the transcript shows a call open (its body visible) rather than folded to its title:
    an edit, whose diff is what a reader wants to see."""
    return lane.display is Display.EDIT


def call_body(lane: FutureLane, max_lines: int = FOLD_LINES) -> RenderableType:
    """Arguments (edit diffs coloured) and the output folded to ``max_lines`` (0: all of it): once
    finished, the result; while a command runs, the end of what it printed so far."""
    parts: list[RenderableType] = [_arguments(lane)]
    if not lane.final and lane.live_output:
        what = "background, running" if lane.background else "running"
        lines = lane.live_output.rstrip("\n").split("\n")
        shown = lines[-max_lines:] if max_lines else lines
        parts.append(Text(f"── output so far ({what}) ", PALETTE["label_dim"]))
        parts.append(Text("\n".join(shown)))
    if lane.final:
        colour = PALETTE[State.FAILED] if lane.state == State.FAILED else ""
        output = lane.output or lane.summary
        parts.append(Text.assemble(("── output ", PALETTE["label_dim"]), (f"({lane.state})", colour)))
        parts.append(fold(output, max_lines) if max_lines else Text(output))
    return Group(*parts)
