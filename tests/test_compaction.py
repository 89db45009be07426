"""Model-written compaction: the model summarises the conversation and the summary replaces the older
history, automatically near the context window and on /compact; the futures protocol survives it;
a failed summary falls back to the deterministic compaction; a resume continues from the result.

Engine tests run on trio's MockClock (``autojump_clock``): exact, instant, no real time.
"""

from __future__ import annotations

import json

import pytest
import trio

from asyncfc_cli.config import Settings
from asyncfc_cli.context import ContextBudget, estimate_message_tokens
from asyncfc_cli.errors import ConfigError
from asyncfc_cli.events import EventBus
from asyncfc_cli.futures import gap_note_calls, placeholder
from asyncfc_cli.model.base import (
    AssistantMessage,
    ResponseEnd,
    SystemMessage,
    ToolCall,
    ToolMessage,
    Usage,
    UserMessage,
)
from asyncfc_cli.model.scripted import ScenarioPlayer, ScriptedClient, parse_scenario
from asyncfc_cli.saved_sessions import unfinished_futures
from asyncfc_cli.session import Session
from asyncfc_cli.simtools import simulated_tools
from asyncfc_cli.summary import (
    OWED_HEADER,
    Owed,
    is_summary_message,
    owed_in,
    owed_note,
    render_conversation,
    split_history,
    summary_message,
    summary_request,
)
from asyncfc_cli.transcript import history_from_events
from asyncfc_cli.workspace import Workspace
from asyncfc_prompts import SUMMARY_TAG, is_summary_request

BULK = "def helper(x):  # a line of code that fills the context\n" * 45  # ~2.5k characters

SUMMARY = "## Task\nRead the modules.\n\n## Next steps\nWait for the build (f1)."


class Recording:
    """A model client that records each request it is sent, then lets ``inner`` answer it."""

    def __init__(self, inner, *, price: float | None = None):
        self.inner, self.name, self.scripted = inner, inner.name, True
        self.requests: list[tuple[list, list]] = []
        self.price = price
        """USD per token, to give the scripted model's requests a cost."""

    async def wait_ready(self):
        pass

    async def stream(self, messages, tools):
        self.requests.append((list(messages), list(tools)))
        async for item in self.inner.stream(messages, tools):
            if isinstance(item, ResponseEnd) and self.price is not None:
                usage = item.usage
                item = ResponseEnd(Usage(usage.prompt_tokens, usage.completion_tokens,
                                         usage.total_tokens * self.price), item.finish_reason)
            yield item

    def summary_requests(self):
        return [m for m, _ in self.requests if asks_summary(m)]


def asks_summary(messages) -> bool:
    return isinstance(messages[-1], UserMessage) and is_summary_request(messages[-1].text)


def reading_scenario(reads: int = 5, *, summary: str | None = SUMMARY, after: list | None = None) -> dict:
    """A build that runs long (f1) while the model reads big files one by one (each needed at
    once), then whatever ``after`` says, then the answer."""
    steps: list = [{"call": "shell", "as": "build", "args": {"command": "make build"}, "duration": 500.0,
                    "result": "BUILD OK"}]
    for n in range(reads):
        steps += [{"call": "read_file", "as": f"r{n}", "args": {"path": f"m{n}.py"}, "duration": 0.1,
                   "result": BULK}, {"need": [f"r{n}"]}]
    data = {"name": "reads", "profile": {"ttft_s": 0.5, "tokens_per_s": 100},
            "steps": [*steps, *(after or []), {"answer": "done"}]}
    if summary is not None:
        data["summary"] = summary
    return data


def make_session(tmp_path, data: dict, *, window: int = 3000, price: float | None = None,
                 **settings) -> tuple[Session, Recording, list]:
    scenario = parse_scenario(data)
    model = Recording(ScriptedClient(scenario), price=price)
    bus = EventBus()
    events: list = []
    bus.subscribe(events.append)
    session = Session(model=model, tools=simulated_tools(scenario), bus=bus,
                      settings=Settings(model="scripted:reads", **settings), workspace=Workspace(tmp_path),
                      system_prompt="sys", context=ContextBudget(window=window, count=estimate_message_tokens))
    return session, model, events


