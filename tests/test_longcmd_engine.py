"""Long commands as futures, on trio's MockClock: declared footprints order calls exactly, background
calls never hold the finish or later calls, and live output reaches events and await_future.

The tools are the real ones' specs (schemas and effects) with simulated bodies, so the times
asserted here are exact.
"""

import pytest
import trio

from asyncfc_cli.testing.harness import run_scenario
from asyncfc_cli.simtools import simulated_tools
from asyncfc_cli.model.scripted import parse_scenario
from asyncfc_tools import ToolContext, builtin_tools, tool

FAST = {"ttft_s": 0, "tokens_per_s": 8}


def scenario(*steps, answer="done"):
    return parse_scenario({"name": "t", "profile": FAST, "steps": [*steps, {"answer": answer, "tokens": 0}]})


def call(tool, label, duration=0.0, **args):
    return {"call": tool, "as": label, "args": args, "tokens": 0, "duration": duration}


def real_effects(play):
    return simulated_tools(play, builtin_tools())


@pytest.mark.trio
async def test_reads_of_other_files_run_beside_a_declared_build_and_an_edit_waits_for_it(autojump_clock):
    play = scenario(
        call("shell", "build", 30.0, command="make -j2 build", writes=["build/"]),
        call("read_file", "a", 0.1, path="src/app.py"),
        call("grep", "g", 0.2, pattern="def main", path="src"),
        call("read_file", "out", 0.1, path="build/app.o"),
        call("edit_file", "e", 0.1, path="src/app.py", old="x", new="y"),
        {"need": ["a", "g"]},
        {"need": ["build", "e"]},
    )
    run = await run_scenario(play, tools=real_effects(play))
    assert run.outcome.exit_code == 0
    assert run.future("f1", "future_created").effect == "declared"
    # Reads of src/ start at once and finish while the build runs.
    assert run.future("f2", "future_started").t == 0.0
    assert run.future("f2", "future_finished").t == pytest.approx(0.1)
    assert run.future("f3", "future_finished").t == pytest.approx(0.2)
    # A read of what the build writes, and an edit of a file it reads, wait for it.
    assert run.future("f4", "future_created").waits_on == ("f1",)
    assert run.future("f4", "future_started").t == 30.0
    assert run.future("f5", "future_created").waits_on == ("f1", "f2", "f3")  # and the reads of it
    assert run.future("f5", "future_started").t == 30.0
    assert run.future("f5", "future_finished").t == pytest.approx(30.1)


@pytest.mark.trio
async def test_without_a_declaration_the_same_build_holds_every_later_read(autojump_clock):
    play = scenario(
        call("shell", "build", 30.0, command="make -j2 build"),
        call("read_file", "a", 0.1, path="src/app.py"),
        {"need": ["a"]},
        {"need": ["build"]},
    )
    run = await run_scenario(play, tools=real_effects(play))
    assert run.future("f1", "future_created").effect == "exclusive"
    assert run.future("f2", "future_started").t == 30.0


@pytest.mark.trio
async def test_commands_declared_to_change_nothing_run_side_by_side(autojump_clock):
    play = scenario(*[call("shell", f"p{i}", 1.0, command=f"./part{i}.sh", writes=[]) for i in range(8)],
                    {"need": [f"p{i}" for i in range(8)]})
    run = await run_scenario(play, tools=real_effects(play))
    assert all(e.waits_on == () for e in run.of_type("future_created") if e.tool == "shell")
    assert max(e.t for e in run.of_type("future_finished")) == pytest.approx(1.0)


# -- background calls and live output, through a tool that reports like the real shell ----------


@tool(effect=lambda args, root: builtin_tools()["shell"].effect_of(args, root))
async def server(ctx: ToolContext, command: str, background: bool = False, lines: int = 3,
                 every_s: float = 0.5, then_exit: bool = False) -> str:
    """A fake long-lived command: prints a line every ``every_s``; up after its first line.

    Args:
        command: shown only.
        background: as for shell.
        lines: lines printed before it goes quiet.
        every_s: seconds between lines.
        then_exit: exit after the lines instead of running on.
    """
    ctx.progress.output("listening on 127.0.0.1:8000\n")
    await trio.sleep(1.5)
    ctx.progress.started("listening on 127.0.0.1:8000")
    for i in range(lines):
        await trio.sleep(every_s)
        ctx.progress.output(f"request {i}\n")
    if not then_exit:
        await trio.sleep_forever()
    return "exit code 3: crashed"


TOOLS = {"server": server}


