"""The system prompt a session starts with, assembled from its parts.

In order: the system prompt (``asyncfc_prompts/system.md``), the futures protocol
(``futures.md``, async mode only: in sync and serial modes the model never sees a placeholder),
the workspace, the OS sandbox commands run in (``sandbox.md``, when they are confined), the
project's instructions (``AGENTS.md``, ``CLAUDE.md``, ``.asyncfc/instructions.md``
at the repository root, each labelled), and the repository map (``repomap.py``, within
``Settings.map_tokens``). ``asyncfc prompt --mode MODE`` prints the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asyncfc_prompts import load_prompt

from .config import MODES, Mode, Settings
from .errors import ConfigError
from .workspace import Workspace

__all__ = [
    "INSTRUCTION_FILES",
    "Instructions",
    "build_subagent_prompt",
    "build_system_prompt",
    "instructions_section",
    "project_instructions",
    "repo_map_section",
    "sandbox_section",
]

INSTRUCTION_FILES = ("AGENTS.md", "CLAUDE.md", ".asyncfc/instructions.md")
"""Files at the repository root whose text the model is given as the project's instructions."""
MAX_INSTRUCTION_CHARS = 20_000
"""Each instructions file is cut to this many characters (a note says so)."""


@dataclass(frozen=True, slots=True)
class Instructions:
    """One project instructions file."""

    path: str
    """Relative to the repository root, e.g. ``AGENTS.md``."""
    text: str


def project_instructions(root: Path) -> list[Instructions]:
    """The instructions files present at ``root``, in INSTRUCTION_FILES order; empty ones and files
    that cannot be read are left out. A symlinked ``CLAUDE.md`` that points to ``AGENTS.md`` is
    included once."""
    found: list[Instructions] = []
    seen: set[Path] = set()
    for rel in INSTRUCTION_FILES:
        path = root / rel
        try:
            real = path.resolve()
            if real in seen or not path.is_file():
                continue
            text = path.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            continue
        seen.add(real)
        if len(text) > MAX_INSTRUCTION_CHARS:
            cut = len(text) - MAX_INSTRUCTION_CHARS
            text = f"{text[:MAX_INSTRUCTION_CHARS]}\n[... {cut} more characters: read_file {rel} ...]"
        if text:
            found.append(Instructions(rel, text))
    return found


def instructions_section(instructions: Sequence[Instructions]) -> str:
    """The prompt section holding the project's instructions ("" when there are none)."""
    if not instructions:
        return ""
    parts = [
        "## Project instructions",
        "The maintainers of this repository wrote these instructions for coding agents. Follow them "
        "(build and test commands, conventions, things to avoid) unless the user's task says "
        "otherwise.",
    ]
    parts += [f'<instructions file="{item.path}">\n{item.text}\n</instructions>' for item in instructions]
    return "\n\n".join(parts)


def repo_map_section(repo_map: str) -> str:
    """The prompt section holding the repository map ("" when the map is empty)."""
    if not repo_map:
        return ""
    return (
        "## Repository map\n"
        "The most referenced definitions of this repository, most used first, by file "
        "(`line: signature`). It shows where things are; read a file before changing it.\n\n"
        f"{repo_map}"
    )


_NO_NETWORK = ("They reach no network: a server one command starts answers the next ones on "
               "localhost, but downloads (package installs, fetching dependencies) fail. When the "
               "task needs them, say so: the user can allow the network "
               "(for one command when approving it, or for the session with `--network`).")


def sandbox_section(sandbox: Any) -> str:
    """What the model should know about the OS sandbox its commands run in ("" when they are not
    confined): where they can write, and whether they reach the network."""
    if sandbox is None or not sandbox.confines:
        return ""
    network = "They can use the network." if sandbox.network else _NO_NETWORK
    return load_prompt("sandbox").replace("{network}", network)


def _workspace_section(workspace: Workspace) -> str:
    kind = "a git repository" if workspace.is_git else "not a git repository"
    return f"## Workspace\nRepository root: {workspace.root} ({kind}). Tool paths are relative to it."


def build_system_prompt(
    settings: Settings,
    workspace: Workspace,
    *,
    mode: str,
    repo_map: str | None = None,
    sandbox: Any = None,
) -> str:
    """The full system prompt of a session in ``mode``.

    Args:
        repo_map: the map to include; None builds it now (``Settings.map_tokens`` tokens at most,
            cached by modification time, so a second session in the same repository is fast).
        sandbox: the session's OS sandbox (``asyncfc_tools._sandbox.Sandbox``), if any.

    Raises:
        ConfigError: ``mode`` is not async, sync or serial.
    """
    futures = _mode(mode).rules.futures
    if repo_map is None:
        from .repomap import build_repo_map

        repo_map = build_repo_map(workspace.root, settings.map_tokens)
    sections = [
        load_prompt("system"),
        load_prompt("futures") if futures else "",
        _workspace_section(workspace),
        sandbox_section(sandbox),
        instructions_section(project_instructions(workspace.root)),
        repo_map_section(repo_map),
    ]
    return "\n\n".join(section for section in sections if section) + "\n"


def _mode(mode: str) -> Mode:
    """``mode`` as a ``Mode``; raises ConfigError naming the modes if it is none of them."""
    if mode not in MODES:
        raise ConfigError(f"mode {mode!r}; expected one of {', '.join(MODES)}")
    return Mode(mode)


def build_subagent_prompt(workspace: Workspace, *, mode: str) -> str:
    """What a sub-agent's conversation starts with: its own brief (``subagent.md``), the futures
    protocol in async mode, the workspace and the project's instructions; no repository map (a
    sub-agent is given a narrow task, and the map would be paid for once per sub-agent)."""
    sections = [
        load_prompt("subagent"),
        load_prompt("futures") if _mode(mode).rules.futures else "",
        _workspace_section(workspace),
        instructions_section(project_instructions(workspace.root)),
    ]
    return "\n\n".join(section for section in sections if section) + "\n"
