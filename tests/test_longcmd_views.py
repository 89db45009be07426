"""How long commands show: progress lines in the text view, background lanes and live output in
the TUI's state, the list of background processes."""

from __future__ import annotations

import io

from asyncfc_cli import events as ev
from asyncfc_cli.render.text import TextRenderer
from asyncfc_cli.timeline_state import TimelineState
from asyncfc_tools import ToolContext, builtin_tools, tool


def render(events: list[ev.Event]) -> list[str]:
    out = io.StringIO()
    renderer = TextRenderer(out, color=False)
    for event in events:
        renderer(event)
    renderer.flush_text()
    return out.getvalue().splitlines()


def created(fid: str, tool: str = "shell", **args) -> ev.FutureCreated:
    return ev.FutureCreated(t=0.0, id=fid, tool=tool, args=args or {"command": "make"}, effect="declared")


def output(fid: str, t: float, text: str) -> ev.FutureOutput:
    return ev.FutureOutput(t=t, id=fid, text=text)


def test_the_text_view_shows_the_latest_line_of_a_long_command_now_and_then():
    lines = render([
        created("f1"), ev.FutureStarted(t=0.0, id="f1"),
        output("f1", 1.0, "compiling a.c\n"),  # too early: quick commands stay one line
        output("f1", 3.5, "compiling b.c\ncompiling c.c\n"),
        output("f1", 4.0, "compiling d.c\n"),  # too soon after the last progress line
        output("f1", 9.0, "linking\n"),
    ])
    progress = [line for line in lines if "…" in line]
    assert progress == ["[   3.50s] … f1 shell 3.5s: compiling c.c", "[   9.00s] … f1 shell 9.0s: linking"]


def test_a_progress_line_never_cuts_a_streamed_word():
    lines = render([
        created("f1"), ev.FutureStarted(t=0.0, id="f1"),
        ev.TextDelta(t=3.9, turn=1, text="While it builds I read the pars"),
        output("f1", 4.0, "compiling b.c\n"),
        ev.TextDelta(t=4.1, turn=1, text="er module."),
    ])
    assert "[   4.00s] … f1 shell 4.0s: compiling b.c" in lines
    words = " ".join(line.split("│", 1)[1] for line in lines if "│" in line).split()
    assert words == "While it builds I read the parser module.".split()


def test_background_start_stop_and_violations_are_announced():
    lines = render([
        created("f1", command="python3 -m http.server 8000"),
        ev.BackgroundStarted(t=1.5, id="f1", output="Serving HTTP on 0.0.0.0 port 8000\n"),
        ev.FootprintViolation(t=2.0, id="f2", declared=("build/",), paths=("notes.txt",)),
        ev.BackgroundStopped(t=9.0, id="f1", command="python3 -m http.server 8000", reason="the task ended"),
    ])
    assert "[   1.50s] ⟳ f1 shell running in the background: Serving HTTP on 0.0.0.0 port 8000" in lines
    assert "[   2.00s] ! f2 changed files outside its declared writes (build/): notes.txt" in lines
    assert ("[   9.00s] ■ f1 background process stopped (the task ended): python3 -m http.server 8000"
            in lines)


def test_the_tui_state_keeps_a_background_lane_open_after_the_task_and_follows_its_output():
    state = TimelineState().apply_all([
        ev.UserMessage(t=0.0, text="serve"),
        created("f1", command="python3 -m http.server"), ev.FutureStarted(t=0.1, id="f1"),
        output("f1", 0.2, "Serving HTTP\n"),
        ev.BackgroundStarted(t=1.5, id="f1", output="Serving HTTP\n"),
        created("f2", command="make"), ev.FutureStarted(t=1.6, id="f2"),
        output("f2", 1.7, "step 1\nstep 2\n"),
        ev.SessionFinished(t=2.0, outcome="finished", exit_code=0),
        output("f1", 3.0, '127.0.0.1 - - "GET / HTTP/1.1" 200 -\n'),
    ])
    lane = state.futures["f1"]
    assert lane.background and lane.state == "running"
    assert lane.last_line == '127.0.0.1 - - "GET / HTTP/1.1" 200 -'
    assert lane.live_output.endswith('200 -\n')
    assert state.futures["f2"].state == "cancelled"  # an ordinary call does not outlive its task
    assert [lane.id for lane in state.background()] == ["f1"]


# -- the TUI, driven like a user: a background process outlives its prompt, is listed and stopped


