"""Hand-made, deterministic event streams: fixtures for snapshots, the frame benchmark and demos.

``demo_events()`` is a small coding session (reads overlapping decoding, a grep feeding an edit
through ``$f2``, an approval, a failed test run, a cancelled call); ``subagent_events()`` delegates
to two sub-agents whose futures arrive among the parent's; ``many_futures(n)`` is a load test:
``n`` futures issued over a few seconds, all still in flight at the end.
"""

from __future__ import annotations

from collections.abc import Iterator

from .. import events as ev
from ..approval import Decision
from ..futures import State

__all__ = ["demo_events", "many_futures", "subagent_events"]


def _request(turn: int, t: float, ttft: float, text: str, calls: list[tuple[str, float]],
             end: float, tokens: int) -> Iterator[ev.Event]:
    yield ev.RequestStarted(t=t, turn=turn, messages=2 * turn)
    yield ev.FirstToken(t=t + ttft, turn=turn, ttft=ttft)
    words = text.split(" ")
    step = (end - t - ttft) / max(1, len(words) + len(calls))
    for i, word in enumerate(words):
        yield ev.TextDelta(t=t + ttft + i * step, turn=turn, text=word + " ")
    for i, (tool, at) in enumerate(calls):
        yield ev.ToolCallParsed(t=at, turn=turn, call_id=f"c{turn}{i}", tool=tool, index=i, arguments="{}")
    yield ev.RequestFinished(t=end, turn=turn, usage={"prompt_tokens": 900 * turn, "completion_tokens": tokens},
                             cost=0.0004 * turn, tool_calls=len(calls))


def _opening(session_id: str, model: str, task: str) -> list[ev.Event]:
    """A scripted session's start in /work/demo (async, asking approval, commands sandboxed
    without network) and the user's task."""
    return [ev.SessionStarted(t=0.0, session_id=session_id, model=model, mode="async", approval="ask",
                              root="/work/demo", scripted=True, sandbox="on", network=False),
            ev.UserMessage(t=0.0, text=task)]


