"""The TUI's pure core: state folding, the session clock, timeline rendering, replay pacing."""

from __future__ import annotations

import pytest
import trio

from asyncfc_cli import events as ev
from asyncfc_cli.tui.engines import ReplayEngine
from asyncfc_cli.timeline_state import TimelineState
from asyncfc_cli.tui.session_clock import SessionClock
from asyncfc_cli.tui.summaries import args_summary, short_summary
from asyncfc_cli.tui.synthetic import demo_events, many_futures
from asyncfc_cli.tui.timeline_render import TimelineRenderer, Viewport, fit_viewport, format_seconds, tick_step


def state_at(t: float) -> TimelineState:
    return TimelineState().apply_all(e for e in demo_events() if e.t <= t)


def row_text(segments) -> str:
    return "".join(s.text for s in segments)


def test_model_lane_records_each_request_with_first_token_calls_and_usage() -> None:
    state = state_at(4.0)
    first, second, third = state.requests
    assert (first.turn, first.start, first.first_token, first.end) == (1, 0.0, 0.5, 1.5)
    assert first.calls == [0.9, 1.1, 1.3]
    assert first.completion_tokens == 60 and first.chars > 0
    assert second.end == 3.2 and third.end is None  # the third still streams at t=4
    assert state.decoding and state.open_request is third
    assert state.turns == 3
    assert state.prompt_tokens == 900 + 1800 and state.completion_tokens == 60 + 95
    assert state.cost == pytest.approx(0.0004 + 0.0008)


def test_future_lanes_follow_their_lifecycle_deps_and_approval() -> None:
    state = state_at(3.0)
    f4 = state.futures["f4"]
    assert (f4.state, f4.deps, f4.approval, f4.started) == ("pending", ("f3",), "asked", None)
    assert [lane.id for lane in state.pending_approvals()] == ["f4"]
    state = state_at(9.0)
    assert state.futures["f4"].approval == "once" and state.futures["f4"].state == "done"
    f5 = state.futures["f5"]
    assert (f5.state, f5.started, f5.finished, f5.summary) == ("failed", 4.2, 6.9, "1 failed, 11 passed")
    assert f5.run_time(100.0) == pytest.approx(2.7)
    assert state.futures["f6"].state == "cancelled" and state.futures["f6"].started is None
    assert state.futures["f7"].deps == ("f5",)
    assert state.futures["f9"].run_time(9.0) == pytest.approx(0.8)
    assert state.counts() == {"done": 6, "failed": 1, "cancelled": 1, "running": 1}


def test_busy_spans_a_task_and_session_finished_closes_everything() -> None:
    state = state_at(9.0)
    assert state.busy and state.outcome is None
    state.apply(ev.SessionFinished(t=9.5, outcome="interrupted", exit_code=130))
    assert not state.busy and state.outcome is not None and state.outcome.exit_code == 130
    assert all(lane.final for lane in state.futures.values())  # f9 is not drawn as live forever
    assert state.open_request is None and state.requests[-1].end == 9.5


def test_unknown_ids_and_out_of_order_events_are_ignored() -> None:
    state = TimelineState()
    state.apply(ev.FutureStarted(t=1.0, id="f9"))
    state.apply(ev.FutureFinished(t=1.0, id="f9", status="done", duration=0, summary=""))
    state.apply(ev.FirstToken(t=1.0, turn=1, ttft=1.0))
    assert not state.futures and not state.requests and state.version == 3


def test_session_clock_interpolates_between_events_and_never_goes_back() -> None:
    clock = SessionClock(rate=2.0)
    clock.observe(1.0, wall=100.0)
    assert clock.now(100.5) == pytest.approx(2.0)
    clock.observe(1.5, wall=100.6)  # an event stamped earlier than the projection: no jump back
    assert clock.now(100.6) >= 2.0
    clock.freeze(3.0)
    assert clock.now(500.0) == 3.0
    clock.observe(4.0, wall=501.0)
    assert clock.now(501.0) == pytest.approx(4.0)


def test_args_summary_is_one_short_line() -> None:
    assert args_summary({"path": "a.py", "limit": 5}) == "path=a.py limit=5"
    assert args_summary({"content": "line1\nline2"}) == "content=line1…"
    assert args_summary({"ids": ["f1", "f2"]}) == "ids=f1,f2"
    assert len(args_summary({"x": "y" * 200}, 30)) == 30


