"""What happens to a line the user submits: a ``/command``, a ``!command`` or a task with
``@path`` mentions.

Session commands (/model, /mode, /approval, /clear, /compact) go to the engine through the app's
command interface and report back as events; the rest only read (the workspace, git, the sessions
folder, the state the views already hold) or, for /undo and ``!command``, do what the user asked
at once, in a worker thread so the screen never waits; ``@path`` files are read in one too. A
worker hands its result back to the UI thread (``call_from_thread``), which alone touches the
screen and the notes and tasks waiting to be sent.
"""

from __future__ import annotations

import functools
import subprocess
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text

from ..events import printable
from ..memory import memory_line
from .formatting import preview_text
from .project_commands import ProjectCommands
from .prompt_input import PromptInput
from .slash import COMMANDS, Completion, completions, parse_command

if TYPE_CHECKING:
    from ..mentions import Attached, UserCommand
    from .app import AsyncfcApp

__all__ = ["PromptActions"]

SESSION_COMMANDS = frozenset({"model", "mode", "approval", "clear", "compact", "status", "mcp", "allow", "disallow"})
"""Carried out by the session itself (``controls.SessionControls``), between tasks only."""
ENDS_RECORDED_WAIT_S = 30.0
"""How long /undo waits for the end of the last task to be recorded before it gives up."""
PATHS_FRESH_S = 5.0
"""How long the list of workspace paths offered after ``@`` is reused before it is read again."""

KEYS = (
    ("Enter", "send the prompt (Ctrl-J: new line; ↑/↓: history)"),
    ("Tab", "accept a completion (/ commands, @ files)"),
    ("Shift-Tab", "the next approval policy: ask, auto, read-only (between tasks)"),
    ("Esc", "close the completions, or cancel the running turn"),
    ("Ctrl-C", "cancel the turn; twice: quit"),
    ("Ctrl-Q", "quit at once"),
    ("Ctrl-B", "the background processes still running (choose one to stop it)"),
    ("Ctrl-T / Ctrl-F", "focus the timeline / the futures table"),
    ("Ctrl-P", "command palette (screenshot, theme, keys)"),
)


