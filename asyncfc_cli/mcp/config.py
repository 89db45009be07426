"""Which MCP servers a session connects to: the user's ``[mcp_servers.NAME]`` tables, and a
repository's ``.mcp.json`` only when the user trusts that repository.

In the user's config file (``$XDG_CONFIG_HOME/asyncfc/config.toml``)::

    [mcp_servers.docs]                 # a local server over stdio
    command = "uvx"
    args = ["mcp-server-fetch"]
    env = { LOG_LEVEL = "warning" }    # added to a minimal environment (no provider keys)
    cwd = "/home/me"

    [mcp_servers.tracker]              # a remote one over Streamable HTTP (type = "sse": HTTP+SSE)
    url = "https://mcp.example.com/mcp"
    headers = { Authorization = "Bearer ..." }
    effects = { search = "pure" }      # "*" for every tool; default: the tool's read-only hint
    call_timeout_s = 60

A repository's ``.mcp.json`` (``{"mcpServers": {NAME: {command, args, env, cwd | type, url,
headers}}}``) adds servers the user's file does not name. This module stands on the user's side of
the trust boundary: a repository's file is read only when ``trusted`` (it starts processes).

In both, ``${VAR}`` and ``${VAR:-default}`` in ``command``, ``args``, ``env``, ``cwd``, ``url`` and
``headers`` take the value of the user's environment variable (``$$`` is a plain ``$``); an unset
variable without a default is an error naming it. A repository's file may not name a credential
(``is_secret_name``: ``GITHUB_TOKEN``, ``*_API_KEY``..., or a variable the user paired with an
endpoint, ``config.endpoint_keys``): trusting a repository lets it start
servers, not send the user's keys where it likes; such a server belongs in the user's own file.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from asyncfc_tools._env import is_secret_name

from ..config import endpoint_keys
from ..errors import ConfigError

__all__ = ["EFFECTS", "McpConfig", "McpServerConfig", "load_mcp_config", "parse_server"]

EFFECTS = ("pure", "exclusive")
"""What the user may declare a server's tool to be: touches nothing in the workspace, or anything."""
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_KEYS = {"command", "args", "env", "cwd", "url", "headers", "effects", "call_timeout_s",
         "connect_timeout_s", "type"}


@dataclass(frozen=True, slots=True)
class McpServerConfig:
    """One configured server."""

    name: str
    """Its tools are offered as ``NAME__TOOL``."""
    command: str | None = None
    """stdio: the program to start (with ``args``, ``env`` added, in ``cwd``)."""
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    """Streamable HTTP (or SSE): the endpoint (with ``headers`` on every request)."""
    sse: bool = False
    """``url`` speaks the older HTTP+SSE transport (``type = "sse"``), not Streamable HTTP."""
    headers: Mapping[str, str] = field(default_factory=dict)
    effects: Mapping[str, str] = field(default_factory=dict)
    """Per tool name (or ``*``): ``pure`` or ``exclusive``, over the server's own read-only hint."""
    call_timeout_s: float = 120.0
    """A call without an answer after this long fails (and the server is restarted on next use)."""
    connect_timeout_s: float = 30.0
    source: str = ""
    """Where it was configured (a file path), for messages."""
    from_repository: bool = False
    """Configured by a (trusted) repository's .mcp.json: trusting a repository lets it start
    servers, not decide what skips the user's approval, so its ``effects`` are dropped and its
    read-only hints are not believed (every call is exclusive and asks under ``ask``)."""

    @property
    def transport(self) -> str:
        return "stdio" if self.command else "sse" if self.sse else "http"

    @property
    def target(self) -> str:
        """What it connects to, for people: the command line or the URL (never headers)."""
        return " ".join((self.command or "", *self.args)) if self.command else str(self.url)


@dataclass(frozen=True, slots=True)
class McpConfig:
    servers: tuple[McpServerConfig, ...] = ()
    notices: tuple[str, ...] = ()
    """Things the user should know (a repository's servers left out because it is untrusted)."""


def _strings(value: Any, where: str, kind: str) -> Any:
    if kind == "list":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where} must be a list of strings")
        return tuple(value)
    if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
        raise ConfigError(f"{where} must be a table of strings")
    return dict(value)


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(f"{where} must be a number of seconds more than 0")
    return float(value)


_VARIABLE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_EXPANDED = ("command", "args", "env", "cwd", "url", "headers")


