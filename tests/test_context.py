"""Context budget: compaction keeps every tool call paired with its result, for OpenAI- and
Anthropic-style requests, and replaces the oldest bulky results with notes first."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from asyncfc_cli.context import (
    DEFAULT_WINDOW,
    ContextBudget,
    byte_bound,
    compact,
    context_window,
    estimate_message_tokens,
    message_counter,
    note_for,
)
from asyncfc_cli.futures import future_block, placeholder
from asyncfc_cli.model.base import (
    AssistantMessage,
    Message,
    SystemMessage,
    ToolCall,
    ToolMessage,
    UserMessage,
)
from asyncfc_cli.model.wire import messages_to_wire
from asyncfc_tools import builtin_tools

BULK = "x = compute(1, 2, 3)  # some code line\n" * 60  # ~2400 characters


def conversation(turns: int = 6) -> list[Message]:
    """A session's history: each turn reads a file (done at once) and runs the tests (handed out as
    a placeholder, delivered before the next request); the last turn awaits the tests; then the
    final answer."""
    history: list[Message] = [SystemMessage("You are asyncfc."), UserMessage("fix the bug")]
    future = 0
    for turn in range(turns):
        read = ToolCall(f"call_r{turn}", "read_file", json.dumps({"path": f"src/mod{turn}.py"}), 0)
        tests = ToolCall(f"call_t{turn}", "run_tests", "{}", 1)
        history.append(AssistantMessage(f"Turn {turn}.", (read, tests)))
        history.append(ToolMessage(read.call_id, "read_file", f"# mod{turn}\n" + BULK))
        history.append(ToolMessage(tests.call_id, "run_tests", placeholder(f"f{future + 2}", "running")))
        history.append(UserMessage(future_block(f"f{future + 2}", "done", "1 failed\n" + BULK),
                                   delivery=True))
        future += 2
    wait = ToolCall("call_await", "await_future", json.dumps({"ids": ["f2"]}), 0)
    history.append(AssistantMessage("", (wait,)))
    history.append(ToolMessage("call_await", "await_future", future_block("f2", "done", BULK)))
    history.append(AssistantMessage("Fixed it: ran the tests, all pass."))
    return history


def assert_openai_pairs(messages: Sequence[Message]) -> None:
    """Every assistant tool call is answered by a tool message right after it, and vice versa."""
    wire = messages_to_wire(messages)
    for index, message in enumerate(wire):
        if message["role"] == "assistant" and message.get("tool_calls"):
            wanted = {c["id"] for c in message["tool_calls"]}
            answered = set()
            for follower in wire[index + 1:]:
                if follower["role"] != "tool":
                    break
                answered.add(follower["tool_call_id"])
            assert answered == wanted, f"message {index}: calls {wanted} answered {answered}"
    calls = {c["id"] for m in wire for c in m.get("tool_calls") or ()}
    assert {m["tool_call_id"] for m in wire if m["role"] == "tool"} <= calls


def assert_anthropic_pairs(messages: Sequence[Message]) -> None:
    """Through litellm's own Anthropic request transformation: each tool_use id has a tool_result
    in the user message that follows it."""
    from litellm.llms.anthropic.chat.transformation import AnthropicConfig

    request = AnthropicConfig().transform_request(
        model="claude-sonnet-4-5", messages=messages_to_wire(messages), optional_params={},
        litellm_params={}, headers={})
    sent = request["messages"]
    uses = 0
    for index, message in enumerate(sent):
        if message["role"] != "assistant" or isinstance(message["content"], str):
            continue
        ids = {b["id"] for b in message["content"] if b.get("type") == "tool_use"}
        if not ids:
            continue
        uses += len(ids)
        reply = sent[index + 1]
        assert reply["role"] == "user"
        results = {b["tool_use_id"] for b in reply["content"] if b.get("type") == "tool_result"}
        assert ids <= results, f"tool_use {ids - results} has no tool_result"
    assert uses == sum(len(m.tool_calls) for m in messages if isinstance(m, AssistantMessage))


def count(messages: Sequence[Message]) -> int:
    return estimate_message_tokens(messages)


RECALLS = {name: spec.facts.recall for name, spec in builtin_tools().items()}
"""What the built-in tools declare compaction says of their removed outputs."""


def test_a_note_says_what_the_tool_declares_and_the_default_for_a_tool_it_does_not_know():
    read = ToolCall("c1", "read_file", '{"path": "a.py"}', 0)
    assert note_for(read, 900, RECALLS).endswith(
        'of read_file removed; to see it again, call read_file with {"path": "a.py"}.]')
    shell = ToolCall("c2", "shell", '{"command": "make"}', 0)
    assert "re-run the command if you need it (mind its side effects)" in note_for(shell, 900, RECALLS)
    assert note_for(shell, 900, {}).endswith('call shell with {"command": "make"} to see it again.]')
    write = ToolCall("c3", "write_file", '{"path": "a.py", "content": "x"}', 0)
    assert note_for(write, 900, RECALLS).endswith('the change was made: read_file {"path": "a.py"} shows it.]')


def test_under_budget_nothing_changes():
    history = conversation()
    assert compact(history, 10**6, count) == history


def test_oldest_bulky_results_become_notes_saying_how_to_get_them_again():
    history = conversation()
    budget = count(history) - 1500
    out = compact(history, budget, count, recalls=RECALLS)
    assert count(out) <= budget
    assert len(out) == len(history)  # notes only: nothing dropped
    first_read = out[3]
    assert isinstance(first_read, ToolMessage)
    assert first_read.content.startswith("[compacted to save context")
    assert 'call read_file with {"path": "src/mod0.py"}' in first_read.content
    # The most recent results are untouched; so are the task and the system prompt.
    assert out[-6:] == history[-6:]
    assert out[:2] == history[:2]
    assert_openai_pairs(out)


def test_delivered_blocks_keep_their_tags_and_name_their_call():
    history = conversation()
    out = compact(history, count(history) // 3, count, recalls=RECALLS)
    delivery = out[5]
    assert isinstance(delivery, UserMessage) and delivery.delivery
    assert delivery.text.startswith('<future id="f2" status="done">[compacted')
    assert delivery.text.endswith("</future>")
    assert "run the tests again" in delivery.text  # f2 is the first run_tests call


def test_compacted_conversation_is_valid_for_openai_and_anthropic():
    history = conversation()
    for budget in (count(history) - 1500, count(history) // 3, 400):
        out = compact(history, budget, count)
        assert_openai_pairs(out)
        assert_anthropic_pairs(out)


def test_when_notes_are_not_enough_oldest_whole_turns_are_dropped():
    history = conversation()
    out = compact(history, 400, count)
    assert len(out) < len(history)
    assert out[:2] == history[:2]  # system prompt and task stay
    assert isinstance(out[2], UserMessage) and "removed to save context" in out[2].text
    remaining = sum(len(m.tool_calls) for m in out if isinstance(m, AssistantMessage))
    assert f"tool calls f1 to f{13 - remaining}." in out[2].text  # ids can still be counted
    assert out[-1] == history[-1]  # the last turn stays as it was
    assert [type(m) for m in out[-3:]] == [AssistantMessage, ToolMessage, AssistantMessage]
    assert_openai_pairs(out)
    assert_anthropic_pairs(out)


def test_recent_results_become_notes_before_any_turn_is_dropped():
    history = conversation()
    budget = 2000  # less than notes on every old result reach (about 2100)
    out = compact(history, budget, count)
    assert len(out) == len(history) and count(out) <= budget
    assert "[compacted" in out[-2].content  # the await result of the second-to-last turn
    assert out[-1] == history[-1]


def test_repeated_drops_leave_one_gap_note_counting_every_dropped_call():
    history = conversation()
    once = compact(history, 1500, count, keep_recent=1)
    twice = compact([*once, UserMessage("more")], 700, count, keep_recent=1)
    notes = [m for m in twice if isinstance(m, UserMessage) and "removed to save context" in m.text]
    assert len(notes) == 1
    remaining = sum(len(m.tool_calls) for m in twice if isinstance(m, AssistantMessage))
    assert f"f1 to f{13 - remaining}." in notes[0].text
    assert_openai_pairs(twice)
    assert_anthropic_pairs(twice)


@pytest.mark.trio
async def test_context_budget_compacts_only_past_its_trigger():
    history = conversation()
    size = count(history)
    roomy = ContextBudget(window=size * 2, count=count)
    assert await roomy.fit(history) == history
    tight = ContextBudget(window=int(size * 1.05), count=count)
    fitted = await tight.fit(history)
    assert count(fitted) <= int(size * 1.05 * 0.6)
    assert_openai_pairs(fitted)


@pytest.mark.trio
async def test_compaction_is_remembered_so_the_request_prefix_stays_stable():
    history = conversation()
    budget = ContextBudget(window=int(count(history) * 1.05), count=count)
    first = await budget.fit(history)
    assert first != history
    history.append(UserMessage("one more thing"))
    second = await budget.fit(history)
    assert second == [*first, history[-1]]  # same prefix: the provider's prompt cache still hits
    assert len(history) == len(conversation()) + 1  # the history itself is never rewritten


def test_blocks_are_named_by_placeholder_even_after_turns_were_dropped():
    history = conversation()
    dropped = compact(history, 1000, count)  # the first turns are gone: counting calls is off
    assert any(isinstance(m, UserMessage) and "removed to save context" in m.text for m in dropped)
    tests = ToolCall("call_t9", "run_tests", "{}", 0)
    later = [*dropped, UserMessage("and now?"), AssistantMessage("", (tests,)),
             ToolMessage("call_t9", "run_tests", placeholder("f40", "running")),
             UserMessage(future_block("f40", "done", BULK), delivery=True),
             AssistantMessage("done")]
    out = compact(later, count(later) - 900, count, keep_recent=1, recalls=RECALLS)
    assert '<future id="f40" status="done">[compacted' in out[-2].text
    assert "run the tests again" in out[-2].text  # f40 found through its placeholder


def test_counters_and_windows():
    assert message_counter("scripted:demo") is estimate_message_tokens
    assert message_counter(None) is estimate_message_tokens
    history = conversation(1)
    tokens = message_counter("openai/gpt-4.1")(history)
    assert 0.5 * count(history) < tokens < 2 * count(history)
    assert message_counter("nonsense-provider/some-model")(history) > 0
    assert context_window("openai/gpt-4.1") > 500_000
    assert context_window("ollama/unknown-model") == DEFAULT_WINDOW
    assert context_window("scripted:demo") == DEFAULT_WINDOW
    assert context_window("openai/gpt-4.1", 32_000) == 32_000


@pytest.mark.parametrize("keep_recent", [1, 2, 4])
def test_recent_turns_are_kept_as_they_are_while_older_notes_suffice(keep_recent):
    history = conversation()
    out = compact(history, count(history) - 1500, count, keep_recent=keep_recent)
    starts = [i for i, m in enumerate(history) if isinstance(m, AssistantMessage)]
    protected = history[starts[-keep_recent]:]
    assert out[-len(protected):] == protected


class Recording:
    """A ModelClient that records what each request carried, then plays a scripted scenario."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.scripted, self.requests = inner, inner.name, True, []

    async def wait_ready(self):
        pass

    def stream(self, messages, tools):
        self.requests.append(list(messages))
        return self.inner.stream(messages, tools)


