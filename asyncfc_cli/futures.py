"""Futures: the calls they stand for, ids, states, placeholders, delivery blocks and ``$fN``
references: the vocabulary of the futures protocol (DESIGN.md), in one place. The wire shapes are
written here and read back here (``parse_placeholder``, ``block_openings``): nothing else spells
them.

Everything here is pure (no event loop): the scheduler owns the live records, the session renders
what the model sees with these functions, and tests check the exact wire shapes without trio.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from asyncfc_tools import UNRESOLVED

__all__ = [
    "AWAIT_FUTURE",
    "BLOCK_CLOSE",
    "BlockOpening",
    "CANCEL_FUTURE",
    "FINISHED",
    "Route",
    "State",
    "ToolCall",
    "background_started",
    "block_openings",
    "delivery_text",
    "earlier_ids",
    "find_refs",
    "future_block",
    "future_id",
    "future_number",
    "gap_note_calls",
    "gap_note_text",
    "last_line",
    "parse_placeholder",
    "placeholder",
    "running_view",
    "substitute_refs",
    "summarize",
]


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One tool call as the model emitted it: what a future is made from. The model client
    produces it (``model.base`` re-exports it) and the scheduler runs it, neither knowing the other."""

    call_id: str
    """The provider's id, echoed back in the tool message."""
    name: str
    """The tool's name (may be unknown: the engine reports that)."""
    arguments: str
    """The raw JSON text of the arguments (may be malformed: the engine reports that)."""
    index: int = 0
    """Position of the call within its response."""


class State(StrEnum):
    """pending -> running -> done | failed | cancelled."""

    PENDING = "pending"
    """Created, waiting for its dependencies, conflicting calls, or approval."""
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED = frozenset({State.DONE, State.FAILED, State.CANCELLED})


class Route(StrEnum):
    """How a future's value reached the model (``future_delivered.via``): each value goes one way,
    once. It is the protocol's vocabulary, so it lives here beside ``State``, where the events and
    the renderers (which may import only the vocabulary) can name it; ``delivery.Deliveries`` is
    the ledger that chooses the route."""

    TOOL = "tool"
    """In the call's own tool message: it had finished when the turn closed."""
    AWAIT = "await"
    """In the result of an ``await_future`` that waited for it."""
    DELIVERY = "delivery"
    """In the user message of ``<future>`` blocks before a request (it was a placeholder)."""

AWAIT_FUTURE = "await_future"
"""The engine tool that blocks a turn until futures finish (DESIGN 6)."""
CANCEL_FUTURE = "cancel_future"
"""The engine tool that stops futures the model no longer needs."""

_REF = re.compile(r"^\$(f[1-9][0-9]*)$")
_ID = re.compile(r"^f([1-9][0-9]*)$")


def future_id(number: int) -> str:
    """The id of the ``number``-th call of a session (1-based): ``f1``, ``f2``, ..."""
    return f"f{number}"


def future_number(fid: str) -> int | None:
    """Inverse of future_id; None if ``fid`` is not a future id."""
    match = _ID.match(fid)
    return int(match.group(1)) if match else None


def earlier_ids(fid: str) -> str:
    """The ids that come before ``fid``, as the model is told them (``f1..f2`` for ``f3``)."""
    return f"f1..f{(future_number(fid) or 1) - 1}"


def find_refs(value: Any) -> list[str]:
    """Future ids referenced by ``"$fN"`` strings anywhere in an argument structure, in order,
    without repeats. Only whole string values count: ``"see $f1"`` is plain text."""
    found: list[str] = []

    def walk(v: Any) -> None:
        if isinstance(v, str):
            match = _REF.match(v)
            if match and match.group(1) not in found:
                found.append(match.group(1))
        elif isinstance(v, Mapping):
            for item in v.values():
                walk(item)
        elif isinstance(v, list):
            for item in v:
                walk(item)

    walk(value)
    return found


def substitute_refs(value: Any, results: Mapping[str, str]) -> Any:
    """Replace every whole-value ``"$fN"`` with ``results["fN"]`` (the value text the model would
    be shown). Ids missing from ``results`` are left as they are."""
    return _map_refs(value, lambda ref, text: results.get(ref, text))


def unresolved_refs(value: Any) -> Any:
    """``value`` with every whole-value ``"$fN"`` replaced by ``asyncfc_tools.UNRESOLVED``: how an
    effect function is told an argument is not known yet (tools do not know this syntax)."""
    return _map_refs(value, lambda ref, text: UNRESOLVED)


