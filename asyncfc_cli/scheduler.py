"""Runs tool calls as futures in a nursery of its own.

Calls run inside ``async with scheduler.serving():`` (one block per task of a session); the block
owns their tasks, and the calls still running when it ends are cancelled with it, as a trio nursery
does. ``submit`` is synchronous and never blocks: it gives the call its id, learns from
``admission.admit`` what it must wait for (its ``$fN`` data dependencies, and every earlier
unfinished call whose effect conflicts with its own, which keeps the observable effects equal to
running the calls one at a time in issue order), and starts a task for it. The task waits,
substitutes dependency values, asks the gate (approval, checkpoint) if the call mutates, runs the
tool under a timeout, and records the result.

Every failure becomes a failed future whose text tells the model what went wrong: malformed JSON,
an unknown tool, a bad reference, bad argument types, a tool that raises, a timeout.

The scheduler knows nothing of models or sessions: it imports neither the model client nor the
session (``tests/test_layers.py`` holds it so). A call reaches it as a ``futures.ToolCall``, tools
through their ``ToolSpec``, and what happens leaves as events.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

import trio

from asyncfc_tools import Effect, ToolContext, ToolError, ToolFacts, ToolSpec, describe_exception
from asyncfc_tools._commit import CallGuard, run_in_worker

from .admission import admit, not_earlier
from .events import BackgroundStopped, EventBus, FutureCreated, FutureFinished, FutureStarted
from .futures import (
    FINISHED,
    State,
    ToolCall,
    future_id,
    substitute_refs,
    summarize,
    truncate,
)
from .live_output import CallReporter, OutputPump

__all__ = ["EngineHandle", "FutureRecord", "Gate", "GateRequest", "Grant", "Scheduler", "current_future"]


@dataclass(frozen=True, slots=True)
class GateRequest:
    """What the gate (approval policy, checkpoint) is asked about before a mutating call runs."""

    future_id: str
    spec: ToolSpec
    """The tool called: its declaration says how to show the call (``ToolSpec.describe``)."""
    args: Mapping[str, Any]
    """Arguments after ``$fN`` substitution and validation."""
    effect: Effect
    ctx: ToolContext

    @property
    def tool(self) -> str:
        """The name of the tool called."""
        return self.spec.name


@dataclass(frozen=True, slots=True)
class Grant:
    """What a gate allowed a call beyond running it as the session runs every call."""

    network: bool = False
    """The user allowed this call's command the network (``ToolContext.network``)."""


class Gate(Protocol):
    async def admit(self, request: GateRequest) -> Grant | None:
        """Return to let the call run (a Grant for more than the session's defaults); raise
        ToolError(message) to refuse it. May wait."""
        ...


@dataclass(slots=True, eq=False)
class FutureRecord:
    """The scheduler's live record of one future. Views see futures through events only."""

    id: str
    call: ToolCall
    turn: int
    args: Any
    """Parsed arguments (before substitution), or None if they were not valid JSON."""
    spec: ToolSpec | None
    effect: Effect
    deps: tuple[str, ...] = ()
    waits_on: tuple[str, ...] = ()
    state: State = State.PENDING
    text: str | None = None
    created_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    finished: trio.Event = field(default_factory=trio.Event)
    scope: trio.CancelScope | None = None
    cancel_reason: str | None = None
    cancelled_by: str | None = None
    """Who asked for the cancel: the id of a cancel_future call, or None (the user, the task)."""
    returned: object = None
    """What the tool returned when that is a typed result rather than text (await_future's
    ``protocol_tools.Awaited``), for whoever reads the record; ``text`` is its text. None when
    the tool returned text, or has not finished."""
    guard: CallGuard | None = None
    """For a sync tool running in a worker thread: decides, under a lock, between its cancel and
    its commit (so a cancelled call never changes the workspace afterwards)."""
    settled: trio.Event = field(default_factory=trio.Event)
    """Set when it finished or, for a background call, when it is up: what later calls that
    conflict with it wait for."""
    started_text: str | None = None
    """For a background call that is up: what the model is told in its tool message."""
    live: OutputPump | None = None
    """Its live output, once it printed anything."""

    @property
    def tool(self) -> str:
        return self.call.name

    @property
    def duration_key(self) -> str:
        """What calls that take about as long as this one share (``ToolSpec.duration_key``)."""
        return self.spec.duration_key(self.args) if self.spec is not None else self.tool

    @property
    def background(self) -> bool:
        """A long-lived call (``shell(background=true)``): see ``Effect.background``."""
        return self.effect.background

    def output_tail(self) -> str:
        """The last lines its command printed so far ("" if none)."""
        return self.live.tail() if self.live is not None else ""

    @property
    def is_finished(self) -> bool:
        return self.state in FINISHED


