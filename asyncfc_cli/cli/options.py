"""The options of the ``asyncfc`` command line, declared once: the choices, the option types the
commands share, and the session options that ``asyncfc`` (chat) and ``asyncfc run`` both take
(``SessionFlags``). Cheap to import: ``asyncfc --help`` reads them.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from ..config import Approval, Mode, Settings, load_settings
from ..errors import AsyncfcError
from ..events import printable
from ..workspace import find_root

HELP_NAMES = ["-h", "--help"]


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
    json = "json"


class Clock(str, Enum):
    virtual = "virtual"
    real = "real"
    http = "http"


class BenchTools(str, Enum):
    simulated = "simulated"
    real = "real"


def print_version(value: bool) -> None:
    """``--version``: print it and exit."""
    if value:
        from .. import __version__

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
ContinueOpt = Annotated[bool, typer.Option("--continue", "-c", help="Continue this repository's latest session (same as --resume with no value).")]
SandboxOpt = Annotated[SandboxMode | None, typer.Option("--sandbox", help="OS sandbox for shell commands and tests: auto (where it works), on (refuse commands without it), off.")]
NoSandboxOpt = Annotated[bool, typer.Option("--no-sandbox", help="Run commands without the OS sandbox (same as --sandbox off).")]
NetworkOpt = Annotated[bool | None, typer.Option("--network/--no-network", help="Let sandboxed commands reach the network (default: a loopback shared by the session only).")]
TrustRepoOpt = Annotated[bool, typer.Option("--trust-repo", help="Trust this repository's .asyncfc.toml (model, api_base, approval...) for this session only; `asyncfc trust` trusts it for good.")]
ProfileOpt = Annotated[str | None, typer.Option("--profile", help="Scripted models only: latency profile (fast, slow, instant).")]


def fail(exc: AsyncfcError) -> typer.Exit:
    """The exit of a command that met ``exc``: its message on stderr, its exit code."""
    typer.echo(f"asyncfc: {printable(str(exc))}", err=True)
    return typer.Exit(exc.exit_code)


def root_of(cwd: Path | None) -> Path:
    """The workspace root for ``--cwd`` (default: here): its git top level."""
    start = (cwd or Path.cwd()).expanduser()
    if not start.is_dir():
        raise typer.BadParameter(f"{start} is not a folder", param_hint="--cwd")
    return find_root(start)



DispatchOpt = Annotated[Dispatch | None, typer.Option("--dispatch", help="Start calls mid-stream or when the response ends (default: stream in async, end in sync/serial).")]


@dataclass(frozen=True, slots=True)
class SessionFlags:
    """The options of a session that ``asyncfc`` (chat) and ``asyncfc run`` share, declared once:
    each field is an option (its type says which), and ``with_session_options`` gives them to
    both commands. None: not given."""

    model: ModelOpt = None
    api_base: ApiBaseOpt = None
    mode: ModeOpt = None
    approval: ApprovalOpt = None
    max_turns: MaxTurnsOpt = None
    max_cost: MaxCostOpt = None
    cwd: CwdOpt = None
    transcript: TranscriptOpt = None
    map_tokens: MapTokensOpt = None
    resume: ResumeOpt = None
    continue_latest: ContinueOpt = False
    profile: ProfileOpt = None
    dispatch: DispatchOpt = None
    sandbox: SandboxOpt = None
    no_sandbox: NoSandboxOpt = False
    network: NetworkOpt = None
    trust_repo: TrustRepoOpt = False

    def settings(self, root: Path, *, trusted: bool = False) -> Settings:
        """Settings from these flags > env > config files; the repository's own config applies
        in full only if it is trusted (the store, ``--trust-repo``, or ``trusted`` now)."""
        given = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in _NOT_SETTINGS}
        if self.no_sandbox:
            given["sandbox"] = SandboxMode.off
        values = {k: (v.value if isinstance(v, Enum) else v) for k, v in given.items()}
        return load_settings(values, root=root, trusted=True if trusted or self.trust_repo else None)


    def resume_ref(self) -> str | None:
        """The session to resume: ``--resume REF``, the latest for ``-c``, None for a new one.

        Raises:
            typer.BadParameter: both name one.
        """
        if not self.continue_latest:
            return self.resume
        from ..saved_sessions import LAST

        if self.resume not in (None, LAST):
            raise typer.BadParameter("give --continue or --resume SESSION, not both", param_hint="--continue")
        return LAST


_NOT_SETTINGS = ("cwd", "resume", "continue_latest", "profile", "no_sandbox", "trust_repo")
"""Session options that are not ``Settings`` fields: where, what to resume, and how."""
_SESSION_PARAMETERS = tuple(inspect.signature(SessionFlags, eval_str=True).parameters.values())


def with_session_options(command: Callable[..., None]) -> Callable[..., None]:
    """``command`` with the session options added to its own: typer reads a command's options
    from its signature, so the wrapper's signature is ``command``'s (less its ``flags``) followed
    by ``SessionFlags``' fields; the wrapper gathers their values into ``flags``."""
    own = [p for p in inspect.signature(command, eval_str=True).parameters.values() if p.name != "flags"]

    @functools.wraps(command)
    def with_flags(**values: Any) -> None:
        flags = SessionFlags(**{p.name: values.pop(p.name) for p in _SESSION_PARAMETERS})
        command(**values, flags=flags)

    with_flags.__signature__ = inspect.Signature([*own, *_SESSION_PARAMETERS])  # type: ignore[attr-defined]
    return with_flags
