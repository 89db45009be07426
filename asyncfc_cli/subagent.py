"""Sub-agents: ``agent(task, tools?)`` runs a nested session whose final answer is the future's value.

A sub-agent is a ``Session`` of its own (own history, own futures ``f1``..., own turn and cost
budget: ``Settings.subagent_max_turns`` / ``subagent_max_cost``) on the parent's model or
``Settings.subagent_model``. It runs inside the parent's ``agent`` future, so everything the
futures protocol gives any call it gets too: several run at once while the parent goes on decoding,
its answer reaches the parent like any value, and ``cancel_future`` on it cancels its whole run
(its own futures included, their processes killed) because they all live in that future's scope.

Tools: by default the parent's tools that need no approval (reads, searches, read-only MCP tools);
``tools`` may grant more of the parent's tools by name, and every mutating call still goes through
the parent's approval gate (under its own id, ``f3/f1``), so a sub-agent can never do more than the
parent's policy allows. Sub-agents do not start sub-agents of their own.

Events: the nested session's events are published on the parent's bus with ``parent`` set to the
``agent`` future's id (only to subscribers that asked for nested events: the JSON-lines log and the
transcript show the tree); its requests' tokens and cost are charged to the parent as they happen.

Cost: the parent's ``max_cost`` bounds the parent and all its sub-agents together, not each
alone. Every sub-agent request is charged to the parent's task at once; when the task's spending
reaches the limit, every running sub-agent is stopped (``cost_limit``) and no new one starts, and
the parent stops at its next turn, as its own limit check says.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from asyncfc_tools import Effect, ToolContext, ToolError, ToolSpec, tool

from .config import Settings
from .errors import Ending
from .events import Event, EventBus, RequestFinished
from .model.base import ModelClient, ToolCall, Usage
from .outcomes import Outcome, cost_limit
from .protocol_tools import engine_tools
from .scheduler import EngineHandle, Gate, GateRequest, Grant
from .workspace import Workspace

if TYPE_CHECKING:
    from .context import ContextBudget
    from .session import Session

__all__ = ["AGENT", "KitFactory", "SubAgentKit", "SubAgents", "attach_subagents", "declare_agent",
           "default_tools", "select_tools"]

AGENT = "agent"


@dataclass(frozen=True, slots=True)
class SubAgentKit:
    """What one sub-agent runs with."""

    model: ModelClient
    tools: Mapping[str, ToolSpec]
    """The tools it may be given (the parent's, or a scripted run's simulated ones); ``select_tools``
    picks from them."""


KitFactory = Callable[[ToolCall], SubAgentKit]
"""The model and candidate tools for the sub-agent of one ``agent`` call, handed in by the wiring
(``app.py``: a real model's; ``scripted_subagents.scripted_kit``: a scripted parent finds its
sub-agent's script through the call's id). Raises ToolError when there is none."""


def default_tools(candidates: Mapping[str, ToolSpec]) -> dict[str, ToolSpec]:
    """The tools a sub-agent gets unasked: those no approval policy ever stops (reads, searches,
    read-only MCP tools), without the engine's own and without ``agent``."""
    return {name: spec for name, spec in candidates.items()
            if _grantable(name) and not spec.effect_of({}, None).needs_approval}


def select_tools(candidates: Mapping[str, ToolSpec], grants: Iterable[str] | None) -> dict[str, ToolSpec]:
    """The default tools plus the ``grants`` by name.

    Raises:
        ToolError: a granted name is not one of the candidates (or is ``agent``), listing them.
    """
    chosen = default_tools(candidates)
    for name in grants or ():
        if name in chosen:
            continue
        if name not in candidates or not _grantable(name):
            known = ", ".join(n for n in candidates if _grantable(n))
            raise ToolError(f"agent: cannot grant tool {name!r}; a sub-agent may be given any of: {known}")
        chosen[name] = candidates[name]
    return chosen


def _grantable(name: str) -> bool:
    return name != AGENT and name not in engine_tools()


Runner = Callable[[EngineHandle, str, "list[str] | None"], Awaitable[str]]
"""Runs one sub-agent to its end: (the agent future's handle, task, grants) -> final answer."""


def declare_agent(run: Runner, candidates: Callable[[], Mapping[str, ToolSpec]]) -> ToolSpec:
    """The ``agent`` tool, running each call with ``run``; ``candidates`` gives the tools a call
    may grant (its effect depends on them)."""

    def effect(args: Mapping[str, object], root: object) -> Effect:
        # Read-only by default: it waits for earlier writes and later writes wait for it. A grant
        # of anything that mutates makes it exclusive, like any command (and a change to approve).
        grants = args.get("tools")
        tools = candidates()
        if isinstance(grants, list) and any(
                isinstance(g, str) and g in tools and tools[g].effect_of({}, None).mutates for g in grants):
            return Effect("exclusive")
        return Effect("reads", (".",))

    @tool(effect=effect, context="engine", name=AGENT, subject="task")
    async def agent(handle: EngineHandle, task: str, tools: list[str] | None = None) -> str:
        """Start a sub-agent: a helper with its own context that works on a task and answers.

        Use it for independent questions about different parts of the code and for long
        investigations, so they run in parallel with you and with each other. Its final answer
        arrives like any other future's value. It can read and search (and use tools you grant);
        write the task so it can be done without asking you anything, and say what the answer
        should contain.

        Args:
            task: what the sub-agent should find out or do, self-contained.
            tools: extra tools to grant by name (e.g. ["shell"]); reads and searches are always
                given.
        """
        return await run(handle, task, tools)

    return agent


