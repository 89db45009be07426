"""What a running call reports before it returns: live output and a background start.

``CallReporter`` is the engine's side of ``asyncfc_tools.CallProgress``: one per running call, it
turns what the tool reports into the call's record and events (future_output, background_started,
footprint_violation).

Output: a running command's output is coalesced into ``future_output`` events and kept as a tail.

A command may print thousands of lines a second; views need to follow it, not drown in it. So the
output of one future goes out in order, the first piece at once and then at most one event per
``interval`` (everything printed meanwhile in one event), each at most ``max_chars`` long (a burst
longer than that keeps its end, after a note of what was skipped). The last ``tail_chars`` are kept
for ``await_future`` with a timeout and for views. Times are on trio's clock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import trio

from .events import BackgroundStarted, EventBus, FilesChanged, FootprintViolation, FutureOutput
from .futures import background_started

if TYPE_CHECKING:
    from .scheduler import FutureRecord

__all__ = ["CallReporter", "OutputPump", "INTERVAL_S"]

INTERVAL_S = 0.1
"""At most one future_output event per future per this many seconds."""
MAX_EVENT_CHARS = 4_000
TAIL_CHARS = 4_000


class OutputPump:
    """See the module docstring. ``emit(text)`` publishes one future_output event.

    ``feed`` and ``close`` are sync (called on trio's thread); ``run`` is the task that spaces the
    events out, started by whoever owns the call's nursery, and ended by ``close``.
    """

    def __init__(self, emit: Callable[[str], object], *, interval: float = INTERVAL_S,
                 max_chars: int = MAX_EVENT_CHARS, tail_chars: int = TAIL_CHARS) -> None:
        self._emit = emit
        self._interval = interval
        self._max_chars = max_chars
        self._tail_chars = tail_chars
        self._pending = ""
        self._skipped = 0
        self._tail = ""
        self._more = trio.Event()
        self._scope: trio.CancelScope | None = None
        self._closed = False

    def feed(self, text: str) -> None:
        """Take more output (kept in order; published by ``run`` or ``close``)."""
        if self._closed or not text:
            return
        self._tail = (self._tail + text)[-self._tail_chars:]
        self._pending += text
        if len(self._pending) > 2 * self._max_chars:
            self._skipped += len(self._pending) - self._max_chars
            self._pending = self._pending[-self._max_chars:]
        self._more.set()

    def flush(self) -> None:
        """Publish what is pending now, as one event."""
        if not self._pending:
            return
        text, self._pending = self._pending, ""
        if len(text) > self._max_chars:
            self._skipped += len(text) - self._max_chars
            text = text[-self._max_chars:]
        if self._skipped:
            text = f"[... {self._skipped} characters of output skipped ...]\n{text}"
            self._skipped = 0
        self._emit(text)

    async def run(self) -> None:
        """Publish pending output at most once per interval, until ``close``."""
        with trio.CancelScope() as self._scope:
            if self._closed:
                return
            while True:
                await self._more.wait()
                self._more = trio.Event()
                self.flush()
                await trio.sleep(self._interval)

    def close(self) -> None:
        """Publish what is left and stop (the call has ended: its last output precedes its end)."""
        self.flush()
        self._closed = True
        if self._scope is not None:
            self._scope.cancel()

    def tail(self, max_lines: int = 20) -> str:
        """The last ``max_lines`` lines of output so far (within the kept characters)."""
        return "\n".join(self._tail.rstrip("\n").split("\n")[-max_lines:])


class CallReporter:
    """One running call's ``CallProgress``: see the module docstring.

    Args:
        rec: the call's record (its live output, start text and ``settled`` event are set here).
        bus: where the events go.
        nursery: where the call runs; its output pump runs there too.
    """

    def __init__(self, rec: FutureRecord, bus: EventBus, nursery: trio.Nursery) -> None:
        self._rec = rec
        self._bus = bus
        self._nursery = nursery

    def output(self, text: str) -> None:
        rec = self._rec
        if rec.is_finished:
            return
        if rec.live is None:
            rec.live = OutputPump(lambda chunk: self._bus.emit(FutureOutput, id=rec.id, text=chunk))
            self._nursery.start_soon(rec.live.run, name=f"output of {rec.id}")
        rec.live.feed(text)

    def started(self, text: str) -> None:
        """A background call is up: the model is told ``text`` now, and later calls that waited
        for it go on."""
        rec = self._rec
        if rec.is_finished or rec.started_text is not None or not rec.background:
            return
        rec.started_text = background_started(rec.id, text)
        self._bus.emit(BackgroundStarted, id=rec.id, output=text)
        rec.settled.set()

    def changed_outside(self, declared: Sequence[str], paths: Sequence[str]) -> None:
        self._bus.emit(FootprintViolation, id=self._rec.id, declared=tuple(declared), paths=tuple(paths))

    def changed(self, paths: Sequence[str]) -> None:
        self._bus.emit(FilesChanged, id=self._rec.id, paths=tuple(paths))
