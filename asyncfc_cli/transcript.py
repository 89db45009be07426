"""JSON-lines transcripts: every event, written and flushed the moment it happens, so a crash loses
nothing already seen; read back for replay and resume.

Default place: ``$XDG_STATE_HOME/asyncfc/sessions/<repo-key>/<UTC time>-<session id>.jsonl``
(``~/.local/state`` by default), one folder per repository, so the user's tree stays clean.
A transcript holds the whole conversation (code, command output), so it is readable by its owner
only: files 0600, and the folders asyncfc creates for them 0700.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from asyncfc_tools import ToolFacts

from .events import (
    ConversationCleared,
    ConversationCompacted,
    Event,
    MessageAppended,
    RequestStarted,
    SessionResumed,
    SessionStarted,
    event_from_dict,
    event_to_json,
)
from .model.base import Message, SystemMessage, UserMessage
from .model.wire import message_from_wire

__all__ = [
    "TranscriptWriter",
    "as_declared",
    "continuous",
    "default_transcript_path",
    "history_from_events",
    "open_private",
    "read_events",
    "sessions_dir",
    "state_dir",
]


def state_dir() -> Path:
    """asyncfc's state folder, ``$XDG_STATE_HOME/asyncfc`` (default ``~/.local/state/asyncfc``):
    transcripts, and what else asyncfc keeps of its own (screenshots)."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "asyncfc"


def sessions_dir(root: Path) -> Path:
    """Where the transcripts of the repository at ``root`` live."""
    real = os.path.realpath(root)
    key = f"{Path(real).name or 'root'}-{hashlib.sha1(real.encode()).hexdigest()[:10]}"
    return state_dir() / "sessions" / key


def default_transcript_path(root: Path, session_id: str) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return sessions_dir(root) / f"{stamp}-{session_id}.jsonl"


def _make_private_dirs(folder: Path) -> None:
    """Create ``folder`` and its missing parents as 0700 (``mkdir(parents=True)`` would give the
    parents the default mode); folders that exist are left as they are."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        path.mkdir(mode=0o700, exist_ok=True)


def open_private(path: Path) -> IO[str]:
    """Open ``path`` for appending text, readable and writable by its owner only (0600), creating
    it and its folders (0700) if needed. A file that exists is narrowed to 0600 too."""
    _make_private_dirs(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.fchmod(fd, 0o600)
    except OSError:
        pass  # not ours to change (another user's file we may append to): leave it
    return os.fdopen(fd, "a", encoding="utf-8")


class TranscriptWriter:
    """An event subscriber that appends one JSON line per event (redacted: the bus redacts every
    event, and ``event_to_json`` every line) and flushes it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = open_private(path)

    def __call__(self, event: Event) -> None:
        if self._file is None:
            return
        self._file.write(event_to_json(event) + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def read_events(path: Path, *, nested: bool = False) -> Iterator[Event]:
    """The events of a transcript, in order. A torn last line (a crash mid-write) is skipped.
    Transcripts written before ``session_resumed`` existed read as if written now (``continuous``),
    and so do those written before ``future_created`` carried ``display`` (``as_declared``).
    Sub-agents' events (with a ``parent``) are left out unless ``nested``: the session's own
    history, turns and clock are what resume and replay read.

    Raises:
        OSError: the file cannot be read.
        ValueError: a line in the middle is not an event.
    """
    with path.open(encoding="utf-8") as handle:
        lines = handle.readlines()
    return continuous(e for e in _parse(path, lines) if nested or e.parent is None)


def _parse(path: Path, lines: list[str]) -> Iterator[Event]:
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield event_from_dict(as_declared(json.loads(line)))
        except RecursionError:  # a hostile file nesting lists 100,000 deep
            raise ValueError(f"{path}:{number}: not a transcript event: nested too deeply") from None
        except (json.JSONDecodeError, ValueError) as exc:
            if number == len(lines):
                return
            raise ValueError(f"{path}:{number}: not a transcript event: {exc}") from None


def as_declared(data: Any) -> Any:
    """A recorded event as this version writes it: a ``future_created`` written before tools
    declared how views show them (no ``display`` field) gets what a built-in tool of its name
    declares (``ToolFacts.display``, ``.subject``), so an old session replays as it looked; any
    other record, and a call of a tool that is not built in, is left as it is (shown generically)."""
    if not isinstance(data, dict) or data.get("type") != "future_created" or "display" in data:
        return data
    facts = _builtin_facts().get(str(data.get("tool")))
    return data if facts is None else {**data, "display": facts.display.value, "subject": facts.subject}


@functools.cache
def _builtin_facts() -> dict[str, ToolFacts]:
    from asyncfc_tools import builtin_tools

    from .protocol_tools import engine_tools

    return {name: spec.facts for name, spec in {**builtin_tools(), **engine_tools()}.items()}


def continuous(events: Iterable[Event]) -> Iterator[Event]:
    """``events`` on one clock with one start: a ``session_started`` after the first (what a resume
    wrote before ``session_resumed`` existed, with its clock back at 0) becomes a
    ``session_resumed``, and the times of its part count on from the last time before it. Other
    transcripts pass through unchanged."""
    started = False
    offset = last_t = 0.0
    turns = 0
    for event in events:
        own = event.parent is None  # a sub-agent's start is not a resume, nor its requests turns
        if type(event) is SessionStarted and own:
            if started:
                offset = last_t
                fields = {f.name: getattr(event, f.name) for f in dataclasses.fields(event)}
                event = SessionResumed(**fields, continues_at=last_t, prior_turns=turns)
            started = True
        if offset:
            event = dataclasses.replace(event, t=event.t + offset)
        turns += own and isinstance(event, RequestStarted)
        last_t = max(last_t, event.t)
        yield event


def history_from_events(events: Iterator[Event] | list[Event]) -> list[Message]:
    """The conversation a transcript recorded, message for message (for resume): after a
    ``conversation_cleared``, only its system prompt and what followed; after a model's
    ``conversation_compacted``, its system prompt, the summary message, the messages it kept and
    what followed; sub-agents' conversations are their own.

    Raises:
        ValueError: a recorded message is not one asyncfc writes (a transcript is hostile input).
    """
    history: list[Message] = []
    for event in events:
        if event.parent is not None:
            continue
        if isinstance(event, MessageAppended):
            history.append(_recorded_message(event.message, event.t))
        elif isinstance(event, ConversationCleared):
            history = [m for m in history[:1] if isinstance(m, SystemMessage)]
        elif isinstance(event, ConversationCompacted) and event.by == "model" and event.message:
            head = [m for m in history[:1] if isinstance(m, SystemMessage)]
            kept = history[len(head):][-event.kept:] if event.kept > 0 else []
            summary = _recorded_message(event.message, event.t)
            if not isinstance(summary, UserMessage):
                raise ValueError(f"the summary recorded at {event.t:.2f}s is not a user message")
            history = [*head, summary, *kept]
    return history


def _recorded_message(wire: Any, t: float) -> Message:
    """A message a transcript recorded (at ``t``), read back.

    Raises:
        ValueError: it is not one asyncfc writes.
    """
    try:
        return message_from_wire(wire)
    except (KeyError, TypeError, AttributeError):
        raise ValueError(f"the message recorded at {t:.2f}s is not one asyncfc writes") from None
