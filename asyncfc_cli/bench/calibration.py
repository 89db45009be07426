"""How the calibrated family compares with public figures of real sessions.

The figures (DESIGN.md, "Where time goes"; UW TraceLab, 357k model requests of real Claude Code and
Codex sessions): a model step of 4.9 s at the median, tool calls of 0.1 s at the median but 16.8 s
on average (about p90 10 s, p99 minutes: rare long builds, installs and test suites dominate), and
tool execution about 60% of request time. ``family_figures`` measures the same quantities on the
family's sync runs (one request at a time, every tool waited for: the shape the figures describe),
so the README can print them beside the targets and a test can keep the family calibrated.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from ..events import Event, FutureFinished, RequestFinished, RequestStarted
from ..futures import State

__all__ = ["PUBLIC", "FamilyFigures", "family_figures", "format_figures", "quantile"]


@dataclass(frozen=True, slots=True)
class FamilyFigures:
    """Pooled over a family's runs."""

    model_step_median_s: float
    """Median model request, from request_started to request_finished."""
    tool_p50_s: float
    tool_p90_s: float
    tool_p99_s: float
    tool_mean_s: float
    tool_share: float
    """Tool time / (tool time + model time), the calls' durations summed (sync runs: no overlap)."""
    calls: int
    steps: int


PUBLIC = FamilyFigures(4.9, 0.1, 10.0, 120.0, 16.8, 0.6, 0, 0)
"""The public figures, for comparison (p99 "minutes": 120 s stands for it)."""


def quantile(values: Sequence[float], q: float) -> float:
    """The nearest-rank quantile (q in [0, 1]) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def family_figures(runs: Sequence[Sequence[Event]]) -> FamilyFigures:
    """The figures of a family from the events of its runs (sync mode expected).

    Raises:
        ValueError: no tool call or no model request in ``runs``.
    """
    # Done calls only: a background server is cancelled at the end, its duration is the session's.
    durations = [e.duration for events in runs for e in events if isinstance(e, FutureFinished) and e.status == State.DONE]
    steps: list[float] = []
    for events in runs:
        started = {e.turn: e.t for e in events if isinstance(e, RequestStarted)}
        steps += [e.t - started[e.turn] for e in events if isinstance(e, RequestFinished) and e.turn in started]
    if not durations or not steps:
        raise ValueError("the runs have no tool call or no model request")
    tools, model = sum(durations), sum(steps)
    return FamilyFigures(
        statistics.median(steps), quantile(durations, 0.5), quantile(durations, 0.9), quantile(durations, 0.99),
        statistics.fmean(durations), tools / (tools + model), len(durations), len(steps),
    )


def format_figures(figures: FamilyFigures) -> str:
    """Two lines: the family's figures, and the public ones."""
    def line(label: str, f: FamilyFigures) -> str:
        return (f"  {label}: model step median {f.model_step_median_s:.1f} s; tool p50 {f.tool_p50_s:.2f} s, "
                f"p90 {f.tool_p90_s:.1f} s, p99 {f.tool_p99_s:.0f} s, mean {f.tool_mean_s:.1f} s; "
                f"tool share {f.tool_share:.0%}")
    return "\n".join([line(f"sync runs ({figures.calls} calls)", figures), line("public figures", PUBLIC)])
