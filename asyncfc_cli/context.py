"""The context budget: count a conversation's tokens, and compact it when it nears the window.

Compaction replaces the bulky content of the *oldest* tool results (tool messages, and the future
blocks of delivery messages and ``await_future`` results) with a one-line note saying how to get the
value again (the tool's declared ``recall``: the engine knows no tool by name). It never removes a message, so every tool call keeps its tool message and the
conversation stays valid for every provider (OpenAI's tool_call_id pairs, Anthropic's tool_use /
tool_result pairs). The results of the most recent turns are kept as they are. Only when notes alone
cannot reach the budget are the oldest whole turns (an assistant message, its tool messages and the
deliveries after it) dropped, again as units, so pairing still holds.

``compact`` is pure; ``ContextBudget`` binds it to a model's window and token counter, which the
model package knows (``model.tokens``: litellm's tokenizers are the model's business, not this
module's).

This is the deterministic compaction. Before it, a session asks the model for a summary that
replaces the older history (``compaction.py``, ``summary.py``); this one is the fallback when the
summary fails, and what fits the last turn when a summary is not worth asking for.
"""

from __future__ import annotations

import json
from types import MappingProxyType
from collections.abc import Callable, Mapping, Sequence

import trio

from asyncfc_tools import RECALL

from .futures import BLOCK_CLOSE, block_openings, future_id, gap_note_calls, gap_note_text, parse_placeholder
from .model.base import AssistantMessage, Message, ToolCall, ToolMessage, UserMessage
from .model.tokens import (
    DEFAULT_WINDOW,
    Count,
    byte_bound,
    context_window,
    counting_blocks,
    estimate_message_tokens,
    message_counter,
)

__all__ = [
    "DEFAULT_WINDOW",
    "gap_note",
    "ContextBudget",
    "byte_bound",
    "compact",
    "context_window",
    "estimate_message_tokens",
    "message_counter",
]

BULKY_CHARS = 400
"""Results shorter than this are not worth a note (the note itself is ~40 tokens)."""

def gap_note(calls: int) -> UserMessage:
    """The user message that stands where dropped turns were (``futures.gap_note_text``)."""
    return UserMessage(gap_note_text(calls))


def _gap_calls(message: Message) -> int:
    """How many calls a gap note says were dropped (0 for any other message)."""
    return gap_note_calls(message.text) if isinstance(message, UserMessage) else 0


_NOTE_SKIPS = {"content", "new", "old"}
"""Arguments too bulky (or too private) to repeat in a note."""


# --------------------------------------------------------------------------------------------------
# Notes


def _args_text(call: ToolCall) -> str:
    try:
        args = json.loads(call.arguments or "{}")
    except ValueError:
        return ""
    if not isinstance(args, dict):
        return ""
    shown = {k: (v[:80] if isinstance(v, str) else v) for k, v in args.items() if k not in _NOTE_SKIPS}
    return json.dumps(shown, ensure_ascii=False)


Recalls = Mapping[str, str]
"""What each tool says of a removed output (its declared ``ToolFacts.recall``), by tool name."""
NO_RECALLS: Recalls = MappingProxyType({})
"""Every tool's outputs get the default note (``RECALL``)."""


def note_for(call: ToolCall | None, size: int, recalls: Recalls) -> str:
    """The text that replaces a compacted result of ``call`` (``size`` characters long): how to
    get it back, as the call's tool declares (``RECALL`` for a tool ``recalls`` does not know)."""
    head = f"[compacted to save context: {size} characters of output"
    if call is None:
        return head + " removed; run the call again if you need it.]"
    recall = recalls.get(call.name, RECALL).replace("{tool}", call.name).replace("{args}", _args_text(call))
    return f"{head} of {call.name} removed; {recall}.]"


def _compact_blocks(text: str, calls_by_future: dict[str, ToolCall], recalls: Recalls) -> str:
    """Replace the bodies of bulky ``<future ...>`` blocks in a delivery or await result."""
    starts = block_openings(text, line_start=True)
    if not starts:
        return text
    out = [text[: starts[0].start]]
    for i, opening in enumerate(starts):
        end = starts[i + 1].start if i + 1 < len(starts) else len(text)
        segment = text[opening.end:end]
        close = segment.rfind(BLOCK_CLOSE)
        if close < 0:  # no closing tag: the value runs to the newline before the next block
            close = len(segment) - (1 if i + 1 < len(starts) else 0)
        body, rest = segment[:close], segment[close:]
        if len(body) >= BULKY_CHARS:
            body = note_for(calls_by_future.get(opening.id), len(body), recalls)
        out.append(text[opening.start:opening.end] + body + rest)
    return "".join(out)


# --------------------------------------------------------------------------------------------------
# Compaction (pure)


