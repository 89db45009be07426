"""The words of /status, /mcp and /allow, from plain values."""

from __future__ import annotations

from types import SimpleNamespace

from asyncfc_cli.status_report import (McpServerState, StatusFacts, allow_rules_text, mcp_states, mcp_text,
                                       status_text)

FACTS = StatusFacts(session_id="s1", model="openai/gpt-4.1", scripted=False, endpoint="https://api.openai.com/v1",
                    mode="async", approval="ask", allow_rules=1, sandbox="on", network=False, root="/r",
                    is_git=True, trusted=False, ignored_keys=("api_base",), instructions=(), transcript="")


def test_status_names_each_fact_and_the_command_that_changes_it() -> None:
    lines = status_text(FACTS).splitlines()
    assert lines[1] == "model         openai/gpt-4.1 at https://api.openai.com/v1  (/model)"
    assert lines[3] == "approval      ask, 1 allow rule (/allow lists them)  (/approval)"
    assert lines[4] == "commands      sandbox on: write only in the workspace; no network beyond the session's loopback"
    assert lines[5] == ("workspace     /r (git), not trusted (left out: api_base; `asyncfc trust` applies them)")
    assert lines[6] == "instructions  none (/init writes AGENTS.md)"
    assert lines[-1] == "transcript    not recorded"


def test_mcp_lists_each_server_with_its_tools() -> None:
    connections = {"docs": SimpleNamespace(state="ready", config=SimpleNamespace(source="~/.config/asyncfc/config.toml")),
                   "down": SimpleNamespace(state="failed: it stopped before it connected", config=None)}
    offered = {"docs__search": SimpleNamespace(server="docs"), "grep": SimpleNamespace()}
    states = mcp_states(connections, offered)
    assert states[0] == McpServerState("docs", "ready", ("docs__search",), "~/.config/asyncfc/config.toml")
    assert mcp_text(states, "cfg").splitlines() == [
        "docs  ready; from ~/.config/asyncfc/config.toml", "  docs__search",
        "down  failed: it stopped before it connected", "  (no tools offered yet)"]


def test_allow_marks_saved_rules_and_session_ones() -> None:
    text = allow_rules_text(["edit_file", "shell(npm test*)"], ["edit_file"], "/c/allow.toml")
    assert "  edit_file  (saved in /c/allow.toml)" in text and "  shell(npm test*)  (this session)" in text
    assert allow_rules_text([], [], "f").startswith("No allow rules")