def ticking_app(tmp_path):
    import trio

    from asyncfc_cli.config import Settings
    from asyncfc_cli.events import EventBus
    from asyncfc_cli.model.scripted import ScriptedClient, parse_scenario
    from asyncfc_cli.session import Session
    from asyncfc_cli.tui.app import AsyncfcApp
    from asyncfc_cli.tui.engines import SessionEngine
    from asyncfc_cli.workspace import Workspace
    @tool(effect=lambda args, root: builtin_tools()["shell"].effect_of(args, root), name="shell")
    async def ticker(ctx: ToolContext, command: str, background: bool = False) -> str:
        """Prints a tick every 50 ms, up after the first.

        Args:
            command: shown only.
            background: as for shell.
        """
        for i in range(100_000):
            ctx.progress.output(f"tick {i}\n")
            if i == 1:
                ctx.progress.started("tick 0")
            await trio.sleep(0.05)
        return "never"

    scenario = parse_scenario({"name": "bg", "profile": {"ttft_s": 0.01, "tokens_per_s": 4000}, "steps": [
        {"call": "shell", "as": "srv", "args": {"command": "./watch.sh", "background": True}},
        "end",
        {"answer": "The watcher runs."},
    ]})
    bus = EventBus()
    session = Session(model=ScriptedClient(scenario), tools={"shell": ticker}, bus=bus,
                      settings=Settings(approval="auto"), workspace=Workspace(tmp_path))
    return AsyncfcApp(SessionEngine(session), bus=bus, task="watch")


def shown_at_the_end(app, line: str) -> bool:
    """Whether the output screen holds ``line`` and its view is at the end, past a screenful.
    (Not the screenshot: the app beneath the modal shows the last line too.)"""
    from textual.widgets import Static

    from asyncfc_cli.tui.follow_scroll import FollowScroll
    from asyncfc_cli.tui.output_screen import OutputScreen
    from test_tui_slash import plain

    screen = app.screen
    if not isinstance(screen, OutputScreen) or not screen.query(FollowScroll):
        return False  # not composed yet
    scroll = screen.query_one(FollowScroll)
    return line in plain(screen.query_one("#body", Static)) and 0 < scroll.max_scroll_y == scroll.scroll_y


def test_a_background_lane_outlives_its_prompt_follows_live_and_is_stopped_from_the_list(tmp_path):
    from asyncfc_cli.tui.background_screen import BackgroundScreen
    from asyncfc_cli.tui.output_screen import OutputScreen
    from tui_helpers import run, wait_for

    async def main() -> None:
        app = ticking_app(tmp_path)
        async with app.run_test(size=(160, 44)) as pilot:
            await wait_for(pilot, lambda: app.state.outcome is not None)
            lane = app.state.futures["f1"]
            assert app.state.outcome.outcome == "finished" and lane.state == "running" and lane.background
            # more lines than the screen has rows: the newest show only if the view follows them
            await wait_for(pilot, lambda: int(lane.last_line.split()[1]) >= 60)
            app.push_screen(OutputScreen(lane))
            seen = lane.last_line
            await wait_for(pilot, lambda: shown_at_the_end(app, seen))
            later = f"tick {int(seen.split()[1]) + 10}"
            await wait_for(pilot, lambda: shown_at_the_end(app, later))  # it follows
            await pilot.press("escape")

            await pilot.press("ctrl+b")
            await wait_for(pilot, lambda: isinstance(app.screen, BackgroundScreen))
            assert [lane.id for lane in app.screen.lanes] == ["f1"]
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.state.futures["f1"].final)
            assert app.state.futures["f1"].state == "cancelled" and app.state.background() == []

    run(main)


def test_escape_sequences_from_commands_files_and_the_model_never_reach_the_terminal():
    """OSC 52 would set the user's clipboard; a screen clear would hide what ran."""
    osc52, clear = "\x1b]52;c;ZWNobyBwd25lZA==\x07", "\x1b[2J"
    lines = render([
        ev.TextDelta(t=0.0, turn=1, text=f"Reading it{clear} now.\n"),
        created("f1"), ev.FutureStarted(t=0.0, id="f1"),
        output("f1", 5.0, f"building {osc52}step 2\n"),
        ev.FutureFinished(t=6.0, id="f1", status="done", duration=6.0, summary=f"exit code 0 {clear}"),
    ])
    text = "\n".join(lines)
    assert "\x1b" not in text and "\x07" not in text
    assert "Reading it[2J now." in text and "building ]52;c;ZWNobyBwd25lZA==step 2" in text
