"""Sub-agents: nested sessions as futures, on trio's MockClock (exact times).

Decode speed 8 tokens/s with no time to first token keeps every sum exact.
"""

import json

import pytest

from asyncfc_cli.config import Settings
from asyncfc_cli.events import event_to_dict
from asyncfc_cli.testing.harness import run_scenario

from engine_tools import TOOLS
from test_session import answer, call, scenario

def own(run, fid):
    """The parent's own future_finished event of ``fid`` (sub-agents number theirs from f1 too)."""
    return next(e for e in run.events if e.type == "future_finished" and e.id == fid and e.parent is None)


def sub_agent(label, task, *steps):
    """An agent call whose sub-agent plays ``steps``."""
    return {**call("agent", label, task=task), "agent": {"steps": list(steps)}}


def sleeper(seconds, result):
    """A sub-agent that sleeps ``seconds`` in a tool, then answers ``result``."""
    return (call("sleep", "s", seconds=seconds, result="slept"), {"need": ["s"]}, answer(result))


TWO_AGENTS = scenario(
    sub_agent("a", "look at the parser", *sleeper(3, "the parser is fine")),
    sub_agent("b", "look at the lexer", *sleeper(5, "the lexer drops tabs")),
    {"say": "meanwhile I think about the change", "tokens": 32},  # 4 s of decoding
    {"need": ["a", "b"]},
    answer("both answered"),
)


@pytest.mark.trio
async def test_two_sub_agents_and_the_parents_decoding_overlap_exactly(autojump_clock):
    run = await run_scenario(TWO_AGENTS, tools=TOOLS)
    assert run.outcome.exit_code == 0, run.outcome.message
    mine = [e for e in run.events if e.parent is None]
    finished = {e.id: e for e in mine if e.type == "future_finished"}
    assert (finished["f1"].t, finished["f1"].output) == (3.0, "the parser is fine")
    assert (finished["f2"].t, finished["f2"].output) == (5.0, "the lexer drops tabs")
    # Both sub-agents' tools started at once, while the parent was still decoding (until 4 s).
    nested_starts = [(e.parent, e.id, e.t) for e in run.events if e.parent and e.type == "future_started"]
    assert ("f1", "f1", 0.0) in nested_starts and ("f2", "f1", 0.0) in nested_starts
    # 4 s of text, then `await_future()` (one token) in the same response.
    assert [e.t for e in mine if e.type == "request_finished"][0] == 4.125
    # The parent awaited at 4 s and got both answers at 5 s: the longest sub-agent, not the sum.
    assert run.wall_s == 5.0


@pytest.mark.trio
async def test_sync_mode_waits_for_the_sub_agents_but_still_runs_them_together(autojump_clock):
    run = await run_scenario(TWO_AGENTS, mode="sync", tools=TOOLS)
    assert run.outcome.exit_code == 0
    assert run.wall_s == 5.0 + 4.0  # both sub-agents (5 s, together), then the 4 s of decoding


@pytest.mark.trio
async def test_sub_agent_events_carry_their_parent_and_stay_out_of_plain_subscribers(autojump_clock):
    run = await run_scenario(TWO_AGENTS, tools=TOOLS)
    nested = [e for e in run.events if e.parent]
    assert {e.parent for e in nested} == {"f1", "f2"}
    assert {e.type for e in nested} >= {"session_started", "future_created", "request_finished",
                                        "session_finished"}
    line = event_to_dict(next(e for e in nested if e.type == "future_created"))
    assert line["parent"] in ("f1", "f2") and line["tool"] == "sleep"
    assert "parent" not in event_to_dict(run.events[0])  # the session's own events keep their shape
    own_finishes = [e for e in run.events if e.type == "session_finished" and e.parent is None]
    assert len(own_finishes) == 1


@pytest.mark.trio
async def test_sub_agents_tokens_add_up_in_the_parents_totals(autojump_clock):
    run = await run_scenario(TWO_AGENTS, tools=TOOLS)
    requests = [e for e in run.events if e.type == "request_finished"]
    completion = sum(e.usage["completion_tokens"] for e in requests)
    nested = sum(e.usage["completion_tokens"] for e in requests if e.parent)
    assert nested > 0
    final = run.of_type("session_finished")[-1]
    assert final.parent is None and final.usage["completion_tokens"] == completion


CANCELLED = scenario(
    sub_agent("a", "a long investigation", *sleeper(10, "never")),
    {"say": "actually I do not need that", "tokens": 8},  # 1 s
    call("cancel_future", ids=["$a"]),
    answer("cancelled it"),
)


@pytest.mark.trio
async def test_cancelling_a_sub_agent_stops_its_own_futures(autojump_clock):
    run = await run_scenario(CANCELLED, tools=TOOLS)
    assert run.outcome.exit_code == 0
    agent = own(run, "f1")
    assert (agent.status, agent.t) == ("cancelled", 1.0)
    inner = [e for e in run.events if e.parent == "f1" and e.type == "future_finished"]
    # Its sleep and its await_future, in whichever order trio delivers the cancellation.
    assert sorted((e.id, e.status, e.t) for e in inner) == [("f1", "cancelled", 1.0), ("f2", "cancelled", 1.0)]
    assert not [e for e in run.events if e.parent == "f1" and e.t > 1.0]
    assert run.wall_s == 1.0


