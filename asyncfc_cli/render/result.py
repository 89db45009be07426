"""``--output json``: one JSON object on stdout when the task ends, for scripts that want the
answer rather than the story (``asyncfc run --output json "..." | jq -r .result``).

The object: ``type`` ("result"), ``session_id``, ``model``, ``outcome``, ``exit_code``,
``message`` (why it stopped, when it did not finish), ``result`` (what the model said since its
last tool call: its answer; the replies of several requests joined by a blank line, e.g. a reply
cut by the output limit and its continuation), ``turns``, ``usage``, ``cost`` (null when the price
is unknown) and ``duration_s`` (session clock). A session that could not start prints one too,
with its reason in ``message``. The stream of every event stays ``--output jsonl``.
"""

from __future__ import annotations

import json
import sys
from typing import TextIO

from ..events import (Event, RequestStarted, SessionFinished, SessionStarted, TextDelta,
                      ToolCallParsed)

__all__ = ["ResultRenderer"]


class ResultRenderer:
    """See the module docstring. Sub-agents' events are not given to it (``nested_events``)."""

    nested_events = False

    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out or sys.stdout
        self._session_id = ""
        self._model = ""
        self._replies: list[str] = []
        """The text of each request since the last one that called a tool."""
        self._called = False
        """The latest request called a tool: the next one's text starts the answer afresh."""

    def __call__(self, event: Event) -> None:
        if isinstance(event, SessionStarted):  # a resume's session_resumed too
            self._session_id, self._model = event.session_id, event.model
        elif isinstance(event, RequestStarted):
            if self._called:
                self._replies.clear()
            self._called = False
            self._replies.append("")
        elif isinstance(event, TextDelta) and self._replies:
            self._replies[-1] += event.text
        elif isinstance(event, ToolCallParsed):
            self._called = True
        elif isinstance(event, SessionFinished):
            self._write(event)

    def _write(self, end: SessionFinished) -> None:
        answer = "" if self._called else "\n\n".join(r.strip() for r in self._replies if r.strip())
        result = {
            "type": "result", "session_id": self._session_id, "model": self._model,
            "outcome": end.outcome, "exit_code": end.exit_code, "message": end.message,
            "result": answer, "turns": end.turns, "usage": dict(end.usage), "cost": end.cost,
            "duration_s": round(end.t, 3),
        }
        self._out.write(json.dumps(result, ensure_ascii=False) + "\n")
        self._out.flush()
