"""Custom slash commands: a Markdown file is a prompt the person sends by typing its name.

``~/.config/asyncfc/commands/review-security.md`` (``$XDG_CONFIG_HOME``) is ``/review-security``;
a repository's ``.asyncfc/commands/NAME.md`` and, for people coming from Claude Code,
``.claude/commands/NAME.md`` add their own. ``$ARGUMENTS`` in the text is replaced by what follows
the name (without it, the arguments go after the text). An optional front matter between ``---``
lines may give ``description`` and ``argument-hint`` for the completion menu and /help; other keys
are ignored. Built-in commands keep their names; the user's own file wins over a repository's.

Trust boundary: a repository's command is text the person chooses to send, like ``AGENTS.md`` the
model reads anyway; it grants nothing (the approval policy decides what its task may do), runs
nothing (Claude Code's ``!`command``` lines are sent as written) and is labelled "(repository)" so
the person knows where it comes from. Files are read at most ``MAX_CHARS`` each, as text.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

from .events import printable

__all__ = ["CustomCommand", "expand", "load_custom_commands", "parse_command_file", "user_commands_folder"]

REPOSITORY_FOLDERS = (".asyncfc/commands", ".claude/commands")
"""Where a repository keeps its commands, relative to its root, first match wins."""
MAX_CHARS = 20_000
MAX_COMMANDS = 200
"""Files read per folder at most (a repository could hold thousands)."""
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class CustomCommand:
    """One command read from a Markdown file."""

    name: str
    """Without the slash: the file's name without ``.md``."""
    text: str
    """The prompt, front matter removed."""
    description: str
    """One line for the menu: the front matter's, else the text's first line."""
    argument_hint: str = ""
    source: str = "user"
    """``user`` (the person's config folder) or ``repository``."""


def parse_command_file(name: str, content: str, source: str) -> CustomCommand | None:
    """The command a file holds, or None when it holds no prompt."""
    meta: dict[str, str] = {}
    if (match := _FRONT_MATTER.match(content)) is not None:
        for line in match[1].splitlines():
            key, sep, value = line.partition(":")
            if sep:
                meta[key.strip().lower()] = value.strip().strip("\"'")
        content = content[match.end():]
    text = content.strip()
    if not text:
        return None
    first = next(line.strip("# ").strip() for line in text.splitlines() if line.strip())
    # The menu and /help show these: a repository's words, so no control characters (escapes).
    description = printable(" ".join((meta.get("description") or first).split())[:100])
    return CustomCommand(name, text, description, printable(meta.get("argument-hint", "")), source)


def expand(command: CustomCommand, arguments: str) -> str:
    """The task ``/name arguments`` sends."""
    if "$ARGUMENTS" in command.text:
        return command.text.replace("$ARGUMENTS", arguments)
    return f"{command.text}\n\n{arguments}" if arguments else command.text


def user_commands_folder() -> Path:
    """The person's own commands: ``commands/`` beside their config.toml."""
    from .config import user_config_path

    return user_config_path().parent / "commands"


def load_custom_commands(user_folder: Path | None, root: Path | None, *,
                         reserved: Collection[str] = ()) -> dict[str, CustomCommand]:
    """The commands of the user's folder, then the repository's (a name taken stays taken; the
    ``reserved`` built-in names are never used), by name in order. Unreadable files are skipped."""
    folders: list[tuple[Path, str]] = [(user_folder, "user")] if user_folder is not None else []
    if root is not None:
        folders += [(root / rel, "repository") for rel in REPOSITORY_FOLDERS]
    found: dict[str, CustomCommand] = {}
    for folder, source in folders:
        for path in _command_files(folder, root if source == "repository" else None):
            name = path.stem.lower()
            if name in reserved or name in found:
                continue
            try:
                with path.open(encoding="utf-8", errors="replace") as handle:
                    content = handle.read(MAX_CHARS)
            except OSError:
                continue
            if (command := parse_command_file(name, content, source)) is not None:
                found[name] = command
    return found


def _command_files(folder: Path, root: Path | None) -> Iterable[Path]:
    """The ``NAME.md`` files of ``folder`` with a usable name, sorted. A repository's are taken
    only where the file tools could read them (a link to ``~/.ssh/id_rsa`` or into ``.git`` is not
    read)."""
    try:
        paths = sorted(p for p in folder.iterdir() if p.suffix == ".md" and _NAME.fullmatch(p.stem.lower()))
    except OSError:
        return []
    if root is not None:
        paths = [p for p in paths if _inside(root, p)]
    return [p for p in paths[:MAX_COMMANDS] if p.is_file()]


def _inside(root: Path, path: Path) -> bool:
    """Whether the file tools could read ``path`` (in the workspace, not in ``.git``)."""
    from asyncfc_tools import resolve_in_root

    from .errors import ToolError

    try:
        resolve_in_root(root, path)
    except ToolError:
        return False
    return True
