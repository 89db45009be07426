"""MCP offered names: one tool per name whatever order servers connect in, a built-in's name never
taken, and every clash said in words naming both sides. Real SDK servers, in-process, on trio's
MockClock (a connection's delay is exact virtual time)."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trio

from asyncfc_cli.mcp import McpHub, McpServerConfig
from asyncfc_cli.testing.mcp_server import build_server
from asyncfc_tools import ToolContext


def odd_server():
    """A server whose tool names come out as the shipped test server's under another server name
    (``_echo`` on ``t`` is ``t___echo``, as ``echo`` on ``t_`` is), and two tools of one name."""
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("odd")

    @server.tool(name="_echo")
    async def underscore_echo(text: str) -> str:
        """Echo, from the odd server."""
        return f"odd {text}"

    @server.tool(name="look.up")
    async def look_dot_up() -> str:
        """Listed first."""
        return "dot"

    @server.tool(name="look_up")
    async def look_underscore_up() -> str:
        """Listed second."""
        return "underscore"

    return server


def connector(late: str):
    """Serves ``t`` with the odd server and ``t_`` with the shipped one; ``late`` connects a second
    after the other."""

    @asynccontextmanager
    async def connect(config, errlog):
        from mcp import Client

        if config.name == late:
            await trio.sleep(1)
        async with Client(odd_server() if config.name == "t" else build_server(), cache=None) as client:
            yield client

    return connect


async def settled(hub: McpHub) -> dict:
    offered: dict = {}
    hub.subscribe(offered.update)
    async with hub.running():
        await hub.wait_settled()
        assert await hub.specs()["t___echo"].fn(ToolContext(Path.cwd()), text="hi") == "odd hi"
    return offered


@pytest.mark.trio
@pytest.mark.parametrize("late", ["t", "t_"])
async def test_the_server_named_first_offers_a_clashing_name_whichever_connects_first(autojump_clock, late):
    said: list[str] = []
    hub = McpHub([McpServerConfig("t", command="unused"), McpServerConfig("t_", command="unused")],
                 connector=connector(late), warn=said.append)
    offered = await settled(hub)
    assert (offered["t___echo"].server, offered["t___echo"].remote_name) == ("t", "_echo")
    assert hub.specs()["t___echo"].server == "t"
    assert "t__sleep" not in hub.specs() and "t___sleep" in hub.specs()  # the rest of t_'s stay
    clash = [text for text in said if "'t___echo'" in text]
    assert clash == ["the MCP servers 't' and 't_' both offer a tool as 't___echo' ('_echo' and 'echo'): "
                     "only 't''s is offered, as that server comes first in the configuration"]


@pytest.mark.trio
async def test_two_tools_of_one_server_under_one_name_offer_the_first_listed(autojump_clock):
    said: list[str] = []
    hub = McpHub([McpServerConfig("t", command="unused")], connector=connector("nobody"), warn=said.append)
    async with hub.running():
        await hub.wait_settled()
        assert await hub.specs()["t__look_up"].fn(ToolContext(Path.cwd())) == "dot"
    assert said == ["the MCP server 't' offers both 'look.up' and 'look_up' as 't__look_up': only 'look.up' "
                    "is offered"]


@pytest.mark.trio
async def test_a_built_in_tools_name_is_never_taken(autojump_clock):
    said: list[str] = []
    hub = McpHub([McpServerConfig("t_", command="unused")], connector=connector("nobody"),
                 reserved={"t___echo"}, warn=said.append)
    async with hub.running():
        await hub.wait_settled()
    assert "t___echo" not in hub.specs() and "t___sleep" in hub.specs()
    assert said == ["the MCP server 't_' offers its tool 'echo' as 't___echo', the name of a built-in tool: "
                    "it is not offered"]


def test_warnings_said_before_the_start_follow_it_and_later_ones_go_out_at_once():
    from asyncfc_cli.app import _warnings_from_start
    from asyncfc_cli.events import EventBus, SessionStarted

    bus = EventBus(clock=lambda: 0.0)
    seen: list = []
    bus.subscribe(seen.append)
    warn = _warnings_from_start(bus)
    warn("early")
    assert seen == []
    bus.emit(SessionStarted, session_id="s", model="m", mode="async")
    warn("late")
    assert [(e.type, getattr(e, "message", None)) for e in seen] == [
        ("session_started", None), ("notice", "early"), ("notice", "late")]


def test_mcp_list_says_a_clash(tmp_path, monkeypatch):
    from asyncfc_cli.mcp.commands import list_servers

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    user = tmp_path / "config.toml"
    user.write_text('[mcp_servers.t]\ncommand = "unused"\n\n[mcp_servers.t_]\ncommand = "unused"\n')
    text, code = list_servers(tmp_path, user_config=user, connector=connector("nobody"), trusted=False)
    assert code == 0, text
    warnings = sorted(line for line in text.splitlines() if line.startswith("warning: "))
    assert text.splitlines()[-2:] == [line for line in text.splitlines() if line in warnings]  # last
    assert [w[:70] for w in warnings] == [
        "warning: the MCP server 't' offers both 'look.up' and 'look_up' as 't_",
        "warning: the MCP servers 't' and 't_' both offer a tool as 't___echo' ",
    ]
