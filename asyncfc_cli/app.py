"""Wiring: the one place concrete things (model client, tools, gate, renderers, transcript) are put
together into a session.

``cli.py`` parses flags and calls in here (and ``demo``, a command of its own). Nothing in the
engine imports this module; the one other importer is the TUI, which still builds its engine with
``build_engine`` itself (an exception ``tests/test_layers.py`` lists until ``cli.py`` hands it an
engine factory).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import trio

from asyncfc_tools import ToolContext, ToolError, ToolSpec

from .config import Approval, Settings, endpoint_keys, paired_key_variable
from .errors import EXIT_INTERRUPTED, EXIT_TERMINATED, AsyncfcError, ConfigError
from .events import EventBus, Notice, SessionFinished, SessionStarted, printable
from .model.base import Message, ModelClient, SystemMessage, ToolCall
from .model.scenario import SCENARIO_SUFFIXES, scenario_source, scripted_model_name
from .scheduler import Gate
from .session import Session
from .transcript import TranscriptWriter, default_transcript_path
from .workspace import Workspace

if TYPE_CHECKING:
    from asyncfc_tools._sandbox import Sandbox

    from .controls import SessionControls
    from .mcp import McpHub
    from .saved_sessions import Resumed
    from .events import Event  # only a type here

__all__ = ["Engine", "build_engine", "open_model", "run_headless"]

def open_model(settings: Settings, *, profile: str | None = None, root: Path | None = None,
               paired_variable: str | None = None) -> ModelClient:
    """The model client for ``settings.model``: scripted (offline) or litellm.

    ``root``: the workspace a scripted model's real tools would change; a script written for
    another repository (its ``workspace``) refuses it. None: the tools are simulated.
    ``paired_variable``: the variable whose key the user paired with ``settings.api_base``
    (``config.paired_key_variable``, which the caller looks up, once: it reads the user config).

    Raises:
        ConfigError: no model configured, an unknown scripted scenario/profile, or a script
            written for another repository.
    """
    model = settings.model
    if not model:
        raise ConfigError(
            "no model configured. Set one with --model (e.g. --model openai/gpt-4.1, "
            "--model anthropic/claude-sonnet-4-5, --model ollama/qwen2.5-coder), the ASYNCFC_MODEL "
            "environment variable, or `model = \"...\"` in .asyncfc.toml; "
            "or watch the offline scripted demo: `asyncfc demo`"
        )
    source = scenario_source(model)
    if source is None and model.endswith(SCENARIO_SUFFIXES):
        raise ConfigError(
            f"model {model!r}: the scenario file {Path(model).expanduser().absolute()} does not "
            "exist (a path ending in .yaml, .yml or .json names a scripted scenario; a real model "
            "is named like openai/gpt-4.1)")
    if source is not None:
        from .model.scripted import PROFILES, ScriptedClient, load_scenario

        if profile is not None and profile not in PROFILES:
            raise ConfigError(f"--profile {profile!r}: expected one of {', '.join(PROFILES)}")
        scenario = load_scenario(source)
        foreign = scenario.foreign_to(root) if root is not None else None
        if foreign:
            raise ConfigError(
                f"{model} is a scripted model that replays a fixed script written for its own "
                f"repository, and {root} is not that repository ({foreign}): with real tools it "
                "would write into it and claim results it never saw. Watch it with `asyncfc demo` "
                "(a throwaway repository), or give a scenario file of your own: --model path/to/scenario.yaml"
            )
        return ScriptedClient(scenario, PROFILES[profile] if profile else None, name=scripted_model_name(source))
    from .model.litellm_client import open_litellm

    # Resolves the key (a ConfigError if it is missing; only a key paired with settings.api_base
    # goes there) and starts importing litellm in the background, overlapping the ~3 s import
    # with the rest of the set-up.
    return open_litellm(model, settings.api_base,
                        paired_variable=paired_variable,
                        max_output_tokens=settings.max_output_tokens,
                        stall_timeout_s=settings.stall_timeout_s)


def workspace_tools(model: ModelClient, simulate: bool) -> dict[str, ToolSpec]:
    """The real built-in tools, or (``simulate``, scripted models only) simulated ones."""
    from asyncfc_tools import builtin_tools

    real = builtin_tools()
    if not simulate:
        return real
    from .model.scripted import ScriptedClient
    from .simtools import simulated_tools

    if not isinstance(model, ScriptedClient):
        raise ConfigError("--simulate-tools works only with a scripted model")
    return simulated_tools(model.scenario, real)


def system_prompt(settings: Settings, workspace: Workspace, sandbox: Sandbox | None = None) -> str:
    from .prompting import build_system_prompt

    return build_system_prompt(settings, workspace, mode=settings.mode, sandbox=sandbox)


@dataclass(slots=True)
class Engine:
    """A wired session and what the views need to drive it."""

    session: Session
    bus: EventBus
    gate: Gate | None
    transcript: TranscriptWriter | None
    controls: SessionControls | None = None
    """The between-task commands (the TUI's /model, /mode, ...)."""
    sandbox: Sandbox | None = None
    """The OS sandbox of the session's commands; ``close()`` it when the session ends."""
    hub: McpHub | None = None
    """The session's MCP servers, if any are configured: they run while ``serving()`` is open."""
    recording_ends: Callable[[], AbstractAsyncContextManager[object]] = nullcontext
    """Records where each task left the tree beside the session's checkpoint, off the event loop,
    while open (``ApprovalGate.recording_ends``)."""

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[None]:
        """Keep the session's services (its MCP servers, the recording of task ends) running; open
        it around the session's tasks (they outlive each task in the TUI, and stop with it
        headless)."""
        async with self.recording_ends(), self.hub.running() if self.hub is not None else nullcontext():
            yield

    def close(self) -> None:
        """Flush and close the transcript and the sandbox (its network namespace): the session has
        ended."""
        if self.transcript is not None:
            self.transcript.close()
        if self.sandbox is not None:
            self.sandbox.close()


def build_engine(
    settings: Settings,
    workspace: Workspace,
    *,
    bus: EventBus | None = None,
    interactive: bool = False,
    profile: str | None = None,
    simulate: bool = False,
    write_transcript: bool = True,
    resume: Resumed | None = None,
) -> Engine:
    """Model, tools, gate, transcript and session for one run.

    ``resume`` continues a recorded session (``saved_sessions.load_resumed``): its id, its history, its
    transcript, appended to, and its clock (the start is recorded as ``session_resumed``).

    Raises:
        ConfigError: bad model/profile/approval configuration.
    """
    bus = bus or EventBus()
    pairings = endpoint_keys()
    paired = paired_key_variable(settings.api_base, pairings=pairings)
    model = open_model(settings, profile=profile, root=None if simulate else workspace.root, paired_variable=paired)
    for variable in pairings.values():  # a key under any name is still a key
        if os.environ.get(variable):
            bus.keep_secret(os.environ[variable])
    from .allow_rules import AllowRules, load_allow_rules
    from .approval import ApprovalGate

    sandbox = open_session_sandbox(settings, workspace, interactive=interactive, simulate=simulate)
    approval = settings.approval or (Approval.ASK if interactive else Approval.AUTO)
    settings = settings.replace(approval=approval)
    gate = ApprovalGate(approval, bus, workspace.root, interactive=interactive,
                        rules=AllowRules(load_allow_rules()))
    from .context import ContextBudget
    from .durations import duration_priors
    from .session import Session

    # The gate's policy, not the start's: the TUI's /approval changes it between tasks.
    ctx = workspace.tool_context(settings, sandbox, keys=set(pairings.values()), protected=own_folders(),
                                 approval_offers_network=lambda: gate.policy == Approval.ASK and gate.interactive)
    tools = workspace_tools(model, simulate)
    session = Session(
        model=model, tools=tools, bus=bus, settings=settings,
        workspace=workspace, gate=gate,
        system_prompt="" if resume else system_prompt(settings, workspace, sandbox),
        history=_resumed_history(resume, settings, workspace, sandbox) if resume else (),
        session_id=resume.session_id if resume else None,
        context=ContextBudget.for_model(settings.model, settings.context_tokens),
        duration_priors=duration_priors(tools.values()), ctx=ctx,
        futures_issued=resume.futures_issued if resume else 0,
        recovered=resume.recovered if resume else (),
    )
    _attach_subagents(session, model, settings, workspace, gate, simulate, ctx, paired)
    if resume:  # one start per transcript, and a clock that never runs back
        bus.resume_at(resume.continues_at, resume.prior_turns)
    from .controls import SessionControls

    controls = SessionControls(
        session, gate, open_model=lambda changed: open_model(
            changed, root=None if simulate else workspace.root, paired_variable=paired_key_variable(changed.api_base)),
        system_prompt=lambda changed: system_prompt(changed, workspace, sandbox))
    writer = None
    if write_transcript:
        path = settings.transcript or (
            resume.transcript if resume else default_transcript_path(workspace.root, session.session_id))
        writer = TranscriptWriter(path)
        for event in resume.carried if resume else ():  # an adopted transcript's session, first
            writer(event)
        bus.subscribe(writer, nested=True)
    warn = _warnings_from_start(bus)
    if resume and resume.notice:
        warn(resume.notice)
    hub = _mcp_hub(session, workspace, warn)
    controls.sandbox, controls.hub = sandbox, hub  # what /status and /mcp report
    controls.transcript = writer.path if writer is not None else None
    return Engine(session, bus, gate, writer, controls=controls, sandbox=sandbox,
                  hub=hub, recording_ends=gate.recording_ends)


def _resumed_history(resume: Resumed, settings: Settings, workspace: Workspace,
                     sandbox: Sandbox | None) -> tuple[Message, ...]:
    """A resumed session's history, its system prompt written afresh if the session now runs in
    another mode than the one it was written for (a /mode before it stopped, or ``--mode``):
    the prompt teaches the mode's rules (the futures protocol or not), so it must match them."""
    history = resume.history
    if resume.prompt_mode == settings.mode or not history or not isinstance(history[0], SystemMessage):
        return history
    return (SystemMessage(system_prompt(settings, workspace, sandbox)), *history[1:])


def _mcp_hub(session: Session, workspace: Workspace, warn: Callable[[str], None]) -> McpHub | None:
    """The configured MCP servers (the user's; a trusted repository's ``.mcp.json`` too), their
    remembered tools offered at once and the others as each server connects; None without any.
    What to tell the user (configuration notices, name clashes) goes to ``warn``.

    Raises:
        ConfigError: a server is configured wrongly.
    """
    from .mcp import McpHub, load_mcp_config
    from .mcp.hub import listing_cache_dir

    config = load_mcp_config(workspace.root, session_trust=session.settings.repo_trusted)
    for notice in config.notices:
        warn(notice)
    if not config.servers:
        return None
    hub = McpHub(config.servers, listing_cache_dir=listing_cache_dir(), reserved=set(session.tools), warn=warn)
    session.add_tools(hub.specs())
    hub.subscribe(session.add_tools)
    return hub


def _attach_subagents(session: Session, model: ModelClient, settings: Settings, workspace: Workspace,
                      gate: Gate, simulate: bool, ctx: ToolContext, paired: str | None) -> None:
    """Offer ``agent``: sub-agents on ``subagent_model`` or the session's model (a scripted model
    plays the scripts of its agent steps), under the session's approval gate, with the key paired
    with the session's ``api_base`` (``paired``)."""
    from .model.scripted import ScriptedClient
    from .prompting import build_subagent_prompt
    from .scripted_subagents import scripted_kit
    from .subagent import KitFactory, SubAgentKit, attach_subagents

    kit: KitFactory
    if isinstance(model, ScriptedClient) and settings.subagent_model is None:
        from asyncfc_tools import builtin_tools

        kit = scripted_kit(model, lambda: session.tools, simulate_from=builtin_tools() if simulate else None)
    else:
        sub_settings = settings.replace(model=settings.subagent_model or settings.model)

        def kit(call: ToolCall) -> SubAgentKit:
            try:
                return SubAgentKit(open_model(sub_settings, paired_variable=paired), session.tools)
            except AsyncfcError as exc:
                raise ToolError(f"the sub-agent's model cannot start: {exc}") from None

    from .context import ContextBudget

    model_name = settings.subagent_model or settings.model
    attach_subagents(session, kit, gate=gate, ctx=ctx,
                     system_prompt=build_subagent_prompt(workspace, mode=settings.mode),
                     context=lambda: ContextBudget.for_model(model_name, settings.context_tokens))


def _warnings_from_start(bus: EventBus) -> Callable[[str], None]:
    """Something to say warnings with: each becomes a ``notice``, those said before the session's
    start right after it (a log begins with it), the others at once."""
    held: list[str] | None = []

    def emit_held(event: object) -> None:
        nonlocal held
        if isinstance(event, SessionStarted) and held is not None:
            remove()
            texts, held = held, None
            for text in texts:
                bus.emit(Notice, level="warning", message=text)

    def warn(text: str) -> None:
        if held is None:
            bus.emit(Notice, level="warning", message=text)
        else:
            held.append(text)

    remove = bus.subscribe(emit_held)
    return warn


def own_folders() -> tuple[Path, ...]:
    """asyncfc's own folders: the user's config (trust, allow rules, key pairings), the state
    folder (transcripts, which a resume believes: model and endpoint) and the caches (MCP tool
    listings, whose read-only hints skip approval). Commands get them read-only and the file tools
    refuse them, also when the workspace holds them (a session in the home folder)."""
    from .config import user_config_path
    from .repomap_tags import cache_dir
    from .transcript import state_dir

    return (user_config_path().parent, state_dir(), cache_dir())


def open_session_sandbox(settings: Settings, workspace: Workspace, *, interactive: bool,
                         simulate: bool = False) -> Sandbox:
    """The OS sandbox for the session's commands (``settings.sandbox``, ``settings.network``).

    asyncfc's own folders (config and trust, transcripts, caches) stay read-only inside it, also
    when the workspace holds them. The agent process is also made non-dumpable, so that where
    commands run unconfined a non-root one still cannot read the keys from
    ``/proc/<agent>/environ``.

    Raises:
        ConfigError: a headless run would approve every command (approval not chosen, so ``auto``)
            while the sandbox that should confine them cannot run: the user must say so.
    """
    from asyncfc_tools._sandbox import hide_own_environment, open_sandbox

    hide_own_environment()
    own = own_folders()
    sandbox = open_sandbox(workspace.root, mode=settings.sandbox, network=settings.network,
                           protected=own, hidden=own[:1])  # the config folder: MCP headers may hold tokens
    if sandbox.unconfined and not interactive and settings.approval is None and not simulate:
        raise ConfigError(
            f"the OS sandbox cannot run here ({sandbox.reason}), and a headless run approves every "
            "command by default, so commands would run unconfined and unasked. Say which you want: "
            "--approval auto to run them anyway, --no-sandbox (or sandbox = \"off\" in your config) "
            "to run without the sandbox, or --approval read-only to run none.")
    return sandbox


STOP_SIGNALS: dict[int, int] = {signal.SIGINT: EXIT_INTERRUPTED, signal.SIGTERM: EXIT_TERMINATED}
"""Signals that stop a headless task cleanly, and the exit code each one ends it with."""


class _Aborted(Exception):
    """A second stop signal: give up the clean-up and exit at once with ``exit_code``."""

    def __init__(self, exit_code: int) -> None:
        super().__init__(exit_code)
        self.exit_code = exit_code


async def _watch_stop_signals(session: Session) -> None:
    """The first SIGINT or SIGTERM cancels the task cleanly (futures cancelled, process groups
    killed, the history and ``session_finished`` recorded); a second one aborts."""
    with trio.open_signal_receiver(*STOP_SIGNALS) as signals:
        stopping = False
        async for signum in signals:
            if stopping:
                raise _Aborted(STOP_SIGNALS[signum])
            stopping = True
            session.cancel_turn(exit_code=STOP_SIGNALS[signum])


async def _interruptible(session: Session, task: str,
                        serving: Callable[[], AbstractAsyncContextManager[object]] = nullcontext) -> int:
    """Run one task; the first Ctrl-C or SIGTERM cancels it cleanly (exit 130 or 143), a second
    one aborts."""
    exit_code = EXIT_INTERRUPTED
    async with serving(), trio.open_nursery() as nursery:
        nursery.start_soon(_watch_stop_signals, session)
        outcome = await session.run(task)
        exit_code = outcome.exit_code
        nursery.cancel_scope.cancel()
    return exit_code


def run_headless(
    task: str,
    settings: Settings,
    workspace: Workspace,
    *,
    renderer: Callable[[Event], object],
    profile: str | None = None,
    simulate: bool = False,
    resume: Resumed | None = None,
) -> int:
    """Run a task without the TUI, printing events through ``renderer``. Returns the exit code."""
    bus = EventBus()
    bus.subscribe(renderer, nested=getattr(renderer, "nested_events", False))
    try:
        engine = build_engine(settings, workspace, bus=bus, profile=profile, simulate=simulate,
                              resume=resume)
    except AsyncfcError as exc:
        shown = getattr(renderer, "reports_errors", False) and _same_destination(sys.stdout, sys.stderr)
        return _report_setup_error(bus, exc, echo=not shown)
    try:
        return trio.run(_interruptible, engine.session, task, engine.serving)
    except BaseException as exc:
        code = _abort_code(exc)
        if code is None:
            raise
        return code
    finally:
        engine.close()


def _abort_code(exc: BaseException) -> int | None:
    """The exit code of a run given up by a second stop signal (possibly inside trio's exception
    groups), or None for any other exception."""
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(exc, _Aborted):
        return exc.exit_code
    if isinstance(exc, BaseExceptionGroup):
        return next((c for c in map(_abort_code, exc.exceptions) if c is not None), None)
    return None


def _same_destination(a: object, b: object) -> bool:
    """Whether two streams write to the same file, pipe or terminal (``2>&1``)."""
    try:
        first, second = os.fstat(a.fileno()), os.fstat(b.fileno())  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return False
    return (first.st_dev, first.st_ino) == (second.st_dev, second.st_ino)


def _report_setup_error(bus: EventBus, exc: AsyncfcError, *, echo: bool = True) -> int:
    """A session that could not start still ends with one session_finished event. ``echo`` also
    prints the reason on stderr: unless the renderer printed it already to the same place (text
    output with ``2>&1``), so the reason reaches a person once."""
    bus.emit(SessionFinished, outcome=exc.outcome, exit_code=exc.exit_code, message=str(exc))
    if echo:
        print(f"asyncfc: {printable(str(exc))}", file=sys.stderr)
    return exc.exit_code