@pytest.mark.trio
async def test_a_background_call_is_up_at_once_never_holds_the_finish_and_is_stopped_at_the_end(autojump_clock):
    play = scenario(
        call("server", "srv", command="serve", background=True),
        {"end": True},
        {"need": ["srv"]},
    )
    run = await run_scenario(play, tools=TOOLS)
    assert run.outcome.exit_code == 0
    assert run.future("f1", "background_started").t == 1.5
    message = [m for m in run.session.history if getattr(m, "role", "") == "tool"][0]
    assert message.content.startswith(
        "started in the background; first output:\nlistening on 127.0.0.1:8000\n(still running as f1")
    assert "cancel_future" in message.content
    # The task ends after the next request; the server is stopped then, not waited for.
    stopped = run.future("f1", "background_stopped")
    assert stopped.reason == "the task ended" and stopped.command == "serve"
    assert run.future("f1", "future_finished").status == "cancelled"
    assert run.wall_s < 2.0


@pytest.mark.trio
async def test_later_conflicting_calls_wait_for_a_background_start_not_for_its_end(autojump_clock):
    play = scenario(
        call("server", "srv", command="serve", background=True),
        {"call": "shell", "as": "edit", "args": {"command": "touch x"}, "tokens": 0},
        {"need": ["edit"]},
    )
    tools = {**simulated_tools(play, builtin_tools()), **TOOLS}
    run = await run_scenario(play, tools=tools)
    assert run.future("f2", "future_created").waits_on == ("f1",)
    assert run.future("f2", "future_started").t == 1.5


@pytest.mark.trio
async def test_output_streams_rate_limited_and_in_order_before_the_end(autojump_clock):
    play = scenario(
        call("server", "srv", command="serve", lines=8, every_s=0.01, then_exit=True),
        {"need": ["srv"]},
    )
    run = await run_scenario(play, tools=TOOLS)
    outputs = run.of_type("future_output")
    finished = run.future("f1", "future_finished")
    assert "".join(e.text for e in outputs) == "listening on 127.0.0.1:8000\n" + "".join(
        f"request {i}\n" for i in range(8))
    assert all(e.t <= finished.t for e in outputs)
    # Eight lines 10 ms apart go out in about a tenth of the events: at most one per 0.1 s.
    assert len(outputs) < 5
    # Apart from the last, flushed as the call ends, they are at least 0.1 s apart.
    assert all(b.t - a.t >= 0.1 - 1e-9 for a, b in zip(outputs[:-2], outputs[1:-1]))


@pytest.mark.trio
async def test_await_with_a_timeout_shows_the_latest_output_of_a_running_command(autojump_clock):
    play = scenario(
        call("server", "srv", command="serve", lines=8, then_exit=True),
        {"call": "await_future", "as": "w", "args": {"ids": ["f1"], "timeout_s": 3.2}, "tokens": 0},
        {"need": ["w"]},
        {"need": ["srv"]},
    )
    run = await run_scenario(play, tools=TOOLS)
    awaited = run.future("f2", "future_finished").output
    assert awaited.startswith('{"future": "f1", "status": "running"}\nlatest output of f1 (still running):')
    assert "request 2" in awaited and "request 3" not in awaited
    assert run.future("f1", "future_finished").output == "exit code 3: crashed"


@pytest.mark.trio
async def test_a_background_process_that_exits_is_delivered_but_not_waited_for(autojump_clock):
    play = scenario(
        call("server", "srv", command="serve", background=True, lines=1, then_exit=True),
        {"end": True},
        {"need": ["srv"]},
        {"call": "sleep_a_bit", "as": "s", "args": {}, "tokens": 0, "duration": 2.0},
        {"need": ["s"]},
    )
    tools = {**simulated_tools(play), **TOOLS}
    run = await run_scenario(play, tools=tools)
    assert run.future("f1", "future_finished").status == "done"
    delivered = run.future("f1", "future_delivered")
    assert delivered.via in ("delivery", "await")
    assert not run.of_type("background_stopped")


# -- when a background command counts as started -------------------------------------------------


class Recorder:
    def __init__(self):
        self.started_at = None
        self.first = None

    def output(self, text):
        pass

    def started(self, text):
        self.started_at, self.first = trio.current_time(), text

    def changed_outside(self, declared, paths):
        pass


def printing(lines, then_exit_after=None, listens_at=None):
    """A fake command: prints each (delay, text) in turn, then runs on (or exits after a delay);
    from ``listens_at`` on it listens on 127.0.0.1:8000."""
    async def run(on_output, listen):
        async def probe():
            return ["127.0.0.1:8000"] if trio.current_time() >= listens_at else []

        if listens_at is not None:
            listen(probe)
        for delay, text in lines:
            await trio.sleep(delay)
            on_output(text)
        await trio.sleep(then_exit_after if then_exit_after is not None else float("inf"))
        return "exit code 0"
    return run


