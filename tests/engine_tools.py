"""Small simulated tools for engine tests: they sleep on trio's clock and record what they saw."""

from __future__ import annotations

import trio

from asyncfc_tools import ToolContext, ToolError, exclusive, pure, reads, tool, writes

STORE: dict[str, str] = {}
"""An in-memory 'file system' the put/get tools act on (reset by the tests)."""


@tool(effect=pure())
async def sleep(ctx: ToolContext, seconds: float, result: str = "slept") -> str:
    """Sleep, then return result.

    Args:
        seconds: how long.
        result: what to return.
    """
    await trio.sleep(seconds)
    return result


@tool(effect=writes("path"))
async def put(ctx: ToolContext, path: str, value: str, seconds: float = 1.0) -> str:
    """Store value at path after a delay.

    Args:
        path: key.
        value: what to store.
        seconds: delay before the write lands.
    """
    await trio.sleep(seconds)
    STORE[path] = value
    return f"stored {path}"


@tool(effect=reads("path"))
async def get(ctx: ToolContext, path: str, seconds: float = 1.0) -> str:
    """Read the value at path after a delay.

    Args:
        path: key.
        seconds: delay.
    """
    await trio.sleep(seconds)
    return STORE.get(path, "<missing>")


@tool(effect=exclusive())
async def run(ctx: ToolContext, seconds: float = 1.0) -> str:
    """An exclusive command.

    Args:
        seconds: how long it runs.
    """
    await trio.sleep(seconds)
    STORE["ran"] = "yes"
    return "ran"


@tool(effect=pure())
async def echo(ctx: ToolContext, text: str) -> str:
    """Return text.

    Args:
        text: what to return.
    """
    return text


@tool(effect=pure())
async def explode(ctx: ToolContext) -> str:
    """Raise an unexpected error."""
    raise RuntimeError("kaboom")


@tool(effect=pure())
async def refuse(ctx: ToolContext, why: str) -> str:
    """Fail the way tools fail on purpose.

    Args:
        why: the message.
    """
    raise ToolError(why)


TOOLS = {t.name: t for t in (sleep, put, get, run, echo, explode, refuse)}