@pytest.mark.trio
async def test_a_session_sends_compacted_requests_and_keeps_its_full_history(tmp_path, autojump_clock):
    from asyncfc_cli.config import Settings
    from asyncfc_cli.events import EventBus
    from asyncfc_cli.model.scripted import ScriptedClient, parse_scenario
    from asyncfc_cli.session import Session
    from asyncfc_cli.simtools import simulated_tools
    from asyncfc_cli.workspace import Workspace

    steps = []
    for n in range(6):
        steps += [{"call": "read_file", "as": f"r{n}", "args": {"path": f"m{n}.py"}, "duration": 0.1,
                   "result": BULK},
                  {"need": [f"r{n}"]}]
    # An empty summary: the model cannot summarise, so the deterministic compaction does the work.
    sc = parse_scenario({"name": "big", "profile": {"ttft_s": 0, "tokens_per_s": 8},
                         "steps": [*steps, {"answer": "done"}], "summary": ""})
    model = Recording(ScriptedClient(sc))
    bus = EventBus()
    events = []
    bus.subscribe(events.append)
    session = Session(model=model, tools=simulated_tools(sc), bus=bus,
                      settings=Settings(model="scripted:big"), workspace=Workspace(tmp_path),
                      system_prompt="sys", context=ContextBudget(window=3000, count=count))
    outcome = await session.run("read everything")
    assert outcome.exit_code == 0
    last = model.requests[-1]
    assert any(isinstance(m, ToolMessage) and "[compacted" in m.content for m in last)
    assert count(last) <= 3000 * 0.85
    assert_openai_pairs(last)
    assert not any(isinstance(m, ToolMessage) and "[compacted" in m.content
                   for m in session.history)  # the history (and so the transcript) stays whole
    fallbacks = [e for e in events if e.type == "conversation_compacted"]
    assert [(e.by, e.reason) for e in fallbacks] == [("fallback", "auto")]  # one summary tried, not again
    assert fallbacks[0].why == "the model's summary was empty"
    assert any(e.type == "notice" and "did not summarise" in e.message for e in events)


