"""The interactive terminal UI (Textual): a live timeline of decoding beside every in-flight future.

Public surface (Textual is imported lazily, inside these functions, so importing this package is
cheap):

- ``run_tui(make_session, task)``: open the app on a live session built by ``make_session(bus)``.
- ``run_replay(path, speed)``: play a JSON-lines transcript in the app.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["run_replay", "run_tui", "session_engine"]


def run_tui(make_session: Callable[[Any], Any], task: str | None = None) -> int:
    """Open the TUI on a live session and return the exit code.

    Args:
        make_session: called once with the app's ``EventBus`` before the app starts; returns
            ``(session, gate)``, or an object with ``session``, ``gate`` and optionally
            ``transcript`` (closed when the app ends), like ``asyncfc_cli.app.build_engine``'s
            result. ``session`` has ``serve``, ``cancel_turn`` and ``cancel_future``; ``gate`` has
            ``resolve(future_id, decision)`` (or is None). Errors it raises propagate unchanged.
        task: submitted at once when given (``asyncfc run TASK`` in a terminal).

    Returns:
        The task's exit code when ``task`` was given and it finished; 130 if the user quit while a
        task was running; 0 otherwise.
    """
    from ..events import EventBus
    from .app import AsyncfcApp

    bus = EventBus()
    app = AsyncfcApp(session_engine(make_session(bus)), bus=bus, task=task)
    return _run(app)


def session_engine(built: Any) -> Any:
    """A ``SessionEngine`` from what ``make_session`` returned (a pair or an engine record)."""
    from .engines import SessionEngine

    if isinstance(built, tuple):
        session, gate = built
        return SessionEngine(session, gate)
    closer = getattr(getattr(built, "transcript", None), "close", None)
    return SessionEngine(built.session, getattr(built, "gate", None), on_close=closer)


def run_replay(path: Path, speed: float = 1.0) -> int:
    """Play a recorded transcript (one event per line) in the TUI, ``speed`` times faster than it ran.

    Raises:
        OSError: the file cannot be read.
        ValueError: it is not a transcript, or ``speed`` is not positive.
    """
    from ..transcript import read_events
    from .app import AsyncfcApp
    from .engines import ReplayEngine

    engine = ReplayEngine(list(read_events(path)), speed=speed)
    app = AsyncfcApp(engine, rate=speed)
    return _run(app)


def _run(app: Any) -> int:
    code = app.run()
    return int(code) if code is not None else 0