def demo_events() -> list[ev.Event]:
    """A ~9 second session with every kind of lane, ending mid-task (futures still running)."""
    out = _opening("demo", "scripted:fix_bug", "fix the failing test in tests/test_parse.py")
    out += _request(1, 0.0, 0.5, "Let me look at the test and the parser.",
                    [("read_file", 0.9), ("read_file", 1.1), ("grep", 1.3)], 1.5, 60)
    out += [
        ev.FutureCreated(t=0.9, id="f1", tool="read_file", args={"path": "tests/test_parse.py"}, effect="reads", turn=1),
        ev.FutureStarted(t=0.9, id="f1"),
        ev.FutureCreated(t=1.1, id="f2", tool="read_file", args={"path": "src/parse.py"}, effect="reads", turn=1),
        ev.FutureStarted(t=1.1, id="f2"),
        ev.FutureCreated(t=1.3, id="f3", tool="grep", args={"pattern": "def parse_date", "path": "src"}, effect="reads", turn=1),
        ev.FutureStarted(t=1.3, id="f3"),
        ev.FutureFinished(t=1.4, id="f1", status=State.DONE, duration=0.5, summary="48 lines", output="def test_parse():\n    ..."),
    ]
    out += _request(2, 1.5, 0.4, "The bug is an off-by-one in parse_date; fixing it while the tests run.",
                    [("edit_file", 2.6), ("run_tests", 2.8), ("shell", 3.0)], 3.2, 95)
    out += [
        ev.FutureFinished(t=1.9, id="f2", status=State.DONE, duration=0.8, summary="212 lines", output="..."),
        ev.FutureFinished(t=2.2, id="f3", status=State.DONE, duration=0.9, summary="src/parse.py:41", output="src/parse.py:41: def parse_date(s):"),
        ev.FutureCreated(t=2.6, id="f4", tool="edit_file", deps=("f3",), effect="writes", turn=2,
                         args={"path": "src/parse.py", "old": "s[:-1]", "new": "s", "at": "$f3"},
                         display=ev.Display.EDIT, subject="path"),
        ev.ApprovalRequested(t=2.6, id="f4", tool="edit_file", preview="--- a/src/parse.py\n+++ b/src/parse.py\n-    return s[:-1]\n+    return s",
                             rule="edit_file"),
        ev.FutureCreated(t=2.8, id="f5", tool="run_tests", args={"paths": ["tests/test_parse.py"]},
                         waits_on=("f4",), effect="runs", turn=2, display=ev.Display.TESTS, subject="paths"),
        ev.FutureCreated(t=3.0, id="f6", tool="shell", args={"command": "make docs"}, effect="exclusive", turn=2,
                         waits_on=("f5",), display=ev.Display.COMMAND, subject="command"),
        ev.ApprovalResolved(t=4.1, id="f4", decision=Decision.ONCE),
        ev.FutureStarted(t=4.1, id="f4"),
        ev.FutureFinished(t=4.2, id="f4", status=State.DONE, duration=0.1, summary="1 edit in src/parse.py", output="@@ -41 +41 @@"),
        ev.FutureStarted(t=4.2, id="f5"),
    ]
    out += _request(3, 3.2, 0.45, "Waiting for the tests.", [("await_future", 4.4)], 4.5, 30)
    out += [
        ev.FutureCreated(t=4.4, id="f7", tool="await_future", args={"ids": ["f5"]}, deps=("f5",), turn=3),
        ev.FutureStarted(t=4.4, id="f7"),
        ev.FutureFinished(t=6.9, id="f5", status=State.FAILED, duration=2.7, summary="1 failed, 11 passed", output="FAILED tests/test_parse.py::test_tz"),
        ev.FutureFinished(t=6.9, id="f7", status=State.DONE, duration=2.5, summary="f5 failed"),
        ev.FutureFinished(t=6.9, id="f6", status=State.CANCELLED, duration=0.0, summary="cancelled by the model"),
    ]
    out += _request(4, 7.0, 0.5, "One timezone case left; reading it and re-running.",
                    [("read_file", 7.9), ("run_tests", 8.2)], 8.4, 70)
    out += [
        ev.FutureCreated(t=7.9, id="f8", tool="read_file", args={"path": "tests/test_parse.py", "offset": 60}, effect="reads", turn=4),
        ev.FutureStarted(t=7.9, id="f8"),
        ev.FutureFinished(t=8.0, id="f8", status=State.DONE, duration=0.1, summary="20 lines"),
        ev.FutureCreated(t=8.2, id="f9", tool="run_tests", args={"paths": ["tests/test_parse.py"], "args": "-k tz"}, effect="runs", turn=4,
                         display=ev.Display.TESTS, subject="paths"),
        ev.FutureStarted(t=8.2, id="f9"),
        ev.RequestStarted(t=8.5, turn=5, messages=12),
    ]
    return sorted(out, key=lambda e: e.t)


def many_futures(n: int = 200, spread: float = 4.0) -> list[ev.Event]:
    """``n`` futures created over ``spread`` seconds by one long response, none finished."""
    out: list[ev.Event] = [
        ev.SessionStarted(t=0.0, session_id="load", model="scripted:load", mode="async", scripted=True),
        ev.UserMessage(t=0.0, text="load"),
        ev.RequestStarted(t=0.0, turn=1),
        ev.FirstToken(t=0.3, turn=1, ttft=0.3),
    ]
    tools = ("read_file", "grep", "outline", "shell", "list_files")
    for i in range(1, n + 1):
        t = 0.3 + spread * i / n
        deps = (f"f{i - 1}",) if i % 7 == 0 else ()
        out.append(ev.ToolCallParsed(t=t, turn=1, call_id=f"c{i}", tool=tools[i % 5], index=i - 1, arguments="{}"))
        out.append(ev.FutureCreated(t=t, id=f"f{i}", tool=tools[i % 5], args={"path": f"src/mod{i}.py"},
                                    deps=deps, turn=1))
        if not deps:
            out.append(ev.FutureStarted(t=t + 0.01, id=f"f{i}"))
    return sorted(out, key=lambda e: e.t)


