"""Hosting the trio engine inside Textual: trio guest mode on the app's own asyncio loop.

Textual owns the thread and its asyncio loop; ``trio.lowlevel.start_guest_run`` runs the engine's
trio code on that same loop, tick by tick. Because both live on one thread, an event-bus subscriber
can hand events to widgets with ``post_message`` directly, and views command the engine by
scheduling sync calls onto trio with its token (``call``). Shutting down cancels the engine's scope
and waits for the guest run to end: asyncio must never close under a running trio.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Any, Protocol

import trio

from ..events import EventBus

__all__ = ["Engine", "GuestHost"]


class Engine(Protocol):
    """What the TUI hosts: something that publishes events to a bus and takes a few commands.

    The commands are sync and are called on the trio side (``GuestHost.call``).
    """

    interactive: bool
    """False for a replay: prompts, cancels and approvals have nothing to act on."""

    async def run(self, bus: EventBus, inbox: trio.MemoryReceiveChannel[str]) -> None:
        """Run until cancelled, taking each message from ``inbox`` as a task."""
        ...

    def cancel_turn(self, exit_code: int = ...) -> None:
        """Cancel the running task; it ends with ``exit_code`` (130 by default, 143 for SIGTERM)."""
        ...

    def cancel_future(self, future_id: str) -> None: ...

    def resolve(self, future_id: str, decision: str) -> None: ...

    def command(self, name: str, argument: str) -> None:
        """A between-task command from the prompt (``/model NAME``); reports through the bus."""
        ...

    def wait_ends_recorded(self, timeout: float) -> bool:
        """Block (in a worker thread, never on the trio side) until the end of every task finished
        so far is recorded, at most ``timeout`` seconds; whether it is. /undo waits for it."""
        ...


class GuestHost:
    """Runs one ``Engine`` as a trio guest of the running asyncio loop. See the module docstring."""

    def __init__(self, engine: Engine, bus: EventBus) -> None:
        self.engine = engine
        self.bus = bus
        self.error: BaseException | None = None
        """What the engine raised, if it ended with an error (not a cancellation)."""
        self._token: trio.lowlevel.TrioToken | None = None
        self._scope: trio.CancelScope | None = None
        self._stop_requested = False
        self._done: asyncio.Future[None] | None = None
        self._send: trio.MemorySendChannel[str] | None = None
        self._early: list[str] = []
        """Prompts submitted before the guest run made its inbox (the task of `asyncfc run`)."""
        self.on_stopped: Callable[[BaseException | None], Any] | None = None

    @property
    def running(self) -> bool:
        return self._done is not None and not self._done.done()

    def start(self) -> None:
        """Start the guest run; call from a coroutine or callback on the running asyncio loop."""
        loop = asyncio.get_running_loop()
        self._done = loop.create_future()
        trio.lowlevel.start_guest_run(
            self._main,
            run_sync_soon_threadsafe=loop.call_soon_threadsafe,
            run_sync_soon_not_threadsafe=loop.call_soon,
            done_callback=self._finished,
            # asyncio takes signals through signal.set_wakeup_fd: without this, trio would
            # replace asyncio's wakeup descriptor with its own and the app's SIGTERM handler
            # (and Textual's own for SIGTSTP/SIGCONT) would never run.
            host_uses_signal_set_wakeup_fd=True,
        )
        self._token = trio.lowlevel.current_trio_token()

    async def _main(self) -> None:
        send, receive = trio.open_memory_channel[str](math.inf)
        self._send = send
        for text in self._early:
            send.send_nowait(text)
        self._early.clear()
        with trio.CancelScope() as scope:
            self._scope = scope
            if self._stop_requested:
                scope.cancel()
            async with send, receive:
                await self.engine.run(self.bus, receive)

    def _finished(self, result: Any) -> None:
        """Trio's done callback; ``result`` is an ``outcome.Value`` or ``outcome.Error``."""
        self.error = getattr(result, "error", None)
        if self._done is not None and not self._done.done():
            self._done.set_result(None)
        if self.on_stopped is not None:
            self.on_stopped(self.error)

    def call(self, fn: Callable[..., object], *args: object) -> None:
        """Run ``fn(*args)`` on the trio side soon (a no-op once the engine has stopped)."""
        if self._token is None or not self.running:
            return
        try:
            self._token.run_sync_soon(lambda: fn(*args))
        except trio.RunFinishedError:
            pass

    def submit(self, text: str) -> None:
        """Send a prompt to the engine's inbox."""
        self.call(self._deliver, text)

    def _deliver(self, text: str) -> None:
        if self._send is None:
            self._early.append(text)
        else:
            self._send.send_nowait(text)

    def _cancel(self) -> None:
        self._stop_requested = True
        if self._scope is not None:
            self._scope.cancel()

    async def aclose(self) -> None:
        """Cancel the engine and wait until the guest run has finished (idempotent)."""
        if self._done is None:
            return
        self.call(self._cancel)
        await asyncio.shield(self._done)

    async def wait(self) -> None:
        if self._done is not None:
            await asyncio.shield(self._done)


