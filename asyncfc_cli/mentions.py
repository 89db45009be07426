"""What a person adds to the conversation by hand: ``@path`` files and ``!command`` output.

The person at the prompt is trusted (unlike the model and the repository), but a mention is
checked as the file tools check a path (``Workspace.resolve``: nothing outside the workspace,
through a symlink or in ``.git``, nothing in the user's asyncfc config folder), only regular files
are opened (a FIFO would block), binary files are refused, and at most MAX_ATTACHED_BYTES of a file
are read. The command runs without provider keys in its environment, like every command asyncfc
starts. What goes to the model is fenced so that no content can end its own block (``fenced``).
Blocking: call from a worker thread.
"""

from __future__ import annotations

import html
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from asyncfc_tools import ToolError
from asyncfc_tools._fs import SNIFF_BYTES, looks_binary, open_regular

from .config import endpoint_keys
from .workspace import Workspace, keyless_environment

__all__ = ["Attached", "MentionNote", "UserCommand", "attach_mentions", "command_note", "fenced",
           "mentioned_paths", "run_user_command"]

MAX_ATTACHED_BYTES = 60_000
"""At most this much of a mentioned file is read and attached, with a note saying where it was cut."""
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


def fenced(text: str) -> str:
    """``text`` in a Markdown code fence that nothing in it can close: the fence is one backtick
    longer than the longest run of backticks in ``text`` (at least three). Quoted file content
    and command output may hold fences and tags of their own (hostile ones, even)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    bar = "`" * max(3, longest + 1)
    body = text[:-1] if text.endswith("\n") else text
    return f"{bar}\n{body}\n{bar}"


@dataclass(frozen=True, slots=True)
class MentionNote:
    """What happened to one mention, for the person."""

    text: str
    """``attached calc.py (42 lines)``, or what was cut or why nothing was attached."""
    warning: bool = False
    """Not attached, or attached in part: the view shows it as a warning."""


@dataclass(frozen=True, slots=True)
class Attached:
    """A prompt with its mentioned files appended, and what happened to each mention."""

    text: str
    """What goes to the model."""
    notes: tuple[MentionNote, ...]
    """One per mention."""


def attach_mentions(prompt: str, root: Path) -> Attached:
    """``prompt`` with each ``@path`` file's content appended as a ``<file path="...">`` block
    holding a fence (``fenced``), so neither ``</file>`` nor a fence in the content ends it.

    A mention that names no readable text file of the workspace (a folder, a missing path, one
    refused, a binary file) is left as written and noted."""
    workspace = Workspace(root)
    blocks: list[str] = []
    notes: list[MentionNote] = []
    for mention in mentioned_paths(prompt):
        try:
            block, note = _attach(workspace, mention)
        except ToolError as exc:
            notes.append(MentionNote(f"@{mention}: not attached: {exc}", warning=True))
            continue
        blocks.append(block)
        notes.append(note)
    if not blocks:
        return Attached(prompt, tuple(notes))
    return Attached(prompt + "\n\nFiles I mentioned:\n" + "\n".join(blocks), tuple(notes))


def _attach(workspace: Workspace, mention: str) -> tuple[str, MentionNote]:
    """The block and note of one mention, reading at most MAX_ATTACHED_BYTES.

    Raises:
        ToolError: refused (outside the workspace, ``.git``, the config folder), missing, a
            folder, a special file, unreadable, or binary; in words.
    """
    real = workspace.resolve(mention)
    with open_regular(real, mention) as handle:
        try:
            data = handle.read(MAX_ATTACHED_BYTES + 1)
        except OSError as exc:
            raise ToolError(f"{mention}: cannot be read: {exc.strerror or exc}") from None
        size = max(len(data), os.fstat(handle.fileno()).st_size)
    if looks_binary(data[:SNIFF_BYTES]):
        raise ToolError(f"{mention} is a binary file ({size:,} bytes); only text is attached")
    cut = len(data) > MAX_ATTACHED_BYTES
    text = data[:MAX_ATTACHED_BYTES].decode("utf-8", errors="replace")
    if cut:
        text = text.rstrip("\ufffd")  # the cut may fall inside a character
    lines = text.count("\n") + bool(text and not text.endswith("\n"))
    tail = (f"\n[cut: the first {MAX_ATTACHED_BYTES:,} of {size:,} bytes are shown; "
            "read_file shows the rest]") if cut else ""
    block = f'<file path="{html.escape(mention, quote=True)}">\n{fenced(text)}{tail}\n</file>'
    if cut:
        return block, MentionNote(f"attached the first {MAX_ATTACHED_BYTES:,} of {size:,} bytes of "
                                  f"{mention} (too long: the model can read the rest)", warning=True)
    return block, MentionNote(f"attached {mention} ({lines} line{'' if lines == 1 else 's'})")


@dataclass(frozen=True, slots=True)
class UserCommand:
    """A command the person ran from the prompt (``!pytest -q``)."""

    command: str
    exit_code: int | None
    """None: it did not finish within the timeout (and was stopped)."""
    output: str
    """stdout and stderr interleaved, at most MAX_COMMAND_CHARS (the tail)."""


def run_user_command(command: str, root: Path, timeout_s: float = 120.0) -> UserCommand:
    """Run ``command`` in a shell at the workspace root, without provider keys (those the user
    paired with an endpoint under any name too); never raises for the command's own failure."""
    env = keyless_environment(set(endpoint_keys().values()))
    try:
        done = subprocess.run(command, shell=True, cwd=root, env=env, text=True,
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
            f"{fenced(result.output.rstrip())}")
