"""One JSON object per event per line on stdout, for CI jobs and other programs."""

from __future__ import annotations

import sys
from typing import TextIO

from ..events import Event, event_to_json


class JsonlRenderer:
    nested_events = True
    """Sub-agents' events (with ``parent``) go out too: the log shows the whole tree."""

    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out or sys.stdout

    def __call__(self, event: Event) -> None:
        self._out.write(event_to_json(event) + "\n")
        self._out.flush()
