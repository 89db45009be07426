"""The environment child processes get: the user's, minus provider keys and tokens."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

__all__ = ["NON_INTERACTIVE", "child_environment"]

NON_INTERACTIVE = {"PAGER": "cat", "GIT_PAGER": "cat", "GIT_TERMINAL_PROMPT": "0", "GIT_EDITOR": "true",
                   "PYTHONUNBUFFERED": "1"}
"""Set for every command the agent runs: nobody is at its terminal, so pagers, password prompts
and editors must not wait for a person (``git commit`` without ``-m`` aborts instead of hanging),
and Python programs print as they go (their output is shown live, not when their pipe's buffer
fills)."""

_KEY_VARIABLE = re.compile(r"(API_KEY|_API_TOKEN|_SECRET_KEY|ACCESS_KEY|_TOKEN|_SECRET)$")


def child_environment(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for commands the agent runs: ``env`` (default os.environ) minus keys.

    A command the model writes must never see the credentials asyncfc itself runs with.
    """
    env = os.environ if env is None else env
    return {k: v for k, v in env.items() if not _KEY_VARIABLE.search(k.upper())}