def subagent_events() -> list[ev.Event]:
    """A ~6 second session that delegates: two ``agent`` futures whose sub-agents' futures
    (``parent`` set) arrive after the parent's later calls, one sub-agent answered, one working."""
    out = _opening("agents", "scripted:agents", "why do dates and times parse differently?")
    out += _request(1, 0.0, 0.4, "Two independent questions: a sub-agent for each, and I read the notes.",
                    [("agent", 0.8), ("agent", 1.0), ("read_file", 1.2)], 1.4, 80)
    out += [
        ev.FutureCreated(t=0.8, id="f1", tool="agent", args={"task": "How does src/dates.py parse a date?"},
                         effect="reads", turn=1),
        ev.FutureStarted(t=0.8, id="f1"),
        ev.FutureCreated(t=1.0, id="f2", tool="agent", args={"task": "How does src/times.py parse a time?"},
                         effect="reads", turn=1),
        ev.FutureStarted(t=1.0, id="f2"),
        ev.FutureCreated(t=1.2, id="f3", tool="read_file", args={"path": "NOTES.md"}, effect="reads", turn=1),
        ev.FutureStarted(t=1.2, id="f3"),
        ev.FutureFinished(t=1.3, id="f3", status=State.DONE, duration=0.1, summary="30 lines"),
    ]
    for parent, path, t in (("f1", "src/dates.py", 1.5), ("f2", "src/times.py", 1.7)):
        out += [
            ev.FutureCreated(t=t, id="f1", tool="outline", args={"path": path}, effect="reads", turn=1, parent=parent),
            ev.FutureStarted(t=t, id="f1", parent=parent),
            ev.FutureCreated(t=t + 0.1, id="f2", tool="grep", args={"pattern": "def parse", "path": path},
                             effect="reads", turn=1, parent=parent),
            ev.FutureStarted(t=t + 0.1, id="f2", parent=parent),
            ev.FutureFinished(t=t + 0.4, id="f1", status=State.DONE, duration=0.4, summary="6 functions", parent=parent),
            ev.FutureFinished(t=t + 0.3, id="f2", status=State.DONE, duration=0.2, summary="2 matches", parent=parent),
            ev.RequestFinished(t=t + 1.0, turn=1, usage={"prompt_tokens": 700, "completion_tokens": 40},
                               cost=0.0003, tool_calls=2, parent=parent),
        ]
    out += _request(2, 1.4, 0.4, "Meanwhile, the test that compares them.", [("grep", 2.4)], 2.6, 40)
    out += [
        ev.FutureCreated(t=2.4, id="f4", tool="grep", args={"pattern": "parse_time", "path": "tests"},
                         effect="reads", turn=2),
        ev.FutureStarted(t=2.4, id="f4"),
        ev.FutureFinished(t=2.5, id="f4", status=State.DONE, duration=0.1, summary="3 matches"),
        ev.FutureCreated(t=3.0, id="f3", tool="read_file", args={"path": "src/dates.py", "offset": 40},
                         effect="reads", turn=2, parent="f1"),
        ev.FutureStarted(t=3.0, id="f3", parent="f1"),
        ev.FutureFinished(t=3.1, id="f3", status=State.DONE, duration=0.1, summary="40 lines", parent="f1"),
        ev.FutureFinished(t=4.0, id="f1", status=State.DONE, duration=3.2, summary="dates go through strptime"),
        ev.FutureCreated(t=4.2, id="f3", tool="shell", args={"command": "python -c 'import src.times'"},
                         effect="exclusive", turn=2, parent="f2", display=ev.Display.COMMAND, subject="command"),
        ev.FutureStarted(t=4.2, id="f3", parent="f2"),
        ev.FutureCreated(t=4.3, id="f4", tool="await_future", args={"ids": ["f3"]}, deps=("f3",), turn=3,
                         parent="f2"),
        ev.FutureStarted(t=4.3, id="f4", parent="f2"),
    ]
    out += _request(3, 2.6, 0.4, "Waiting for the second answer.", [("await_future", 4.5)], 4.6, 20)
    out += [
        ev.FutureCreated(t=4.5, id="f5", tool="await_future", args={"ids": ["f2"]}, deps=("f2",), turn=3),
        ev.FutureStarted(t=4.5, id="f5"),
    ]
    return sorted(out, key=lambda e: e.t)
