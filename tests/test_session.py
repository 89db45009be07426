"""The session loop: overlap, modes, delivery, await/cancel, the finish rule and limits.

All on trio's MockClock, so the asserted times are exact. Decode speed 8 tokens/s with no time to
first token keeps every sum exact in binary floating point.
"""

import pytest

from asyncfc_cli.config import Settings
from asyncfc_cli.model.base import AssistantMessage, ToolMessage, UserMessage
from asyncfc_cli.testing.harness import run_scenario, scenario_session

from engine_tools import TOOLS

FAST = {"ttft_s": 0, "tokens_per_s": 8}


def scenario(*steps):
    return {"name": "t", "profile": FAST, "steps": list(steps)}


def call(tool, label=None, tokens=0, **args):
    step = {"call": tool, "args": args, "tokens": tokens}
    if label:
        step["as"] = label
    return step


def answer(text="done"):
    return {"answer": text, "tokens": 0}


OVERLAP = scenario(
    call("sleep", "slow", seconds=5),
    "end",
    {"say": "unrelated reasoning", "tokens": 24},  # 3 s of decoding
    {"need": ["slow"]},
    answer(),
)


@pytest.mark.trio
async def test_async_overlaps_a_5s_tool_with_3s_of_decoding(autojump_clock):
    run = await run_scenario(OVERLAP, mode="async", tools=TOOLS)
    assert run.outcome.exit_code == 0
    assert run.wall_s == 5.0


@pytest.mark.trio
async def test_sync_waits_for_the_tool_before_decoding(autojump_clock):
    run = await run_scenario(OVERLAP, mode="sync", tools=TOOLS)
    assert run.outcome.exit_code == 0
    assert run.wall_s == 8.0


PARALLEL = scenario(call("sleep", "a", seconds=2), call("sleep", "b", seconds=2), {"need": ["a", "b"]}, answer())


@pytest.mark.trio
@pytest.mark.parametrize(("mode", "wall"), [("async", 2.0), ("sync", 2.0), ("serial", 4.0)])
async def test_independent_calls_of_one_response_run_together_except_in_serial(autojump_clock, mode, wall):
    run = await run_scenario(PARALLEL, mode=mode, tools=TOOLS)
    assert run.wall_s == wall


@pytest.mark.trio
async def test_sync_and_serial_offer_no_await_and_hand_out_no_placeholders(autojump_clock):
    for mode in ("sync", "serial"):
        run = await run_scenario(OVERLAP, mode=mode, tools=TOOLS)
        assert run.of_type("future_placeholder") == []
        assert all(e.tool != "await_future" for e in run.of_type("future_created"))


@pytest.mark.trio
async def test_a_call_starts_while_its_response_is_still_decoding(autojump_clock):
    run = await run_scenario(
        scenario(call("sleep", "a", seconds=1), {"say": "more to say", "tokens": 16},
                 call("sleep", "b", seconds=1), {"need": ["a", "b"]}, answer()),
        tools=TOOLS,
    )
    first_request_end = run.of_type("request_finished")[0].t
    assert run.future("f1", "future_started").t == 0.0
    assert first_request_end >= 2.0  # 2 s of text and the second call were still to come


DELIVERY = scenario(
    call("sleep", "a", seconds=2, result="A-value"),
    "end",
    {"say": "working on something else", "tokens": 32},  # 4 s: a finishes during this decode
    call("echo", "b", text="B"),
    "end",
    {"need": ["a"]},
    answer(),
)


@pytest.mark.trio
async def test_a_future_finishing_during_a_later_decode_is_delivered_once_before_the_next_request(autojump_clock):
    run = await run_scenario(DELIVERY, tools=TOOLS)
    assert run.outcome.exit_code == 0
    delivered = [e for e in run.of_type("future_delivered") if e.id == "f1"]
    assert [(e.via, e.turn) for e in delivered] == [("delivery", 3)]
    history = run.session.history
    deliveries = [m for m in history if isinstance(m, UserMessage) and m.delivery]
    assert [m.text for m in deliveries] == ['<future id="f1" status="done">A-value</future>']
    # It comes right after the tool messages of the second response, before request 3.
    index = history.index(deliveries[0])
    assert isinstance(history[index - 1], ToolMessage) and history[index - 1].content == "B"
    assert isinstance(history[index + 1], AssistantMessage)
    # The first tool message was the placeholder.
    assert history[2] == ToolMessage("call_0_a", "sleep", '{"future": "f1", "status": "running"}')
    # The scripted model found the value in the delivery and did not need to await.
    assert all(e.tool != "await_future" for e in run.of_type("future_created"))


