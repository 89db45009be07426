"""The status bar: model (and whether it is scripted), mode, approval policy, turns, tokens, cost, time."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.widget import Widget

from .state import TimelineState
from .timeline_render import PALETTE, format_seconds

__all__ = ["StatusBar", "status_text"]


def _tokens(n: int) -> str:
    return f"{n / 1000:.1f}k" if n >= 1000 else str(n)


def status_text(state: TimelineState, now: float) -> Text:
    """One line: what runs where, and what it has cost so far."""
    s = state.session
    model = s.model or "no model yet"
    if s.scripted:
        model = f"scripted model ({model.removeprefix('scripted:')})"
    counts = state.counts()
    live = counts.get("running", 0) + counts.get("pending", 0)
    if state.busy:
        activity = ("decoding" if state.decoding else "tools") + (f" · {live} in flight" if live else "")
        dot = ("● ", PALETTE["running"])
    elif state.outcome is not None:
        activity = f"{state.outcome.outcome} (exit {state.outcome.exit_code})"
        dot = ("● ", PALETTE["done"] if state.outcome.exit_code == 0 else PALETTE["failed"])
    else:
        activity, dot = "idle", ("○ ", PALETTE["label_dim"])
    sep = (" │ ", PALETTE["grid"])
    cost = f"${state.cost:.4f}" if state.cost is not None else "$–"
    return Text.assemble(
        (" asyncfc ", f"bold {PALETTE['model_text']} on {PALETTE['model']}"), " ",
        dot, (activity, "bold"), sep,
        (model, PALETTE["call"] if s.scripted else PALETTE["label"]), sep,
        (s.mode or "–", PALETTE["now"]), sep,
        (f"approval {s.approval or '–'}", PALETTE["approval"] if s.approval == "ask" else PALETTE["label"]), sep,
        f"turn {state.turns}", sep,
        f"{_tokens(state.total_tokens)} tok", sep,
        cost, sep,
        format_seconds(max(0.0, now - state.task_start) if state.busy else _last_duration(state), 0.1),
        no_wrap=True, overflow="ellipsis",
    )


def _last_duration(state: TimelineState) -> float:
    return state.outcome.t - state.task_start if state.outcome is not None else 0.0


class StatusBar(Widget):
    """Renders ``status_text`` at ``clock()``; the app refreshes it on events and on its tick."""

    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        dock: top;
        background: $panel;
        color: $text;
    }
    """

    def __init__(self, state: TimelineState, clock: Callable[[], float], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.state = state
        self.clock = clock

    def render(self) -> Text:
        return status_text(self.state, self.clock())