@pytest.mark.trio
async def test_a_sub_agent_gets_read_only_tools_unless_granted(autojump_clock):
    run = await run_scenario(
        scenario(sub_agent("a", "write something", call("put", "w", path="x", value="1"), {"need": ["w"]},
                           answer("wrote")),
                 {"need": ["a"]}, answer()),
        tools=TOOLS,
    )
    inner = next(e for e in run.events if e.parent == "f1" and e.type == "future_finished")
    assert inner.status == "failed" and "unknown tool 'put'" in inner.output
    granted = await run_scenario(
        scenario({**sub_agent("a", "write", call("put", "w", path="x", value="1"), {"need": ["w"]},
                              answer("wrote")), "args": {"task": "write", "tools": ["put"]}},
                 {"need": ["a"]}, answer()),
        tools=TOOLS,
    )
    assert own(granted, "f1").output == "wrote"


@pytest.mark.trio
async def test_granting_an_unknown_tool_fails_the_call_in_words(autojump_clock):
    run = await run_scenario(
        scenario({**call("agent", "a", task="x", tools=["nope"]), "agent": {"steps": [answer()]}},
                 {"need": ["a"]}, answer()),
        tools=TOOLS,
    )
    failed = own(run, "f1")
    assert failed.status == "failed"
    assert failed.output.startswith("agent: cannot grant tool 'nope'; a sub-agent may be given any of: sleep")


@pytest.mark.trio
async def test_a_sub_agent_that_runs_out_of_turns_fails_its_future_with_the_reason(autojump_clock):
    looping = [call("echo", f"e{i}", text="x") for i in range(5)]
    steps = [s for c in looping for s in (c, "end")]
    run = await run_scenario(
        scenario(sub_agent("a", "loop", *steps, answer()), {"need": ["a"]}, answer()),
        tools=TOOLS, settings=Settings(subagent_max_turns=2),
    )
    failed = own(run, "f1")
    assert failed.status == "failed"
    assert "the sub-agent stopped without finishing (turn_limit)" in failed.output
    assert run.outcome.exit_code == 0  # the parent goes on


def test_nested_events_serialise_to_one_json_tree():
    from asyncfc_cli.events import EventBus, FutureStarted

    bus = EventBus(clock=lambda: 0.0)
    seen, nested = [], []
    bus.subscribe(seen.append)
    bus.subscribe(nested.append, nested=True)
    bus.emit(FutureStarted, id="f1")
    bus.emit(FutureStarted, id="f1", parent="f3")
    assert [e.parent for e in seen] == [None]
    assert [json.loads(json.dumps(event_to_dict(e))).get("parent") for e in nested] == [None, "f3"]


@pytest.mark.trio
async def test_the_tui_state_folds_a_sub_agents_lanes_under_its_agent_future(autojump_clock):
    from asyncfc_cli.timeline_state import TimelineState

    run = await run_scenario(TWO_AGENTS, tools=TOOLS)
    state = TimelineState().apply_all(run.events)
    assert list(state.futures) == ["f1", "f1/f1", "f1/f2", "f2", "f2/f1", "f2/f2", "f3"]
    assert state.futures["f2/f1"].tool == "sleep" and state.futures["f2/f1"].finished == 5.0
    assert state.turns == 2  # the sub-agents' requests are not the session's turns...
    assert state.completion_tokens == run.of_type("session_finished")[-1].usage["completion_tokens"]  # ...but count
    assert state.outcome is not None and state.outcome.message == "both answered"


GRANTED_PUT = scenario(
    {**sub_agent("a", "write", call("put", "w", path="x", value="1"), {"need": ["w"]}, answer("wrote")),
     "args": {"task": "write", "tools": ["put"]}},
    {"need": ["a"]}, answer(),
)


def gate(policy, tmp_path, **options):
    from asyncfc_cli.approval import ApprovalGate
    from asyncfc_cli.events import EventBus

    def no_checkpoint(root, session_id):
        from asyncfc_cli.errors import WorkspaceError

        raise WorkspaceError("not a git repository")

    return ApprovalGate(policy, EventBus(), tmp_path, checkpoint=no_checkpoint, **options)


@pytest.mark.trio
async def test_a_granted_tool_stays_within_the_parents_approval_policy(autojump_clock, tmp_path):
    # Granting a tool that writes makes the agent call itself a mutation, decided by the policy.
    run = await run_scenario(GRANTED_PUT, tools=TOOLS, gate=gate("read-only", tmp_path))
    assert own(run, "f1").output.startswith("agent refused: the approval policy is read-only")
    assert not [e for e in run.events if e.parent]