def of_type(events, kind: str) -> list:
    return [e for e in events if e.type == kind]


# --------------------------------------------------------------------------------------------------
# Pure pieces


def history_with_calls() -> list:
    read = ToolCall("c1", "read_file", json.dumps({"path": "a.py"}))
    build = ToolCall("c2", "shell", json.dumps({"command": "make"}))
    return [SystemMessage("sys"), UserMessage("fix it"),
            AssistantMessage("Reading.", (read, build)),
            ToolMessage("c1", "read_file", BULK), ToolMessage("c2", "shell", placeholder("f2", "running")),
            AssistantMessage("Editing.", (ToolCall("c3", "edit_file", "{}"),)),
            ToolMessage("c3", "edit_file", "edited")]


def test_the_split_keeps_the_system_prompt_and_the_last_turn_and_counts_the_calls_before_it():
    history = history_with_calls()
    split = split_history(history)
    assert split.head == (history[0],) and split.tail == tuple(history[5:])
    assert split.older == tuple(history[1:5]) and split.calls == 2


def test_a_summary_alone_is_never_summarised_again():
    message = summary_message(SUMMARY, split_history(history_with_calls()), ())
    assert is_summary_message(message) and gap_note_calls(message.text) == 2  # ids count on from f3
    again = [SystemMessage("sys"), message, AssistantMessage("Going on.")]
    assert split_history(again) is None


def test_the_conversation_is_shown_as_text_with_future_ids_and_cut_results():
    text = render_conversation(history_with_calls()[1:], 100_000)
    assert 'call f1 read_file {"path": "a.py"}' in text and "call f3 edit_file" in text
    assert "RESULT of f2 shell:" in text and "characters cut" in text  # BULK cut to RESULT_CHARS
    assert len(render_conversation(history_with_calls()[1:], 4000)) < 4200


def test_the_request_offers_the_conversation_the_futures_owed_and_the_focus():
    owed = [Owed("f2", "shell", '{"command": "make"}', "running")]
    system, user = summary_request(history_with_calls()[1:5], owed, "the parser bug", 8000)
    assert isinstance(system, SystemMessage) and "## Next steps" in system.text
    assert user.text.startswith(f"<{SUMMARY_TAG}>") and is_summary_request(user.text)
    assert OWED_HEADER in user.text and "- f2 shell" in user.text and "still running" in user.text
    assert "focus on: the parser bug" in user.text


def test_the_owed_note_tells_a_background_process_from_a_value_on_its_way():
    note = owed_note([Owed("f4", "shell", '{"command": "npm run dev", "background": true}', "running", True),
                      Owed("f6", "grep", '{"pattern": "x"}', "done")])
    assert "- f4 shell" in note and "still running in the background" in note
    assert "- f6 grep" in note and "finished (done); its value is delivered before your next turn" in note
    assert "await_future" in note and '"$fN"' in note


def test_the_scripted_model_answers_a_summary_request_without_moving_its_script_on():
    player = ScenarioPlayer(parse_scenario(reading_scenario(1, summary=None)))
    request = summary_request(history_with_calls()[1:5], (), "", 8000)
    answer = player.respond(request, set())
    assert "reads" in answer.segments[0].text and not answer.calls
    first = player.respond([UserMessage("go")], {"shell", "read_file"})
    assert [c.name for c in first.calls] == ["shell", "read_file"]  # the script starts at its start


# --------------------------------------------------------------------------------------------------
# Automatic compaction near the window


