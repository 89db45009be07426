"""The approval dialog offers the call's allow rule: "s" on `npm test -- -u` allows `npm test*` for
the session, so the next `npm test` runs without asking while `rm -rf build` is still asked about."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Button, Static

from asyncfc_cli.approval import ApprovalGate
from asyncfc_cli.config import Settings
from asyncfc_cli.events import ApprovalResolved, EventBus
from asyncfc_cli.model.scripted import ScriptedClient, parse_scenario
from asyncfc_cli.session import Session
from asyncfc_cli.simtools import simulated_tools
from asyncfc_cli.tui.app import AsyncfcApp
from asyncfc_cli.tui.approval_dialog import ApprovalDialog
from asyncfc_cli.tui.engines import SessionEngine
from asyncfc_cli.workspace import Workspace
from asyncfc_tools import builtin_tools
from asyncfc_tools._sandbox import Sandbox
from test_tui_pilot import approval_asked, submit
from tui_helpers import FAST, no_checkpoint, run, scripted_app, wait_for

SCENARIO = {"name": "allow", "profile": FAST, "steps": [
    {"call": "shell", "as": "a", "args": {"command": "npm test -- -u"}, "duration": 0.05, "result": "ok"},
    {"need": ["a"]},
    {"call": "shell", "as": "b", "args": {"command": "npm test"}, "duration": 0.05, "result": "ok"},
    {"need": ["b"]},
    {"call": "shell", "as": "c", "args": {"command": "rm -rf build"}, "duration": 0.05, "result": "ok"},
    {"need": ["c"]},
    {"answer": "Done."},
]}


def test_allow_for_session_allows_the_commands_prefix_only(tmp_path: Path) -> None:
    async def main() -> None:
        app = scripted_app(tmp_path, SCENARIO)
        async with app.run_test(size=(120, 36)) as pilot:
            await submit(pilot, "run the tests")
            first = await approval_asked(pilot, app)
            dialog = app.screen
            assert isinstance(dialog, ApprovalDialog) and str(dialog.rule) == "shell(npm test*)"
            shown = " ".join(str(w.content) for w in dialog.query(Static))
            assert "shell(npm test*)" in shown
            await pilot.press("s")
            await wait_for(pilot, lambda: app.state.futures.get("f3") is not None)
            second = await approval_asked(pilot, app)
            assert app.state.futures[second].args == {"command": "rm -rf build"}
            assert app.state.futures["f2"].approval == "" and app.state.futures["f2"].state == "done"
            assert app.state.futures[first].approval == "session"
            await pilot.press("y")
            await wait_for(pilot, lambda: app.state.outcome is not None)
    run(main)


def _two_commands(first: str, second: str) -> dict:
    """A scenario that runs ``first``, then ``second``, each once the one before has finished."""
    return {"name": "net", "profile": FAST, "steps": [
        {"call": "shell", "as": "a", "args": {"command": first}, "duration": 0.05, "result": "ok"},
        {"need": ["a"]},
        {"call": "shell", "as": "b", "args": {"command": second}, "duration": 0.05, "result": "ok"},
        {"need": ["b"]},
        {"answer": "Done."},
    ]}


NET_SCENARIO = _two_commands("pip download six", "curl https://example.org")
RULE_NET_SCENARIO = _two_commands("pip download six", "pip download requests")


def _confined_app(tmp_path: Path, scenario: dict) -> AsyncfcApp:
    """The scripted app whose commands a sandbox keeps off the network (never launched: the tools
    are simulated; the gate reads what the session's sandbox allows)."""
    bus = EventBus()
    scen = parse_scenario(scenario)
    gate = ApprovalGate("ask", bus, tmp_path, interactive=True, checkpoint=no_checkpoint)
    workspace = Workspace(tmp_path)
    ctx = workspace.tool_context(Settings(approval="ask"), Sandbox("on", tmp_path))
    session = Session(model=ScriptedClient(scen), tools=simulated_tools(scen, builtin_tools()), bus=bus,
                      settings=Settings(approval="ask"), workspace=workspace, gate=gate, ctx=ctx)
    return AsyncfcApp(SessionEngine(session, gate), bus=bus)


@pytest.mark.parametrize("scenario, keys, decisions", [
    # w: this one command; the next is asked again
    (NET_SCENARIO, ["w", "y"], ["network", "once"]),
    # W: the rule (pip download*) for the session; the second download is not asked about
    (RULE_NET_SCENARIO, ["W"], ["network_session"]),
], ids=["once", "rule-for-session"])
def test_the_dialog_offers_the_network_where_the_sandbox_keeps_it_off(tmp_path: Path, scenario, keys,
                                                                      decisions) -> None:
    resolved = []

    async def main() -> None:
        app = _confined_app(tmp_path, scenario)
        app.bus.subscribe(lambda e: resolved.append(e.decision) if isinstance(e, ApprovalResolved) else None)
        async with app.run_test(size=(80, 24)) as pilot:
            await submit(pilot, "fetch it")
            await approval_asked(pilot, app)
            dialog = app.screen
            assert isinstance(dialog, ApprovalDialog) and dialog.network
            shown = " ".join(str(w.content) for w in dialog.query(Static))
            assert "with network access" in shown
            assert all(dialog.query_one(f"#{button}", Button).region.right <= 80  # all buttons fit at 80x24
                       for button in ("deny", "network", "network_session", "network_always"))
            for index, key in enumerate(keys):
                await pilot.press(key)
                if index + 1 < len(keys):
                    await wait_for(pilot, lambda: app.state.futures.get(f"f{index + 2}") is not None)
                    await approval_asked(pilot, app)
            await wait_for(pilot, lambda: app.state.outcome is not None)
            assert all(lane.state == "done" for lane in app.state.futures.values())
    run(main)
    assert resolved == decisions


def test_w_does_nothing_where_the_network_is_not_offered(tmp_path: Path) -> None:
    decisions = []

    async def main() -> None:
        app = scripted_app(tmp_path, NET_SCENARIO)  # no sandbox: commands have the network anyway
        app.bus.subscribe(lambda e: decisions.append(e.decision) if isinstance(e, ApprovalResolved) else None)
        async with app.run_test(size=(120, 36)) as pilot:
            await submit(pilot, "fetch it")
            first = await approval_asked(pilot, app)
            assert not app.screen.network and not app.screen.query("#network")
            await pilot.press("w", "W", "ctrl+w")
            assert isinstance(app.screen, ApprovalDialog) and app.screen.future_id == first
            await pilot.press("y")
            await wait_for(pilot, lambda: app.state.futures.get("f2") is not None)
            await approval_asked(pilot, app)
            await pilot.press("n")
            await wait_for(pilot, lambda: app.state.outcome is not None)
    run(main)
    assert decisions == ["once", "deny"]  # "w" answered nothing: the first call was allowed once, by "y"


def test_the_dialog_allows_only_the_rule_the_gate_gave_it() -> None:
    """No fallback to the tool: for a command, "allow shell" would allow every command."""
    with pytest.raises(TypeError):
        ApprovalDialog("f1", "shell", "$ rm -rf build")  # type: ignore[call-arg]
    assert ApprovalDialog("f1", "shell", "$ npm test", rule="shell(npm test*)").rule == "shell(npm test*)"
