"""What a person adds to the conversation by hand: ``@path`` files and ``!command`` output.

The person at the prompt is trusted (unlike the model and the repository), but paths still resolve
inside the workspace (``resolve_in_root``: no ``..``, no symlink out, nothing in ``.git``) and the
command runs without provider keys in its environment, like every command asyncfc starts. Blocking:
call from a worker thread.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from asyncfc_tools import ToolError, child_environment
from asyncfc_tools._api import resolve_in_root

__all__ = ["Attached", "UserCommand", "attach_mentions", "command_note", "mentioned_paths", "run_user_command"]

MAX_ATTACHED_CHARS = 60_000
"""A mentioned file longer than this is attached in part, with a note saying where it was cut."""
MAX_COMMAND_CHARS = 20_000
"""The tail of a command's output kept for the model (the view shows the same)."""


_MENTION = re.compile(r"(?:^|(?<=\s))@([^\s@]+)")


def mentioned_paths(text: str) -> list[str]:
    """The ``@path`` words of a prompt, in order, each once (a trailing full stop or comma is not
    part of the path)."""
    found: list[str] = []
    for match in _MENTION.finditer(text):
        path = match[1].rstrip(".,;:!?)")
        if path and path not in found:
            found.append(path)
    return found


@dataclass(frozen=True, slots=True)
class Attached:
    """A prompt with its mentioned files appended, and what happened to each mention."""

    text: str
    """What goes to the model."""
    notes: tuple[str, ...]
    """One line per mention for the person: ``attached calc.py (42 lines)`` or why not."""


def attach_mentions(prompt: str, root: Path) -> Attached:
    """``prompt`` with each ``@path`` file's content appended as a ``<file path="...">`` block.

    A mention that names no file of the workspace (a folder, a missing path, one outside the
    root) is left as written and noted."""
    blocks: list[str] = []
    notes: list[str] = []
    for mention in mentioned_paths(prompt):
        try:
            real = resolve_in_root(root, mention)
            text = real.read_text(encoding="utf-8", errors="replace") if real.is_file() else None
        except (ToolError, OSError) as exc:
            notes.append(f"@{mention}: not attached ({exc})")
            continue
        if text is None:
            notes.append(f"@{mention}: not attached (no such file in the workspace)")
            continue
        cut = ""
        if len(text) > MAX_ATTACHED_CHARS:
            text = text[:MAX_ATTACHED_CHARS]
            cut = f"\n[cut at {MAX_ATTACHED_CHARS:,} characters: read_file shows the rest]"
        lines = text.count("\n") + (not text.endswith("\n"))
        blocks.append(f'<file path="{mention}">\n{text}{cut}\n</file>')
        notes.append(f"attached {mention} ({lines} line{'' if lines == 1 else 's'})")
    if not blocks:
        return Attached(prompt, tuple(notes))
    return Attached(prompt + "\n\nFiles I mentioned:\n" + "\n".join(blocks), tuple(notes))


@dataclass(frozen=True, slots=True)
class UserCommand:
    """A command the person ran from the prompt (``!pytest -q``)."""

    command: str
    exit_code: int | None
    """None: it did not finish within the timeout (and was stopped)."""
    output: str
    """stdout and stderr interleaved, at most MAX_COMMAND_CHARS (the tail)."""


def run_user_command(command: str, root: Path, timeout_s: float = 120.0) -> UserCommand:
    """Run ``command`` in a shell at the workspace root, without provider keys; never raises for
    the command's own failure."""
    try:
        done = subprocess.run(command, shell=True, cwd=root, env=child_environment(), text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                              timeout=timeout_s, errors="replace")
        code, output = done.returncode, done.stdout
    except subprocess.TimeoutExpired as exc:
        code = None
        output = (exc.output or "") if isinstance(exc.output, str) else ""
        output += f"\n[stopped after {timeout_s:g}s]"
    except OSError as exc:
        code, output = 127, f"cannot run it: {exc}"
    if len(output) > MAX_COMMAND_CHARS:
        output = f"[… {len(output) - MAX_COMMAND_CHARS:,} characters before]\n" + output[-MAX_COMMAND_CHARS:]
    return UserCommand(command, code, output)


def command_note(result: UserCommand) -> str:
    """How the model is told about it, ahead of the person's next prompt."""
    status = "did not finish" if result.exit_code is None else f"exited with code {result.exit_code}"
    return (f"I ran `{result.command}` myself in the workspace; it {status}. Its output:\n"
            f"```\n{result.output.rstrip()}\n```")
