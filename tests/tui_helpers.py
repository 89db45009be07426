"""Shared pieces of the TUI tests: a scripted session with simulated tools behind the real approval gate."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from asyncfc_tools import builtin_tools
from textual.widgets import TextArea

from asyncfc_cli.approval import ApprovalGate
from asyncfc_cli.config import Settings
from asyncfc_cli.errors import WorkspaceError
from asyncfc_cli.events import EventBus
from asyncfc_cli.model.scripted import ScriptedClient, parse_scenario
from asyncfc_cli.simtools import simulated_tools
from asyncfc_cli.session import Session
from asyncfc_cli.tui.app import AsyncfcApp
from asyncfc_cli.tui.engines import SessionEngine
from asyncfc_cli.workspace import Workspace

FAST = {"ttft_s": 0.02, "tokens_per_s": 4000}

SCENARIO = {
    "name": "tui",
    "profile": FAST,
    "steps": [
        {"say": "Reading the code while the slow outline runs."},
        {"call": "read_file", "as": "src", "args": {"path": "calc.py"}, "duration": 0.05, "result": "def add(a, b): return a - b"},
        {"call": "grep", "as": "hits", "args": {"pattern": "add"}, "duration": 0.1, "result": "calc.py:1"},
        {"call": "outline", "as": "slow", "args": {"path": "big.py"}, "duration": 600.0, "result": "class Big"},  # outlasts any test: cancelled or still running
        {"need": ["src", "hits"]},
        {"call": "edit_file", "as": "fix", "args": {"path": "calc.py", "old": "a - b", "new": "a + b"}, "duration": 0.05, "result": "1 edit"},
        {"need": ["fix"]},
        {"answer": "Fixed add()."},
    ],
}


def no_checkpoint(root: Path, session_id: str) -> Any:
    """The gate's checkpoint seam: these workspaces are not git repositories."""
    raise WorkspaceError("not a git repository (test workspace)")


def scripted_app(tmp_path: Path, scenario: dict[str, Any] = SCENARIO, task: str | None = None) -> AsyncfcApp:
    """The app on a real Session playing ``scenario`` with simulated tools, asking approval."""
    bus = EventBus()
    scen = parse_scenario(scenario)
    (tmp_path / "calc.py").write_text("def add(a, b): return a - b\n")  # for the gate's real diff
    gate = ApprovalGate("ask", bus, tmp_path, interactive=True, checkpoint=no_checkpoint)
    session = Session(model=ScriptedClient(scen), tools=simulated_tools(scen, builtin_tools()), bus=bus,
                      settings=Settings(approval="ask"), workspace=Workspace(tmp_path), gate=gate)
    return AsyncfcApp(SessionEngine(session, gate), bus=bus, task=task)


async def wait_for(pilot: Any, condition: Callable[[], bool], timeout: float = 60.0) -> None:
    """Let the app (and its trio guest) run until ``condition()`` holds. ``timeout`` only bounds a
    failure: a slow or loaded machine takes longer, never gets a different answer."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out waiting for the app")
        await pilot.pause(0.02)


async def settled(pilot: Any, title: str | None = None, timeout: float = 60.0) -> str:
    """The app's screenshot (SVG) once the screen has stopped changing: the same picture three
    times running, each after every queued message, animation and repaint was done. How long
    layout, scrolling and repaints take after the events were fed then does not matter. A text
    cursor is made to stay on (a blinking one never settles)."""
    app = pilot.app
    for area in app.query(TextArea):
        area.cursor_blink = False
    deadline = asyncio.get_running_loop().time() + timeout
    shots: list[str] = []
    while len(shots) < 3 or len(set(shots[-3:])) > 1:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the screen never settled")
        await pilot.wait_for_scheduled_animations()
        await pilot.pause(0.02)
        shots.append(app.export_screenshot(title=title))
    return shots[-1]


def run(main: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(main())
