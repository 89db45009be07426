"""The sub-agents of a scripted model: each plays the ``agent:`` script of its parent's call step.

Wiring, like ``app.py``: ``subagent.py`` runs sub-agents with whatever ``KitFactory`` it is handed
and never knows a concrete model client; this is the factory for a scripted parent, which
``app.build_engine`` and the scripted harness (``testing/harness.py``) hand it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from asyncfc_tools import ToolError, ToolSpec

from .model.base import ToolCall
from .model.scripted import ScriptedClient
from .simtools import simulated_tools
from .subagent import KitFactory, SubAgentKit

__all__ = ["scripted_kit"]


def scripted_kit(
    parent: ScriptedClient,
    candidates: Callable[[], Mapping[str, ToolSpec]],
    *,
    simulate_from: Mapping[str, ToolSpec] | None = None,
) -> KitFactory:
    """Sub-agents of a scripted parent: each plays the ``agent:`` script of its call step, at the
    parent's speed, with the parent's tools, or (``simulate_from``: real specs to copy) tools
    simulated from that script, as the benchmark runs them."""

    def kit(call: ToolCall) -> SubAgentKit:
        step = parent.scenario.step_for_call_id(call.call_id)
        if step is None or step.agent is None:
            raise ToolError("the scripted model has no script for this sub-agent: give its agent call "
                            "step an `agent:` scenario")
        tools = simulated_tools(step.agent, simulate_from) if simulate_from is not None else candidates()
        return SubAgentKit(ScriptedClient(step.agent, parent.profile), tools)

    return kit