@pytest.mark.trio
async def test_a_response_without_calls_does_not_end_the_task_while_futures_are_outstanding(autojump_clock):
    run = await run_scenario(scenario(call("sleep", "a", seconds=3, result="late"), "end", answer("first")),
                             tools=TOOLS)
    requests = run.of_type("request_started")
    assert len(requests) == 3
    assert requests[2].t == 3.0  # waited for f1, then delivered it
    assert [e.via for e in run.of_type("future_delivered")] == ["delivery"]
    assert run.of_type("session_finished")[0].t >= run.future("f1", "future_finished").t
    assert run.outcome.exit_code == 0


@pytest.mark.trio
async def test_await_future_blocks_the_turn_and_carries_the_values(autojump_clock):
    run = await run_scenario(scenario(call("sleep", "a", seconds=4, result="four"), {"need": ["a"]}, answer()),
                             tools=TOOLS)
    awaiting = run.future("f2", "future_created")
    # f1 is all it lacks, so it waits for everything outstanding: `await_future()`.
    assert awaiting.tool == "await_future" and awaiting.args == {}
    assert run.of_type("request_started")[1].t == 4.0
    assert run.future("f2", "future_finished").output == '<future id="f1" status="done">four</future>'
    # The turn was blocked anyway, so f1's own tool message already holds its value.
    assert [(e.id, e.via) for e in run.of_type("future_delivered")] == [("f1", "tool"), ("f2", "tool")]


@pytest.mark.trio
async def test_await_future_timeout_reports_what_is_still_running(autojump_clock):
    run = await run_scenario(
        scenario(call("sleep", "a", seconds=10), call("await_future", "w", ids=["$a"], timeout_s=1),
                 "end", {"need": ["a"]}, answer()),
        tools=TOOLS,
    )
    assert run.future("f2", "future_finished").output == '{"future": "f1", "status": "running"}'
    assert run.future("f2", "future_finished").t == 1.0
    assert run.outcome.exit_code == 0


@pytest.mark.trio
async def test_cancel_future_stops_work_the_model_no_longer_needs(autojump_clock):
    run = await run_scenario(
        scenario(call("sleep", "a", seconds=100), "end", call("cancel_future", "c", ids=["$a"]),
                 {"need": ["c"]}, answer()),
        tools=TOOLS,
    )
    assert run.future("f1", "future_finished").status == "cancelled"
    assert "f1: cancelled" in run.future("f2", "future_finished").output
    assert run.wall_s < 1
    assert not [e for e in run.of_type("future_delivered") if e.id == "f1"]
    assert run.outcome.exit_code == 0


@pytest.mark.trio
async def test_unknown_ids_in_await_are_a_tool_error(autojump_clock):
    run = await run_scenario(scenario(call("await_future", "w", ids=["f7"]), {"need": ["w"]}, answer()),
                             tools=TOOLS)
    finished = run.future("f1", "future_finished")
    assert finished.status == "failed" and "unknown future id(s) f7" in finished.output


@pytest.mark.trio
async def test_turn_limit_stops_with_exit_code_1_and_says_how_to_raise_it(autojump_clock):
    run = await run_scenario(OVERLAP, tools=TOOLS, settings=Settings(max_turns=1))
    assert run.outcome.exit_code == 1
    assert run.outcome.outcome == "turn_limit"
    assert "--max-turns" in run.outcome.message
    finished = run.of_type("session_finished")[0]
    assert finished.exit_code == 1 and finished.turns == 1


@pytest.mark.trio
async def test_cancel_turn_cancels_futures_and_keeps_the_session_usable(autojump_clock):
    import trio

    run = scenario_session(scenario(call("sleep", "a", seconds=50), {"need": ["a"]}, answer("again")),
                           tools=TOOLS)
    session = run.session
    async with trio.open_nursery() as nursery:
        outcomes = []

        async def play():
            outcomes.append(await session.run("first task"))

        nursery.start_soon(play)
        await trio.sleep(5)
        session.cancel_turn()
    assert outcomes[0].exit_code == 130 and outcomes[0].outcome == "interrupted"
    assert run.future("f1", "future_finished").status == "cancelled"
    assert trio.current_time() == 5.0
    # The history holds no tool call without its result, so the conversation can go on.
    calls = {c.call_id for m in session.history if isinstance(m, AssistantMessage) for c in m.tool_calls}
    results = {m.call_id for m in session.history if isinstance(m, ToolMessage)}
    assert calls == results
    second = await session.run("second task")
    assert second.exit_code == 0