def test_ticks_are_round_and_spaced_for_labels() -> None:
    assert tick_step(0.1) == 1 and tick_step(0.01) == 0.1 and tick_step(1.0) == 10
    assert format_seconds(2.0, 1) == "2s" and format_seconds(0.25, 0.05) == "0.25s"
    assert format_seconds(125, 60) == "2m05s"


def test_fit_viewport_fits_then_follows_the_present() -> None:
    state = state_at(9.0)
    vp = fit_viewport(state, 9.0, 92)
    assert vp.start == 0.0 and vp.spc == pytest.approx(0.1)
    follow = fit_viewport(state, 9.0, 92, spc=0.05)
    assert follow.end >= 9.0 > follow.start > 0.0  # zoomed in: the window slides with now
    panned = fit_viewport(state, 9.0, 92, spc=0.05, start=1.0)
    assert panned.start == 1.0


def test_lanes_line_up_on_one_time_axis() -> None:
    state = state_at(9.0)
    vp = Viewport(start=0.0, spc=0.1, cells=100)
    rows = TimelineRenderer().rows(state, vp, 9.0, 20, list(state.futures.values()))
    axis, model, lanes = row_text(rows[0]), rows[1], {r: row_text(rows[2 + i]) for i, r in enumerate(state.futures)}
    assert axis[20:].startswith("╷0s") and axis[20 + 10:].startswith("╷1s")
    assert lanes["f1"].startswith(" ✓ f1 read_file")
    assert "⇠f3" in lanes["f4"][:20]  # dependencies show in the label ...
    # f3 was done when f4 was made (t=2.6): its wait was for the user's approval, and says so
    assert lanes["f4"][20 + 26:20 + 34] == "approved"
    f5 = lanes["f5"][20:]
    assert f5.index("2.7s") == 43  # the run bar starts at t=4.2, its label one cell in
    assert f5.rstrip().endswith("✗") or "✗" in f5
    assert "│" in lanes["f1"][20 + 90:20 + 91]  # the present, drawn down every idle lane
    model_text = row_text(model)
    assert model_text[20 + 9] == "◆" and model_text[20 + 5] == "▎"  # a dispatch at 0.9, first token at 0.5


def test_a_zero_length_future_is_still_visible() -> None:
    state = TimelineState().apply_all([
        ev.FutureCreated(t=1.0, id="f1", tool="read_file", args={}),
        ev.FutureStarted(t=1.0, id="f1"),
        ev.FutureFinished(t=1.0, id="f1", status="done", duration=0.0, summary="ok"),
    ])
    vp = Viewport(start=0.0, spc=1.0, cells=10)
    row = TimelineRenderer().rows(state, vp, 2.0, 10, list(state.futures.values()))[2]
    assert row_text(row)[10 + 1] == "▏"


def test_two_hundred_futures_render_every_lane_at_full_width() -> None:
    state = TimelineState().apply_all(many_futures(200))
    vp = fit_viewport(state, 5.0, 150)
    rows = TimelineRenderer().rows(state, vp, 5.0, 30, list(state.futures.values()))
    assert len(rows) == 202
    assert all(sum(len(s.text) for s in row) == 180 for row in rows)


def test_replay_schedule_divides_by_speed_and_shortens_idle_gaps() -> None:
    events = [
        ev.UserMessage(t=0.0, text="a"),
        ev.RequestStarted(t=0.0, turn=1),
        ev.RequestFinished(t=2.0, turn=1),
        ev.SessionFinished(t=2.0, outcome="finished", exit_code=0),
        ev.UserMessage(t=300.0, text="b"),  # the user thought for five minutes
        ev.RequestStarted(t=300.5, turn=2),
    ]
    assert ReplayEngine(events, speed=2.0).schedule() == [0.0, 0.0, 1.0, 1.0, 1.5, 1.75]


