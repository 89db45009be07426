"""asyncfc's prompts, as package data (installed as ``asyncfc_prompts``).

``system.md`` is the system prompt of every mode; ``futures.md`` explains the futures protocol and
is added only in async mode (in sync and serial modes the model never sees a placeholder);
``sandbox.md`` is added when commands run in the OS sandbox.
``subagent.md`` is what a sub-agent (an ``agent`` call's nested session) starts with.
``compact.md`` is the system prompt of a summary request (``asyncfc_cli.summary``): the model
summarises the conversation, which it is given inside ``<conversation-to-summarise>`` tags
(``SUMMARY_TAG``). ``init.md`` and ``review.md`` are the tasks /init and /review send.
The text is read at run time, so editing a prompt needs no code change.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

__all__ = ["PROMPT_NAMES", "SUMMARY_TAG", "is_summary_request", "load_prompt"]

PROMPT_NAMES = ("system", "futures", "sandbox", "subagent", "compact", "init", "review")
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


SUMMARY_TAG = "conversation-to-summarise"
"""The tag a summary request wraps the conversation in: ``compact.md`` names it, and a scripted
model recognises a summary request by it (``is_summary_request``)."""


def is_summary_request(text: str) -> bool:
    """Whether ``text`` (a request's last user message) asks for a summary of a conversation: it
    opens with the ``SUMMARY_TAG`` element."""
    return text.startswith(f"<{SUMMARY_TAG}>")
