"""Nothing lost: a response cut by the provider, Ctrl-C or SIGTERM keeps the calls that ran in the
history; a resumed session's ids go on and it learns what its calls did; a reply cut by the output
limit is continued, then stopped with exit 1; bad await_future timeouts fail in words.

On trio's MockClock with a small model client that replays prepared responses (``Replies``), so
each cut lands at an exact point.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

import pytest
import trio

from asyncfc_cli.config import Settings
from asyncfc_cli.errors import EXIT_INTERRUPTED, EXIT_MODEL, EXIT_TERMINATED, EXIT_UNFINISHED, ProviderError
from asyncfc_cli.events import EventBus
from asyncfc_cli.model.base import (
    AssistantMessage,
    Message,
    ResponseEnd,
    StreamItem,
    TextChunk,
    ToolCall,
    ToolCallReady,
    ToolMessage,
    UserMessage,
)
from asyncfc_cli.output_limit import MAX_CONTINUATIONS
from asyncfc_cli.session import Session
from asyncfc_cli.saved_sessions import find_session, load_resumed
from asyncfc_cli.testing.harness import run_scenario
from asyncfc_cli.transcript import TranscriptWriter, default_transcript_path
from asyncfc_cli.workspace import Workspace

import engine_tools
from engine_tools import TOOLS

Step = StreamItem | BaseException | Callable[[], Any]
"""What a prepared response holds: items to yield, an exception to raise, or an async pause."""


def pause(seconds: float) -> Callable[[], Any]:
    return lambda: trio.sleep(seconds)


class Replies:
    """A ModelClient that answers request N with the N-th prepared response, and keeps what each
    request was shown."""

    name = "replies"
    scripted = True

    def __init__(self, *responses: Sequence[Step]) -> None:
        self._responses = list(responses)
        self.seen: list[list[Message]] = []

    async def wait_ready(self) -> None:
        pass

    async def stream(self, messages: Sequence[Message], tools: Sequence[Mapping[str, Any]]
                     ) -> AsyncIterator[StreamItem]:
        self.seen.append(list(messages))
        for step in self._responses[len(self.seen) - 1]:
            if isinstance(step, BaseException):
                raise step
            if callable(step):
                await step()
                continue
            yield step


def call(name: str, call_id: str, **args: Any) -> ToolCallReady:
    return ToolCallReady(ToolCall(call_id, name, json.dumps(args)))


BROKE_OFF = ProviderError("replies: the stream broke off", retryable=True)


@pytest.fixture(autouse=True)
def clean_store():
    engine_tools.STORE.clear()


def session_for(model: Replies, workspace: Workspace, *, mode: str = "async", transcript: bool = False,
                **options: Any) -> tuple[Session, list]:
    bus = EventBus()
    events: list = []
    bus.subscribe(events.append)
    session = Session(model=model, tools=TOOLS, bus=bus, workspace=workspace,
                      settings=Settings(model="replies", mode=mode), **options)
    if transcript:
        bus.subscribe(TranscriptWriter(default_transcript_path(workspace.root, session.session_id)))
    return session, events


def calls_in(history: Sequence[Message]) -> list[str]:
    return [c.name for m in history if isinstance(m, AssistantMessage) for c in m.tool_calls]


def tool_results(history: Sequence[Message]) -> dict[str, str]:
    return {m.call_id: m.content for m in history if isinstance(m, ToolMessage)}


# --------------------------------------------------------------------------------------------------
# A cut response keeps what ran


@pytest.mark.trio
async def test_a_stream_cut_after_a_write_keeps_the_write_in_the_history(workspace, autojump_clock):
    model = Replies([call("put", "c1", path="a.txt", value="new", seconds=0), pause(1), BROKE_OFF])
    session, _ = session_for(model, workspace)
    outcome = await session.run("write a.txt")
    assert outcome.exit_code == EXIT_MODEL
    assert engine_tools.STORE == {"a.txt": "new"}  # the write ran...
    assert calls_in(session.history) == ["put"]  # ...and the history says so, with its result
    assert tool_results(session.history) == {"c1": "stored a.txt"}


@pytest.mark.trio
async def test_ctrl_c_mid_stream_keeps_the_dispatched_calls_with_placeholders(workspace, autojump_clock):
    model = Replies([call("put", "c1", path="a.txt", value="new", seconds=0),
                     call("sleep", "c2", seconds=100), pause(math.inf)])
    session, _ = session_for(model, workspace)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(session.run, "go")
        await trio.sleep(5)
        session.cancel_turn()
    assert calls_in(session.history) == ["put", "sleep"]
    results = tool_results(session.history)
    assert results["c1"] == "stored a.txt"
    # The sleep was stopped by the same cancel: its message says so, or holds its placeholder.
    assert results["c2"] == "cancelled" or json.loads(results["c2"])["future"] == "f2"


@pytest.mark.trio
@pytest.mark.parametrize(("exit_code", "words"), [(EXIT_INTERRUPTED, "interrupted"),
                                                  (EXIT_TERMINATED, "SIGTERM")])
async def test_a_stop_while_a_sync_turn_waits_keeps_the_calls_and_ends_with_its_code(
        workspace, autojump_clock, exit_code, words):
    model = Replies([call("put", "c1", path="a.txt", value="new", seconds=0),
                     call("sleep", "c2", seconds=100), ResponseEnd(finish_reason="tool_calls")])
    session, events = session_for(model, workspace, mode="sync")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(session.run, "go")
        await trio.sleep(5)  # the sync turn is waiting for the 100 s sleep
        session.cancel_turn(exit_code=exit_code)
    finished = events[-1]
    assert (finished.type, finished.exit_code, finished.outcome) == ("session_finished", exit_code,
                                                                     "interrupted")
    assert words in finished.message
    assert calls_in(session.history) == ["put", "sleep"]
    assert tool_results(session.history)["c1"] == "stored a.txt"


# --------------------------------------------------------------------------------------------------
# Resume after a cut


@pytest.mark.trio
async def test_a_resumed_session_knows_what_ran_and_its_ids_go_on(workspace, autojump_clock):
    first = Replies([call("put", "c1", path="a.txt", value="new", seconds=0),
                     call("sleep", "c2", seconds=30), pause(10), BROKE_OFF])
    session, _ = session_for(first, workspace, transcript=True)
    assert (await session.run("write a.txt")).exit_code == EXIT_MODEL

    resumed = load_resumed(find_session(workspace.root), workspace.root)
    assert resumed.futures_issued == 2
    # f2 was a placeholder when the stream broke off; it finished (cancelled) after: delivered now.
    [late] = resumed.recovered
    assert late.delivery and late.text.startswith('<future id="f2" status="cancelled">')
    second = Replies([call("get", "c3", path="a.txt", seconds=0), pause(1),
                      ResponseEnd(finish_reason="tool_calls")], [TextChunk("done"), ResponseEnd()])
    again, events = session_for(second, workspace, history=resumed.history,
                                session_id=resumed.session_id, futures_issued=resumed.futures_issued,
                                recovered=resumed.recovered)
    assert (await again.run("continue")).exit_code == 0
    shown = second.seen[0]
    assert calls_in(shown) == ["put", "sleep"] and tool_results(shown)["c1"] == "stored a.txt"
    assert any(isinstance(m, UserMessage) and 'id="f2" status="cancelled"' in m.text for m in shown)
    created = [e.id for e in events if e.type == "future_created"]
    assert created == ["f3"]  # never a second f1


# --------------------------------------------------------------------------------------------------
# The output limit


def cut_reply(text: str = "Here is the first part", dropped: str = "") -> list[Step]:
    return [TextChunk(text), ResponseEnd(finish_reason="length", dropped_call=dropped)]


@pytest.mark.trio
async def test_a_reply_cut_by_the_output_limit_is_continued(workspace, autojump_clock):
    model = Replies(cut_reply(dropped="put"), [TextChunk("and the rest."), ResponseEnd()])
    session, _ = session_for(model, workspace)
    outcome = await session.run("explain")
    assert outcome.exit_code == 0 and outcome.outcome == "finished"
    note = model.seen[1][-1]
    assert isinstance(note, UserMessage) and "cut by the output limit" in note.text
    assert "The put call you were writing when it was cut was not run" in note.text
    assert model.seen[1][-2] == AssistantMessage("Here is the first part")


@pytest.mark.trio
async def test_replies_cut_again_and_again_stop_with_exit_1_and_say_why(workspace, autojump_clock):
    model = Replies(*[cut_reply() for _ in range(MAX_CONTINUATIONS + 1)])
    session, events = session_for(model, workspace)
    outcome = await session.run("explain")
    assert (outcome.outcome, outcome.exit_code) == ("output_limit", EXIT_UNFINISHED)
    assert "cut by the output limit" in outcome.message and "max_output_tokens" in outcome.message
    assert len(model.seen) == MAX_CONTINUATIONS + 1
    assert events[-1].exit_code == EXIT_UNFINISHED


# --------------------------------------------------------------------------------------------------
# await_future's timeout, checked in words


@pytest.mark.trio
@pytest.mark.parametrize("timeout", [-1, math.nan, math.inf])
async def test_await_future_refuses_a_timeout_that_is_not_seconds(autojump_clock, timeout):
    scenario = {"name": "t", "profile": {"ttft_s": 0, "tokens_per_s": 8}, "steps": [
        {"call": "sleep", "as": "s", "args": {"seconds": 1}, "tokens": 0},
        {"call": "await_future", "as": "w", "args": {"ids": ["f1"], "timeout_s": timeout}, "tokens": 0},
        "end",
        {"answer": "done", "tokens": 0},
    ]}
    run = await run_scenario(scenario, tools=TOOLS)
    finished = run.future("f2", "future_finished")
    assert finished.status == "failed"
    # NaN and infinity are refused for every number argument where arguments are checked; a
    # negative timeout by await_future itself
    words = "timeout_s must be a number of seconds, 0 or more" if timeout == -1 else "must be a finite number"
    assert words in finished.output
    assert "ExceptionGroup" not in finished.output
