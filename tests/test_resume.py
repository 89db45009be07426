"""Resume: a session's transcript gives back its history exactly, and a resumed session continues it
(same id, same transcript, future ids counting on); `asyncfc sessions` lists what there is."""

from __future__ import annotations

import os

import pytest

from asyncfc_cli.config import Settings
from asyncfc_cli.errors import ConfigError
from asyncfc_cli.events import EventBus
from asyncfc_cli.model.base import AssistantMessage, SystemMessage, UserMessage
from asyncfc_cli.model.scripted import ScriptedClient, parse_scenario
from asyncfc_cli.session import Session
from asyncfc_cli.saved_sessions import (
    CONTINUE_TASK,
    expand_resume_flag,
    find_session,
    format_sessions,
    list_sessions,
    load_resumed,
    resolve_resume,
)
from asyncfc_cli.simtools import simulated_tools
from asyncfc_cli.transcript import TranscriptWriter, default_transcript_path, sessions_dir

FAST = {"ttft_s": 0, "tokens_per_s": 8}

FIRST = {"name": "first", "profile": FAST, "steps": [
    {"say": "Reading the code and running the tests.", "tokens": 4},
    {"call": "read_file", "as": "src", "args": {"path": "a.py"}, "duration": 0.1, "result": "x = 1"},
    {"call": "shell", "as": "tests", "args": {"command": "pytest -q"}, "duration": 2,
     "result": "1 failed"},
    {"need": ["src"]},
    {"say": "While the tests run: x should be 2.", "tokens": 32},
    {"call": "edit_file", "as": "fix", "args": {"path": "a.py", "old": "x = 1", "new": "x = 2"},
     "duration": 0.1, "result": "edited"},
    {"need": ["fix"]},
    {"answer": "Fixed x."},
]}
SECOND = {"name": "second", "profile": FAST, "steps": [
    {"call": "shell", "as": "again", "args": {"command": "pytest -q"}, "duration": 1,
     "result": "all passed"},
    {"need": ["again"]},
    {"answer": "All tests pass now."},
]}


async def play(scenario, workspace, task, *, history=(), session_id=None, transcript=None):
    """Run ``task`` in a session recording its transcript like the CLI does; return it and events."""
    sc = parse_scenario(scenario)
    bus = EventBus()
    events = []
    bus.subscribe(events.append)
    session = Session(model=ScriptedClient(sc), tools=simulated_tools(sc), bus=bus,
                      settings=Settings(model=f"scripted:{sc.name}"), workspace=workspace,
                      system_prompt="You are asyncfc.", history=history, session_id=session_id)
    path = transcript or default_transcript_path(workspace.root, session.session_id)
    writer = TranscriptWriter(path)
    bus.subscribe(writer)
    outcome = await session.run(task)
    writer.close()
    assert outcome.exit_code == 0, outcome.message
    return session, events


@pytest.mark.trio
async def test_resume_reproduces_the_history_exactly(workspace, autojump_clock):
    session, _ = await play(FIRST, workspace, "fix x")
    info = find_session(workspace.root)
    assert info.session_id == session.session_id
    resumed = load_resumed(info, workspace.root)
    assert list(resumed.history) == session.history
    # A rich history: system prompt, task, calls with placeholders, a delivery, the answer.
    assert isinstance(resumed.history[0], SystemMessage)
    assert any(isinstance(m, UserMessage) and m.delivery for m in resumed.history)
    assert isinstance(resumed.history[-1], AssistantMessage)


@pytest.mark.trio
async def test_a_resumed_session_continues_with_the_same_id_transcript_and_future_ids(
        workspace, autojump_clock):
    first, first_events = await play(FIRST, workspace, "fix x")
    calls_before = len([e for e in first_events if e.type == "future_created"])
    resumed, task = resolve_resume(workspace.root, "last", None)
    assert task == CONTINUE_TASK
    second, events = await play(SECOND, workspace, "run the tests again",
                                history=resumed.history, session_id=resumed.session_id,
                                transcript=resumed.transcript)
    assert second.history[: len(first.history)] == first.history
    assert second.history[len(first.history)] == UserMessage("run the tests again")
    created = [e.id for e in events if e.type == "future_created"]
    assert created[0] == f"f{calls_before + 1}"
    # One session, one transcript, holding the whole conversation; its turns add up.
    [info] = list_sessions(workspace.root)
    assert info.session_id == first.session_id and info.task == "fix x"
    requests = len([e for e in [*first_events, *events] if e.type == "request_started"])
    assert info.turns == requests
    assert list(load_resumed(find_session(workspace.root), workspace.root).history) == second.history


@pytest.mark.trio
async def test_sessions_are_listed_newest_first_and_found_by_prefix(workspace, autojump_clock):
    older, _ = await play(FIRST, workspace, "fix x")
    newer, _ = await play(SECOND, workspace, "run the tests")
    for session, stamp in ((older, 1_000_000), (newer, 2_000_000)):
        [path] = sessions_dir(workspace.root).glob(f"*-{session.session_id}.jsonl")
        os.utime(path, (stamp, stamp))
    listed = list_sessions(workspace.root)
    assert [s.session_id for s in listed] == [newer.session_id, older.session_id]
    info = listed[0]
    assert info.outcome == "finished" and info.model == "scripted:second"
    assert info.task == "run the tests" and info.messages > 2 and info.turns >= 2
    assert find_session(workspace.root, info.session_id[:6]).session_id == info.session_id
    table = format_sessions(listed)
    assert table.splitlines()[0].startswith("SESSION")
    assert info.session_id in table.splitlines()[1]


