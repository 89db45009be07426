"""asyncfc's prompts, as package data (installed as ``asyncfc_prompts``).

``system.md`` is the system prompt of every mode; ``futures.md`` explains the futures protocol and
is added only in async mode (in sync and serial modes the model never sees a placeholder);
``sandbox.md`` is added when commands run in the OS sandbox.
``subagent.md`` is what a sub-agent (an ``agent`` call's nested session) starts with. ``init.md``
and ``review.md`` are the tasks the TUI's /init and /review send. The text
is read at run time, so editing a prompt needs no code change.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

__all__ = ["PROMPT_NAMES", "load_prompt"]

PROMPT_NAMES = ("system", "futures", "sandbox", "subagent", "init", "review")
"""The prompts this package ships, by name (file ``<name>.md``)."""


@cache
def load_prompt(name: str) -> str:
    """The text of the prompt ``name`` (one of PROMPT_NAMES), without its trailing newline.

    Raises:
        KeyError: ``name`` is not a prompt we ship.
    """
    if name not in PROMPT_NAMES:
        raise KeyError(f"no prompt named {name!r}; known: {', '.join(PROMPT_NAMES)}")
    return resources.files(__name__).joinpath(f"{name}.md").read_text(encoding="utf-8").rstrip("\n")
