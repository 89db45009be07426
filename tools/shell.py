"""The shell tool: one command in the workspace root, as its own process group."""

from __future__ import annotations

import math
import re
import signal
import stat
from collections.abc import Awaitable, Callable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio

from ._api import Display, ToolContext, ToolError, glob_base, tool
from ._background import QUIET_S, START_CAP_S, Listening, run_in_background
from ._words import positive_seconds
from ._commands import command_effect, shell_effect
from ._context import or_default
from ._env import command_environment
from ._git import command_git_variables
from ._listening import listening_addresses
from ._process import KILL_GRACE_S, CommandResult, run_command
from ._process_tree import ProcessTree
from ._shell_syntax import read_command_line
from ._text import cap_text
from ._watch import changes_note, outside_declaration, violation_note, watch_tree

__all__ = ["shell", "format_command_result", "offline_hint"]


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
        head = f"exit code {result.exit_code} ({result.duration:.1f}s)" + _signal_note(result.exit_code)
    parts = [head]
    if result.stopped_children:
        parts.append("note: processes the command left running (started with `&`, or daemons) were "
                     "stopped when it exited; to keep a server or watcher running, call shell with "
                     "background=true")
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


def _signal_note(exit_code: int | None) -> str:
    """How a shell (and the sandbox's init) reports a process a signal ended: 128 + its number.
    Said in words, since 137 (SIGKILL: often out of memory) and 139 (SIGSEGV) mean a crash, not a
    failed check. (A command may exit with such a code itself, hence "probably".)"""
    if exit_code is None or not 128 < exit_code < 128 + 32:
        return ""
    try:
        name = signal.Signals(exit_code - 128).name
    except ValueError:
        return ""
    return f"; probably killed by signal {exit_code - 128} ({name})"


def _preview(ctx: ToolContext, args: Mapping[str, Any]) -> str:
    """The approval preview of a command: its line, and what a person approving it should know of
    its declaration (a promise the engine checks afterwards, and the OS sandbox enforces where
    there is one, not a guarantee)."""
    notes = [f"$ {_in_view(str(args.get('command', '')))}"]
    if args.get("background") is True:
        notes.append("# runs in the background until it is stopped (at the latest when the task ends)")
    writes = args.get("writes")
    if isinstance(writes, list):
        declared = ", ".join(str(w) for w in writes) or "nothing"
        notes.append(f"# the model declares it writes: {declared} (changes elsewhere are reported)")
    return "\n".join(notes)


_BLANK_LINES = re.compile(r"\n(?:[ \t]*\n){3,}")
_BLANK_RUN = re.compile(r"[ \t]{24,}")


def _in_view(command: str) -> str:
    """``command`` as a person approving it must see it all: a run of blank lines or of spaces
    (which could push a ``; curl ... | sh`` below the dialog's fold or past its right edge) is
    shown by its size instead. Only the preview changes; the command runs as it is."""
    command = _BLANK_LINES.sub(lambda m: f"\n⟪{m.group().count(chr(10)) - 1} blank lines⟫\n", command)
    return _BLANK_RUN.sub(lambda m: f" ⟪{len(m.group())} blanks⟫ ", command)


def _command_words(args: Mapping[str, Any]) -> str:
    """What predicts a command's duration: its first two words that are not flags (``git diff``
    and ``python -m pytest`` take very different times)."""
    command = args.get("command")
    return " ".join([w for w in command.split() if not w.startswith("-")][:2]) if isinstance(command, str) else ""


@tool(effect=shell_effect(), preview=_preview, runs_command=True, duration_key=_command_words,
      display=Display.COMMAND, subject="command", recall="re-run the command if you need it (mind its side effects): {args}")
