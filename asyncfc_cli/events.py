"""The event vocabulary and the bus that fans it out.

Everything that happens in a session is one of these frozen records, stamped with ``t``: seconds on
the session clock (trio's clock, so tests under ``MockClock`` see exact times). The TUI, the headless
renderers, the transcript and the benchmark all consume the same stream and never reach back into
the session except through its narrow command interface.

Serialised form (JSON lines, transcripts): ``{"type": ..., "t": ..., **fields}``.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import json
import math
import re
import sys
import time
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Concatenate, ParamSpec, TypeVar, cast

from asyncfc_tools import Display

from .futures import Route, State
from .redaction import EventRedactor, secrets_in
from .redaction import redact as redact_text

__all__ = [
    "Display",
    "Event",
    "EventBus",
    "event_from_dict",
    "event_to_dict",
    "event_to_json",
    "EVENT_TYPES",
    "printable",
    "printable_fields",
    "redact",
]


@dataclass(frozen=True, slots=True)
class Event:
    """Base of all events.

    ``t`` is the only positional field (every event's own fields are keyword-only): it is the one
    the bus stamps, so ``EventBus.emit`` can type the rest of an event's fields as its parameters.
    """

    type: ClassVar[str] = "event"
    t: float
    """Seconds since the session started, on trio's clock (a resumed session counts on from where its
    transcript stopped)."""
    parent: str | None = field(default=None, kw_only=True)
    """For an event of a sub-agent's nested session: the id of the ``agent`` future that started it
    (its own ids, ``f1``..., count within the sub-agent). None for the session's own events."""


EVENT_TYPES: dict[str, type[Event]] = {}
"""Event classes by their ``type`` string (filled by ``_event``)."""

E = TypeVar("E", bound=Event)
Fields = ParamSpec("Fields")


def _event(name: str) -> Callable[[type[E]], type[E]]:
    def register(cls: type[E]) -> type[E]:
        cls.type = name
        EVENT_TYPES[name] = cls
        return cls

    return register


@_event("session_started")
@dataclass(frozen=True, slots=True, kw_only=True)
class SessionStarted(Event):
    session_id: str
    """Unique id of this session (also the transcript's name)."""
    model: str
    """The model as named on the command line, e.g. ``openai/gpt-4.1`` or ``scripted:demo``."""
    mode: str
    """async, sync or serial."""
    approval: str = "auto"
    """read-only, ask or auto."""
    root: str = ""
    """The workspace root."""
    scripted: bool = False
    """True when the model is the offline scripted client, so every view can say so."""
    api_base: str = ""
    """The endpoint the model is reached at, when one was set (``--api-base``); a resume restores
    it with the model."""
    endpoint: str = ""
    """Where model requests go: the api_base, else the provider's default endpoint (never a key;
    empty for the scripted model), so the user sees where a repository's config would send them."""
    sandbox: str = "off"
    """Where shell commands and test runs run: on (the OS sandbox confines them), off (the user
    turned it off) or unavailable (it cannot run here: unconfined, or refused if required)."""
    network: bool = True
    """Whether those commands can reach the network (false: a loopback shared by the session)."""


@_event("session_resumed")
@dataclass(frozen=True, slots=True, kw_only=True)
class SessionResumed(SessionStarted):
    """A recorded session picked up again (``asyncfc run --resume``), in place of a second
    session_started: one transcript holds one start, then one of these per resume. It is a
    SessionStarted (same fields), so a view that learns the session's id or model from its start
    learns them here too; readers that count starts look at ``type``."""

    continues_at: float = 0.0
    """``t`` of the last event recorded before the resume: this run's clock counts on from it, so
    ``t`` never goes backwards within one transcript."""
    prior_turns: int = 0
    """Model requests the session made before the resume (this run numbers its own from 1)."""


@_event("user_message")
@dataclass(frozen=True, slots=True, kw_only=True)
class UserMessage(Event):
    text: str
    """What the user asked (a task or a chat message)."""


@_event("request_started")
@dataclass(frozen=True, slots=True, kw_only=True)
class RequestStarted(Event):
    turn: int
    """1-based number of this model request within the session."""
    messages: int = 0
    """How many messages the request carries."""
    purpose: str = "turn"
    """turn: a step of the task; summary: the model summarises the conversation to compact it
    (its text is the summary; ``conversation_compacted`` follows)."""


