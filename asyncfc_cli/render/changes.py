"""What a run changed, read from its events alone: each edit's diff and the end-of-run summary.

The file tools already put their unified diff in the result the model sees (``edit_file``: ``edited
PATH: N replacements`` then the diff; ``write_file``: ``overwrote PATH`` then the diff, or
``created PATH (N lines, ...)``), commands report the files they changed (``files_changed``, from
the change watch: no line counts), and test runs are the futures whose effect is ``runs``. So a
headless view can show a reviewable run without reaching back into the session: ``ChangeTally``
folds those events into per-file line counts, the commands that changed each file, and the last
test run. Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..events import Display, Event, FilesChanged, FutureCreated, FutureFinished
from ..futures import State

__all__ = ["ChangeTally", "FileChange", "TestRun", "diff_of", "summary_lines", "runner_counts"]

_RUNNER_COUNT = re.compile(r"\b(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)\b")
_UNITTEST_RAN = re.compile(r"^Ran (\d+) tests? in ", re.MULTILINE)
_UNITTEST_VERDICT = re.compile(r"^(OK|FAILED)\b(?: \((.*)\))?", re.MULTILINE)
_CREATED = re.compile(r"^created (?P<path>.+) \((?P<lines>[\d,]+) lines?\b")


@dataclass(slots=True)
class FileChange:
    """Lines added and removed in one file over the run (counted from the diffs of its edits)."""

    path: str
    added: int = 0
    removed: int = 0
    created: bool = False
    """The run created the file (``write_file`` on a path that did not exist)."""
    commands: list[str] = field(default_factory=list)
    """The futures of the commands (shell, run_tests) that changed it, in order: their lines are
    not counted (the change watch sees that a file changed, not how)."""


@dataclass(frozen=True, slots=True)
class TestRun:
    """The last finished test run or check (a future whose effect is ``runs``)."""

    __test__ = False  # not a pytest test class, despite the name

    future_id: str
    command: str
    """What ran: the shell command, or ``run_tests`` with its paths."""
    status: State
    """done or failed (a failing suite is a done future whose summary counts failures)."""
    summary: str
    """The counts read from its output (``2 failed, 2 passed``), else the result's first line."""
    t: float


def diff_of(output: str) -> str:
    """The unified diff inside a file tool's result (everything from the ``--- a/`` line on), or
    '' when it has none (a created or unchanged file)."""
    start = output.find("\n--- a/")
    return output[start + 1:] if start >= 0 else ""


def runner_counts(output: str) -> str:
    """Test counts as a runner printed them, normalised: ``4 passed`` or ``2 failed, 2 passed``
    (pytest, jest and the like, the last summary line that has counts; or unittest's ``Ran N
    tests`` and verdict). '' when the output has none."""
    ran = _UNITTEST_RAN.search(output)
    if ran:
        verdict = _UNITTEST_VERDICT.search(output, ran.end())
        bad = dict(part.split("=", 1) for part in (verdict[2] or "").split(", ") if "=" in part) if verdict else {}
        failed = sum(int(bad.get(key, 0)) for key in ("failures", "errors"))
        passed = int(ran[1]) - failed - int(bad.get("skipped", 0))
        return ", ".join([f"{failed} failed"] * bool(failed) + [f"{passed} passed"])
    for line in reversed(output.splitlines()):
        found = _RUNNER_COUNT.findall(line)
        if found:
            return ", ".join(f"{n} {word}" for n, word in found)
    return ""


def _count(diff: str) -> tuple[int, int]:
    added = removed = 0
    for line in diff.splitlines():
        if line.startswith("+") and not line.startswith("+++ "):
            added += 1
        elif line.startswith("-") and not line.startswith("--- "):
            removed += 1
    return added, removed