class PromptActions:
    """Carries out submitted lines for ``app``; also the completer the prompt box asks."""

    def __init__(self, app: AsyncfcApp) -> None:
        self.app = app
        self._paths: tuple[float, list[str]] = (-1e9, [])
        self.pending_notes: list[str] = []
        """Output of ``!commands`` not yet sent: it goes ahead of the next task submitted."""
        self._outbox: deque[tuple[str, list[str]]] = deque()
        """Tasks whose mentioned files are being read, in the order they were submitted, each with
        the notes that were pending when it was submitted (a ``!command`` run after it goes with
        the next one)."""
        self._reader: object | None = None
        """The token of the one worker reading the outbox, None while none is (set and cleared on
        the UI thread only). A worker clears it only while it is still its own: a worker that has
        found the outbox empty may end after the next task started another, and clearing that
        one's token would let a third start beside it (both sending the same task)."""
        self._history_loaded = False
        """The earlier sessions' prompts were asked for (once, when the session starts); prompts
        are kept only from then on (and never in a replay)."""
        self.project = ProjectCommands(self)
        """/init, /review, /memory, ``# note`` and /exit."""

    @property
    def root(self) -> Path | None:
        root = self.app.state.session.root
        return Path(root) if root else None

    # -- completion --------------------------------------------------------------------------------

    def complete(self, text: str, cursor: int) -> list[Completion]:
        return completions(text, cursor, self._workspace_paths, self.project.slash_commands)

    def _workspace_paths(self) -> list[str]:
        read_at, paths = self._paths
        if time.monotonic() - read_at > PATHS_FRESH_S and self.root is not None:
            from asyncfc_tools._listing import workspace_files

            root = self.root
            paths = sorted(p.relative_to(root).as_posix() for p in workspace_files(root))
            self._paths = (time.monotonic(), paths)
        return paths

    # -- prompt history ----------------------------------------------------------------------------

    def session_started(self) -> None:
        """The session said where it works: give ↑ the prompts typed there in earlier sessions
        (read in a worker thread). A replay keeps no history."""
        root, app = self.root, self.app
        if root is None or self._history_loaded or app.engine is None or not app.engine.interactive:
            return
        self._history_loaded = True
        from ..prompt_history import history_path, load_history

        def load() -> None:
            app.call_from_thread(app.query_one(PromptInput).add_earlier, load_history(history_path(root)))

        app.run_worker(load, thread=True, group="history")

    def _keep(self, text: str) -> None:
        """Keep a submitted prompt for later sessions' ↑ (a line appended to a file of the user's,
        here so that prompts are kept in the order they were typed)."""
        if self.root is not None and self._history_loaded:
            from ..prompt_history import append_history, history_path

            append_history(history_path(self.root), text)

    # -- submitting --------------------------------------------------------------------------------

    def submit(self, text: str) -> None:
        self._keep(text)
        command = parse_command(text, self.project.slash_commands() if text.startswith("/") else ())
        if command is not None:
            if not self.project.run(*command):
                getattr(self, f"_{command[0]}", self._session_command)(*command)
        elif (note := memory_line(text)) is not None:
            self.project.remember(note)
        elif text.startswith("!") and text[1:].strip():
            self._shell(text[1:].strip())
        else:
            self._task(text)

    def send_task(self, text: str) -> None:
        """Send ``text`` as a task, as if it had been typed (what /init and /review send)."""
        self._task(text)

    def _task(self, text: str) -> None:
        """Send a task. Its ``@path`` files are read in a worker thread (a big file or a slow disk
        must not freeze the screen); tasks go out in the order they were submitted, so one
        without mentions waits for those ahead of it."""
        if not self.app.can_command("prompts are not sent"):
            return
        from ..mentions import mentioned_paths

        root = self.root
        notes, self.pending_notes = self.pending_notes, []
        if root is None or not (self._outbox or mentioned_paths(text)):
            self._send(text, notes)
            return
        self._outbox.append((text, notes))
        if self._reader is None:
            reader = self._reader = object()
            self.app.run_worker(functools.partial(self._read_mentions, root, reader), thread=True, group="prompt")

    def _read_mentions(self, root: Path, reader: object) -> None:
        """Worker thread: attach the mentioned files of each waiting task, oldest first, and hand
        each to the UI thread to send. The outbox is only touched on the UI thread; however the
        worker ends, the next task submitted starts another (its ``reader`` token is cleared)."""
        call = self.app.call_from_thread
        try:
            while (text := call(self._next_to_read, reader)) is not None:
                call(self._send_attached, _attach(text, root))
        finally:
            try:
                call(self._stopped_reading, reader)
            except RuntimeError:
                pass  # the app has closed: nothing waits any more

    def _next_to_read(self, reader: object) -> str | None:
        """On the UI thread: the task ``reader`` attaches next, or None (and it stops) when none waits."""
        if not self._outbox:
            self._stopped_reading(reader)
            return None
        return self._outbox[0][0]

    def _stopped_reading(self, reader: object) -> None:
        """On the UI thread: ``reader`` has stopped; the next task submitted starts a worker unless
        another already reads the outbox."""
        if self._reader is reader:
            self._reader = None

    def _send_attached(self, attached: Attached) -> None:
        _, notes = self._outbox.popleft()
        for note in attached.notes:
            self.app.notify(printable(note.text), severity="warning" if note.warning else "information", markup=False)
        self._send(attached.text, notes)

    def _send(self, text: str, notes: list[str]) -> None:
        """Send a task, after the ``!command`` notes that were pending when it was submitted."""
        app = self.app
        if notes:
            text = "\n\n".join([*notes, text])
        if app.state.busy:
            app.notify("Queued: it runs when the current task ends.")
        app.submit_task(text)

    def _task_ahead(self, name: str) -> bool:
        """Whether a task is running or about to (its ``@`` files are being read), so that ``/name``
        must wait for it: it would otherwise change the session under a task typed before it.
        Says so when it is."""
        if self._outbox:
            why = "the task being sent (its @ files are still being read)"
        elif self.app.state.busy:
            why = "no task: finish or cancel (Esc) the running one first"
        else:
            return False
        self.app.notify(f"/{name} waits for {why}", severity="warning")
        return True

    def _session_command(self, name: str, argument: str) -> None:
        app = self.app
        if not app.can_command(f"/{name} changes nothing"):
            return
        if (argument or name in ("clear", "compact")) and self._task_ahead(name):
            return
        if name == "clear":
            app.transcript.clear_entries()
        app.engine_command("command", name, argument)

    def _help(self, _: str, __: str) -> None:
        table = Table.grid(padding=(0, 2))
        for command in (*COMMANDS, *self.project.slash_commands()):
            table.add_row(Text(f"/{command.name} {command.args}".rstrip(), style="bold"), command.help)
        table.add_row(Text("@path", style="bold"), "attach a workspace file to the prompt (Tab completes)")
        table.add_row(Text("!command", style="bold"), "run a shell command yourself; its output goes to the model with your next prompt")
        table.add_row(Text("# note", style="bold"), "add a line to the project instructions (AGENTS.md): every later session reads it")
        keys = Table.grid(padding=(0, 2))
        for key, what in KEYS:
            keys.add_row(Text(key, style="bold"), what)
        self.app.transcript.note(Group(Text("Commands", style="underline"), table,
                                       Text("Keys", style="underline"), keys))

    def _cost(self, _: str, __: str) -> None:
        state = self.app.state
        cost = f"${state.cost:.4f}" if state.cost is not None else "unknown (the model's price is not known)"
        self.app.transcript.note(
            f"{state.turns} requests · {state.prompt_tokens:,} prompt + {state.completion_tokens:,} "
            f"completion tokens · cost {cost}")

    def _sessions(self, _: str, __: str) -> None:
        if self.root is None:
            return
        from ..saved_sessions import format_sessions, list_sessions

        sessions = list_sessions(self.root, limit=10)
        hint = "\nContinue one with `asyncfc --resume ID` (`asyncfc -c`: the latest)." if sessions else ""
        self.app.transcript.note(Text(printable(format_sessions(sessions)) + hint))

    def _diff(self, _: str, __: str) -> None:
        root = self.root
        if root is None:
            return

        def show() -> None:
            text = printable(_git_diff(root))  # the repository's files: any bytes
            self.app.call_from_thread(self.app.transcript.note,
                                      preview_text(text) if text else "No changes in the working tree.")

        self.app.run_worker(show, thread=True, group="prompt")

    def _undo(self, _: str, __: str) -> None:
        root, app = self.root, self.app
        if root is None or not app.can_command("nothing is undone") or self._task_ahead("undo"):
            return
        from ..tool_commands import undo_command

        engine = app.engine
        assert engine is not None  # can_command: a live session

        def undo() -> None:
            # Undo goes back to where the last task left the tree: before that end is recorded it
            # would take back the user's own edits made since the task began.
            if not engine.wait_ends_recorded(ENDS_RECORDED_WAIT_S):
                text, code = ("Nothing undone: the last task's end is still being recorded. "
                              "Try /undo again in a moment."), 1
            else:
                text, code = undo_command(root)
            app.call_from_thread(app.transcript.note, Text(printable(text), style="" if code == 0 else "yellow"))

        app.run_worker(undo, thread=True, group="prompt")

    def _shell(self, command: str) -> None:
        root, app = self.root, self.app
        if root is None or not app.can_command("commands are not run"):
            return
        from ..mentions import run_user_command

        def run() -> None:
            app.call_from_thread(self._command_finished, run_user_command(command, root))

        app.run_worker(run, thread=True, group="prompt")

    def _command_finished(self, result: UserCommand) -> None:
        """On the UI thread: keep the command's output for the next task, and show it."""
        from ..mentions import command_note

        self.pending_notes.append(command_note(result))
        status = "stopped (too slow)" if result.exit_code is None else f"exit {result.exit_code}"
        self.app.transcript.note(Group(
            Text(f"$ {printable(result.command)}   ({status}; goes to the model with your next prompt)", style="bold"),
            Text(printable(result.output.rstrip()))))