@_event("request_retry")
@dataclass(frozen=True, slots=True, kw_only=True)
class RequestRetry(Event):
    turn: int
    attempt: int
    """The attempt that failed (1-based)."""
    delay: float
    """Seconds until the next attempt."""
    reason: str
    """What went wrong, e.g. ``HTTP 429`` or ``connection reset``."""


@_event("first_token")
@dataclass(frozen=True, slots=True, kw_only=True)
class FirstToken(Event):
    turn: int
    ttft: float
    """The model's time to first token: seconds from the request being sent to the first streamed
    token (``t - client_s - ttft`` is the request's start)."""
    client_s: float = 0.0
    """Seconds the client spent before sending the request (litellm's import and set-up on the
    first request, retry back-off); not part of ``ttft``."""


@_event("text_delta")
@dataclass(frozen=True, slots=True, kw_only=True)
class TextDelta(Event):
    turn: int
    text: str
    """A piece of assistant text as it streamed."""


@_event("tool_call_parsed")
@dataclass(frozen=True, slots=True, kw_only=True)
class ToolCallParsed(Event):
    turn: int
    call_id: str
    """The provider's id of the call."""
    tool: str
    index: int
    """Position of the call within its response (0-based)."""
    arguments: str
    """The raw JSON text of the arguments, as the model wrote it."""


@_event("future_created")
@dataclass(frozen=True, slots=True, kw_only=True)
class FutureCreated(Event):
    id: str
    """``f1``, ``f2``, ... in issue order within the session."""
    tool: str
    args: Any
    """Parsed arguments (a dict), or the raw text if they were not valid JSON."""
    deps: tuple[str, ...] = ()
    """Futures whose values this call takes through ``$fN`` references."""
    waits_on: tuple[str, ...] = ()
    """Earlier futures it must wait for to keep program order (effect conflicts)."""
    effect: str = "pure"
    """pure, reads, writes, runs or exclusive."""
    call_id: str = ""
    turn: int = 0
    display: str = Display.CALL
    """How views show the call, as its tool declares (``Display``: call, command, tests, edit or
    write). Views decide from this, never from the tool's name; "call" (name and arguments) for an
    unknown tool. A transcript recorded before this field reads as declared (``transcript``)."""
    subject: str = ""
    """The argument that says what the call is about, as its tool declares (``path``,
    ``command``, ``pattern``, ``url``, ``task``...); "" for none."""


@_event("future_started")
@dataclass(frozen=True, slots=True, kw_only=True)
class FutureStarted(Event):
    id: str


@_event("future_finished")
@dataclass(frozen=True, slots=True, kw_only=True)
class FutureFinished(Event):
    id: str
    status: State
    """done, failed or cancelled (``futures.FINISHED``)."""
    duration: float
    """Seconds the tool ran (0 if it never started)."""
    summary: str
    """One line for views: the first line of the result or the error."""
    output: str = ""
    """The full result text, exactly as the model is shown it."""


@_event("future_output")
@dataclass(frozen=True, slots=True, kw_only=True)
class FutureOutput(Event):
    """Output of a running command, in order, coalesced (a few per second per future at most)."""

    id: str
    text: str
    """The output since the previous future_output of this future (stdout and stderr as they came;
    a burst too long for one event keeps its end, after a note of how much was skipped)."""


@_event("background_started")
@dataclass(frozen=True, slots=True, kw_only=True)
class BackgroundStarted(Event):
    """A background command (``shell(background=true)``) is up: the model has been told so, and
    its future goes on running until it exits, is cancelled, or the session (headless: the task)
    ends. It never holds the finish."""

    id: str
    output: str = ""
    """Its first output, as the model was shown it."""


@_event("background_stopped")
@dataclass(frozen=True, slots=True, kw_only=True)
class BackgroundStopped(Event):
    """A background command still running was stopped (with its whole process group) because the
    task or the session ended; its future_finished (cancelled) follows."""

    id: str
    command: str
    reason: str
    """Why, e.g. ``the task ended``."""


@_event("footprint_violation")
@dataclass(frozen=True, slots=True, kw_only=True)
class FootprintViolation(Event):
    """A shell command with declared ``writes`` changed files outside them (its result tells the
    model; calls that ran beside it may have seen those files mid-change)."""

    id: str
    declared: tuple[str, ...]
    """The paths and globs the command declared."""
    paths: tuple[str, ...]
    """Files it changed that no declared path covers."""


