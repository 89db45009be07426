"""Every MCP server of a session: started together, their tools offered as each one connects.

``running()`` starts a connection per server in its own nursery and returns at once: servers
never delay the first model request. A server's tools are handed to the listeners (the session's
``add_tools``) when it connects (the session builds each request once its client is ready, so a
server up within the client's start-up is in the first request), and its listing is remembered
(``listing_cache_dir``), so the next session offers them from its first request and a call that
comes before the server is up simply waits for it, like any future that has not started yet.

Names: each offered name (``NAME__TOOL``) belongs to one tool, whatever order the servers connect
in. A built-in tool's name is never taken (``reserved``). Two servers whose tools come out as the
same name (``a_`` with ``x`` and ``a`` with ``_x``): the server named first in the configuration
offers it; if the other connected first, its tool is replaced when the first one connects. Two
tools of one server under one name (``look.up`` and ``look_up``): the first listed is offered. The
tool that loses is not offered, and each clash is said once, naming both sides (``warn``).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio

from asyncfc_tools import ToolContext, ToolSpec

from .config import McpServerConfig
from .connection import Connector, McpConnection, open_client
from .convert import McpToolSpec, effect_for, offered_name, result_text

__all__ = ["McpHub", "ToolListing", "listing_cache_dir"]

ToolsListener = Callable[[Mapping[str, ToolSpec]], None]


def listing_cache_dir() -> Path:
    """Where servers' tool listings are remembered: ``$XDG_CACHE_HOME/asyncfc/mcp`` (default
    ``~/.cache``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "asyncfc" / "mcp"


@dataclass(frozen=True, slots=True)
class ToolListing:
    """One server tool as listed: what the SDK lists, and what the listing cache stores."""

    name: str
    """Its name on the server."""
    description: str
    input_schema: Mapping[str, Any]
    read_only: bool
    """The server's read-only hint."""

    @classmethod
    def of(cls, tool: Any) -> ToolListing:
        annotations = getattr(tool, "annotations", None)
        # Providers take only object schemas for function parameters; a server may leave it implied.
        schema = {"type": "object", "properties": {}, **dict(tool.input_schema or {})}
        return cls(tool.name, tool.description or "", schema, bool(getattr(annotations, "read_only_hint", False)))

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "input_schema": dict(self.input_schema),
                "read_only": self.read_only}