@pytest.mark.trio
async def test_simulated_tools_honour_references_and_effects(autojump_clock):
    # Simulated tools (the default of run_scenario) are ordinary workspace tools: a reference
    # waits for its dependency and receives its value.
    run = await run_scenario(scenario(
        {"call": "fetch", "as": "a", "args": {}, "tokens": 0, "duration": 2, "result": "A"},
        {"call": "use", "as": "b", "args": {"x": "$a"}, "tokens": 0, "duration": 1, "result": "B"},
        {"need": ["b"]}, answer(),
    ))
    assert run.future("f2", "future_created").deps == ("f1",)
    assert run.future("f2", "future_started").t == 2.0
    assert run.future("f2", "future_finished").t == 3.0


EARLY = {"name": "early", "profile": {"ttft_s": 0.5, "tokens_per_s": 8}, "steps": [
    call("sleep", "a", seconds=0.25, result="quick"), "end", {"need": ["a"]}, answer()]}


@pytest.mark.trio
@pytest.mark.parametrize("early_wait", [True, False])
async def test_early_wait_hands_out_values_for_calls_predicted_to_finish_before_the_next_token(
        autojump_clock, early_wait):
    run = await run_scenario(EARLY, tools=TOOLS, settings=Settings(early_wait=early_wait),
                             duration_priors={"sleep": 0.25})
    awaited = [e for e in run.of_type("future_created") if e.tool == "await_future"]
    if early_wait:
        # Held 0.25 s (< the 0.5 s time to first token): the value came in the tool message.
        assert run.of_type("future_placeholder") == [] and awaited == []
        assert run.of_type("request_started")[1].t == 0.75
    else:
        assert [e.id for e in run.of_type("future_placeholder")] == ["f1"] and len(awaited) == 1


@pytest.mark.trio
async def test_a_response_that_awaits_is_not_held_for_its_other_calls(autojump_clock):
    # b is expected (prior 0.25 s) to finish within a time to first token, but the model awaited
    # only a: the next request goes out when a is ready, with b as a placeholder.
    run = await run_scenario(scenario(call("sleep", "a", seconds=0), call("sleep", "b", seconds=3),
                                      {"need": ["a"]}, {"need": ["b"]}, answer()),
                             tools=TOOLS, duration_priors={"sleep": 0.25})
    awaiting = run.future("f3", "future_created")
    assert awaiting.tool == "await_future" and awaiting.args == {"ids": ["f1"]}
    second = run.of_type("request_started")[1]
    assert second.t == run.future("f3", "future_finished").t
    assert [e.id for e in run.of_type("future_placeholder")] == ["f2"]


@pytest.mark.trio
async def test_await_future_names_ids_when_it_needs_only_some_of_what_runs(autojump_clock):
    run = await run_scenario(scenario(call("sleep", "a", seconds=1, result="A"), call("sleep", "b", seconds=9),
                                      {"need": ["a"]}, answer()), tools=TOOLS)
    awaiting = run.future("f3", "future_created")
    assert awaiting.args == {"ids": ["f1"]}
    assert run.future("f3", "future_finished").t == 1.0


STREAMED = scenario(call("sleep", "a", seconds=1), {"say": "more to say", "tokens": 16}, call("sleep", "b", seconds=1),
                    "end", {"need": ["a", "b"]}, answer())


@pytest.mark.trio
@pytest.mark.parametrize(("mode", "dispatch", "first_start"), [
    ("async", None, 0.0),    # futures: a call starts the moment its arguments are complete
    ("sync", None, 2.0),     # the conventional baseline: calls start when the response ends
    ("serial", None, 2.0),
    ("sync", "stream", 0.0),  # the ablation: sync turns with streaming dispatch
])
async def test_dispatch_moment_by_mode(autojump_clock, mode, dispatch, first_start):
    run = await run_scenario(STREAMED, mode=mode, tools=TOOLS, settings=Settings(dispatch=dispatch))
    assert run.future("f1", "future_started").t == first_start
    # The call is announced as parsed mid-stream either way.
    assert run.of_type("tool_call_parsed")[0].t == 0.0


