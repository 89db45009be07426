"""The approval dialog: what a mutating call will do, and allow once / allow for the session / deny."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from .formatting import preview_text
from .state import args_summary

__all__ = ["ApprovalDialog"]


class ApprovalDialog(ModalScreen[str]):
    """Dismisses with the decision: ``once``, ``session`` or ``deny`` (Esc denies)."""

    BINDINGS = [
        Binding("y,a", "decide('once')", "Allow once"),
        Binding("s", "decide('session')", "Allow for session"),
        Binding("n,d,escape", "decide('deny')", "Deny"),
    ]

    DEFAULT_CSS = """
    ApprovalDialog {
        align: center middle;
        background: $background 60%;
    }
    ApprovalDialog > Vertical {
        width: 90%;
        max-width: 110;
        height: auto;
        max-height: 90%;
        border: thick $warning;
        background: $surface;
        padding: 0 1;
    }
    ApprovalDialog .title { text-style: bold; color: $warning; }
    ApprovalDialog VerticalScroll { height: auto; max-height: 20; margin: 1 0; background: $panel; }
    ApprovalDialog Horizontal { height: auto; align-horizontal: center; }
    ApprovalDialog Button { margin: 0 1; min-width: 16; }
    """

    def __init__(self, future_id: str, tool: str, preview: str, args: object = None) -> None:
        super().__init__()
        self.future_id = future_id
        self.tool = tool
        self.preview = preview
        self.args = args

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"Approve {self.future_id} · {self.tool}?", classes="title")
            if self.args:
                yield Static(Text(args_summary(self.args, 100), style="dim"))
            with VerticalScroll():
                yield Static(preview_text(self.preview or "(no preview)"))
            with Horizontal():
                yield Button("Allow once (y)", id="once", variant="success")
                yield Button("Allow for session (s)", id="session", variant="primary")
                yield Button("Deny (n)", id="deny", variant="error")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(str(event.button.id))

    def action_decide(self, decision: str) -> None:
        self.dismiss(decision)
