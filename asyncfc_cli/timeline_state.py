"""The timeline of a session as plain data: a pure state model fed one event at a time.

``TimelineState.apply(event)`` folds the session's event stream into a model lane (one bar per
request: start, first token, streamed text, end, and the moments tool calls were dispatched), one
lane per future (created, started, finished, state, dependencies) and running totals (turns, tokens,
cost). It is the view model the front ends share: the TUI draws it at a time ``now`` (its timeline,
futures table and status bar), the benchmark's Gantt plot (``bench/plot.py``) draws it after the
fact. No Textual, no Rich, no clock: the caller says what time it is. It reads only the vocabulary
(events, the futures protocol), so it sits below every front end and none needs another's.

The records are mutable for speed (hundreds of updates per second under load); views must treat
them as read-only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from . import events as ev
from .futures import AWAIT_FUTURE, FINISHED, State, last_line

__all__ = ["FutureLane", "RequestBar", "SessionInfo", "TimelineState"]

LIVE_OUTPUT_CHARS = 64_000


@dataclass(slots=True)
class RequestBar:
    """One model request on the model lane."""

    turn: int
    start: float
    first_token: float | None = None
    """When the first token streamed (None while waiting for it)."""
    end: float | None = None
    """When the response ended (None while it streams)."""
    chars: int = 0
    """Assistant text streamed so far, in characters."""
    calls: list[float] = field(default_factory=list)
    """When each tool call of this response was parsed (dispatched)."""
    completion_tokens: int = 0
    """From the usage reported at the end (0 until then)."""
    retries: int = 0

    def end_at(self, now: float) -> float:
        """Where the bar ends when drawn at ``now``: its end, or the present while it streams."""
        return self.end if self.end is not None else max(now, self.start)


@dataclass(slots=True)
class FutureLane:
    """One future: one lane on the timeline and one row of the futures table."""

    id: str
    tool: str
    args: Any
    created: float
    deps: tuple[str, ...] = ()
    """Futures whose values this call takes (``$fN`` references)."""
    waits_on: tuple[str, ...] = ()
    """Earlier futures it waits for to keep program order."""
    effect: str = "pure"
    turn: int = 0
    state: State = State.PENDING
    """pending, running, done, failed or cancelled (a ``future_finished`` or the task's end)."""
    started: float | None = None
    finished: float | None = None
    duration: float = 0.0
    summary: str = ""
    output: str = ""
    approval: str = ""
    """"" (none asked), "asked", or the answer (an ``approval.Decision``: once, network, session,
    always or deny)."""
    approval_preview: str = ""
    approval_asked: float | None = None
    """When the user was asked to approve it (None: never asked)."""
    approval_answered: float | None = None
    """When the user answered (None: not yet, or never asked): the wait between the two stays
    an approval wait on the timeline after the fact."""
    delivered_via: str = ""
    background: bool = False
    """A background process that is up: its lane stays open after the task that started it."""
    live_output: str = ""
    """What the command printed so far while it runs (its last LIVE_OUTPUT_CHARS)."""
    last_line: str = ""
    """The last non-empty line it printed (the transcript shows it while it runs)."""
    display: ev.Display = ev.Display.CALL
    """How views show it, as its tool declares (``future_created.display``)."""
    subject: str = ""
    """The argument that says what it is about (``future_created.subject``)."""

    @property
    def final(self) -> bool:
        return self.state in FINISHED

    def run_time(self, now: float) -> float:
        """Seconds the tool has run (so far, at ``now``)."""
        if self.started is None:
            return 0.0
        if self.finished is not None:
            return max(self.duration, self.finished - self.started)
        return max(0.0, now - self.started)


@dataclass(slots=True)
class SessionInfo:
    session_id: str = ""
    model: str = ""
    mode: str = ""
    approval: str = ""
    root: str = ""
    scripted: bool = False
    endpoint: str = ""
    """Where model requests go (``session_started.endpoint``)."""
    sandbox: str = ""
    """Where commands run: on, off or unavailable (``session_started.sandbox``); "" not known."""
    network: bool = True
    """Whether commands reach the network (``session_started.network``)."""


@dataclass(slots=True)
class Outcome:
    outcome: str
    exit_code: int
    message: str
    t: float


class TimelineState:
    """Everything the timeline, the futures table and the status bar show; see the module doc."""

    def __init__(self) -> None:
        self.session = SessionInfo()
        self.requests: list[RequestBar] = []
        self.futures: dict[str, FutureLane] = {}
        self.turns = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.cost: float | None = None
        self.busy = False
        """A task is running: between the user's message (or first request) and session_finished."""
        self.task_start = 0.0
        self.last_t = 0.0
        self.outcome: Outcome | None = None
        self.version = 0
        """Bumped by every applied event, so views can skip redrawing unchanged state."""
        self._open: RequestBar | None = None
        self._turns_before = 0

    # -- folding events ----------------------------------------------------------------------------

    def apply(self, event: ev.Event) -> None:
        """Fold one event into the state. Unknown or out-of-order events are ignored, never fatal."""
        self.version += 1
        self.last_t = max(self.last_t, event.t)
        if event.parent is not None:
            self._apply_nested(event)
            return
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event)

    def _apply_nested(self, event: ev.Event) -> None:
        """A sub-agent's event: its futures become lanes ``PARENT/ID`` folded under the ``agent``
        lane that started them (the ids its approvals are asked under); its requests count in the
        totals. Its own start, requests and finish never touch the session's model lane or state."""
        if isinstance(event, ev.RequestFinished):
            self.prompt_tokens += int(event.usage.get("prompt_tokens", 0))
            self.completion_tokens += int(event.usage.get("completion_tokens", 0))
            if event.cost is not None:
                self.cost = (self.cost or 0.0) + event.cost
            return
        handler = _NESTED_HANDLERS.get(type(event))
        if handler is None:
            return
        handler(self, dataclasses.replace(event, id=f"{event.parent}/{event.id}"))  # type: ignore[call-arg, attr-defined]
        if isinstance(event, ev.FutureCreated):
            self._fold_under(event.parent or "", f"{event.parent}/{event.id}")
            lane = self.futures[f"{event.parent}/{event.id}"]  # the futures it names are its own
            lane.deps = tuple(f"{event.parent}/{d}" for d in lane.deps)
            lane.waits_on = tuple(f"{event.parent}/{w}" for w in lane.waits_on)

    def _fold_under(self, parent: str, lane_id: str) -> None:
        """Move lane ``lane_id`` right after ``parent``'s lane and its other sub-lanes."""
        ids = [i for i in self.futures if i != lane_id]
        if parent not in ids:
            return
        at = ids.index(parent) + 1
        while at < len(ids) and ids[at].startswith(parent + "/"):
            at += 1
        ids.insert(at, lane_id)
        self.futures = {i: self.futures[i] for i in ids}

    def apply_all(self, events: Iterable[ev.Event]) -> TimelineState:
        for event in events:
            self.apply(event)
        return self

    def _session_started(self, e: ev.SessionStarted) -> None:
        self.session = SessionInfo(e.session_id, e.model, e.mode, e.approval, e.root, e.scripted,
                                   getattr(e, "endpoint", ""), e.sandbox, e.network)

    def _settings_changed(self, e: ev.SettingsChanged) -> None:
        self.session.model, self.session.mode, self.session.approval = e.model, e.mode, e.approval
        self.session.scripted = e.scripted

    def _session_resumed(self, e: ev.SessionResumed) -> None:
        self._session_started(e)
        self._turns_before = e.prior_turns  # its requests are numbered from 1 again

    def _user_message(self, e: ev.UserMessage) -> None:
        self._begin_task(e.t)

    def _begin_task(self, t: float) -> None:
        if not self.busy:
            self.busy = True
            self.task_start = t
            self.outcome = None

    def _request_started(self, e: ev.RequestStarted) -> None:
        self._begin_task(e.t)
        self._close_request(e.t)
        turn = self._turns_before + e.turn  # numbered across resumes
        self._open = RequestBar(turn=turn, start=e.t)
        self.requests.append(self._open)
        self.turns = max(self.turns, turn)

    def _close_request(self, t: float) -> None:
        if self._open is not None and self._open.end is None:
            self._open.end = t
        self._open = None

    def _request_retry(self, e: ev.RequestRetry) -> None:
        if self._open is not None:
            self._open.retries += 1

    def _first_token(self, e: ev.FirstToken) -> None:
        if self._open is not None and self._open.first_token is None:
            self._open.first_token = e.t

    def _text_delta(self, e: ev.TextDelta) -> None:
        if self._open is not None:
            if self._open.first_token is None:
                self._open.first_token = e.t
            self._open.chars += len(e.text)

    def _tool_call_parsed(self, e: ev.ToolCallParsed) -> None:
        if self._open is not None:
            if self._open.first_token is None:
                self._open.first_token = e.t
            self._open.calls.append(e.t)

    def _request_finished(self, e: ev.RequestFinished) -> None:
        if self._open is not None:
            self._open.completion_tokens = int(e.usage.get("completion_tokens", 0))
        self._close_request(e.t)
        self.prompt_tokens += int(e.usage.get("prompt_tokens", 0))
        self.completion_tokens += int(e.usage.get("completion_tokens", 0))
        if e.cost is not None:
            self.cost = (self.cost or 0.0) + e.cost

    def _future_created(self, e: ev.FutureCreated) -> None:
        deps = tuple(e.deps)
        if not deps and e.tool == AWAIT_FUTURE and isinstance(e.args, dict):
            deps = _awaited(e.args.get("ids"))  # what the model waits on
        self.futures[e.id] = FutureLane(
            id=e.id, tool=e.tool, args=e.args, created=e.t, deps=deps,
            waits_on=tuple(e.waits_on), effect=e.effect, turn=e.turn,
            display=ev.Display.of(e.display), subject=e.subject,
        )

    def _future_started(self, e: ev.FutureStarted) -> None:
        lane = self.futures.get(e.id)
        if lane is not None and not lane.final:
            lane.state, lane.started = State.RUNNING, e.t

    def _future_finished(self, e: ev.FutureFinished) -> None:
        lane = self.futures.get(e.id)
        if lane is None:
            return
        lane.state, lane.finished = e.status, e.t
        lane.duration, lane.summary, lane.output = e.duration, e.summary, e.output
        if lane.started is None and e.duration > 0:
            lane.started = e.t - e.duration

    def _future_output(self, e: ev.FutureOutput) -> None:
        lane = self.futures.get(e.id)
        if lane is None or lane.final:
            return
        lane.live_output = (lane.live_output + e.text)[-LIVE_OUTPUT_CHARS:]
        lane.last_line = last_line(e.text) or lane.last_line

    def _background_started(self, e: ev.BackgroundStarted) -> None:
        lane = self.futures.get(e.id)
        if lane is not None and not lane.final:
            lane.background = True

    def _future_delivered(self, e: ev.FutureDelivered) -> None:
        lane = self.futures.get(e.id)
        if lane is not None:
            lane.delivered_via = e.via

    def _approval_requested(self, e: ev.ApprovalRequested) -> None:
        lane = self.futures.get(e.id)
        if lane is not None:
            lane.approval, lane.approval_preview = "asked", e.preview
            lane.approval_asked = e.t

    def _approval_resolved(self, e: ev.ApprovalResolved) -> None:
        lane = self.futures.get(e.id)
        if lane is not None:
            lane.approval, lane.approval_answered = e.decision, e.t

    def _conversation_compacted(self, e: ev.ConversationCompacted) -> None:
        """A /compact between tasks ends here (its summary request made the state busy); a
        compaction near the window is part of the running task."""
        if e.reason == "user":
            self._close_request(e.t)
            self.busy = False

    def _session_finished(self, e: ev.SessionFinished) -> None:
        self._close_request(e.t)
        self.busy = False
        self.outcome = Outcome(e.outcome, e.exit_code, e.message, e.t)
        for lane in self.futures.values():
            # The task ended without telling us: never draw its calls as live. Background
            # processes of a chat outlive the task (headless ones were stopped before this).
            if not lane.final and not lane.background:
                lane.state, lane.finished = State.CANCELLED, e.t

    def end_earlier(self) -> list[FutureLane]:
        """Close the session's earlier runs, folded in before a resume goes on (the TUI's view of
        ``-c``): their totals stay, so turns, tokens and cost count on from them; their requests
        and futures leave the lanes, which then hold only what this run does (nothing of an
        earlier run can still be running, waiting or cancelled: its processes ended with it).
        Returns the lanes that had not ended (a run that crashed): now cancelled, as the earlier
        run's end left them, for the views that show them to redraw."""
        unended = [lane for lane in self.futures.values() if not lane.final]
        for lane in unended:
            lane.state, lane.finished, lane.background = State.CANCELLED, self.last_t, False
        self.futures, self.requests = {}, []
        self._open, self.busy, self.outcome = None, False, None
        self.version += 1
        return unended

    # -- queries -----------------------------------------------------------------------------------

    @property
    def decoding(self) -> bool:
        return self._open is not None

    @property
    def open_request(self) -> RequestBar | None:
        return self._open

    def in_flight(self) -> Iterator[FutureLane]:
        return (lane for lane in self.futures.values() if not lane.final)

    def background(self) -> list[FutureLane]:
        """Background processes still running (the user can list and stop them)."""
        return [lane for lane in self.futures.values() if lane.background and not lane.final]

    def counts(self) -> dict[str, int]:
        """How many futures are in each state."""
        out: dict[str, int] = {}
        for lane in self.futures.values():
            out[lane.state] = out.get(lane.state, 0) + 1
        return out

    def pending_approvals(self) -> list[FutureLane]:
        return [lane for lane in self.futures.values() if lane.approval == "asked" and not lane.final]

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def span(self, now: float) -> tuple[float, float]:
        """The time range with anything in it, up to ``now``: (first event, now)."""
        start = min((r.start for r in self.requests), default=0.0)
        if self.futures:
            start = min(start, min(lane.created for lane in self.futures.values()))
        return start, max(now, self.last_t)


