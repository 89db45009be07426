"""The prompt's commands about the project rather than the session: /init and /review (model tasks
with a fixed prompt from ``asyncfc_prompts``), custom commands (prompts the person or the
repository keeps as Markdown files: ``custom_commands``), /memory and ``# note`` lines (the project
instructions), and /exit (/quit).

/init, /review and custom commands go out as ordinary tasks, through ``PromptActions`` (queued behind a running
task, ``!command`` notes ahead of them), so the model does the work under the session's approval
policy like any other task. A memory is written at once, in a worker thread (``memory.add_memory``),
and the conversation learns it with the next prompt, as a ``!command``'s output does: the system
prompt is not rewritten mid-session (it would throw away the provider's prompt cache), while every
later session reads the file.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rich.text import Text

if TYPE_CHECKING:
    from pathlib import Path

    from ..custom_commands import CustomCommand
    from ..memory import Remembered
    from .prompt_actions import PromptActions
    from .slash import SlashCommand

__all__ = ["ProjectCommands"]

FRESH_S = 5.0
"""How long the custom commands read are reused before their folders are read again."""


class ProjectCommands:
    """Carries out /init, /review, /memory, ``# note`` and /exit for ``actions``' app."""

    def __init__(self, actions: PromptActions) -> None:
        self.actions = actions
        self.app = actions.app
        self._custom: tuple[float, Path | None, dict[str, CustomCommand]] = (-1e9, None, {})
        """When the custom commands were read, for which workspace root, and what was found."""

    def run(self, name: str, argument: str) -> bool:
        """Carry out ``/name argument`` if it is one of these or a custom command; whether it was."""
        handler = getattr(self, f"_{name}", None)
        if handler is not None:
            handler(argument)
            return True
        from ..task_commands import TASK_COMMANDS, task_for

        custom = self.custom_commands()
        if name not in TASK_COMMANDS and name not in custom:
            return False
        root = self.actions.root
        if root is None:  # the session has not said where it works yet
            self.app.notify(f"/{name} waits for the session to start: try again in a moment.", severity="warning")
            return True
        task = task_for(name, argument, root, custom)
        assert task is not None  # a task command or a custom one
        self.actions.send_task(task)
        return True

    # -- custom commands ---------------------------------------------------------------------------

    def custom_commands(self) -> dict[str, CustomCommand]:
        """The custom commands (``custom_commands``), read again when older than ``FRESH_S``: a
        file added while the TUI runs shows up in the menu. Before the session has said where it
        works, only the person's own."""
        read_at, read_for, found = self._custom
        root = self.actions.root
        if time.monotonic() - read_at > FRESH_S or read_for != root:
            from ..custom_commands import load_custom_commands, user_commands_folder
            from .slash import ALIASES, BY_NAME

            found = load_custom_commands(user_commands_folder(), root, reserved={*BY_NAME, *ALIASES})
            self._custom = (time.monotonic(), root, found)
        return found

    def slash_commands(self) -> list[SlashCommand]:
        """The custom commands as the completion menu and /help show them."""
        from .slash import SlashCommand

        return [SlashCommand(c.name, c.description + (" (repository)" if c.source == "repository" else ""),
                             c.argument_hint or ("[ARGUMENTS]" if "$ARGUMENTS" in c.text else ""))
                for c in self.custom_commands().values()]

    def _memory(self, argument: str) -> None:
        """``/memory TEXT`` remembers TEXT; ``/memory`` says which files the model is given."""
        if argument:
            self.remember(argument)
            return
        root = self.actions.root
        if root is None:
            return
        from ..memory import memory_target
        from ..prompting import project_instructions

        found = project_instructions(root)
        listed = "\n".join(f"  {item.path}  ({_lines(item.text)})" for item in found)
        self.app.transcript.note(
            (f"Project instructions (each new session's system prompt holds them):\n{listed}\n" if found else
             "No project instructions yet (/init has the model write AGENTS.md).\n")
            + f"`# TEXT` (or /memory TEXT) adds a line to {memory_target(root)}.")

    def remember(self, text: str) -> None:
        """Add ``text`` to the project instructions in a worker thread, then say so."""
        root, app = self.actions.root, self.app
        if root is None or not app.can_command("nothing is remembered"):
            return
        from ..memory import add_memory
        from ..workspace import Workspace

        def write() -> None:
            from ..errors import WorkspaceError

            try:
                done: Remembered | str = add_memory(Workspace(root), text)
            except WorkspaceError as exc:
                done = str(exc)
            app.call_from_thread(self._remembered, done)

        app.run_worker(write, thread=True, group="prompt")

    def _remembered(self, done: Remembered | str) -> None:
        """On the UI thread: say what was written (or why not); the conversation hears of it with
        the next prompt."""
        if isinstance(done, str):
            self.app.transcript.note(Text(f"Not remembered: {done}", style="yellow"))
            return
        self.actions.pending_notes.append(
            f"(I added this line to the project instructions in {done.path}; follow it from now on: "
            f"{done.line[2:]})")
        verb = "created" if done.created else "added to"
        self.app.transcript.note(f"Remembered ({verb} {done.path}): {done.line}")

    def _exit(self, _: str) -> None:
        self.app.run_worker(self.app.action_quit(), exclusive=True)

    _quit = _exit


def _lines(text: str) -> str:
    count = len(text.splitlines())
    return f"{count} line{'s' * (count != 1)}"
