"""The approval dialog: what a mutating call will do, and allow once / allow its rule for the session
or always / deny. The rule is the one the gate will add (``approval_requested.rule``): the tool, or
for a command its prefix (``npm test*``), never every shell command. For a command the
sandbox keeps off the network it also offers network access, in a second row: for this one
command ("w"; not "n", which has always meant no), for its rule in this session ("W"), or for its
rule saved in allow.toml ("ctrl+w")."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from ..approval import Decision
from .formatting import preview_text
from .summaries import args_summary

__all__ = ["ApprovalDialog"]

_NETWORKED = (Decision.NETWORK, Decision.NETWORK_SESSION, Decision.NETWORK_ALWAYS)


class ApprovalDialog(ModalScreen[Decision]):
    """Dismisses with the ``approval.Decision``: once, session, always, deny (Esc denies), and where
    network access is offered network, network_session or network_always."""

    BINDINGS = [
        Binding("y,a", f"decide('{Decision.ONCE}')", "Allow once"),
        Binding("w", f"decide('{Decision.NETWORK}')", "Allow once with network"),
        Binding("s", f"decide('{Decision.SESSION}')", "Allow for session"),
        Binding("A", f"decide('{Decision.ALWAYS}')", "Always allow"),
        Binding("W", f"decide('{Decision.NETWORK_SESSION}')", "Allow for session with network"),
        Binding("ctrl+w", f"decide('{Decision.NETWORK_ALWAYS}')", "Always allow with network"),
        Binding("n,d,escape", f"decide('{Decision.DENY}')", "Deny"),
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
    ApprovalDialog Button { margin: 0 1; min-width: 10; }
    ApprovalDialog .rule { color: $text-muted; }
    """

    def __init__(self, future_id: str, tool: str, preview: str, args: object = None, *,
                 rule: str, network: bool = False) -> None:
        super().__init__()
        self.network = network
        """Whether to offer running this command with network access (``approval_requested``)."""
        self.future_id = future_id
        self.tool = tool
        self.preview = preview
        self.args = args
        self.rule = rule
        """What "session" and "always" allow: the gate's ``approval_requested.rule``, which every
        live request carries (no fallback to the tool: for a command that would read "allow
        shell", every command)."""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(f"Approve {self.future_id} · {self.tool}?"), classes="title")
            if self.args:
                yield Static(Text(args_summary(self.args, 100), style="dim"))
            with VerticalScroll():
                yield Static(preview_text(self.preview or "(no preview)"))
            yield Static(Text.assemble("s / A allow ", (self.rule, "bold"),
                                       " for this session / always (saved in your allow.toml)"), classes="rule")
            if self.network:
                yield Static(Text.assemble("w / W / ^W the same ", ("with network access", "bold"),
                                           " (the sandbox keeps commands off it)"), classes="rule")
            with Horizontal():
                yield Button("Once (y)", id=Decision.ONCE, variant="success")
                yield Button("Session (s)", id=Decision.SESSION, variant="primary")
                yield Button("Always (A)", id=Decision.ALWAYS, variant="warning")
                yield Button("Deny (n)", id=Decision.DENY, variant="error")
            if self.network:
                with Horizontal():
                    yield Button("+net once (w)", id=Decision.NETWORK, variant="success")
                    yield Button("+net session (W)", id=Decision.NETWORK_SESSION, variant="primary")
                    yield Button("+net always (^W)", id=Decision.NETWORK_ALWAYS, variant="warning")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(Decision(str(event.button.id)))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The network answers only where the network is offered."""
        return self.network or not parameters or parameters[0] not in _NETWORKED

    def action_decide(self, decision: str) -> None:
        self.dismiss(Decision(decision))
