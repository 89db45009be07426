"""What the prompt understands besides a task: ``/commands``, ``@path`` mentions and ``!command``.

Pure: the command table, parsing a submitted line, and the completions offered while typing. The
app carries the commands out (``slash_actions``); the prompt shows the completions
(``prompt_box``). No Textual here, so all of it is tested without an app.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..config import APPROVALS, MODES

__all__ = [
    "COMMANDS",
    "Completion",
    "SlashCommand",
    "completions",
    "parse_command",
]


@dataclass(frozen=True, slots=True)
class SlashCommand:
    """One command of the prompt."""

    name: str
    """Without the slash: ``model``."""
    help: str
    """One line for /help and the completion menu."""
    args: str = ""
    """How its argument is written, for /help (``[NAME]``); empty: it takes none."""
    choices: tuple[str, ...] = ()
    """The values its argument may take, offered as completions (empty: free text)."""


COMMANDS: tuple[SlashCommand, ...] = (
    SlashCommand("help", "list the commands, mentions and keys"),
    SlashCommand("model", "show the model, or switch to another for the next task", "[NAME]"),
    SlashCommand("mode", "show or set the execution mode", "[MODE]", MODES),
    SlashCommand("approval", "show or set when to ask before changes", "[POLICY]", APPROVALS),
    SlashCommand("clear", "start the conversation afresh (the model forgets it)"),
    SlashCommand("compact", "the model summarises the conversation; the summary replaces it", "[FOCUS]"),
    SlashCommand("diff", "show what changed in the working tree (git diff)"),
    SlashCommand("undo", "restore the working tree to the session's checkpoint"),
    SlashCommand("sessions", "list this repository's recent sessions"),
    SlashCommand("cost", "show requests, tokens and cost so far"),
    SlashCommand("status", "show the session: model, endpoint, sandbox, trust, instructions, servers"),
    SlashCommand("init", "have the model study the repository and write AGENTS.md", "[NOTES]"),
    SlashCommand("review", "have the model review the uncommitted changes (it changes nothing)", "[FOCUS]"),
    SlashCommand("memory", "list the project instructions files, or add a line to them", "[TEXT]"),
    SlashCommand("allow", "list the allow rules, or allow one for this session", "[RULE]"),
    SlashCommand("disallow", "stop allowing a rule (also removed from allow.toml)", "RULE"),
    SlashCommand("mcp", "list the MCP servers, their state and their tools"),
    SlashCommand("exit", "quit asyncfc (also /quit)"),
)
ALIASES = {"quit": "exit"}
"""Other names a command answers to (not listed, not completed)."""
BY_NAME = {command.name: command for command in COMMANDS}

MAX_SHOWN = 8
"""Completions shown at once."""


@dataclass(frozen=True, slots=True)
class Completion:
    """One entry of the completion menu: replace ``text[start:end]`` with ``replacement``."""

    label: str
    """What the menu shows."""
    replacement: str
    start: int
    end: int
    help: str = ""


def parse_command(text: str, extra: Sequence[SlashCommand] = ()) -> tuple[str, str] | None:
    """``("model", "openai/gpt-4.1")`` for ``/model openai/gpt-4.1``; None when ``text`` is not a
    command line (a path like ``/etc/hosts`` in a task is not one: the word must be a command, a
    built-in one or one of ``extra``, the custom commands)."""
    match = re.fullmatch(r"/(\w[\w-]*)(?:\s+(.*))?", text.strip(), re.DOTALL)
    if match is None:
        return None
    name = ALIASES.get(match[1], match[1])
    known = name in BY_NAME or any(command.name == name for command in extra)
    return (name, (match[2] or "").strip()) if known else None


def _token_before(text: str, cursor: int) -> tuple[int, str]:
    """The whitespace-delimited word that ends at ``cursor``: (its start, the word)."""
    start = cursor
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    return start, text[start:cursor]


def completions(text: str, cursor: int, paths: Callable[[], Sequence[str]],
                extra: Callable[[], Sequence[SlashCommand]] = tuple) -> list[Completion]:
    """What to offer for the word being typed at ``cursor``: command names after a leading
    ``/`` (the built-in ones, then ``extra()``, the custom ones), a command's argument choices, or
    workspace paths after ``@`` (``paths`` is called only then). Best first: prefix matches, then
    matches anywhere (paths: in the file name first)."""
    start, word = _token_before(text, cursor)
    if start == 0 and word.startswith("/"):
        typed = word[1:]
        matching = sorted((c for c in (*COMMANDS, *extra()) if c.name.startswith(typed)),
                          key=lambda c: c.name != typed)
        return [Completion(f"/{c.name} {c.args}".rstrip(), f"/{c.name} " if c.args else f"/{c.name}",
                           0, cursor, c.help)
                for c in matching][:MAX_SHOWN]
    command = parse_command(text[:start])
    if command is not None and text[:start].count(" ") == 1 and BY_NAME[command[0]].choices:
        return [Completion(choice, choice, start, cursor) for choice in BY_NAME[command[0]].choices
                if choice.startswith(word)]
    if word.startswith("@"):
        return [Completion(f"@{path}", f"@{path} ", start, cursor)
                for path in _ranked_paths(word[1:], paths())][:MAX_SHOWN]
    return []


def _ranked_paths(typed: str, paths: Sequence[str]) -> list[str]:
    lowered = typed.lower()
    first, second, third = [], [], []
    for path in paths:
        low = path.lower()
        if low.startswith(lowered):
            first.append(path)
        elif low.rsplit("/", 1)[-1].startswith(lowered):
            second.append(path)
        elif lowered in low:
            third.append(path)
    return first + second + third
