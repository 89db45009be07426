"""When and how a session compacts its conversation: the model's summary first, the deterministic
compaction (``context.compact``) when the summary fails.

Two ways in: the user's ``/compact [focus]`` between tasks (``Compactor.compact`` with reason
``user``), and a request about to exceed the context budget's trigger (``compact_near_window``,
reason ``auto``, called by the turn loop before each request). Either way the summary request is
one of the session's own model requests (``summary.request_summary``): same client, no tools, its
tokens and cost counted in the session's totals and the task's limits.

What a failure does: a provider error, a summary cut by the output limit, an empty answer, or a
summary the cost limit has no room for, each becomes a notice in words and the deterministic
compaction of what requests send; the history stays whole, nothing is lost, the session goes on.

Bounded: automatic compaction asks the model at most once per request; never when nothing but an
earlier summary is older than the last turn (``summary.split_history``), so a summary is never
summarised again on its own; never when what it would replace is a small share of the history
(``WORTH_SUMMARISING``); and, after a failed summary, not again within the task.

The futures protocol is the session's delivery ledger's, which compaction does not touch: what is
owed is delivered after the summary as before, and the summary message lists it in the engine's
words (``summary.owed_note``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import trio

from .context import ContextBudget, estimate_message_tokens
from .errors import ConfigError
from .events import ConversationCompacted, EventBus, Notice
from .model.base import Message, ModelClient, Usage
from .model.tokens import DEFAULT_WINDOW
from .model.wire import message_to_wire
from .redaction import redact_value
from .summary import (
    Owed,
    Reply,
    Split,
    compacted_history,
    request_summary,
    split_history,
    summary_message,
    summary_request,
)

__all__ = ["CompactionHost", "Compactor"]

SUMMARY_OUTPUT_TOKENS = 2_000
"""What a summary's answer is assumed to cost in tokens, when its price is estimated."""


WORTH_SUMMARISING = 0.25
"""Automatic compaction asks for a summary only when the messages it would replace hold at least
this share of the history (estimated): replacing less cannot bring the request down much, and the
deterministic compaction of the last turn does better."""


def _worth_it(split: Split, history: Sequence[Message]) -> bool:
    return estimate_message_tokens(split.older) >= WORTH_SUMMARISING * estimate_message_tokens(history)


class CompactionHost(Protocol):
    """What compaction needs of a session (``session.Session`` is one)."""

    model: ModelClient
    bus: EventBus
    history: list[Message]
    settings: Any
    """Has ``max_cost`` (USD or None)."""

    @property
    def context(self) -> ContextBudget | None: ...

    @property
    def recalls(self) -> Mapping[str, str]: ...

    @property
    def task_cost(self) -> float: ...

    @property
    def usage(self) -> Usage: ...

    def charge(self, usage: Usage) -> float: ...

    def next_turn(self) -> int: ...

    def owed(self) -> list[Owed]: ...


