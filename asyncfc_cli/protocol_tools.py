"""The engine's own tools: ``await_future`` and ``cancel_future``.

They are declared like any tool (schema from signature and docstring, pure effect) but run with an
EngineHandle as context, since they act on other futures. ``await_future`` is the only call that
blocks a turn: the session waits for its result before the next request.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import trio

from asyncfc_tools import ToolError, ToolSpec, pure, tool

from .futures import AWAIT_FUTURE, CANCEL_FUTURE, earlier_ids, future_block, future_number, running_view
from .scheduler import EngineHandle

__all__ = ["AWAIT_FUTURE", "Awaited", "CANCEL_FUTURE", "engine_tools"]  # the names are futures.py's


@dataclass(frozen=True, slots=True)
class Awaited:
    """What await_future returns: its text, and the futures whose values that text carries.

    The scheduler shows the model ``str()`` of a tool's result, as for any tool, and keeps this
    typed result on the call's record (``FutureRecord.returned``); the delivery ledger reads
    ``delivered`` from there, so those values count as delivered by this call's tool message.
    """

    text: str
    delivered: tuple[str, ...]
    """The futures that had finished, in the order asked: their values are in ``text``."""

    def __str__(self) -> str:
        return self.text


def _known_earlier(handle: EngineHandle, ids: list[str]) -> list[str]:
    own = handle.record.id
    bad = handle.scheduler.not_earlier(ids, own)
    if bad:
        raise ToolError(
            f"unknown future id(s) {', '.join(bad)}: ids name earlier tool calls, {earlier_ids(own)}"
        )
    return list(dict.fromkeys(ids))


def _check_timeout(timeout_s: object) -> None:
    """Refuse a timeout that is not a finite number of seconds, 0 or more, in words."""
    if timeout_s is None:
        return
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, int | float) \
            or not math.isfinite(timeout_s) or timeout_s < 0:
        raise ToolError(f"timeout_s must be a number of seconds, 0 or more (got {timeout_s!r}); "
                        "omit it to wait until the futures finish")


@tool(effect=pure(), context="engine", subject="ids")
async def await_future(
    handle: EngineHandle, ids: list[str] | None = None, timeout_s: float | None = None
) -> Awaited:
    """Wait until futures have finished and return their values.

    Use it only when you need a value now to decide what to do next; otherwise keep working and the
    value will be delivered to you before your next turn.

    Args:
        ids: future ids to wait for, e.g. ["f2", "f3"]; omit to wait for every earlier future
            still running (background processes excepted).
        timeout_s: give up waiting after this many seconds; futures still running are reported as
            such, with the latest output of a command, and keep running. A background process
            is waited for only with a timeout (it may never end): without one you get its latest
            output at once.
    """
    _check_timeout(timeout_s)
    if ids is None:
        own = future_number(handle.record.id) or 0
        ids = [r.id for r in handle.scheduler.unfinished()
               if (future_number(r.id) or 0) < own and not r.background]
    else:
        ids = _known_earlier(handle, [i.lstrip("$") for i in ids])
    scheduler = handle.scheduler
    if timeout_s is None:  # waiting for a server to end would block the turn for good
        waited = [fid for fid in ids if not getattr(scheduler.get(fid), "background", False)]
    else:
        waited = ids
    with trio.move_on_after(timeout_s if timeout_s is not None else float("inf")):
        await scheduler.wait_finished(waited)
    blocks: list[str] = []
    delivered: list[str] = []
    for fid in ids:
        rec = scheduler.get(fid)
        assert rec is not None
        if rec.is_finished:
            blocks.append(future_block(fid, rec.state, rec.text or ""))
            delivered.append(fid)
        else:
            blocks.append(running_view(fid, rec.state, rec.output_tail()))
    return Awaited("\n".join(blocks), tuple(delivered))


@tool(effect=pure(), context="engine", subject="ids")
async def cancel_future(handle: EngineHandle, ids: list[str]) -> str:
    """Stop futures whose results you no longer need (a running command, or a background process,
    is killed with every process it started).

    Args:
        ids: future ids to cancel, e.g. ["f4"].
    """
    ids = _known_earlier(handle, [i.lstrip("$") for i in ids])
    own = handle.record.id
    outcome = handle.scheduler.cancel(ids, reason=f"cancelled by {own} (cancel_future)", by=own)
    return "\n".join(f"{fid}: {what}" for fid, what in outcome.items())


def engine_tools() -> dict[str, ToolSpec]:
    return {AWAIT_FUTURE: await_future, CANCEL_FUTURE: cancel_future}