@pytest.mark.trio
async def test_replay_publishes_at_recorded_pace(autojump_clock: trio.testing.MockClock) -> None:
    engine = ReplayEngine(demo_events(), speed=4.0)
    bus, seen = ev.EventBus(clock=trio.current_time), []
    bus.subscribe(lambda e: seen.append((trio.current_time(), e)))
    start = trio.current_time()
    send, receive = trio.open_memory_channel[str](1)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(engine.run, bus, receive)
        await engine.finished.wait()
        nursery.cancel_scope.cancel()
    assert len(seen) == len(demo_events())
    assert all(at - start == pytest.approx(e.t / 4.0) for at, e in seen)


def test_short_summary_reads_future_blocks_plainly() -> None:
    assert short_summary('<future id="f3" status="failed">boom</future>') == "f3 failed: boom"
    assert short_summary("12 matches") == "12 matches"


def test_call_titles_fit_their_width_and_keep_the_outcome() -> None:
    from asyncfc_cli.tui.formatting import call_title

    lane = state_at(9.0).futures["f5"]
    for width in (40, 60, 100):
        title = call_title(lane, width)
        assert len(title) <= width and "→ 1 failed" in title and title.startswith("✗ f5 run_tests ")


def cell_colours(segments) -> list[str | None]:
    """The foreground (or, for a bar, background) colour of each cell of a rendered row."""
    out: list[str | None] = []
    for segment in segments:
        style = segment.style
        colour = style.bgcolor or style.color if style else None
        out.extend([colour.triplet.hex if colour and colour.triplet else None] * len(segment.text))
    return out


def test_what_blocked_on_what_keeps_its_colour_after_the_fact() -> None:
    """Approval waits stay approval-coloured once answered, and await bars the await colour once
    done: a finished session still shows where the user and the model blocked."""
    from asyncfc_cli.tui.timeline_render import PALETTE

    vp = Viewport(start=0.0, spc=0.1, cells=100)
    for t in (3.0, 9.0):  # while the user is asked, and long after they answered
        state = state_at(t)
        rows = TimelineRenderer().rows(state, vp, t, 20, list(state.futures.values()))
        names = list(state.futures)
        f4 = cell_colours(rows[2 + names.index("f4")])
        assert f4[20 + 27:20 + 29] == [PALETTE["approval"]] * 2, t
    f7 = cell_colours(rows[2 + names.index("f7")])
    assert f7[20 + 46:20 + 60] == [PALETTE["await"]] * 14  # 4.4s..6.9s, done, still the await colour
    assert state.futures["f7"].state == "done"


@pytest.mark.parametrize("summary", ["exit code 0 (2.3s)", "f1 done: exit code 0 (0.1s)"])
def test_a_call_title_shows_one_time_when_the_summary_has_its_own(summary) -> None:
    from asyncfc_cli.tui.formatting import call_title

    state = TimelineState()
    state.apply(ev.FutureCreated(t=0.0, id="f1", tool="shell", args={"command": "make"}))
    state.apply(ev.FutureStarted(t=0.1, id="f1"))
    state.apply(ev.FutureFinished(t=2.5, id="f1", status="done", duration=2.4, summary=summary))
    title = call_title(state.futures["f1"], 100)
    assert title.endswith(f"→ {summary}"), title
    state.apply(ev.FutureCreated(t=3.0, id="f2", tool="grep", args={"pattern": "x"}))
    state.apply(ev.FutureStarted(t=3.0, id="f2"))
    state.apply(ev.FutureFinished(t=3.4, id="f2", status="done", duration=0.4, summary="12 matches"))
    assert call_title(state.futures["f2"], 100).endswith("→ 12 matches (0.4s)")


def test_a_command_allowed_the_network_says_so_on_its_approval_wait() -> None:
    state = TimelineState()
    state.apply(ev.FutureCreated(t=0.0, id="f1", tool="shell", args={"command": "pip download six"}))
    state.apply(ev.ApprovalRequested(t=0.0, id="f1", tool="shell", preview="$ pip download six", network=True))
    state.apply(ev.ApprovalResolved(t=3.0, id="f1", decision="network"))
    state.apply(ev.FutureStarted(t=3.0, id="f1"))
    rows = TimelineRenderer().rows(state, Viewport(start=0.0, spc=0.1, cells=60), 4.0, 20, list(state.futures.values()))
    assert row_text(rows[2])[20:].startswith("approved +net╌")
