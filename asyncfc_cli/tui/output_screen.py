"""A modal with one future's whole story: arguments, state, timing and its full output; while the
call runs it follows the output live (and the bottom of it, unless the user scrolled up)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from ..timeline_state import FutureLane
from .follow_scroll import FollowScroll
from .formatting import call_body, call_title

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
    OutputScreen FollowScroll { height: 1fr; }
    """

    FOLLOW_S = 0.25
    """How often a running call's output is looked at again."""

    def __init__(self, lane: FutureLane) -> None:
        super().__init__()
        self.lane = lane
        self._shown: tuple[str, int, str, int] | None = None

    def compose(self) -> ComposeResult:
        lane = self.lane
        with Vertical():
            yield Static(Text(call_title(lane, 80)), classes="title")
            deps = f"deps {','.join(lane.deps)} · " if lane.deps else ""
            yield Static(Text(f"{deps}effect {lane.effect} · turn {lane.turn} · created {lane.created:.2f}s", style="dim"))
            with FollowScroll():
                yield Static(call_body(lane, max_lines=0), id="body")

    def on_mount(self) -> None:
        self._shown = self._version()
        self.set_interval(self.FOLLOW_S, self._follow)

    def _version(self) -> tuple[str, int, str, int]:
        live = self.lane.live_output  # capped: its length alone stops changing
        return self.lane.state, len(live), live[-80:], len(self.lane.output)

    def _follow(self) -> None:
        """Redraw when the call printed more or ended."""
        if self._version() == self._shown:
            return
        self._shown = self._version()
        self.query_one(".title", Static).update(Text(call_title(self.lane, 80)))
        self.query_one("#body", Static).update(call_body(self.lane, max_lines=0))

    def action_close(self) -> None:
        self.dismiss(None)
