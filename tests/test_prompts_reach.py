"""The prompts on sub-agents, web_fetch and MCP tools say what the engine does, and each prompt
reads right where it is used: the sub-agent's prompt (its brief plus the futures text) has no
advice it cannot follow and no reference to a section it does not contain."""

from __future__ import annotations

from pathlib import Path

from asyncfc_cli.prompting import build_subagent_prompt
from asyncfc_cli.subagent import default_tools
from asyncfc_cli.workspace import Workspace
from asyncfc_prompts import load_prompt
from asyncfc_tools import builtin_tools


def bullet(text: str, head: str) -> str:
    """The tool list entry of ``text`` that starts with ``head`` (up to the next entry)."""
    start = text.index(f"- {head}")
    end = text.find("\n- ", start + 1)
    return " ".join(text[start:end if end >= 0 else None].split())


def test_the_agent_entry_names_what_a_sub_agent_gets_and_that_it_sees_only_its_task():
    entry = bullet(load_prompt("system"), "`agent(")
    assert "sees only `task`" in entry
    for name in default_tools(builtin_tools()):  # the tools it has unasked, as the engine decides
        assert f"`{name}`" in entry, name


def test_the_ordering_paragraph_covers_agent_web_fetch_and_mcp_tools():
    text = " ".join(load_prompt("system").split())
    assert "So does an `agent` call: a write after it waits until its sub-agent has answered" in text
    assert "MCP tools not marked read-only" in text and "`web_fetch` run beside anything" in text


def test_web_fetch_says_it_cannot_reach_the_servers_the_model_starts():
    entry = bullet(load_prompt("system"), "`web_fetch(")
    assert "cannot reach localhost" in entry and "`curl`" in entry


def test_the_sub_agents_prompt_reads_right_on_its_own(tmp_path: Path):
    text = " ".join(build_subagent_prompt(Workspace(tmp_path), mode="async").split())
    assert '"Several tool calls"' not in text  # a section only the parent's prompt has
    assert "Delegate parallel work to sub-agents, when you have the `agent` tool" in text
    assert "independent reads and searches together, in one response" in text  # also without futures
