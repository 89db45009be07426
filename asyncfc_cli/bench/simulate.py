"""Simulated tools for the benchmark that honour ``$fN`` references.

``asyncfc_cli.simtools`` declares its simulations as engine built-ins (to learn which call they
serve), and the scheduler substitutes references only for workspace tools, so a dependent call
there starts at once. These simulations are ordinary workspace tools (real schema and effect, so
the scheduler waits for dependencies and conflicts), and find their scenario step through the
future they run as: the scheduler names each call's task ``future <id> <tool>`` and announces
``future_created(id, call_id)`` on the bus, which ``CallIndex`` records.
"""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from typing import Any

import trio

from asyncfc_tools import ToolContext, ToolSpec, builtin_tools

from ..events import Event, FutureCreated
from ..model.scripted import Scenario
from ..simtools import simulated_tools

__all__ = ["CallIndex", "bench_tools"]


class CallIndex:
    """Future id -> the provider call id it came from (subscribe it to the session's bus)."""

    def __init__(self) -> None:
        self.call_ids: dict[str, str] = {}

    def __call__(self, event: Event) -> None:
        if isinstance(event, FutureCreated):
            self.call_ids[event.id] = event.call_id


def _as_workspace_tool(spec: ToolSpec, index: CallIndex) -> ToolSpec:
    """The simulation ``spec`` runs, as a workspace tool that finds its call id through the index."""
    simulate_as_builtin = spec.fn

    async def simulate(ctx: ToolContext, **args: Any) -> str:
        task_name = trio.lowlevel.current_task().name
        fid = task_name.split()[1] if task_name.startswith("future ") else ""
        call = SimpleNamespace(call_id=index.call_ids.get(fid, ""))
        return await simulate_as_builtin(SimpleNamespace(record=SimpleNamespace(call=call)), **args)

    return dataclasses.replace(spec, fn=simulate, context="workspace")


def bench_tools(scenario: Scenario, index: CallIndex, real_tools: bool = False) -> dict[str, ToolSpec]:
    """A tool for every tool the scenario calls: simulated (real schema and effect; pure when the
    workspace has no such tool), or with ``real_tools`` the workspace's own where it has one."""
    real = builtin_tools()
    tools = {
        name: _as_workspace_tool(spec, index)
        for name, spec in simulated_tools(scenario, real=real).items()
    }
    if real_tools:
        tools.update({name: real[name] for name in tools if name in real})
    return tools
