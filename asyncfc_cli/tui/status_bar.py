"""The status bar: model (and whether it is scripted) and its endpoint, mode, approval policy, turns, tokens, cost, time."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from rich.text import Text
from textual.widget import Widget

from .state import TimelineState
from .timeline_render import PALETTE, format_seconds

__all__ = ["StatusBar", "status_text"]


def _tokens(n: int) -> str:
    return f"{n / 1000:.1f}k" if n >= 1000 else str(n)


def status_text(state: TimelineState, now: float, width: int = 200) -> Text:
    """One line: what runs where, and what it has cost so far; shorter words when ``width`` is small."""
    s = state.session
    short = width < 110
    model = s.model or "no model yet"
    if s.scripted:
        name = model.removeprefix("scripted:")
        model = f"scripted ({name})" if short else f"scripted model ({name})"
    elif s.endpoint:  # where the requests (and the key) go: the host, in full when there is room
        model = f"{model} @ {urlsplit(s.endpoint).netloc or s.endpoint if short else s.endpoint}"
    counts = state.counts()
    live = counts.get("running", 0) + counts.get("pending", 0)
    if state.busy:
        flight = (f"·{live}" if short else f" · {live} in flight") if live else ""
        activity = ("decoding" if state.decoding else "tools") + flight
        dot = ("● ", PALETTE["running"])
    elif state.outcome is not None:
        activity = f"{state.outcome.outcome} (exit {state.outcome.exit_code})"
        dot = ("● ", PALETTE["done"] if state.outcome.exit_code == 0 else PALETTE["failed"])
    else:
        activity, dot = "idle", ("○ ", PALETTE["label_dim"])
    sep = (" │ " if not short else "│", PALETTE["grid"])
    cost = f"${state.cost:.4f}" if state.cost is not None else "$–"
    approval = s.approval or "–"
    elapsed = max(0.0, now - state.task_start) if state.busy else _last_duration(state)
    return Text.assemble(
        (" asyncfc " if not short else "afc ", f"bold {PALETTE['model_text']} on {PALETTE['model']}"), " ",
        dot, (activity, "bold"), sep,
        (model, PALETTE["call"] if s.scripted else PALETTE["label"]), sep,
        (s.mode or "–", PALETTE["now"]), sep,
        (approval if short else f"approval {approval}", PALETTE["approval"] if approval == "ask" else PALETTE["label"]),
        sep, f"turn {state.turns}" if not short else f"t{state.turns}", sep,
        f"{_tokens(state.total_tokens)} tok", sep,
        cost, sep,
        format_seconds(elapsed, 0.1),
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
        return status_text(self.state, self.clock(), self.size.width)
