"""The scheduler through the real session: references, program order, and every bad input.

Timing runs on trio's MockClock (autojump), so every time asserted here is exact and instant.
"""

import pytest

from asyncfc_cli.config import Settings
from asyncfc_cli.testing.harness import run_scenario

from engine_tools import STORE, TOOLS

FAST = {"ttft_s": 0, "tokens_per_s": 8}


def scenario(*steps, answer="done"):
    return {"name": "t", "profile": FAST, "steps": [*steps, {"answer": answer, "tokens": 0}]}


def call(tool, label=None, **args):
    step = {"call": tool, "args": args, "tokens": 0}
    if label:
        step["as"] = label
    return step


@pytest.fixture(autouse=True)
def clean_store():
    STORE.clear()


@pytest.mark.trio
async def test_dependent_starts_exactly_when_its_dependency_ends_and_gets_its_text(autojump_clock):
    run = await run_scenario(
        scenario(call("sleep", "a", seconds=2, result="hello"), call("echo", "b", text="$a"),
                 {"need": ["b"]}),
        tools=TOOLS,
    )
    assert run.outcome.exit_code == 0
    created = run.future("f2", "future_created")
    assert created.deps == ("f1",) and created.args == {"text": "$f1"}
    assert run.future("f2", "future_started").t == run.future("f1", "future_finished").t == 2.0
    assert run.future("f2", "future_finished").output == "hello"


@pytest.mark.trio
async def test_failed_dependency_fails_the_dependent_naming_it(autojump_clock):
    run = await run_scenario(
        scenario(call("refuse", "a", why="no such file"), call("echo", "b", text="$a"), {"need": ["b"]}),
        tools=TOOLS,
    )
    finished = run.future("f2", "future_finished")
    assert finished.status == "failed"
    assert "dependency f1 failed" in finished.output and "no such file" in finished.output
    assert run.outcome.exit_code == 0


@pytest.mark.trio
async def test_reference_to_unknown_future_is_a_clean_tool_error(autojump_clock):
    run = await run_scenario(scenario(call("echo", "a", text="$f99"), {"need": ["a"]}), tools=TOOLS)
    finished = run.future("f1", "future_finished")
    assert finished.status == "failed"
    assert "$f99" in finished.output and "no such earlier future" in finished.output
    assert run.outcome.exit_code == 0


@pytest.mark.trio
async def test_write_then_read_of_one_path_reads_the_write(autojump_clock):
    run = await run_scenario(
        scenario(call("put", "w", path="x", value="new", seconds=1), call("get", "r", path="x", seconds=0.5),
                 {"need": ["r"]}),
        tools=TOOLS,
    )
    assert run.future("f2", "future_created").waits_on == ("f1",)
    assert run.future("f2", "future_started").t == 1.0
    assert run.future("f2", "future_finished").output == "new"


@pytest.mark.trio
async def test_two_reads_run_together(autojump_clock):
    STORE["x"] = "v"
    run = await run_scenario(
        scenario(call("get", "a", path="x", seconds=2), call("get", "b", path="x", seconds=2),
                 {"need": ["a", "b"]}),
        tools=TOOLS,
    )
    assert run.future("f2", "future_created").waits_on == ()
    assert run.future("f1", "future_started").t == run.future("f2", "future_started").t == 0.0
    assert run.future("f2", "future_finished").t == 2.0


@pytest.mark.trio
async def test_exclusive_waits_for_earlier_writes_and_later_reads_wait_for_it(autojump_clock):
    run = await run_scenario(
        scenario(call("put", "w", path="a", value="1", seconds=1), call("run", "x", seconds=1),
                 call("get", "r", path="b", seconds=1), {"need": ["r"]}),
        tools=TOOLS,
    )
    assert run.future("f2", "future_started").t == 1.0
    assert run.future("f3", "future_created").waits_on == ("f2",)
    assert run.future("f3", "future_started").t == 2.0


@pytest.mark.trio
async def test_writes_to_different_paths_run_concurrently(autojump_clock):
    run = await run_scenario(
        scenario(call("put", "a", path="src/a.py", value="1"), call("put", "b", path="src/b.py", value="2"),
                 call("put", "c", path="src", value="3"), {"need": ["c"]}),
        tools=TOOLS,
    )
    assert run.future("f2", "future_started").t == 0.0
    # A write to a folder overlaps both files inside it.
    assert set(run.future("f3", "future_created").waits_on) == {"f1", "f2"}


BAD_INPUTS = [
    (call("nope", "a"), "unknown tool 'nope'"),
    ({"call": "echo", "as": "a", "raw_args": '{"text": "unterminated', "tokens": 0}, "malformed arguments"),
    ({"call": "echo", "as": "a", "raw_args": '["not", "an", "object"]', "tokens": 0}, "must be a JSON object"),
    (call("echo", "a", text=42), "argument 'text' must be of type string"),
    (call("echo", "a"), "missing required argument(s) text"),
    (call("echo", "a", text="x", colour="red"), "unknown argument(s) colour"),
    (call("explode", "a"), "explode raised RuntimeError: kaboom"),
    (call("sleep", "a", seconds=100), "timed out after 5s"),
]


@pytest.mark.trio
@pytest.mark.parametrize(("step", "message"), BAD_INPUTS, ids=[m for _, m in BAD_INPUTS])
async def test_bad_input_is_a_failed_future_and_the_session_goes_on(autojump_clock, step, message):
    run = await run_scenario(
        scenario(step, {"need": ["a"]}, call("echo", "b", text="still here"), {"need": ["b"]}),
        tools=TOOLS, settings=Settings(call_timeout_s=5),
    )
    failed = run.future("f1", "future_finished")
    assert failed.status == "failed"
    assert message in failed.output
    assert run.future("f3", "future_finished").output == "still here"
    assert run.outcome.exit_code == 0
    # The model was shown the error as the value of its call.
    tool_messages = [m for m in run.session.history if getattr(m, "role", "") == "tool"]
    assert message in tool_messages[0].content or message in "".join(m.content for m in tool_messages)


# --------------------------------------------------------------------------------------------------
# The scheduler's own shape: a nursery per ``serving()`` block, as trio does it.


def _scheduler(tmp_path, bus=None):
    from asyncfc_cli.events import EventBus
    from asyncfc_cli.scheduler import Scheduler
    from tools_repo import context

    return Scheduler(TOOLS, bus or EventBus(), context(tmp_path))


def _call(index, tool, **args):
    import json

    from asyncfc_cli.futures import ToolCall

    return ToolCall(f"c{index}", tool, json.dumps(args), index)


@pytest.mark.trio
async def test_calls_still_running_when_the_serving_block_ends_are_cancelled(tmp_path, autojump_clock):
    import trio

    scheduler = _scheduler(tmp_path)
    async with scheduler.serving():
        quick = scheduler.submit(_call(0, "sleep", seconds=1))
        slow = scheduler.submit(_call(1, "sleep", seconds=10))
        await scheduler.wait_finished([quick.id])
    assert trio.current_time() == 1  # the block did not wait for the slow call
    assert (quick.state.value, slow.state.value) == ("done", "cancelled")
    async with scheduler.serving():  # ids go on across blocks (tasks of one session)
        assert scheduler.submit(_call(2, "echo", text="x")).id == "f3"
        await scheduler.wait_all_finished()


def test_a_call_submitted_outside_a_serving_block_is_refused(tmp_path):
    scheduler = _scheduler(tmp_path)
    with pytest.raises(RuntimeError, match="only inside `async with scheduler.serving"):
        scheduler.submit(_call(0, "echo", text="x"))
