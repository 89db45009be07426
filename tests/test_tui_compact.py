"""/compact in the TUI, as a user types it: the model's summary streams into the transcript, a line
says what was compacted, the app is ready for the next prompt, and the session goes on from the
summary."""

from __future__ import annotations

from pathlib import Path

from asyncfc_cli.summary import is_summary_message
from test_tui_slash import SIZE, controlled_app, ready, transcript_text
from tui_helpers import run, wait_for


def test_compact_with_a_focus_shows_the_summary_and_the_session_goes_on_from_it(tmp_path: Path) -> None:
    async def main() -> None:
        app, session = controlled_app(tmp_path)
        events = []
        session.bus.subscribe(events.append)
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot, app)
            await pilot.press(*"say hello", "enter")
            await wait_for(pilot, lambda: app.state.outcome is not None and not app.state.busy)
            await pilot.press(*"/compact the greeting", "enter")
            await wait_for(pilot, lambda: "compacted by the model's summary" in transcript_text(app))
            text = transcript_text(app)
            assert "Scenario 'answer' (scripted model)" in text  # the summary, streamed
            assert "as you asked" in text and "3 -> 3 messages" in text
            await wait_for(pilot, lambda: not app.state.busy)
            compacted = [e for e in events if e.type == "conversation_compacted"]
            assert [(e.by, e.focus) for e in compacted] == [("model", "the greeting")]
            assert is_summary_message(session.history[1])
            await pilot.press(*"and now?", "enter")
            await wait_for(pilot, lambda: len(session.history) == 5 and not app.state.busy)
            assert is_summary_message(session.history[1]) and session.history[3].text == "and now?"
    run(main)
