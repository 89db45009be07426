"""How a tool is declared: a plain typed function, an effect, and a schema derived from both.

A tool is an ordinary function whose first parameter is the ``ctx`` it runs in (a ToolContext) and
whose remaining parameters are what the model passes. Its JSON schema comes from the signature and
the Google-style docstring (summary, then ``Args:``), so nothing is written twice::

    @tool(effect=reads("path"))
    def read_file(ctx: ToolContext, path: str, offset: int = 1) -> str:
        \"\"\"Read a text file.

        Args:
            path: file to read, relative to the workspace root.
            offset: first line to show (1-based).
        \"\"\"

Sync tools run in a worker thread (abandoned on cancel); ``async def`` tools run on trio directly.
Either returns the text the model is shown, or raises ToolError with a message the model can act on.

This package knows nothing of sessions, models or schedulers: it is imported by them, never the
other way round.
"""

from __future__ import annotations

import fnmatch
import inspect
import json
import math
import os
import posixpath
import re
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from ._sandbox import Sandbox

__all__ = [
    "CallProgress",
    "Effect",
    "EffectSpec",
    "PathOutsideWorkspace",
    "ToolContext",
    "ToolError",
    "ToolFacts",
    "ToolSettings",
    "ToolSpec",
    "UNRESOLVED",
    "ArgumentError",
    "check_path_text",
    "NO_PROGRESS",
    "declared_footprint",
    "glob_base",
    "path_matcher",
    "exclusive",
    "pure",
    "reads",
    "resolve_in_root",
    "runs",
    "tool",
    "writes",
]


class ToolError(Exception):
    """A tool could not do what was asked. The message is shown to the model as the failure text."""


class ArgumentError(ToolError):
    """The arguments do not fit the tool's schema (missing, unknown, or of the wrong type)."""


class PathOutsideWorkspace(ToolError):
    """A path resolves (symlinks followed) to somewhere outside the workspace root, or into git's
    own files (a ``.git`` folder or file), which are out of bounds too."""


# --------------------------------------------------------------------------------------------------
# Effects


EffectKind = Literal["pure", "reads", "writes", "runs", "declared", "exclusive"]

WHOLE_TREE = "."
"""The path an effect names when it covers the whole workspace (or its path is not yet known)."""


@dataclass(frozen=True, slots=True)
class Effect:
    """What a call may observe or change, used to keep program order between concurrent calls."""

    kind: EffectKind
    """pure: touches nothing; reads/writes: the given paths and everything under them; runs: runs
    the project's own checks (tests, linters, type checkers): reads the whole tree and writes only
    its runner's caches, named by ``paths`` (e.g. "tests"), which no file tool reads; declared: a
    command whose footprint the model declared: it reads the whole tree and writes only ``paths``
    (none: it changes nothing); exclusive: may touch anything (other shell commands)."""
    paths: tuple[str, ...] = ()
    """Normalised workspace-relative paths ("." is the whole tree) for reads/writes/declared; cache
    names for runs; empty otherwise."""
    unconfined: bool = False
    """The call is not confined to the workspace (a shell command): it needs approval even when it
    only reads. Plays no part in ordering."""
    background: bool = False
    """The call starts a long-lived process (a server, a watcher) that keeps running after it has
    started: later calls that conflict with it wait only until it has started, never for its end,
    and it never holds the finish of a task."""

    @property
    def mutates(self) -> bool:
        """True for calls that may change the workspace or run the project's code (and so need
        approval and a checkpoint)."""
        return self.kind in ("writes", "runs", "exclusive") or (self.kind == "declared" and bool(self.paths))

    @property
    def needs_approval(self) -> bool:
        """True for calls the approval policy decides on: those that mutate or are unconfined."""
        return self.mutates or self.unconfined

    def conflicts_with(self, other: Effect) -> bool:
        """Whether running self and other concurrently could differ from running them in order.

        write/write and read/write on overlapping paths conflict; a run conflicts with every write
        (it reads the whole tree) and with runs sharing a cache, never with reads; exclusive
        conflicts with every non-pure effect; pure never conflicts; reads never conflict with reads.
        A declared command reads the whole tree and writes its paths: it conflicts with every write
        and, when it writes, with every read of its paths, every run and every other command.
        """
        if self.kind == "pure" or other.kind == "pure":
            return False
        if self.kind == "exclusive" or other.kind == "exclusive":
            return True
        if "declared" in (self.kind, other.kind):
            return _declared_conflict(self, other) if self.kind == "declared" else _declared_conflict(other, self)
        kinds = {self.kind, other.kind}
        if kinds == {"reads"} or kinds == {"reads", "runs"}:
            return False
        if kinds == {"runs"}:
            return bool(set(self.paths) & set(other.paths))
        if "runs" in kinds:
            return True  # a run reads the whole tree; the other one writes
        return any(_overlap(a, b) for a in self.paths for b in other.paths)


