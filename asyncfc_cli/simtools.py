"""Simulated tools: same names, schemas and effects as the real ones, but each call sleeps for the
duration its scenario step gives and returns the step's result (the step is found through the
scripted call id of the future the call runs as). A call with ``background: true`` comes up after
its duration, with its result as first output, and runs until stopped. With trio's MockClock they
make engine tests and the virtual-clock benchmark exact and instant."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import trio

from asyncfc_tools import EffectSpec, ToolContext, ToolError, ToolFacts, ToolSpec, builtin_tools, pure

from .model.scenario import Scenario
from .protocol_tools import engine_tools
from .scheduler import current_future

__all__ = ["simulated_tools"]

_OPEN_SCHEMA: Mapping[str, Any] = {"type": "object", "properties": {}, "additionalProperties": True}


def _simulator(scenario: Scenario, name: str):
    async def simulate(ctx: ToolContext, **args: Any) -> str:
        future = current_future()
        step = scenario.step_for_call_id(future.call.call_id) if future else None
        if step is None or step.kind != "call":
            raise ToolError(f"simulated {name}: this call is not part of scenario {scenario.name!r}")
        await trio.sleep(step.duration)
        if step.fails:
            raise ToolError(step.result)
        if args.get("background") is True:
            # A background process: ``duration`` is how long it takes to come up, ``result`` its
            # first output; it then runs until it is stopped.
            ctx.progress.started(step.result)
            await trio.sleep_forever()
        return step.result

    return simulate


def simulated_tools(
    scenario: Scenario,
    real: Mapping[str, ToolSpec] | None = None,
    effects: Mapping[str, EffectSpec] | None = None,
) -> dict[str, ToolSpec]:
    """A simulated tool for every tool the scenario calls (engine built-ins excluded).

    Args:
        scenario: where durations and results come from (matched by the scripted call ids).
        real: real specs to copy description, schema, effect and declared facts (``ToolFacts``)
            from, when the name matches; a built-in of that name lends its facts otherwise.
        effects: effect overrides by tool name (default: the real tool's, else pure).
    """
    protocol = set(engine_tools())
    names = dict.fromkeys(s.tool for s in scenario.steps if s.kind == "call" and s.tool not in protocol)
    builtin = builtin_tools()
    specs: dict[str, ToolSpec] = {}
    for name in names:
        base = (real or {}).get(name)
        effect = (effects or {}).get(name) or (base.effect if base else pure())
        # A simulated built-in is shown, recalled and timed like the real one, with or without ``real``.
        declared = base or builtin.get(name)
        specs[name] = ToolSpec(
            name=name,
            description=base.description if base else f"(simulated) {name}",
            parameters=base.parameters if base else _OPEN_SCHEMA,
            fn=_simulator(scenario, name),
            effect=effect,
            is_async=True,
            facts=declared.facts if declared else ToolFacts(),
        )
    return specs
