"""``asyncfc demo``: a scripted coding session on a throwaway repository, through the real engine and
the real tools, shown live; then the same scenario in sync mode for comparison.

Nothing reaches a network and no model is called: the model is the scripted client, and the demo
says so at the top.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

import trio

from .config import Approval, Mode, Settings
from .events import Event, EventBus, FutureCreated, FutureFinished, RequestStarted, SessionFinished
from .outcomes import Outcome
from .render import TextRenderer
from .workspace import Workspace

__all__ = ["make_demo_repo", "run_demo"]

STATS = '''"""Small statistics helpers."""


def mean(values):
    """Arithmetic mean of a non-empty sequence."""
    return sum(values) / (len(values) - 1)


def median(values):
    """Middle value (mean of the two middle values for an even count)."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2
'''

TESTS = '''import time
import unittest

from stats import mean, median


class StatsTest(unittest.TestCase):
    def test_mean(self):
        self.assertEqual(mean([1, 2, 3, 4]), 2.5)

    def test_median_odd(self):
        self.assertEqual(median([3, 1, 2]), 2)

    def test_median_even(self):
        self.assertEqual(median([4, 1, 3, 2]), 2.5)

    def test_large_dataset(self):
        time.sleep(2.0)  # stands for a slow integration test
        self.assertEqual(mean(list(range(1, 10001))), 5000.5)


if __name__ == "__main__":
    unittest.main()
'''

TASK = "The tests fail: find the bug in stats.py and fix it."


def make_demo_repo(folder: Path) -> Path:
    """A small git repository with a bug in stats.mean and a slow test."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "stats.py").write_text(STATS)
    (folder / "test_stats.py").write_text(TESTS)
    (folder / "README.md").write_text("# stats\n\nSmall statistics helpers. Run `python3 -m unittest`.\n")
    git = ["git", "-c", "user.name=asyncfc demo", "-c", "user.email=demo@asyncfc.invalid"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "stats helpers"]):
        subprocess.run(git + args, cwd=folder, check=True, capture_output=True)
    return folder


def sync_progress(out: TextIO) -> Callable[[Event], None]:
    """A quiet view of the sync replay: one short line per model request and per finished tool,
    so its ~10 s are not silence (the full view was shown once, for the async run)."""

    tools: dict[str, str] = {}

    def show(event: Event) -> None:
        if isinstance(event, FutureCreated):
            tools[event.id] = event.tool
            return
        if isinstance(event, RequestStarted):
            after = " (its tools all finished first)" if event.turn > 1 else ""
            out.write(f"  sync {event.t:6.2f}s  model request {event.turn}{after}\n")
        elif isinstance(event, FutureFinished):
            out.write(f"  sync {event.t:6.2f}s    {event.status} {event.id} {tools.get(event.id, '')} "
                      f"{event.duration:.2f}s\n")
        else:
            return
        out.flush()

    return show


def _play(root: Path, mode: Mode, renderer: Callable[[Event], None] | None) -> tuple[int, float]:
    from .app import build_engine

    bus = EventBus()
    finished: list[SessionFinished] = []

    def collect(event: Event) -> None:
        if isinstance(event, SessionFinished):
            finished.append(event)

    if renderer is not None:
        bus.subscribe(renderer)
    bus.subscribe(collect)
    settings = Settings(model="scripted:demo", mode=mode, approval=Approval.AUTO,
                        transcript=root.parent / f"transcript-{mode}.jsonl", map_tokens=0)
    engine = build_engine(settings, Workspace(root), bus=bus)

    async def play() -> Outcome:
        async with engine.serving():
            return await engine.session.run(TASK)

    try:
        outcome = trio.run(play)
    finally:
        engine.close()
    return outcome.exit_code, finished[-1].t if finished else 0.0


def run_demo(*, compare: bool = True, keep: bool = False) -> int:
    """Play the demo; returns the async run's exit code."""
    out = sys.stdout
    base = Path(tempfile.mkdtemp(prefix="asyncfc-demo-"))
    try:
        repo = make_demo_repo(base / "async" / "stats")
        out.write(
            "asyncfc demo: a SCRIPTED model (no language model is called, no network) drives the real\n"
            f"engine and the real tools on a throwaway repository: {repo}\n\n"
        )
        exit_code, async_wall = _play(repo, Mode.ASYNC, TextRenderer(out))
        if compare:
            out.write("\nNow the same scenario in sync mode (every turn waits for its tools)...\n")
            out.flush()
            sync_repo = make_demo_repo(base / "sync" / "stats")
            _, sync_wall = _play(sync_repo, Mode.SYNC, sync_progress(out))
            speedup = sync_wall / async_wall if async_wall else float("nan")
            out.write(
                f"\n  sync  wall time {sync_wall:6.2f}s\n"
                f"  async wall time {async_wall:6.2f}s   speedup {speedup:.2f}x\n"
                "  (same scripted decisions, same real tools; only the execution mode differs)\n"
            )
        if keep:
            out.write(f"\nThe repositories and transcripts are kept in {base}\n")
        return exit_code
    finally:
        if not keep:
            shutil.rmtree(base, ignore_errors=True)
