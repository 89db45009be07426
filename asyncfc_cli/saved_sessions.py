"""Past sessions of a repository, from their transcripts: list them, and pick one up again.

A session's transcript (``transcript.sessions_dir(root)``) records every history message as a
``message_appended`` event, so reading those back gives the conversation exactly as the model last
saw it. Resuming continues the same session: same id, same transcript file (appended to), the
restored history, future ids that keep counting where they stopped, a clock that counts on from
the transcript's last time, and the model, endpoint and mode in force when it stopped (after any
/model or /mode); the transcript records the resume as ``session_resumed``.

A transcript from elsewhere (``--resume FILE`` outside the user's sessions folder: one a repository
ships, say) is the repository's word, not the user's: it is never appended to, its session goes
on under a new id in a new transcript in the sessions folder that starts with the file's events,
and its model and endpoint are not taken (they choose where the user's key goes and what it
spends); a notice says so.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .config import MODES, Settings
from .errors import ConfigError
from .events import (
    Event,
    FutureCreated,
    FutureFinished,
    RequestStarted,
    SessionResumed,
    SessionStarted,
    SettingsChanged,
    event_from_dict,
    printable,
)
from .futures import block_openings, delivery_text, future_block, future_number, parse_placeholder
from .model.base import Message, ToolMessage, UserMessage
from .summary import owed_in
from .transcript import default_transcript_path, history_from_events, read_events, sessions_dir

__all__ = [
    "CONTINUE_TASK",
    "Resumed",
    "SessionInfo",
    "expand_resume_flag",
    "find_session",
    "format_sessions",
    "list_sessions",
    "load_resumed",
    "recovered_results",
    "resolve_resume",
    "resume_task",
    "unfinished_futures",
]

CONTINUE_TASK = "Continue the task from where you stopped."
"""The message a resumed run sends when it is given no new task."""
LAST = "last"
"""The session reference that means the most recent session."""


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """What the list of sessions shows about one transcript."""

    session_id: str
    path: Path
    modified: float
    """When the transcript was last written (seconds since the epoch)."""
    model: str = ""
    mode: str = ""
    task: str = ""
    """The first task of the session."""
    turns: int = 0
    outcome: str = ""
    """How its last run ended (finished, turn_limit, ...); empty if it never finished (a crash)."""
    messages: int = 0


@dataclass(frozen=True, slots=True)
class Resumed:
    """A session to continue: pass to ``app.build_engine(resume=...)``."""

    session_id: str
    transcript: Path
    """The transcript to keep appending to."""
    history: tuple[Message, ...]
    continues_at: float = 0.0
    """The transcript's last ``t``: the resumed session's clock counts on from it."""
    prior_turns: int = 0
    """Model requests the session has made so far."""
    futures_issued: int = 0
    """The highest future number the transcript recorded: new ids go on after it."""
    recovered: tuple[Message, ...] = ()
    """Messages the resumed session appends before anything else: the values of futures that were
    handed out as placeholders and finished (or were cancelled) after the model last saw them."""
    model: str = ""
    """The model in force when the session stopped (its last start, or a later /model)."""
    api_base: str = ""
    """Its endpoint, restored only from a transcript in the user's own sessions folder: a file
    elsewhere (one a repository ships) must not choose where the user's key is sent."""
    mode: str = ""
    """The mode in force when the session stopped (its last start, or a later /mode)."""
    prompt_mode: str = ""
    """The mode the recorded system prompt was written for (the first start's): when the resumed
    session runs in another mode, its system prompt is written afresh (``app.build_engine``)."""
    adopted_from: Path | None = None
    """The transcript outside the sessions folder this session was read from; the session then
    has an id of its own, and ``transcript`` is a new one in the sessions folder, which starts
    with ``carried``."""
    carried: tuple[Event, ...] = ()
    """The adopted transcript's events, without its model and endpoint, written first to the new
    transcript: it holds the whole session, as a resumed one of the user's own does."""
    earlier: tuple[Event, ...] = ()
    """Every event the transcript recorded (sub-agents' too; an adopted one's as ``carried``),
    type-checked as read: the TUI shows them as the earlier conversation before the resume. They
    are shown only, never published on the bus again nor written to the transcript again."""

    @property
    def notice(self) -> str:
        """What the person is told about the resume ('' when there is nothing to say)."""
        if self.adopted_from is None:
            return ""
        return (f"{self.adopted_from} is not one of your transcripts: its session goes on as session "
                f"{self.session_id}, in a new transcript ({self.transcript}), with the model and "
                "endpoint of your flags and configuration, not that file's")

    def settings_for(self, settings: Settings, *, model_flag: str | None, api_base_flag: str | None,
                     mode_flag: str | None = None) -> Settings:
        """``settings`` with the session's mode (unless ``--mode`` names one), and its model and
        endpoint, unless ``--model`` names another model (then the flags and configuration decide
        both, as for a new session)."""
        if self.mode and not mode_flag:
            settings = settings.replace(mode=self.mode)
        if model_flag or not self.model:
            return settings
        _check_reopenable(self.model, self.session_id)
        return settings.replace(model=self.model, api_base=api_base_flag or self.api_base or None)


