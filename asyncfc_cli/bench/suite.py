"""The benchmark suite: its scenarios (package data), filled in with measured tool latencies.

A bench scenario is an ordinary scripted-model scenario (see ``asyncfc_cli.model.scripted``) with
extra keys: ``group`` (coding, calibrated, bfcl, adversarial or compound), ``http: true`` when its
commands are real in the fixture repository (so the HTTP mode plays it by default), and, on call
steps, ``latency``: which entry of the measured table (``latencies.py``) a call without an
explicit ``duration`` takes (default: its tool's name), also within a sub-agent's script
(``agent``). Explicit durations stand for project-specific commands (a 12 s test suite, a 40 s
integration run) and are explained in each file's header.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from ..errors import ScenarioError
from ..model.scripted import Scenario, parse_scenario
from ..tool_latencies import TOOL_LATENCIES

__all__ = ["BenchScenario", "GROUPS", "bench_scenario_names", "fill_latencies", "load_bench_scenario", "load_suite",
           "scale_durations"]

GROUPS = ("coding", "calibrated", "bfcl", "adversarial", "compound")
_PACKAGE = "asyncfc_cli.bench.scenarios"


@dataclass(frozen=True, slots=True)
class BenchScenario:
    scenario: Scenario
    group: str
    """coding, calibrated, bfcl, adversarial or compound (sub-agents investigate in parallel, then a
    change)."""
    http: bool = False
    """Its commands are real in the fixture repository: the HTTP mode plays it by default."""

    @property
    def name(self) -> str:
        return self.scenario.name


def bench_scenario_names() -> list[str]:
    folder = resources.files(_PACKAGE)
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def fill_latencies(data: Mapping[str, Any], table: Mapping[str, float] = TOOL_LATENCIES) -> dict[str, Any]:
    """A copy of scenario data where every call step without ``duration`` gets the measured latency
    named by its ``latency`` key (default: its tool).

    Raises:
        ScenarioError: the table has no such entry.
    """
    steps = []
    for raw in data.get("steps") or []:
        if isinstance(raw, Mapping) and "call" in raw and "duration" not in raw and "agent" not in raw:
            key = str(raw.get("latency", raw["call"]))
            if key not in table:
                raise ScenarioError(
                    f"{data.get('name')}: no measured latency {key!r} for a {raw['call']} call; "
                    f"give a duration or one of {sorted(table)}"
                )
            raw = {**raw, "duration": table[key]}
        if isinstance(raw, Mapping) and isinstance(raw.get("agent"), Mapping):
            raw = {**raw, "agent": fill_latencies({"name": data.get("name"), **raw["agent"]}, table)}
        steps.append(raw)
    return {**data, "steps": steps}


def scale_durations(scenario: Scenario, factor: float) -> Scenario:
    """The scenario with every call's duration multiplied by ``factor`` (what-if: slower tools)."""
    steps = tuple(dataclasses.replace(s, duration=s.duration * factor) if s.kind == "call" else s
                  for s in scenario.steps)
    return dataclasses.replace(scenario, steps=steps)


def load_bench_scenario(name: str, table: Mapping[str, float] = TOOL_LATENCIES) -> BenchScenario:
    import yaml

    resource = resources.files(_PACKAGE) / f"{name}.yaml"
    if not resource.is_file():
        raise ScenarioError(f"no bench scenario {name!r}; the suite has {', '.join(bench_scenario_names())}")
    data = yaml.safe_load(resource.read_text(encoding="utf-8"))
    group = str(data.get("group", "coding"))
    if group not in GROUPS:
        raise ScenarioError(f"{name}: group must be one of {GROUPS}, got {group!r}")
    return BenchScenario(parse_scenario(fill_latencies(data, table), name), group, data.get("http") is True)


def load_suite(names: list[str] | None = None, tool_scale: float = 1.0) -> list[BenchScenario]:
    """The named bench scenarios (default: all), in a stable order: coding, calibrated, bfcl,
    adversarial.

    Args:
        tool_scale: multiplies every tool duration (1: as measured and stated).
    """
    chosen = [load_bench_scenario(n) for n in (names or bench_scenario_names())]
    if tool_scale != 1.0:
        chosen = [dataclasses.replace(b, scenario=scale_durations(b.scenario, tool_scale)) for b in chosen]
    return sorted(chosen, key=lambda s: (GROUPS.index(s.group), s.name))