def _calls(messages: Sequence[Message]) -> tuple[dict[str, ToolCall], dict[str, ToolCall]]:
    """Calls by provider id, and by future id.

    The n-th call of the session is ``fn`` (ids count every call), after the calls a gap note says
    were dropped. A placeholder tool message names its call's future exactly and wins.
    """
    by_id: dict[str, ToolCall] = {}
    by_future: dict[str, ToolCall] = {}
    number = 0
    for message in messages:
        number += _gap_calls(message)
        if isinstance(message, AssistantMessage):
            for call in message.tool_calls:
                number += 1
                by_id[call.call_id] = call
                by_future[future_id(number)] = call
    for message in messages:
        if isinstance(message, ToolMessage) and message.call_id in by_id:
            handed = parse_placeholder(message.content)
            if handed:
                by_future[handed[0]] = by_id[message.call_id]
    return by_id, by_future


def _protected_from(messages: Sequence[Message], keep_recent: int) -> int:
    """Index of the first message of the last ``keep_recent`` assistant turns (kept as they are)."""
    seen = 0
    for index in range(len(messages) - 1, -1, -1):
        if isinstance(messages[index], AssistantMessage):
            seen += 1
            if seen >= keep_recent:
                return index
    return 0


def _opens_with_a_block(text: str) -> bool:
    openings = block_openings(text.lstrip(), line_start=True)
    return bool(openings) and openings[0].start == 0


def _compacted(message: Message, by_id: dict[str, ToolCall], by_future: dict[str, ToolCall],
               recalls: Recalls) -> Message:
    """``message`` with its bulky results replaced by notes (the same object if nothing is)."""
    if isinstance(message, ToolMessage):
        if _opens_with_a_block(message.content):  # an await_future result
            text = _compact_blocks(message.content, by_future, recalls)
        elif len(message.content) >= BULKY_CHARS:
            text = note_for(by_id.get(message.call_id), len(message.content), recalls)
        else:
            return message
        return message if text == message.content else ToolMessage(message.call_id, message.name, text)
    if isinstance(message, UserMessage) and message.delivery:
        text = _compact_blocks(message.text, by_future, recalls)
        return message if text == message.text else UserMessage(text, delivery=True)
    return message


def _answers_a_call(message: Message) -> bool:
    """A tool message, or the delivery of future values: what belongs to the turn before it."""
    return isinstance(message, ToolMessage) or (isinstance(message, UserMessage) and message.delivery)


def _turns(messages: Sequence[Message], stop: int) -> list[tuple[int, int]]:
    """Droppable units before ``stop``: an assistant message with its tool messages and deliveries."""
    units: list[tuple[int, int]] = []
    index = 0
    while index < stop:
        if isinstance(messages[index], AssistantMessage):
            end = index + 1
            while end < stop and _answers_a_call(messages[end]):
                end += 1
            units.append((index, end))
            index = end
        else:
            index += 1
    return units


def compact(
    messages: Sequence[Message],
    budget_tokens: int,
    count: Count,
    *,
    keep_recent: int = 2,
    recalls: Recalls = NO_RECALLS,
) -> list[Message]:
    """The conversation made to fit ``budget_tokens`` (as measured by ``count``), changing as little
    and as old as possible. Each step runs only while the total is still over the budget:

    1. oldest first, bulky tool results outside the last ``keep_recent`` assistant turns become
       notes saying how to get them again (as ``recalls`` says for each tool);
    2. the same for the recent turns, except the last one;
    3. the oldest whole turns outside the recent ones are dropped, and one gap note says how many
       calls they held (so future ids can still be counted).
    The system message, user messages that are not deliveries, and the last turn are always kept, so
    the result may still exceed the budget when they alone do. Every tool call keeps its result.
    """
    out = list(messages)
    total = count(out)
    if total <= budget_tokens:
        return out
    by_id, by_future = _calls(messages)
    protected = _protected_from(out, keep_recent)
    for index in [*range(protected), *range(protected, _protected_from(out, 1))]:
        new = _compacted(out[index], by_id, by_future, recalls)
        if new is not out[index]:
            total += count([new]) - count([out[index]])
            out[index] = new
            if total <= budget_tokens:
                return out
    return _drop_oldest_turns(out, total, budget_tokens, count, protected)


def _drop_oldest_turns(out: list[Message], total: int, budget_tokens: int, count: Count,
                       protected: int) -> list[Message]:
    drop: set[int] = set()
    calls = 0
    for start, end in _turns(out, protected):
        if total <= budget_tokens:
            break
        total -= count(out[start:end])
        drop.update(range(start, end))
        calls += sum(len(m.tool_calls) for m in out[start:end] if isinstance(m, AssistantMessage))
    if not drop:
        return out
    # Earlier gap notes fold into the new one, which stands where the first dropped message was.
    old_notes = {i for i in range(protected) if _gap_calls(out[i])}
    calls += sum(_gap_calls(out[i]) for i in old_notes)
    drop |= old_notes
    gap = min(drop)
    kept = [m for i, m in enumerate(out) if i not in drop]
    position = sum(1 for i in range(gap) if i not in drop)
    return [*kept[:position], gap_note(calls), *kept[position:]]