def _check_reopenable(model: str, session_id: str) -> None:
    """Raise ConfigError, saying what to do, when ``model`` is a scripted model a resume cannot
    open again: a scenario file that is no longer there (a transcript records a file by its
    absolute path: ``scripted_model_name``), or, in a transcript written before that, a file's
    scenario recorded by its name alone."""
    from .model.scenario import SCENARIO_SUFFIXES, SCRIPTED_PREFIX, builtin_scenarios

    name = model.removeprefix(SCRIPTED_PREFIX)
    if not model.startswith(SCRIPTED_PREFIX) or name in builtin_scenarios() or Path(name).is_file():
        return
    if name.endswith(SCENARIO_SUFFIXES):
        raise ConfigError(f"session {session_id} ran the scripted model of the scenario file {name}, which "
                          "is no longer there: resume it with --model path/to/that/scenario.yaml")
    raise ConfigError(f"session {session_id} ran the scripted model {model!r} of a scenario file, and its "
                      "transcript (from an older asyncfc) records the scenario's name, not its file: "
                      "resume it with --model path/to/that/scenario.yaml")


def _summarize(path: Path) -> SessionInfo | None:
    """Skims a transcript's lines (no event objects built): None if it is not a session.

    Works on every part a resume appended (a ``session_resumed``, or in older transcripts another
    ``session_started``): turns are the requests recorded in all parts, even one that crashed; the
    outcome is the last part's.
    """
    fields: dict[str, str] = {}
    settings: list[Event] = []
    turns = messages = 0
    try:
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                try:
                    event = json.loads(line)
                except (ValueError, RecursionError):
                    continue  # a torn (or hostile) line: skimming must not fail on it
                kind = event.get("type") if isinstance(event, dict) else None
                if kind and event.get("parent"):
                    continue  # a sub-agent's event: not this session's story
                if kind in ("session_started", "session_resumed"):
                    fields["outcome"] = ""  # this part has not finished (yet)
                    fields.setdefault("session_id", _text(event, "session_id"))
                elif kind == "user_message":
                    fields.setdefault("task", _text(event, "text"))
                elif kind == "session_finished":
                    fields["outcome"] = _text(event, "outcome")
                if kind in _SETTINGS:
                    settings.extend(_settings_event(event))
                turns += kind == "request_started"
                messages += kind == "message_appended"
        modified = path.stat().st_mtime
    except OSError:
        return None
    if not fields.get("session_id"):
        return None
    last = _in_force(settings)
    return SessionInfo(path=path, modified=modified, turns=turns, messages=messages,
                       model=last.model if last else "", mode=last.mode if last else "", **fields)


_SETTINGS = frozenset({SessionStarted.type, SessionResumed.type, SettingsChanged.type})
"""The events that set the model and mode a session runs with (``_in_force``)."""


def _text(event: dict[str, object], key: str) -> str:
    """A text field of a skimmed line ('' if missing or not text: the file may say anything)."""
    value = event.get(key, "")
    return value if isinstance(value, str) else ""


def _settings_event(line: dict[str, object]) -> list[Event]:
    """A skimmed start, resume or settings change as its event (none if it is not a valid one)."""
    try:
        return [event_from_dict(line)]
    except ValueError:
        return []


def _in_force(events: Sequence[Event]) -> SessionStarted | SettingsChanged | None:
    """What set the model, endpoint and mode a session was running with when it stopped: its last
    start, resume or settings change (a /model or /mode). A resume continues with them, and the
    list of sessions shows them."""
    return next((e for e in reversed(events) if isinstance(e, (SessionStarted, SettingsChanged))
                 and e.parent is None), None)


def list_sessions(root: Path, limit: int | None = 20) -> list[SessionInfo]:
    """The sessions recorded for the repository at ``root``, most recently written first."""
    folder = sessions_dir(root)
    if not folder.is_dir():
        return []
    paths = sorted(folder.glob("*.jsonl"), key=lambda p: p.stat().st_mtime, reverse=True)
    found: list[SessionInfo] = []
    for path in paths:
        info = _summarize(path)
        if info is not None:
            found.append(info)
            if limit is not None and len(found) >= limit:
                break
    return found


