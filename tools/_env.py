"""The environment child processes get: the user's, minus provider keys and tokens."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping

__all__ = ["NON_INTERACTIVE", "absolute_path", "child_environment", "command_environment", "find_program", "is_secret_name"]

NON_INTERACTIVE = {"PAGER": "cat", "GIT_PAGER": "cat", "GIT_TERMINAL_PROMPT": "0", "GIT_EDITOR": "true",
                   "PYTHONUNBUFFERED": "1"}
"""Set for every command the agent runs: nobody is at its terminal, so pagers, password prompts
and editors must not wait for a person (``git commit`` without ``-m`` aborts instead of hanging),
and Python programs print as they go (their output is shown live, not when their pipe's buffer
fills)."""

_SECRET_NAME = re.compile(r"(API_?KEY|_KEY|_TOKEN|_SECRET|PASSWORD|PASSWD|ACCESS_KEY|_PAT|_JWT|"
                          r"(?<!APPLICATION)_CREDENTIALS?)$|BEARER_TOKEN")
"""Credential names: a suffix (``*_API_KEY``, ``*_TOKEN``, ``VERTEXAI_CREDENTIALS`` holding a
service account's JSON, ``SNOWFLAKE_JWT``) or a bearer token anywhere (Bedrock's API key is
``AWS_BEARER_TOKEN_BEDROCK``). ``GOOGLE_APPLICATION_CREDENTIALS`` names a file, not a secret."""


def is_secret_name(name: str) -> bool:
    """Whether an environment variable's name says it holds a credential (``OPENAI_API_KEY``,
    ``GITHUB_TOKEN``, ``DB_PASSWORD``...). The one rule for both sides: such variables are left
    out of every command's environment, and their values are redacted from everything shown."""
    return _SECRET_NAME.search(name.upper()) is not None


def child_environment(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for commands the agent runs: ``env`` (default os.environ) minus keys.

    A command the model writes must never see the credentials asyncfc itself runs with.
    """
    env = os.environ if env is None else env
    return {k: v for k, v in env.items() if not is_secret_name(k)}


def command_environment(env: Mapping[str, str] | None) -> dict[str, str]:
    """The environment a command gets from a tool context's ``env``: a copy of it (the engine's,
    already without keys), or os.environ minus keys where there is none (``ToolContext.env``)."""
    return dict(env) if env is not None else child_environment()


def find_program(name: str, path: str | None = None) -> str | None:
    """Where ``name`` is on ``path`` (default $PATH), looking only in absolute folders: a relative
    entry (``bin``, ``./node_modules/.bin``, an empty one meaning the current folder) is resolved
    against the workspace, whose files are the repository's, and asyncfc's own programs (git for
    checkpoints and file listing, rg for grep, bwrap) run unasked, even under read-only."""
    return shutil.which(name, path=absolute_path(path))


def absolute_path(path: str | None = None) -> str:
    """``path`` (default $PATH) without its relative entries, for what asyncfc starts itself: a
    program found on it, and what that program looks up in turn, is never the workspace's own
    (``find_program``)."""
    path = os.environ.get("PATH", os.defpath) if path is None else path
    return os.pathsep.join(d for d in path.split(os.pathsep) if os.path.isabs(d))
