"""View behaviour without a live engine: timeline navigation keys, prompt history, replay, status."""

from __future__ import annotations

import weakref

import pytest

from asyncfc_cli import events as ev
from asyncfc_cli.tui.app import AsyncfcApp
from asyncfc_cli.tui.engines import ReplayEngine
from asyncfc_cli.tui.futures_table import FuturesTable
from asyncfc_cli.tui.prompt_input import PromptInput
from asyncfc_cli.timeline_state import TimelineState
from asyncfc_cli.tui.status_bar import status_text
from asyncfc_cli.tui.synthetic import demo_events, many_futures
from asyncfc_cli.tui.timeline import Timeline
from asyncfc_cli.tui.transcript_view import TranscriptView
from tui_helpers import run, settled, wait_for


def fed_app(events, t: float) -> AsyncfcApp:
    """An app without engine that, once running, has been shown ``events`` up to ``t`` (clock
    frozen); ``shown`` waits for that."""
    app = AsyncfcApp(None, wall=lambda: 0.0)

    def feed() -> None:
        for event in events:
            if event.t <= t:
                app.feed(event)
        app.clock.freeze(t)
        FED.add(app)

    app.call_later(feed)
    return app


FED: weakref.WeakSet[AsyncfcApp] = weakref.WeakSet()
"""The apps ``fed_app`` has fed."""


async def shown(pilot) -> None:
    """Wait until ``fed_app``'s events were fed and the screen shows them, laid out."""
    await wait_for(pilot, lambda: pilot.app in FED)
    await settled(pilot)


def test_timeline_zooms_pans_fits_and_follows_with_keys() -> None:
    async def main() -> None:
        app = fed_app(demo_events(), 9.0)
        async with app.run_test(size=(160, 44)) as pilot:
            await shown(pilot)
            timeline = app.query_one(Timeline)
            await pilot.press("ctrl+t")
            assert timeline.has_focus
            fit = timeline.frame() and timeline._current()
            await pilot.press("plus")
            assert timeline.spc == pytest.approx(fit.spc / 2)
            zoomed = timeline._current()
            assert zoomed.end == pytest.approx(9.0 + 2 * zoomed.spc, abs=zoomed.spc)  # still follows now
            await pilot.press("left")
            assert timeline.start is not None and timeline.start < zoomed.start
            await pilot.press("f")
            assert timeline.start is None
            await pilot.press("minus", "minus", "0")
            assert timeline.spc is None and timeline.start is None

    run(main)


def test_timeline_lanes_scroll_and_follow_the_newest() -> None:
    async def main() -> None:
        app = fed_app(many_futures(60), 10.0)
        async with app.run_test(size=(120, 30)) as pilot:
            await shown(pilot)
            timeline = app.query_one(Timeline)
            timeline.frame()
            rows = timeline.lane_rows
            assert timeline.lane_offset == 60 - rows  # newest lanes in view
            await pilot.press("ctrl+t", "pageup")
            assert timeline.lane_offset == 60 - rows - 10 and not timeline.follow_lanes
            first_lane = "".join(s.text for s in timeline.frame()[2])
            assert f"f{60 - rows - 10 + 1} " in first_lane
            await pilot.press("end")
            timeline.frame()
            assert timeline.follow_lanes and timeline.lane_offset == 60 - rows

    run(main)


def test_clicking_a_lane_selects_its_future_in_the_table() -> None:
    async def main() -> None:
        app = fed_app(demo_events(), 9.0)
        async with app.run_test(size=(160, 44)) as pilot:
            await shown(pilot)
            app.refresh_views()
            await pilot.click(Timeline, offset=(5, 2 + 4))  # the fifth lane: f5
            await wait_for(pilot, lambda: app.query_one(FuturesTable).selected_id() == "f5")
            assert app.query_one(Timeline).highlight == "f5"

    run(main)


