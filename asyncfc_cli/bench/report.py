"""Benchmark arithmetic and output: speedups, efficiency, targets, the table and the JSON.

Pure functions over ``CaseResult`` values (no clock, no I/O) plus a progress bar that draws on
stderr only when it is a terminal.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from ..model.scripted import PROFILES
from .runner import CaseResult

__all__ = [
    "Progress",
    "Row",
    "Targets",
    "efficiency",
    "format_markdown",
    "format_table",
    "geomean",
    "rows",
    "speedup",
    "targets",
    "to_json",
]


def speedup(baseline_s: float, async_s: float) -> float:
    """How many times faster async is than the baseline (1.0 when both are 0)."""
    if async_s <= 0:
        return 1.0 if baseline_s <= 0 else math.inf
    return baseline_s / async_s


def efficiency(bound_s: float, async_s: float) -> float:
    """bound / async wall time: 1.0 means async reached the critical-path limit."""
    return 1.0 if async_s <= 0 else bound_s / async_s


def geomean(values: Iterable[float]) -> float:
    values = list(values)
    if not values:
        return math.nan
    return math.exp(sum(math.log(v) for v in values) / len(values))


@dataclass(frozen=True, slots=True)
class Row:
    """One scenario at one profile, with its run in each mode (None when not run)."""

    scenario: str
    group: str
    profile: str
    by_mode: dict[str, CaseResult]

    @property
    def bound_s(self) -> float:
        """The async run's bound (on the real clock, each run's tools took their own time)."""
        return (self.by_mode.get("async") or next(iter(self.by_mode.values()))).bound_s

    def wall(self, mode: str) -> float | None:
        case = self.by_mode.get(mode)
        return case.wall_s if case else None

    def ratio(self, baseline: str) -> float | None:
        base, fast = self.wall(baseline), self.wall("async")
        return None if base is None or fast is None else speedup(base, fast)

    @property
    def efficiency(self) -> float | None:
        fast = self.wall("async")
        return None if fast is None else efficiency(self.bound_s, fast)

    @property
    def startup_s(self) -> float | None:
        """Over HTTP: the mean start-up (and exit) of the row's processes."""
        values = [c.startup_s for c in self.by_mode.values() if c.startup_s is not None]
        return sum(values) / len(values) if values else None

    @property
    def ceiling(self) -> float | None:
        """sync wall / bound: the speedup over sync no engine can beat on this scenario."""
        base = self.wall("sync")
        return None if base is None else speedup(base, self.bound_s)


def rows(results: Sequence[CaseResult]) -> list[Row]:
    """Group results by (scenario, profile), in the order they first appear."""
    grouped: dict[tuple[str, str], Row] = {}
    for r in results:
        key = (r.scenario, r.profile)
        if key not in grouped:
            grouped[key] = Row(r.scenario, r.group, r.profile, {})
        grouped[key].by_mode[r.mode] = r
    return list(grouped.values())


@dataclass(frozen=True, slots=True)
class Targets:
    """The issue's targets, as reached."""

    coding_geomean_vs_sync: dict[str, float]
    """Per profile: geometric-mean speedup versus sync over the coding scenarios (target >= 1.5 fast)."""
    coding_geomean_vs_sync_stream: dict[str, float]
    """The same against the sync-stream ablation (what the futures protocol gains on its own)."""
    coding_geomean_ceiling: dict[str, float]
    """Per profile: geometric mean of sync / bound over the coding scenarios (no engine beats it)."""
    min_efficiency: float
    """Lowest bound / async wall over every row (target >= 0.9)."""
    worst_async_vs_sync: float
    """Highest async wall / sync wall over every row (target <= 1.02)."""


def _coding_geomeans(table: Sequence[Row], ratio_of: Callable[[Row], float | None]) -> dict[str, float]:
    """Per profile: the geometric mean of ``ratio_of(row)`` over the coding rows."""
    coding: dict[str, list[float]] = {}
    for row in table:
        ratio = ratio_of(row)
        if row.group == "coding" and ratio is not None:
            coding.setdefault(row.profile, []).append(ratio)
    return {p: geomean(v) for p, v in coding.items()}


def targets(table: Sequence[Row]) -> Targets:
    effs = [row.efficiency for row in table if row.efficiency is not None]
    slower = [1 / r for r in (row.ratio("sync") for row in table) if r]
    return Targets(
        _coding_geomeans(table, lambda row: row.ratio("sync")),
        _coding_geomeans(table, lambda row: row.ratio("sync-stream")),
        _coding_geomeans(table, lambda row: row.ceiling),
        min(effs, default=math.nan),
        max(slower, default=math.nan),
    )


def _num(value: float | None, fmt: str) -> str:
    """The value formatted, or "-" in the same width when there is none."""
    return format(value, fmt) if value is not None else "-".rjust(int(fmt.split(".")[0] or 0))