def _declared_conflict(declared: Effect, other: Effect) -> bool:
    """A declared command (reads ".", writes ``declared.paths``, which may be globs) against a
    non-pure, non-exclusive effect."""
    if other.kind == "writes":
        return True  # it reads the whole tree
    if other.kind == "reads":
        return any(_overlap_glob(a, b) for a in declared.paths for b in other.paths)
    return bool(declared.paths) or (other.kind == "declared" and bool(other.paths))


def _overlap_glob(pattern: str, path: str) -> bool:
    """Whether ``path`` (or what lies under it) and what ``pattern`` (a path or glob) names can
    share a file: ``path`` holds the pattern's folder, or lies at or under a match."""
    if not _GLOB_CHARS.search(pattern):
        return _overlap(pattern, path)
    base = glob_base(pattern)
    holds_base = path == WHOLE_TREE or path == base or base.startswith(path.rstrip("/") + "/")
    return holds_base or path_matcher(pattern)(path)


def _overlap(a: str, b: str) -> bool:
    if a == WHOLE_TREE or b == WHOLE_TREE or a == b:
        return True
    return a.startswith(b.rstrip("/") + "/") or b.startswith(a.rstrip("/") + "/")


class _Unresolved:
    """The type of ``UNRESOLVED``."""

    def __repr__(self) -> str:
        return "UNRESOLVED"


UNRESOLVED: Any = _Unresolved()
"""What an effect function is given for an argument whose value is not known yet (the engine's
reference to another call's result, before that call has finished). It is no string, so a path
argument holding it counts as the whole tree (``normalise_effect_path``) and a command as unknown.
How references are written is the engine's business (``asyncfc_cli.futures``), not the tools'."""


def normalise_effect_path(value: object, root: Path | None = None) -> str:
    """Turn a path argument into the key used for conflict checks.

    With a root, the path is resolved as the tools will resolve it (symlinks followed, DESIGN 4):
    a write through ``alias.txt -> u.txt`` or a linked folder and a read of ``u.txt`` get the same
    key, so they are ordered. Anything that is not a plain string (``UNRESOLVED``, a missing
    value), or that leads outside the root, is treated as the whole tree, which is always safe: it
    only adds waiting, never races.
    """
    if not isinstance(value, str) or not value:
        return WHOLE_TREE
    if root is not None:
        return _resolved_key(value, root)
    path = value
    if os.path.isabs(path):
        return WHOLE_TREE
    norm = posixpath.normpath(path.replace(os.sep, "/"))
    if norm.startswith(".."):
        # Outside the root: the tool will refuse it; for ordering, be conservative.
        return WHOLE_TREE
    return norm