@pytest.mark.trio
async def test_a_sub_agents_approval_is_asked_under_its_agent_futures_id(autojump_clock, tmp_path):
    import trio

    from asyncfc_cli.testing.harness import scenario_session

    ask = gate("ask", tmp_path, interactive=True)
    run = scenario_session(GRANTED_PUT, tools=TOOLS, gate=ask)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(run.session.run, "task")
        for fid in ("f1", "f1/f1"):  # the grant (the agent call), then its write
            while fid not in ask.pending:
                await trio.sleep(0.5)
            assert ask.resolve(fid, "once")
    assert own(run, "f1").output == "wrote"


def test_headless_json_lines_show_the_tree(tmp_path):
    """`asyncfc run --output jsonl` as a CI job reads it: the sub-agent's events under its future."""
    import os
    import subprocess
    import sys

    (tmp_path / "a.py").write_text("def parse():\n    pass\n")
    (tmp_path / "task.yaml").write_text(json.dumps({"name": "tree", "profile": "instant", "steps": [
        {"call": "agent", "as": "a", "args": {"task": "where is parse?"}, "agent": {"steps": [
            {"call": "grep", "as": "g", "args": {"pattern": "def parse"}}, {"need": ["g"]},
            {"answer": "a.py:1"}]}},
        {"need": ["a"]}, {"answer": "done"}]}))
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "XDG_STATE_HOME": str(tmp_path / "state"),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    out = subprocess.run([sys.executable, "-m", "asyncfc_cli", "run", "find parse", "--model", "task.yaml",
                          "--headless", "--output", "jsonl"], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr
    events = [json.loads(line) for line in out.stdout.splitlines()]
    nested = [e for e in events if "parent" in e]
    assert {e["parent"] for e in nested} == {"f1"}
    assert [e["tool"] for e in nested if e["type"] == "future_created"] == ["grep", "await_future"]
    grep = next(e for e in nested if e["type"] == "future_finished" and e["id"] == "f1")
    assert grep["output"].startswith("a.py:1: def parse():")
    agent = next(e for e in events if e["type"] == "future_finished" and e["id"] == "f1" and "parent" not in e)
    assert agent["output"] == "a.py:1"
    assert events[-1]["type"] == "session_finished" and "parent" not in events[-1]


@pytest.mark.trio
async def test_a_transcript_keeps_the_tree_and_resume_reads_only_the_sessions_own(autojump_clock, tmp_path):
    from asyncfc_cli.transcript import TranscriptWriter, history_from_events, read_events
    from asyncfc_cli.testing.harness import scenario_session

    run = scenario_session(TWO_AGENTS, tools=TOOLS)
    writer = TranscriptWriter(tmp_path / "t.jsonl")
    run.session.bus.subscribe(writer, nested=True)
    await run.session.run("task")
    writer.close()
    own = list(read_events(tmp_path / "t.jsonl"))
    tree = list(read_events(tmp_path / "t.jsonl", nested=True))
    assert all(e.parent is None for e in own) and len(tree) > len(own)
    assert [e.type for e in tree].count("session_started") == 3  # none became a resume
    assert history_from_events(tree) == history_from_events(own) == run.session.history


@pytest.mark.trio
async def test_the_user_cancels_one_future_of_a_sub_agent_by_its_lane_id(autojump_clock):
    import trio

    from asyncfc_cli.testing.harness import scenario_session

    run = scenario_session(TWO_AGENTS, tools=TOOLS)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(run.session.run, "task")
        await trio.sleep(1)
        run.session.cancel_future("f1/f1")  # what `c` on that lane of the TUI does
        run.session.cancel_future("f9/f1")  # no such sub-agent: nothing happens
    inner = next(e for e in run.events if e.parent == "f1" and e.type == "future_finished" and e.id == "f1")
    assert (inner.status, inner.t, inner.output) == ("cancelled", 1.0, "cancelled by the user")
    assert own(run, "f1").status == "done" and own(run, "f2").output == "the lexer drops tabs"


@pytest.mark.trio
async def test_sub_agents_run_in_the_sessions_own_tool_context(autojump_clock, tmp_path):
    """Its sandbox, limits and settings: a sub-agent's commands are confined like the parent's."""
    from asyncfc_cli.scripted_subagents import scripted_kit
    from asyncfc_cli.subagent import attach_subagents
    from asyncfc_cli.testing.harness import scenario_session
    from asyncfc_tools import ToolContext, ToolSettings, pure, tool

    @tool(effect=pure())
    async def where(ctx: ToolContext) -> str:
        """Say which context the call runs in."""
        return "the session's" if ctx.settings.grep_max_matches == 7 else "another context"

    run = scenario_session(
        scenario(sub_agent("a", "where?", call("where", "w"), {"need": ["w"]}, answer("$w")),
                 {"need": ["a"]}, answer()),
        tools={**TOOLS, "where": where})
    session = run.session
    attach_subagents(session, scripted_kit(session.model, lambda: session.tools),
                     ctx=ToolContext(tmp_path, settings=ToolSettings(grep_max_matches=7)))
    await session.run("task")
    inner = next(e for e in run.events if e.parent == "f1" and e.type == "future_finished" and e.id == "f1")
    assert inner.output == "the session's"