@pytest.mark.trio
async def test_near_the_window_the_model_summarises_and_the_summary_replaces_the_older_history(
        tmp_path, autojump_clock):
    session, model, events = make_session(tmp_path, reading_scenario(6))
    outcome = await session.run("read the modules")
    assert outcome.exit_code == 0
    compactions = of_type(events, "conversation_compacted")
    assert compactions and all(e.by == "model" and e.reason == "auto" for e in compactions)
    first = compactions[0]
    assert first.summary == SUMMARY and first.messages_after < first.messages_before
    assert first.tokens_after < first.tokens_before
    # The summary request: the session's own model, no tools, the compact prompt.
    summaries = [(m, t) for m, t in model.requests if asks_summary(m)]
    assert len(summaries) == len(compactions) and all(tools == [] for _, tools in summaries)
    started = [e for e in of_type(events, "request_started") if e.purpose == "summary"]
    assert len(started) == len(compactions)
    # The history now starts with the summary; every request fits the window.
    assert isinstance(session.history[0], SystemMessage) and is_summary_message(session.history[1])
    assert SUMMARY in session.history[1].text
    for messages, tools in model.requests:
        if tools:
            assert estimate_message_tokens(messages) <= 3000
    # Its tokens count in the session's totals.
    finished = of_type(events, "session_finished")[-1]
    assert finished.usage["total_tokens"] == sum(e.usage["total_tokens"] for e in of_type(events, "request_finished"))


@pytest.mark.trio
async def test_automatic_compaction_is_bounded_when_the_last_turn_alone_is_too_big(tmp_path, autojump_clock):
    """A last turn bigger than the window: one summary, then the deterministic notes; never a loop."""
    data = reading_scenario(2)
    data["steps"][1]["result"] = BULK * 3  # the first read alone is past the trigger
    session, model, events = make_session(tmp_path, data, window=2000)
    assert (await session.run("read")).exit_code == 0
    # Before the second request only the task is older than the huge last turn: not worth a
    # summary. Before the third, one summary; after it, the summary alone is never summarised.
    kinds = [e.purpose for e in of_type(events, "request_started")]
    assert kinds == ["turn", "turn", "summary", "turn", "turn"]


# --------------------------------------------------------------------------------------------------
# The futures protocol survives compaction


@pytest.mark.trio
async def test_a_future_pending_at_compaction_is_still_referenced_awaited_and_delivered(tmp_path, autojump_clock):
    after = [{"call": "write_file", "as": "copy", "args": {"path": "build.log", "content": "$build"}},
             {"call": "grep", "as": "late", "args": {"pattern": "TODO"}, "duration": 1.0, "result": "no TODO"},
             {"need": ["build", "late"]}]
    session, model, events = make_session(tmp_path, reading_scenario(5, after=after))
    outcome = await session.run("read, then copy the build log")
    assert outcome.exit_code == 0
    compacted = of_type(events, "conversation_compacted")[0]
    build_done = next(e for e in of_type(events, "future_finished") if e.id == "f1")
    assert compacted.t < build_done.t  # the build was still running when the history was summarised
    # The summary message says f1 is owed, in the engine's words, not as a result.
    message = UserMessage(compacted.message["content"])
    assert owed_in(message) == ["f1"] and "f1 shell" in message.text and "still running" in message.text
    assert "BUILD OK" not in message.text
    # "$f1" after compaction: the copy waited for the build and got its value.
    copy = next(e for e in of_type(events, "future_created") if e.tool == "write_file")
    assert copy.deps == ("f1",)
    copy_started = next(e for e in of_type(events, "future_started") if e.id == copy.id)
    assert copy_started.t >= build_done.t
    # Future ids still agree between the model and the engine after the summary: the await names
    # the grep issued after compaction by the id the engine gave it.
    late = next(e for e in of_type(events, "future_created") if e.tool == "grep")
    awaited = [e for e in of_type(events, "future_created") if e.tool == "await_future"][-1]
    assert set(awaited.args["ids"]) == {"f1", late.id}
    # f1 reached the model exactly once, through the await.
    assert [(e.id, e.via) for e in of_type(events, "future_delivered") if e.id == "f1"] == [("f1", "await")]