async def shell(
    ctx: ToolContext,
    command: str,
    timeout_s: float | None = None,
    writes: list[str] | None = None,
    background: bool = False,
) -> str:
    """Run a shell command (/bin/sh) in the workspace root and return its exit code and output.

    The command runs in its own process group with no stdin; when it exits, times out or is
    cancelled, the whole group (children included) is stopped, so processes left running with `&`
    are killed: start servers and watchers with background=true instead. Output is capped (head
    and tail kept, with a note of what was cut). A non-zero exit code is reported, not raised.
    Provider API keys are not in its environment. Commands that only read (git status/diff/log,
    ls, grep, sed -n, echo, sleep...) and checks (pytest, ruff check, mypy, cargo test...) run
    alongside file reads. Any other command waits for the calls before it and holds back the calls
    after it, unless you declare what it writes with `writes`: then reads of other files and calls
    that do not touch those paths go on beside it.

    Args:
        command: the command line, e.g. `git status` or `make -j2 && ./run`.
        timeout_s: seconds before the command is killed (default: the configured shell timeout;
            a background command runs until stopped unless you give one).
        writes: the paths or globs (relative to the workspace) the command may create, change or
            delete, e.g. ["build/"] for a build, ["node_modules/", "package-lock.json"] for an
            install, ["src/generated/*.py"] for a code generator; [] if it changes nothing. The
            command may still read every file. Changes outside the declaration are reported.
        background: true to start a long-lived process (a dev server, a watcher) that keeps
            running while you work: you get its first output at once and its future stays
            running (its latest output: await_future with timeout_s; stop it with cancel_future
            when you no longer need it, where those tools are offered; it is stopped when the task
            ends anyway). It may write only what `writes` declares (default nothing), e.g.
            writes=[".next/"] for a dev server that builds into .next.
    """
    if not command.strip():
        raise ToolError("command is empty")
    if "\0" in command:
        raise ToolError("the command contains a NUL character (\\0), which no command line can hold")
    settings = ctx.settings
    line = read_command_line(command)  # the parse the engine's judgement of this call made
    kind = command_effect(line).kind
    # A command judged read-only runs beside reads, unordered: it gets nothing to write (where the
    # sandbox can enforce it). In a repository the user has not trusted, git in any command starts
    # nothing the repository's config names (a planted fsmonitor, hook or textconv would otherwise
    # run under an approval or allow rule given for `git diff`).
    reading = writes is None and not background and kind == "reads"
    git_variables: dict[str, str] = {}
    if not settings.repo_trusted and line.runs("git"):
        git_variables = await trio.to_thread.run_sync(command_git_variables, ctx.root)
    made: list[tuple[Path, int]] = []
    run = _Run(ctx, command, _timeout(ctx, timeout_s, background),
               or_default(settings.kill_grace_s, KILL_GRACE_S),
               # a background command's footprint is its declaration, by default none (DESIGN.md)
               [] if reading else _writable(ctx, [] if background and writes is None else writes, made),
               git_variables,
               _may_write(writes, reading, background))
    try:
        return await _run_and_report(ctx, run, kind, writes, background)
    finally:
        _tidy(made)


async def _run_and_report(ctx: ToolContext, run: _Run, kind: str, writes: list[str] | None,
                          background: bool) -> str:
    """Run it (in the background, or to its end watching what it changes) and say how it went."""
    settings = ctx.settings
    if background:
        async def to_end(on_output: Callable[[str], None], listen: Callable[[Listening], None]) -> str:
            def probe(tree: ProcessTree) -> None:
                def look() -> Awaitable[list[str]]:
                    seen = tree.seen()  # here, on the thread that tracks the tree
                    return trio.to_thread.run_sync(lambda: listening_addresses(tree.pids(seen)))

                listen(look)

            return run.text(await run(on_output, probe))

        return await run_in_background(
            to_end, ctx.progress, quiet_s=or_default(settings.background_quiet_s, QUIET_S),
            cap_s=or_default(settings.background_start_s, START_CAP_S))
    async with watch_tree(ctx.root) if writes is not None or kind != "reads" else nullcontext([]) as changed:
        result = await run(ctx.progress.output)
    if changed:
        ctx.progress.changed(changed)
    if writes is None:  # a check should write only its caches: the model is told what else it wrote
        return run.text(result, changes_note(changed) if kind == "runs" else "")
    outside = outside_declaration(changed, writes)
    if outside:
        ctx.progress.changed_outside(writes, outside)
    return run.text(result, violation_note(outside, writes))