@_event("files_changed")
@dataclass(frozen=True, slots=True, kw_only=True)
class FilesChanged(Event):
    """A command (shell, run_tests) changed workspace files while it ran, as the change watch saw
    them (ignored files and caches left out); emitted before its ``future_finished``."""

    id: str
    paths: tuple[str, ...]
    """The files created, modified or deleted, workspace-relative, sorted."""


@_event("future_placeholder")
@dataclass(frozen=True, slots=True, kw_only=True)
class FuturePlaceholder(Event):
    id: str
    status: State
    """pending or running: what the placeholder told the model."""
    turn: int


@_event("future_delivered")
@dataclass(frozen=True, slots=True, kw_only=True)
class FutureDelivered(Event):
    id: str
    via: Route
    """tool (its own tool message), delivery (the user message before a request) or await."""
    turn: int
    """The request the value goes into (the next one)."""


@_event("approval_requested")
@dataclass(frozen=True, slots=True, kw_only=True)
class ApprovalRequested(Event):
    id: str
    tool: str
    preview: str
    """What will happen: the diff, the content or the command."""
    network: bool = False
    """The call runs a command the sandbox keeps off the network: the view may offer network
    access, to this one command (the decision "network") or to its rule (network_session,
    network_always)."""
    rule: str = ""
    """The allow rule the decisions "session" and "always" add (``allow_rules.suggest_rule``: the
    tool, or a prefix of a command such as ``shell(npm test*)``); "" before this field existed."""


@_event("approval_resolved")
@dataclass(frozen=True, slots=True, kw_only=True)
class ApprovalResolved(Event):
    id: str
    decision: str
    """An ``approval.Decision``: once, network (once, with network access), session, always,
    network_session, network_always (the rule with network access) or deny (the gate owns the
    decisions; the event carries the value)."""


@_event("checkpoint_created")
@dataclass(frozen=True, slots=True, kw_only=True)
class CheckpointCreated(Event):
    ref: str
    commit: str


@_event("message_appended")
@dataclass(frozen=True, slots=True, kw_only=True)
class MessageAppended(Event):
    message: Mapping[str, Any]
    """A history entry in wire form (role, content, tool_calls...); resume replays these."""


@_event("settings_changed")
@dataclass(frozen=True, slots=True, kw_only=True)
class SettingsChanged(Event):
    """The user changed the session's model, mode or approval policy between tasks (the TUI's
    /model, /mode, /approval). Each field holds the value now in force."""

    model: str
    mode: str
    approval: str
    scripted: bool = False
    api_base: str = ""


@_event("conversation_cleared")
@dataclass(frozen=True, slots=True, kw_only=True)
class ConversationCleared(Event):
    """The user started the conversation afresh (/clear): the history is the system prompt alone,
    so a resume rebuilds only the messages recorded after this."""


@_event("conversation_compacted")
@dataclass(frozen=True, slots=True, kw_only=True)
class ConversationCompacted(Event):
    """The conversation was compacted (/compact, or a request nearing the context window). By the
    model: its summary replaced the older messages of the history, so a resume rebuilds the
    history as ``message`` plus the last ``kept`` messages. By the fallback: old tool results
    became notes in what requests send (the history stays whole). None: nothing changed."""

    by: str
    """model, fallback or none."""
    reason: str = "user"
    """user (/compact) or auto (a request neared the context window)."""
    messages_before: int = 0
    messages_after: int = 0
    tokens_before: int = 0
    """Estimated tokens of what the next request would send, before and after."""
    tokens_after: int = 0
    summary: str = ""
    """The model's summary ('' unless ``by`` is model)."""
    focus: str = ""
    """What the user asked the summary to focus on (/compact FOCUS)."""
    why: str = ""
    """Why the model did not summarise, in words ('' when it did)."""
    kept: int = 0
    """How many of the last messages of the history were kept after the summary message."""
    message: Mapping[str, Any] = field(default_factory=dict)
    """The summary message as the model is given it (wire form; empty unless ``by`` is model)."""

    def headline(self) -> str:
        """One line for views: who compacted, why, and the sizes before and after."""
        when = "as you asked" if self.reason == "user" else "near the context window"
        if self.by == "none":
            return f"conversation not compacted ({when}): {self.why}"
        sizes = f"about {self.tokens_before:,} -> {self.tokens_after:,} tokens"
        if self.by == "model":
            return (f"conversation compacted by the model's summary ({when}): {self.messages_before} -> "
                    f"{self.messages_after} messages, {sizes}")
        return f"conversation compacted without a summary ({when}): old tool results became notes, {sizes}"