def format_table(results: Sequence[CaseResult]) -> str:
    """One table per profile, then the targets."""
    table = rows(results)
    out: list[str] = []
    for profile in dict.fromkeys(r.profile for r in table):
        prof = PROFILES[profile]
        first = next(r for r in results if r.profile == profile)
        http = first.startup_s is not None
        out.append(
            f"profile {profile} (ttft {prof.ttft_s:g} s, {prof.tokens_per_s:g} tok/s), "
            f"{first.clock} clock, {first.tools} tools"
            + (": a process per run through litellm over HTTP; times from the model's first reply to the end, "
               "start-up (process start to the first request sent, and exit) apart" if http else "")
        )
        out.append(
            f"{'scenario':24} {'group':11} {'serial s':>9} {'sync s':>8} {'sync+st s':>9} {'async s':>8} "
            f"{'bound s':>8} {'eff':>5} {'x sync':>7} {'max x':>6} {'x sync+st':>9} {'x serial':>8} {'turns s/y/a':>11} "
            f"{'tokens':>7}" + (f" {'start-up s':>10}" if http else "")
        )
        for row in (r for r in table if r.profile == profile):
            turns = "/".join(str(row.by_mode[m].turns) if m in row.by_mode else "-" for m in ("serial", "sync", "async"))
            tokens = row.by_mode.get("async") or next(iter(row.by_mode.values()))
            out.append(
                f"{row.scenario:24} {row.group:11} {_num(row.wall('serial'), '9.2f')} "
                f"{_num(row.wall('sync'), '8.2f')} {_num(row.wall('sync-stream'), '9.2f')} "
                f"{_num(row.wall('async'), '8.2f')} {row.bound_s:8.2f} "
                f"{_num(row.efficiency, '5.2f')} {_num(row.ratio('sync'), '7.2f')} {_num(row.ceiling, '6.2f')} "
                f"{_num(row.ratio('sync-stream'), '9.2f')} "
                f"{_num(row.ratio('serial'), '8.2f')} {turns:>11} {tokens.tokens:7d}"
                + (f" {_num(row.startup_s, '10.2f')}" if http else "")
            )
        out.append("")
    return "\n".join(out + _summary_lines(table))


def _summary_lines(table: Sequence[Row]) -> list[str]:
    """The targets as reached, one per line."""
    out: list[str] = []
    reached = targets(table)
    for profile, value in reached.coding_geomean_vs_sync.items():
        out.append(f"coding scenarios, {profile}: geometric-mean speedup vs sync {value:.2f}x (target >= 1.5x on fast)")
    for profile, value in reached.coding_geomean_ceiling.items():
        out.append(f"coding scenarios, {profile}: ceiling (sync / bound, no engine can beat it) {value:.2f}x")
    for profile, value in reached.coding_geomean_vs_sync_stream.items():
        out.append(f"coding scenarios, {profile}: geometric-mean speedup vs sync with streaming dispatch {value:.2f}x")
    out.append(f"lowest efficiency (bound / async): {reached.min_efficiency:.3f} (target >= 0.9)")
    out.append(f"worst async / sync wall time: {reached.worst_async_vs_sync:.3f} (target <= 1.02)")
    return out + _scenario_target_lines(table) + _calibrated_lines(table)


SCENARIO_TARGETS: tuple[tuple[str, str, str, float], ...] = (
    ("long_build_reads", "sync", "<=", 0.75),
    ("independent_commands", "serial", ">=", 2.6),
    ("fix_failing_test", "sync", "<=", 0.85),
)
"""Issue 13's targets over real HTTP, timed from the model's first reply: (scenario, baseline,
comparison, figure); ``<=`` is async / baseline, ``>=`` is baseline / async."""


_MARKDOWN_COLUMNS: tuple[tuple[str, Callable[[Row], float | None], str], ...] = (
    ("serial s", lambda row: row.wall("serial"), ".2f"),
    ("sync s", lambda row: row.wall("sync"), ".2f"),
    ("sync+stream s", lambda row: row.wall("sync-stream"), ".2f"),
    ("async s", lambda row: row.wall("async"), ".2f"),
    ("bound s", lambda row: row.bound_s, ".2f"),
    ("efficiency", lambda row: row.efficiency, ".2f"),
    ("× sync", lambda row: row.ratio("sync"), ".2f"),
    ("max × (sync / bound)", lambda row: row.ceiling, ".2f"),
    ("× sync+stream", lambda row: row.ratio("sync-stream"), ".2f"),
    ("× serial", lambda row: row.ratio("serial"), ".2f"),
    ("start-up s", lambda row: row.startup_s, ".2f"),
)