class ContextBudget:
    """What a session sends the model: its history, compacted once it nears the window.

    One per session. The history stays complete (transcripts and resume see every message); only
    the requests are compacted (a model's summary, ``compaction.py``, is what rewrites the history). A compaction is remembered and later requests extend it with the
    new messages, so the request prefix (and the provider's prompt cache) stays stable until the
    next compaction, which happens only when the request grows past ``trigger`` again.
    """

    def __init__(
        self,
        window: int | Callable[[], int],
        count: Count,
        *,
        trigger: float = 0.85,
        target: float = 0.6,
        blocking: bool = False,
    ):
        """
        Args:
            window: the model's input window in tokens, or how to find it out on first use.
            count: the model's token counter.
            trigger: compact when a request would exceed this share of the window (the rest is
                room for tool schemas and the response).
            target: compact down to this share, so compactions (which break the prompt cache)
                are rare.
            blocking: counting may block (it loads and runs litellm's tokenizers), so ``fit``
                runs it in a worker thread.
        """
        self._window = window
        self.blocking = blocking
        self.count = count
        self.trigger = trigger
        self.target = target
        self._source: list[Message] = []
        self._sent: list[Message] = []

    @property
    def window(self) -> int:
        if callable(self._window):
            self._window = self._window()
        return self._window

    @classmethod
    def for_model(cls, model: str | None, window: int | None = None) -> ContextBudget:
        """The budget of ``model``; ``window`` overrides litellm's figure (Settings.context_tokens).

        Nothing is looked up here: litellm is asked on the first request (in a worker thread),
        so building a session never waits for its import.
        """
        return cls(lambda: context_window(model, window), message_counter(model),
                   blocking=counting_blocks(model))

    async def fit(self, history: Sequence[Message], recalls: Recalls = NO_RECALLS) -> list[Message]:
        """The messages to send for ``history``: the last request's messages plus what was
        appended since, compacted to ``target`` if that exceeds ``trigger`` (with ``recalls``
        saying how to get each tool's removed outputs back).

        May wait: a budget whose counting blocks (litellm's tokenizers, and litellm's first
        import for the window) counts in a worker thread, so the event loop (the TUI) never
        stalls; a cheap one counts right here.
        """
        if self.blocking:
            return await trio.to_thread.run_sync(self._fit, history, recalls)
        return self._fit(history, recalls)

    def _request(self, history: Sequence[Message]) -> list[Message]:
        """What the next request sends for ``history`` before any new compaction: the last
        request's messages plus what was appended since (or ``history`` itself when it was
        rewritten: a different history starts again from it)."""
        known = len(self._source)
        if known and len(history) >= known and list(history[:known]) == self._source:
            return [*self._sent, *history[known:]]
        return list(history)

    def _over_trigger(self, request: Sequence[Message]) -> bool:
        limit = self.window * self.trigger
        return byte_bound(request) > limit and self.count(request) > limit

    async def nears_window(self, history: Sequence[Message]) -> bool:
        """Whether the next request for ``history`` would exceed ``trigger`` (so ``fit`` would
        compact it): the moment to ask the model for a summary first. May wait, as ``fit``."""
        if self.blocking:
            return await trio.to_thread.run_sync(lambda: self._over_trigger(self._request(history)))
        return self._over_trigger(self._request(history))

    def _fit(self, history: Sequence[Message], recalls: Recalls) -> list[Message]:
        request = self._request(history)
        if self._over_trigger(request):
            request = compact(request, int(self.window * self.target), self.count, recalls=recalls)
        self._source, self._sent = list(history), request
        return list(request)

    def compact_now(self, history: Sequence[Message], recalls: Recalls = NO_RECALLS,
                    target_tokens: int | None = None) -> tuple[int, int]:
        """Compact what the next request sends now, even below ``trigger``, to ``target_tokens``
        (default: half its size): the deterministic compaction of /compact, and the fallback when
        a model summary fails. Later requests extend the result as usual. Sizes are estimated
        (characters), so this never waits for a tokenizer.

        Returns:
            The estimated tokens before and after.
        """
        request = self._request(history)
        before = estimate_message_tokens(request)
        target = before // 2 if target_tokens is None else target_tokens
        after = compact(request, target, estimate_message_tokens, recalls=recalls)
        self._source, self._sent = list(history), after
        return before, estimate_message_tokens(after)