def _attach(text: str, root: Path) -> Attached:
    """Worker thread: ``text`` with its mentioned files attached. A failure reading them that
    ``attach_mentions`` does not turn into a note itself becomes one, and the task goes as typed:
    a file asyncfc could not read must not stop every later prompt."""
    from ..mentions import Attached, MentionNote, attach_mentions

    try:
        return attach_mentions(text, root)
    except Exception as exc:  # noqa: BLE001 - any failure: the prompt goes on, the person is told
        why = str(exc) or type(exc).__name__
        return Attached(text, (MentionNote(f"the files you mentioned were not attached: {why}", warning=True),))


def _git_diff(root: Path) -> str:
    """``git diff`` of the working tree against HEAD, plus untracked files by name. Through the
    one safe git runner: a repository's config must not run its programs (fsmonitor, external
    diff, textconv) with the user's environment when the user types /diff."""
    from asyncfc_tools._git import run_git

    def git(*args: str) -> str:
        try:
            done = run_git(root, args)
        except (OSError, subprocess.TimeoutExpired):  # GitMissing is an OSError
            return ""
        return done.stdout.decode("utf-8", errors="replace") if done.returncode == 0 else ""

    diff = git("--no-pager", "diff", "HEAD", "--no-color", "--no-ext-diff", "--no-textconv")
    untracked = [p for p in git("ls-files", "--others", "--exclude-standard", "-z").split("\0") if p]
    if untracked:
        diff += "\n" + "\n".join(f"+++ new file (untracked): {path}" for path in untracked)
    return diff.strip()