def test_transcript_keeps_the_latest_in_view_until_scrolled_up() -> None:
    async def main() -> None:
        app = fed_app(demo_events(), 9.0)
        async with app.run_test(size=(80, 24)) as pilot:
            transcript = app.query_one(TranscriptView)
            at_end = lambda: transcript.max_scroll_y > 0 and transcript.scroll_y == transcript.max_scroll_y  # noqa: E731
            await wait_for(pilot, at_end)
            transcript.scroll_home(animate=False)
            await wait_for(pilot, lambda: transcript.scroll_y == 0)
            grown = transcript.max_scroll_y
            app.feed(ev.Notice(t=9.1, level="warning", message="late"))
            await wait_for(pilot, lambda: transcript.max_scroll_y > grown)
            await pilot.pause()  # a yank would have been queued by the layout that measured the growth
            assert transcript.scroll_y == 0  # the user is reading: do not yank the view
            transcript.scroll_end(animate=False)  # back at the bottom: follow again
            await wait_for(pilot, at_end)
            grown = transcript.max_scroll_y
            app.feed(ev.Notice(t=9.2, level="warning", message="later"))
            await wait_for(pilot, lambda: transcript.max_scroll_y > grown and at_end())

    run(main)


def test_the_finished_line_does_not_repeat_the_answer_but_says_why_a_task_stopped() -> None:
    async def main() -> None:
        app = fed_app(demo_events(), 9.0)
        async with app.run_test(size=(120, 36)) as pilot:
            await shown(pilot)  # mounted and fed up to 9.0 s before more events arrive
            app.feed(ev.SessionFinished(t=9.5, outcome="finished", exit_code=0, turns=5, message="All fixed."))
            app.feed(ev.SessionFinished(t=9.6, outcome="stopped", exit_code=1, turns=5,
                                        message="turn limit reached (5)"))
            finished = lambda: [str(w.render()) for w in app.query_one(TranscriptView).query(".finished")]  # noqa: E731
            await wait_for(pilot, lambda: len(finished()) >= 2)
            lines = finished()
            assert lines[-2].endswith("exit 0 ──") and "All fixed." not in lines[-2]
            assert lines[-1].endswith("exit 1 ── turn limit reached (5)")

    run(main)


def test_prompt_submits_on_enter_and_recalls_history() -> None:
    submitted: list[str] = []

    async def main() -> None:
        app = AsyncfcApp(None)
        async with app.run_test(size=(100, 30)) as pilot:
            prompt = app.query_one(PromptInput)
            original = prompt.post_message

            def capture(message):
                if isinstance(message, PromptInput.Submitted):
                    submitted.append(message.text)
                    return True
                return original(message)

            prompt.post_message = capture  # type: ignore[method-assign]
            await pilot.click("#prompt")
            await pilot.press(*"first", "enter", *"second", "ctrl+j", *"line", "enter")
            assert submitted == ["first", "second\nline"] and prompt.text == ""
            await pilot.press("up")
            assert prompt.text == "second\nline"
            await pilot.press("up", "up")
            assert prompt.text == "first"
            await pilot.press("down", "down")
            assert prompt.text == ""

    run(main)


def test_replay_plays_a_transcript_and_refuses_prompts() -> None:
    async def main() -> None:
        events = demo_events() + [ev.SessionFinished(t=9.0, outcome="finished", exit_code=0, turns=5)]
        engine = ReplayEngine(events, speed=50.0)
        app = AsyncfcApp(engine, rate=50.0)
        async with app.run_test(size=(120, 36)) as pilot:
            await wait_for(pilot, lambda: app.state.outcome is not None)
            assert set(app.state.futures) == {f"f{i}" for i in range(1, 10)}
            await pilot.click("#prompt")
            await pilot.press(*"hello", "enter")
            await wait_for(pilot, lambda: any("replay" in n.message for n in app._notifications))
        assert not app.host.running

    run(main)


def test_status_bar_says_scripted_model_and_totals() -> None:
    state = TimelineState().apply_all(e for e in demo_events() if e.t <= 5.0)
    text = status_text(state, 5.0).plain
    for part in ("scripted model (fix_bug)", "async", "approval ask", "turn 3", "$0.0024", "5.0s"):
        assert part in text
    state.apply(ev.SessionStarted(t=5.0, session_id="x", model="openai/gpt-4.1", mode="sync", approval="auto"))
    assert "scripted" not in status_text(state, 5.0).plain and "openai/gpt-4.1" in status_text(state, 5.0).plain


def test_status_bar_shows_where_model_requests_go() -> None:
    state = TimelineState()
    state.apply(ev.SessionStarted(t=0.0, session_id="x", model="openai/gpt-4.1", mode="async",
                                  endpoint="http://10.0.0.7:8000/v1"))
    assert "openai/gpt-4.1 @ http://10.0.0.7:8000/v1" in status_text(state, 0.0).plain
    assert "@ 10.0.0.7:8000" in status_text(state, 0.0, width=80).plain