@dataclass(slots=True)
class ChangeTally:
    """Folds a run's events into the files it changed and the tests it ran last."""

    files: dict[str, FileChange] = field(default_factory=dict)
    last_test: TestRun | None = None
    _calls: dict[str, FutureCreated] = field(default_factory=dict)

    def apply(self, event: Event) -> None:
        if isinstance(event, FutureCreated):
            self._calls[event.id] = event
        elif isinstance(event, FilesChanged):
            for path in event.paths:
                commands = self.files.setdefault(path, FileChange(path)).commands
                if event.id not in commands:
                    commands.append(event.id)
        elif isinstance(event, FutureFinished) and event.id in self._calls:
            call = self._calls[event.id]
            if call.effect == "runs" and event.status != State.CANCELLED:
                counts = runner_counts(event.output) or event.summary
                self.last_test = TestRun(event.id, _command_of(call), event.status, counts, event.t)
            elif Display.of(call.display).changes_file and event.status == State.DONE:
                self._count_edit(call, event.output)

    def tool_of(self, future_id: str) -> str:
        """The tool the future called ("" if its creation was not seen)."""
        call = self._calls.get(future_id)
        return call.tool if call is not None else ""

    def display_of(self, future_id: str) -> Display:
        """How views show the future's call, as its tool declared (CALL if its creation was not
        seen, or did not say)."""
        call = self._calls.get(future_id)
        return Display.of(call.display if call is not None else "")

    def _count_edit(self, call: FutureCreated, output: str) -> None:
        created = _CREATED.match(output)
        if created:
            change = self.files.setdefault(created["path"], FileChange(created["path"]))
            change.created = True
            change.added += int(created["lines"].replace(",", ""))
            return
        diff = diff_of(output)
        if not diff:
            return
        path = diff.split("\n", 1)[0].removeprefix("--- a/")
        change = self.files.setdefault(path, FileChange(path))
        added, removed = _count(diff)
        change.added += added
        change.removed += removed


def _command_of(call: FutureCreated) -> str:
    """What a test run ran: a command's command line, else its tool and its subject (the paths)."""
    args = call.args if isinstance(call.args, dict) else {}
    subject = args.get(call.subject) if call.subject else None
    if Display.of(call.display) is Display.COMMAND:
        return str(subject if subject is not None else call.tool)
    subject = subject or []
    return " ".join([call.tool, *map(str, subject if isinstance(subject, list) else [subject])])


def _counts(change: FileChange, tally: ChangeTally) -> str:
    """``+5 -2``, ``+2 (new)``, ``changed by f4 shell``, or an edit's counts and the commands."""
    edited = change.added or change.removed or change.created
    counts = f"+{change.added} (new)" if change.created else f"+{change.added} -{change.removed}"
    if not change.commands:
        return counts
    by = ", ".join(f"{fid} {tally.tool_of(fid)}".rstrip() for fid in change.commands)
    return f"{counts}, also changed by {by}" if edited else f"changed by {by}"


def summary_lines(tally: ChangeTally) -> list[str]:
    """The end-of-run summary, plain text, one entry per line (the renderer styles it)::

        3 files changed, +7 -2
          calc.py    +5 -2
          stats.py   +2 (new)
          poetry.lock  changed by f4 shell
        tests last run: f7 pytest -q: 4 passed in 0.12s

    Line counts are those of the file tools' edits; a file a command changed names the command.

    Empty when the run changed nothing and ran no tests.
    """
    lines: list[str] = []
    if tally.files:
        added = sum(c.added for c in tally.files.values())
        removed = sum(c.removed for c in tally.files.values())
        count = len(tally.files)
        edits = any(c.added or c.removed or c.created for c in tally.files.values())
        counted = f", +{added} -{removed}" if edits else ""  # commands' changes have no line counts
        lines.append(f"{count} file{'' if count == 1 else 's'} changed{counted}")
        width = max(len(path) for path in tally.files)
        for change in tally.files.values():
            lines.append(f"  {change.path.ljust(width)}  {_counts(change, tally)}")
    elif tally.last_test is not None:
        lines.append("no files changed")
    test = tally.last_test
    if test is not None:
        failed = "" if test.status == State.DONE else " (failed)"
        lines.append(f"tests last run: {test.future_id} {test.command}: {test.summary}{failed}")
    return lines
