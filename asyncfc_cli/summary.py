"""Model-written compaction: the model summarises the conversation so far, and the summary replaces
the older history (``/compact [focus]``, and the automatic compaction near the context window).

The history splits in three (``split_history``): the system prompt (kept), the *older* messages
(summarised) and the *tail* (kept verbatim): the last turn, i.e. from the last assistant message or
user request on, so every tool call kept keeps its tool message. The summary request goes through
the session's own model client, with no tools offered: the ``compact`` prompt as its system
message, and one user message holding the older messages as text inside the
``<conversation-to-summarise>`` tags (``render_conversation``: text, so no provider sees a tool
call without its tool schema), the futures still owed, and the user's focus.

The futures protocol survives compaction. The delivery ledger is the session's and is not touched:
a future still running, or finished but not yet delivered, is delivered after the summary as
before. The summary message says which futures are still owed in words the engine writes, not the
model (``owed_note``), so no summary can make the model believe a pending future finished; and it
opens with the gap note (``futures.gap_note_text``) saying how many calls the summarised turns held,
so the model, the scripted model and the next compaction keep counting future ids.

Pure, except ``request_summary``, which streams the request and reports it on the bus. The
session decides when to compact and what to do when a summary fails (``compaction.Compactor``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from contextlib import aclosing
from dataclasses import dataclass

from asyncfc_prompts import SUMMARY_TAG, load_prompt

from .errors import AsyncfcError
from .events import EventBus, RequestFinished, RequestRetry, RequestStarted, TextDelta
from .futures import gap_note_calls, gap_note_text, future_id, truncate
from .model.base import (
    OUTPUT_LIMIT,
    AssistantMessage,
    Message,
    ModelClient,
    ResponseEnd,
    Retrying,
    SystemMessage,
    TextChunk,
    ToolMessage,
    Usage,
    UserMessage,
)

__all__ = [
    "SUMMARY_HEADER",
    "Owed",
    "Split",
    "Reply",
    "compacted_history",
    "is_summary_message",
    "owed_in",
    "owed_note",
    "render_conversation",
    "request_summary",
    "split_history",
    "summary_message",
    "summary_request",
]

SUMMARY_HEADER = "[This conversation was compacted: the summary below replaces its earlier messages."
"""How the message that holds a summary begins (after the gap note): views and fakes recognise
a compacted conversation by it (``is_summary_message``)."""
OWED_HEADER = ("Futures still owed to you when the conversation was compacted (whatever the summary "
               "says, their results are NOT known yet):")
"""How the list of futures still owed begins (``owed_note``; ``owed_in`` reads it back)."""
_OWED_LINE = re.compile(r"^- (f[1-9][0-9]*) ", re.MULTILINE)
RESULT_CHARS = 1_500
"""Each tool result and delivered value is shown to the summariser cut to about this many
characters: its head and tail, with a note of what was cut."""
ARGUMENT_CHARS = 300
"""Each call's arguments are shown cut to this many characters."""
CHARS_PER_TOKEN = 3
"""A cautious characters-per-token figure for sizing the summary request to the window."""


@dataclass(frozen=True, slots=True)
class Split:
    """A history cut for compaction (``split_history``)."""

    head: tuple[Message, ...]
    """The system prompt, kept as it is (empty when there is none)."""
    older: tuple[Message, ...]
    """What the summary replaces."""
    tail: tuple[Message, ...]
    """The last turn, kept verbatim: the last assistant message or user request and what follows."""
    calls: int
    """How many tool calls the older messages held (earlier gap notes included): the summary
    message's gap note says so, and future ids count on from it."""


@dataclass(frozen=True, slots=True)
class Owed:
    """A future the model is still owed when the conversation is compacted."""

    id: str
    tool: str
    arguments: str
    """The call's arguments as the model wrote them (JSON text)."""
    state: str
    """pending or running; done, failed or cancelled for one finished but not yet delivered."""
    background: bool = False