_HANDLERS: dict[type, Any] = {
    ev.SessionStarted: TimelineState._session_started,
    ev.SessionResumed: TimelineState._session_resumed,
    ev.SettingsChanged: TimelineState._settings_changed,
    ev.UserMessage: TimelineState._user_message,
    ev.RequestStarted: TimelineState._request_started,
    ev.RequestRetry: TimelineState._request_retry,
    ev.FirstToken: TimelineState._first_token,
    ev.TextDelta: TimelineState._text_delta,
    ev.ToolCallParsed: TimelineState._tool_call_parsed,
    ev.RequestFinished: TimelineState._request_finished,
    ev.FutureCreated: TimelineState._future_created,
    ev.FutureStarted: TimelineState._future_started,
    ev.FutureFinished: TimelineState._future_finished,
    ev.FutureDelivered: TimelineState._future_delivered,
    ev.FutureOutput: TimelineState._future_output,
    ev.BackgroundStarted: TimelineState._background_started,
    ev.ApprovalRequested: TimelineState._approval_requested,
    ev.ApprovalResolved: TimelineState._approval_resolved,
    ev.ConversationCompacted: TimelineState._conversation_compacted,
    ev.SessionFinished: TimelineState._session_finished,
}


_NESTED_HANDLERS: dict[type, Any] = {
    kind: _HANDLERS[kind]
    for kind in (ev.FutureCreated, ev.FutureStarted, ev.FutureFinished, ev.FutureDelivered)
}
"""What a sub-agent's events show: its futures, as lanes of their own."""


def _awaited(ids: Any) -> tuple[str, ...]:
    """The futures an ``await_future`` call names, as the model wrote its ``ids`` (a list, one id,
    or anything else: the model's arguments are unchecked here)."""
    if isinstance(ids, str):
        return (ids,)
    return tuple(str(i) for i in ids) if isinstance(ids, list) else ()
