"""The prompt at the bottom: multi-line text, Enter sends, history on Up/Down; while completions
are shown, Tab, Enter, Up, Down and Esc go to the completion menu instead."""

from __future__ import annotations

from dataclasses import dataclass

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import TextArea

__all__ = ["PromptInput"]


class PromptInput(TextArea):
    """A TextArea where Enter submits (Ctrl-J or Shift-Enter adds a line) and Up/Down walk history.

    Posts ``PromptInput.Submitted`` with the text; never talks to the session itself.
    """

    BINDINGS = [
        Binding("ctrl+j,shift+enter", "newline", "New line", show=False),
        Binding("shift+tab", "app.cycle_approval", "Next approval policy", show=False),
    ]

    DEFAULT_CSS = """
    PromptInput {
        height: auto;
        min-height: 3;
        max-height: 8;
        border: round $primary 50%;
        border-title-color: $text-muted;
        padding: 0 1;
    }
    PromptInput:focus {
        border: round $accent;
    }
    """

    MENU_KEYS = frozenset({"tab", "enter", "up", "down", "escape"})

    @dataclass
    class Submitted(Message):
        """The user sent a prompt."""

        text: str

    @dataclass
    class MenuKey(Message):
        """A key meant for the completion menu (only while ``completing``)."""

        key: str

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, soft_wrap=True, show_line_numbers=False,
                         placeholder="Ask asyncfc… (Enter sends · / commands · @ files · ! shell · ↑ history)")
        self.completing = False
        """The completion menu is showing (set by the box that owns both)."""
        self.prompts: list[str] = []
        self._cursor: int | None = None
        self._draft = ""
        self.recalled: str | None = None
        """The text ↑/↓ last brought back from the history: no completion menu opens on it (↑ on
        a recalled ``/cost`` walks on instead of moving in a menu), until it is edited."""

    async def _on_key(self, event: events.Key) -> None:
        if self.completing and event.key in self.MENU_KEYS:
            event.stop()
            event.prevent_default()
            self.post_message(self.MenuKey(event.key))
            return
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.action_submit()
            return
        if event.key == "up" and self.cursor_location[0] == 0 and self.prompts:
            event.stop()
            event.prevent_default()
            self._walk(-1)
            return
        if event.key == "down" and self._cursor is not None and self.cursor_location[0] == self.document.line_count - 1:
            event.stop()
            event.prevent_default()
            self._walk(+1)
            return
        await super()._on_key(event)

    def _walk(self, step: int) -> None:
        if self._cursor is None:
            self._draft, self._cursor = self.text, len(self.prompts)
        self._cursor = max(0, min(len(self.prompts), self._cursor + step))
        text = self.prompts[self._cursor] if self._cursor < len(self.prompts) else self._draft
        self.recalled = text
        self.load_text(text)
        self.move_cursor(self.document.end)

    def add_earlier(self, prompts: list[str]) -> None:
        """Put ``prompts`` (a previous session's, oldest first) before this session's in the
        history ↑ walks, keeping the place of a walk under way."""
        if prompts and self.prompts and prompts[-1] == self.prompts[0]:
            prompts = prompts[:-1]
        self.prompts[:0] = prompts
        if self._cursor is not None:
            self._cursor += len(prompts)

    def action_newline(self) -> None:
        self.insert("\n")

    def action_submit(self) -> None:
        text = self.text.strip()
        if not text:
            return
        if not self.prompts or self.prompts[-1] != text:
            self.prompts.append(text)
        self._cursor = None
        self.load_text("")
        self.post_message(self.Submitted(text))