def is_summary_message(message: Message) -> bool:
    """Whether ``message`` is the summary that stands where compacted turns were."""
    return isinstance(message, UserMessage) and not message.delivery and SUMMARY_HEADER in message.text[:600]


def _starts_turn(message: Message) -> bool:
    return isinstance(message, AssistantMessage) or (
        isinstance(message, UserMessage) and not message.delivery and not is_summary_message(message))


def split_history(history: Sequence[Message]) -> Split | None:
    """``history`` cut into what to keep and what to summarise; None when there is nothing to
    summarise (no older message but the system prompt and an earlier summary): a compaction then
    can only be the deterministic one, and automatic compaction never summarises a summary."""
    head = tuple(history[:1]) if history and isinstance(history[0], SystemMessage) else ()
    body = list(history[len(head):])
    start = next((i for i in range(len(body) - 1, -1, -1) if _starts_turn(body[i])), None)
    if start is None:
        return None
    older, tail = body[:start], body[start:]
    if not [m for m in older if not is_summary_message(m)]:
        return None
    calls = sum(len(m.tool_calls) if isinstance(m, AssistantMessage) else
                gap_note_calls(m.text) if isinstance(m, UserMessage) else 0 for m in older)
    return Split(head, tuple(older), tuple(tail), calls)


# --------------------------------------------------------------------------------------------------
# The request


def _arguments(text: str) -> str:
    try:
        shown = json.dumps(json.loads(text or "{}"), ensure_ascii=False)
    except ValueError:
        shown = text
    return shown if len(shown) <= ARGUMENT_CHARS else shown[:ARGUMENT_CHARS - 1] + "…"


def render_conversation(messages: Sequence[Message], max_chars: int) -> str:
    """``messages`` as text for the summariser: who said what, each call with its future id and
    arguments, each result cut to ``RESULT_CHARS``; the whole cut to ``max_chars`` (its head and
    its end, with a note of what was cut). Future ids count as the session counts them: every
    call, after the calls earlier gap notes name."""
    number = 0
    ids: dict[str, str] = {}
    parts: list[str] = []
    for message in messages:
        if isinstance(message, AssistantMessage):
            lines = [f"ASSISTANT: {message.text.strip()}" if message.text.strip() else "ASSISTANT:"]
            for call in message.tool_calls:
                number += 1
                ids[call.call_id] = future_id(number)
                lines.append(f"  call {future_id(number)} {call.name} {_arguments(call.arguments)}")
            parts.append("\n".join(lines))
        elif isinstance(message, ToolMessage):
            fid = ids.get(message.call_id, "?")
            parts.append(f"RESULT of {fid} {message.name}:\n{truncate(message.content, RESULT_CHARS)}")
        elif isinstance(message, UserMessage) and message.delivery:
            parts.append(f"FUTURE VALUES DELIVERED:\n{truncate(message.text, RESULT_CHARS * 2)}")
        elif isinstance(message, UserMessage):
            number += gap_note_calls(message.text)
            parts.append(f"USER: {message.text.strip()}")
    return truncate("\n\n".join(parts), max_chars)


def owed_note(owed: Sequence[Owed]) -> str:
    """What the model is told of the futures still owed to it: written by the engine, never the
    model, so a summary cannot make a pending future look finished ('' when none is owed)."""
    if not owed:
        return ""
    lines = [OWED_HEADER]
    for item in owed:
        if item.state in ("pending", "running"):
            what = "still running in the background" if item.background else f"still {item.state}"
        else:
            what = f"finished ({item.state}); its value is delivered before your next turn"
        lines.append(f"- {item.id} {item.tool} {_arguments(item.arguments)}: {what}")
    lines.append("Their values are delivered before a later turn, one block per future, as any value is. "
                 'You can still pass "$fN" to a call, wait with await_future, or stop one with '
                 "cancel_future.")
    return "\n".join(lines)


def owed_in(message: Message) -> list[str]:
    """The ids a summary message lists as still owed (``owed_note``), in order; [] for any other
    message. A resumed session learns from it which futures it can no longer deliver."""
    if not is_summary_message(message):
        return []
    assert isinstance(message, UserMessage)
    at = message.text.rfind(OWED_HEADER)
    return [] if at < 0 else _OWED_LINE.findall(message.text, at)


