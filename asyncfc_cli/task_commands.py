"""The tasks a ``/name ARGS`` line stands for, wherever it is typed (the TUI's prompt, or
``asyncfc run "/review"``): /init and /review (fixed prompts from ``asyncfc_prompts``), and custom
commands (``custom_commands``). Each is an ordinary task: the model does the work under the
session's approval policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from asyncfc_prompts import load_prompt

from .custom_commands import CustomCommand, expand
from .prompting import INSTRUCTION_FILES

__all__ = ["TASK_COMMANDS", "init_task", "review_task", "task_for"]

TASK_COMMANDS = ("init", "review")
"""The built-in commands that are tasks."""


def init_task(root: Path, notes: str) -> str:
    """The task /init sends: ``init.md``, told which instructions files the repository already has
    (the model improves AGENTS.md rather than starting over), and what the user added."""
    present = [rel for rel in INSTRUCTION_FILES if (root / rel).is_file()]
    if "AGENTS.md" in present:
        existing = ("`AGENTS.md` exists already: read it first and improve it (keep what is right, fix "
                    "what is stale, add what is missing) rather than starting over.\n")
    elif present:
        named = ", ".join(f"`{rel}`" for rel in present)
        existing = (f"The repository has {named} but no `AGENTS.md`: read {'it' if len(present) == 1 else 'them'} "
                    "first and carry over what is right; leave those files as they are.\n")
    else:
        existing = ""
    task = load_prompt("init").replace("{existing}", existing)
    return f"{task}\n\nThe user adds: {notes}" if notes else task


def review_task(focus: str) -> str:
    """The task /review sends: ``review.md``, with what the user asks it to focus on."""
    return load_prompt("review").replace("{focus}", f"\nThe user asks you to focus on: {focus}" if focus else "").rstrip()


def task_for(name: str, argument: str, root: Path, custom: Mapping[str, CustomCommand]) -> str | None:
    """The task ``/name argument`` sends, or None when ``name`` is neither a task command nor one
    of the ``custom`` commands."""
    if name == "init":
        return init_task(root, argument)
    if name == "review":
        return review_task(argument)
    command = custom.get(name)
    return expand(command, argument) if command is not None else None