def _resolved_key(value: str, root: Path) -> str:
    try:
        real_root = os.path.realpath(root)
        real = os.path.realpath(os.path.join(real_root, os.path.expanduser(value)))
        rel = os.path.relpath(real, real_root)
    except (ValueError, OSError):  # a NUL byte, a name too long: the tool will say so
        return WHOLE_TREE
    norm = posixpath.normpath(rel.replace(os.sep, "/"))
    return WHOLE_TREE if norm == ".." or norm.startswith("../") else norm
_GLOB_CHARS = re.compile(r"[*?\[]")


def glob_base(pattern: str) -> str:
    """The folder a path or glob lies in up to its first glob character (``src/gen_*.py`` ->
    ``src``, ``**/*.o`` -> ``.``); a plain path is its own base."""
    if not _GLOB_CHARS.search(pattern):
        return pattern
    parts = pattern.replace(os.sep, "/").split("/")
    cut = next(i for i, part in enumerate(parts) if _GLOB_CHARS.search(part))
    return "/".join(parts[:cut]) or WHOLE_TREE


def path_matcher(pattern: str) -> Callable[[str], bool]:
    """A test for workspace-relative paths: whether one lies at or under what a declared path or
    glob names (``build/`` covers ``build/x/a.o``; ``src/gen_*.py`` covers ``src/gen_api.py``;
    ``**/*.o`` covers ``a.o`` too). Globs match as ``fnmatch`` does, so ``*`` may cross folders:
    generous to the declaration, never narrower than the model meant."""
    pattern = pattern.replace(os.sep, "/").removeprefix("./").strip("/")
    if pattern in ("", WHOLE_TREE):
        return lambda rel: True
    patterns = {pattern, pattern.removeprefix("**/")}

    def covers(rel: str) -> bool:
        parts = rel.split("/")
        prefixes = ("/".join(parts[:i]) for i in range(1, len(parts) + 1))
        return any(fnmatch.fnmatchcase(prefix, p) for prefix in prefixes for p in patterns)

    return covers


def declared_footprint(patterns: Sequence[object], root: Path | None = None) -> tuple[str, ...]:
    """The effect paths of a command's declared ``writes``: each path or glob normalised (globs
    are compared as globs, see ``Effect.conflicts_with``)."""
    paths: list[str] = []
    for pattern in patterns:
        path = normalise_effect_path(pattern, root)
        if path not in paths:
            paths.append(path)
    return tuple(paths)


EffectSpec = Callable[[Mapping[str, Any], "Path | None"], Effect]
"""Computes a call's effect from its (parsed) arguments and the workspace root."""


def pure() -> EffectSpec:
    """The call touches nothing the other calls can see."""
    return lambda args, root: Effect("pure")


def exclusive() -> EffectSpec:
    """The call may read or change anything (shell commands, test runs)."""
    return lambda args, root: Effect("exclusive")


def runs(*caches: str) -> EffectSpec:
    """The call runs the project's checks (tests, linters): it reads the whole tree and writes only
    these caches (calls sharing a cache run one at a time)."""
    return lambda args, root: Effect("runs", caches)


def _path_effect(kind: EffectKind, params: Sequence[str], default: str | None) -> EffectSpec:
    def spec(args: Mapping[str, Any], root: Path | None) -> Effect:
        paths: list[str] = []
        for name in params:
            value = args.get(name, default)
            values = value if isinstance(value, list) else [value]
            paths.extend(normalise_effect_path(v, root) for v in values)
        return Effect(kind, tuple(paths) or (WHOLE_TREE,))

    return spec


def reads(*params: str, default: str | None = None) -> EffectSpec:
    """The call reads the paths named by these arguments (and what lies under them).

    Args:
        params: names of arguments holding a path or a list of paths.
        default: the path to assume when the argument is absent (``"."`` for the whole tree).
    """
    return _path_effect("reads", params, default)


def writes(*params: str) -> EffectSpec:
    """The call writes the paths named by these arguments."""
    return _path_effect("writes", params, None)


