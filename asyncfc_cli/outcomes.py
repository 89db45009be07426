"""How a task ends: the ``Outcome`` record and the rules that produce one apart from finishing.

Pure (no event loop): the session's turn loop asks ``limit_reached`` before each request, and turns
an error or an interruption into an outcome with ``error_outcome`` and ``interruption``. An error's
outcome is its own (``AsyncfcError.outcome``), so start-up (``app.py``) and a running task report
the same error alike. A reply cut by the output limit is ``output_limit.py``'s.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import Settings
from .errors import EXIT_INTERRUPTED, EXIT_TERMINATED, EXIT_UNFINISHED, AsyncfcError, Ending

__all__ = ["Outcome", "cost_limit", "error_outcome", "first_error", "interruption", "limit_reached"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a task ended: what ``Session.run`` returns, and what its ``session_finished`` event
    reports."""

    outcome: str
    """An ``errors.Ending``: finished, turn_limit, cost_limit, output_limit, model_error,
    config_error or interrupted ("" only for a scenario not run yet, ``testing.harness``)."""
    exit_code: int
    """What the process exits with (``errors.EXIT_*``)."""
    message: str
    """For a person: the final answer, or why the task stopped and what to do about it."""


def first_error(group: BaseExceptionGroup[AsyncfcError]) -> AsyncfcError:
    """The first of the errors a group holds: ``except*`` keeps the nesting of trio's nurseries,
    so the group's first member may itself be a group."""
    first: BaseException = group
    while isinstance(first, BaseExceptionGroup):
        first = first.exceptions[0]
    assert isinstance(first, AsyncfcError)
    return first


def error_outcome(group: BaseExceptionGroup[AsyncfcError]) -> Outcome:
    """The outcome of a task stopped by an error of ours: the first error's own outcome."""
    error = first_error(group)
    return Outcome(error.outcome, error.exit_code, str(error))


def interruption(exit_code: int) -> Outcome:
    """The outcome of a task cancelled by Ctrl-C (130) or SIGTERM (143)."""
    if exit_code == EXIT_TERMINATED:
        return Outcome(Ending.INTERRUPTED, EXIT_TERMINATED, "terminated (SIGTERM): the task was cancelled")
    return Outcome(Ending.INTERRUPTED, EXIT_INTERRUPTED, "interrupted: the task was cancelled")


def limit_reached(settings: Settings, turns: int, spent: float) -> Outcome | None:
    """The outcome of a task that made ``turns`` requests and spent ``spent`` USD, if that reaches
    its turn or cost limit (exit 1, saying how to raise it); None while it may go on."""
    if turns >= settings.max_turns:
        return Outcome(
            Ending.TURN_LIMIT, EXIT_UNFINISHED,
            f"stopped: the turn limit was reached ({settings.max_turns} model requests); "
            "raise it with --max-turns N (or max_turns in .asyncfc.toml)",
        )
    if settings.max_cost is not None and spent >= settings.max_cost:
        return cost_limit(settings.max_cost, spent)
    return None


def cost_limit(max_cost: float, spent: float) -> Outcome:
    """The outcome of a task that spent ``spent`` USD of its ``max_cost`` (exit 1, saying how to
    raise it)."""
    return Outcome(
        Ending.COST_LIMIT, EXIT_UNFINISHED,
        f"stopped: the cost limit was reached (${spent:.4f} of ${max_cost:g}); "
        "raise it with --max-cost USD (or max_cost in .asyncfc.toml)",
    )
