"""One MCP server: its connection's life, its tools, and its calls. The adapter to the SDK.

A connection is one attempt: it opens the transport (starting the server's process for stdio),
negotiates, lists the tools, then holds the session open until it is stopped or breaks. It runs as
a task in the hub's nursery, never in a call's, so calls can come and go (and be cancelled) while
it lives. Calls wait for the attempt under way: a server still connecting is just a slow future.

Failures, each in words, and what follows:

- cannot start or connect (no such command, refused, not within ``connect_timeout_s``): every call
  waiting for it fails; the next call starts a new attempt;
- crashes or disconnects mid-call: the call fails saying so (with the end of the server's stderr);
  the next call restarts it;
- does not answer within ``call_timeout_s``: the call fails, the attempt is stopped (its process
  ended), and the next call restarts it.

SDK and transport exceptions are translated to ToolError here and nowhere else. The SDK is imported
only when a server is first started (``asyncfc --help`` does not pay for it).
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TextIO

import trio

from asyncfc_tools import ToolError
from asyncfc_tools._env import absolute_path, find_program

from .config import McpServerConfig

__all__ = ["Connector", "McpConnection", "open_client"]

Connector = Callable[[McpServerConfig, TextIO], AbstractAsyncContextManager[Any]]
"""Opens a connected SDK client (``mcp.Client``) for a server; its stderr goes to the file given.
The test seam: an in-process server is passed here instead of a process."""

_STDERR_TAIL = 300


@asynccontextmanager
async def open_client(config: McpServerConfig, errlog: TextIO) -> AsyncIterator[Any]:
    """The SDK client for ``config``: a process over stdio, or Streamable HTTP (or HTTP+SSE) with
    its headers."""
    from mcp import Client
    from mcp.types import Implementation

    info = Implementation(name="asyncfc", version="0.1.0")
    async with AsyncExitStack() as stack:
        if config.command:
            from mcp.client.stdio import StdioServerParameters, stdio_client

            # A bare program name is looked up, and looks up what it starts (npx: node), on the
            # absolute folders of PATH only: a relative entry names the workspace's own programs.
            command = config.command if "/" in config.command else find_program(config.command) or config.command
            params = StdioServerParameters(command=command, args=list(config.args),
                                           env={"PATH": absolute_path(), **config.env}, cwd=config.cwd)
            transport = stdio_client(params, errlog=errlog)
        elif config.sse:
            from mcp.client.sse import sse_client

            transport = sse_client(str(config.url), headers=dict(config.headers))
        else:
            import httpx2
            from mcp.client.streamable_http import streamable_http_client

            http = await stack.enter_async_context(httpx2.AsyncClient(headers=dict(config.headers)))
            transport = streamable_http_client(str(config.url), http_client=http)
        yield await stack.enter_async_context(Client(transport, client_info=info, cache=None))


@dataclass(eq=False)
class _Attempt:
    """One connection attempt and what became of it."""

    ready: trio.Event = field(default_factory=trio.Event)
    """Set when it connected or failed to."""
    stop: trio.Event = field(default_factory=trio.Event)
    ended: trio.Event = field(default_factory=trio.Event)
    client: Any = None
    tools: list[Any] = field(default_factory=list)
    error: str | None = None
    errlog: TextIO | None = None
    stderr_tail: str = ""
    """The end of what the server wrote on stderr, kept when the attempt ended."""

    @property
    def live(self) -> bool:
        return self.client is not None and not self.stop.is_set() and not self.ended.is_set()


class McpConnection:
    """One configured server. See the module docstring.

    Args:
        config: the server's configuration.
        on_tools: called with the server's tool list each time an attempt connects.
        connector: opens the SDK client (default ``open_client``).
    """

    def __init__(self, config: McpServerConfig, *, on_tools: Callable[[McpConnection, list[Any]], None],
                 connector: Connector = open_client) -> None:
        self.config = config
        self._on_tools = on_tools
        self._connector = connector
        self._nursery: trio.Nursery | None = None
        self._attempt: _Attempt | None = None

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def state(self) -> str:
        """not started, connecting, ready, or failed: REASON."""
        attempt = self._attempt
        if attempt is None:
            return "not started"
        if not attempt.ready.is_set():
            return "connecting"
        if attempt.live:
            return "ready"
        return f"failed: {attempt.error or 'stopped'}"

    def start(self, nursery: trio.Nursery) -> None:
        """Start connecting in ``nursery`` (the hub's); later restarts happen there too."""
        self._nursery = nursery
        self._begin()

    def _begin(self) -> _Attempt:
        if self._nursery is None:
            raise ToolError(f"MCP server {self.name!r} is not running in this session")
        attempt = _Attempt()
        self._attempt = attempt
        self._nursery.start_soon(self._run, attempt, name=f"mcp server {self.name}")
        return attempt

    async def wait_settled(self) -> None:
        """Wait until the attempt under way has connected or failed (never starts another)."""
        if self._attempt is not None:
            await self._attempt.ready.wait()

    async def wait_connected(self) -> Any:
        """The live client, starting a new attempt if the last one failed or ended.

        Raises:
            ToolError: it could not connect (the reason in words).
        """
        return (await self._live_attempt()).client

    async def _live_attempt(self) -> _Attempt:
        attempt = self._attempt
        if attempt is None or (attempt.ready.is_set() and not attempt.live):
            attempt = self._begin()
        await attempt.ready.wait()
        if not attempt.live:
            raise ToolError(f"MCP server {self.name!r} is not available: {attempt.error}")
        return attempt

    async def _run(self, attempt: _Attempt) -> None:
        config = self.config
        with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as errlog:
            attempt.errlog = errlog
            try:
                with trio.CancelScope(deadline=trio.current_time() + config.connect_timeout_s) as scope:
                    async with self._connector(config, errlog) as client:
                        attempt.tools = await _list_tools(client)
                        scope.deadline = math.inf  # connected: from now on it lives until stopped
                        attempt.client = client
                        attempt.ready.set()
                        self._on_tools(self, attempt.tools)
                        await attempt.stop.wait()
                if scope.cancelled_caught and attempt.client is None:
                    attempt.error = f"it did not finish connecting within {config.connect_timeout_s:g}s"
            except Exception as exc:  # noqa: BLE001 - whatever the SDK or transport raised, in words
                if attempt.error is None:
                    attempt.error = self._describe(exc, attempt)
            finally:
                attempt.stderr_tail = _stderr_tail(errlog)
                if attempt.error is None and attempt.client is None:
                    attempt.error = "it stopped before it connected"
                attempt.ended.set()
                attempt.ready.set()

    async def call(self, tool: str, arguments: dict[str, Any]) -> Any:
        """Call ``tool`` on the server; the SDK's result.

        Raises:
            ToolError: it could not connect, crashed or disconnected, or did not answer in time.
        """
        attempt = await self._live_attempt()  # this call's attempt, whatever later calls start
        timeout = self.config.call_timeout_s
        try:
            with trio.fail_after(timeout):
                return await attempt.client.call_tool(tool, arguments)
        except trio.TooSlowError:
            attempt.error = f"it did not answer {tool} within {timeout:g}s"
            attempt.stop.set()
            raise ToolError(f"MCP server {self.name!r} did not answer {tool} within {timeout:g}s; the call "
                            "was abandoned and the server will be restarted on its next use") from None
        except Exception as exc:  # noqa: BLE001 - translated here, once
            if _is_refusal(exc):
                raise ToolError(f"MCP server {self.name!r} refused {tool}: {_message(exc)}") from None
            attempt.error = f"it stopped during {tool}"
            attempt.stop.set()
            await attempt.ended.wait()
            raise ToolError(f"MCP server {self.name!r} crashed or disconnected during {tool} "
                            f"({self._describe(exc, attempt)}); it will be restarted on its next use") from None

    def stop(self) -> None:
        if self._attempt is not None:
            self._attempt.stop.set()

    def _describe(self, exc: BaseException, attempt: _Attempt) -> str:
        text = _message(exc)
        tail = attempt.stderr_tail or _stderr_tail(attempt.errlog)
        return f"{text}; its last output on stderr: {tail}" if tail else text


async def _list_tools(client: Any) -> list[Any]:
    tools: list[Any] = []
    cursor = None
    for _ in range(100):  # a server that pages forever must not hang the connection
        page = await client.list_tools(cursor=cursor)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            break
    return tools


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


def _message(exc: BaseException) -> str:
    """The innermost errors of an exception (groups unwrapped), in words."""
    parts = []
    for leaf in _leaves(exc):
        text = str(getattr(leaf, "message", "") or leaf) or type(leaf).__name__
        if isinstance(leaf, FileNotFoundError):
            text = f"command not found: {leaf.filename or text}"
        parts.append(text)
    return "; ".join(dict.fromkeys(parts))


def _is_refusal(exc: BaseException) -> bool:
    """An error answer from a live server (invalid params, unknown tool), not a broken connection."""
    from mcp.shared.exceptions import MCPError
    from mcp_types import CONNECTION_CLOSED

    return isinstance(exc, MCPError) and exc.code != CONNECTION_CLOSED


def _stderr_tail(errlog: TextIO | None) -> str:
    if errlog is None or errlog.closed:
        return ""
    try:
        # pread: the server shares the file's offset, so reading must not move it.
        fd = errlog.fileno()
        size = os.fstat(fd).st_size
        text = os.pread(fd, 8192, max(0, size - 8192)).decode("utf-8", "replace")
    except (OSError, ValueError):
        return ""
    lines = [" ".join(line.split()) for line in text.strip().splitlines() if line.strip()]
    return " | ".join(lines[-3:])[-_STDERR_TAIL:]
