"""The live text view: what the model decodes, streamed, interleaved with one line per future event.

    [  0.52s] + f1 shell {"command": "pytest -q"}
    [  0.52s] > f1 started
    [  3.01s] ✓ f1 shell 2.49s  4 passed
    [  3.40s] ✓ f2 edit_file 0.01s  edited calc.py: 1 replacement
                --- a/calc.py
                +++ b/calc.py
                ...

A command that runs longer than PROGRESS_AFTER_S shows its latest output line now and then
(``… f1 shell 6.0s: collected 212 items``), at most once per PROGRESS_EVERY_S, so a long build or
a background server is visibly alive without flooding the view.

Streamed text arrives in arbitrary pieces ("hel", "lo wor", "ld"), and a future may finish between
two of them. Two rules keep the model's prose readable:

- Words: the renderer holds back the trailing partial word of the text (never more than one word:
  the rest is written as it arrives) until whitespace follows it or the text stream ends (a tool
  call, the end of the request, the end of the session).
- Sentences: an event line that arrives while a sentence is open waits (with its own time stamp)
  until the sentence ends (``.``, ``!`` or ``?`` before whitespace, ``。``, or a line break), the text
  stream ends, or ``MAX_DEFERRED_CHARS`` more characters have streamed, whichever comes first. The
  text then continues on its own line below.

A sub-agent's events (``parent`` set) print compactly, indented, under ids like ``f3/f1``
(``subagent_lines``); its text never mixes into the parent's.

Each successful edit prints its unified diff under its line; the end of the session prints what
the run changed (``changes.summary_lines``). Colour only when writing to a terminal. A renderer only
consumes events.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Sequence
from typing import Any, TextIO

from ..events import Event, printable_fields
from ..futures import Route, State, last_line
from .changes import ChangeTally, diff_of, summary_lines
from .lines import STATUS_MARK as _STATUS_MARK
from .lines import outcome, printable
from .lines import short as _short
from .subagent_lines import SubAgentLines

_RESET = "\033[0m"
_STYLES = {
    "dim": "\033[2m",
    "bold": "\033[1m",
    "id": "\033[36m",
    "ok": "\033[32m",
    "bad": "\033[31m",
    "warn": "\033[33m",
    "model": "\033[35m",
    "plain": "",
}
_TEXT_MARGIN = "          │"
_DIFF_INDENT = "            "
MAX_DIFF_LINES = 200
"""A longer diff is cut in the live view (the transcript and the model's result keep it whole)."""


def _diff_style(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "bold"
    return {"+": "ok", "-": "bad", "@": "id"}.get(line[:1], "plain")

_TEXT_STREAM_ENDS = frozenset({
    "tool_call_parsed", "request_retry", "request_finished", "request_started", "user_message",
    "session_started", "session_resumed", "session_finished", "conversation_compacted",
})
"""Events after which no more text of the current stream can arrive: the held-back word is whole."""

PROGRESS_AFTER_S = 3.0
"""A running command's output is shown once it has run this long (quick commands stay one line)."""
PROGRESS_EVERY_S = 5.0
"""At most one progress line per future per this many seconds."""

MAX_HELD_CHARS = 48
"""A run of non-space characters longer than this (a URL, a hash, a long identifier) is written as it
streams rather than held: holding it would stall the view, and it is no word a reader reads across a
break."""


def split_partial_word(text: str) -> tuple[str, str]:
    """``(ready, tail)`` with ``ready + tail == text``: ``tail`` is the trailing run of characters
    that the next piece of text could still extend into a longer word (no whitespace, and no wide
    East Asian character, after which a line may always break), unless it exceeds MAX_HELD_CHARS."""
    cut = len(text)
    while cut > 0 and not _breaks_after(text[cut - 1]):
        cut -= 1
    if len(text) - cut > MAX_HELD_CHARS:
        return text, ""
    return text[:cut], text[cut:]


def _breaks_after(char: str) -> bool:
    return char.isspace() or unicodedata.east_asian_width(char) in ("W", "F")


MAX_DEFERRED_CHARS = 400
"""An event line waits for the open sentence to end at most this many characters of text: a
sentence that never ends (a list without full stops) must not hide what the tools are doing."""


_ABBREVIATIONS = "".join(f"(?<!\\b{re.escape(a)})" for a in ("e.g", "i.e", "E.g", "I.e", "cf", "vs", "etc"))
_SENTENCE_END = re.compile(rf"(?:{_ABBREVIATIONS}\.|[!?])[\"')\]*`]*\s|[。！？]|\n")


def last_sentence_end(text: str) -> int | None:
    """Where the last sentence of ``text`` ends (the index after its full stop, ``!`` or ``?`` and
    the whitespace that follows, an ideographic full stop, or a line break), or None. The full stop
    of an abbreviation that a sentence goes on after (``e.g.``, ``i.e.``, ``cf.``, ``vs.``,
    ``etc.``) ends none: a tool line printed there would cut the sentence in two."""
    ends = [match.end() for match in _SENTENCE_END.finditer(text)]
    return ends[-1] if ends else None


class TextRenderer:
    """Prints a session as it happens. ``verbose`` adds deliveries and placeholders."""

    reports_errors = True
    """It prints the reason a session could not start, so the caller need not repeat it."""
    nested_events = SubAgentLines.nested_events
    """Sub-agents' events come too."""

    def __init__(self, out: TextIO | None = None, *, color: bool | None = None, verbose: bool = True):
        self._out = out or sys.stdout
        self._color = self._out.isatty() if color is None else color
        self._verbose = verbose
        self._line_open = False
        """The cursor is not at a line start (streamed text was written on the current line)."""
        self._held = ""
        """The trailing partial word of streamed text, not written yet (see the module doc)."""
        self._sentence_open = False
        """The text written so far on the open line ends inside a sentence."""
        self._deferred: list[str] = []
        """Event lines (already formatted) waiting for the open sentence to end."""
        self._since_deferred = 0
        """Characters of text written since the first deferred line."""
        self._started: dict[str, float] = {}
        self._progress_at: dict[str, float] = {}
        """When each running future last showed a progress line."""
        self._turns_before = 0
        """Requests made before a resume: numbering goes on across it."""
        self.changes = ChangeTally()
        """What the run changed so far (files, lines, the last test run)."""
        self._sub_agents = SubAgentLines(self._line, self._style, self._diff_lines, self.changes)

    def _style(self, text: str, style: str) -> str:
        return f"{_STYLES[style]}{text}{_RESET}" if self._color and _STYLES[style] else text

    def _line(self, t: float, text: str, body: Sequence[str] = ()) -> None:
        """Print an event line (and ``body`` lines under it), or defer it while a sentence is open."""
        block = [f"{self._style(f'[{t:7.2f}s]', 'dim')} {text}", *body]
        if self._line_open and self._sentence_open:
            self._deferred.extend(block)
            return
        self._print(block)

    def _print(self, lines: Sequence[str]) -> None:
        if self._line_open:
            self._out.write("\n")
            self._line_open = self._sentence_open = False
        for line in lines:
            self._out.write(line + "\n")
        self._out.flush()

    def _release_deferred(self) -> None:
        deferred, self._deferred, self._since_deferred = self._deferred, [], 0
        if deferred:
            self._print(deferred)

    def __call__(self, event: Event) -> None:
        event = printable_fields(event)
        if event.parent is not None:
            self._sub_agents(event)
            return
        self.changes.apply(event)
        if event.type in _TEXT_STREAM_ENDS:
            self.flush_text()
        handler = getattr(self, f"_on_{event.type}", None)
        if handler is not None:
            handler(event)

    def flush_text(self) -> None:
        """Write the held-back partial word and the event lines waiting on the sentence: the text
        stream they belong to has ended (also for a caller that stops feeding events before
        ``session_finished``)."""
        held, self._held = self._held, ""
        self._write_text(held)
        self._sentence_open = False  # the stream ended: its last sentence is as done as it will be
        self._release_deferred()
        self._out.flush()

    def _on_session_started(self, e: Any, resumed: str = "") -> None:
        model = f"scripted model {e.model!r} (offline: no real LLM)" if e.scripted else e.model
        if getattr(e, "endpoint", ""):
            model = f"{model} at {e.endpoint}"
        sandbox = f"sandbox {e.sandbox}" + (", network allowed" if e.sandbox == "on" and e.network else "")
        self._line(e.t, self._style(f"asyncfc · {resumed}{model} · mode {e.mode} · {sandbox} · {e.root}", "bold"))

    def _on_session_resumed(self, e: Any) -> None:
        self._turns_before = e.prior_turns
        so_far = f"{e.prior_turns} request{'' if e.prior_turns == 1 else 's'} so far"
        self._on_session_started(e, f"resumed session {e.session_id} ({so_far}) · ")

    def _on_user_message(self, e: Any) -> None:
        self._line(e.t, self._style(f"task: {_short(e.text, 200)}", "bold"))

    def _on_request_started(self, e: Any) -> None:
        what = " (summarising the conversation to compact it)" if e.purpose == "summary" else ""
        self._line(e.t, self._style(f"model request {self._turns_before + e.turn}{what}", "model"))

    def _on_conversation_compacted(self, e: Any) -> None:
        self._line(e.t, self._style(e.headline(), "bold" if e.by == "model" else "warn"))

    def _on_text_delta(self, e: Any) -> None:
        ready, self._held = split_partial_word(self._held + e.text)  # (made printable in __call__)
        if self._deferred:
            self._since_deferred += len(ready)
            cut = last_sentence_end(ready)
            if cut is None and self._since_deferred > MAX_DEFERRED_CHARS:
                cut = len(ready)  # a word break: ready text always ends at one
            if cut is not None:
                self._write_text(ready[:cut])
                self._sentence_open = False
                self._release_deferred()
                ready = ready[cut:].lstrip(" ")
        self._write_text(ready)
        self._out.flush()

    def _write_text(self, text: str) -> None:
        """Write streamed text under the margin; each line's margin only once it has content, so a
        future line can follow a finished text line directly."""
        for index, piece in enumerate(text.split("\n")):
            if index:
                if not self._line_open:
                    self._out.write(self._style(_TEXT_MARGIN, "model"))  # a blank line of text
                self._out.write("\n")
                self._line_open = self._sentence_open = False
            if piece:
                if not self._line_open:
                    self._out.write(self._style(_TEXT_MARGIN + " ", "model"))
                    self._line_open = True
                self._out.write(piece)
                if piece.strip():
                    self._sentence_open = bool(piece[last_sentence_end(piece) or 0:].strip())

    def _on_request_retry(self, e: Any) -> None:
        turn = self._turns_before + e.turn
        self._line(e.t, self._style(f"retrying request {turn} in {e.delay:.1f}s: {e.reason}", "warn"))

    def _on_future_created(self, e: Any) -> None:
        after = list(e.deps) + [w for w in e.waits_on if w not in e.deps]
        waits = f"  (after {', '.join(after)})" if after else ""
        self._line(e.t, f"+ {self._style(e.id, 'id')} {e.tool} {_short(e.args)}{waits}")

    def _on_future_started(self, e: Any) -> None:
        self._started[e.id] = e.t
        self._line(e.t, f"> {self._style(e.id, 'id')} {self.changes.tool_of(e.id)} started")

    def _on_future_output(self, e: Any) -> None:
        started = self._started.get(e.id, e.t)
        last = last_line(e.text)
        shown = self._progress_at.get(e.id)
        if not last or e.t - started < PROGRESS_AFTER_S or (shown is not None and e.t - shown < PROGRESS_EVERY_S):
            return
        self._progress_at[e.id] = e.t
        self._line(e.t, self._style(f"… {e.id} {self.changes.tool_of(e.id)} {e.t - started:.1f}s: ", "dim")
                   + _short(last, 100))

    def _on_background_started(self, e: Any) -> None:
        first = next((ln.strip() for ln in e.output.splitlines() if ln.strip()), "no output yet")
        self._line(e.t, f"⟳ {self._style(e.id, 'id')} {self.changes.tool_of(e.id)} running in the background: "
                        f"{_short(first, 100)}")

    def _on_background_stopped(self, e: Any) -> None:
        self._line(e.t, self._style(f"■ {e.id} background process stopped ({e.reason}): {_short(e.command, 100)}",
                                    "warn"))

    def _on_footprint_violation(self, e: Any) -> None:
        declared = ", ".join(e.declared) or "nothing"
        self._line(e.t, self._style(f"! {e.id} changed files outside its declared writes ({declared}): "
                                    f"{_short(', '.join(e.paths), 100)}", "warn"))

    def _on_future_finished(self, e: Any) -> None:
        mark, style = _STATUS_MARK.get(e.status, ("?", "warn"))
        tool, display = self.changes.tool_of(e.id), self.changes.display_of(e.id)
        diff = diff_of(e.output) if display.changes_file and e.status == State.DONE else ""
        self._line(e.t, f"{self._style(mark, style)} {self._style(e.id, 'id')} {tool} "
                        f"{e.duration:.2f}s  {_short(outcome(display, e.summary))}", self._diff_lines(diff))

    def _diff_lines(self, diff: str) -> list[str]:
        """A diff indented under its event line, coloured by line kind, cut at MAX_DIFF_LINES."""
        lines = diff.splitlines()
        shown = [self._style(_DIFF_INDENT + printable(line), _diff_style(line)) for line in lines[:MAX_DIFF_LINES]]
        if len(lines) > MAX_DIFF_LINES:
            more = len(lines) - MAX_DIFF_LINES
            shown.append(self._style(f"{_DIFF_INDENT}… {more} more diff lines (the transcript has them all)", "dim"))
        return shown

    def _on_future_placeholder(self, e: Any) -> None:
        if self._verbose:
            self._line(e.t, self._style(f"  {e.id} handed to the model as a placeholder ({e.status}); "
                                        "decoding goes on", "dim"))

    def _on_future_delivered(self, e: Any) -> None:
        if self._verbose and e.via != Route.TOOL:
            self._line(e.t, self._style(f"  {e.id} value delivered ({e.via})", "dim"))

    def _on_approval_requested(self, e: Any) -> None:
        self._line(e.t, self._style(f"? {e.id} {e.tool} needs approval", "warn"))

    def _on_checkpoint_created(self, e: Any) -> None:
        self._line(e.t, self._style(f"checkpoint {e.commit[:10]} ({e.ref}); `asyncfc undo` restores it", "dim"))

    def _on_notice(self, e: Any) -> None:
        style = {"error": "bad", "warning": "warn"}.get(e.level, "dim")
        self._line(e.t, self._style(e.message, style))

    def _on_session_finished(self, e: Any) -> None:
        tokens = e.usage.get("total_tokens", 0) if e.usage else 0
        cost = f" · ${e.cost:.4f}" if e.cost else ""
        style = "ok" if e.exit_code == 0 else "bad"
        summary = f"{e.outcome} (exit {e.exit_code}) · {e.turns} requests · {tokens} tokens{cost}"
        changes = summary_lines(self.changes)
        if changes:
            self._line(e.t, self._style(changes[0], "bold"), [_DIFF_INDENT + line for line in changes[1:]])
        if e.exit_code != 0 and e.message:  # the reason first, the verdict last: what a reader sees
            self._line(e.t, self._style(e.message, style))
        self._line(e.t, self._style(summary, style))
