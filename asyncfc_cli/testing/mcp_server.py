"""A small MCP server for tests and trying MCP out, built with the SDK's own server API.

Run it over stdio (what a ``[mcp_servers.NAME]`` table with ``command`` starts)::

    python -m asyncfc_cli.testing.mcp_server              # stdio
    python -m asyncfc_cli.testing.mcp_server --http 8765  # Streamable HTTP at :8765/mcp

    [mcp_servers.test]
    command = "python"
    args = ["-m", "asyncfc_cli.testing.mcp_server"]

Its tools cover what a client must survive: ``echo``, ``sleep`` and ``pid`` (read-only), ``shout``
(structured content only), ``picture`` (an image), ``note`` (writes a file in its working folder:
not read-only), ``crash`` (the process exits in the middle of the call), ``hang`` (never answers)
and ``fail`` (an error result). ``build_server()`` returns the server object itself, and ``connect_in_process`` serves it to an
``McpHub`` in-process (on trio's MockClock its ``sleep`` takes virtual time).
"""

# No `from __future__ import annotations`: the SDK reads the tools' annotations at run time, and
# they name classes imported inside build_server.
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

__all__ = ["build_server", "connect_in_process", "main"]


def build_server() -> Any:
    """The test server (an ``mcp.server.mcpserver.MCPServer``)."""
    import anyio
    from mcp.server.mcpserver import Image, MCPServer
    from mcp.types import ToolAnnotations

    server = MCPServer("asyncfc-test", instructions="A test server for asyncfc.")
    read_only = ToolAnnotations(readOnlyHint=True)
    # Every tool is async: the SDK runs sync ones in a worker thread, and on trio's MockClock a
    # thread's real time lets the virtual clock jump ahead to a time-out.

    @server.tool(annotations=read_only)
    async def echo(text: str) -> str:
        """Return text unchanged."""
        return text

    @server.tool(annotations=read_only)
    async def sleep(seconds: float, result: str = "slept") -> str:
        """Wait, then return result (stands for a slow remote API)."""
        await anyio.sleep(seconds)
        return result

    @server.tool(annotations=read_only)
    async def pid() -> int:
        """The server's process id (tests check it is gone once the session ends)."""
        return os.getpid()

    @server.tool(annotations=read_only, structured_output=True)
    async def shout(text: str) -> dict[str, Any]:
        """Return text in capitals, as structured content."""
        return {"text": text.upper(), "length": len(text)}

    @server.tool(annotations=read_only)
    async def picture() -> Image:
        """Return a tiny PNG image."""
        return Image(data=b"\x89PNG\r\n\x1a\n" + b"\0" * 8, format="png")

    @server.tool()
    async def note(name: str, text: str) -> str:
        """Write text to the file name in the server's working folder."""
        Path(name).write_text(text, encoding="utf-8")
        return f"wrote {name}"

    @server.tool()
    async def crash() -> str:
        """The server process dies in the middle of this call."""
        print("test server: crashing on purpose", file=sys.stderr, flush=True)
        os._exit(3)

    @server.tool(annotations=read_only)
    async def hang() -> str:
        """Never answer."""
        await anyio.sleep_forever()
        return ""

    @server.tool(annotations=read_only)
    async def fail(reason: str) -> str:
        """Fail with reason (an error result, the server stays up)."""
        raise ValueError(reason)

    return server


@asynccontextmanager
async def connect_in_process(config: Any, errlog: Any) -> AsyncIterator[Any]:
    """A ``Connector`` for ``McpHub`` that serves every configured server with a fresh test server in
    this process (no subprocess: on trio's MockClock its calls take exactly their virtual time)."""
    from mcp import Client

    async with Client(build_server(), cache=None) as client:
        yield client


def main(argv: list[str] | None = None) -> None:
    """Serve over stdio, with ``--http PORT`` over Streamable HTTP at ``http://127.0.0.1:PORT/mcp``,
    or with ``--sse PORT`` over HTTP+SSE at ``http://127.0.0.1:PORT/sse``."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--http"] and len(args) == 2:
        build_server().run("streamable-http", host="127.0.0.1", port=int(args[1]))
    elif args[:1] == ["--sse"] and len(args) == 2:
        build_server().run("sse", host="127.0.0.1", port=int(args[1]))
    else:
        build_server().run("stdio")


if __name__ == "__main__":
    main()
