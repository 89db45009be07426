"""The TUI driven like a user would: a real Session playing a scripted model, hosted in trio guest mode.

Sync tests around ``asyncio.run`` (trio_mode is off and there is no pytest-asyncio).
"""

from __future__ import annotations

from pathlib import Path

from asyncfc_cli.tui.approval_dialog import ApprovalDialog
from asyncfc_cli.tui.futures_table import FuturesTable
from asyncfc_cli.tui.output_screen import OutputScreen
from asyncfc_cli.tui.timeline import Timeline
from asyncfc_cli.tui.transcript_view import TranscriptView
from tui_helpers import run, scripted_app, wait_for

SIZE = (160, 44)


def lane(app, future_id):
    return app.state.futures.get(future_id)


def finished(app, future_id) -> bool:
    return lane(app, future_id) is not None and lane(app, future_id).final


def timeline_text(app) -> str:
    return "\n".join("".join(s.text for s in row) for row in app.query_one(Timeline).frame())


async def submit(pilot, text: str) -> None:
    await pilot.click("#prompt")
    await pilot.press(*text, "enter")


async def approval_asked(pilot, app) -> str:
    """Wait for the approval dialog; the id of the future it asks about."""
    await wait_for(pilot, lambda: isinstance(app.screen, ApprovalDialog))
    return app.screen.future_id


def test_futures_appear_in_table_and_timeline_then_approve_and_cancel_one(tmp_path: Path) -> None:
    async def main() -> None:
        app = scripted_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await submit(pilot, "fix add")
            await wait_for(pilot, lambda: finished(app, "f1") and finished(app, "f2"))
            app.refresh_views()
            table = app.query_one(FuturesTable)
            assert [str(k.value) for k in table.rows][:3] == ["f1", "f2", "f3"]
            assert "done" in str(table.get_cell("f1", "state"))
            text = timeline_text(app)
            assert "f1 read_file" in text and "f3 outline" in text and "model" in text

            edit = await approval_asked(pilot, app)
            assert lane(app, edit).tool == "edit_file" and lane(app, edit).approval == "asked"
            await pilot.press("y")  # allow once
            await wait_for(pilot, lambda: finished(app, edit))
            assert lane(app, edit).state == "done" and lane(app, edit).approval == "once"
            assert "-def add(a, b): return a - b" in lane(app, edit).approval_preview  # the real diff

            assert lane(app, "f3").state == "running"  # the slow call: cancel it from the table
            await pilot.press("ctrl+f")
            table.move_cursor(row=table.get_row_index("f3"))
            await pilot.press("c")
            await wait_for(pilot, lambda: finished(app, "f3"))
            assert lane(app, "f3").state == "cancelled"
            await wait_for(pilot, lambda: app.state.outcome is not None)
            assert app.state.outcome.outcome == "finished" and app.state.outcome.exit_code == 0
            app.refresh_views()
            assert "cancelled" in str(table.get_cell("f3", "state"))

            await pilot.press("o")  # the full output of the selected future
            assert isinstance(app.screen, OutputScreen) and app.screen.lane.id == "f3"
            await pilot.press("escape")
            assert not isinstance(app.screen, OutputScreen)
        assert not app.host.running and app.host.error is None

    run(main)


def test_denied_edit_fails_its_future_and_the_session_goes_on(tmp_path: Path) -> None:
    async def main() -> None:
        app = scripted_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await submit(pilot, "fix add")
            edit = await approval_asked(pilot, app)
            await pilot.click("#deny")
            await wait_for(pilot, lambda: finished(app, edit))
            assert lane(app, edit).state == "failed" and "denied" in lane(app, edit).summary
            assert lane(app, edit).approval == "deny"
            await wait_for(pilot, lambda: app.state.requests[-1].end is not None and len(app.state.requests) >= 3)
            assert app.state.busy  # the model carries on (the slow call still runs)
        assert not app.host.running

    run(main)


def test_ctrl_c_cancels_the_turn_and_a_second_one_quits(tmp_path: Path) -> None:
    async def main() -> None:
        app = scripted_app(tmp_path)
        app.quit_window_s = 60.0  # a loaded machine must not make the second press a first one
        async with app.run_test(size=SIZE) as pilot:
            await submit(pilot, "fix add")
            await wait_for(pilot, lambda: lane(app, "f3") is not None and lane(app, "f3").state == "running")
            await pilot.press("ctrl+c")
            await wait_for(pilot, lambda: not app.state.busy)
            assert app.state.outcome.outcome == "interrupted" and app.state.outcome.exit_code == 130
            assert all(l.final for l in app.state.futures.values())
            assert lane(app, "f3").state == "cancelled"
            transcript = app.query_one(TranscriptView)
            assert any("fix add" in str(w.render()) for w in transcript.query(".user"))  # kept
            await pilot.press("ctrl+c")
            await wait_for(pilot, lambda: app.return_value is not None)
        assert app.return_value == 0 and not app.host.running

    run(main)


def test_escape_cancels_the_turn_and_the_session_takes_the_next_prompt(tmp_path: Path) -> None:
    async def main() -> None:
        app = scripted_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await submit(pilot, "fix add")
            edit = await approval_asked(pilot, app)
            await pilot.press("escape")  # in the dialog, Esc denies ...
            await wait_for(pilot, lambda: finished(app, edit))
            assert lane(app, edit).approval == "deny" and app.state.busy
            await pilot.press("escape")  # ... then, in the app, it cancels the turn
            await wait_for(pilot, lambda: not app.state.busy)
            assert app.state.outcome.outcome == "interrupted"
            await submit(pilot, "again")
            await wait_for(pilot, lambda: app.state.busy or app.state.outcome.outcome != "interrupted")
            assert app.query_one("#prompt").prompts == ["fix add", "again"]

    run(main)


TWO_EDITS = {
    "name": "two_edits",
    "profile": {"ttft_s": 0.02, "tokens_per_s": 4000},
    "steps": [
        {"call": "edit_file", "as": "one", "args": {"path": "calc.py", "old": "a - b", "new": "a + b"}, "duration": 0.02},
        {"need": ["one"]},
        {"call": "edit_file", "as": "two", "args": {"path": "calc.py", "old": "a + b", "new": "b + a"}, "duration": 0.02},
        {"need": ["two"]},
        {"answer": "Both edits made."},
    ],
}


def test_allow_for_the_session_stops_asking_about_that_tool(tmp_path: Path) -> None:
    async def main() -> None:
        app = scripted_app(tmp_path, TWO_EDITS)
        async with app.run_test(size=SIZE) as pilot:
            await submit(pilot, "edit twice")
            await approval_asked(pilot, app)
            await pilot.press("s")
            await wait_for(pilot, lambda: app.state.outcome is not None)
            edits = [l for l in app.state.futures.values() if l.tool == "edit_file"]
            assert [(l.state, l.approval) for l in edits] == [("done", "session"), ("done", "")]
            assert app.state.outcome.exit_code == 0

    run(main)
