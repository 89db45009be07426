"""The two engines the TUI can host: a live session, or a recorded transcript played back."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Any, Protocol

import trio

from .. import events as ev
from ..errors import EXIT_INTERRUPTED

__all__ = ["ReplayEngine", "SessionEngine", "WiredSession"]


class WiredSession(Protocol):
    """What the TUI's engine factory builds (``app.Engine`` is one): the TUI is handed it, and
    never wires a model, tools or a gate itself (only the command line does)."""

    @property
    def session(self) -> Any:
        """Has ``serve(inbox)``, ``cancel_turn(exit_code=)`` and ``cancel_future(id)``."""

    @property
    def gate(self) -> Any:
        """The approval gate the session's scheduler asks (``resolve(id, decision)``,
        ``wait_ends_recorded(timeout)``), or None."""

    def close(self) -> None:
        """Closes its transcript and sandbox: called when the app ends."""

    @property
    def controls(self) -> Any:
        """Carries out /model, /mode, /approval, /clear, /compact, or None."""

    def serving(self) -> AbstractAsyncContextManager[object]:
        """Keeps the session's services (MCP servers) running while it serves."""
        ...


class SessionEngine:
    """A live ``Session`` serving the prompts the user submits; commands go straight to it.

    Args:
        session: has ``serve(inbox)``, ``cancel_turn()`` and ``cancel_future(id)``.
        gate: the approval gate the session's scheduler asks (``resolve(id, decision)``), or None.
        on_close: called when the engine stops (e.g. to close the transcript file).
        serving: keeps the session's services (MCP servers) running while it serves
            (``app.Engine.serving``).
        controls: carries out /model, /mode, /approval, /clear, /compact (``controls.SessionControls``).
    """

    interactive = True

    def __init__(self, session: Any, gate: Any = None, on_close: Callable[[], object] | None = None,
                 controls: Any = None,
                 serving: Callable[[], AbstractAsyncContextManager[object]] = nullcontext) -> None:
        self.session = session
        self.gate = gate
        self.controls = controls
        self._on_close = on_close
        self._serving = serving

    async def run(self, bus: ev.EventBus, inbox: trio.MemoryReceiveChannel[str]) -> None:
        try:
            async with self._serving():
                await self.session.serve(inbox)
        finally:
            if self._on_close is not None:
                self._on_close()

    def cancel_turn(self, exit_code: int = EXIT_INTERRUPTED) -> None:
        """Cancel the running task, which ends with ``exit_code`` (130; 143 for SIGTERM)."""
        self.session.cancel_turn(exit_code=exit_code)

    def cancel_future(self, future_id: str) -> None:
        self.session.cancel_future(future_id)

    def resolve(self, future_id: str, decision: str) -> None:
        if self.gate is not None and hasattr(self.gate, "resolve"):
            self.gate.resolve(future_id, decision)

    def command(self, name: str, argument: str) -> None:
        """A between-task command (/model NAME ...); it reports through the bus."""
        if self.controls is not None:
            self.controls.run(name, argument)

    def wait_ends_recorded(self, timeout: float) -> bool:
        """Worker thread: whether the end of every finished task is recorded within ``timeout``
        seconds (the gate records them; without a gate there is nothing to wait for)."""
        return self.gate is None or bool(self.gate.wait_ends_recorded(timeout))


class ReplayEngine:
    """Publishes recorded events at their recorded pace divided by ``speed``.

    Idle stretches between tasks (a user thinking) are shortened to ``max_idle`` session seconds, so
    a replay never sits still for minutes. Commands do nothing: the past cannot be changed.
    """

    interactive = False

    def __init__(self, events: Sequence[ev.Event], speed: float = 1.0, max_idle: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.events = list(events)
        self.speed = speed
        self.max_idle = max_idle
        self.finished = trio.Event()

    def schedule(self) -> list[float]:
        """When (seconds after the replay starts) each event is published."""
        out: list[float] = []
        at, prev_t, idle = 0.0, None, True
        for event in self.events:
            gap = 0.0 if prev_t is None else max(0.0, event.t - prev_t)
            own = event.parent is None  # a sub-agent's start and finish say nothing of idleness
            if idle and own and isinstance(event, (ev.UserMessage, ev.RequestStarted)):
                gap = min(gap, self.max_idle)
            at += gap / self.speed
            out.append(at)
            prev_t = event.t
            if not own:
                continue
            if isinstance(event, ev.SessionFinished):
                idle = True
            elif isinstance(event, (ev.UserMessage, ev.RequestStarted)):
                idle = False
        return out

    async def run(self, bus: ev.EventBus, inbox: trio.MemoryReceiveChannel[str]) -> None:
        start = trio.current_time()
        for at, event in zip(self.schedule(), self.events):
            await trio.sleep_until(start + at)
            bus.publish(event)
        self.finished.set()
        await trio.sleep_forever()

    def cancel_turn(self, exit_code: int = EXIT_INTERRUPTED) -> None:
        pass

    def cancel_future(self, future_id: str) -> None:
        pass

    def resolve(self, future_id: str, decision: str) -> None:
        pass

    def command(self, name: str, argument: str) -> None:
        pass

    def wait_ends_recorded(self, timeout: float) -> bool:
        return True  # a replay records nothing

