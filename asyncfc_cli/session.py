"""The agent loop: requests, streaming dispatch, placeholders, delivery, await, and the finish rule.

One ``run(task)`` goes like this (DESIGN.md, "The futures protocol"):

1. Deliver: futures that finished since they were handed out as placeholders go into one user
   message of ``<future>`` blocks, after the last tool messages.
2. Request: stream the model's response; each tool call is submitted to the scheduler the moment its
   arguments are complete, so tools run while the model is still decoding.
3. Close the turn: each call gets its tool message, the value if its future has finished, else the
   placeholder. ``await_future`` calls are waited for (the only blocking call). In ``sync`` and
   ``serial`` modes (``ModeRules.turn_waits_for_calls``) the turn waits for every call instead.
4. A response with no tool calls ends the task only when nothing is pending or undelivered;
   otherwise the session waits, delivers and lets the model go on.

Streaming a response and dispatching its calls is ``streaming.ResponseReader``'s; holding a
closing turn for calls about to finish is ``early_wait``'s; what the model holds as placeholders
and what it has been given is ``delivery.Deliveries``'s; what differs between the modes is
``config.ModeRules``; the calls run in the scheduler's ``serving()`` block, one per task.

Everything is reported on the event bus; views command the session only through ``cancel_turn`` and
``cancel_future``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping, Sequence

import trio

from asyncfc_tools import ToolContext, ToolSpec

from .compaction import Compactor
from .config import Approval, Settings
from .context import ContextBudget
from .delivery import Deliveries
from .early_wait import wait_if_about_to_finish
from .errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_UNFINISHED, AsyncfcError, ConfigError, Ending
from .events import (
    ConversationCleared,
    EventBus,
    MessageAppended,
    Notice,
    RequestFinished,
    RequestStarted,
    SessionFinished,
    SessionStarted,
)
from .events import UserMessage as UserMessageEvent
from .model.base import (
    OUTPUT_LIMIT,
    AssistantMessage,
    Message,
    ModelClient,
    SystemMessage,
    Usage,
    UserMessage,
)
from .model.provider import effective_endpoint
from .model.wire import message_to_wire
from .outcomes import Outcome, error_outcome, interruption, limit_reached
from .output_limit import MAX_CONTINUATIONS, continuation_note, stop_message
from .protocol_tools import AWAIT_FUTURE, engine_tools
from .redaction import redact_value
from .scheduler import FutureRecord, Gate, Scheduler
from .streaming import Response, ResponseReader
from .summary import Owed
from .trust import untrusted_notice
from .workspace import Workspace

__all__ = ["Outcome", "Session"]


class Session:
    """A conversation with a model that runs tools as futures. See the module docstring."""

    def __init__(
        self,
        *,
        model: ModelClient,
        tools: Mapping[str, ToolSpec],
        bus: EventBus,
        settings: Settings,
        workspace: Workspace,
        system_prompt: str = "",
        gate: Gate | None = None,
        history: Sequence[Message] = (),
        session_id: str | None = None,
        ctx: ToolContext | None = None,
        context: ContextBudget | None = None,
        duration_priors: Mapping[str, float] | None = None,
        futures_issued: int = 0,
        recovered: Sequence[Message] = (),
    ) -> None:
        self.model = model
        self.bus = bus
        self.settings = settings
        self.workspace = workspace
        self.session_id = session_id or secrets.token_hex(6)
        self.history: list[Message] = list(history)
        self._context = context
        self._ctx = ctx or workspace.tool_context(settings)
        self._tools = dict(tools)
        call_ids = {c.call_id for m in self.history if isinstance(m, AssistantMessage) for c in m.tool_calls}
        # A resumed session's ids go on after every future its transcript recorded, including
        # those of a response that was cut before its calls reached the history.
        self._scheduler = Scheduler(
            self._tools, bus, self._ctx, serial=settings.mode.rules.serial,
            call_timeout_s=settings.call_timeout_s, gate=gate,
            first_number=max(futures_issued, len(call_ids)) + 1, duration_priors=duration_priors,
        )
        """One scheduler per session: future ids go on across tasks, each task a ``serving()``."""
        self._reader = ResponseReader(bus, self._scheduler, call_ids)
        self._use_mode()
        self._system_prompt = system_prompt
        self._started = False
        self._turn = 0
        self._usage = Usage()
        self._run_scope: trio.CancelScope | None = None
        self._deliveries = Deliveries(bus)
        self.nested_cancel: Callable[[str, str], None] | None = None
        """Cancels a sub-agent's future (the agent future's id, the sub-agent's own id); set by
        whoever runs the sub-agents (``subagent.attach_subagents``)."""
        self._recovered = tuple(recovered)
        self._interrupt_code = EXIT_INTERRUPTED
        self._stopped_with: Outcome | None = None
        self._task_usage_before = Usage()
        self._cut_replies = 0
        self._compactor = Compactor(self)
        self._side: trio.Nursery | None = None
        """Where ``serve`` runs a /compact between tasks."""

    # ------------------------------------------------------------------------------- commands

    def cancel_turn(self, *, exit_code: int = EXIT_INTERRUPTED, outcome: Outcome | None = None) -> None:
        """Stop the running task: its futures are cancelled (children killed); history stays valid
        and records every call that was dispatched. ``exit_code`` is what the task ends with:
        130 for Ctrl-C, 143 for SIGTERM; ``outcome``, if given, is how it ends instead of an
        interruption (a sub-agent stopped by its parent's cost limit)."""
        self._interrupt_code = exit_code
        self._compactor.cancel()
        if self._run_scope is not None:
            self._stopped_with = outcome
            self._run_scope.cancel()

    def cancel_future(self, future_id: str) -> None:
        """Cancel one future on the user's behalf (its failure reaches the model as a value).
        ``PARENT/ID`` names a future of the sub-agent that the future PARENT runs."""
        parent, _, nested = future_id.partition("/")
        if nested and self.nested_cancel is not None:
            self.nested_cancel(parent, nested)
        else:
            self._scheduler.cancel([future_id], reason="cancelled by the user")

    # ------------------------------------------------------------------------------- reach

    @property
    def tools(self) -> Mapping[str, ToolSpec]:
        """The tools offered to the model now (MCP servers add theirs as they connect)."""
        return self._tools

    @property
    def recalls(self) -> dict[str, str]:
        """What compaction says of each tool's removed outputs (``ToolFacts.recall``), by name."""
        return {name: spec.facts.recall for name, spec in self._tools.items()}

    def add_tools(self, specs: Mapping[str, ToolSpec]) -> None:
        """Offer more tools from the next request on (an MCP server that finished connecting)."""
        self._tools.update(specs)
        self._schemas = [spec.schema() for spec in self._tools.values()]

    def charge(self, usage: Usage) -> float:
        """Count a sub-agent's tokens and cost in this session's totals (and its cost limit).

        Returns:
            What the running task has spent so far (USD, its sub-agents' requests included): the
            sum its ``max_cost`` bounds.
        """
        self._usage = self._usage + usage
        return self.task_cost

    @property
    def task_cost(self) -> float:
        """USD the running task has spent so far, its sub-agents' requests included."""
        return (self._usage.cost or 0.0) - (self._task_usage_before.cost or 0.0)

    def reconfigure(self, settings: Settings, *, model: ModelClient | None = None,
                    system_prompt: str | None = None, context: ContextBudget | None = None) -> None:
        """Between tasks (the TUI's /model, /mode, /approval): the next request uses the new
        settings, model client, system prompt (for a new mode) and context budget. History and
        future ids go on.

        Raises:
            ConfigError: a task is running.
        """
        if self._run_scope is not None or self._compactor.running:
            raise ConfigError("a task is running: wait for it to finish, or press Esc to cancel it")
        if model is not None and model is not self.model:
            self._reader.ttft = None  # the early wait is sized from this model's replies, not the last's
        self.settings, self.model = settings, model or self.model
        self._context = context or self._context
        self._use_mode()
        if system_prompt is not None:
            self._system_prompt = system_prompt
            if self.history and isinstance(self.history[0], SystemMessage):
                self.history[0] = SystemMessage(system_prompt)

    @property
    def usage(self) -> Usage:
        """Tokens and cost of the session's requests so far (sub-agents' and summaries' included)."""
        return self._usage

    def next_turn(self) -> int:
        """Number the next model request (a summary request is one too)."""
        self._turn += 1
        return self._turn

    def owed(self) -> list[Owed]:
        """The futures the model is still owed: unfinished (background ones included), or finished
        behind a placeholder and not yet delivered; in id order."""
        futures = self._scheduler.futures
        owed = set(self._deliveries.outstanding(futures))
        owed |= {fid for fid, rec in futures.items() if rec.background and not rec.is_finished}
        return [Owed(fid, rec.tool, rec.call.arguments, str(rec.state), rec.background)
                for fid, rec in futures.items() if fid in owed]

    def start_compaction(self, focus: str = "") -> None:
        """/compact between tasks: the model summarises the conversation now, in the background
        of ``serve`` (``compaction.Compactor.start``); a task sent meanwhile waits for it.

        Raises:
            ConfigError: a task or another compaction is running, or the session is not serving.
        """
        if self._run_scope is not None:
            raise ConfigError("a task is running: wait for it to finish, or press Esc to cancel it")
        if self._side is None:
            raise ConfigError("the session is not taking commands yet")
        self._compactor.start(self._side, focus)

    @property
    def context(self) -> ContextBudget | None:
        """What decides the messages each request sends (None: the whole history)."""
        return self._context

    def clear(self) -> None:
        """Start the conversation afresh (the TUI's /clear): only the system prompt stays; future
        ids go on. Recorded as ``conversation_cleared``, so a resume rebuilds only what followed.

        Raises:
            ConfigError: a task is running.
        """
        if self._run_scope is not None or self._compactor.running:
            raise ConfigError("a task is running: wait for it to finish, or press Esc to cancel it")
        self.history = [m for m in self.history[:1] if isinstance(m, SystemMessage)]
        self._deliveries.clear()
        self.bus.emit(ConversationCleared)

    def _use_mode(self) -> None:
        """Tools, schemas and dispatch by the rules of ``settings.mode`` (``config.ModeRules``)."""
        rules = self.settings.mode.rules
        for name, spec in engine_tools().items():
            if rules.futures:
                self._tools[name] = spec
            else:
                self._tools.pop(name, None)
        self._schemas = [spec.schema() for spec in self._tools.values()]
        self._reader.dispatch_mid_stream = (self.settings.dispatch or rules.dispatch) == "stream"
        self._scheduler.serial = rules.serial

    # ------------------------------------------------------------------------------- running

    async def serve(self, inbox: trio.MemoryReceiveChannel[str]) -> None:
        """Chat: run each message received as a task, in order, until the channel closes.
        Background processes outlive the task that started them; they stop when this ends."""
        self._announce()
        async with self._scheduler.keeping_background(), trio.open_nursery() as side:
            self._side = side
            try:
                async for text in inbox:
                    await self.run(text)
            finally:
                self._side = None

    async def run(self, task: str) -> Outcome:
        """Run one task to its end and report how it ended (also as ``session_finished``)."""
        self._announce()
        await self._compactor.wait_idle()  # a /compact typed before this task ends first
        self._compactor.task_started()
        self.bus.emit(UserMessageEvent, text=task)
        self._append(UserMessage(task))
        turns_before, self._task_usage_before = self._turn, self._usage
        self._cut_replies = 0
        outcome: Outcome | None = None
        with trio.CancelScope() as scope:
            self._run_scope = scope
            try:
                # A limit can stop the loop with futures still running: they end with the task,
                # and so do background processes unless a chat keeps them (``serve``).
                async with self._scheduler.serving():
                    outcome = await self._loop(turns_before)
            except* AsyncfcError as group:
                outcome = error_outcome(group)
        self._run_scope = None
        outcome = outcome or self._stopped_with or interruption(self._interrupt_code)
        self._stopped_with = None
        self.bus.emit(
            SessionFinished, outcome=outcome.outcome, exit_code=outcome.exit_code,
            message=outcome.message, turns=self._turn, usage=self._usage.as_dict(),
            cost=self._usage.cost,
        )
        return outcome

    def _announce(self) -> None:
        if self._started:
            return
        self._started = True
        self.bus.start_clock()
        sandbox = self._ctx.sandbox
        self.bus.emit(
            SessionStarted, session_id=self.session_id, model=self.model.name,
            mode=self.settings.mode, approval=self.settings.approval or Approval.AUTO,
            root=str(self.workspace.root), scripted=self.model.scripted,
            api_base=self.settings.api_base or "",
            endpoint="" if self.model.scripted else effective_endpoint(
                self.model.name, self.settings.api_base, os.environ),
            sandbox=sandbox.state if sandbox is not None else "off",  # no sandbox: commands run as they are
            network=sandbox.network if sandbox is not None else True,
        )
        if self.settings.ignored_repo_keys or self.settings.repo_trust_notice:
            self.bus.emit(Notice, level="warning", message=untrusted_notice(
                self.settings.ignored_repo_keys, self.workspace.root, self.settings.repo_trust_notice))
        if sandbox is not None and (notice := sandbox.notice()) is not None:
            self.bus.emit(Notice, level=notice.level, message=notice.message)  # said once, at the start
        if self._system_prompt and not self.history:
            self._append(SystemMessage(self._system_prompt))
        for message in self._recovered:  # a resumed session's late values, recorded as they go in
            self._append(message)

    async def _loop(self, turns_before: int) -> Outcome:
        while True:
            limit = limit_reached(self.settings, self._turn - turns_before, self.task_cost)
            if limit is not None:
                return limit
            if (delivery := self._deliveries.due(self._scheduler.get, self._turn + 1)) is not None:
                self._append(delivery)
            await self._compactor.compact_near_window()  # the model's summary first, if due
            response = await self._request()
            if response.end.finish_reason == OUTPUT_LIMIT:
                stop = await self._continue_cut_reply(response)
                if stop is not None:
                    return stop
                continue
            self._cut_replies = 0
            if response.records:
                await self._close_turn(response)
                continue
            self._append(AssistantMessage(response.text))
            outstanding = self._deliveries.outstanding(self._scheduler.futures)
            if not outstanding:
                return Outcome(Ending.FINISHED, EXIT_OK, response.text.strip() or "finished")
            # Never finish with work in flight: wait, deliver, and let the model go on.
            await self._scheduler.wait_finished(outstanding)

    async def _continue_cut_reply(self, response: Response) -> Outcome | None:
        """A reply the output limit cut: keep what it said and ran, and ask the model to go on;
        after ``MAX_CONTINUATIONS`` cuts in a row, stop instead (exit 1) and say why."""
        self._cut_replies += 1
        if response.records:
            await self._close_turn(response)
        else:
            self._append(AssistantMessage(response.text))
        limit = self.settings.max_output_tokens
        if self._cut_replies > MAX_CONTINUATIONS:
            return Outcome(Ending.OUTPUT_LIMIT, EXIT_UNFINISHED, stop_message(self._cut_replies, limit))
        self._append(UserMessage(continuation_note(limit, response.end.dropped_call)))
        return None

    # ------------------------------------------------------------------------------- one request

    async def _request(self) -> Response:
        self._turn += 1
        turn = self._turn
        started = self.bus.now()
        self.bus.emit(RequestStarted, turn=turn, messages=len(self.history))
        ready = getattr(self.model, "wait_ready", None)  # (a client written before it may lack it)
        if ready is not None:
            await ready()  # the client's start-up: tools that come up meanwhile go in
        messages: Sequence[Message] = self.history
        if self._context is not None:
            messages = await self._context.fit(self.history, self.recalls)
        response = Response()
        try:
            await self._reader.read(response, self.model, messages, self._schemas, turn, started)
        except BaseException:
            # Cut (a provider error, Ctrl-C, SIGTERM): the calls already dispatched may have run,
            # so the history records them, with their values or placeholders, before unwinding.
            if response.records or response.pieces:
                self._record_turn(response.text, response.records)
            raise
        end = response.end
        self._usage = self._usage + end.usage
        self.bus.emit(
            RequestFinished, turn=turn, usage=end.usage.as_dict(), cost=end.usage.cost,
            finish_reason=end.finish_reason, tool_calls=len(response.records),
        )
        return response

    async def _close_turn(self, response: Response) -> None:
        """Wait as the mode requires, then append the assistant message and its tool messages."""
        records = response.records
        # Let calls dispatched at the very end of the stream take their first step: a tool that
        # needs no time then hands the model its value instead of a placeholder. Two passes,
        # because trio may run this task before the new ones within one scheduling batch.
        try:
            for _ in range(2):
                await trio.lowlevel.checkpoint()
            if self.settings.mode.rules.turn_waits_for_calls:
                await self._scheduler.wait_settled([r.id for r in records])
            else:
                awaits = [r.id for r in records if r.tool == AWAIT_FUTURE]
                await self._scheduler.wait_finished(awaits)
                # A background command's tool message says whether it started: wait until it is up.
                await self._scheduler.wait_settled([r.id for r in records if r.background])
                # A response that awaits has said what it needs now: holding for its other calls
                # would only delay the values it asked for.
                if self.settings.early_wait and not awaits:
                    await wait_if_about_to_finish(self._scheduler, records, self._reader.ttft, self.bus.now())
        finally:
            # Also when cancelled while waiting (Ctrl-C, SIGTERM): what ran stays in the history.
            self._record_turn(response.text, records)

    def _record_turn(self, text: str, records: Sequence[FutureRecord]) -> None:
        """Append the assistant message with its calls, then one tool message per call: the value
        if its future has finished, else the placeholder."""
        tool_messages = self._deliveries.tool_messages(records, self._turn + 1)
        self._append(AssistantMessage(text, tuple(r.call for r in records)))
        for message in tool_messages:
            self._append(message)

    # ------------------------------------------------------------------------------- history

    def _append(self, message: Message) -> None:
        # What the model is sent back (its own text, tool results) carries no secret either.
        message = redact_value(message, self.bus.secrets)
        self.history.append(message)
        self.bus.emit(MessageAppended, message=message_to_wire(message))