class McpHub:
    """The session's MCP servers. See the module docstring.

    Args:
        servers: what to connect to.
        connector: opens each server's SDK client (a test seam; default: process or HTTP).
        listing_cache_dir: where each server's last tool listing is kept (None: not kept).
        reserved: the names of the session's own tools, never offered for a server's.
        warn: told each name clash once, in words (see the module docstring).
    """

    def __init__(self, servers: Sequence[McpServerConfig], *, connector: Connector = open_client,
                 listing_cache_dir: Path | None = None, reserved: Collection[str] = (),
                 warn: Callable[[str], None] | None = None) -> None:
        self.connections = {c.name: McpConnection(c, on_tools=self._connected, connector=connector)
                            for c in servers}
        self._cache_dir = listing_cache_dir
        self._listeners: list[ToolsListener] = []
        self._specs: dict[str, McpToolSpec] = {}
        self._reserved = frozenset(reserved)
        self._rank = {c.name: place for place, c in enumerate(servers)}
        self._warn = warn
        self._said: set[str] = set()
        for connection in self.connections.values():
            cached = self._cached(connection.config)
            if cached is not None:
                self._specs.update(self._declare(connection, cached))

    def specs(self) -> dict[str, ToolSpec]:
        """The tools known so far (remembered listings, then those of servers that connected)."""
        return dict(self._specs)

    def subscribe(self, listener: ToolsListener) -> None:
        """``listener`` gets each server's tools when it connects (``Session.add_tools``)."""
        self._listeners.append(listener)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[McpHub]:
        """Start every server at once and stop them all (their processes too) on the way out."""
        async with trio.open_nursery() as nursery:
            for connection in self.connections.values():
                connection.start(nursery)
            try:
                yield self
            finally:
                nursery.cancel_scope.cancel()

    async def wait_settled(self) -> None:
        """Wait until every server has connected or failed to (``asyncfc mcp list``)."""
        for connection in self.connections.values():
            await connection.wait_settled()

    def _connected(self, connection: McpConnection, tools: list[Any]) -> None:
        listing = [ToolListing.of(tool) for tool in tools]
        specs = self._declare(connection, listing)
        self._specs.update(specs)
        self._remember(connection.config, listing)
        for listener in self._listeners:
            listener(specs)

    def _declare(self, connection: McpConnection, listing: Sequence[ToolListing]) -> dict[str, McpToolSpec]:
        specs: dict[str, McpToolSpec] = {}
        for tool in listing:
            name = offered_name(connection.name, tool.name)
            if not self._may_offer(name, connection.name, tool.name, specs):
                continue
            specs[name] = McpToolSpec(
                name=name,
                description=tool.description or f"{tool.name} (from the MCP server {connection.name})",
                parameters=tool.input_schema, fn=_caller(connection, tool.name, name),
                effect=effect_for(connection.config, tool.name, tool.read_only), is_async=True,
                server=connection.name, remote_name=tool.name, read_only=tool.read_only,
            )
        return specs

    def _may_offer(self, name: str, server: str, tool: str, listed: Mapping[str, McpToolSpec]) -> bool:
        """Whether ``server``'s ``tool`` may be offered as ``name``, by the rules of the module
        docstring (``listed``: the tools of the same listing offered so far); a clash is said."""
        if name in self._reserved:
            self._say(f"the MCP server {server!r} offers its tool {tool!r} as {name!r}, the name of a "
                      "built-in tool: it is not offered")
            return False
        if name in listed:
            first = listed[name].remote_name
            self._say(f"the MCP server {server!r} offers both {first!r} and {tool!r} as {name!r}: only "
                      f"{first!r} is offered")
            return False
        holder = self._specs.get(name)
        if holder is None or holder.server == server:
            return True
        (winner, won), (loser, lost) = sorted(
            [(holder.server, holder.remote_name), (server, tool)], key=lambda side: self._rank[side[0]])
        self._say(f"the MCP servers {winner!r} and {loser!r} both offer a tool as {name!r} ({won!r} and "
                  f"{lost!r}): only {winner!r}'s is offered, as that server comes first in the configuration")
        return server == winner

    def _say(self, clash: str) -> None:
        if clash not in self._said:
            self._said.add(clash)
            if self._warn is not None:
                self._warn(clash)

    # ------------------------------------------------------------------------ the listing cache

    def _cache_path(self, config: McpServerConfig) -> Path | None:
        if self._cache_dir is None:
            return None
        # Keyed by everything that decides what the server is, so another server never lends its
        # tools; headers and env are hashed, never stored.
        identity = json.dumps([config.name, config.command, config.args, sorted(config.env.items()),
                               config.cwd, config.url, sorted(config.headers.items())])
        return self._cache_dir / f"{config.name}-{hashlib.sha256(identity.encode()).hexdigest()[:16]}.json"

    def _cached(self, config: McpServerConfig) -> list[ToolListing] | None:
        path = self._cache_path(config)
        try:
            raw = json.loads(path.read_text(encoding="utf-8")) if path is not None else None
            return [ToolListing(t["name"], t["description"], t["input_schema"], bool(t["read_only"]))
                    for t in raw] if isinstance(raw, list) else None
        except (OSError, ValueError, KeyError, TypeError):
            return None  # no listing yet, or a damaged one: the server's own will do

    def _remember(self, config: McpServerConfig, listing: list[ToolListing]) -> None:
        path = self._cache_path(config)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps([t.as_dict() for t in listing]), encoding="utf-8")
        except OSError:
            pass  # only a head start is lost


def _caller(connection: McpConnection, tool: str, offered: str) -> Callable[..., Any]:
    async def call(_ctx: ToolContext, /, **arguments: Any) -> str:  # a tool may take "ctx" itself
        result = await connection.call(tool, arguments)
        return result_text(offered, result.content, result.structured_content, result.is_error)

    return call
