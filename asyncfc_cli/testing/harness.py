"""Run a scripted scenario through the real engine and collect its events: the seam the engine
tests, the benchmark and users' own tests share.

    result = await run_scenario(scenario, mode="async")   # inside trio (MockClock for exact times)
    result.outcome.exit_code, result.wall_s, result.of_type("future_started")
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asyncfc_tools import EffectSpec, ToolSpec, builtin_tools

from ..config import Settings
from ..events import Event, EventBus
from ..model.scripted import Profile, Scenario, ScriptedClient, parse_scenario
from ..scheduler import Gate
from ..scripted_subagents import scripted_kit
from ..session import Outcome, Session
from ..simtools import simulated_tools
from ..subagent import AGENT, attach_subagents
from ..workspace import Workspace

__all__ = ["ScenarioRun", "run_scenario", "scenario_session"]


@dataclass(slots=True)
class ScenarioRun:
    outcome: Outcome
    events: list[Event] = field(default_factory=list)
    session: Session | None = None

    @property
    def wall_s(self) -> float:
        """Session-clock time of the last event (session_finished)."""
        return self.events[-1].t if self.events else 0.0

    def of_type(self, kind: str) -> list[Any]:
        return [e for e in self.events if e.type == kind]

    def future(self, fid: str, kind: str) -> Any:
        """The first event of ``kind`` about future ``fid``."""
        return next(e for e in self.events if e.type == kind and getattr(e, "id", None) == fid)


def scenario_session(
    scenario: Scenario | Mapping[str, Any],
    *,
    mode: str = "async",
    profile: Profile | None = None,
    tools: Mapping[str, ToolSpec] | None = None,
    effects: Mapping[str, EffectSpec] | None = None,
    root: Path | None = None,
    settings: Settings | None = None,
    gate: Gate | None = None,
    duration_priors: Mapping[str, float] | None = None,
    simulate_subagents: bool | None = None,
) -> ScenarioRun:
    """A Session that plays ``scenario``, with its events collected into the returned run.

    Args:
        tools: real tools to use; default: simulated tools built from the scenario.
        effects: effect overrides for the simulated tools.
        root: workspace root (default: the current folder; simulated tools touch nothing).
        simulate_subagents: whether sub-agents (``agent`` steps with a script) get tools simulated
            from their script (default: when the parent's are) or the parent's tools.

    ``events`` holds the sub-agents' events too (those with a ``parent``).
    """
    if not isinstance(scenario, Scenario):
        scenario = parse_scenario(scenario)
    bus = EventBus()
    run = ScenarioRun(Outcome("", -1, ""))
    bus.subscribe(run.events.append, nested=True)
    settings = (settings or Settings()).replace(mode=mode, model=f"scripted:{scenario.name}")
    client = ScriptedClient(scenario, profile)
    run.session = Session(
        model=client,
        tools=tools if tools is not None else simulated_tools(scenario, effects=effects),
        bus=bus,
        settings=settings,
        workspace=Workspace(root or Path.cwd()),
        gate=gate,
        duration_priors=duration_priors,
    )
    if any(step.kind == "call" and step.tool == AGENT for step in scenario.steps):
        # Sub-agents play the scripts of their call steps (simulated tools when the parent's are).
        session = run.session
        simulate = tools is None if simulate_subagents is None else simulate_subagents
        kit = scripted_kit(client, lambda: session.tools, simulate_from=builtin_tools() if simulate else None)
        attach_subagents(session, kit, gate=gate)
    return run


async def run_scenario(
    scenario: Scenario | Mapping[str, Any], *, task: str = "scripted task", **options: Any
) -> ScenarioRun:
    """Play ``scenario`` through a real Session to its end (inside trio). Options as for
    ``scenario_session``."""
    run = scenario_session(scenario, **options)
    assert run.session is not None
    run.outcome = await run.session.run(task)
    return run
