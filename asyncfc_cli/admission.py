"""Admission: what a tool call is and what it must wait for, decided before it runs.

Pure (no event loop, no I/O beyond what a tool's effect declaration reads to resolve paths): the
scheduler calls ``admit`` when a call arrives and builds its future from the answer, so the rules
that keep concurrent calls equal to running them one at a time in issue order are tested here on
plain values (``tests/test_admission.py``).

A call waits for two kinds of earlier futures:

- its *dependencies*: the futures its arguments name as ``$fN``, whose values are substituted in;
- its *conflicts*: every earlier unfinished call whose effect conflicts with its own
  (``Effect.conflicts_with``), or every earlier unfinished call at all in serial mode.

A call that cannot run (arguments that are not one JSON object, an unknown tool, a reference to no
earlier future) is admitted with a ``problem``: the scheduler fails its future with that text, which
tells the model what went wrong.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asyncfc_tools import Effect, ToolSpec

from .futures import ToolCall, earlier_ids, find_refs, future_number, unresolved_refs

__all__ = ["Admission", "admit", "conflicts", "not_earlier", "parse_arguments"]


@dataclass(frozen=True, slots=True)
class Admission:
    """What a call is and what it waits for."""

    args: Any
    """Parsed arguments (before ``$fN`` substitution), or None if they were not valid JSON."""
    spec: ToolSpec | None
    """The tool, or None if the model named no known tool."""
    effect: Effect
    """What the call may observe or change (pure for a call that cannot run)."""
    deps: tuple[str, ...] = ()
    """The futures whose values its arguments name (``$fN``)."""
    waits_on: tuple[str, ...] = ()
    """The earlier unfinished futures it conflicts with (all of them in serial mode)."""
    problem: str | None = None
    """Why the call cannot run, in words for the model; None if it can."""


def admit(
    call: ToolCall,
    fid: str,
    tools: Mapping[str, ToolSpec],
    *,
    known: Iterable[str],
    unfinished: Mapping[str, Effect],
    serial: bool = False,
    root: Path | None = None,
) -> Admission:
    """Admit ``call`` as the future ``fid``.

    Args:
        call: the call as the model sent it.
        fid: the id the call's future gets.
        tools: the tools the model may call, by name.
        known: the ids of every future created so far (references may name only earlier ones).
        unfinished: the effect of every unfinished earlier future, in issue order.
        serial: one call at a time: the call waits for every unfinished one.
        root: the workspace root a tool's effect resolves paths against.
    """
    args, problem = parse_arguments(call)
    spec = tools.get(call.name)
    if spec is None and problem is None:
        problem = f"unknown tool {call.name!r}; the available tools are: {', '.join(tools)}"
    deps: list[str] = []
    if problem is None and spec is not None and spec.context != "engine":
        # Engine built-ins take future ids as plain data, never as values to substitute.
        deps = find_refs(args)
        problem = _reference_problem(fid, deps, set(known))
    effect = spec.effect_of(unresolved_refs(args), root) if spec is not None and problem is None else Effect("pure")
    return Admission(args, spec, effect, tuple(deps), conflicts(effect, unfinished, serial=serial), problem)


def parse_arguments(call: ToolCall) -> tuple[Any, str | None]:
    """The call's arguments as a JSON object (empty text counts as ``{}``), or None and why not."""
    text = call.arguments.strip() or "{}"
    try:
        args = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, (
            f"malformed arguments for {call.name}: {exc.msg} at position {exc.pos}; "
            "arguments must be one JSON object"
        )
    if not isinstance(args, dict):
        return None, f"arguments for {call.name} must be a JSON object, got {type(args).__name__}"
    return args, None


def not_earlier(ids: Iterable[str], fid: str, known: Iterable[str]) -> list[str]:
    """The ids that do not name a ``known`` future created before ``fid`` (references and the
    engine built-ins may only name earlier calls)."""
    own = future_number(fid) or 0
    existing = set(known)
    return [i for i in ids if i not in existing or (future_number(i) or 0) >= own]


def _reference_problem(fid: str, deps: Iterable[str], known: Iterable[str]) -> str | None:
    bad = not_earlier(deps, fid, known)
    if not bad:
        return None
    return (
        f"bad reference ${bad[0]}: no such earlier future "
        f"(this call is {fid}; references must name an earlier call, {earlier_ids(fid)})"
    )


def conflicts(effect: Effect, unfinished: Mapping[str, Effect], *, serial: bool = False) -> tuple[str, ...]:
    """The unfinished futures a call with ``effect`` must wait for: every one in serial mode, else
    those whose effect conflicts with it (none for a pure call)."""
    if serial:
        return tuple(unfinished)
    if effect.kind == "pure":
        return ()
    return tuple(fid for fid, other in unfinished.items() if effect.conflicts_with(other))