@dataclass(frozen=True, slots=True)
class _ChildGate:
    """The parent's gate, asked under ids that name the sub-agent (``f3/f1``), so a view answering
    an approval can never confuse the sub-agent's ``f1`` with the parent's."""

    gate: Gate
    parent: str

    async def admit(self, request: GateRequest) -> Grant | None:
        return await self.gate.admit(dataclasses.replace(request, future_id=f"{self.parent}/{request.future_id}"))


class SubAgents:
    """Runs the sub-agents of one session and declares its ``agent`` tool.

    Args:
        bus: the parent's bus (the nested events go there, with ``parent``).
        settings: the parent's settings; the sub-agent's budget comes from its ``subagent_*`` keys.
        workspace: shared with the parent.
        kit: the model and candidate tools for each ``agent`` call.
        charge: adds a sub-agent request's usage to the parent's totals and returns what the
            parent's task has spent so far, USD (``Session.charge``).
        spent: what the parent's task has spent so far, USD (``Session.task_cost``).
        gate: the parent's approval gate, or None (tests).
        system_prompt: what each sub-agent's conversation starts with.
        ctx: the tool context (default: the workspace's for ``settings``).
        context: makes each sub-agent's context budget (None: its history is sent whole).
    """

    def __init__(
        self,
        *,
        bus: EventBus,
        settings: Settings,
        workspace: Workspace,
        kit: KitFactory,
        charge: Callable[[Usage], float],
        spent: Callable[[], float],
        gate: Gate | None = None,
        system_prompt: str = "",
        ctx: ToolContext | None = None,
        context: Callable[[], ContextBudget] | None = None,
    ) -> None:
        self._bus = bus
        self._max_cost = settings.max_cost
        """The whole task's limit: the parent's and its sub-agents' spending together."""
        # Its own budget, never more than the whole task's (its spending counts there too).
        costs = [c for c in (settings.subagent_max_cost, settings.max_cost) if c is not None]
        self._settings = settings.replace(
            max_turns=settings.subagent_max_turns, max_cost=min(costs, default=None), transcript=None,
            ignored_repo_keys=(), repo_trust_notice="")  # the parent has said them
        self._workspace = workspace
        self._kit = kit
        self._charge = charge
        self._spent = spent
        self._gate = gate
        self._system_prompt = system_prompt
        self._ctx = ctx
        self._context = context
        self._running: dict[str, Session] = {}
        """The sub-agents running now, by the id of their agent future."""

    def tools(self, candidates: Callable[[], Mapping[str, ToolSpec]]) -> dict[str, ToolSpec]:
        """The ``agent`` tool, by name. ``candidates`` gives the parent's tools at call time (its
        effect depends on what a call grants)."""
        return {AGENT: declare_agent(self.run, candidates)}

    async def run(self, handle: EngineHandle, task: str, grants: list[str] | None) -> str:
        """Run one sub-agent to its end; its final answer, or ToolError saying why it stopped."""
        from .session import Session  # the session imports the scheduler; we are one of its tools

        fid = handle.record.id
        if (stop := self._budget_stop(self._spent())) is not None:
            raise ToolError(f"the sub-agent was not started: {stop.message}")
        kit = self._kit(handle.record.call)
        child_bus = EventBus()
        for secret in self._bus.secrets:  # a key paired with an endpoint stays out of its history too
            child_bus.keep_secret(secret)
        child_bus.subscribe(lambda event: self._forward(fid, event))
        child = Session(
            model=kit.model, tools=select_tools(kit.tools, grants), bus=child_bus,
            settings=self._settings, workspace=self._workspace, system_prompt=self._system_prompt,
            gate=_ChildGate(self._gate, fid) if self._gate is not None else None, ctx=self._ctx,
            context=self._context() if self._context is not None else None,
        )
        self._running[fid] = child
        try:
            outcome = await child.run(task)
        finally:
            del self._running[fid]
        if outcome.outcome == Ending.FINISHED:
            return outcome.message
        raise ToolError(f"the sub-agent stopped without finishing ({outcome.outcome}): {outcome.message}")

    def cancel(self, parent: str, future_id: str) -> None:
        """Cancel the future ``future_id`` of the sub-agent that the future ``parent`` runs (the
        user's cancel of a lane ``parent/future_id``); nothing if it is not running."""
        child = self._running.get(parent)
        if child is not None:
            child.cancel_future(future_id)

    def _forward(self, fid: str, event: Event) -> None:
        if isinstance(event, RequestFinished):
            spent = self._charge(Usage(event.usage.get("prompt_tokens", 0),
                                       event.usage.get("completion_tokens", 0), event.cost))
            if (stop := self._budget_stop(spent)) is not None:
                for child in self._running.values():  # the one that spent it and all the others
                    child.cancel_turn(outcome=stop)
        self._bus.publish(dataclasses.replace(event, t=self._bus.now(), parent=fid))

    def _budget_stop(self, spent: float) -> Outcome | None:
        """The outcome that stops the sub-agents once the whole task has spent ``spent`` USD, or
        None while that is under the parent's cost limit."""
        if self._max_cost is None or spent < self._max_cost:
            return None
        return cost_limit(self._max_cost, spent)


def attach_subagents(session: Session, kit: KitFactory, *, gate: Gate | None = None, system_prompt: str = "",
                     context: Callable[[], ContextBudget] | None = None, ctx: ToolContext | None = None) -> None:
    """Offer ``agent`` in ``session``: its sub-agents run with ``kit`` under ``gate`` (the
    session's own approval gate) in ``ctx`` (the session's own tool context: its sandbox too),
    and are charged to it."""
    agents = SubAgents(bus=session.bus, settings=session.settings, workspace=session.workspace, kit=kit,
                       charge=session.charge, spent=lambda: session.task_cost, gate=gate, system_prompt=system_prompt, context=context, ctx=ctx)
    session.add_tools(agents.tools(lambda: session.tools))
    session.nested_cancel = agents.cancel
