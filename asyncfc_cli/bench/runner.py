"""Play one benchmark case (scenario x profile x mode) through the real engine and measure it.

Two clocks: ``virtual`` runs on ``trio.testing.MockClock(autojump_threshold=0)`` with simulated
tools (exact and instant: the tables and CI); ``real`` runs on the real clock, with simulated tools
that really sleep, or with the real tools (``real_tools=True``) in a fresh copy of the fixture
repository per run. Simulated tools carry the real tools' schemas and effects, so program order is
the same as with real tools; tools the workspace does not have (web and API tools of the BFCL
shapes) are simulated and pure in every mode.
"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio
import trio.testing

from asyncfc_tools import Effect, ToolSpec

from ..config import Mode, Settings
from ..events import BackgroundStarted, Event, FutureCreated, FutureFinished, FutureStarted, SessionFinished
from ..futures import unresolved_refs
from ..model.scripted import PROFILES, Profile, Scenario
from ..testing.harness import scenario_session
from .bound import EffectOf, critical_path_bound
from .fixture import make_fixture_repo
from .measure import python_command
from ..durations import duration_priors
from .simulate import bench_tools
from .suite import BenchScenario

__all__ = ["MODES", "CaseResult", "effect_function", "run_case", "with_measured_durations", "with_this_python"]

MODES = (Mode.SERIAL, Mode.SYNC, "sync-stream", Mode.ASYNC)
"""sync-stream is an ablation: sync turns, but calls start mid-stream as in async mode, which
separates what streaming dispatch gains from what the futures protocol gains."""


def mode_settings(mode: str, settings: Settings) -> tuple[Mode, Settings]:
    """The session mode and settings a benchmark mode stands for."""
    if mode == "sync-stream":
        return Mode.SYNC, settings.replace(dispatch="stream")
    return Mode(mode), settings


@dataclass(frozen=True, slots=True)
class CaseResult:
    """One measured run."""

    scenario: str
    group: str
    profile: str
    mode: str
    wall_s: float
    """Session time from start to session_finished."""
    bound_s: float
    """The critical-path lower bound of the scenario at this profile: the same for every mode on
    the virtual clock; on the real clock computed from the tool durations of this very run."""
    turns: int
    """Model requests."""
    tokens: int
    """Completion tokens decoded (await_future calls included)."""
    prompt_tokens: int
    exit_code: int
    clock: str = "virtual"
    tools: str = "simulated"
    early_wait: bool = True
    events: tuple[Event, ...] = field(default=(), repr=False, compare=False)
    startup_s: float | None = None
    """Over HTTP (``clock="http"``): the process's start-up and exit, measured apart; ``wall_s`` is
    then the engine's time, from the model's first reply to the end."""


def effect_function(tools: Mapping[str, ToolSpec], root: Path | None = None) -> EffectOf:
    """The bound's view of the tools' effect declarations (unknown tools are pure)."""

    def effect_of(tool: str, args: Mapping[str, Any]) -> Effect:
        spec = tools.get(tool)
        return spec.effect_of(unresolved_refs(args), root) if spec is not None else Effect("pure")

    return effect_of


def with_measured_durations(scenario: Scenario, events: Sequence[Event]) -> Scenario:
    """The scenario with each call's duration replaced by how long it really ran in ``events``
    (real-clock runs: the bound must be computed from the tools as they ran, not as scripted). A
    background call's duration is how long it took to be up, as scripted ones state it."""
    call_ids = {e.id: e.call_id for e in events if isinstance(e, FutureCreated)}
    started = {e.id: e.t for e in events if isinstance(e, FutureStarted)}
    up = {e.id: e.t - started.get(e.id, e.t) for e in events if isinstance(e, BackgroundStarted)}
    ran = {call_ids.get(e.id): up.get(e.id, e.duration) for e in events if isinstance(e, FutureFinished)}
    steps = list(scenario.steps)
    for call_id, duration in ran.items():
        index = call_id.split("_")[1] if call_id and call_id.startswith("call_") else ""
        if index.isdigit() and int(index) < len(steps) and steps[int(index)].kind == "call":
            steps[int(index)] = dataclasses.replace(steps[int(index)], duration=duration)
    return dataclasses.replace(scenario, steps=tuple(steps))


def with_this_python(scenario: Scenario) -> Scenario:
    """``python ...`` commands run with this interpreter (the fixture's tests need pytest)."""
    steps = tuple(
        dataclasses.replace(s, args={**s.args, "command": python_command(s.args["command"])})
        if s.kind == "call" and isinstance(s.args.get("command"), str) else s
        for s in scenario.steps
    )
    return dataclasses.replace(scenario, steps=steps)


async def _play(scenario: Scenario, profile: Profile, mode: str, real_tools: bool,
                root: Path, settings: Settings) -> tuple[list[Event], int]:
    tools = bench_tools(scenario, real_tools)
    mode, settings = mode_settings(mode, settings)
    run = scenario_session(scenario, mode=mode, profile=profile, tools=tools, root=root, settings=settings,
                           duration_priors=duration_priors(tools.values()), simulate_subagents=True)
    assert run.session is not None
    outcome = await run.session.run("scripted task")
    # The session's own events: sub-agents number their futures from f1 too.
    return [e for e in run.events if e.parent is None], outcome.exit_code


def run_case(
    bench: BenchScenario,
    profile: str,
    mode: str,
    *,
    clock: str = "virtual",
    real_tools: bool = False,
    early_wait: bool = True,
) -> CaseResult:
    """Run one case to its end (starts its own trio run) and measure it.

    Raises:
        ValueError: real tools on the virtual clock (subprocesses make virtual time jump).
    """
    if real_tools and clock != "real":
        raise ValueError("real tools need the real clock (--clock real)")
    scenario, prof = bench.scenario, PROFILES[profile]
    settings = Settings().replace(early_wait=early_wait, max_turns=200)
    with tempfile.TemporaryDirectory(prefix="asyncfc-bench-") as tmp:
        root = Path(tmp)
        if real_tools:
            root = make_fixture_repo(root / "shop")
            scenario = with_this_python(scenario)
        args = (scenario, prof, mode, real_tools, root, settings)
        if clock == "virtual":
            events, code = trio.run(_play, *args, clock=trio.testing.MockClock(autojump_threshold=0))
        else:
            events, code = trio.run(_play, *args)
    finished = next(e for e in reversed(events) if isinstance(e, SessionFinished))
    timed = bench.scenario if clock == "virtual" else with_measured_durations(bench.scenario, events)
    bound = critical_path_bound(timed, prof, effect_function(bench_tools(bench.scenario)))
    return CaseResult(
        bench.name, bench.group, profile, mode, finished.t, bound, finished.turns,
        int(finished.usage.get("completion_tokens", 0)), int(finished.usage.get("prompt_tokens", 0)),
        code, clock, "real" if real_tools else "simulated", early_wait, tuple(events),
    )


if __name__ == "__main__":  # a quick look: python -m asyncfc_cli.bench.runner SCENARIO [PROFILE]
    from .suite import load_bench_scenario

    case = load_bench_scenario(sys.argv[1])
    for m in MODES:
        r = run_case(case, sys.argv[2] if len(sys.argv) > 2 else "fast", m)
        print(f"{m:7} wall {r.wall_s:8.3f}  bound {r.bound_s:8.3f}  turns {r.turns}  tokens {r.tokens}")