@pytest.mark.trio
async def test_early_wait_predicts_a_queued_call_from_what_it_waits_for(autojump_clock):
    # b (second response) waits for a (5 s by its prior), so b is predicted to finish at 5 s: no
    # reason to hold the next request for it, though b itself is instant.
    steps = [call("sleep", "a", seconds=5), "end", call("echo", "b", text="$a"), "end",
             {"say": "meanwhile", "tokens": 8}, {"need": ["b"]}, answer()]
    run = await run_scenario({"name": "t", "profile": {"ttft_s": 0.5, "tokens_per_s": 8}, "steps": steps},
                             tools=TOOLS, duration_priors={"sleep": 5.0, "echo": 0.0})
    second_end = run.of_type("request_finished")[1].t
    assert second_end < 5.0 and run.of_type("request_started")[2].t == second_end
    assert [e.id for e in run.of_type("future_placeholder")] == ["f1", "f2"]


def test_duration_keys_tell_commands_and_test_selections_apart():
    from asyncfc_tools import builtin_tools

    tools = builtin_tools()
    assert tools["shell"].duration_key({"command": "git diff --stat"}) == "shell:git diff"
    assert tools["shell"].duration_key({"command": "python -m pytest -q"}) == "shell:python pytest"
    assert tools["run_tests"].duration_key({}) == "run_tests"
    assert tools["run_tests"].duration_key({"paths": ["tests/test_a.py"]}) == "run_tests:some"
    assert tools["read_file"].duration_key({"path": "a.py"}) == "read_file"


def test_simulated_built_ins_keep_the_real_tools_declared_facts():
    from asyncfc_cli.model.scripted import parse_scenario
    from asyncfc_cli.simtools import simulated_tools
    from asyncfc_tools import ToolFacts, builtin_tools

    sc = parse_scenario({"name": "s", "steps": [
        {"call": "shell", "args": {"command": "make"}, "duration": 1, "result": "ok"},
        {"call": "custom", "args": {}, "duration": 1, "result": "ok"}, {"answer": "done"}]})
    tools = simulated_tools(sc)
    assert tools["shell"].facts == builtin_tools()["shell"].facts
    assert tools["shell"].duration_key({"command": "make all"}) == "shell:make all"
    assert tools["custom"].facts == ToolFacts()


def test_duration_priors_are_what_the_tools_declare_measured():
    from asyncfc_cli.durations import duration_priors
    from asyncfc_cli.tool_latencies import TOOL_LATENCIES
    from asyncfc_tools import builtin_tools

    priors = duration_priors(builtin_tools().values())
    assert priors["read_file"] == TOOL_LATENCIES["read_file"]
    assert priors["run_tests:some"] == TOOL_LATENCIES["run_tests_file"]
    assert "shell" not in priors  # commands vary too much: learnt as the session goes


@pytest.mark.trio
async def test_early_wait_predicts_a_long_queue_of_conflicting_calls_at_once(autojump_clock):
    # Every write to one key waits for all the earlier ones: predicting the last must visit each
    # future once, not every path through the queue (2**40 of them).
    writes = [call("put", path="k", value=str(i), seconds=0.001) for i in range(40)]
    steps = [*writes, "end", {"say": "meanwhile", "tokens": 8}, answer()]
    run = await run_scenario({"name": "t", "profile": {"ttft_s": 0.5, "tokens_per_s": 8}, "steps": steps},
                             tools=TOOLS, duration_priors={"put": 0.001})
    assert run.outcome.exit_code == 0 and len(run.of_type("future_finished")) == 40
    # all predicted to end within a first token: the next request waited for the queue
    assert run.of_type("future_placeholder") == []


def test_the_first_error_of_a_nested_group_is_the_error_itself():
    """``except*`` keeps trio's nesting: the outcome must come from the error, not a group."""
    from asyncfc_cli.errors import ModelError
    from asyncfc_cli.outcomes import first_error

    error = ModelError("the provider said no")
    group = ExceptionGroup("outer", [ExceptionGroup("inner", [error]), ModelError("later")])
    assert first_error(group) is error


@pytest.mark.trio
async def test_a_value_await_future_returned_counts_as_delivered_and_is_not_sent_again(autojump_clock):
    """await_future returns its values (``protocol_tools.Awaited``): they are delivered by it, once."""
    run = await run_scenario(OVERLAP, mode="async", tools=TOOLS, settings=Settings(early_wait=False))
    assert run.future("f2", "future_created").tool == "await_future"
    assert [(e.id, e.via) for e in run.of_type("future_delivered")] == [("f2", "tool"), ("f1", "await")]
    assert not [m for m in run.session.history if isinstance(m, UserMessage) and m.delivery]