def _expand(value: Any, where: str, environ: Mapping[str, str], from_repository: bool) -> Any:
    """``value`` (a string, or a list or table of them) with ``${VAR}`` references filled in."""
    if isinstance(value, list):
        return [_expand(v, where, environ, from_repository) for v in value]
    if isinstance(value, Mapping):
        return {k: _expand(v, where, environ, from_repository) for k, v in value.items()}
    if not isinstance(value, str):
        return value

    def fill(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name is None:
            return "$"
        if from_repository and (is_secret_name(name) or name in endpoint_keys().values()):
            raise ConfigError(f"{where}: ${{{name}}} names a credential, which a repository's "
                              ".mcp.json may not read; configure this server in your own config "
                              "file's [mcp_servers] instead")
        if name in environ:
            return environ[name]
        if default is None:
            raise ConfigError(f"{where}: the environment variable {name} is not set (write "
                              f"${{{name}:-default}} for a default)")
        return default

    return _VARIABLE.sub(fill, value)


def parse_server(name: str, raw: Any, source: str, *, environ: Mapping[str, str] | None = None,
                 from_repository: bool = False) -> McpServerConfig:
    """One server's table (TOML) or object (JSON), checked, its ``${VAR}`` references filled in
    from ``environ`` (default: the process environment).

    Raises:
        ConfigError: naming the server, the key and what was expected.
    """
    where = f"{source}: MCP server {name!r}"
    if not _NAME.match(name) or "__" in name:
        raise ConfigError(f"{where}: a server name is 1-32 letters, digits, '-' or '_' (no '__'), "
                          "since its tools are offered as NAME__TOOL")
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a table")
    environ = os.environ if environ is None else environ
    raw = {k: _expand(v, f"{where}: {k}", environ, from_repository) if k in _EXPANDED else v
           for k, v in raw.items()}
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(_KEYS))}")
    command, url = raw.get("command"), raw.get("url")
    if (command is None) == (url is None) or not isinstance(command or url, str):
        raise ConfigError(f"{where}: give either `command` (a local server over stdio) or `url` "
                          "(Streamable HTTP), as a string")
    if raw.get("type") not in (None, "stdio", "http", "streamable-http", "streamable_http", "sse"):
        raise ConfigError(f"{where}: type {raw['type']!r} is not supported; use stdio, http "
                          "(Streamable HTTP) or sse (the older HTTP+SSE transport)")
    if raw.get("type") == "sse" and url is None:
        raise ConfigError(f"{where}: type sse needs a `url`")
    if url is not None and not str(url).startswith(("http://", "https://")):
        raise ConfigError(f"{where}: url must start with http:// or https://")
    effects = _strings(raw.get("effects", {}), f"{where}: effects", "table")
    bad = {k: v for k, v in effects.items() if v not in EFFECTS}
    if bad:
        raise ConfigError(f"{where}: effects {bad}: each must be one of {', '.join(EFFECTS)}")
    return McpServerConfig(
        name=name, command=command, args=_strings(raw.get("args", []), f"{where}: args", "list"),
        env=_strings(raw.get("env", {}), f"{where}: env", "table"),
        cwd=str(raw["cwd"]) if raw.get("cwd") is not None else None, url=url, sse=raw.get("type") == "sse",
        headers=_strings(raw.get("headers", {}), f"{where}: headers", "table"), effects=effects,
        call_timeout_s=_number(raw.get("call_timeout_s", 120.0), f"{where}: call_timeout_s"),
        connect_timeout_s=_number(raw.get("connect_timeout_s", 30.0), f"{where}: connect_timeout_s"),
        source=source,
    )


def _servers(table: Any, source: str, *, from_repository: bool = False) -> list[McpServerConfig]:
    if not isinstance(table, Mapping):
        raise ConfigError(f"{source}: the MCP servers must be a table of NAME = {{...}}")
    return [parse_server(str(name), raw, source, from_repository=from_repository)
            for name, raw in table.items()]


def _user_servers(path: Path) -> list[McpServerConfig]:
    import tomllib

    if not path.is_file():
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read: {exc}") from None
    return _servers(data.get("mcp_servers", {}), str(path))


def _repo_servers(path: Path, content: bytes | None = None) -> list[McpServerConfig]:
    """A repository's servers; a stdio server starts in the repository root (or ``cwd`` below it).
    ``content``, when given, is the file as already read (and checked against the trust pins)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8") if content is None else content.decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: expected an object with mcpServers")
    servers = [replace(s, effects={}, from_repository=True)
               for s in _servers(data.get("mcpServers", {}), str(path), from_repository=True)]
    return [replace(s, cwd=_repository_cwd(path, s)) if s.command else s for s in servers]


def _repository_cwd(path: Path, server: McpServerConfig) -> str:
    """Where a repository's stdio server starts: the repository root, or ``cwd`` below it."""
    root = path.parent.resolve()
    cwd = (root / (server.cwd or ".")).resolve()
    if not cwd.is_relative_to(root):
        raise ConfigError(f"{path}: mcpServers.{server.name}.cwd {server.cwd!r} is outside the repository")
    return str(cwd)


def load_mcp_config(root: Path | None, *, user_config: Path | None = None,
                    trusted: bool | None = None, session_trust: bool = False) -> McpConfig:
    """The servers to connect to: the user's, then the repository's that the user's do not name.

    Args:
        root: the workspace root, whose ``.mcp.json`` counts only when trusted.
        user_config: the user's config file (default ``config.user_config_path()``).
        trusted: whether the repository is trusted; None asks the trust store.
        session_trust: the user trusts it for this session (``--trust-repo``, the TUI's "once"):
            where the store does not, the file counts as it is now.

    Raises:
        ConfigError: a server's configuration is wrong (in words, naming the file and server).
    """
    from ..config import user_config_path

    user_config = user_config or user_config_path()
    servers = {s.name: s for s in _user_servers(user_config)}
    notices: list[str] = []
    repo_file = root / ".mcp.json" if root is not None else None
    if root is not None and repo_file is not None and repo_file.is_file():
        stale, content = "", None
        if trusted is None:
            from ..trust import trust_state

            state = trust_state(root, user_config=user_config)
            trusted, stale = state.trusted, state.notice
            if state.trusted:
                checked = state.contents.get(repo_file.name)  # what was checked against the pins
                content = b"{}" if checked is None else checked
            elif session_trust:
                trusted, stale = True, ""
        if trusted:
            for server in _repo_servers(repo_file, content):
                servers.setdefault(server.name, server)
        elif stale:
            notices.append(f"{repo_file} names MCP servers, which were not started: {stale}")
        else:
            notices.append(f"{repo_file} names MCP servers, but this repository is not trusted, so "
                           "they were not started (`asyncfc trust` trusts it)")
    return McpConfig(tuple(servers.values()), tuple(notices))
