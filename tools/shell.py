"""The shell tool: one command in the workspace root, as its own process group."""

from __future__ import annotations

from contextlib import nullcontext

from ._api import ToolContext, ToolError, tool
from ._words import positive_seconds
from ._commands import command_effect, shell_effect
from ._env import child_environment
from ._process import KILL_GRACE_S, CommandResult, run_command
from ._text import cap_text
from ._watch import changes_note, watch_tree

__all__ = ["shell", "format_command_result"]


def capture_budget(limit: int) -> int:
    """Bytes to keep of each stream so that formatting rarely has to cut again."""
    return max(limit * 2 // 3 - 200, 100)


def format_command_result(result: CommandResult, limit: int) -> str:
    """The text the model sees: exit status first, then stdout and stderr, within ``limit``."""
    if result.timed_out:
        head = f"timed out after {result.duration:.1f}s; the command and its children were killed"
    elif result.exit_code is not None and result.exit_code < 0:
        head = f"killed by signal {-result.exit_code} after {result.duration:.1f}s"
    else:
        head = f"exit code {result.exit_code} ({result.duration:.1f}s)"
    parts = [head]
    if result.stopped_children:
        parts.append("note: processes the command left running in the background were stopped")
    if result.output_held:
        parts.append("note: a process the command started still holds its output open and could not "
                     "be found to stop it; reading its output stopped there")
    stdout = cap_text(result.stdout, max(limit * 2 // 3, 200), what="stdout")
    stderr = cap_text(result.stderr, max(limit - len(stdout) - 200, limit // 3, 200), what="stderr")
    if stdout:
        parts.append(f"stdout:\n{stdout.rstrip(chr(10))}")
    if stderr:
        parts.append(f"stderr:\n{stderr.rstrip(chr(10))}")
    if not stdout and not stderr:
        parts.append("(no output)")
    return "\n".join(parts)


@tool(effect=shell_effect())
async def shell(ctx: ToolContext, command: str, timeout_s: float | None = None) -> str:
    """Run a shell command (/bin/sh) in the workspace root and return its exit code and output.

    The command runs in its own process group with no stdin; when it exits, times out or is
    cancelled, the whole group (children included) is stopped, so do not start servers or other
    background processes with it. Output is capped (head and tail kept, with a note of what was
    cut). A non-zero exit code is reported, not raised. Provider API keys are not in its
    environment. Commands that only read (git status/diff/log, ls, grep, sed -n...) and checks
    (pytest, ruff check, mypy, cargo test...) run alongside file reads; any other command waits for
    the calls before it and holds back the calls after it.

    Args:
        command: the command line, e.g. `git status` or `make -j2 && ./run`.
        timeout_s: seconds before the command is killed (default: the configured shell timeout).
    """
    if not command.strip():
        raise ToolError("command is empty")
    if "\0" in command:
        raise ToolError("the command contains a NUL character (\\0), which no command line can hold")
    timeout = positive_seconds(timeout_s, ctx.shell_timeout_s)
    env = ctx.env if ctx.env is not None else child_environment()
    grace = float(ctx.extra.get("shell", {}).get("kill_grace_s", KILL_GRACE_S))
    checks = command_effect(command).kind == "runs"
    try:
        async with watch_tree(ctx.root) if checks else nullcontext([]) as changed:
            result = await run_command(command, cwd=ctx.root, timeout_s=timeout,
                                       max_bytes=capture_budget(ctx.max_output_chars), env=env, grace_s=grace)
    except OSError as exc:
        raise ToolError(f"could not start the command: {exc}") from None
    text = "\n".join(filter(None, [format_command_result(result, ctx.max_output_chars), changes_note(changed)]))
    if result.timed_out:
        raise ToolError(text + f"\n(raise timeout_s above {timeout:g} if it needs longer)")
    return text
