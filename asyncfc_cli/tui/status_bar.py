"""The status bar: model (and whether it is scripted) and its endpoint, mode, approval policy, the OS
sandbox of commands (and their network), turns, tokens, cost, time."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from rich.text import Text
from textual.widget import Widget

from ..config import Approval
from ..futures import State
from ..model.scenario import scenario_label
from ..timeline_state import TimelineState
from .timeline_render import PALETTE, format_seconds

__all__ = ["StatusBar", "status_text"]


def _tokens(n: int) -> str:
    return f"{n / 1000:.1f}k" if n >= 1000 else str(n)


def status_text(state: TimelineState, now: float, width: int = 200) -> Text:
    """One line: what runs where, and what it has cost so far; it always fits ``width``.

    The long form when there is room; else short words; else the least needed parts fold away,
    in this order: tokens, turn, sandbox, approval policy, mode, elapsed time, cost (a cost the
    provider does not report, ``$–``, folds first: it says nothing). Activity and model always stay
    (the model clipped at the end if it must be).
    """
    dot = _dot(state)
    line = _assemble(_parts(state, now, short=False), False, dot)
    if line.cell_len <= width:
        return line
    parts = _parts(state, now, short=True)
    order = _FOLD_ORDER if state.cost is not None else ("cost", *_FOLD_ORDER)
    for drop in order:
        line = _assemble(parts, True, dot)
        if line.cell_len <= width:
            return line
        parts.pop(drop, None)
    line.truncate(width, overflow="ellipsis")
    return line


_FOLD_ORDER = ("tokens", "turn", "sandbox", "approval", "mode", "elapsed", "cost")


def _parts(state: TimelineState, now: float, short: bool) -> dict[str, tuple[str, str]]:
    """The bar's parts in order, by name: (text, style)."""
    s = state.session
    model = s.model or "no model yet"
    if s.scripted:
        name = scenario_label(model)
        model = f"scripted ({name})" if short else f"scripted model ({name})"
    else:
        if short:
            model = model.rsplit("/", 1)[-1]  # the provider's routing prefix is what folds first
        if s.endpoint:  # where the requests (and the key) go: the host, in full when there is room
            model = f"{model} @ {urlsplit(s.endpoint).netloc or s.endpoint if short else s.endpoint}"
    counts = state.counts()
    live = counts.get(State.RUNNING, 0) + counts.get(State.PENDING, 0)
    if state.busy:
        flight = (f"·{live}" if short else f" · {live} in flight") if live else ""
        activity = ("decoding" if state.decoding else "tools") + flight
    elif state.outcome is not None:
        activity = f"{state.outcome.outcome} (exit {state.outcome.exit_code})"
    else:
        activity = "idle"
    approval = s.approval or "–"
    elapsed = max(0.0, now - state.task_start) if state.busy else _last_duration(state)
    return {
        "activity": (activity, "bold"),
        "model": (model, PALETTE["call"] if s.scripted else PALETTE["label"]),
        "mode": (s.mode or "–", PALETTE["now"]),
        "approval": (approval if short else f"approval {approval}",
                     PALETTE["approval"] if approval == Approval.ASK else PALETTE["label"]),
        **_sandbox_part(s.sandbox, s.network, short),
        "turn": (f"t{state.turns}" if short else f"turn {state.turns}", ""),
        "tokens": (f"{_tokens(state.total_tokens)} tok", ""),
        "cost": (f"${state.cost:.4f}" if state.cost is not None else "$–", ""),
        "elapsed": (format_seconds(elapsed, 0.1), ""),
    }


_SANDBOX_STYLES = {"on": PALETTE[State.DONE], "off": PALETTE["label"], "unavailable": PALETTE[State.FAILED]}


def _sandbox_part(sandbox: str, network: bool, short: bool) -> dict[str, tuple[str, str]]:
    """Where commands run: ``sandbox on`` (``+net`` when it lets them reach the network), ``off``
    (the user's choice) or ``unavailable`` (it cannot run here: commands run unconfined). Nothing
    when the session did not say (a transcript from before the sandbox)."""
    if not sandbox:
        return {}
    word = {"unavailable": "n/a"}.get(sandbox, sandbox) if short else sandbox
    text = f"{'sbx' if short else 'sandbox'} {word}" + ("+net" if sandbox == "on" and network else "")
    return {"sandbox": (text, _SANDBOX_STYLES.get(sandbox, ""))}


def _dot(state: TimelineState) -> tuple[str, str]:
    if state.busy:
        return ("● ", PALETTE[State.RUNNING])
    if state.outcome is not None:
        return ("● ", PALETTE[State.DONE] if state.outcome.exit_code == 0 else PALETTE[State.FAILED])
    return ("○ ", PALETTE["label_dim"])


def _assemble(parts: dict[str, tuple[str, str]], short: bool, dot: tuple[str, str]) -> Text:
    sep = (" │ " if not short else "│", PALETTE["grid"])
    line = Text.assemble((" asyncfc " if not short else "afc ", f"bold {PALETTE['model_text']} on {PALETTE['model']}"),
                         " ", dot, no_wrap=True, overflow="ellipsis")
    for index, (text, style) in enumerate(parts.values()):
        if index:
            line.append(*sep)
        line.append(text, style)
    return line


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
