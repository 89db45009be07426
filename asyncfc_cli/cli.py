"""The ``asyncfc`` command line. Parses flags, builds Settings, and hands off to ``app.py``.

Only cheap modules are imported at the top: ``asyncfc --help`` must not pay for litellm, textual or
tree-sitter, so every command imports what it needs inside its body.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from .config import Mode, Settings, load_settings
from .errors import EXIT_USAGE, AsyncfcError
from .workspace import Workspace, find_root

HELP_NAMES = ["-h", "--help"]

app = typer.Typer(
    name="asyncfc",
    help="A coding agent whose tool calls are futures: the model never waits for a tool unless it asks to.",
    add_completion=False,
    no_args_is_help=False,
    context_settings={"help_option_names": HELP_NAMES},
    pretty_exceptions_enable=False,
)


class Approval(str, Enum):
    read_only = "read-only"
    ask = "ask"
    auto = "auto"


class Dispatch(str, Enum):
    stream = "stream"
    end = "end"


class SandboxMode(str, Enum):
    auto = "auto"
    on = "on"
    off = "off"


class Output(str, Enum):
    text = "text"
    jsonl = "jsonl"


class Clock(str, Enum):
    virtual = "virtual"
    real = "real"
    http = "http"


class BenchTools(str, Enum):
    simulated = "simulated"
    real = "real"


def _print_version(value: bool) -> None:
    if value:
        from . import __version__

        typer.echo(f"asyncfc {__version__}")
        raise typer.Exit(0)


ModelOpt = Annotated[str | None, typer.Option("--model", "-m", help="litellm model (openai/gpt-4.1, anthropic/..., ollama/...) or scripted:NAME.")]
ApiBaseOpt = Annotated[str | None, typer.Option("--api-base", help="Base URL of an OpenAI-compatible (or other) endpoint.")]
ModeOpt = Annotated[Mode | None, typer.Option("--mode", help="async (futures), sync or serial baselines.")]
ApprovalOpt = Annotated[Approval | None, typer.Option("--approval", help="read-only, ask (TUI default) or auto (headless default).")]
MaxTurnsOpt = Annotated[int | None, typer.Option("--max-turns", help="Most model requests for one task.")]
MaxCostOpt = Annotated[float | None, typer.Option("--max-cost", help="Most USD one task may spend.")]
CwdOpt = Annotated[Path | None, typer.Option("--cwd", help="Work in this folder (its git top level is the workspace root).")]
TranscriptOpt = Annotated[Path | None, typer.Option("--transcript", help="Write the JSON-lines transcript here.")]
MapTokensOpt = Annotated[int | None, typer.Option("--map-tokens", help="Token budget of the repository map in the system prompt (0: no map).")]
ResumeOpt = Annotated[str | None, typer.Option("--resume", help="Continue a session of this repository with its history: a session id (or prefix), or nothing for the latest. `asyncfc sessions` lists them.")]
SandboxOpt = Annotated[SandboxMode | None, typer.Option("--sandbox", help="OS sandbox for shell commands and tests: auto (where it works), on (refuse commands without it), off.")]
NoSandboxOpt = Annotated[bool, typer.Option("--no-sandbox", help="Run commands without the OS sandbox (same as --sandbox off).")]
NetworkOpt = Annotated[bool | None, typer.Option("--network/--no-network", help="Let sandboxed commands reach the network (default: a loopback shared by the session only).")]
TrustRepoOpt = Annotated[bool, typer.Option("--trust-repo", help="Trust this repository's .asyncfc.toml (model, api_base, approval...) for this session only; `asyncfc trust` trusts it for good.")]
ProfileOpt = Annotated[str | None, typer.Option("--profile", help="Scripted models only: latency profile (fast, slow, instant).")]


def _fail(exc: AsyncfcError) -> typer.Exit:
    typer.echo(f"asyncfc: {exc}", err=True)
    return typer.Exit(exc.exit_code)


def _settings(cwd: Path | None, *, trust_repo: bool = False, **flags: Any) -> tuple[Settings, Workspace]:
    """Settings from flags > env > config files, and the workspace at ``cwd``. The repository's
    own config applies in full only if it is trusted (the store, or ``trust_repo`` for now)."""
    root = _root(cwd)
    values = {k: (v.value if isinstance(v, Enum) else v) for k, v in flags.items()}
    return load_settings(values, root=root, trusted=True if trust_repo else None), Workspace(root)


def _root(cwd: Path | None) -> Path:
    start = (cwd or Path.cwd()).expanduser()
    if not start.is_dir():
        raise typer.BadParameter(f"{start} is not a folder", param_hint="--cwd")
    return find_root(start)


def _start_model_import(settings: Settings) -> None:
    """Start importing litellm in a background thread once a headless run knows it will use it:
    before the engine's modules are even imported, so all of set-up runs beside it. The client
    waits for this same import rather than starting one; scripted models never start it
    (``scenario_source`` decides what is scripted).

    The TUI does not start it this early: the import is CPU-bound, so beside Textual's import it
    only delays the first frame (by ~0.3 s) without bringing the first request forward. There
    ``build_engine`` starts it, once Textual is loaded.
    """
    from .model.scenario import scenario_source

    if settings.model and scenario_source(settings.model) is None:
        from .model.litellm_worker import prewarm_litellm

        prewarm_litellm(settings.model)


DispatchOpt = Annotated[Dispatch | None, typer.Option("--dispatch", help="Start calls mid-stream or when the response ends (default: stream in async, end in sync/serial).")]


def chat(
    ctx: typer.Context,
    version: Annotated[bool, typer.Option("--version", "-V", is_eager=True, callback=_print_version, help="Print the version and exit.")] = False,
    model: ModelOpt = None,
    api_base: ApiBaseOpt = None,
    mode: ModeOpt = None,
    approval: ApprovalOpt = None,
    max_turns: MaxTurnsOpt = None,
    max_cost: MaxCostOpt = None,
    cwd: CwdOpt = None,
    transcript: TranscriptOpt = None,
    map_tokens: MapTokensOpt = None,
    resume: ResumeOpt = None,
    profile: ProfileOpt = None,
    dispatch: DispatchOpt = None,
    sandbox: SandboxOpt = None,
    no_sandbox: NoSandboxOpt = False,
    network: NetworkOpt = None,
    trust_repo: TrustRepoOpt = False,
) -> None:
    """Open the interactive TUI (also what `asyncfc [OPTIONS]` does with no command)."""
    if ctx.invoked_subcommand is not None:
        return  # registered as the group callback too: a command was given, let it run
    flags = dict(model=model, api_base=api_base, mode=mode, approval=approval, max_turns=max_turns,
                 max_cost=max_cost, transcript=transcript, map_tokens=map_tokens, dispatch=dispatch,
                 sandbox=SandboxMode.off if no_sandbox else sandbox, network=network)
    try:
        settings, workspace = _settings(cwd, trust_repo=trust_repo, **flags)
        resumed = None
        if resume is not None:
            from .saved_sessions import find_session, load_resumed

            resumed = load_resumed(find_session(workspace.root, resume), workspace.root)
        settings = _offer_trust(settings, workspace, lambda: _settings(cwd, trust_repo=True, **flags)[0])
        if resumed is not None:
            settings = resumed.settings_for(settings, model_flag=model, api_base_flag=api_base)
    except AsyncfcError as exc:
        raise _fail(exc) from None
    raise typer.Exit(_open_tui(settings, workspace, task=None, profile=profile, resume=resumed))


app.callback(invoke_without_command=True)(chat)
app.command("chat")(chat)


def _terminal() -> bool:
    return sys.stdout.isatty() and sys.stdin.isatty()


def _offer_trust(settings: Settings, workspace: Workspace, trusted: Callable[[], Settings]) -> Settings:
    """Before the TUI opens: the repository's untrusted config set keys that were left out; a user
    at a terminal is asked whether to apply them (trusting the repository for good, or for this
    session); ``trusted()`` gives the settings with the repository trusted. Without a terminal, or
    when nothing was left out, ``settings`` stay as they are (the session reports the keys)."""
    if not settings.ignored_repo_keys or not _terminal():
        return settings
    from .trust import trust

    keys = ", ".join(settings.ignored_repo_keys)
    typer.echo(f"{workspace.root}/.asyncfc.toml sets {keys}: settings that decide where requests "
               "(and your key) go, what runs without asking, or where files are written.\n"
               "asyncfc applies them only in repositories you trust.", err=True)
    answer = typer.prompt("Trust this repository? [a]lways / [o]nce, this session / [N]o, ignore them",
                          default="n", show_default=False, err=True).strip().lower()
    if answer in ("a", "always"):
        trust(workspace.root)
        return trusted()
    # A bare "yes" is not the strongest grant: it trusts the repository for this session only.
    return trusted() if answer in ("o", "once", "y", "yes") else settings


def _open_tui(settings: Settings, workspace: Workspace, *, task: str | None, profile: str | None,
              resume: Any = None) -> int:
    """The TUI on an engine wired here: the TUI is handed the factory and never builds one."""
    from .app import Engine, build_engine
    from .events import EventBus
    from .tui import run_tui

    def make_engine(bus: EventBus) -> Engine:
        return build_engine(settings, workspace, bus=bus, interactive=True, profile=profile, resume=resume)

    return run_tui(make_engine, task=task)


@app.command()
def run(
    task: Annotated[str | None, typer.Argument(help="What the agent should do (optional with --resume).")] = None,
    model: ModelOpt = None,
    api_base: ApiBaseOpt = None,
    mode: ModeOpt = None,
    approval: ApprovalOpt = None,
    max_turns: MaxTurnsOpt = None,
    max_cost: MaxCostOpt = None,
    cwd: CwdOpt = None,
    transcript: TranscriptOpt = None,
    map_tokens: MapTokensOpt = None,
    resume: ResumeOpt = None,
    output: Annotated[Output, typer.Option("--output", help="Headless output: live text or JSON lines.")] = Output.text,
    headless: Annotated[bool, typer.Option("--headless", help="Never open the TUI.")] = False,
    profile: ProfileOpt = None,
    simulate_tools: Annotated[bool, typer.Option("--simulate-tools", hidden=True, help="Scripted models: simulated tools.")] = False,
    dispatch: DispatchOpt = None,
    sandbox: SandboxOpt = None,
    no_sandbox: NoSandboxOpt = False,
    network: NetworkOpt = None,
    trust_repo: TrustRepoOpt = False,
) -> None:
    """Run one task. Headless (text or JSON lines) when stdout is not a terminal or with --headless.

    Exit codes: 0 finished; 1 stopped without finishing (turn, cost or output limit); 2 usage or
    configuration error; 3 model or provider error; 130 interrupted; 143 terminated (SIGTERM).
    """
    flags = dict(model=model, api_base=api_base, mode=mode, approval=approval, max_turns=max_turns,
                 max_cost=max_cost, transcript=transcript, map_tokens=map_tokens, dispatch=dispatch,
                 sandbox=SandboxMode.off if no_sandbox else sandbox, network=network)
    try:
        settings, workspace = _settings(cwd, trust_repo=trust_repo, **flags)
        resumed = None
        if resume is not None:
            from .saved_sessions import resolve_resume

            resumed, task = resolve_resume(workspace.root, resume, task)
            settings = resumed.settings_for(settings, model_flag=model, api_base_flag=api_base)
    except AsyncfcError as exc:
        raise _fail(exc) from None
    if task is None:
        raise typer.BadParameter("give the task to run (or --resume a session)", param_hint="TASK")
    if not headless and output is Output.text and _terminal():
        try:
            settings = _offer_trust(settings, workspace, lambda: _settings(cwd, trust_repo=True, **flags)[0])
        except AsyncfcError as exc:
            raise _fail(exc) from None
        if resumed is not None:  # the trusted settings are read afresh: the session's model again
            settings = resumed.settings_for(settings, model_flag=model, api_base_flag=api_base)
        raise typer.Exit(_open_tui(settings, workspace, task=task, profile=profile, resume=resumed))
    _start_model_import(settings)
    from .app import run_headless
    from .render import JsonlRenderer, TextRenderer

    if settings.ignored_repo_keys and output is Output.jsonl:  # the text view prints the notice
        from .trust import untrusted_notice

        typer.echo(f"asyncfc: warning: {untrusted_notice(settings.ignored_repo_keys, workspace.root)}", err=True)
    renderer = JsonlRenderer() if output is Output.jsonl else TextRenderer()
    raise typer.Exit(
        run_headless(task, settings, workspace, renderer=renderer, profile=profile,
                     simulate=simulate_tools, resume=resumed)
    )


@app.command()
def demo(
    compare: Annotated[bool, typer.Option("--compare/--no-compare", help="Also run the scenario in sync mode and compare.")] = True,
    keep: Annotated[bool, typer.Option("--keep", help="Keep the throwaway repository and print its path.")] = False,
) -> None:
    """Play a scripted coding session (no network, no key) on a throwaway repository."""
    from .demo import run_demo

    raise typer.Exit(run_demo(compare=compare, keep=keep))


@app.command()
def replay(
    session: Annotated[str, typer.Argument(help="A session id (or a prefix of one, or `last`) as `asyncfc sessions` lists them, or a transcript file.")],
    speed: Annotated[float, typer.Option("--speed", min=0.01, help="Play this many times faster than it ran.")] = 1.0,
    cwd: CwdOpt = None,
) -> None:
    """Play a recorded session in the TUI, at real speed or faster (as text when not on a terminal)."""
    from .saved_sessions import find_session
    from .transcript import read_events

    try:
        path = find_session(find_root((cwd or Path.cwd()).expanduser()), session, what="replay").path
        if not (sys.stdout.isatty() and sys.stdin.isatty()):
            from .render import TextRenderer

            renderer = TextRenderer(sys.stdout, color=False)
            for event in read_events(path, nested=TextRenderer.nested_events):  # sub-agents' too
                renderer(event)
            renderer.flush_text()
            raise typer.Exit(0)
        from .tui import run_replay

        code = run_replay(path, speed)
    except AsyncfcError as exc:
        raise _fail(exc) from None
    except (OSError, ValueError) as exc:
        typer.echo(f"asyncfc: cannot replay {session}: {exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    raise typer.Exit(code)


@app.command()
def sessions(
    cwd: CwdOpt = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Show at most this many.")] = 20,
) -> None:
    """List recent sessions of this repository, newest first (resume one with `run --resume`)."""
    from .saved_sessions import format_sessions, list_sessions

    root = find_root((cwd or Path.cwd()).expanduser())
    typer.echo(format_sessions(list_sessions(root, limit=limit)))


@app.command()
def prompt(
    mode: ModeOpt = None,
    cwd: CwdOpt = None,
    map_tokens: MapTokensOpt = None,
) -> None:
    """Print the full system prompt a session in this repository starts with, for a mode."""
    from .prompting import build_system_prompt

    try:
        settings, workspace = _settings(cwd, mode=mode, map_tokens=map_tokens)
        text = build_system_prompt(settings, workspace, mode=settings.mode)
    except AsyncfcError as exc:
        raise _fail(exc) from None
    typer.echo(text, nl=False)


@app.command()
def tools(
    as_json: Annotated[bool, typer.Option("--json", help="Print the tools' JSON schemas instead.")] = False,
) -> None:
    """List the tools the model is offered: name, effect, parameters (* required), description."""
    from .tool_commands import all_tools, describe_tools

    typer.echo(describe_tools(all_tools(), as_json=as_json))


@app.command("trust")
def trust_command(
    path: Annotated[Path | None, typer.Argument(help="A folder in the repository (default: the current one).")] = None,
    remove: Annotated[bool, typer.Option("--untrust", help="Stop trusting it.")] = False,
    show: Annotated[bool, typer.Option("--list", help="List the trusted repositories.")] = False,
) -> None:
    """Trust a repository: its .asyncfc.toml may then set model, api_base, approval, transcript...

    Untrusted, a repository's config may set only harmless keys (mode, max_turns, map_tokens...);
    the rest is reported and ignored. Trust is kept in your config folder, out of the agent's reach.
    """
    from .trust import trust, trust_store_path, trusted_roots, untrust

    try:
        if show:
            roots = trusted_roots()
            typer.echo("\n".join(map(str, roots)) if roots else f"no trusted repositories ({trust_store_path()})")
            return
        root = _root(path)
        if remove:
            was = untrust(root)
            typer.echo(f"no longer trusted: {root}" if was else f"{root} was not trusted")
        else:
            typer.echo(f"trusted: {trust(root)} (its .asyncfc.toml now applies in full; "
                       "`asyncfc trust --untrust` undoes this)")
    except AsyncfcError as exc:
        raise _fail(exc) from None


@app.command()
def undo(cwd: CwdOpt = None) -> None:
    """Restore the working tree to the latest checkpoint (made before a session's first change)."""
    from .tool_commands import undo_command

    text, code = undo_command((cwd or Path.cwd()).expanduser())
    typer.echo(text, err=code != 0)
    raise typer.Exit(code)


@app.command()
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
    from .bench.command import run_bench

    raise typer.Exit(run_bench(
        scenarios=scenario or (), profiles=profile or (("fast",) if clock is Clock.http else ("fast", "slow")),
        clock=clock.value, tools=tools.value,
        as_json=json_output, markdown=markdown, plot=plot, plot_scenario=plot_scenario,
        plot_profile=(profile or ["fast"])[0], ablation=ablation, overhead=overhead, tool_scale=tool_scale, repeat=repeat,
    ))


mcp_app = typer.Typer(help="MCP servers: `asyncfc mcp list` shows them, their state and tools.",
                      no_args_is_help=True)
app.add_typer(mcp_app, name="mcp")


@mcp_app.command("list")
def mcp_list(cwd: CwdOpt = None) -> None:
    """Connect to each configured MCP server and show its state and tools (exit 1 if one is not ready)."""
    from .mcp.commands import list_servers

    text, code = list_servers(find_root((cwd or Path.cwd()).expanduser()))
    typer.echo(text)
    raise typer.Exit(code)


def command() -> Any:
    """The click command behind ``app``, with on/off flags shown without a value type: typer
    labels them ``<bool>``, as if they took a value."""
    import typer.main

    group = typer.main.get_command(app)
    commands = [group, *getattr(group, "commands", {}).values()]
    for cmd in commands:
        help_option = cmd.get_help_option(cmd.context_class(cmd, help_option_names=HELP_NAMES))
        for param in [*cmd.params, help_option]:
            if getattr(param, "is_flag", False):
                param.metavar = ""
    return group


def main() -> None:
    """Entry point of the ``asyncfc`` script."""
    from .saved_sessions import expand_resume_flag

    try:
        command()(args=expand_resume_flag(sys.argv[1:]), prog_name="asyncfc")
    except AsyncfcError as exc:
        typer.echo(f"asyncfc: {exc}", err=True)
        sys.exit(exc.exit_code or EXIT_USAGE)
    finally:
        _settle_for_exit()


def _settle_for_exit() -> None:
    """Let the process exit at once: freeze every object still alive, so the interpreter's final
    garbage collections skip them. After litellm there are ~370,000 of them and those passes took
    over a second. Output is unaffected: the transcript is closed by then, and the interpreter
    flushes stdout and stderr itself. The young generations are collected first, so recent
    garbage (a file object someone forgot to close) is still finalized."""
    gc.collect(1)
    gc.freeze()