# --------------------------------------------------------------------------------------------------
# Context


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
                f"path {os.fspath(path)!r} is in {real_folder}, asyncfc's own configuration, which "
                "only the user edits; ask the user to make such a change"
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
    """web_fetch may reach loopback and private addresses (``Settings.web_allow_local``)."""


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

    def resolve(self, path: str | os.PathLike[str]) -> Path:
        """The real path of ``path`` inside the workspace; raises PathOutsideWorkspace otherwise."""
        return resolve_in_root(self.root, path, self.off_limits)

    def resolve_for_write(self, path: str | os.PathLike[str]) -> Path:
        """Like ``resolve``, and refuses the repository's own asyncfc settings (AGENT_SETTINGS):
        in a trusted repository they choose the endpoint, the approval policy and the MCP servers
        that start, so the agent must not be able to change them for the next session."""
        real = self.resolve(path)
        if real.parent == Path(os.path.realpath(self.root)) and real.name in AGENT_SETTINGS:
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


# --------------------------------------------------------------------------------------------------
# Specs and schemas

Preview = Callable[[ToolContext, Mapping[str, Any]], str]
"""How a tool shows a call to a person deciding on it (``ToolFacts.preview``)."""
DurationKey = Callable[[Mapping[str, Any]], str]
"""What refines a call's duration key beyond its tool's name (``ToolFacts.duration_key``)."""
RECALL = "call {tool} with {args} to see it again"
"""What compaction says of a removed output by default (``ToolFacts.recall``)."""
READ_AGAIN = "to see it again, call {tool} with {args}"
"""The recall of a tool that only reads: calling it again shows the output again."""