def test_resume_errors_say_what_to_do(workspace):
    with pytest.raises(ConfigError, match="no sessions recorded"):
        find_session(workspace.root)
    assert format_sessions([]) == "No sessions in this repository yet."


@pytest.mark.trio
async def test_unknown_session_reference_is_an_error_but_a_sentence_is_a_task(
        workspace, autojump_clock):
    session, _ = await play(FIRST, workspace, "fix x")
    with pytest.raises(ConfigError, match="--resume nosuch: no session"):
        resolve_resume(workspace.root, "nosuch", None)
    resumed, task = resolve_resume(workspace.root, "now add a test", None)
    assert (resumed.session_id, task) == (session.session_id, "now add a test")
    resumed, task = resolve_resume(workspace.root, str(resumed.transcript), "go on")
    assert (resumed.session_id, task) == (session.session_id, "go on")


def test_a_bare_resume_flag_means_the_latest_session():
    assert expand_resume_flag(["run", "--resume"]) == ["run", "--resume", "last"]
    assert expand_resume_flag(["run", "task", "--resume", "--headless"]) == [
        "run", "task", "--resume", "last", "--headless"]
    assert expand_resume_flag(["run", "--resume", "abc", "task"]) == ["run", "--resume", "abc", "task"]
    assert expand_resume_flag(["run", "--", "--resume"]) == ["run", "--", "--resume"]


@pytest.mark.trio
async def test_a_session_stopped_by_a_limit_resumes_with_a_word_on_lost_futures(
        workspace, autojump_clock):
    sc = parse_scenario(FIRST)
    bus = EventBus()
    session = Session(model=ScriptedClient(sc), tools=simulated_tools(sc), bus=bus,
                      settings=Settings(model="scripted:first", max_turns=1), workspace=workspace)
    writer = TranscriptWriter(default_transcript_path(workspace.root, session.session_id))
    bus.subscribe(writer)
    outcome = await session.run("fix x")
    writer.close()
    assert outcome.outcome == "turn_limit"  # the shell call f2 was a placeholder, then cancelled
    resumed, task = resolve_resume(workspace.root, "last", None)
    assert list(resumed.history) == session.history
    # The transcript recorded f2's end: the resumed session delivers it instead of a word of loss.
    [recovered] = resumed.recovered
    assert recovered.delivery and recovered.text.startswith('<future id="f2" status="cancelled">')
    assert task == CONTINUE_TASK
    # A session that died (no future_finished recorded) can only say the value is lost.
    path = resumed.transcript
    path.write_text("".join(line for line in path.read_text().splitlines(keepends=True)
                            if '"future_finished"' not in line))
    resumed, task = resolve_resume(workspace.root, "last", None)
    assert resumed.recovered == ()
    assert task.startswith("[The session was resumed. f2 did not finish")
    assert task.endswith(CONTINUE_TASK)
    _, task = resolve_resume(workspace.root, "last", "add a test")
    assert task.endswith("\n\nadd a test")


def test_the_tui_continues_a_resumed_session(workspace, tmp_path):
    """`asyncfc chat --resume`: the TUI's session (wired by build_engine) starts from the history."""
    import json

    import trio
    from trio.testing import MockClock

    from asyncfc_cli.app import build_engine
    from asyncfc_cli.tui import session_engine
    from asyncfc_cli.tui.app import AsyncfcApp
    from tui_helpers import run, wait_for

    first, _ = trio.run(play, FIRST, workspace, "fix x", clock=MockClock(autojump_threshold=0))
    resumed = load_resumed(find_session(workspace.root), workspace.root)
    scenario = tmp_path / "second.json"
    scenario.write_text(json.dumps({**SECOND, "profile": {"ttft_s": 0.01, "tokens_per_s": 4000},
                                    "steps": [{**SECOND["steps"][0], "duration": 0.05},
                                              *SECOND["steps"][1:]]}))
    settings = Settings(model=str(scenario), approval="auto")

    async def main() -> None:
        bus = EventBus()
        engine = build_engine(settings, workspace, bus=bus, interactive=True, simulate=True,
                              resume=resumed)
        app = AsyncfcApp(session_engine(engine), bus=bus)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.click("#prompt")  # as a user of `asyncfc chat --resume` does
            await pilot.press(*"run the tests again", "enter")
            await wait_for(pilot, lambda: app.state.outcome is not None)
            assert app.state.outcome.exit_code == 0
        session = engine.session
        assert session.session_id == first.session_id
        assert session.history[: len(first.history)] == first.history
        assert session.history[len(first.history)] == UserMessage("run the tests again")

    run(main)
    # Everything is in the one transcript.
    assert list(load_resumed(find_session(workspace.root), workspace.root).history)[: len(first.history)] == first.history