@pytest.mark.trio
@pytest.mark.parametrize("lines, started_at, first", [
    ([(0.1, "a\n"), (0.5, "b\n")], 1.6, "a\nb\n"),   # quiet for 1 s after its last line
    ([], 3.0, ""),                                 # silent: the cap
    ([(0.4, "x\n")] * 10, 3.0, "x\n" * 7),          # chatty: the cap, with what it printed so far
])
async def test_a_background_command_has_started_once_its_output_goes_quiet_or_at_the_cap(
        autojump_clock, lines, started_at, first):
    from asyncfc_tools._background import run_in_background
    progress = Recorder()
    with trio.move_on_after(10):
        await run_in_background(printing(lines), progress, quiet_s=1.0, cap_s=3.0)
    assert progress.started_at == pytest.approx(started_at) and progress.first == first


@pytest.mark.trio
@pytest.mark.parametrize("lines, listens_at, started_at, first", [
    ([], 0.5, 0.7, "(listening on 127.0.0.1:8000)\n"),                    # silent: up when it listens
    ([(0.55, "ready\n")], 0.5, 0.75, "ready\n(listening on 127.0.0.1:8000)\n"),  # and its line
    ([(0.1, "x\n")] * 20, 0.5, 2.2, "x\n" * 20 + "(listening on 127.0.0.1:8000)\n"),  # once it pauses
    ([(0.13, "x\n")] * 40, 0.5, 3.0, "x\n" * 23 + "(listening on 127.0.0.1:8000)\n"),  # chatty: the cap
])
async def test_a_background_server_has_started_once_it_listens(autojump_clock, lines, listens_at, started_at,
                                                               first):
    from asyncfc_tools._background import run_in_background
    progress = Recorder()
    with trio.move_on_after(10):
        await run_in_background(printing(lines, listens_at=listens_at), progress, quiet_s=1.0, cap_s=3.0)
    assert progress.started_at == pytest.approx(started_at) and progress.first == first


@pytest.mark.trio
async def test_a_background_command_that_exits_at_once_is_never_reported_as_started(autojump_clock):
    from asyncfc_tools._background import run_in_background
    progress = Recorder()
    result = await run_in_background(printing([(0.1, "port in use\n")], then_exit_after=0.2), progress)
    assert result == "exit code 0" and progress.started_at is None


@pytest.mark.trio
async def test_simulated_background_calls_come_up_after_their_duration_and_run_until_stopped(autojump_clock):
    play = scenario(
        call("shell", "srv", 2.0, command="npm run dev", background=True),
        call("read_file", "a", 0.5, path="src/app.py"),
        "end",
        call("shell", "get", 0.1, command="curl -s localhost:5173"),
        {"need": ["get"]},
    )
    run = await run_scenario(play, tools=real_effects(play))
    assert run.future("f1", "background_started").t == 2.0
    assert run.future("f2", "future_finished").t == pytest.approx(0.5)  # beside it
    assert run.future("f3", "future_started").t >= 2.0
    assert run.outcome.exit_code == 0 and run.wall_s == pytest.approx(2.125)  # + the await's one token: never its end
    assert run.of_type("background_stopped")[0].id == "f1"
    assert run.future("f1", "future_finished").status == "cancelled"


@pytest.mark.trio
async def test_awaiting_a_background_process_without_a_timeout_shows_its_output_at_once(autojump_clock):
    play = scenario(
        call("server", "srv", command="serve", background=True),
        "end",
        {"call": "await_future", "as": "w", "args": {"ids": ["f1"]}, "tokens": 0},
        "end",
    )
    run = await run_scenario(play, tools=TOOLS)
    awaited = run.future("f2", "future_finished")
    assert awaited.t == 1.5 and awaited.output.startswith('{"future": "f1", "status": "running"}\nlatest output')
    assert run.outcome.exit_code == 0


@pytest.mark.trio
async def test_in_a_chat_a_background_process_outlives_its_task_and_stops_with_the_session(autojump_clock):
    from asyncfc_cli.testing.harness import scenario_session
    play = scenario(
        call("server", "srv", command="serve", background=True),
        "end",
        {"say": "It runs.", "tokens": 0},
        "end",
        {"answer": "Still there.", "tokens": 0},
    )
    run = scenario_session(play, tools=TOOLS)
    send, receive = trio.open_memory_channel(10)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(run.session.serve, receive)
        await send.send("start the server")
        await trio.sleep(60)
        assert len(run.of_type("session_finished")) == 1  # the first task ended ...
        assert not run.of_type("background_stopped")      # ... and the server runs on
        assert "future_finished" not in {e.type for e in run.events if getattr(e, "id", "") == "f1"}
        await send.send("is it there?")
        await trio.sleep(60)
        assert len(run.of_type("session_finished")) == 2
        await send.aclose()
    stopped = run.future("f1", "background_stopped")
    assert stopped.reason == "the session ended"
    assert run.future("f1", "future_finished").t == stopped.t
