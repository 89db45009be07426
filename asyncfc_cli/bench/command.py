"""``asyncfc bench``: run the suite and print the table or JSON; draw the Gantt picture; measure the
scheduler's overhead. The CLI function only parses flags and calls ``run_bench``."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from ..errors import EXIT_OK, EXIT_USAGE
from ..model.scripted import PROFILES
from .report import Progress, format_markdown, format_table, to_json
from .runner import MODES, CaseResult, run_case
from .suite import BenchScenario, load_bench_scenario, load_suite

CLOCKS = ("virtual", "real", "http")
"""virtual: MockClock, simulated tools; real: the real clock; http: a process per run through
litellm over HTTP against the local server, real tools (``http.py``)."""

__all__ = ["run_bench", "run_suite", "early_wait_ablation"]


def run_suite(
    suite: Sequence[BenchScenario],
    profiles: Sequence[str],
    modes: Sequence[str] = MODES,
    *,
    clock: str = "virtual",
    real_tools: bool = False,
    early_wait: bool = True,
    repeat: int = 1,
    progress: Progress | None = None,
) -> list[CaseResult]:
    """Every scenario x profile x mode, in that order; with ``repeat`` > 1 each case runs that
    many times and its median run (by wall time) is kept (the real clocks are noisy)."""
    results: list[CaseResult] = []
    for profile in profiles:
        for bench in suite:
            for mode in modes:
                runs = sorted((_run_one(bench, profile, mode, clock, real_tools, early_wait)
                               for _ in range(max(1, repeat))), key=lambda r: r.wall_s)
                results.append(runs[(len(runs) - 1) // 2])
                if progress is not None:
                    progress.step(f"{bench.name} {profile} {mode}")
    return results


def _run_one(bench: BenchScenario, profile: str, mode: str, clock: str, real_tools: bool,
             early_wait: bool) -> CaseResult:
    if clock == "http":
        from .http import run_http_case

        return run_http_case(bench, profile, mode)
    return run_case(bench, profile, mode, clock=clock, real_tools=real_tools, early_wait=early_wait)


def early_wait_ablation(results: Sequence[CaseResult], off: Sequence[CaseResult]) -> list[dict]:
    """Async wall time with the early_wait policy on (``results``) and off (``off``), per case."""
    on = {(r.scenario, r.profile): r for r in results if r.mode == "async"}
    rows = []
    for r in off:
        if (r.scenario, r.profile) in on:
            wall_on = on[(r.scenario, r.profile)].wall_s
            rows.append({"scenario": r.scenario, "profile": r.profile, "wall_on_s": round(wall_on, 6),
                         "wall_off_s": round(r.wall_s, 6), "turns_on": on[(r.scenario, r.profile)].turns,
                         "turns_off": r.turns})
    return rows


def _format_ablation(rows: Sequence[dict]) -> str:
    lines = ["early_wait policy (async wall time, s): on vs off",
             f"{'scenario':24} {'profile':7} {'on':>8} {'off':>8} {'off/on':>7} {'turns on/off':>12}"]
    for r in rows:
        ratio = r["wall_off_s"] / r["wall_on_s"] if r["wall_on_s"] else 1.0
        lines.append(f"{r['scenario']:24} {r['profile']:7} {r['wall_on_s']:8.2f} {r['wall_off_s']:8.2f} "
                     f"{ratio:7.3f} {str(r['turns_on']) + '/' + str(r['turns_off']):>12}")
    return "\n".join(lines)


def _check(names: Sequence[str], known: Sequence[str], what: str) -> str | None:
    bad = [n for n in names if n not in known]
    return f"unknown {what} {', '.join(bad)}; choose from {', '.join(known)}" if bad else None


def _http_flags_problem(ablation: bool, plot: Path | None, overhead: bool) -> str | None:
    """Why the HTTP clock cannot run what the flags ask for, or None (its scenarios are checked
    once their suite is loaded, ``_http_suite``)."""
    if ablation or plot is not None or overhead:
        return "--clock http runs the table only (no --plot, --overhead or --early-wait-ablation)"
    return None


def _http_suite(suite: Sequence[BenchScenario], named: bool) -> tuple[list[BenchScenario], str | None]:
    """The scenarios the HTTP clock plays (the named ones, else those marked ``http: true``), or
    why one of them cannot be played: the one check, before any case runs."""
    from .http import http_problem

    chosen = [b for b in suite if named or b.http]
    why = next((why for why in map(http_problem, chosen) if why), None)
    return chosen, (f"{why}; --clock http plays scenarios whose calls are all real tools" if why else None)


def run_bench(
    *,
    scenarios: Sequence[str] = (),
    profiles: Sequence[str] = ("fast", "slow"),
    modes: Sequence[str] = MODES,
    clock: str = "virtual",
    tools: str = "simulated",
    as_json: bool = False,
    markdown: bool = False,
    plot: Path | None = None,
    plot_scenario: str = "fix_failing_test",
    plot_profile: str = "fast",
    ablation: bool = False,
    overhead: bool = False,
    overhead_count: int = 10_000,
    tool_scale: float = 1.0,
    repeat: int = 1,
) -> int:
    """Run what the flags ask for and print it. Returns the exit code."""
    problem = (_check(profiles, list(PROFILES), "profile") or _check(modes, MODES, "mode")
               or (None if clock in CLOCKS else f"unknown clock {clock}; one of {', '.join(CLOCKS)}")
               or (None if tools in ("simulated", "real") else f"unknown tools {tools}; simulated or real"))
    if tools == "real" and clock == "virtual":
        problem = "--tools real needs --clock real (subprocesses make virtual time jump)"
    if repeat < 1:
        problem = f"--repeat must be at least 1, got {repeat}"
    if not tool_scale > 0:
        problem = f"--tool-scale must be positive, got {tool_scale:g}"
    elif tool_scale != 1.0 and (tools == "real" or clock == "http"):
        problem = "--tool-scale applies to simulated tools only (real tools take the time they take)"
    if clock == "http" and not problem:
        problem = _http_flags_problem(ablation, plot, overhead)
    if problem:
        print(f"asyncfc bench: {problem}", file=sys.stderr)
        return EXIT_USAGE
    if overhead:
        from .overhead import format_overhead, run_overhead

        report = run_overhead(overhead_count)
        print(json.dumps(report, indent=2) if as_json else format_overhead(report))
        return EXIT_OK
    if plot is not None:
        from .plot import write_plot

        bench = load_bench_scenario(plot_scenario)
        cases = [run_case(bench, plot_profile, mode, clock=clock, real_tools=tools == "real")
                 for mode in ("sync", "async")]
        write_plot(cases, plot)
        print(f"wrote {plot}: {plot_scenario} at profile {plot_profile}, sync above async", file=sys.stderr)
        return EXIT_OK
    suite = load_suite(list(scenarios) or None, tool_scale)
    if clock == "http":
        from .http import HTTP_MODES

        suite, problem = _http_suite(suite, bool(scenarios))
        if problem:
            print(f"asyncfc bench: {problem}", file=sys.stderr)
            return EXIT_USAGE
        modes = [m for m in modes if m in HTTP_MODES]
    total = len(suite) * len(profiles) * (len(modes) + (1 if ablation else 0))
    progress = Progress(total)
    options = {"clock": clock, "real_tools": tools == "real", "progress": progress, "repeat": repeat}
    results = run_suite(suite, profiles, modes, **options)
    ablation_rows = None
    if ablation:
        off = run_suite(suite, profiles, ("async",), early_wait=False, **options)
        ablation_rows = early_wait_ablation(results, off)
    progress.close()
    if as_json:
        extra: dict = {"early_wait_ablation": ablation_rows} if ablation_rows is not None else {}
        if tool_scale != 1.0:
            extra["tool_scale"] = tool_scale
        print(json.dumps(to_json(results, **extra), indent=2))
    else:
        if tool_scale != 1.0:
            print(f"every tool duration x {tool_scale:g} (what-if)")
        print(format_markdown(results) if markdown else format_table(results))
        if ablation_rows is not None:
            print("\n" + _format_ablation(ablation_rows))
    return EXIT_OK