def summary_request(older: Sequence[Message], owed: Sequence[Owed], focus: str,
                    window_tokens: int) -> list[Message]:
    """The messages of a summary request for ``older`` (no tools offered), sized to about half of
    ``window_tokens`` so it fits with room for the summary."""
    conversation = render_conversation(older, max(4_000, window_tokens * CHARS_PER_TOKEN // 2))
    parts = [f"<{SUMMARY_TAG}>\n{conversation}\n</{SUMMARY_TAG}>"]
    if owed:
        parts.append(owed_note(owed))
    if focus:
        parts.append(f"The user asks the summary to focus on: {focus}")
    parts.append("Write the summary now, in the sections the instructions give.")
    return [SystemMessage(load_prompt("compact")), UserMessage("\n\n".join(parts))]


def summary_message(summary: str, split: Split, owed: Sequence[Owed]) -> UserMessage:
    """The user message that stands where the older messages were: the gap note (the calls they
    held), the header, the model's summary, and the futures still owed."""
    parts = [gap_note_text(split.calls)] if split.calls else []
    parts.append(SUMMARY_HEADER + " Continue the work from it; ask the user only if the task needs it.]")
    parts.append(summary.strip())
    if owed:
        parts.append(owed_note(owed))
    return UserMessage("\n\n".join(parts))


def compacted_history(split: Split, message: UserMessage) -> list[Message]:
    """The history after a model summary: system prompt, summary message, then the kept tail."""
    return [*split.head, message, *split.tail]


# --------------------------------------------------------------------------------------------------
# Asking the model


@dataclass(frozen=True, slots=True)
class Reply:
    """What a summary request brought back (``request_summary``)."""

    summary: str
    """The model's summary, stripped ('' when it failed)."""
    usage: Usage
    """What the request cost (counted in the session's totals and limits even when it failed)."""
    failure: str = ""
    """Why there is no usable summary, in words ('' when there is one)."""


async def request_summary(model: ModelClient, messages: Sequence[Message], bus: EventBus,
                          turn: int) -> Reply:
    """Stream a summary request as the request ``turn`` (``request_started`` with purpose
    ``summary``, ``text_delta``, ``request_finished``) and say what came back. A provider error, a
    summary the output limit cut, a stream that ended without finishing and an empty answer are
    failures (``Reply.failure``), never exceptions; cancellation propagates."""
    bus.emit(RequestStarted, turn=turn, messages=len(messages), purpose="summary")
    pieces: list[str] = []
    end: ResponseEnd | None = None
    failure = ""
    try:
        await model.wait_ready()
        async with aclosing(model.stream(messages, [])) as stream:
            async for item in stream:
                if isinstance(item, TextChunk):
                    pieces.append(item.text)
                    bus.emit(TextDelta, turn=turn, text=item.text)
                elif isinstance(item, Retrying):
                    bus.emit(RequestRetry, turn=turn, attempt=item.attempt, delay=item.delay, reason=item.reason)
                elif isinstance(item, ResponseEnd):
                    end = item
    except AsyncfcError as exc:  # a provider's failure (ModelError), or any other of ours, in words
        failure = f"the model request failed: {exc}"
    finally:
        usage = end.usage if end is not None else Usage()
        bus.emit(RequestFinished, turn=turn, usage=usage.as_dict(), cost=usage.cost,
                 finish_reason=end.finish_reason if end is not None else "error")
    summary = "".join(pieces).strip()
    if not failure:
        failure = _failure(end, summary)
    return Reply("" if failure else summary, usage, failure)


def _failure(end: ResponseEnd | None, summary: str) -> str:
    """Why a complete stream gave no usable summary ('' when it did)."""
    if end is None:
        return "the model's reply ended without finishing"
    if end.finish_reason == OUTPUT_LIMIT:
        return "the output limit cut the summary short"
    if not summary:
        return "the model's summary was empty"
    return ""