def _map_refs(value: Any, replace: Callable[[str, str], Any]) -> Any:
    """``value`` with every whole-value reference ``text`` (naming future ``ref``) replaced by
    ``replace(ref, text)``, in strings anywhere in lists and mappings."""
    if isinstance(value, str):
        match = _REF.match(value)
        return replace(match.group(1), value) if match else value
    if isinstance(value, Mapping):
        return {k: _map_refs(v, replace) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_refs(v, replace) for v in value]
    return value


def placeholder(fid: str, state: State | str) -> str:
    """The tool message content for a future that has not finished: exactly
    ``{"future": "f3", "status": "running"}``."""
    return json.dumps({"future": fid, "status": str(state)})


_STATES = "|".join(s.value for s in State)
_PLACEHOLDER = re.compile(r'^\{"future": "(f[1-9][0-9]*)", "status": "(pending|running)"\}$')


def parse_placeholder(content: str) -> tuple[str, State] | None:
    """The future a tool message stands for, if its content is exactly a ``placeholder``."""
    match = _PLACEHOLDER.match(content)
    return (match.group(1), State(match.group(2))) if match else None


def background_started(fid: str, first_output: str) -> str:
    """The tool message of a background command once it is up (its future goes on running)."""
    shown = first_output.rstrip("\n") or "(no output yet)"
    return (f"started in the background; first output:\n{shown}\n(still running as {fid}; its "
            f"latest output: await_future([\"{fid}\"], timeout_s=1); stop it with "
            f"cancel_future([\"{fid}\"]) when you no longer need it)")


def running_view(fid: str, state: State | str, tail: str) -> str:
    """A future still running when an await gave up: its placeholder, then (for a command) the
    tail of its output so far."""
    if not tail.strip():
        return placeholder(fid, state)
    return f"{placeholder(fid, state)}\nlatest output of {fid} (still running):\n{tail}"


def future_block(fid: str, state: State | str, text: str) -> str:
    """One future's value as shown everywhere (delivery message, await result)."""
    return f'<future id="{fid}" status="{state}">{text}{BLOCK_CLOSE}'


BLOCK_CLOSE = "</future>"
_BLOCK_OPENING = re.compile(rf'<future id="(f[1-9][0-9]*)" status="({_STATES})">')


@dataclass(frozen=True, slots=True)
class BlockOpening:
    """Where a ``future_block`` begins in a text: its ``<future ...>`` tag."""

    id: str
    state: State
    start: int
    """Index of the tag's ``<``."""
    end: int
    """Index just after the tag's ``>``: the value starts here."""


def block_openings(text: str, *, line_start: bool = False) -> list[BlockOpening]:
    """The ``<future id=... status=...>`` tags in ``text``, in order. ``line_start`` counts only
    tags at the start of the text or of a line, as a delivery message or an await result puts them
    (a value that quotes a tag mid-line is not taken for one)."""
    found = []
    for match in _BLOCK_OPENING.finditer(text):
        if line_start and match.start() > 0 and text[match.start() - 1] != "\n":
            continue
        found.append(BlockOpening(match.group(1), State(match.group(2)), match.start(), match.end()))
    return found


def delivery_text(blocks: Iterable[str]) -> str:
    """The user message that delivers finished futures before a request."""
    return "\n".join(blocks)


def summarize(text: str, width: int = 100) -> str:
    """The first non-empty line, cut to ``width`` characters (for views)."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line if len(line) <= width else line[: width - 1] + "…"


def last_line(text: str) -> str:
    """The last non-empty line, stripped ('' if there is none): what a running command printed
    last, as the views show it."""
    return next((ln.strip() for ln in reversed(text.splitlines()) if ln.strip()), "")


def truncate(text: str, limit: int) -> str:
    """Cut ``text`` to about ``limit`` characters keeping head and tail, saying how much was cut."""
    if len(text) <= limit:
        return text
    head = text[: limit * 2 // 3]
    tail = text[-(limit // 3):]
    cut = len(text) - len(head) - len(tail)
    return f"{head}\n[... {cut} characters cut: output too long ...]\n{tail}"


_GAP_NOTE = re.compile(r"^\[Earlier turns were removed to save context: they held tool calls f1 to f(\d+)\.")


def gap_note_text(calls: int) -> str:
    """The note that stands where compaction dropped whole turns. It says how many calls they held,
    so the model (and the next compaction) can still count future ids."""
    return (f"[Earlier turns were removed to save context: they held tool calls f1 to f{calls}. Their "
            "results are gone; read files again if you need them. Future ids keep counting from there.]")


def gap_note_calls(text: str) -> int:
    """How many calls a gap note says were dropped (0 for any other text)."""
    match = _GAP_NOTE.match(text)
    return int(match.group(1)) if match else 0
