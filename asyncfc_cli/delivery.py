"""Delivery bookkeeping: which futures the model holds as placeholders, and which values it got.

The session's turn loop asks this ledger three things (DESIGN.md, "The futures protocol"):

- when a turn closes, the tool message of each call (``tool_messages``): the value if its future
  has finished, else the placeholder, which the ledger remembers;
- before each request, what to deliver (``due``): the futures behind placeholders that finished
  since, as one user message of ``<future>`` blocks;
- before finishing, what is still owed (``outstanding``): a task never ends with work in flight.

Every value reaches the model once, and says how (``future_delivered``: in its own tool message,
in an ``await_future`` result, or in a delivery message). A future the model cancelled itself is
never delivered: ``cancel_future``'s own result told it so. No event loop here: the ledger reads
the scheduler's records and writes events, so it is tested on plain records.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from .events import EventBus, FutureDelivered, FuturePlaceholder
from .futures import Route, State, delivery_text, future_block, future_number, placeholder
from .model.base import ToolMessage, UserMessage
from .protocol_tools import Awaited
from .scheduler import FutureRecord

__all__ = ["Deliveries"]


class Deliveries:
    """The delivery ledger of one session (its futures' ids go on across tasks)."""

    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self._placeholders: set[str] = set()
        """Futures the model was handed as a placeholder (or a background call's start note)."""
        self._delivered: set[str] = set()
        """Futures whose value (or end) the model has been given."""

    def clear(self) -> None:
        """Forget the placeholders: a conversation started afresh owes the model nothing."""
        self._placeholders.clear()

    def tool_messages(self, records: Sequence[FutureRecord], turn: int) -> list[ToolMessage]:
        """One tool message per call of a closing turn, in order: the value if its future has
        finished (with what an ``await_future`` carried, delivered to the request ``turn``), a
        background call's start note, else the placeholder."""
        messages: list[ToolMessage] = []
        for rec in records:
            if rec.is_finished:
                content = rec.text or ""
                self._mark(rec.id, Route.TOOL, turn)
                for fid in _carried(rec):
                    self._mark(fid, Route.AWAIT, turn)
            elif rec.started_text is not None:
                content = rec.started_text
                self._placeholders.add(rec.id)  # its end, if it comes, is delivered like a value
            else:
                content = placeholder(rec.id, rec.state)
                self._placeholders.add(rec.id)
                self._bus.emit(FuturePlaceholder, id=rec.id, status=rec.state, turn=turn)
            messages.append(ToolMessage(rec.call.call_id, rec.tool, content))
        return messages

    def due(self, get: Callable[[str], FutureRecord | None], turn: int) -> UserMessage | None:
        """The delivery message for the request ``turn``: every future behind a placeholder that
        has finished and was not delivered yet, in id order; None if there is none."""
        blocks: list[str] = []
        for fid in sorted(self._placeholders - self._delivered, key=lambda f: future_number(f) or 0):
            rec = get(fid)
            if rec is None or not rec.is_finished:
                continue
            if _cancelled_by_model(rec):
                self._delivered.add(fid)
                continue
            blocks.append(future_block(fid, rec.state, rec.text or ""))
            self._mark(fid, Route.DELIVERY, turn)
        return UserMessage(delivery_text(blocks), delivery=True) if blocks else None

    def outstanding(self, futures: Mapping[str, FutureRecord]) -> list[str]:
        """Futures that are unfinished, or finished behind a placeholder and not yet delivered;
        background calls never count (they never hold the finish)."""
        return [
            fid for fid, rec in futures.items()
            if not rec.background and (not rec.is_finished or (
                fid in self._placeholders and fid not in self._delivered and not _cancelled_by_model(rec)))
        ]

    def _mark(self, fid: str, via: Route, turn: int) -> None:
        if fid in self._delivered:
            return
        self._delivered.add(fid)
        self._bus.emit(FutureDelivered, id=fid, via=via, turn=turn)


def _carried(rec: FutureRecord) -> tuple[str, ...]:
    """The futures whose values a finished call's result carries: an await_future's."""
    return rec.returned.delivered if isinstance(rec.returned, Awaited) else ()


def _cancelled_by_model(rec: FutureRecord) -> bool:
    """A future the model cancelled itself: cancel_future's own result already told it so."""
    return rec.state is State.CANCELLED and rec.cancelled_by is not None