@dataclass(frozen=True, slots=True)
class ToolFacts:
    """What the engine needs to know of a tool beyond its schema and effect, declared with it
    (``@tool(...)``) so that no engine module branches on a tool's name."""

    preview: Preview | None = None
    """How a person deciding on a call sees it (a diff, a command line); None: the tool's name
    and its arguments (``ToolSpec.describe``). May read files: called from a worker thread."""
    runs_command: bool = False
    """Whether the call runs a command the OS sandbox confines (so approval may let one call reach
    the network where the sandbox keeps the session off it)."""
    recall: str = RECALL
    """What compaction tells the model when it removes this call's output: how to get it back
    (``{tool}`` and ``{args}`` are filled in)."""
    duration_key: DurationKey | None = None
    """What, beyond the tool's name, predicts a call's duration: a suffix of its duration key
    (``ToolSpec.duration_key``; "" or None: the name alone)."""
    duration_priors: Mapping[str, str] = field(default_factory=dict)
    """The benchmark's measurements (``tool_latencies``, by measurement name) that are a fair first
    guess of a call's duration, by the duration key they stand for. Empty: the session learns the
    tool's durations as it goes (shell commands vary too much for a first guess)."""


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool as the engine sees it: callable, schema, effect and declared facts."""

    name: str
    """The name the model calls it by."""
    description: str
    """What it does, for the model (the docstring summary)."""
    parameters: Mapping[str, Any]
    """JSON schema of the arguments (an object schema)."""
    fn: Callable[..., Any]
    """The plain function; called as ``fn(ctx, **args)``."""
    effect: EffectSpec
    """Computes the call's effect from its arguments."""
    is_async: bool
    """Whether fn is ``async def`` (run on trio) or sync (run in a worker thread)."""
    context: Literal["workspace", "engine"] = "workspace"
    """What ctx is: a ToolContext, or (for await_future/cancel_future) the engine's own handle."""
    facts: ToolFacts = ToolFacts()
    """What the engine needs to know of it (approval preview, compaction's recall, durations)."""

    def schema(self) -> dict[str, Any]:
        """The OpenAI-style function schema the model is offered."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": dict(self.parameters),
            },
        }

    def describe(self, ctx: ToolContext, args: Mapping[str, Any]) -> str:
        """What a call will do, for a person deciding: the declared preview, else the arguments.
        A preview may read files: call this from a worker thread."""
        if self.facts.preview is not None:
            return self.facts.preview(ctx, args)
        return f"{self.name} {json.dumps(dict(args), ensure_ascii=False, default=str)}"

    def duration_key(self, args: Any) -> str:
        """What calls that take about as long as this one share: the tool's name, refined by its
        declared ``duration_key`` (a command's first words, a selection of tests)."""
        refine = self.facts.duration_key
        suffix = refine(args) if refine is not None and isinstance(args, Mapping) else ""
        return f"{self.name}:{suffix}" if suffix else self.name

    def effect_of(self, args: Mapping[str, Any], root: Path | None = None) -> Effect:
        """The effect of a call with these arguments."""
        return self.effect(args, root)

    def validate(self, args: Any) -> dict[str, Any]:
        """Check arguments against the schema and return them with harmless coercions applied.

        Raises:
            ArgumentError: with a message naming the offending argument and what was expected.
        """
        return validate_arguments(self.name, self.parameters, args)


def tool(
    *,
    effect: EffectSpec,
    name: str | None = None,
    context: Literal["workspace", "engine"] = "workspace",
    preview: Preview | None = None,
    runs_command: bool = False,
    recall: str = RECALL,
    duration_key: DurationKey | None = None,
    duration_priors: Mapping[str, str] | None = None,
) -> Callable[[Callable[..., Any]], ToolSpec]:
    """Declare a plain function as a tool. See the module docstring; the keywords after ``context``
    are what the engine needs to know of it beyond its schema and effect (``ToolFacts``)."""
    facts = ToolFacts(preview=preview, runs_command=runs_command, recall=recall,
                      duration_key=duration_key, duration_priors=dict(duration_priors or {}))

    def wrap(fn: Callable[..., Any]) -> ToolSpec:
        description, parameters = derive_schema(fn)
        return ToolSpec(
            name=name or fn.__name__,
            description=description,
            parameters=parameters,
            fn=fn,
            effect=effect,
            is_async=inspect.iscoroutinefunction(fn),
            context=context,
            facts=facts,
        )

    return wrap


_ARGS_HEADER = re.compile(r"^\s*(Args|Arguments|Parameters):\s*$")
_SECTION_HEADER = re.compile(r"^\s*(Returns|Raises|Yields|Examples?|Notes?):\s*$")
_ARG_LINE = re.compile(r"^\s+(\w+)(?:\s*\([^)]*\))?:\s*(.*)$")


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    lines = inspect.cleandoc(doc).splitlines()
    summary: list[str] = []
    params: dict[str, str] = {}
    section = "summary"
    current: str | None = None
    for line in lines:
        if _ARGS_HEADER.match(line):
            section, current = "args", None
        elif _SECTION_HEADER.match(line):
            section, current = "other", None
        elif section == "summary":
            summary.append(line)
        elif section == "args":
            match = _ARG_LINE.match(line)
            indent = len(line) - len(line.lstrip())
            if match and indent <= 4:
                current = match.group(1)
                params[current] = match.group(2).strip()
            elif current and line.strip():
                params[current] += " " + line.strip()
    # Docstrings wrap at the code's line length; models read paragraphs, so unwrap them.
    paragraphs = "\n".join(summary).strip().split("\n\n")
    text = "\n\n".join(" ".join(line.strip() for line in p.splitlines()) for p in paragraphs)
    return text, params


def _json_type(annotation: Any) -> dict[str, Any]:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return _json_type(rest[0])
        return {"anyOf": [_json_type(a) for a in rest]}
    if origin is Literal:
        return {"type": "string", "enum": list(args)}
    if origin in (list, Sequence, tuple) or annotation in (list, tuple):
        item = _json_type(args[0]) if args else {}
        return {"type": "array", "items": item}
    if origin in (dict, Mapping) or annotation is dict:
        return {"type": "object"}
    simple = {str: "string", int: "integer", float: "number", bool: "boolean"}
    if annotation in simple:
        return {"type": simple[annotation]}
    raise TypeError(f"tool parameter type {annotation!r} has no JSON schema mapping")


def derive_schema(fn: Callable[..., Any]) -> tuple[str, dict[str, Any]]:
    """The model-facing description and JSON schema of a tool function.

    The first parameter (the context) is skipped; parameters without defaults are required.
    """
    summary, docs = _parse_docstring(fn.__doc__ or "")
    hints = typing.get_type_hints(fn)
    params = list(inspect.signature(fn).parameters.values())[1:]
    properties: dict[str, Any] = {}
    required: list[str] = []
    for param in params:
        prop = _json_type(hints.get(param.name, str))
        if param.name in docs:
            prop["description"] = docs[param.name]
        properties[param.name] = prop
        if param.default is inspect.Parameter.empty:
            required.append(param.name)
    schema: dict[str, Any] = {"type": "object", "properties": properties, "required": required}
    schema["additionalProperties"] = False
    return summary, schema


_TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


def _coerce(value: Any, schema: Mapping[str, Any]) -> Any:
    """Forgive the common slips of models (``"5"`` for 5, ``"true"`` for True, a lone item for a
    list); anything else is left for the type check to report."""
    kind = schema.get("type")
    if isinstance(value, str):
        text = value.strip()
        if kind == "integer" and re.fullmatch(r"[+-]?\d+", text):
            return int(text)
        if kind == "number" and re.fullmatch(r"[+-]?\d+(\.\d*)?", text):
            return float(text)
        if kind == "boolean" and text.lower() in ("true", "false"):
            return text.lower() == "true"
    if kind == "array" and not isinstance(value, list) and value is not None:
        return [value]
    return value


def _describe(value: Any) -> str:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"{type(value).__name__} {shown}"


def _check(tool_name: str, name: str, value: Any, schema: Mapping[str, Any]) -> Any:
    if "anyOf" in schema:
        for option in schema["anyOf"]:
            try:
                return _check(tool_name, name, value, option)
            except ArgumentError:
                continue
        raise ArgumentError(f"{tool_name}: argument {name!r} has the wrong type ({_describe(value)})")
    value = _coerce(value, schema)
    kind = schema.get("type")
    if kind and not _TYPE_CHECKS[kind](value):
        raise ArgumentError(
            f"{tool_name}: argument {name!r} must be of type {kind}, got {_describe(value)}"
        )
    if kind == "number" and not math.isfinite(value):
        raise ArgumentError(f"{tool_name}: argument {name!r} must be a finite number, got {value!r}")
    if "enum" in schema and value not in schema["enum"]:
        raise ArgumentError(f"{tool_name}: argument {name!r} must be one of {schema['enum']}")
    if kind == "array" and "items" in schema:
        return [_check(tool_name, f"{name}[{i}]", v, schema["items"]) for i, v in enumerate(value)]
    return value


def validate_arguments(tool_name: str, schema: Mapping[str, Any], args: Any) -> dict[str, Any]:
    """See ToolSpec.validate."""
    if not isinstance(args, dict):
        raise ArgumentError(f"{tool_name}: arguments must be a JSON object, got {_describe(args)}")
    properties: Mapping[str, Any] = schema.get("properties", {})
    unknown = sorted(set(args) - set(properties))
    if unknown and schema.get("additionalProperties") is False:
        raise ArgumentError(
            f"{tool_name}: unknown argument(s) {', '.join(unknown)}; "
            f"it takes {', '.join(properties) or 'no arguments'}"
        )
    missing = [p for p in schema.get("required", []) if args.get(p) is None]
    if missing:
        raise ArgumentError(f"{tool_name}: missing required argument(s) {', '.join(missing)}")
    # An explicit null for an optional argument means "use the default".
    return {
        name: _check(tool_name, name, value, properties.get(name, {}))
        for name, value in args.items()
        if value is not None
    }
