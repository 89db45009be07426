"""How the text view shows a sub-agent's events (those with ``parent``): compact, under the parent's.

Its futures print under their lane ids, indented (``+ f3/f1 read_file ...``, ``✓ f3/f1 read_file
0.01s ...``), so they never mix with the parent's ``f1``; each of its model responses is one line
(``f3 says: ...`` before the calls it makes, ``f3 answers: ...`` for its last). Its requests,
starts, deliveries and waits stay out of the view, and its streamed text never enters (or ends)
the parent's text stream: its lines go through the view's own line writer, so they wait for the
parent's open sentence like any other event line.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from ..events import Event
from ..futures import AWAIT_FUTURE, State
from .changes import ChangeTally, diff_of
from .lines import STATUS_MARK, outcome, short

__all__ = ["NESTED_TEXT_CHARS", "SubAgentLines"]

NESTED_TEXT_CHARS = 160
"""A sub-agent's response is shown as one line of at most this many characters."""
_INDENT = "  "
_QUIET = frozenset({AWAIT_FUTURE})
"""A sub-agent's tools left out of the compact view: its waits say nothing its answer does not."""


class SubAgentLines:
    """Turns sub-agents' events into the text view's lines.

    Args:
        line: writes one event line ``(t, text, body)`` (or holds it while a sentence is open).
        style: styles a piece of text by name (``id``, ``ok``, ``warn``...).
        diff_lines: an edit's diff as indented, styled lines.
        changes: the run's change tally: a sub-agent's granted edits count in it too.
    """

    nested_events = True
    """Its host subscribes with ``nested=True``."""

    def __init__(
        self,
        line: Callable[[float, str, Sequence[str]], None],
        style: Callable[[str, str], str],
        diff_lines: Callable[[str], list[str]],
        changes: ChangeTally,
    ) -> None:
        self._line = line
        self._style = style
        self._diff_lines = diff_lines
        self._changes = changes
        self._tools: dict[str, str] = {}
        """Tool by lane id (``f3/f1``)."""
        self._text: dict[str, str] = {}
        """Each sub-agent's text of its current response, by its agent future's id."""

    def __call__(self, event: Event) -> None:
        """Show one sub-agent event (``event.parent`` set); the kinds not shown are ignored."""
        parent = event.parent or ""
        if hasattr(event, "id"):
            event = dataclasses.replace(event, id=f"{parent}/{event.id}")  # type: ignore[call-arg]
            self._changes.apply(event)
        handler = getattr(self, f"_on_{event.type}", None)
        if handler is not None:
            handler(parent, event)

    def _show(self, t: float, text: str, body: Sequence[str] = ()) -> None:
        self._line(t, _INDENT + text, body)

    def _on_future_created(self, parent: str, e: Any) -> None:
        self._tools[e.id] = e.tool
        if e.tool not in _QUIET:
            self._show(e.t, f"+ {self._style(e.id, 'id')} {e.tool} {short(e.args, 60)}")

    def _on_future_finished(self, parent: str, e: Any) -> None:
        tool = self._tools.get(e.id, "")
        if tool in _QUIET:
            return
        mark, style = STATUS_MARK.get(e.status, ("?", "warn"))
        display = self._changes.display_of(e.id)
        diff = diff_of(e.output) if display.changes_file and e.status == State.DONE else ""
        self._show(e.t, f"{self._style(mark, style)} {self._style(e.id, 'id')} {tool} "
                        f"{e.duration:.2f}s  {short(outcome(display, e.summary), 60)}", self._diff_lines(diff))

    def _on_approval_requested(self, parent: str, e: Any) -> None:
        self._show(e.t, self._style(f"? {e.id} {e.tool} needs approval", "warn"))

    def _on_notice(self, parent: str, e: Any) -> None:
        style = {"error": "bad", "warning": "warn"}.get(e.level, "dim")
        self._show(e.t, self._style(f"{parent}: {e.message}", style))

    def _on_request_started(self, parent: str, e: Any) -> None:
        self._text[parent] = ""  # a retried or cut response starts over

    def _on_text_delta(self, parent: str, e: Any) -> None:
        self._text[parent] = self._text.get(parent, "") + e.text

    def _on_tool_call_parsed(self, parent: str, e: Any) -> None:
        self._said(parent, e.t, "says")  # before the calls it goes on to make

    def _on_request_finished(self, parent: str, e: Any) -> None:
        self._said(parent, e.t, "says" if e.tool_calls else "answers")

    def _said(self, parent: str, t: float, verb: str) -> None:
        """One line for what a sub-agent's response said so far (nothing if it said nothing)."""
        text = self._text.pop(parent, "").strip()
        if text:
            self._show(t, f"{self._style(parent, 'id')} {verb}: {short(text, NESTED_TEXT_CHARS)}")
