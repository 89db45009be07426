"""The interactive terminal UI (Textual): a live timeline of decoding beside every in-flight future.

Public surface (Textual is imported lazily, inside these functions, so importing this package is
cheap):

- ``run_tui(settings, workspace, task=, profile=)``: open the app on a live session (what the CLI calls).
- ``run_session_tui(make_session, task)``: the same on any session ``make_session(bus)`` builds.
- ``run_replay(path, speed)``: play a JSON-lines transcript in the app.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["run_replay", "run_session_tui", "run_tui", "session_engine"]


def run_tui(settings: Any, workspace: Any, *, task: str | None = None, profile: str | None = None,
            resume: Any = None) -> int:
    """Open the TUI on a live session wired by ``asyncfc_cli.app.build_engine`` (interactive: the
    approval policy defaults to ``ask``) and return the exit code. ``resume`` (a
    ``saved_sessions.Resumed``) continues a recorded session with its history.

    A configuration error (no model, bad profile) is printed and returned as its exit code before
    any screen is drawn.
    """
    from ..app import build_engine
    from ..errors import AsyncfcError

    def make_session(bus: Any) -> Any:
        return build_engine(settings, workspace, bus=bus, interactive=True, profile=profile,
                            resume=resume)

    try:
        return run_session_tui(make_session, task)
    except AsyncfcError as exc:
        print(f"asyncfc: {exc}", file=sys.stderr)
        return exc.exit_code


def run_session_tui(make_session: Callable[[Any], Any], task: str | None = None) -> int:
    """Open the TUI on whatever session ``make_session`` builds; the seam ``run_tui`` uses.

    Args:
        make_session: called once with the app's ``EventBus`` before the app starts; returns
            ``(session, gate)``, or an object with ``session``, ``gate`` and optionally
            ``transcript`` (closed when the app ends), like ``build_engine``'s result.
            ``session`` has ``serve``, ``cancel_turn`` and ``cancel_future``; ``gate`` has
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
    serving = getattr(built, "serving", None)
    return SessionEngine(built.session, getattr(built, "gate", None), on_close=closer,
                         controls=getattr(built, "controls", None),
                         **({"serving": serving} if serving is not None else {}))


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


def _run(app: Any) -> int:
    code = app.run()
    return int(code) if code is not None else 0