@pytest.mark.trio
async def test_a_future_finished_but_undelivered_at_compaction_is_delivered_after_it(tmp_path, autojump_clock):
    after = [{"call": "shell", "as": "lint", "args": {"command": "ruff check"}, "duration": 0.2,
              "result": "All checks passed"},
             {"call": "read_file", "as": "tail", "args": {"path": "z.py"}, "duration": 0.1, "result": BULK},
             {"need": ["tail"]}, {"need": ["lint"]}]
    session, model, events = make_session(tmp_path, reading_scenario(5, after=after), window=4000)
    assert (await session.run("go")).exit_code == 0
    lint = next(e for e in of_type(events, "future_created") if e.tool == "shell" and e.id != "f1")
    delivered = [e for e in of_type(events, "future_delivered") if e.id == lint.id]
    assert len(delivered) == 1  # never lost, never twice


# --------------------------------------------------------------------------------------------------
# Failures fall back to the deterministic compaction


@pytest.mark.trio
async def test_an_empty_summary_falls_back_with_a_notice_and_loses_nothing(tmp_path, autojump_clock):
    session, model, events = make_session(tmp_path, reading_scenario(6, summary=""))
    assert (await session.run("read")).exit_code == 0
    compactions = of_type(events, "conversation_compacted")
    assert [(e.by, e.why) for e in compactions] == [("fallback", "the model's summary was empty")]
    assert any("did not summarise" in e.message for e in of_type(events, "notice"))
    assert not any(is_summary_message(m) for m in session.history)  # the history stays whole
    assert sum(isinstance(m, ToolMessage) for m in session.history) == len(of_type(events, "future_created"))
    assert len(model.summary_requests()) == 1  # not asked again within the task


@pytest.mark.trio
async def test_a_summary_the_cost_limit_has_no_room_for_is_not_requested(tmp_path, autojump_clock):
    session, model, events = make_session(tmp_path, reading_scenario(6), price=0.0001, max_cost=0.4)
    await session.run("read")
    compactions = of_type(events, "conversation_compacted")
    assert compactions[0].by == "fallback" and "cost limit" in compactions[0].why
    assert model.summary_requests() == []


@pytest.mark.trio
async def test_the_summary_counts_toward_the_cost_limit(tmp_path, autojump_clock):
    session, model, events = make_session(tmp_path, reading_scenario(6), price=0.00001, max_cost=10.0)
    await session.run("read")
    summary_turns = {e.turn for e in of_type(events, "request_started") if e.purpose == "summary"}
    summary_cost = sum(e.cost for e in of_type(events, "request_finished") if e.turn in summary_turns)
    assert summary_turns and summary_cost > 0
    assert session.usage.cost == pytest.approx(sum(e.cost for e in of_type(events, "request_finished")))


# --------------------------------------------------------------------------------------------------
# /compact between tasks, and resume


async def serving(session: Session, body) -> None:
    send, receive = trio.open_memory_channel[str](10)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(session.serve, receive)
        await body(send)
        await send.aclose()


@pytest.mark.trio
async def test_compact_with_a_focus_summarises_between_tasks_and_a_task_sent_meanwhile_waits(
        tmp_path, autojump_clock):
    session, model, events = make_session(tmp_path, reading_scenario(2), window=100_000)

    async def body(send):
        await send.send("read two modules")
        await trio.sleep(1000)
        assert of_type(events, "session_finished")
        session.start_compaction("the helper functions")
        with pytest.raises(ConfigError, match="a compaction is running"):
            session.start_compaction("")  # one at a time
        await send.send("what next?")
        await trio.sleep(1000)

    await serving(session, body)
    compacted = of_type(events, "conversation_compacted")
    assert [(e.by, e.reason, e.focus) for e in compacted] == [("model", "user", "the helper functions")]
    assert "focus on: the helper functions" in model.summary_requests()[0][-1].text
    # The second task began after the compaction ended and was sent the compacted history.
    second = [e for e in of_type(events, "user_message")][1]
    assert second.t >= compacted[0].t
    after = [m for m, tools in model.requests if tools][-1]
    assert is_summary_message(after[1]) and after[-1].text == "what next?"