@pytest.mark.trio
async def test_the_exact_count_is_paid_only_near_the_limit():
    calls = []

    def exact(messages):
        calls.append(len(messages))
        return estimate_message_tokens(messages)

    history = [UserMessage("x" * 400) for _ in range(5)]
    far = ContextBudget(window=100_000, count=exact)
    assert await far.fit(history) == history and calls == []  # ~2 KB can never be 85k tokens
    near = ContextBudget(window=byte_bound(history), count=exact)
    await near.fit(history)
    assert calls  # within the bytes bound: the tokenizer decides


def test_the_scripted_model_keeps_counting_future_ids_across_a_gap_note():
    from asyncfc_cli.futures import gap_note_text
    from asyncfc_cli.model.scripted import ScenarioPlayer, parse_scenario

    script = parse_scenario({"name": "gap", "steps": [
        {"call": "read_file", "as": "a", "args": {"path": "a.py"}},
        {"call": "write_file", "args": {"path": "b.py", "content": "$a"}},
        {"answer": "done"},
    ]})
    history = [UserMessage("task"), UserMessage(gap_note_text(5)),
               AssistantMessage("", (ToolCall("c9", "grep", "{}"),)), ToolMessage("c9", "grep", "x")]
    planned = ScenarioPlayer(script).respond(history, {"read_file", "write_file"})
    assert json.loads(planned.calls[1].arguments)["content"] == "$f7"  # f1-f5 dropped, f6 in view


@pytest.mark.trio
async def test_a_budget_whose_counting_blocks_counts_off_the_event_loop():
    import threading

    threads = []

    def slow_count(messages):
        threads.append(threading.current_thread())
        return estimate_message_tokens(messages)

    history = [UserMessage("x" * 400) for _ in range(5)]
    for blocking in (True, False):
        await ContextBudget(window=byte_bound(history), count=slow_count, blocking=blocking).fit(history)
    assert threads[0] is not threading.main_thread() and threads[1] is threading.main_thread()
