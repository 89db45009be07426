"""A resumed session records one `session_resumed` (never a second `session_started`) and its clock
counts on from the transcript's last time, however often it is resumed; every reader of transcripts
(resume itself, the sessions list, the TUI's state and replay, the text view, the approval gate's
checkpoint naming) reads such transcripts, and older ones written with a second start, alike."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import trio
from trio.testing import MockClock

from asyncfc_cli import events as ev
from asyncfc_cli.app import build_engine
from asyncfc_cli.approval import ApprovalGate
from asyncfc_cli.checkpoint import Checkpoint
from asyncfc_cli.config import Settings
from asyncfc_cli.render.text import TextRenderer
from asyncfc_cli.saved_sessions import find_session, list_sessions, load_resumed
from asyncfc_cli.transcript import TranscriptWriter, read_events
from asyncfc_cli.timeline_state import TimelineState
from asyncfc_cli.workspace import Workspace
from asyncfc_cli.model.base import UserMessage
from asyncfc_cli.scheduler import GateRequest
from asyncfc_tools import builtin_tools
from tools_repo import context, make_repo

FAST = {"ttft_s": 0.2, "tokens_per_s": 20}
# Reads only: a mutating call makes a git checkpoint in a worker thread, which virtual time would
# jump across (see test_a_resumed_run_names_its_checkpoint_after_the_session for that part).
FIRST = {"name": "first", "profile": FAST, "steps": [
    {"say": "Reading the code.", "tokens": 8},
    {"call": "read_file", "as": "src", "args": {"path": "a.py"}, "duration": 0.5, "result": "x = 1"},
    {"need": ["src"]},
    {"call": "grep", "as": "uses", "args": {"pattern": "x"}, "duration": 0.25, "result": "a.py:1"},
    {"need": ["uses"]},
    {"answer": "x is 1."},
]}
AGAIN = {"name": "again", "profile": FAST, "steps": [
    {"call": "read_file", "as": "again", "args": {"path": "a.py"}, "duration": 1.0, "result": "x = 1"},
    {"need": ["again"]},
    {"answer": "Still 1."},
]}
WRITE = {"name": "write", "profile": {"ttft_s": 0.01, "tokens_per_s": 4000}, "steps": [
    {"call": "write_file", "as": "w", "args": {"path": "a.py", "content": "x = 2\n"},
     "duration": 0.01, "result": "wrote a.py"},
    {"need": ["w"]},
    {"answer": "Wrote."},
]}


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return Workspace(make_repo(tmp_path / "repo", {"a.py": "x = 1\n"}))


async def run_engine(workspace: Workspace, scenario: dict, task: str, resume=None) -> list[ev.Event]:
    """Run ``task`` as `asyncfc run [--resume]` wires it (build_engine, transcript, real gate)."""
    path = workspace.root.parent / f"{scenario['name']}.json"
    path.write_text(json.dumps(scenario))
    bus = ev.EventBus()
    seen: list[ev.Event] = []
    bus.subscribe(seen.append)
    engine = build_engine(Settings(model=str(path), approval="auto"), workspace, bus=bus,
                          simulate=True, resume=resume)
    outcome = await engine.session.run(task)
    assert engine.transcript is not None
    engine.transcript.close()
    assert outcome.exit_code == 0, outcome.message
    return seen


def raw(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def types(events) -> list[str]:
    return [e["type"] if isinstance(e, dict) else e.type for e in events]


def assert_one_clock(records: list[dict]) -> None:
    times = [r["t"] for r in records]
    assert times == sorted(times), "t went backwards in one transcript"
    assert types(records).count("session_started") == 1 and types(records)[0] == "session_started"


@pytest.mark.trio
async def test_a_resumed_session_records_that_it_resumed_and_its_clock_goes_on(workspace, autojump_clock):
    first = await run_engine(workspace, FIRST, "fix x")
    info = find_session(workspace.root)
    resumed = load_resumed(info, workspace.root)
    assert resumed.continues_at == pytest.approx(first[-1].t) and first[-1].t > 1.0
    assert resumed.prior_turns == types(first).count("request_started") == 3

    second = await run_engine(workspace, AGAIN, "once more", resume=resumed)
    start = second[0]
    assert type(start) is ev.SessionResumed and start.type == "session_resumed"
    assert (start.session_id, start.continues_at, start.prior_turns) == (
        resumed.session_id, resumed.continues_at, 3)
    assert start.t == pytest.approx(resumed.continues_at)  # no time passes between the two
    records = raw(info.path)
    assert_one_clock(records)
    assert types(records).count("session_resumed") == 1
    # Its own timings are a fresh run's, shifted by where it continues.
    fresh = await run_engine(workspace, AGAIN, "once more")
    def timings(events, origin):  # (a fresh run also records its system prompt: leave messages out)
        return [(e.type, round(e.t - origin, 6)) for e in events[1:] if e.type != "message_appended"]

    assert timings(second, start.t) == timings(fresh, 0.0)


def test_a_resumed_run_names_its_checkpoint_after_the_session(workspace):
    """The gate takes the session id from the start event, a resumed one too (real time: the
    checkpoint is a git commit in a worker thread; nothing here depends on timing)."""
    trio.run(run_engine, workspace, WRITE, "write")
    resumed = load_resumed(find_session(workspace.root), workspace.root)
    trio.run(run_engine, workspace, WRITE, "write again", resumed)
    checkpoints = [r["ref"] for r in raw(resumed.transcript) if r["type"] == "checkpoint_created"]
    assert len(checkpoints) == 2 and all(ref.endswith("-" + resumed.session_id) for ref in checkpoints)


@pytest.mark.trio
async def test_resuming_twice_keeps_one_start_one_clock_and_the_whole_history(workspace, autojump_clock):
    await run_engine(workspace, FIRST, "fix x")
    second = await run_engine(workspace, AGAIN, "again", resume=load_resumed(find_session(workspace.root), workspace.root))
    once = load_resumed(find_session(workspace.root), workspace.root)
    assert once.continues_at == pytest.approx(second[-1].t)
    assert once.prior_turns == 3 + types(second).count("request_started") == 5
    third = await run_engine(workspace, AGAIN, "and again", resume=once)
    assert third[0].type == "session_resumed" and third[0].prior_turns == 5
    assert third[0].continues_at == pytest.approx(second[-1].t)

    [info] = list_sessions(workspace.root)
    records = raw(info.path)
    assert_one_clock(records)
    assert types(records).count("session_resumed") == 2
    assert info.turns == types(records).count("request_started") == 7
    assert info.task == "fix x" and info.outcome == "finished"
    history = load_resumed(info, workspace.root).history
    assert [m.text for m in history if isinstance(m, UserMessage) and not m.delivery] == [
        "fix x", "again", "and again"]


def test_a_resumed_part_that_crashed_counts_and_leaves_the_session_unfinished(tmp_path):
    path = tmp_path / "s.jsonl"
    writer = TranscriptWriter(path)
    for event in (
        ev.SessionStarted(t=0.0, session_id="abc", model="m", mode="async"),
        ev.UserMessage(t=0.0, text="task"),
        ev.RequestStarted(t=0.1, turn=1),
        ev.MessageAppended(t=0.1, message={"role": "user", "content": "task"}),
        ev.SessionFinished(t=2.0, outcome="finished", exit_code=0, turns=1),
        ev.SessionResumed(t=2.0, session_id="abc", model="m", mode="async", continues_at=2.0,
                          prior_turns=1),
        ev.RequestStarted(t=2.5, turn=1),  # ... and then the process died
    ):
        writer(event)
    writer.close()
    info = find_session(tmp_path, str(path))
    assert (info.session_id, info.turns, info.outcome) == ("abc", 2, "")
    resumed = load_resumed(info, tmp_path)
    assert (resumed.continues_at, resumed.prior_turns) == (2.5, 2)


def legacy_transcript(path: Path) -> Path:
    """A transcript as resumes wrote it before session_resumed: a second start, clock back at 0."""
    part = [
        ev.UserMessage(t=0.0, text="task"),
        ev.MessageAppended(t=0.0, message={"role": "user", "content": "task"}),
        ev.RequestStarted(t=0.5, turn=1),
        ev.TextDelta(t=1.0, turn=1, text="working"),
        ev.RequestFinished(t=1.5, turn=1),
        ev.MessageAppended(t=1.5, message={"role": "assistant", "content": "working"}),
        ev.SessionFinished(t=3.0, outcome="finished", exit_code=0, turns=1),
    ]
    start = ev.SessionStarted(t=0.0, session_id="old", model="m", mode="async")
    path.write_text("".join(ev.event_to_json(e) + "\n" for e in [start, *part, start, *part]))
    return path


def test_an_older_transcript_with_two_starts_reads_as_one_resumed_session(tmp_path):
    path = legacy_transcript(tmp_path / "old.jsonl")
    events = list(read_events(path))
    assert types(events).count("session_started") == 1
    [again] = [e for e in events if e.type == "session_resumed"]
    assert (again.session_id, again.t, again.continues_at, again.prior_turns) == ("old", 3.0, 3.0, 1)
    times = [e.t for e in events]
    assert times == sorted(times) and times[-1] == 6.0
    resumed = load_resumed(find_session(tmp_path, str(path)), tmp_path)
    assert (resumed.continues_at, resumed.prior_turns, len(resumed.history)) == (6.0, 2, 4)
    assert find_session(tmp_path, str(path)).turns == 2


def test_tui_state_and_text_view_number_requests_across_resumes(tmp_path):
    events = list(read_events(legacy_transcript(tmp_path / "old.jsonl")))
    state = TimelineState().apply_all(events)
    assert state.turns == 2 and [bar.turn for bar in state.requests] == [1, 2]
    assert [(bar.start, bar.end) for bar in state.requests] == [(0.5, 1.5), (3.5, 4.5)]
    assert state.session.session_id == "old" and state.outcome is not None

    out = io.StringIO()
    renderer = TextRenderer(out, color=False)
    for event in events:
        renderer(event)
    lines = out.getvalue().splitlines()
    assert [line.split("] ")[1] for line in lines if "model request" in line] == [
        "model request 1", "model request 2"]
    [resumed] = [line for line in lines if "resumed session" in line]
    assert resumed.startswith("[   3.00s] asyncfc · resumed session old (1 request so far) · m")


def test_the_tui_replays_a_resumed_transcript(workspace):
    from asyncfc_cli.tui.app import AsyncfcApp
    from asyncfc_cli.tui.engines import ReplayEngine
    from asyncfc_cli.tui.transcript_view import TranscriptView
    from tui_helpers import run, wait_for

    async def record() -> None:
        await run_engine(workspace, FIRST, "fix x")
        await run_engine(workspace, AGAIN, "again", resume=load_resumed(find_session(workspace.root), workspace.root))

    trio.run(record, clock=MockClock(autojump_threshold=0))
    events = list(read_events(find_session(workspace.root).path))

    async def main() -> None:
        app = AsyncfcApp(ReplayEngine(events, speed=100.0), rate=100.0)
        async with app.run_test(size=(120, 36)) as pilot:
            await wait_for(pilot, lambda: app.state.version == len(events))  # every event replayed is shown
            assert app.state.turns == 5 and app.state.outcome.exit_code == 0
            assert list(app.state.futures) == [f"f{i}" for i in range(1, 7)]  # ids went on
            texts = [str(w.render()) for w in app.query_one(TranscriptView).children]
            assert sum("resumed session" in text for text in texts) == 1

    run(main)


def test_the_bus_announces_a_resume_on_a_clock_that_goes_on(tmp_path):
    now = [100.0]
    bus = ev.EventBus(clock=lambda: now[0])
    seen: list[ev.Event] = []
    bus.subscribe(seen.append)
    named: list[str] = []
    gate = ApprovalGate("auto", bus, tmp_path,
                        checkpoint=lambda root, sid: named.append(sid) or Checkpoint("r", "0" * 40, sid, None))
    bus.resume_at(42.0, prior_turns=4)
    bus.start_clock()
    bus.emit(ev.SessionStarted, session_id="abc", model="m", mode="async")
    now[0] += 1.5
    bus.emit(ev.Notice, level="info", message="later")
    assert types(seen) == ["session_resumed", "notice"]
    assert (seen[0].t, seen[0].continues_at, seen[0].prior_turns, seen[1].t) == (42.0, 42.0, 4, 43.5)
    assert ev.event_from_dict(ev.event_to_dict(seen[0])) == seen[0]
    args = {"command": "ls"}
    effect = builtin_tools()["shell"].effect_of(args, tmp_path)
    trio.run(gate.admit, GateRequest("f1", builtin_tools()["shell"], args, effect, context(tmp_path)))
    assert named == ["abc"]  # the gate learnt the session id from the resumed start
    fresh = ev.EventBus(clock=lambda: 7.0, offset=2.0)
    assert fresh.now() == 2.0
