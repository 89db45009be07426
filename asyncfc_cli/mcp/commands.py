"""What ``asyncfc mcp list`` prints: each configured server, its state once it has connected or
failed to, and its tools as the model is offered them (name, effect, summary).

A plain function returning (text, exit code), tested without a terminal: exit 0 when every
server is ready, 1 when one is not, 2 for a configuration error.
"""

from __future__ import annotations

from pathlib import Path

import trio

from ..errors import EXIT_OK, EXIT_UNFINISHED, ConfigError
from .config import McpServerConfig, load_mcp_config
from .connection import Connector, open_client
from .hub import McpHub, listing_cache_dir

__all__ = ["list_servers"]

_HOW_TO = ("No MCP servers configured. Add one to your config file ({path}), e.g.\n\n"
           "    [mcp_servers.test]\n"
           "    command = \"python\"\n"
           "    args = [\"-m\", \"asyncfc_cli.testing.mcp_server\"]\n\n"
           "or, for a remote server, `url = \"https://...\"` (and `headers = {{...}}`). A trusted "
           "repository's .mcp.json adds its own.")


def list_servers(root: Path, *, user_config: Path | None = None, connector: Connector = open_client,
                 trusted: bool | None = None) -> tuple[str, int]:
    """Connect to every configured server at once and describe them (see the module docstring)."""
    from ..config import user_config_path

    try:
        config = load_mcp_config(root, user_config=user_config, trusted=trusted)
    except ConfigError as exc:
        return str(exc), exc.exit_code
    lines = list(config.notices)
    if not config.servers:
        lines.append(_HOW_TO.format(path=user_config or user_config_path()))
        return "\n".join(lines), EXIT_OK
    clashes: list[str] = []
    hub = McpHub(config.servers, connector=connector, listing_cache_dir=listing_cache_dir(), warn=clashes.append)
    states = trio.run(_settle, hub)
    for connection in hub.connections.values():
        lines.append(_server_line(connection.config, states[connection.name]))
        specs = {name: spec for name, spec in hub.specs().items()
                 if getattr(spec, "server", "") == connection.name}
        width = max((len(name) for name in specs), default=0)
        for name, spec in specs.items():
            summary = spec.description.strip().split("\n")[0][:80]
            lines.append(f"  {name:<{width}}  {spec.effect_of({}, None).kind:<9}  {summary}")
    lines.extend(f"warning: {clash}" for clash in clashes)
    ready = all(state == "ready" for state in states.values())
    return "\n".join(lines), EXIT_OK if ready else EXIT_UNFINISHED


async def _settle(hub: McpHub) -> dict[str, str]:
    """Each server's state once all have connected or failed (before they are stopped again)."""
    limit = max(c.config.connect_timeout_s for c in hub.connections.values()) + 1.0
    async with hub.running():
        with trio.move_on_after(limit):
            await hub.wait_settled()
        return {name: connection.state for name, connection in hub.connections.items()}


def _server_line(config: McpServerConfig, state: str) -> str:
    return f"{config.name}  ({config.transport}: {config.target}; from {config.source})  {state}"
