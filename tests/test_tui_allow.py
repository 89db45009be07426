"""The approval dialog offers the call's allow rule: "s" on `npm test -- -u` allows `npm test*` for
the session, so the next `npm test` runs without asking while `rm -rf build` is still asked about."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static

from asyncfc_cli.tui.approval_dialog import ApprovalDialog
from test_tui_pilot import approval_asked, submit
from tui_helpers import FAST, run, scripted_app, wait_for

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
