"""The prompt with its completion menu: slash commands, their arguments and ``@path`` mentions.

Textual's own suggestion machinery (``textual.suggester``, and the ``textual-autocomplete``
package built on it) completes an ``Input``; the prompt is a multi-line ``TextArea``, so the menu
here is Textual's ``OptionList`` fed by the pure ``slash.completions``. The prompt posts the keys
the menu needs (``PromptInput.MenuKey``); this box moves the menu and applies the choice.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import OptionList, TextArea
from textual.widgets.option_list import Option

from .prompt_input import PromptInput
from .slash import Completion

__all__ = ["CompletionMenu", "PromptBox"]

Completer = Callable[[str, int], list[Completion]]


class CompletionMenu(OptionList):
    """The completions for the word at the prompt's cursor; hidden when there are none."""

    DEFAULT_CSS = """
    CompletionMenu {
        height: auto;
        max-height: 8;
        border: none;
        padding: 0 1;
        background: $boost;
        display: none;
    }
    """

    def __init__(self) -> None:
        super().__init__(id="completions")
        self.items: list[Completion] = []

    def show(self, items: list[Completion]) -> None:
        self.items = items
        self.clear_options()
        width = max((len(c.label) for c in items), default=0)
        self.add_options([Option(Text.assemble((c.label.ljust(width), "bold"), ("  " + c.help if c.help else "", "dim")))
                          for c in items])
        self.highlighted = 0 if items else None
        self.display = bool(items)

    @property
    def chosen(self) -> Completion | None:
        index = self.highlighted
        return self.items[index] if index is not None and 0 <= index < len(self.items) else None


class PromptBox(Vertical):
    """``CompletionMenu`` over ``PromptInput``; ``completer(text, cursor)`` says what to offer."""

    DEFAULT_CSS = """
    PromptBox { height: auto; }
    """

    def __init__(self, completer: Completer, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.completer = completer
        self._dismissed_at: str | None = None
        """The text the menu was closed on with Esc: it stays closed until the text changes."""

    def compose(self) -> ComposeResult:
        yield CompletionMenu()
        yield PromptInput(id="prompt")

    @property
    def prompt(self) -> PromptInput:
        return self.query_one(PromptInput)

    @property
    def menu(self) -> CompletionMenu:
        return self.query_one(CompletionMenu)

    @on(TextArea.Changed)
    @on(TextArea.SelectionChanged)
    def _update(self) -> None:
        prompt = self.prompt
        text = prompt.text
        closed = text in (self._dismissed_at, prompt.recalled)
        items = [] if closed else self.completer(text, _offset(prompt))
        self.menu.show(items)
        prompt.completing = bool(items)

    @on(PromptInput.MenuKey)
    def _menu_key(self, message: PromptInput.MenuKey) -> None:
        menu = self.menu
        if message.key == "up":
            menu.action_cursor_up()
        elif message.key == "down":
            menu.action_cursor_down()
        elif message.key == "escape":
            self._dismissed_at = self.prompt.text
            self._update()
        elif menu.chosen is not None:
            self._apply(menu.chosen, submit=message.key == "enter")

    def _apply(self, choice: Completion, *, submit: bool) -> None:
        prompt = self.prompt
        text = prompt.text
        new = text[:choice.start] + choice.replacement + text[choice.end:]
        prompt.load_text(new)
        prompt.move_cursor(prompt.document.get_location_from_index(choice.start + len(choice.replacement)))
        if submit and not choice.replacement.endswith(" "):
            # A whole command that takes nothing more: run it. From the prompt's own queue, so its
            # message bubbles past this box (Textual stops a message at the widget that sent it).
            prompt.call_later(prompt.action_submit)


def _offset(prompt: PromptInput) -> int:
    """The cursor as an index into ``prompt.text``."""
    return prompt.document.get_index_from_location(prompt.cursor_location)