def format_markdown(results: Sequence[CaseResult]) -> str:
    """The tables as the README prints them (one per profile, columns no run filled left out), then
    the targets as reached."""
    table = rows(results)
    out: list[str] = []
    for profile in dict.fromkeys(r.profile for r in table):
        mine = [r for r in table if r.profile == profile]
        columns = [c for c in _MARKDOWN_COLUMNS if any(c[1](r) is not None for r in mine)]
        out += [f"**{profile} profile**", "",
                "| scenario | group | " + " | ".join(c[0] for c in columns) + " |",
                "|---|---|" + "---:|" * len(columns)]
        for row in mine:
            cells = ["-" if (v := c[1](row)) is None else format(v, c[2]) for c in columns]
            out.append(f"| {row.scenario} | {row.group} | " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out + ["```", *_summary_lines(table), "```"])


def _scenario_target_lines(table: Sequence[Row]) -> list[str]:
    lines = []
    for row in table:
        for name, baseline, sense, figure in SCENARIO_TARGETS:
            ratio = row.ratio(baseline) if row.scenario == name else None
            if ratio:
                value, what = (1 / ratio, f"async / {baseline}") if sense == "<=" else (ratio, f"{baseline} / async")
                lines.append(f"{name}, {row.profile}: {what} {value:.2f} "
                             f"(issue 13's target over HTTP at the fast profile: {sense} {figure:g})")
    return lines


def _calibrated_lines(table: Sequence[Row]) -> list[str]:
    """Per profile: the calibrated family's targets and how its sync runs compare with the public
    figures (which the family is calibrated on at the fast profile)."""
    from .calibration import family_figures, format_figures

    lines: list[str] = []
    for profile in dict.fromkeys(row.profile for row in table):
        family = [row for row in table if row.group == "calibrated" and row.profile == profile]
        if not family:
            continue
        reached = targets(family)
        lines.append(f"calibrated family, {profile}: lowest efficiency {reached.min_efficiency:.3f} (target >= 0.9), "
                     f"worst async / sync {reached.worst_async_vs_sync:.3f} (target <= 1)")
        runs = [row.by_mode["sync"].events for row in family if "sync" in row.by_mode and row.by_mode["sync"].events]
        if runs:
            lines.append(format_figures(family_figures(runs)))
    return lines


def _record(r: CaseResult, row: Row) -> dict[str, Any]:
    data: dict[str, Any] = {
        "scenario": r.scenario, "profile": r.profile, "mode": r.mode,
        "wall_s": round(r.wall_s, 6), "bound_s": round(r.bound_s, 6),
        "turns": r.turns, "tokens": r.tokens,
        "group": r.group, "prompt_tokens": r.prompt_tokens, "exit_code": r.exit_code,
        "clock": r.clock, "tools": r.tools, "early_wait": r.early_wait,
    }
    if r.startup_s is not None:
        data["startup_s"] = round(r.startup_s, 6)
    if r.mode == "async":
        data["efficiency"] = round(row.efficiency or 0.0, 6)
        for baseline in ("sync", "sync-stream", "serial"):
            ratio = row.ratio(baseline)
            if ratio is not None:
                data[f"speedup_vs_{baseline}"] = round(ratio, 6)
        if row.ceiling is not None:
            data["ceiling_vs_sync"] = round(row.ceiling, 6)
    return data


def to_json(results: Sequence[CaseResult], **extra: Any) -> dict[str, Any]:
    """``{"results": [{"scenario", "profile", "mode", "wall_s", "bound_s", "turns", "tokens", ...}]}``."""
    by_key = {(row.scenario, row.profile): row for row in rows(results)}
    data: dict[str, Any] = {"results": [_record(r, by_key[(r.scenario, r.profile)]) for r in results]}
    reached = targets(list(by_key.values()))
    data["targets"] = {
        "coding_geomean_speedup_vs_sync": reached.coding_geomean_vs_sync,
        "coding_geomean_speedup_vs_sync_stream": reached.coding_geomean_vs_sync_stream,
        "coding_geomean_ceiling_vs_sync": reached.coding_geomean_ceiling,
        "min_efficiency": reached.min_efficiency,
        "worst_async_over_sync": reached.worst_async_vs_sync,
    }
    data.update(extra)
    return data


class Progress:
    """A one-line progress bar on a terminal; silent when the stream is not one."""

    def __init__(self, total: int, stream: TextIO | None = None, width: int = 28) -> None:
        self.total, self.done, self.width = total, 0, width
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())

    def step(self, label: str) -> None:
        self.done += 1
        if not self.enabled:
            return
        filled = self.width * self.done // max(1, self.total)
        bar = "#" * filled + "." * (self.width - filled)
        self.stream.write(f"\r[{bar}] {self.done}/{self.total} {label[:40]:40}")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * (self.width + 56) + "\r")
            self.stream.flush()