@pytest.mark.trio
async def test_compact_whose_summary_fails_turns_old_results_into_notes_and_says_why(tmp_path, autojump_clock):
    session, model, events = make_session(tmp_path, reading_scenario(3, summary=""), window=100_000)

    async def body(send):
        await send.send("read")
        await trio.sleep(1000)
        session.start_compaction("")
        await trio.sleep(10)
        await send.send("go on")
        await trio.sleep(10)

    await serving(session, body)
    compacted = of_type(events, "conversation_compacted")
    assert [(e.by, e.reason, e.why) for e in compacted] == [("fallback", "user", "the model's summary was empty")]
    assert compacted[0].tokens_after < compacted[0].tokens_before
    assert any("did not summarise" in e.message for e in of_type(events, "notice"))
    last = [m for m, tools in model.requests if tools][-1]
    assert any(isinstance(m, ToolMessage) and m.content.startswith("[compacted") for m in last)
    assert not any(is_summary_message(m) for m in session.history)


@pytest.mark.trio
async def test_compact_cancelled_changes_nothing(tmp_path, autojump_clock):
    session, model, events = make_session(tmp_path, reading_scenario(2), window=100_000)

    async def body(send):
        await send.send("read")
        await trio.sleep(1000)
        before = list(session.history)
        session.start_compaction("")
        await trio.sleep(0.1)  # the summary request is streaming (ttft 0.5 s)
        session.cancel_turn()
        await trio.sleep(1)
        assert session.history == before

    await serving(session, body)
    assert [(e.by, e.reason) for e in of_type(events, "conversation_compacted")] == [("none", "user")]


@pytest.mark.trio
async def test_a_resumed_session_continues_from_the_compacted_history(tmp_path, autojump_clock):
    session, model, events = make_session(tmp_path, reading_scenario(6))
    await session.run("read")
    assert of_type(events, "conversation_compacted")
    rebuilt = history_from_events(events)
    assert rebuilt == session.history


def test_a_resume_knows_the_futures_a_summary_still_owed_will_not_come():
    split = split_history(history_with_calls())
    message = summary_message(SUMMARY, split, [Owed("f2", "shell", "{}", "running")])
    history = [SystemMessage("sys"), message, AssistantMessage("Done.")]
    assert unfinished_futures(history) == ["f2"]


# --------------------------------------------------------------------------------------------------
# Views


def test_the_text_view_says_a_summary_is_requested_and_what_compaction_did():
    import io

    from asyncfc_cli.events import ConversationCompacted, RequestStarted, TextDelta, event_from_dict, event_to_dict
    from asyncfc_cli.render.text import TextRenderer

    out = io.StringIO()
    view = TextRenderer(out, color=False)
    model = ConversationCompacted(3.0, by="model", reason="user", messages_before=40, messages_after=4,
                                  tokens_before=31_000, tokens_after=2_100, summary=SUMMARY)
    fallback = ConversationCompacted(9.0, by="fallback", reason="auto", tokens_before=90_000, tokens_after=50_000,
                                     why="the model request failed: HTTP 500")
    for event in (RequestStarted(1.0, turn=7, purpose="summary"), TextDelta(2.0, turn=7, text="## Task\nfix it"),
                  model, fallback):
        view(event)
    view.flush_text()
    text = out.getvalue()
    assert "model request 7 (summarising the conversation to compact it)" in text and "fix it" in text
    assert "compacted by the model's summary (as you asked): 40 -> 4 messages, about 31,000 -> 2,100" in text
    assert "compacted without a summary (near the context window)" in text
    assert event_from_dict(event_to_dict(model)) == model  # the JSON-lines log and transcripts carry it whole


def test_the_demo_scenario_answers_compact_with_its_own_summary():
    from asyncfc_cli.model.scripted import load_scenario

    player = ScenarioPlayer(load_scenario("demo"))
    answer = player.respond(summary_request([UserMessage("fix the tests")], (), "", 8000), set())
    assert answer.segments[0].text.startswith("## Task\nFix the failing tests")
