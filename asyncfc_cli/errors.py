"""The one exception hierarchy of asyncfc.

    AsyncfcError                     anything we raise on purpose; carries a message a user can act on
    ├── ConfigError                  bad flag, env var, .asyncfc.toml key or value      -> exit 2
    ├── ModelError                   the model or provider failed for good              -> exit 3
    │   └── ProviderError            an HTTP/provider failure after retries (status, retryable)
    ├── ScenarioError                a scripted scenario file is invalid or got stuck   -> exit 2
    ├── WorkspaceError               no usable workspace root, git unusable for an operation
    └── CheckpointError              a checkpoint could not be made or restored

    ToolError                        (defined in asyncfc_tools, which must not import us) a tool
    └── PathOutsideWorkspace         refused or failed; the message becomes the future's failure text

Third-party exceptions (litellm, gitpython, tree-sitter) are translated into these at their adapter
module and nowhere else. Each error class carries the exit code and the outcome a session that it
stops ends with (``session_finished``), so start-up and a running task report it alike. How a run
may end (``Ending``) is named here, beside the exit codes, because the errors carry it and this
module is below everything; ``outcomes.py`` decides the endings that are not errors.
"""

from __future__ import annotations

from enum import StrEnum

from asyncfc_tools._api import PathOutsideWorkspace, ToolError

__all__ = [
    "AsyncfcError",
    "CheckpointError",
    "ConfigError",
    "ModelError",
    "PathOutsideWorkspace",
    "ProviderError",
    "ScenarioError",
    "ToolError",
    "WorkspaceError",
    "Ending",
    "EXIT_OK",
    "EXIT_UNFINISHED",
    "EXIT_USAGE",
    "EXIT_MODEL",
    "EXIT_INTERRUPTED",
    "EXIT_TERMINATED",
]

EXIT_OK = 0
"""The task finished."""
EXIT_UNFINISHED = 1
"""The agent stopped without finishing: turn or cost limit, the model gave up, or its replies kept
being cut by the output limit."""
EXIT_USAGE = 2
"""Usage or configuration error."""
EXIT_MODEL = 3
"""Model or provider error."""
EXIT_INTERRUPTED = 130
"""Interrupted by the user (Ctrl-C)."""
EXIT_TERMINATED = 143
"""Stopped by SIGTERM (128 + 15), after the same clean-up as Ctrl-C."""


class Ending(StrEnum):
    """How a task ended: ``outcomes.Outcome.outcome`` and ``session_finished.outcome``."""

    FINISHED = "finished"
    """The model answered with nothing left in flight (exit 0)."""
    TURN_LIMIT = "turn_limit"
    COST_LIMIT = "cost_limit"
    OUTPUT_LIMIT = "output_limit"
    """Its replies kept being cut by the output limit."""
    MODEL_ERROR = "model_error"
    """The model or provider failed for good (exit 3)."""
    CONFIG_ERROR = "config_error"
    """A usage or setup problem (exit 2)."""
    INTERRUPTED = "interrupted"
    """Ctrl-C (130) or SIGTERM (143)."""


class AsyncfcError(Exception):
    """Base of every error asyncfc raises on purpose. ``str(err)`` is the user-facing message."""

    exit_code: int = EXIT_USAGE
    outcome: Ending = Ending.CONFIG_ERROR
    """What ``session_finished`` says a session this error stopped ended with: ``config_error``
    for a usage or setup problem (exit 2), ``model_error`` for the model or provider (exit 3)."""


class ConfigError(AsyncfcError):
    """A flag, environment variable or config file entry is missing or invalid."""

    exit_code = EXIT_USAGE


class ScenarioError(AsyncfcError):
    """A scripted-model scenario is malformed, or the script cannot continue from what it was shown."""

    exit_code = EXIT_USAGE


class ModelError(AsyncfcError):
    """The model could not produce a response; the session stops with exit code 3."""

    exit_code = EXIT_MODEL
    outcome = Ending.MODEL_ERROR


class ProviderError(ModelError):
    """An HTTP or provider failure.

    Attributes:
        status: the HTTP status if there was one.
        retryable: whether another attempt may succeed (429, 5xx, connection errors, timeouts).
        retry_after: seconds the provider asked us to wait, if it said.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after


class WorkspaceError(AsyncfcError):
    """The workspace cannot be used for what was asked (no root, git missing, ...)."""


class CheckpointError(AsyncfcError):
    """A git checkpoint could not be recorded or restored."""