def find_session(root: Path, ref: str | None = None, *, what: str = "--resume") -> SessionInfo:
    """The session ``ref`` names: None or ``last`` for the most recent, else a session id (or a
    unique prefix of one), or the path of a transcript file. ``what`` asked (for error messages).

    Raises:
        ConfigError: nothing matches, or a prefix matches several sessions.
    """
    if ref and ref != LAST and (ref.endswith(".jsonl") or os.sep in ref):
        path = Path(ref).expanduser()
        if not path.is_file():
            raise ConfigError(f"{what} {ref}: no such transcript file; `asyncfc sessions` lists the sessions")
        info = _summarize(path)
        if info is None:
            raise ConfigError(f"{what} {ref}: not a readable asyncfc transcript")
        return info
    sessions = list_sessions(root, limit=None)
    if not sessions:
        raise ConfigError(f"no sessions recorded for {root} yet: run a task first (`asyncfc run TASK`)")
    if ref is None or ref == LAST:
        return sessions[0]
    matches = [s for s in sessions if s.session_id == ref] or [
        s for s in sessions if s.session_id.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise ConfigError(f"{what} {ref}: no session of this repository has that id; "
                          "`asyncfc sessions` lists them")
    raise ConfigError(f"{what} {ref}: several sessions start with it "
                      f"({', '.join(s.session_id for s in matches[:5])}); give more of the id")


def load_resumed(info: SessionInfo, root: Path) -> Resumed:
    """The session's id, transcript, history, model, endpoint and mode, ready to continue. Model
    and endpoint only if the transcript lies in the sessions folder of the repository at ``root``;
    one elsewhere is adopted (see the module docstring): a file's word never chooses where the
    user's key goes.

    Raises:
        ConfigError: the transcript cannot be read or holds no conversation.
    """
    try:
        everything = list(read_events(info.path, nested=True))
        events = [e for e in everything if e.parent is None]
        history = history_from_events(events)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot resume {info.session_id}: {exc}") from None
    if not history:
        raise ConfigError(f"cannot resume {info.session_id}: its transcript holds no messages")
    issued = [future_number(e.id) or 0 for e in events if isinstance(e, FutureCreated)]
    recovered = recovered_results(history, events)
    last = _in_force(events)
    first_start = next((e for e in events if type(e) is SessionStarted), None)
    resumed = Resumed(
        info.session_id, info.path, tuple(history),
        continues_at=max(e.t for e in events),
        prior_turns=sum(isinstance(e, RequestStarted) for e in events),
        futures_issued=max(issued, default=0),
        recovered=(recovered,) if recovered else (),
        model=last.model if last else "", api_base=last.api_base if last else "",
        mode=_mode(last.mode if last else ""), prompt_mode=_mode(first_start.mode if first_start else ""),
        earlier=tuple(everything))
    if _inside(info.path, sessions_dir(root)):
        return resumed
    return _adopted(resumed, everything, root)


def _adopted(resumed: Resumed, events: Sequence[Event], root: Path) -> Resumed:
    """``resumed``, read from a transcript outside the sessions folder, as a session of its own:
    a new id (the file chose the old one, which may be one of the user's own sessions), a new
    transcript in the sessions folder that starts with the file's events, and no model or
    endpoint from the file."""
    session_id = secrets.token_hex(6)
    carried = tuple(_as_adopted(e, session_id) for e in events)
    return dataclasses.replace(resumed, session_id=session_id, transcript=default_transcript_path(root, session_id),
                               adopted_from=resumed.transcript, model="", api_base="", carried=carried,
                               earlier=carried)


def _mode(text: str) -> str:
    """A recorded mode, or '' if it names none (a transcript from elsewhere may say anything)."""
    return text if text in MODES else ""


def _as_adopted(event: Event, session_id: str) -> Event:
    """``event`` of an adopted transcript: its starts under the new ``session_id``, and no model or
    endpoint anywhere, so that the adopted file cannot choose them for a later resume either."""
    if isinstance(event, SessionStarted) and event.parent is None:
        event = dataclasses.replace(event, session_id=session_id)
    if isinstance(event, (SessionStarted, SettingsChanged)):
        fields = {"model": "", "api_base": ""}
        if isinstance(event, SessionStarted):
            fields["endpoint"] = ""
        return dataclasses.replace(event, **fields)  # type: ignore[arg-type]
    return event


def recovered_results(history: Sequence[Message], events: Sequence[Event]) -> UserMessage | None:
    """A delivery message for the futures the model was handed as placeholders and never got a
    value for, whose end the transcript recorded (a session stopped by a cut stream, Ctrl-C or
    SIGTERM records each future's end as it happens): the model learns what its calls did
    instead of issuing them again. None if there is nothing to deliver."""
    finished = {e.id: e for e in events if isinstance(e, FutureFinished)}
    blocks = [future_block(fid, finished[fid].status, finished[fid].output)
              for fid in unfinished_futures(history) if fid in finished]
    return UserMessage(delivery_text(blocks), delivery=True) if blocks else None


def _inside(path: Path, folder: Path) -> bool:
    try:
        Path(os.path.realpath(path)).relative_to(os.path.realpath(folder))
    except ValueError:
        return False
    return True


def expand_resume_flag(argv: Sequence[str]) -> list[str]:
    """Let ``--resume`` be given without a value (meaning the last session), which the option
    parser does not allow: a bare ``--resume`` (last, or followed by another option) becomes
    ``--resume last``. ``--resume WORD`` is left alone; ``asyncfc run`` treats a WORD that names no
    session as the task."""
    out: list[str] = []
    for index, arg in enumerate(argv):
        out.append(arg)
        if arg == "--":
            out.extend(argv[index + 1:])
            break
        if arg == "--resume":
            following = argv[index + 1] if index + 1 < len(argv) else None
            if following is None or following.startswith("-"):
                out.append(LAST)
    return out


def _when(seconds: float) -> str:
    return datetime.fromtimestamp(seconds).strftime("%Y-%m-%d %H:%M")


def _model_label(model: str) -> str:
    """A model as the table shows it: a scenario file by its file name, not its whole path."""
    from .model.scenario import SCRIPTED_PREFIX, scenario_label

    return SCRIPTED_PREFIX + scenario_label(model) if model.startswith(SCRIPTED_PREFIX) else model


def format_sessions(sessions: Sequence[SessionInfo], width: int = 100) -> str:
    """A table of sessions for ``asyncfc sessions`` (most recent first)."""
    if not sessions:
        return "No sessions in this repository yet."
    header = f"{'SESSION':<14}{'WHEN':<18}{'MODEL':<22}{'TURNS':>5}  {'OUTCOME':<12}TASK"
    rows = [header]
    for s in sessions:
        task = " ".join(s.task.split())
        row = printable(f"{s.session_id:<14}{_when(s.modified):<18}{_model_label(s.model)[:21]:<22}{s.turns:>5}  "
                        f"{(s.outcome or 'unfinished'):<12}{task}")  # a transcript's words: any characters
        rows.append(row if len(row) <= width else row[: width - 1] + "…")
    rows.append("\nResume one with: asyncfc run --resume [SESSION] [TASK]  (default: the latest)")
    return "\n".join(rows)


def unfinished_futures(history: Sequence[Message]) -> list[str]:
    """Futures the model was handed as placeholders (or that a compaction summary lists as still
    owed) and never got a value for: the session stopped (a limit, Ctrl-C, a crash) while they ran,
    and a resumed session cannot deliver them."""
    handed = [p[0] for m in history if isinstance(m, ToolMessage) and (p := parse_placeholder(m.content))]
    handed = [*(fid for m in history for fid in owed_in(m) if fid not in handed), *handed]
    shown = {opening.id for m in history if isinstance(m, (UserMessage, ToolMessage))
             for opening in block_openings(m.text if isinstance(m, UserMessage) else m.content)}
    return [fid for fid in handed if fid not in shown]


def resume_task(history: Sequence[Message], task: str | None) -> str:
    """The first message of a resumed run: the task (or CONTINUE_TASK), after a word on futures
    that will never be delivered, so the model does not wait for them."""
    text = task or CONTINUE_TASK
    lost = unfinished_futures(history)
    if lost:
        ids = ", ".join(lost)
        text = (f"[The session was resumed. {ids} did not finish before it stopped and will not be "
                f"delivered: call again what you still need.]\n\n{text}")
    return text


def resolve_resume(root: Path, ref: str, task: str | None) -> tuple[Resumed, str]:
    """The session ``asyncfc run --resume REF [TASK]`` continues, and the task it runs.

    Since ``--resume`` may be given without a value, ``--resume "add a test"`` reaches us as a
    reference and no task: a reference of several words that names no session is then the task,
    for the latest session. Without a task the model is asked to continue where it stopped.

    Raises:
        ConfigError: no session to resume, or an ambiguous or unknown reference.
    """
    try:
        info = find_session(root, ref)
    except ConfigError:
        if task is not None or " " not in ref.strip() or ref.endswith(".jsonl"):
            raise
        info, task = find_session(root, None), ref
    resumed = load_resumed(info, root)
    return resumed, resume_task((*resumed.history, *resumed.recovered), task)
