"""The commands of ``asyncfc`` beside its sessions: demo, replay, sessions, prompt, tools, trust,
undo, bench and mcp. Each imports what it needs inside its body (``asyncfc --help`` stays fast).
They are declared on ``commands``, a group the command line's app takes in as its own.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ..errors import EXIT_USAGE, AsyncfcError
from ..events import printable
from ..workspace import Workspace, find_root
from .options import (BenchTools, Clock, CwdOpt, MapTokensOpt, ModeOpt, SessionFlags, fail,
                      root_of)

commands = typer.Typer()
"""The commands; the main app takes them in as its own (``app.add_typer(commands)``)."""


@commands.command()
def demo(
    compare: Annotated[bool, typer.Option("--compare/--no-compare", help="Also run the scenario in sync mode and compare.")] = True,
    keep: Annotated[bool, typer.Option("--keep", help="Keep the throwaway repository and print its path.")] = False,
) -> None:
    """Play a scripted coding session (no network, no key) on a throwaway repository."""
    from ..demo import run_demo

    raise typer.Exit(run_demo(compare=compare, keep=keep))


@commands.command()
def replay(
    session: Annotated[str, typer.Argument(help="A session id (or a prefix of one, or `last`) as `asyncfc sessions` lists them, or a transcript file.")],
    speed: Annotated[float, typer.Option("--speed", min=0.01, help="Play this many times faster than it ran.")] = 1.0,
    cwd: CwdOpt = None,
) -> None:
    """Play a recorded session in the TUI, at real speed or faster (as text when not on a terminal)."""
    from ..saved_sessions import find_session
    from ..transcript import read_events

    try:
        path = find_session(find_root((cwd or Path.cwd()).expanduser()), session, what="replay").path
        if not (sys.stdout.isatty() and sys.stdin.isatty()):
            from ..render import TextRenderer

            renderer = TextRenderer(sys.stdout, color=False)
            for event in read_events(path, nested=TextRenderer.nested_events):  # sub-agents' too
                renderer(event)
            renderer.flush_text()
            raise typer.Exit(0)
        from ..tui import run_replay

        code = run_replay(path, speed)
    except AsyncfcError as exc:
        raise fail(exc) from None
    except (OSError, ValueError) as exc:
        typer.echo(printable(f"asyncfc: cannot replay {session}: {exc}"), err=True)
        raise typer.Exit(EXIT_USAGE) from None
    raise typer.Exit(code)


@commands.command()
def sessions(
    cwd: CwdOpt = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Show at most this many.")] = 20,
) -> None:
    """List recent sessions of this repository, newest first (resume one with `run --resume`)."""
    from ..saved_sessions import format_sessions, list_sessions

    root = find_root((cwd or Path.cwd()).expanduser())
    typer.echo(format_sessions(list_sessions(root, limit=limit)))


@commands.command()
def prompt(
    mode: ModeOpt = None,
    cwd: CwdOpt = None,
    map_tokens: MapTokensOpt = None,
) -> None:
    """Print the full system prompt a session in this repository starts with, for a mode."""
    from ..prompting import build_system_prompt

    try:
        workspace = Workspace(root_of(cwd))
        settings = SessionFlags(mode=mode, map_tokens=map_tokens).settings(workspace.root)
        text = build_system_prompt(settings, workspace, mode=settings.mode)
    except AsyncfcError as exc:
        raise fail(exc) from None
    typer.echo(text, nl=False)


@commands.command()
def tools(
    as_json: Annotated[bool, typer.Option("--json", help="Print the tools' JSON schemas instead.")] = False,
) -> None:
    """List the tools the model is offered: name, effect, parameters (* required), description."""
    from ..tool_commands import all_tools, describe_tools

    typer.echo(describe_tools(all_tools(), as_json=as_json))


@commands.command("trust")
def trust_command(
    path: Annotated[Path | None, typer.Argument(help="A folder in the repository (default: the current one).")] = None,
    remove: Annotated[bool, typer.Option("--untrust", help="Stop trusting it.")] = False,
    show: Annotated[bool, typer.Option("--list", help="List the trusted repositories.")] = False,
) -> None:
    """Trust a repository as it is now: its .asyncfc.toml and .mcp.json then apply in full.

    Untrusted, a repository's config may set only harmless keys (mode, max_turns, map_tokens...);
    the rest is reported and ignored, and its MCP servers are not started. Trust holds while those
    files stay as they were when trusted. It is kept in your config folder, out of the agent's reach.
    """
    from ..trust import describe_trust, read_settings_files, trust, trust_store_path, trusted_roots, untrust

    try:
        if show:
            roots = trusted_roots()
            typer.echo("\n".join(map(_listed, roots)) if roots else f"no trusted repositories ({trust_store_path()})")
            return
        root = root_of(path)
        if remove:
            was = untrust(root)
            typer.echo(f"no longer trusted: {root}" if was else f"{root} was not trusted")
        else:
            contents = read_settings_files(root)  # what is shown is what is pinned
            typer.echo(f"trusted: {trust(root, contents=contents)}, as it is now:")
            for line in describe_trust(contents):
                typer.echo(f"  {line}")
            typer.echo("These apply in full while .asyncfc.toml and .mcp.json stay as they are now; "
                       "changed, they are ignored until you trust them again. "
                       "`asyncfc trust --untrust` undoes this.")
    except AsyncfcError as exc:
        raise fail(exc) from None


def _listed(root: Path) -> str:
    """A trusted root for ``trust --list``, marked when it is not trusted now (``trust_state``)."""
    from ..trust import trust_state

    try:
        trusted = trust_state(root).trusted
    except AsyncfcError:
        trusted = False
    return str(root) if trusted else f"{root}  (not trusted now: its settings changed since, or it predates pins; `asyncfc trust` it again)"


@commands.command()
def undo(cwd: CwdOpt = None) -> None:
    """Restore the working tree to the latest checkpoint (made before a session's first change)."""
    from ..tool_commands import undo_command

    text, code = undo_command((cwd or Path.cwd()).expanduser())
    typer.echo(text, err=code != 0)
    raise typer.Exit(code)


@commands.command()
def bench(
    scenario: Annotated[list[str] | None, typer.Option("--scenario", "-s", help="Run only this bench scenario (repeatable).")] = None,
    profile: Annotated[list[str] | None, typer.Option("--profile", "-p", help="Latency profile (repeatable): fast, slow, instant. Default: fast and slow.")] = None,
    clock: Annotated[Clock, typer.Option("--clock", help="virtual (exact, instant), real, or http (a process per run through litellm over HTTP against the local server, real tools).")] = Clock.virtual,
    tools: Annotated[BenchTools, typer.Option("--tools", help="simulated, or real (the real tools in a fixture repository; needs --clock real).")] = BenchTools.simulated,
    json_output: Annotated[bool, typer.Option("--json", help="Print {\"results\": [...]} as JSON instead of the table.")] = False,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print the tables as the README shows them (Markdown).")] = False,
    plot: Annotated[Path | None, typer.Option("--plot", help="Write the sync and async Gantt charts of one scenario to this SVG file.")] = None,
    plot_scenario: Annotated[str, typer.Option("--plot-scenario", help="The scenario --plot draws.")] = "fix_failing_test",
    ablation: Annotated[bool, typer.Option("--early-wait-ablation", help="Also run async with the early_wait policy off and compare.")] = False,
    overhead: Annotated[bool, typer.Option("--overhead", help="Measure the scheduler's overhead: 10,000 no-op futures on the real clock.")] = False,
    tool_scale: Annotated[float, typer.Option("--tool-scale", help="What-if: multiply every simulated tool duration by this.")] = 1.0,
    repeat: Annotated[int, typer.Option("--repeat", help="Run each case this many times and keep its median run (real clocks are noisy).")] = 1,
) -> None:
    """Benchmark serial, sync and async on the scenario suite, against the critical-path bound."""
    from ..bench.command import run_bench

    raise typer.Exit(run_bench(
        scenarios=scenario or (), profiles=profile or (("fast",) if clock is Clock.http else ("fast", "slow")),
        clock=clock.value, tools=tools.value,
        as_json=json_output, markdown=markdown, plot=plot, plot_scenario=plot_scenario,
        plot_profile=(profile or ["fast"])[0], ablation=ablation, overhead=overhead, tool_scale=tool_scale, repeat=repeat,
    ))


mcp_app = typer.Typer(help="MCP servers: `asyncfc mcp list` shows them, their state and tools.",
                      no_args_is_help=True)
commands.add_typer(mcp_app, name="mcp")


@mcp_app.command("list")
def mcp_list(cwd: CwdOpt = None) -> None:
    """Connect to each configured MCP server and show its state and tools (exit 1 if one is not ready)."""
    from ..mcp.commands import list_servers

    text, code = list_servers(find_root((cwd or Path.cwd()).expanduser()))
    typer.echo(printable(text))  # tool names, descriptions and errors are the servers' words
    raise typer.Exit(code)
