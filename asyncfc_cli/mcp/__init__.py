"""MCP servers as tool providers: each server's tools are offered as ``NAME__TOOL`` and each call
is a future (see ``config`` for the configuration, ``hub`` for the life of a session's servers,
``connection`` for one server and its failures, ``convert`` for names, effects and results).

Importing this package is cheap: the SDK is imported when a server is first started.
"""

from .config import McpConfig, McpServerConfig, load_mcp_config
from .hub import McpHub

__all__ = ["McpConfig", "McpHub", "McpServerConfig", "load_mcp_config"]
