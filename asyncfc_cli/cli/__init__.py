"""The ``asyncfc`` command line. Parses flags, builds Settings, and hands off to ``app.py``.

Here: the app, its sessions (``asyncfc`` opens the TUI, ``asyncfc run`` runs a task) and the entry
point; the options live in ``options.py``, the other commands in ``commands.py``. Only cheap
modules are imported at the top: ``asyncfc --help`` must not pay for litellm, textual or
tree-sitter, so every command imports what it needs inside its body.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..config import Settings
from ..errors import EXIT_USAGE, AsyncfcError
from ..events import printable
from ..workspace import Workspace
from .commands import commands
from .options import HELP_NAMES, Output, SessionFlags, fail, print_version, root_of, with_session_options

if TYPE_CHECKING:
    from ..saved_sessions import Resumed

app = typer.Typer(
    name="asyncfc",
    help="A coding agent whose tool calls are futures: the model never waits for a tool unless it asks to.",
    add_completion=False,
    no_args_is_help=False,
    context_settings={"help_option_names": HELP_NAMES},
    pretty_exceptions_enable=False,
)


def _start_model_import(settings: Settings) -> None:
    """Start importing litellm in a background thread once a headless run knows it will use it:
    before the engine's modules are even imported, so all of set-up runs beside it. The client
    waits for this same import rather than starting one; scripted models never start it
    (``scenario_source`` decides what is scripted).

    The TUI does not start it this early: the import is CPU-bound, so beside Textual's import it
    only delays the first frame (by ~0.3 s) without bringing the first request forward. There
    ``build_engine`` starts it, once Textual is loaded.
    """
    from ..model.scenario import scenario_source

    if settings.model and scenario_source(settings.model) is None:
        from ..model.litellm_worker import prewarm_litellm

        prewarm_litellm(settings.model)


def _session_settings(flags: SessionFlags, workspace: Workspace, resumed: Resumed | None, *,
                      ask_trust: bool) -> Settings:
    """The settings a session opens with: the flags' (``SessionFlags.settings``); then, when
    ``ask_trust``, those the user chooses when asked about the repository's left-out keys
    (``_offer_trust``); then the resumed session's model, endpoint and mode, unless flags name
    them (``Resumed.settings_for``), applied last and once.

    Raises:
        AsyncfcError: bad configuration.
    """
    settings = flags.settings(workspace.root)
    if ask_trust:
        settings = _offer_trust(settings, workspace, lambda: flags.settings(workspace.root, trusted=True))
    if resumed is not None:
        settings = resumed.settings_for(settings, model_flag=flags.model, api_base_flag=flags.api_base,
                                        mode_flag=flags.mode)
    return settings


@with_session_options
def chat(
    ctx: typer.Context,
    version: Annotated[bool, typer.Option("--version", "-V", is_eager=True, callback=print_version, help="Print the version and exit.")] = False,
    *,
    flags: SessionFlags,
) -> None:
    """Open the interactive TUI (also what `asyncfc [OPTIONS]` does with no command)."""
    if ctx.invoked_subcommand is not None:
        return  # registered as the group callback too: a command was given, let it run
    try:
        workspace = Workspace(root_of(flags.cwd))
        resumed = None
        if (ref := flags.resume_ref()) is not None:
            from ..saved_sessions import find_session, load_resumed

            resumed = load_resumed(find_session(workspace.root, ref), workspace.root)
        settings = _session_settings(flags, workspace, resumed, ask_trust=True)
    except AsyncfcError as exc:
        raise fail(exc) from None
    raise typer.Exit(_open_tui(settings, workspace, task=None, profile=flags.profile, resume=resumed))


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
    from ..trust import describe_trust, read_settings_files, trust

    keys = ", ".join(settings.ignored_repo_keys)
    if settings.repo_trust_notice:
        typer.echo(printable(settings.repo_trust_notice), err=True)
    contents = read_settings_files(workspace.root)  # what "always" pins is what is shown
    typer.echo(printable(f"{workspace.root}/.asyncfc.toml sets {keys}: ") + "settings that decide where requests "
               "(and your key) go, what runs without asking, or where files are written.\n"
               "asyncfc applies them only in repositories you trust. Trusting it always applies, "
               "as they are now:\n" + "".join(f"  {line}\n" for line in describe_trust(contents)),
               err=True, nl=False)
    answer = typer.prompt("Trust this repository? [a]lways / [o]nce, this session / [N]o, ignore them",
                          default="n", show_default=False, err=True).strip().lower()
    if answer in ("a", "always"):
        trust(workspace.root, contents=contents)
        return trusted()
    # A bare "yes" is not the strongest grant: it trusts the repository for this session only.
    return trusted() if answer in ("o", "once", "y", "yes") else settings


def _open_tui(settings: Settings, workspace: Workspace, *, task: str | None, profile: str | None,
              resume: Any = None) -> int:
    """The TUI on an engine wired here: the TUI is handed the factory and never builds one."""
    from ..app import Engine, build_engine
    from ..events import EventBus
    from ..tui import run_tui

    def make_engine(bus: EventBus) -> Engine:
        return build_engine(settings, workspace, bus=bus, interactive=True, profile=profile, resume=resume)

    return run_tui(make_engine, task=task, earlier=resume.earlier if resume is not None else ())


@app.command()
@with_session_options
def run(
    task: Annotated[str | None, typer.Argument(help="What the agent should do (optional with --resume); - or none with stdin piped: read it from stdin.")] = None,
    output: Annotated[Output, typer.Option("--output", help="Headless output: live text, JSON lines (every event), or json (one result object at the end).")] = Output.text,
    headless: Annotated[bool, typer.Option("--headless", help="Never open the TUI.")] = False,
    simulate_tools: Annotated[bool, typer.Option("--simulate-tools", hidden=True, help="Scripted models: simulated tools.")] = False,
    *,
    flags: SessionFlags,
) -> None:
    """Run one task. Headless (text or JSON lines) when stdout is not a terminal or with --headless.

    Exit codes: 0 finished; 1 stopped without finishing (turn, cost or output limit); 2 usage or
    configuration error; 3 model or provider error; 130 interrupted; 143 terminated (SIGTERM).
    """
    tui = not headless and output is Output.text and _terminal()
    try:
        workspace = Workspace(root_of(flags.cwd))
        resumed = None
        ref = flags.resume_ref()
        task = _task_from_stdin(task, resuming=ref is not None)
        if ref is not None:
            from ..saved_sessions import resolve_resume

            resumed, task = resolve_resume(workspace.root, ref, task)
        if task is None:
            raise typer.BadParameter("give the task to run (or --resume a session)", param_hint="TASK")
        task = _command_task(task, workspace.root)
        settings = _session_settings(flags, workspace, resumed, ask_trust=tui)
    except AsyncfcError as exc:
        if output is Output.json:
            _print_unstarted_result(exc)
        raise fail(exc) from None
    if tui:
        raise typer.Exit(_open_tui(settings, workspace, task=task, profile=flags.profile, resume=resumed))
    _start_model_import(settings)
    from ..app import run_headless
    from ..render import JsonlRenderer, ResultRenderer, TextRenderer

    if (settings.ignored_repo_keys or settings.repo_trust_notice) and output is not Output.text:
        from ..trust import untrusted_notice  # the text view prints the notice

        notice = untrusted_notice(settings.ignored_repo_keys, workspace.root, settings.repo_trust_notice)
        typer.echo(f"asyncfc: warning: {printable(notice)}", err=True)
    kinds: dict[Output, type[JsonlRenderer | ResultRenderer | TextRenderer]] = {
        Output.jsonl: JsonlRenderer, Output.json: ResultRenderer, Output.text: TextRenderer}
    renderer = kinds[output]()
    raise typer.Exit(
        run_headless(task, settings, workspace, renderer=renderer, profile=flags.profile,
                     simulate=simulate_tools, resume=resumed)
    )


def _print_unstarted_result(exc: AsyncfcError) -> None:
    """``--output json`` for a run stopped before its session (``-c`` with none to continue):
    the result object a script reads, as a session that could not start prints it."""
    from ..events import SessionFinished
    from ..render import ResultRenderer

    ResultRenderer()(SessionFinished(0.0, outcome=exc.outcome, exit_code=exc.exit_code, message=str(exc)))


def _task_from_stdin(task: str | None, *, resuming: bool) -> str | None:
    """The task to run: ``task``, or stdin read to its end when ``task`` is ``-``, or when none is
    given, nothing is resumed and stdin is not a terminal (``echo "fix it" | asyncfc run``; an
    empty stdin then gives no task). A resume without a task never reads stdin: a CI job's stdin
    may be a pipe that never closes.

    Raises:
        typer.BadParameter: ``-`` and stdin held no text.
    """
    explicit = task == "-"
    if not explicit and (task is not None or resuming or sys.stdin is None or sys.stdin.isatty()):
        return task
    try:
        text = sys.stdin.read().strip() if sys.stdin is not None else ""
    except UnicodeDecodeError:
        raise typer.BadParameter("stdin is not text", param_hint="TASK") from None
    if explicit and not text:
        raise typer.BadParameter("the task read from stdin (-) is empty", param_hint="TASK")
    return text or None


def _command_task(task: str, root: Path) -> str:
    """The task a ``/name ARGS`` line stands for (``asyncfc run "/review"``): /init, /review or a
    custom command becomes its task, as in the TUI; another TUI command is refused in words; any
    other text (``/etc/hosts is wrong``) is the task as written.

    Raises:
        typer.BadParameter: a TUI command that is not a task (``/status``).
    """
    if not task.startswith("/"):
        return task
    from ..custom_commands import load_custom_commands, user_commands_folder
    from ..task_commands import TASK_COMMANDS, task_for
    from ..tui.slash import ALIASES, BY_NAME, SlashCommand, parse_command

    custom = load_custom_commands(user_commands_folder(), root, reserved={*BY_NAME, *ALIASES})
    command = parse_command(task, [SlashCommand(name, "") for name in custom])
    if command is None:
        return task
    made = task_for(*command, root, custom)
    if made is None:
        takes = ", ".join(f"/{name}" for name in (*TASK_COMMANDS, *custom))
        raise typer.BadParameter(f"/{command[0]} is a command of the TUI (`asyncfc`); `asyncfc run` takes "
                                 f"a task, or a command that stands for one: {takes}", param_hint="TASK")
    return made


app.add_typer(commands)  # demo, replay, sessions, ... mcp: at the top level


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
    from ..saved_sessions import expand_resume_flag

    try:
        command()(args=expand_resume_flag(sys.argv[1:]), prog_name="asyncfc")
    except AsyncfcError as exc:
        typer.echo(f"asyncfc: {printable(str(exc))}", err=True)
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
