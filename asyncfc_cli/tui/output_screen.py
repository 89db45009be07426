"""A modal with one future's whole story: arguments, state, timing and its full output."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from .formatting import call_body, call_title
from .state import FutureLane

__all__ = ["OutputScreen"]


class OutputScreen(ModalScreen[None]):
    """Shows ``call_body`` unfolded; Esc or q closes."""

    BINDINGS = [Binding("escape,q,o", "close", "Close")]

    DEFAULT_CSS = """
    OutputScreen { align: center middle; background: $background 60%; }
    OutputScreen > Vertical {
        width: 95%; height: 90%; border: round $accent; background: $surface; padding: 0 1;
    }
    OutputScreen .title { text-style: bold; height: auto; }
    OutputScreen VerticalScroll { height: 1fr; }
    """

    def __init__(self, lane: FutureLane) -> None:
        super().__init__()
        self.lane = lane

    def compose(self) -> ComposeResult:
        lane = self.lane
        with Vertical():
            yield Static(call_title(lane, 80), classes="title")
            deps = f"deps {','.join(lane.deps)} · " if lane.deps else ""
            yield Static(Text(f"{deps}effect {lane.effect} · turn {lane.turn} · created {lane.created:.2f}s", style="dim"))
            with VerticalScroll():
                yield Static(call_body(lane, max_lines=0))

    def action_close(self) -> None:
        self.dismiss(None)