@dataclass(frozen=True, slots=True)
class _Run:
    """One command line as this call runs it."""

    ctx: ToolContext
    command: str
    timeout: float
    grace: float
    writable: list[Path] | None
    """The declared writes, resolved (None: undeclared)."""
    git_variables: Mapping[str, str]
    """Settings for git inside the command (``command_git_variables``), or none."""
    may_write: str
    """What it may write, in words, for the note when the sandbox stopped it writing elsewhere."""

    async def __call__(self, on_output: Callable[[str], None],
                       on_start: Callable[[ProcessTree], None] | None = None) -> CommandResult:
        ctx = self.ctx
        try:
            return await run_command(self.command, cwd=ctx.root, timeout_s=self.timeout,
                                     env={**command_environment(ctx.env), **self.git_variables},
                                     grace_s=self.grace, max_bytes=capture_budget(ctx.max_output_chars),
                                     writable=self.writable, on_output=on_output,
                                     sandbox=ctx.sandbox, network=ctx.network, on_start=on_start)
        except OSError as exc:
            raise ToolError(f"could not start the command: {exc}") from None

    def text(self, result: CommandResult, note: str = "") -> str:
        """The result for the model (raised as the failure when the timeout ended it)."""
        text = "\n".join(filter(None, [format_command_result(result, self.ctx.max_output_chars), note,
                                        offline_hint(self.ctx, result), self._read_only_hint(result)]))
        if result.timed_out:
            raise ToolError(text + f"\n(raise timeout_s above {self.timeout:g} if it needs longer)")
        return text


    def _read_only_hint(self, result: CommandResult) -> str:
        """For a command the sandbox kept from writing what it tried to: what it may write, and
        how to let it write more."""
        sandbox = self.ctx.sandbox
        if self.writable is None or sandbox is None or not sandbox.confines or not _READ_ONLY.search(
                result.stdout + result.stderr):
            return ""
        return (f"note: the sandbox let this command write {self.may_write}; if it must write "
                "more (a build folder, a cache), run it again declaring those paths in `writes`")


_READ_ONLY = re.compile(r"read-only file system|EROFS", re.IGNORECASE)


def _may_write(writes: list[str] | None, reading: bool, background: bool) -> str:
    """What a command the sandbox confines to a declaration may write, in words (a command with
    none, ``writes`` None and not in the background, may write the whole workspace)."""
    if reading:
        return "nothing (it was judged read-only)"
    if writes:
        return "only " + ", ".join(writes) + " (its `writes`)"
    if background and writes is None:
        return "nothing (a background command writes only what its `writes` declares)"
    return "nothing (its `writes` is empty)"


def offline_hint(ctx: ToolContext, result: CommandResult) -> str:
    """For a command that failed as commands without network fail, in a sandbox that kept it off
    the network: a one-line note saying so and how the user can allow it; "" otherwise."""
    if ctx.sandbox is None or result.exit_code == 0:
        return ""
    return ctx.sandbox.offline_note(result.stdout + result.stderr, network=ctx.network,
                                    approvable=ctx.approval_offers_network())


def _timeout(ctx: ToolContext, timeout_s: float | None, background: bool) -> float:
    if timeout_s is None:
        return math.inf if background else ctx.shell_timeout_s
    return positive_seconds(timeout_s, ctx.shell_timeout_s)


def _writable(ctx: ToolContext, writes: list[str] | None, made: list[tuple[Path, int]]) -> list[Path] | None:
    """The declared paths, resolved, for the OS sandbox (a glob stands for its folder); refuses a
    declaration that reaches outside the workspace.

    The sandbox can only open a path that exists, and opening the nearest existing folder instead
    could open the whole workspace: so a declared folder the command will create is made first,
    and a declared file too (empty, with its folders). Each file and folder made is noted in
    ``made`` (path, modification time), in the order made, for ``_tidy`` to take away again if the
    command leaves it untouched."""
    if writes is None:
        return None
    paths = [ctx.resolve(glob_base(pattern)) for pattern in writes]
    if ctx.sandbox is not None and ctx.sandbox.confines:
        for pattern, path in zip(writes, paths):
            if path.exists() or path.is_symlink():
                continue
            folder = path if pattern.endswith("/") or glob_base(pattern) != pattern else path.parent
            _make_folders(folder, made)
            if folder != path:
                path.touch()
                made.append((path, path.stat().st_mtime_ns))
    return paths


def _make_folders(folder: Path, made: list[tuple[Path, int]]) -> None:
    """``mkdir -p folder``, noting in ``made`` each folder this made (outermost first; a folder's
    time is not kept: making the declared file in it changes it)."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()][::-1]
    folder.mkdir(parents=True, exist_ok=True)
    made.extend((p, 0) for p in missing)


def _tidy(made: list[tuple[Path, int]]) -> None:
    """Take away what ``_writable`` made for the sandbox that the command left untouched: declared
    files still empty with their time unchanged, then the folders it made that are empty now
    (innermost first). What the command wrote, and folders that existed before, stay."""
    for path, stamp in reversed(made):
        try:
            info = path.lstat()
            if stat.S_ISDIR(info.st_mode):
                path.rmdir()  # refuses a folder that is not empty
            elif info.st_size == 0 and info.st_mtime_ns == stamp:
                path.unlink()
        except OSError:
            pass