@_event("notice")
@dataclass(frozen=True, slots=True, kw_only=True)
class Notice(Event):
    level: str
    """info, warning or error."""
    message: str


@_event("request_finished")
@dataclass(frozen=True, slots=True, kw_only=True)
class RequestFinished(Event):
    turn: int
    usage: Mapping[str, int] = field(default_factory=dict)
    """prompt_tokens, completion_tokens, total_tokens."""
    cost: float | None = None
    """USD, when the model's price is known."""
    finish_reason: str = "stop"
    tool_calls: int = 0


@_event("session_finished")
@dataclass(frozen=True, slots=True, kw_only=True)
class SessionFinished(Event):
    outcome: str
    """An ``errors.Ending``: finished, turn_limit, cost_limit, output_limit, model_error,
    config_error or interrupted (read back from a transcript as the text it was written as)."""
    exit_code: int
    message: str = ""
    """What happened, in a sentence a user can act on."""
    turns: int = 0
    usage: Mapping[str, int] = field(default_factory=dict)
    cost: float | None = None


# --------------------------------------------------------------------------------------------------
# Serialisation

_secrets_cache: tuple[str, ...] | None = None


def _secrets() -> tuple[str, ...]:
    global _secrets_cache
    if _secrets_cache is None:
        _secrets_cache = secrets_in()
    return _secrets_cache


