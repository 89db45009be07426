"""Where a tool runs: the ``ToolContext`` (workspace root, limits, per-tool settings, sandbox,
progress reporting) and the confinement of paths to the workspace (``resolve_in_root``)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from ._errors import PathOutsideWorkspace, ToolError

if TYPE_CHECKING:
    from ._sandbox import Sandbox


class CallProgress(Protocol):
    """What a running call may report to the engine before it returns (called on trio's thread).

    The engine gives each call its own; outside an engine (``asyncfc tools``, tests) the default
    ignores everything, and a background command then runs until it exits.
    """

    def output(self, text: str) -> None:
        """More output of a running command, in order (shown live; the engine rate-limits it)."""

    def started(self, text: str) -> None:
        """A background call is up and goes on running: ``text`` (its first output) is what the
        model is told now; the call's return value, when it ends, is delivered later."""

    def changed_outside(self, declared: Sequence[str], paths: Sequence[str]) -> None:
        """A command changed ``paths``, which its declared ``writes`` do not cover (the result
        says so too; this tells the user)."""

    def changed(self, paths: Sequence[str]) -> None:
        """A command changed these workspace files (created, modified or deleted; as the change
        watch saw them), so views can list what a run changed beyond the file tools' edits."""


class _NoProgress:
    def output(self, text: str) -> None:
        pass

    def started(self, text: str) -> None:
        pass

    def changed_outside(self, declared: Sequence[str], paths: Sequence[str]) -> None:
        pass

    def changed(self, paths: Sequence[str]) -> None:
        pass


NO_PROGRESS: CallProgress = _NoProgress()


def resolve_in_root(root: Path, path: str | os.PathLike[str], off_limits: Sequence[Path] = ()) -> Path:
    """Resolve ``path`` (relative to root, or absolute) and refuse anything outside root, and
    anything inside a ``.git`` (the workspace's or a nested repository's, in any letter case).

    Symlinks are followed, so a link inside the root that points out, or into ``.git``, is refused
    too. The path need not exist; its existing ancestors are resolved.

    ``.git`` is refused for reading as well as writing. Writes there are how a repository is turned
    into a program (``core.fsmonitor``, hooks, filters run on the user's next git command); reads
    show ``.git/config``, where remote URLs and ``http.extraHeader`` may hold credentials. The model
    loses nothing it needs: ``git log``, ``git show`` and ``git status`` through the shell answer
    every question about history, and their output is what the model should reason from.

    ``off_limits`` are further folders refused wherever they are (the user's asyncfc config, when
    the workspace holds it: from there the agent could trust a repository or pair a key).

    Raises:
        PathOutsideWorkspace: the real path is not inside root, or is inside ``.git`` or
            ``off_limits``.
    """
    check_path_text(os.fspath(path))
    real_root = Path(os.path.realpath(root))
    raw = Path(os.path.expanduser(os.fspath(path)))
    candidate = raw if raw.is_absolute() else real_root / raw
    real = Path(os.path.realpath(candidate))
    if real != real_root and real_root not in real.parents:
        raise PathOutsideWorkspace(
            f"path {os.fspath(path)!r} is outside the workspace {real_root}; "
            "only files inside the workspace can be used"
        )
    if any(part.lower() == ".git" for part in real.relative_to(real_root).parts):
        raise PathOutsideWorkspace(
            f"path {os.fspath(path)!r} is inside .git: git's own files are off limits to the file "
            "tools (a file there can make git run commands); use git itself through the shell "
            "(git log, git show, git status) to look at history"
        )
    for folder in off_limits:
        real_folder = Path(os.path.realpath(folder))
        if real == real_folder or real_folder in real.parents:
            raise PathOutsideWorkspace(
                f"path {os.fspath(path)!r} is in {real_folder}, asyncfc's own configuration, "
                "sessions or caches, which only the user changes; ask the user to make such a change"
            )
    return real


NAME_MAX = 255
"""Longest file name (one path component, in bytes) Linux file systems accept."""
PATH_MAX = 4096
"""Longest path (in bytes) the kernel accepts."""


def check_path_text(path: str) -> None:
    """Refuse, in words, a path no file system can hold: a NUL character, a name over NAME_MAX
    bytes, a path over PATH_MAX bytes (the OS would answer with a bare errno text).

    Raises:
        ToolError: naming what is wrong and the limit.
    """
    if "\0" in path:
        raise ToolError(f"the path {shown_path(path)} contains a NUL character (\\0); no file name "
                        "can hold one")
    encoded = path.encode("utf-8", "surrogateescape")
    if len(encoded) > PATH_MAX:
        raise ToolError(f"the path is {len(encoded):,} bytes long; paths are limited to {PATH_MAX:,} bytes")
    longest = max(encoded.split(b"/"), key=len)
    if len(longest) > NAME_MAX:
        raise ToolError(f"a name in the path {shown_path(path)} is {len(longest):,} bytes long; "
                        f"file names are limited to {NAME_MAX} bytes")


def shown_path(path: str, limit: int = 80) -> str:
    """A path argument as messages quote it: repr'd, long ones shortened."""
    shown = path if len(path) <= limit else path[: limit - 3] + "..."
    return repr(shown)


AGENT_SETTINGS = (".asyncfc.toml", ".mcp.json")
"""Files at the workspace root that configure asyncfc itself: read-only to the agent (file tools
and, where it runs, the OS sandbox)."""


_T = TypeVar("_T")


def or_default(setting: _T | None, default: _T) -> _T:
    """A ``ToolSettings`` value, or the tool's own default where it is not set."""
    return default if setting is None else setting


@dataclass(frozen=True, slots=True)
class ToolSettings:
    """Settings of individual tools (the application's from ``Settings``, or a test's). None: the
    tool's own default, named beside the tool."""

    grep_max_matches: int | None = None
    """Matches grep shows before cutting (default ``search.MAX_MATCHES``)."""
    kill_grace_s: float | None = None
    """Seconds a stopped command (shell, run_tests) gets between SIGTERM and SIGKILL (default
    ``_process.KILL_GRACE_S``)."""
    background_quiet_s: float | None = None
    """A background command counts as up after this long without output (default
    ``_background.QUIET_S``)."""
    background_start_s: float | None = None
    """A background command counts as up after this long at the latest (default
    ``_background.START_CAP_S``)."""
    web_allow_local: bool = False
    repo_trusted: bool = False
    """The user trusts the repository: git in the model's commands may run what its config names
    (the user's own hooks); otherwise it gets ``_git.command_git_variables``."""
    """web_fetch may reach loopback and private addresses (``Settings.web_allow_local``)."""


def _never() -> bool:
    return False


@dataclass(frozen=True, slots=True)
class ToolContext:
    """What a tool may know about where it runs. Built by the application, read by tools."""

    root: Path
    """The workspace root (git top level, else the current folder); every path is confined to it."""
    shell_timeout_s: float = 120.0
    """Default timeout of shell commands and test runs."""
    max_output_chars: int = 30_000
    """Cap on text a tool returns; longer output is cut with a note saying how much."""
    env: Mapping[str, str] | None = None
    """Environment for child processes (provider keys removed); None means os.environ minus keys."""
    settings: ToolSettings = ToolSettings()
    """Settings of individual tools (e.g. ``ToolSettings(grep_max_matches=50)``)."""
    off_limits: tuple[Path, ...] = ()
    """Folders the file tools refuse even inside the workspace (see ``resolve_in_root``)."""
    progress: CallProgress = NO_PROGRESS
    """Where the running call reports live output and a background start (set per call by the
    engine)."""
    sandbox: Sandbox | None = None
    """The OS sandbox commands (shell, run_tests) run in; None: unconfined (``_sandbox``)."""
    network: bool = False
    """The user allowed this one call the network (an approval, set per call by the engine): its
    command runs on the host's network even where the sandbox keeps the session's off it."""
    approval_offers_network: Callable[[], bool] = _never
    """Whether a person approving a command can now give it the network for that one run (under
    ``--approval ask`` with someone to answer; the TUI's /approval changes it), so the hint after a
    command failed offline says what the user can really do."""

    def resolve(self, path: str | os.PathLike[str]) -> Path:
        """The real path of ``path`` inside the workspace; raises PathOutsideWorkspace otherwise."""
        return resolve_in_root(self.root, path, self.off_limits)

    def resolve_for_write(self, path: str | os.PathLike[str]) -> Path:
        """Like ``resolve``, and refuses the repository's own asyncfc settings (AGENT_SETTINGS):
        in a trusted repository they choose the endpoint, the approval policy and the MCP servers
        that start, so the agent must not be able to change them for the next session."""
        real = self.resolve(path)
        # casefold: on a case-insensitive filesystem (macOS) ".MCP.json" is ".mcp.json".
        if real.parent == Path(os.path.realpath(self.root)) and real.name.casefold() in AGENT_SETTINGS:
            raise PathOutsideWorkspace(
                f"{real.name} holds this repository's asyncfc settings (endpoint, approval, MCP "
                "servers); the agent may read it but not change it: ask the user to edit it")
        return real

    def relative(self, path: Path) -> str:
        """How to show a resolved path to the model: relative to the root, with forward slashes."""
        try:
            rel = Path(os.path.realpath(path)).relative_to(os.path.realpath(self.root))
        except ValueError:
            return str(path)
        return rel.as_posix() or "."