class Compactor:
    """Compacts one session's conversation (see the module docstring)."""

    def __init__(self, host: CompactionHost) -> None:
        self._host = host
        self._failed_this_task = False
        self._between: tuple[trio.CancelScope, trio.Event] | None = None
        """A /compact under way between tasks: its scope (Esc cancels it) and its end."""

    @property
    def running(self) -> bool:
        """A /compact between tasks is under way (the session takes no other command meanwhile)."""
        return self._between is not None

    def start(self, nursery: trio.Nursery, focus: str) -> None:
        """/compact between tasks: ``compact(focus)`` in ``nursery``; ``cancel`` stops it, changing
        nothing (reported as ``conversation_compacted`` by none).

        Raises:
            ConfigError: one is under way already.
        """
        if self._between is not None:
            raise ConfigError("a compaction is running: wait for it to finish, or press Esc to cancel it")
        self._between = (trio.CancelScope(), trio.Event())
        nursery.start_soon(self._compact_between_tasks, focus)

    async def _compact_between_tasks(self, focus: str) -> None:
        assert self._between is not None
        scope, ended = self._between
        try:
            with scope:
                await self.compact(focus)
            if scope.cancelled_caught:
                history = self._host.history
                self._host.bus.emit(ConversationCompacted, by="none", reason="user", focus=focus,
                                    messages_before=len(history), messages_after=len(history),
                                    why="cancelled: the conversation is as it was")
        finally:
            self._between = None
            ended.set()

    def cancel(self) -> None:
        """Stop a /compact under way (Esc); nothing happens if none is."""
        if self._between is not None:
            self._between[0].cancel()

    async def wait_idle(self) -> None:
        """Return once no /compact is under way (a task waits for the one typed before it)."""
        if self._between is not None:
            await self._between[1].wait()

    def task_started(self) -> None:
        """A new task: automatic compaction may ask the model again."""
        self._failed_this_task = False

    async def compact_near_window(self) -> None:
        """Before a request: if it would exceed the context budget's trigger, compact now (the
        model's summary first). Does nothing when the budget is not near, when nothing new is
        older than the last turn, or after a failed summary in this task (the deterministic
        compaction of ``ContextBudget.fit`` then does the work, as it always did)."""
        budget, history = self._host.context, self._host.history
        split = split_history(history)
        if budget is None or self._failed_this_task or split is None or not _worth_it(split, history):
            return
        if await budget.nears_window(history):
            await self.compact(reason="auto")

    async def compact(self, focus: str = "", *, reason: str = "user") -> None:
        """Compact now: the model summarises everything before the last turn and the summary
        replaces it in the history; if it cannot, old tool results become notes in what requests
        send (``ContextBudget.compact_now``), and a notice says why. Reported as
        ``conversation_compacted``. Cancellation (Esc) propagates and changes nothing."""
        host = self._host
        before = list(host.history)
        split = split_history(before)
        if split is None:
            why = "nothing older than the last turn is left to summarise"
        else:
            window = await self._window()
            owed = host.owed()
            request = summary_request(split.older, owed, focus, window)
            why = self._no_room(request, reason)
            if not why:
                reply = await request_summary(host.model, request, host.bus, host.next_turn())
                host.charge(reply.usage)
                if not reply.failure:
                    self._replace(before, split, reply, owed, focus, reason)
                    return
                why = reply.failure
        if reason == "auto":
            self._failed_this_task = True
        await self._fall_back(before, why, focus, reason)

    def _replace(self, before: list[Message], split: Split, reply: Reply, owed: Sequence[Owed],
                 focus: str, reason: str) -> None:
        host = self._host
        message = redact_value(summary_message(reply.summary, split, owed), host.bus.secrets)
        host.history = compacted_history(split, message)
        host.bus.emit(
            ConversationCompacted, by="model", reason=reason, messages_before=len(before),
            messages_after=len(host.history), tokens_before=estimate_message_tokens(before),
            tokens_after=estimate_message_tokens(host.history), summary=reply.summary, focus=focus,
            kept=len(split.tail), message=message_to_wire(message),
        )

    async def _fall_back(self, before: list[Message], why: str, focus: str, reason: str) -> None:
        """The deterministic compaction of what requests send, with a notice saying why."""
        host, budget = self._host, self._host.context
        if budget is None:
            host.bus.emit(Notice, level="warning", message=f"the conversation was not compacted: {why}")
            host.bus.emit(ConversationCompacted, by="none", reason=reason, messages_before=len(before),
                          messages_after=len(before), focus=focus, why=why)
            return
        target = None
        if reason == "auto":
            target = int(await self._window() * budget.target)
        tokens_before, tokens_after = budget.compact_now(before, host.recalls, target)
        host.bus.emit(Notice, level="warning", message=(
            f"the model did not summarise the conversation ({why}): old tool results became notes "
            "instead; the history and the transcript keep everything"))
        host.bus.emit(ConversationCompacted, by="fallback", reason=reason, messages_before=len(before),
                      messages_after=len(before), tokens_before=tokens_before, tokens_after=tokens_after,
                      focus=focus, why=why)

    async def _window(self) -> int:
        """The model's input window (finding it out may load litellm: off the event loop)."""
        budget = self._host.context
        if budget is None:
            return DEFAULT_WINDOW
        if budget.blocking:
            return await trio.to_thread.run_sync(lambda: budget.window)
        return budget.window

    def _no_room(self, request: Sequence[Message], reason: str) -> str:
        """Why the cost limit leaves no room for the summary request ('' when it does): its price
        is estimated from what the session's tokens have cost so far (unknown prices: no limit
        applies, as for any request)."""
        host = self._host
        limit, usage = host.settings.max_cost, host.usage
        if limit is None or not usage.cost or not usage.total_tokens:
            return ""
        estimate = (estimate_message_tokens(request) + SUMMARY_OUTPUT_TOKENS) * usage.cost / usage.total_tokens
        left = limit - (host.task_cost if reason == "auto" else 0.0)
        if estimate <= left:
            return ""
        return (f"a summary would cost about ${estimate:.4f}, more than the ${max(left, 0.0):.4f} "
                f"left under the cost limit of ${limit:g}")
