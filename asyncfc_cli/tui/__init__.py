"""The interactive terminal UI (Textual): a live timeline of decoding beside every in-flight future.

Public surface (Textual is imported lazily, inside these functions, so importing this package is
cheap):

- ``run_tui(make_engine, task=)``: open the app on the session ``make_engine(bus)`` builds (what
  the CLI calls, with ``app.build_engine``: the TUI never wires an engine itself).
- ``session_engine(wired)``: the engine the app hosts, from what such a factory built.
- ``run_replay(path, speed)``: play a JSON-lines transcript in the app.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..events import Event, EventBus
    from .app import AsyncfcApp
    from .engines import SessionEngine, WiredSession

__all__ = ["run_replay", "run_tui", "session_engine"]


def run_tui(make_engine: Callable[[EventBus], WiredSession], task: str | None = None,
            earlier: Sequence[Event] = ()) -> int:
    """Open the TUI on the session ``make_engine`` builds and return the exit code.

    Args:
        make_engine: called once with the app's ``EventBus`` before the app starts; returns the
            session and what drives it (``engines.WiredSession``; ``app.Engine`` is one, which
            ``cli.py`` builds with ``app.build_engine``, interactive: the approval policy defaults
            to ``ask``). Its transcript is closed when the app ends.
        task: submitted at once when given (``asyncfc run TASK`` in a terminal).
        earlier: a resumed session's recorded events (``Resumed.earlier``), shown first as its
            earlier conversation (``AsyncfcApp.show_earlier``).

    Returns:
        The task's exit code when ``task`` was given and it finished; 130 if the user quit while a
        task was running; 0 otherwise. A configuration error ``make_engine`` raises (no model, bad
        profile) is printed and returned as its exit code before any screen is drawn.
    """
    from ..errors import AsyncfcError
    from ..events import EventBus
    from .app import AsyncfcApp

    bus = EventBus()
    try:
        engine = session_engine(make_engine(bus))
    except AsyncfcError as exc:
        print(f"asyncfc: {exc}", file=sys.stderr)
        return exc.exit_code
    return _run(AsyncfcApp(engine, bus=bus, task=task, earlier=earlier))


def session_engine(wired: WiredSession) -> SessionEngine:
    """The ``SessionEngine`` the app hosts, from what an engine factory built."""
    from .engines import SessionEngine

    return SessionEngine(wired.session, wired.gate, on_close=wired.close, controls=wired.controls,
                         serving=wired.serving)


def run_replay(path: Path, speed: float = 1.0) -> int:
    """Play a recorded transcript (one event per line) in the TUI, ``speed`` times faster than it ran.

    Raises:
        OSError: the file cannot be read.
        ValueError: it is not a transcript, or ``speed`` is not positive.
    """
    from ..transcript import read_events
    from .app import AsyncfcApp
    from .engines import ReplayEngine

    engine = ReplayEngine(list(read_events(path, nested=True)), speed=speed)  # sub-agents' lanes too
    app = AsyncfcApp(engine, rate=speed)
    return _run(app)


def _run(app: AsyncfcApp) -> int:
    code = app.run()
    return int(code) if code is not None else 0
