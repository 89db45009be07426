"""A tool as the engine sees it: ``ToolSpec`` (callable, schema, effect) and ``ToolFacts`` (what the
engine needs to know of it: approval preview, compaction's recall, durations, how views show a call),
made by ``@tool``."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
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


class Display(StrEnum):
    """How views show a call of a tool beyond its name and arguments (``ToolFacts.display``).

    The engine copies it into ``future_created.display`` so that views, which see only events,
    decide from it (and from ``subject``) instead of from the tool's name."""

    CALL = "call"
    """Its name and arguments: the default (MCP tools, sub-agents, a call of an unknown tool)."""
    COMMAND = "command"
    """Runs the command line its subject holds: a view shows that line (``$ make``), and an allow
    rule may match a prefix of it. Its output streams while it runs and its result opens with its
    exit code and its own time (``exit code 0 (2.3s)``)."""
    TESTS = "tests"
    """Runs the project's tests or checks (a command the tool builds from its subject and other
    arguments); output and result as for COMMAND."""
    EDIT = "edit"
    """Replaces ``old`` with ``new`` in the file its subject names: a view shows the diff of the two.
    Its result holds the unified diff of the file."""
    WRITE = "write"
    """Writes the file its subject names whole (``content``). Its result holds the unified diff of
    the file, or says it created it (``created PATH (N lines, ...)``)."""

    @classmethod
    def of(cls, value: str) -> Display:
        """The display a recorded value names; CALL for one this version does not know (or "")."""
        try:
            return cls(value)
        except ValueError:
            return cls.CALL

    @property
    def opens_with_exit_code(self) -> bool:
        """Whether a call runs a command whose result opens with its exit code and own time."""
        return self in (Display.COMMAND, Display.TESTS)

    @property
    def changes_file(self) -> bool:
        """Whether a call's result holds the unified diff of the file it changed."""
        return self in (Display.EDIT, Display.WRITE)


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
    display: Display = Display.CALL
    """How views show a call (``Display``)."""
    subject: str = ""
    """The argument that says what a call is about (``path``, ``command``, ``pattern``, ``url``,
    ``task``...): the command line of a COMMAND, the file of an EDIT or WRITE. "" for none."""

    def command_line(self, args: Mapping[str, Any]) -> str | None:
        """The command line a call runs, for a tool whose display is COMMAND (its subject's value);
        None for any other tool (so no allow rule can match a prefix of its arguments)."""
        if self.display is not Display.COMMAND:
            return None
        return str(args.get(self.subject, ""))


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
    display: Display = Display.CALL,
    subject: str = "",
) -> Callable[[Callable[..., Any]], ToolSpec]:
    """Declare a plain function as a tool. See the module docstring; the keywords after ``context``
    are what the engine needs to know of it beyond its schema and effect (``ToolFacts``).

    Raises:
        TypeError: ``subject`` names no parameter of the function, or a display that shows its
            subject (COMMAND, EDIT, WRITE) has none.
    """
    facts = ToolFacts(preview=preview, runs_command=runs_command, recall=recall,
                      duration_key=duration_key, duration_priors=dict(duration_priors or {}),
                      display=display, subject=subject)

    def wrap(fn: Callable[..., Any]) -> ToolSpec:
        description, parameters = derive_schema(fn)
        _check_subject(name or fn.__name__, facts, parameters)
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


def _check_subject(name: str, facts: ToolFacts, parameters: Mapping[str, Any]) -> None:
    """A declared subject is one of the tool's parameters; a display that shows it has one."""
    if facts.subject and facts.subject not in parameters.get("properties", {}):
        raise TypeError(f"tool {name}: its subject {facts.subject!r} is not one of its parameters")
    if not facts.subject and facts.display in (Display.COMMAND, Display.EDIT, Display.WRITE):
        raise TypeError(f"tool {name}: display {facts.display.value} shows its subject; declare subject=")