@pytest.mark.parametrize(("sandbox", "network", "long", "short"), [
    ("on", False, "sandbox on", "sbx on"),
    ("on", True, "sandbox on+net", "sbx on+net"),
    ("off", True, "sandbox off", "sbx off"),
    ("unavailable", True, "sandbox unavailable", "sbx n/a"),
])
def test_status_bar_shows_the_sandbox_and_folds_it_before_the_approval_policy(sandbox, network, long, short) -> None:
    state = TimelineState()
    state.apply(ev.SessionStarted(t=0.0, session_id="x", model="openai/gpt-4.1", mode="async", approval="ask",
                                  sandbox=sandbox, network=network))
    wide = status_text(state, 0.0).plain
    assert f"│ {long} │" in wide, wide
    fitted = [status_text(state, 0.0, width).plain for width in range(len(wide), 20, -1)]
    shown_short = [line for line in fitted if f"│{short}│" in line]
    assert shown_short, fitted  # the short form shows before it folds away
    folded = next(line for line in fitted if "sbx" not in line and "sandbox" not in line)
    assert "│ask│" in folded and "│t0│" not in folded, folded  # after turn, before the approval policy



def test_what_a_command_prints_is_shown_as_text_never_read_as_markup() -> None:
    """A call's title carries the last line it printed: ``[9%]`` must show, and a
    ``[/x]`` (any repository's script can print it) must not bring the TUI down."""
    from textual.widgets import Collapsible, Static

    events = [
        ev.SessionStarted(t=0.0, session_id="s", model="scripted:x", mode="async", approval="auto",
                          root="/tmp/r", scripted=True),
        ev.FutureCreated(t=0.1, id="f1", tool="shell", args={"command": "pytest"}, effect="runs"),
        ev.FutureStarted(t=0.1, id="f1"),
        ev.FutureOutput(t=0.2, id="f1", text="[9%] [/x]\n"),
        ev.Notice(t=0.3, level="warning", message="odd [/b] name"),
    ]

    async def main() -> None:
        app = fed_app(events, 1.0)
        async with app.run_test(size=(120, 36)) as pilot:
            await shown(pilot)
            title = str(app.query_one(TranscriptView).query_one(Collapsible).title)
            assert "[9%] [/x]" in title
            notices = [str(w.render()) for w in app.query_one(TranscriptView).query(Static)]
            assert any("odd [/b] name" in n for n in notices)

    run(main)


def test_status_bar_folds_a_cost_the_provider_does_not_report_before_the_tokens() -> None:
    """A local model reports no cost: ``$–`` says nothing, the tokens do."""
    state = TimelineState()
    state.apply(ev.SessionStarted(t=0.0, session_id="x", model="openai/local", mode="async", approval="ask",
                                  sandbox="on", endpoint="http://127.0.0.1:8000/v1"))
    state.apply(ev.RequestFinished(t=1.0, turn=1, usage={"prompt_tokens": 8000, "completion_tokens": 500},
                                   cost=None, finish_reason="stop"))
    wide = status_text(state, 1.0).plain
    assert "$–" in wide and "8.5k tok" in wide
    fitted = [status_text(state, 1.0, width).plain for width in range(len(wide), 30, -1)]
    narrowest_with_tokens = [line for line in fitted if "tok" in line][-1]
    assert "$–" not in narrowest_with_tokens, fitted


@pytest.mark.parametrize("earlier", [True, False])
def test_call_titles_take_the_width_the_pane_has_now(earlier: bool) -> None:
    """A title is cut to the width it is drawn at: a resume's earlier calls are drawn before the
    first layout (no width yet), and a terminal can be resized; both are titled again."""
    from textual.widgets import Collapsible

    def title(app: AsyncfcApp) -> str:
        return str(app.query_one(TranscriptView).query(Collapsible).first().title)

    async def main() -> None:
        events = [e for e in demo_events() if e.t <= 9.0]
        app = AsyncfcApp(None, wall=lambda: 0.0, earlier=events) if earlier else fed_app(events, 9.0)
        async with app.run_test(size=(50, 24)) as pilot:
            await wait_for(pilot, lambda: len(title(app)) > 40)  # the pane's width, not the 30 of none
            assert "tests/test_parse.py" not in title(app)  # cut to fit
            await pilot.resize_terminal(80, 24)
            await wait_for(pilot, lambda: "tests/test_parse.py" in title(app) and "→ 48 lines" in title(app))

    run(main)
