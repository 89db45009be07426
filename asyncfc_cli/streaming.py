"""One model response, streamed: its text as it comes, and each tool call handed to the scheduler
the moment its arguments are complete, so tools run while the model is still decoding (DESIGN.md,
"The futures protocol"). In the modes that dispatch at the end (``ModeRules.dispatch``) the calls
are held until the whole response is in, as conventional agents do.

The session's turn loop owns the request (the messages, the usage, the events around it) and asks
a ``ResponseReader`` for the response; the reader sees the model only as the ``ModelClient``
protocol and the scheduler only through ``submit``. It also measures the model's time to first
token, which the early-wait hold (``early_wait.py``) compares running calls against.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

from .events import EventBus, FirstToken, RequestRetry, TextDelta, ToolCallParsed
from .model.base import (
    Message,
    ModelClient,
    RequestSent,
    ResponseEnd,
    Retrying,
    TextChunk,
    ToolCall,
    ToolCallReady,
)
from .scheduler import FutureRecord, Scheduler

__all__ = ["Response", "ResponseReader"]


@dataclass(slots=True)
class Response:
    """One response as far as it has come: filled while it streams, so a response cut off (a
    provider error, Ctrl-C) still says what it said and which calls it started."""

    pieces: list[str] = field(default_factory=list)
    """Its text, in the pieces it streamed in."""
    records: list[FutureRecord] = field(default_factory=list)
    """The futures of its calls, in order: dispatched, or (dispatch at the end) once it is in."""
    held: list[ToolCall] = field(default_factory=list)
    """Calls waiting for the end of the response before they start (dispatch at the end)."""
    end: ResponseEnd = field(default_factory=ResponseEnd)
    """How it ended: finish reason and usage."""

    @property
    def text(self) -> str:
        return "".join(self.pieces)


class ResponseReader:
    """Reads the responses of one session, dispatching their calls to its scheduler.

    Args:
        bus: where text_delta, tool_call_parsed, first_token and request_retry go.
        scheduler: runs each call.
        call_ids: the provider call ids already in the history (a resumed session's): a new call
            that repeats one gets an id of its own.
    """

    def __init__(self, bus: EventBus, scheduler: Scheduler, call_ids: Iterable[str] = ()) -> None:
        self._bus = bus
        self._scheduler = scheduler
        self._call_ids = set(call_ids)
        self.dispatch_mid_stream = True
        """Start each call the moment its arguments are complete (else at the end of the response);
        the session sets it with its mode."""
        self.ttft: float | None = None
        """The model's time to first token, smoothed over the requests so far (None before the
        first): from the request being sent, so a client's start-up does not count."""

    async def read(self, response: Response, model: ModelClient, messages: Sequence[Message],
                   schemas: Sequence[dict[str, Any]], turn: int, started: float) -> None:
        """Stream the response to ``messages`` into ``response`` (the request ``turn``, begun at
        ``started`` on the session clock); once it is in, start the calls it held. If the stream
        fails, the exception propagates and ``response`` holds what came before it."""
        first_token = False
        sent = started
        async with aclosing(model.stream(messages, schemas)) as stream:
            async for item in stream:
                if isinstance(item, (TextChunk, ToolCallReady)) and not first_token:
                    first_token = True
                    self._first_token(turn, started, sent)
                if isinstance(item, RequestSent):
                    sent = self._bus.now()  # the TTFT is the model's: the client's start-up is over
                elif isinstance(item, TextChunk):
                    response.pieces.append(item.text)
                    self._bus.emit(TextDelta, turn=turn, text=item.text)
                elif isinstance(item, ToolCallReady):
                    call = self._parsed(item.call, len(response.records) + len(response.held), turn)
                    if self.dispatch_mid_stream:
                        response.records.append(self._scheduler.submit(call, turn))
                    else:
                        response.held.append(call)
                elif isinstance(item, Retrying):
                    self._bus.emit(RequestRetry, turn=turn, attempt=item.attempt, delay=item.delay,
                                   reason=item.reason)
                elif isinstance(item, ResponseEnd):
                    response.end = item
        # Conventional dispatch: the calls start only once the whole response is in.
        response.records.extend(self._scheduler.submit(call, turn) for call in response.held)
        response.held.clear()

    def _first_token(self, turn: int, started: float, sent: float) -> None:
        """Record the model's time to first token (from the request being sent) in the estimate
        the early-wait hold uses, and announce it."""
        ttft = self._bus.now() - sent
        self.ttft = ttft if self.ttft is None else 0.5 * (self.ttft + ttft)
        self._bus.emit(FirstToken, turn=turn, ttft=ttft, client_s=sent - started)

    def _parsed(self, call: ToolCall, index: int, turn: int) -> ToolCall:
        """The call with a unique id and its index in the response, announced as parsed."""
        call_id = call.call_id
        if not call_id or call_id in self._call_ids:
            # Some local servers send no ids, or repeat them; the provider needs them unique.
            call_id = f"call_{turn}_{index}_{len(self._call_ids)}"
        self._call_ids.add(call_id)
        call = ToolCall(call_id, call.name, call.arguments, index)
        self._bus.emit(ToolCallParsed, turn=turn, call_id=call.call_id, tool=call.name, index=index,
                       arguments=call.arguments)
        return call
