"""What the TUI's /status, /allow and /mcp say about a live session, as text.

Pure: each function turns values the session already holds (``controls.SessionControls`` gathers
them) into the lines a person reads, so all of it is tested without a session. Nothing here
decides anything; the wording says where each fact comes from and which command changes it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["McpServerState", "StatusFacts", "allow_rules_text", "mcp_text", "status_text"]


@dataclass(frozen=True, slots=True)
class McpServerState:
    """One configured MCP server as the session sees it now."""

    name: str
    state: str
    """``connecting``, ``ready`` or ``failed: why`` (``McpConnection.state``)."""
    tools: tuple[str, ...]
    """The names its tools are offered under (``NAME__TOOL``)."""
    source: str = ""
    """Where it is configured (the user's config file, a trusted ``.mcp.json``)."""


@dataclass(frozen=True, slots=True)
class StatusFacts:
    """Everything /status shows, read from the live session."""

    session_id: str
    model: str
    scripted: bool
    endpoint: str
    """Where requests go (never a key); empty for the scripted model."""
    mode: str
    approval: str
    allow_rules: int
    sandbox: str
    """on, off or unavailable (``Sandbox.state``)."""
    network: bool
    root: str
    is_git: bool
    trusted: bool
    """Whether the repository's own config applies in full (``Settings.repo_trusted``)."""
    ignored_keys: tuple[str, ...]
    """Keys of its ``.asyncfc.toml`` left out because it is not trusted."""
    instructions: tuple[str, ...]
    """The project instructions files the system prompt was given."""
    transcript: str
    """Where the session is recorded ("" when it is not)."""
    mcp: tuple[McpServerState, ...] = ()


def status_text(facts: StatusFacts) -> str:
    """The /status report: one fact a line, each naming the command that changes it."""
    model = f"{facts.model} (scripted model)" if facts.scripted else facts.model
    if facts.endpoint:
        model += f" at {facts.endpoint}"
    rules = f"{facts.allow_rules} allow rule{'s' * (facts.allow_rules != 1)} (/allow lists them)"
    trust = "trusted: its .asyncfc.toml applies in full" if facts.trusted else "not trusted"
    if facts.ignored_keys:
        trust += f" (left out: {', '.join(facts.ignored_keys)}; `asyncfc trust` applies them)"
    rows = [
        ("session", facts.session_id or "not started yet"),
        ("model", f"{model}  (/model)"),
        ("mode", f"{facts.mode}  (/mode)"),
        ("approval", f"{facts.approval}, {rules}  (/approval)"),
        ("commands", _commands(facts.sandbox, facts.network)),
        ("workspace", f"{facts.root} ({'git' if facts.is_git else 'not a git repository'}), {trust}"),
        ("instructions", ", ".join(facts.instructions) or "none (/init writes AGENTS.md)"),
        ("mcp", _mcp_summary(facts.mcp)),
        ("transcript", facts.transcript or "not recorded"),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def _commands(sandbox: str, network: bool) -> str:
    if sandbox == "on":
        reach = "network allowed" if network else "no network beyond the session's loopback"
        return f"sandbox on: write only in the workspace; {reach}"
    if sandbox == "unavailable":
        return "unconfined: the OS sandbox cannot run here"
    return "unconfined: the sandbox is off"


def _mcp_summary(servers: Sequence[McpServerState]) -> str:
    if not servers:
        return "no servers configured"
    return ", ".join(f"{s.name} {s.state}" for s in servers) + "  (/mcp lists their tools)"


def mcp_text(servers: Sequence[McpServerState], config_path: str) -> str:
    """The /mcp report: each server, where it is configured, its state and its tools."""
    if not servers:
        return (f"No MCP servers configured. Add one as [mcp_servers.NAME] in {config_path} "
                "(README: MCP servers); a trusted repository's .mcp.json adds its own.")
    lines = []
    for server in servers:
        source = f"; from {server.source}" if server.source else ""
        lines.append(f"{server.name}  {server.state}{source}")
        lines += [f"  {tool}" for tool in server.tools] or ["  (no tools offered yet)"]
    return "\n".join(lines)


def allow_rules_text(in_force: Sequence[str], saved: Sequence[str], allow_file: str) -> str:
    """The /allow report: the rules in force, each marked saved (in ``allow_file``) or for this
    session only, and how to add and remove one."""
    how = ("/allow RULE allows one for this session (shell(npm test*), edit_file); "
           "/disallow RULE stops one (and removes it from the file)")
    if not in_force:
        return f"No allow rules: under approval ask every change asks first.\n{how}"
    kept = set(saved)
    lines = [f"{rule}  ({'saved in ' + allow_file if rule in kept else 'this session'})" for rule in in_force]
    return "\n".join(["Allowed without asking:", *(f"  {line}" for line in lines), how])


def mcp_states(connections: Mapping[str, object], offered: Mapping[str, object]) -> tuple[McpServerState, ...]:
    """The states of an ``McpHub``'s ``connections``, with the tools of each among ``offered``
    (the hub's specs: each has ``server``)."""
    return tuple(
        McpServerState(name, str(getattr(connection, "state", "")),
                       tuple(tool for tool, spec in offered.items() if getattr(spec, "server", "") == name),
                       str(getattr(getattr(connection, "config", None), "source", "")))
        for name, connection in connections.items())
