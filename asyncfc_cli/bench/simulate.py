"""The tools a benchmark case runs with: the engine's simulated tools (real schema and effect, the
scenario's durations and results), or with ``real_tools`` the workspace's own where it has one."""

from __future__ import annotations

from asyncfc_tools import ToolSpec, builtin_tools

from ..model.scripted import Scenario
from ..simtools import simulated_tools

__all__ = ["bench_tools"]


def bench_tools(scenario: Scenario, real_tools: bool = False) -> dict[str, ToolSpec]:
    """A tool for every tool the scenario calls: simulated (pure when the workspace has no such
    tool), or with ``real_tools`` the workspace's own where it has one."""
    real = builtin_tools()
    tools = simulated_tools(scenario, real=real)
    if real_tools:
        tools.update({name: real[name] for name in tools if name in real})
    return tools