def redact(text: str) -> str:
    """Replace the value of every key-like environment variable in ``text`` with ``[redacted]``
    (a complete text: streamed pieces go through the bus's ``EventRedactor``)."""
    return redact_text(text, _secrets())


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` without control characters (newlines and tabs kept). What a command prints, what a
    file holds and what a model writes go to the user's terminal: an escape sequence in them could
    set the clipboard (OSC 52), retitle the window or clear what ran."""
    return _CONTROL.sub("", text)


def printable_fields(event: Event) -> Event:
    """``event`` with the control characters taken out of its text (``printable``): a name, a
    reason or a message in it may come from a model, a command or a transcript a repository
    shipped, and goes to the user's terminal (the text view, the TUI). The event itself when it has
    none (most)."""
    changed: dict[str, Any] = {}
    for f in dataclasses.fields(event):
        value = getattr(event, f.name)
        cleaned = _printable_value(value)
        if cleaned != value:
            changed[f.name] = cleaned
    return dataclasses.replace(event, **changed) if changed else event


def _printable_value(value: Any) -> Any:
    """``value`` with ``printable`` applied to every string in it (a call's arguments are JSON)."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, tuple | list):
        return type(value)(_printable_value(v) for v in value)
    if isinstance(value, Mapping):
        return {_printable_value(k): _printable_value(v) for k, v in value.items()}
    return value


def event_to_dict(event: Event) -> dict[str, Any]:
    """``{"type", "t", **fields}`` with tuples as lists (JSON-ready)."""
    data: dict[str, Any] = {"type": event.type, "t": round(event.t, 6)}
    for f in dataclasses.fields(event):
        if f.name == "parent" and event.parent is None:
            continue  # the session's own events keep their shape
        if f.name != "t":
            value = getattr(event, f.name)
            data[f.name] = list(value) if isinstance(value, tuple) else value
    return data


def event_to_json(event: Event) -> str:
    """One JSON line, with secrets redacted: the only way events leave the process. Always valid
    JSON: a number that is not finite (NaN, infinity) is written as null."""
    return redact(json.dumps(_finite(event_to_dict(event)), ensure_ascii=False, default=str,
                             allow_nan=False))


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def event_from_dict(data: Mapping[str, Any]) -> Event:
    """Rebuild an event from its serialised form (for replay and resume).

    The trust boundary of recorded events: a transcript may come from anywhere (a repository can
    ship one), so every field is checked against its declared type (``_field_value``) and views
    can index with what they get (a ``subject`` is text, a ``usage`` an object of numbers...).

    Raises:
        ValueError: unknown event type, or fields that do not fit it (named, in words).
    """
    cls = EVENT_TYPES.get(str(data.get("type")))
    if cls is None:
        raise ValueError(f"unknown event type {data.get('type')!r}")
    kinds = _field_kinds(cls.type)
    try:
        kwargs = {k: _field_value(k, kinds[k], v) for k, v in data.items() if k in kinds}
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"bad {cls.type} event: {exc}") from None


@functools.cache
def _field_kinds(event_type: str) -> dict[str, Any]:
    """The declared type of each field of the events of ``event_type`` (``t`` included), resolved."""
    cls = EVENT_TYPES[event_type]
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


_KIND_NAMES: dict[Any, str] = {str: "text", int: "a whole number", float: "a finite number", bool: "true or false"}
_SHAPE_NAMES: dict[Any, str] = {tuple: "a list of text", Mapping: "an object with text keys"}


def _field_value(name: str, kind: Any, value: Any) -> Any:
    """``value`` read back as a field of type ``kind``: lists become tuples, the futures protocol's
    words its enums (``State``, ``Route``). A number must be finite (views draw and sleep by it;
    ``event_to_json`` writes one that is not as null, which only an optional field takes).

    Raises:
        ValueError: ``value`` is not of that type.
    """
    if kind is Any:
        return value
    options = typing.get_args(kind) if isinstance(kind, types.UnionType) else ()
    if options:  # ``X | None``
        return None if value is None else _field_value(name, options[0], value)
    if kind in (State, Route):
        return kind(value)
    origin = typing.get_origin(kind)
    if origin is tuple and isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return tuple(value)
    if origin is Mapping and isinstance(value, dict) and all(isinstance(k, str) for k in value):
        item = typing.get_args(kind)[1]
        return {k: _field_value(f"{name}.{k}", item, v) for k, v in value.items()}
    if kind in _KIND_NAMES and _is(kind, value):
        return value
    wanted = _SHAPE_NAMES.get(origin) or _KIND_NAMES.get(kind, str(kind))
    raise ValueError(f"{name} should be {wanted}, not {_json_kind(value)}")


def _is(kind: type, value: Any) -> bool:
    """Whether JSON ``value`` is a ``kind`` (str, int, float or bool; a bool is no number, an
    integer is a float, and a float is finite)."""
    if isinstance(value, bool) or kind is bool:
        return kind is bool and isinstance(value, bool)
    if kind is float:
        return isinstance(value, int | float) and math.isfinite(value)
    return isinstance(value, kind)


def _json_kind(value: Any) -> str:
    """What a JSON value is, in words (``a list``, ``null``...)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    for kind, words in ((bool, "true or false"), (str, "text"), (int | float, "a number"),
                        (list, "a list of other things"), (dict, "an object")):
        if isinstance(value, kind):
            return words
    return "null" if value is None else type(value).__name__


# --------------------------------------------------------------------------------------------------
# The bus

Subscriber = Callable[[Event], object]


def _session_clock() -> float:
    """trio's clock inside a run (so MockClock governs tests); the monotonic clock outside one
    (a session that fails before trio starts still reports its end)."""
    import trio

    try:
        return trio.current_time()
    except RuntimeError:
        return time.monotonic()


class EventBus:
    """Fans each event out to every subscriber, in subscription order, synchronously.

    Subscribers must be quick and must not raise; one that raises is reported on stderr once and
    dropped, so a broken view can never take a session down.

    Every event passes the redactor first (``redaction.EventRedactor``): subscribers see secrets
    neither whole nor split across streamed pieces, so no view, log or transcript can show one.

    Events of sub-agents (those with a ``parent``) go only to subscribers that asked for them
    (``nested=True``): a view written for one session never mistakes a sub-agent's ``f1`` or its
    ``session_finished`` for its own.

    An event a subscriber emits while it is handed one goes out once that one has reached every
    subscriber: all of them see every event in the same order (a notice prompted by the session's
    start never comes before the start in a view subscribed after the one that emitted it).
    """

    def __init__(self, clock: Callable[[], float] = _session_clock, *, offset: float = 0.0,
                 redactor: EventRedactor | None = None) -> None:
        """``offset``: what ``now()`` reads when the clock starts (0 for a new session).
        ``redactor``: the filter every event goes through (default: the secrets of os.environ)."""
        self._redactor = redactor or EventRedactor.from_environment()
        self._clock = clock
        self._origin: float | None = None
        self._offset = offset
        self._resumed: dict[str, Any] | None = None
        self._subscribers: list[Subscriber] = []
        self._nested: list[Subscriber] = []
        self._queue: collections.deque[Event] = collections.deque()
        self._delivering = False

    def resume_at(self, continues_at: float, prior_turns: int = 0) -> None:
        """Serve a session that continues a recorded one (call before it starts).

        The clock counts on from ``continues_at`` (the transcript's last ``t``) instead of 0, and
        the session's start, emitted as ``session_started``, goes out as ``session_resumed``
        carrying where it continues: the session announces itself the same way either way, and
        the bus, which owns the clock, tells the two apart.
        """
        self._offset = continues_at
        self._resumed = {"continues_at": continues_at, "prior_turns": prior_turns}

    @property
    def secrets(self) -> tuple[str, ...]:
        """What the bus redacts (for others that must keep the same secrets out, e.g. the history
        a session sends the model)."""
        return self._redactor.secrets

    def keep_secret(self, value: str) -> None:
        """Redact ``value`` from every later event too."""
        self._redactor.add(value)

    def start_clock(self) -> None:
        """Make ``now()`` count from this moment (called once when the session starts)."""
        self._origin = self._clock()

    def now(self) -> float:
        """Seconds on the session clock."""
        if self._origin is None:
            self.start_clock()
        return self._clock() - (self._origin or 0.0) + self._offset

    def subscribe(self, subscriber: Subscriber, *, nested: bool = False) -> Callable[[], None]:
        """Add a subscriber (``nested``: it also gets sub-agents' events); returns a function that
        removes it."""
        self._subscribers.append(subscriber)
        if nested:
            self._nested.append(subscriber)

        def remove() -> None:
            for group in (self._subscribers, self._nested):
                if subscriber in group:
                    group.remove(subscriber)

        return remove

    def emit(self, cls: Callable[Concatenate[float, Fields], E], *args: Fields.args,
             **fields: Fields.kwargs) -> E:
        """Build an event of class ``cls`` from ``fields``, stamped with the session clock, and hand
        it to every subscriber.

        Typed: ``t`` is the bus's, and the rest of ``cls``'s fields are this call's parameters, so
        the type checker checks every ``emit`` like a constructor call (a misspelt or missing field,
        a value of the wrong type, a ``t`` given by the caller). Events have no positional fields
        but ``t``, so ``args`` is always empty.
        """
        event = cls(self.now(), *args, **fields)
        if type(event) is SessionStarted and self._resumed is not None:
            event = cast(E, self._resumed_start(event))  # a SessionStarted, as asked
        self.publish(event)
        return event

    def _resumed_start(self, start: Event) -> SessionResumed:
        """The start of a session that continues a recorded one (see ``resume_at``)."""
        values = {f.name: getattr(start, f.name) for f in dataclasses.fields(start)}
        return SessionResumed(**values, **self._resumed or {})

    def publish(self, event: Event) -> None:
        """Hand an already-built event (e.g. from a transcript being replayed) to every subscriber,
        redacted (which may hold back a streamed piece, or release one held before it)."""
        for redacted in self._redactor(event):
            self._fan_out(redacted)

    def _fan_out(self, event: Event) -> None:
        self._queue.append(event)
        if self._delivering:
            return  # emitted by a subscriber: it goes out after the event being handed out
        self._delivering = True
        try:
            while self._queue:
                self._deliver(self._queue.popleft())
        except BaseException:
            self._queue.clear()  # (a subscriber's Exception is caught in _deliver: this is an abort)
            raise
        finally:
            self._delivering = False

    def _deliver(self, event: Event) -> None:
        for subscriber in list(self._subscribers):
            if event.parent is not None and subscriber not in self._nested:
                continue
            try:
                subscriber(event)
            except Exception as exc:  # noqa: BLE001 - a broken view must not end the session
                self._subscribers.remove(subscriber)
                print(f"asyncfc: {_subscriber_failed(subscriber, exc)}", file=sys.stderr)


def _subscriber_failed(subscriber: Subscriber, exc: Exception) -> str:
    """What to tell the user when a view stopped taking events, in words: the session goes on
    without it (a closed output, as in ``asyncfc run ... | head``, is the usual case)."""
    name = getattr(subscriber, "__qualname__", type(subscriber).__name__)
    if isinstance(exc, BrokenPipeError):
        return (f"standard output was closed: {name} stopped showing the session, which goes on "
                "without it (Ctrl-C stops it)")
    return f"{name} failed ({type(exc).__name__}: {exc}) and stopped showing the session, which goes on without it"
