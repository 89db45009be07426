"""What ``asyncfc tools`` and ``asyncfc undo`` print (cli.py only parses flags and exits).

Kept apart from cli.py so that the text and exit codes are plain functions, tested without a
terminal.
"""

from __future__ import annotations

import json
from pathlib import Path

from asyncfc_tools import ToolSpec

from .errors import EXIT_OK, EXIT_UNFINISHED, EXIT_USAGE, AsyncfcError, WorkspaceError
from .events import printable

__all__ = ["all_tools", "describe_tools", "undo_command"]


def all_tools() -> dict[str, ToolSpec]:
    """Every tool a session offers the model: the workspace tools, ``agent``, then the engine's
    own (MCP servers' tools are listed by ``asyncfc mcp list``)."""
    from asyncfc_tools import builtin_tools

    from .protocol_tools import engine_tools
    from .subagent import declare_agent

    workspace = builtin_tools()

    async def listed_only(*_: object) -> str:
        raise AssertionError("`asyncfc tools` only describes the agent tool")

    return {**workspace, "agent": declare_agent(listed_only, lambda: workspace), **engine_tools()}


def _parameters(spec: ToolSpec) -> str:
    required = set(spec.parameters.get("required", ()))
    names = [f"{name}*" if name in required else name for name in spec.parameters.get("properties", {})]
    return ", ".join(names) or "-"


def describe_tools(tools: dict[str, ToolSpec], *, as_json: bool = False) -> str:
    """One block per tool (name, effect kind, parameters with * for required, summary), or the
    OpenAI-style function schemas as a JSON array."""
    if as_json:
        return json.dumps([spec.schema() for spec in tools.values()], indent=2, ensure_ascii=False)
    width = max(len(name) for name in tools)
    lines = []
    for name, spec in tools.items():
        kind = spec.effect_of({}, None).kind
        summary = spec.description.split("\n")[0].split(". ")[0].rstrip(".")
        lines.append(f"{name:<{width}}  {kind:<9}  {_parameters(spec)}")
        lines.append(f"{'':<{width}}  {summary}.")
    lines.append("")
    lines.append("* required. Effects: reads/writes (paths); runs (checks: read the tree, write only "
                 "caches); declared (a shell command's writes: reads the tree, writes only those); "
                 "exclusive (may touch anything); pure; shell's depends on its command and its "
                 "declared writes. "
                 "`asyncfc tools --json` prints the schemas.")
    return "\n".join(lines)


def undo_command(start: Path) -> tuple[str, int]:
    """Undo the latest checkpoint of the repository holding ``start``: (message, exit code).

    Exit codes: 0 restored (or already matching), 1 nothing to undo, 2 not a git repository or
    git failed.
    """
    from .checkpoint import undo

    try:
        report = undo(start)
    except WorkspaceError as exc:
        return str(exc), EXIT_USAGE
    except AsyncfcError as exc:
        return f"undo failed: {exc}", exc.exit_code or EXIT_USAGE
    if report is None:
        return (f"nothing to undo in {start}: no checkpoint left (asyncfc records one before a "
                "session's first change)", EXIT_UNFINISHED)
    checkpoint = report.checkpoint
    lines = [f"undid session {checkpoint.session_id or '?'}: {len(report.restored)} restored, "
             f"{len(report.deleted)} deleted (checkpoint {checkpoint.commit[:12]}, {checkpoint.ref})"]
    if not report.changed:
        lines.append("the working tree already matched the checkpoint; nothing was changed")
    lines += [f"  restored  {path}" for path in report.restored]
    lines += [f"  deleted   {path}  (created since the checkpoint)" for path in report.deleted]
    if report.skipped:
        ids = ", ".join(cp.session_id or "?" for cp in report.skipped)
        lines.append(f"note: skipped {len(report.skipped)} later checkpoint(s) of sessions that changed nothing ({ids})")
    if report.git_restored:
        lines.append(f"note: {report.git_restored}")
    if report.head_note:
        lines.append(f"note: {report.head_note}")
    lines.append(f"the tree as it was before this undo is saved as {report.saved_ref} "
                 f"(`git checkout {report.saved_ref} -- <path>` brings a file back)")
    lines.append("ignored files are not part of checkpoints and were left as they are")
    return printable("\n".join(lines)), EXIT_OK  # the repository's file names: any characters
