"""A tool as the engine sees it: ``ToolSpec`` (callable, schema, effect) and ``ToolFacts`` (what the
engine needs to know of it: approval preview, compaction's recall, durations), made by ``@tool``."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ._context import ToolContext
from ._effects import Effect, EffectSpec
from ._schema import derive_schema, validate_arguments


Preview = Callable[[ToolContext, Mapping[str, Any]], str]
"""How a tool shows a call to a person deciding on it (``ToolFacts.preview``)."""
DurationKey = Callable[[Mapping[str, Any]], str]
"""What refines a call's duration key beyond its tool's name (``ToolFacts.duration_key``)."""
RECALL = "call {tool} with {args} to see it again"
"""What compaction says of a removed output by default (``ToolFacts.recall``)."""
READ_AGAIN = "to see it again, call {tool} with {args}"
"""The recall of a tool that only reads: calling it again shows the output again."""


@dataclass(frozen=True, slots=True)
class ToolFacts:
    """What the engine needs to know of a tool beyond its schema and effect, declared with it
    (``@tool(...)``) so that no engine module branches on a tool's name."""

    preview: Preview | None = None
    """How a person deciding on a call sees it (a diff, a command line); None: the tool's name
    and its arguments (``ToolSpec.describe``). May read files: called from a worker thread."""
    runs_command: bool = False
    """Whether the call runs a command the OS sandbox confines (so approval may let one call reach
    the network where the sandbox keeps the session off it)."""
    recall: str = RECALL
    """What compaction tells the model when it removes this call's output: how to get it back
    (``{tool}`` and ``{args}`` are filled in)."""
    duration_key: DurationKey | None = None
    """What, beyond the tool's name, predicts a call's duration: a suffix of its duration key
    (``ToolSpec.duration_key``; "" or None: the name alone)."""
    duration_priors: Mapping[str, str] = field(default_factory=dict)
    """The benchmark's measurements (``tool_latencies``, by measurement name) that are a fair first
    guess of a call's duration, by the duration key they stand for. Empty: the session learns the
    tool's durations as it goes (shell commands vary too much for a first guess)."""


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool as the engine sees it: callable, schema, effect and declared facts."""

    name: str
    """The name the model calls it by."""
    description: str
    """What it does, for the model (the docstring summary)."""
    parameters: Mapping[str, Any]
    """JSON schema of the arguments (an object schema)."""
    fn: Callable[..., Any]
    """The plain function; called as ``fn(ctx, **args)``."""
    effect: EffectSpec
    """Computes the call's effect from its arguments."""
    is_async: bool
    """Whether fn is ``async def`` (run on trio) or sync (run in a worker thread)."""
    context: Literal["workspace", "engine"] = "workspace"
    """What ctx is: a ToolContext, or (for await_future/cancel_future) the engine's own handle."""
    facts: ToolFacts = ToolFacts()
    """What the engine needs to know of it (approval preview, compaction's recall, durations)."""

    def schema(self) -> dict[str, Any]:
        """The OpenAI-style function schema the model is offered."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": dict(self.parameters),
            },
        }

    def describe(self, ctx: ToolContext, args: Mapping[str, Any]) -> str:
        """What a call will do, for a person deciding: the declared preview, else the arguments.
        A preview may read files: call this from a worker thread."""
        if self.facts.preview is not None:
            return self.facts.preview(ctx, args)
        return f"{self.name} {json.dumps(dict(args), ensure_ascii=False, default=str)}"

    def duration_key(self, args: Any) -> str:
        """What calls that take about as long as this one share: the tool's name, refined by its
        declared ``duration_key`` (a command's first words, a selection of tests)."""
        refine = self.facts.duration_key
        suffix = refine(args) if refine is not None and isinstance(args, Mapping) else ""
        return f"{self.name}:{suffix}" if suffix else self.name

    def effect_of(self, args: Mapping[str, Any], root: Path | None = None) -> Effect:
        """The effect of a call with these arguments."""
        return self.effect(args, root)

    def validate(self, args: Any) -> dict[str, Any]:
        """Check arguments against the schema and return them with harmless coercions applied.

        Raises:
            ArgumentError: with a message naming the offending argument and what was expected.
        """
        return validate_arguments(self.name, self.parameters, args)


def tool(
    *,
    effect: EffectSpec,
    name: str | None = None,
    context: Literal["workspace", "engine"] = "workspace",
    preview: Preview | None = None,
    runs_command: bool = False,
    recall: str = RECALL,
    duration_key: DurationKey | None = None,
    duration_priors: Mapping[str, str] | None = None,
) -> Callable[[Callable[..., Any]], ToolSpec]:
    """Declare a plain function as a tool. See the module docstring; the keywords after ``context``
    are what the engine needs to know of it beyond its schema and effect (``ToolFacts``)."""
    facts = ToolFacts(preview=preview, runs_command=runs_command, recall=recall,
                      duration_key=duration_key, duration_priors=dict(duration_priors or {}))

    def wrap(fn: Callable[..., Any]) -> ToolSpec:
        description, parameters = derive_schema(fn)
        return ToolSpec(
            name=name or fn.__name__,
            description=description,
            parameters=parameters,
            fn=fn,
            effect=effect,
            is_async=inspect.iscoroutinefunction(fn),
            context=context,
            facts=facts,
        )

    return wrap