_CURRENT: ContextVar[FutureRecord | None] = ContextVar("asyncfc_current_future", default=None)


def current_future() -> FutureRecord | None:
    """The future whose call runs in the calling task (or thread it started), else None.

    Tools do not need it; simulated tools use it to find the scenario step they stand for.
    """
    return _CURRENT.get()


class Scheduler:
    """Futures for one session; ids and duration history go on across its ``serving()`` blocks.

    Args:
        tools: the tools the model may call, by name (engine built-ins included).
        bus: where future_* events go.
        ctx: the context workspace tools run in.
        serial: run one call at a time in issue order (the ``serial`` baseline).
        call_timeout_s: hard limit on any single call.
        gate: asked before every mutating call runs (approval, checkpoint).
        first_number: the number of the first future (a resumed session goes on from its history).
        duration_priors: typical seconds per tool or ``duration_key``, used until this session has
            seen such a call run.
    """

    def __init__(
        self,
        tools: Mapping[str, ToolSpec],
        bus: EventBus,
        ctx: ToolContext,
        *,
        serial: bool = False,
        call_timeout_s: float = 900.0,
        gate: Gate | None = None,
        first_number: int = 1,
        duration_priors: Mapping[str, float] | None = None,
    ) -> None:
        self._nursery: trio.Nursery | None = None
        self._lasting: trio.Nursery | None = None
        self._tools = tools
        self._bus = bus
        self._ctx = ctx
        self.serial = serial
        """One call at a time in issue order; the session switches it with its mode."""
        self._call_timeout_s = call_timeout_s
        self._gate = gate
        self._futures: dict[str, FutureRecord] = {}
        self._unfinished: dict[str, FutureRecord] = {}
        self._durations: dict[str, float] = {}
        self._priors = dict(duration_priors or {})
        self._next_number = first_number

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[Scheduler]:
        """Run the calls submitted inside the block in a nursery the block owns.

        When the block ends (or raises), the calls still running are cancelled: a task ends with
        its futures. Background calls end with it too (announced as stopped, "the task ended"),
        unless a ``keeping_background()`` block around it holds them.
        """
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            try:
                yield self
            finally:
                self._nursery = None
                if self._lasting is None:
                    self.stop_background("the task ended")
                nursery.cancel_scope.cancel()

    @asynccontextmanager
    async def keeping_background(self) -> AsyncIterator[Scheduler]:
        """Run background calls (servers, watchers) in a nursery of this block, so they outlive
        the ``serving()`` block (the task) that started them: a chat session's. When the block
        ends they are stopped ("the session ended")."""
        async with trio.open_nursery() as self._lasting:
            try:
                yield self
            finally:
                self.stop_background("the session ended")
                self._lasting = None

    def _nursery_for(self, rec: FutureRecord) -> trio.Nursery:
        if rec.background and self._lasting is not None:
            return self._lasting
        assert self._nursery is not None, "submit checks that a serving() block is open"
        return self._nursery

    # ---------------------------------------------------------------------------------- queries

    def get(self, fid: str) -> FutureRecord | None:
        return self._futures.get(fid)

    @property
    def futures(self) -> Mapping[str, FutureRecord]:
        return self._futures

    def unfinished(self) -> list[FutureRecord]:
        return list(self._unfinished.values())

    def expected_duration(self, rec: FutureRecord) -> float | None:
        """A smoothed estimate of how long the call of ``rec`` runs: this session's history of
        calls like it (``FutureRecord.duration_key``), else the prior for that key or for its tool, else None."""
        key = rec.duration_key
        return self._durations.get(key, self._priors.get(key, self._priors.get(rec.tool)))

    def predicted_finish(self, rec: FutureRecord, _known: dict[str, float | None] | None = None) -> float | None:
        """When the call of ``rec`` is expected to finish on the session clock: its start (or, not
        started yet, the predicted finish of the calls it waits for) plus its expected duration;
        None when any of that is unknown. A background call that is up counts as finished: the
        calls queued behind it wait only for that."""
        known = {} if _known is None else _known  # each future once: waits_on chains share tails
        if rec.id in known:
            return known[rec.id]
        expected = self.expected_duration(rec)
        finish: float | None = None
        if rec.is_finished:
            finish = rec.finished_at
        elif rec.background and rec.settled.is_set():
            finish = self._bus.now()  # up: what the calls queued behind it wait for is over
        elif expected is not None and rec.started_at is not None:
            finish = rec.started_at + expected
        elif expected is not None:
            before = [self.predicted_finish(self._futures[d], known)
                      for d in (*rec.waits_on, *rec.deps) if d in self._futures]
            if all(t is not None for t in before):
                finish = max([self._bus.now(), *(t for t in before if t is not None)]) + expected
        known[rec.id] = finish
        return finish

    # ---------------------------------------------------------------------------------- submit

    def submit(self, call: ToolCall, turn: int = 0) -> FutureRecord:
        """Create the future for ``call`` and start it (or fail it at once). Never blocks.

        Raises:
            RuntimeError: outside a ``serving()`` block (there is nowhere to run the call).
        """
        if self._nursery is None:
            raise RuntimeError("the scheduler runs calls only inside `async with scheduler.serving():`")
        fid = future_id(self._next_number)
        self._next_number += 1
        admission = admit(
            call, fid, self._tools, known=self._futures, serial=self.serial, root=self._ctx.root,
            unfinished={i: rec.effect for i, rec in self._unfinished.items()},
        )
        args, effect = admission.args, admission.effect
        rec = FutureRecord(
            fid, call, turn, args, admission.spec, effect, admission.deps, admission.waits_on,
            created_at=self._bus.now(),
        )
        self._futures[fid] = rec
        self._unfinished[fid] = rec
        facts = admission.spec.facts if admission.spec is not None else ToolFacts()  # unknown: generic
        self._bus.emit(
            FutureCreated, id=fid, tool=call.name, args=args if args is not None else call.arguments,
            deps=rec.deps, waits_on=rec.waits_on, effect=effect.kind, call_id=call.call_id, turn=turn,
            display=facts.display, subject=facts.subject,
        )
        if admission.problem is not None:
            self._finish(rec, State.FAILED, admission.problem)
        else:
            self._nursery_for(rec).start_soon(self._run, rec, name=f"future {fid} {call.name}")
        return rec

    def not_earlier(self, ids: Iterable[str], fid: str) -> list[str]:
        """The ids that do not name a future created before ``fid`` (``admission.not_earlier``)."""
        return not_earlier(ids, fid, self._futures)

    # ---------------------------------------------------------------------------------- running

    async def _run(self, rec: FutureRecord) -> None:
        _CURRENT.set(rec)  # each trio task runs in its own copy of the context
        try:
            with trio.CancelScope() as scope:
                rec.scope = scope
                if rec.cancel_reason is not None:
                    scope.cancel()
                try:
                    await self._run_call(rec)
                except ToolError as exc:
                    self._finish(rec, State.FAILED, str(exc))
                except trio.TooSlowError:
                    self._finish(rec, State.FAILED, f"{rec.tool} timed out after "
                                 f"{self._call_timeout_s:g}s and was stopped")
                except Exception as exc:  # noqa: BLE001 - a crashing tool is a failed future
                    self._finish(rec, State.FAILED, describe_exception(rec.tool, exc))
        finally:
            # Reached on our own cancel (the scope swallows it) and on an outer one (it propagates).
            if not rec.is_finished:
                self._finish(rec, State.CANCELLED, rec.cancel_reason or "cancelled")

    async def _run_call(self, rec: FutureRecord) -> None:
        assert rec.spec is not None
        for other in rec.waits_on:
            await self._futures[other].settled.wait()  # a background call: until it is up
        values: dict[str, str] = {}
        for dep in rec.deps:
            dep_rec = self._futures[dep]
            await dep_rec.finished.wait()
            if dep_rec.state is not State.DONE:
                raise ToolError(
                    f"dependency {dep} {dep_rec.state.value}, so this call did not run: "
                    f"{summarize(dep_rec.text or '')}"
                )
            values[dep] = dep_rec.text or ""
        args = rec.spec.validate(substitute_refs(rec.args, values))
        effect = rec.spec.effect_of(args, self._ctx.root)
        grant = None
        if effect.needs_approval and self._gate is not None:
            grant = await self._gate.admit(GateRequest(rec.id, rec.spec, args, effect, self._ctx))
        rec.state = State.RUNNING
        rec.started_at = self._bus.now()
        self._bus.emit(FutureStarted, id=rec.id)
        with trio.fail_after(math.inf if rec.background else self._call_timeout_s):
            result = await self._invoke(rec, args, grant or Grant())
        if not isinstance(result, str):
            rec.returned = result  # a typed result: its str() is what the model is shown
        self._finish(rec, State.DONE, truncate(str(result), self._ctx.max_output_chars))

    async def _invoke(self, rec: FutureRecord, args: Mapping[str, Any], grant: Grant) -> Any:
        spec = rec.spec
        assert spec is not None
        ctx: Any = EngineHandle(self, rec) if spec.context == "engine" else \
            dataclasses.replace(self._ctx, progress=CallReporter(rec, self._bus, self._nursery_for(rec)),
                                network=grant.network)
        if spec.is_async:
            return await spec.fn(ctx, **args)
        rec.guard = CallGuard()
        return await run_in_worker(functools.partial(spec.fn, ctx, **args), rec.guard)

    def _finish(self, rec: FutureRecord, state: State, text: str) -> None:
        if rec.live is not None:
            rec.live.close()  # its last output goes out before its end
        rec.state = state
        rec.text = text
        rec.finished_at = self._bus.now()
        self._unfinished.pop(rec.id, None)
        duration = rec.finished_at - rec.started_at if rec.started_at is not None else 0.0
        if state is State.DONE and not rec.background:
            key = rec.duration_key
            previous = self._durations.get(key)
            self._durations[key] = duration if previous is None else 0.5 * (previous + duration)
        self._bus.emit(
            FutureFinished, id=rec.id, status=state, duration=duration,
            summary=summarize(text), output=text,
        )
        rec.settled.set()
        rec.finished.set()

    # ---------------------------------------------------------------------------------- control

    def cancel(
        self, ids: Iterable[str], reason: str = "cancelled", *, by: str | None = None
    ) -> dict[str, str]:
        """Cancel the listed futures (``by``: the cancel_future call asking, if the model asked).
        Returns, per id, what happened (for the model and views)."""
        outcome: dict[str, str] = {}
        for fid in ids:
            rec = self._futures.get(fid)
            if rec is None:
                outcome[fid] = "unknown future"
            elif rec.is_finished:
                outcome[fid] = f"already {rec.state.value}"
            elif rec.guard is not None and not rec.guard.stop():
                outcome[fid] = "too late: it had already made its change, so it finishes with its result"
            else:
                rec.cancel_reason = reason
                rec.cancelled_by = by
                if rec.scope is not None:
                    rec.scope.cancel()
                outcome[fid] = "cancelled"
        return outcome

    def stop_background(self, reason: str) -> list[FutureRecord]:
        """Cancel every background call still running (their process groups are killed as the
        cancellation reaches them), announcing each; returns them."""
        running = [rec for rec in self._unfinished.values() if rec.background]
        for rec in running:
            command = rec.args.get("command", "") if isinstance(rec.args, dict) else ""
            self._bus.emit(BackgroundStopped, id=rec.id, command=str(command), reason=reason)
            self.cancel([rec.id], reason=f"stopped: {reason}")
        return running

    async def wait_settled(self, ids: Iterable[str]) -> None:
        """Wait until every listed (known) future has finished or, if a background call, is up."""
        for fid in ids:
            rec = self._futures.get(fid)
            if rec is not None:
                await rec.settled.wait()

    async def wait_finished(self, ids: Iterable[str]) -> None:
        """Wait until every listed (known) future has finished."""
        for fid in ids:
            rec = self._futures.get(fid)
            if rec is not None:
                await rec.finished.wait()

    async def wait_all_finished(self) -> None:
        """Wait until no future is unfinished (including ones submitted while waiting)."""
        while self._unfinished:
            await next(iter(self._unfinished.values())).finished.wait()


@dataclass(frozen=True, slots=True)
class EngineHandle:
    """What the engine built-ins (await_future, cancel_future) get as their context."""

    scheduler: Scheduler
    record: FutureRecord
    """The built-in's own future."""
