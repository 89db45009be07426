"""A small modal listing the background processes still running; the user stops one from it."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ..timeline_state import FutureLane
from .formatting import call_title

__all__ = ["BackgroundScreen"]


class BackgroundScreen(ModalScreen[str | None]):
    """Dismissed with the id of the process to stop (enter or s), or None (Esc, q, b)."""

    BINDINGS = [
        Binding("escape,q,b", "close", "Close"),
        Binding("s", "stop", "Stop it"),
    ]

    DEFAULT_CSS = """
    BackgroundScreen { align: center middle; background: $background 60%; }
    BackgroundScreen > Vertical {
        width: 90%; height: auto; max-height: 80%; border: round $accent; background: $surface; padding: 0 1;
    }
    BackgroundScreen .title { text-style: bold; }
    BackgroundScreen OptionList { height: auto; max-height: 20; }
    """

    def __init__(self, lanes: list[FutureLane]) -> None:
        super().__init__()
        self.lanes = lanes

    def compose(self) -> ComposeResult:
        with Vertical():
            if not self.lanes:
                yield Static("No background process is running. (Esc closes)", classes="title")
                return
            yield Static("Background processes · enter or s stops one · Esc closes", classes="title")
            yield OptionList(*(Option(Text(call_title(lane, 90)), id=lane.id) for lane in self.lanes))

    def on_option_list_option_selected(self, message: OptionList.OptionSelected) -> None:
        self.dismiss(message.option.id)

    def action_stop(self) -> None:
        options = self.query(OptionList)
        if options and options.first().highlighted is not None:
            option = options.first().get_option_at_index(options.first().highlighted)
            self.dismiss(option.id)

    def action_close(self) -> None:
        self.dismiss(None)
