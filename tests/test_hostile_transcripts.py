"""A transcript is hostile input (a repository can ship one): whatever its fields hold, reading it
either refuses it in words (a ValueError naming the line and the field) or gives events that every
view shows without an exception: the text view, the TUI's state and its pure renderers, and a
replay in the TUI itself.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from rich.text import Text

from asyncfc_cli import events as ev
from asyncfc_cli.render import TextRenderer
from asyncfc_cli.timeline_state import TimelineState
from asyncfc_cli.transcript import read_events
from asyncfc_cli.tui.formatting import call_body, call_title
from asyncfc_cli.tui.futures_table import _row
from asyncfc_cli.tui.status_bar import status_text
from asyncfc_cli.tui.timeline_render import TimelineRenderer, fit_viewport

DIFF = "edited calc.py: 1 replacement\n--- a/calc.py\n+++ b/calc.py\n@@ -1 +1 @@\n-a\n+b\n"

BASE: list[dict[str, Any]] = [
    {"type": "session_started", "t": 0.0, "session_id": "s1", "model": "m", "mode": "async", "root": "/r"},
    {"type": "user_message", "t": 0.0, "text": "fix it"},
    {"type": "request_started", "t": 0.1, "turn": 1, "messages": 2},
    {"type": "request_retry", "t": 0.2, "turn": 1, "attempt": 1, "delay": 0.5, "reason": "HTTP 429"},
    {"type": "first_token", "t": 0.3, "turn": 1, "ttft": 0.2, "client_s": 0.0},
    {"type": "text_delta", "t": 0.4, "turn": 1, "text": "I will run the tests. "},
    {"type": "tool_call_parsed", "t": 0.5, "turn": 1, "call_id": "c1", "tool": "shell", "index": 0,
     "arguments": "{}"},
    {"type": "future_created", "t": 0.5, "id": "f1", "tool": "shell", "args": {"command": "pytest -q"},
     "deps": [], "waits_on": [], "effect": "runs", "call_id": "c1", "turn": 1, "display": "command",
     "subject": "command"},
    {"type": "future_created", "t": 0.6, "id": "f2", "tool": "edit_file",
     "args": {"path": "calc.py", "old": "a", "new": "b"}, "deps": [], "waits_on": ["f1"],
     "effect": "writes", "display": "edit", "subject": "path"},
    {"type": "future_created", "t": 0.6, "id": "f3", "tool": "await_future", "args": {"ids": ["f1"]},
     "display": "call", "subject": "ids"},
    {"type": "future_created", "t": 0.6, "id": "f4", "tool": "agent", "args": {"task": "look"},
     "display": "call", "subject": "task"},
    {"type": "future_created", "t": 0.7, "id": "f1", "tool": "read_file", "args": {"path": "a.py"},
     "effect": "reads", "display": "call", "subject": "path", "parent": "f4"},
    {"type": "future_finished", "t": 0.8, "id": "f1", "status": "done", "duration": 0.1, "summary": "x",
     "output": "x", "parent": "f4"},
    {"type": "approval_requested", "t": 0.7, "id": "f2", "tool": "edit_file", "preview": "-a\n+b",
     "network": False, "rule": "edit_file"},
    {"type": "approval_resolved", "t": 0.8, "id": "f2", "decision": "once"},
    {"type": "future_placeholder", "t": 0.9, "id": "f1", "status": "running", "turn": 1},
    {"type": "future_started", "t": 0.9, "id": "f1"},
    {"type": "future_output", "t": 5.0, "id": "f1", "text": "collected 3 items\n"},
    {"type": "background_started", "t": 5.1, "id": "f1", "output": "up"},
    {"type": "footprint_violation", "t": 5.2, "id": "f1", "declared": ["a"], "paths": ["b"]},
    {"type": "files_changed", "t": 5.3, "id": "f1", "paths": ["poetry.lock"]},
    {"type": "future_finished", "t": 6.0, "id": "f1", "status": "done", "duration": 5.1,
     "summary": "exit code 0 (5.1s)", "output": "exit code 0 (5.1s)\n3 passed"},
    {"type": "future_finished", "t": 6.1, "id": "f2", "status": "done", "duration": 0.1, "summary": "edited",
     "output": DIFF},
    {"type": "future_delivered", "t": 6.2, "id": "f1", "via": "delivery", "turn": 2},
    {"type": "checkpoint_created", "t": 6.3, "ref": "refs/asyncfc/x", "commit": "0123456789abcdef"},
    {"type": "message_appended", "t": 6.4, "message": {"role": "user", "content": "hi"}},
    {"type": "notice", "t": 6.5, "level": "warning", "message": "careful"},
    {"type": "request_finished", "t": 6.6, "turn": 1, "usage": {"prompt_tokens": 10, "completion_tokens": 5,
     "total_tokens": 15}, "cost": 0.01, "finish_reason": "stop", "tool_calls": 1},
    {"type": "background_stopped", "t": 6.7, "id": "f1", "command": "serve", "reason": "the task ended"},
    {"type": "settings_changed", "t": 6.8, "model": "m2", "mode": "sync", "approval": "ask"},
    {"type": "conversation_cleared", "t": 6.9},
    {"type": "conversation_compacted", "t": 6.95, "by": "model", "reason": "user", "messages_before": 9,
     "messages_after": 3, "tokens_before": 900, "tokens_after": 120, "summary": "## Task\nfix", "focus": "",
     "why": "", "kept": 1, "message": {"role": "user", "content": "[This conversation was compacted"}},
    {"type": "session_finished", "t": 7.0, "outcome": "finished", "exit_code": 0, "message": "",
     "turns": 1, "usage": {"total_tokens": 15}, "cost": 0.01},
    {"type": "session_resumed", "t": 7.1, "session_id": "s1", "model": "m", "mode": "async",
     "continues_at": 7.0, "prior_turns": 1},
    {"type": "session_finished", "t": 7.2, "outcome": "finished", "exit_code": 0},
]
"""One transcript with every kind of event, the ones views index with tied together (f1 is a test
run, f2 an edit, f4 a sub-agent with a call of its own)."""

VALUES: list[Any] = [None, True, 0, -1, 2.5, 1e300, "", "x", "f1", [], ["x"], [1], {}, {"x": 1}, {"k": [1]}]
"""What a hostile transcript may put in any field."""

ARGS: list[Any] = [{"command": ["x"]}, {"path": {"a": 1}, "old": 1, "new": None}, {"ids": 5},
                   {"ids": "f1"}, {"ids": [None, 2]}, {"task": 3}, {"content": 4}]
"""Arguments (any JSON, as a model wrote them) whose subject or well-known keys are not text."""


def write(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def show_everywhere(events: list[ev.Event]) -> None:
    """Feed ``events`` to every view that needs no running app; an exception fails the test."""
    text = TextRenderer(io.StringIO(), color=False)
    for event in events:
        text(event)
    text.flush_text()
    state = TimelineState().apply_all(events)
    now = max(e.t for e in events)
    console = Console(file=io.StringIO(), width=100)
    for lane in state.futures.values():
        console.print(Text(call_title(lane)), call_body(lane))  # a title is text, never markup
        _row(lane, now, 30)
    console.print(status_text(state, now))
    lanes = list(state.futures.values())
    TimelineRenderer().rows(state, fit_viewport(state, now, 80), now, 16, lanes)


def mutations() -> list[tuple[int, str, Any]]:
    """(line, field, value): every field of every line set to every hostile value (``args`` to
    hostile arguments too), and a field dropped (``...``)."""
    out = []
    for number, line in enumerate(BASE):
        for name in line:
            if name == "type":
                continue
            extra = ARGS if name == "args" else []
            out += [(number, name, value) for value in [*VALUES, *extra, ...]]
    return out


def test_the_base_transcript_has_every_event_type_and_shows_everywhere(tmp_path):
    assert {line["type"] for line in BASE} == set(ev.EVENT_TYPES)
    events = list(read_events(write(tmp_path / "t.jsonl", BASE), nested=True))
    assert len(events) == len(BASE)
    show_everywhere(events)


def test_any_value_in_any_field_is_refused_in_words_or_shown_without_an_error(tmp_path):
    path = tmp_path / "t.jsonl"
    refused = 0
    for number, name, value in mutations():
        line = {k: v for k, v in BASE[number].items() if k != name}
        if value is not ...:
            line[name] = value
        write(path, [*BASE[:number], line, *BASE[number + 1:], BASE[-1]])
        try:
            events = list(read_events(path, nested=True))
        except ValueError as exc:
            refused += 1
            assert f"t.jsonl:{number + 1}: not a transcript event" in str(exc), (name, value, exc)
            continue
        try:
            show_everywhere(events)
        except Exception as exc:  # the failure names the mutation that caused it
            raise AssertionError(f"line {number + 1} ({BASE[number]['type']}) {name}={value!r}: {exc!r}") from exc
    assert refused  # not everything is taken


@pytest.mark.parametrize("field, value", [("subject", ["x"]), ("display", {"x": 1}), ("deps", [1])])
def test_a_wrong_typed_field_is_refused_naming_it(tmp_path, field, value):
    lines = [dict(line) for line in BASE]
    lines[7][field] = value
    with pytest.raises(ValueError, match=f"t.jsonl:8: not a transcript event: bad future_created event: "
                                         f"{field} should be"):
        list(read_events(write(tmp_path / "t.jsonl", lines)))


def test_replay_of_a_hostile_transcript_says_why_instead_of_a_traceback(tmp_path):
    lines = [dict(line) for line in BASE]
    lines[7]["subject"] = ["x"]  # the test run (effect runs): the change tally indexes its args with it
    path = write(tmp_path / "hostile.jsonl", lines)
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    out = subprocess.run([sys.executable, "-m", "asyncfc_cli", "replay", str(path)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert "cannot replay" in out.stderr and "subject should be text, not a list" in out.stderr


def test_the_tui_replays_a_transcript_with_odd_arguments() -> None:
    from asyncfc_cli.tui.app import AsyncfcApp
    from asyncfc_cli.tui.engines import ReplayEngine
    from tui_helpers import run, settled, wait_for

    lines = [dict(line) for line in BASE]
    lines[7]["args"] = {"command": ["x"]}  # a command whose subject is no text
    lines[8]["args"] = {"path": {"a": 1}, "old": 1, "new": None}
    lines[9].update(args={"ids": 5}, deps=[])  # await_future's ids, not a list
    events = [ev.event_from_dict(line) for line in lines]

    async def main() -> None:
        app = AsyncfcApp(ReplayEngine(events, speed=100.0), rate=100.0)
        async with app.run_test(size=(120, 36)) as pilot:
            await wait_for(pilot, lambda: app.state.version == len(events))  # every event shown
            await settled(pilot)  # and laid out and drawn
            assert set(app.state.futures) >= {"f1", "f2", "f3", "f4"}
        assert app.return_code in (None, 0)

    run(main)


@pytest.mark.parametrize("message", [{"role": "assistant", "tool_calls": [{"id": "c1"}]},
                                     {"role": "tool"}, {"role": "assistant", "tool_calls": 5}])
def test_resuming_a_transcript_with_a_message_asyncfc_never_writes_is_refused_in_words(tmp_path, message):
    from asyncfc_cli.errors import ConfigError
    from asyncfc_cli.saved_sessions import find_session, load_resumed

    lines = [*BASE[:2], {"type": "message_appended", "t": 0.1, "message": message}]
    path = write(tmp_path / "t.jsonl", [*lines, BASE[-1]])
    with pytest.raises(ConfigError, match="cannot resume s1: the message recorded at 0.10s is not one asyncfc writes"):
        load_resumed(find_session(tmp_path, str(path)), tmp_path)


MARKUP = "[/x] [bold]b[/bold] [link=file:///etc/passwd]l[/link] \x1b]52;c;aGk=\x07"
"""Text that Rich would read as markup (a closing tag that opens nothing raises), and an escape
sequence that would set the clipboard."""


def test_markup_and_escapes_in_any_text_field_are_shown_as_text() -> None:
    from asyncfc_cli.tui.app import AsyncfcApp
    from asyncfc_cli.tui.engines import ReplayEngine
    from tui_helpers import run, settled, wait_for

    kept = {"type", "id", "parent", "status", "via", "display", "subject", "effect"}  # what ties lines together
    lines = [{k: MARKUP if isinstance(v, str) and k not in kept else v for k, v in line.items()} for line in BASE]
    lines[-1]["outcome"] = "model_error"  # its message is shown
    events = [ev.event_from_dict(line) for line in lines]
    show_everywhere(events)
    out = io.StringIO()
    text = TextRenderer(out, color=False)
    for event in events:
        text(event)
    text.flush_text()
    assert "\x1b" not in out.getvalue() and "\x07" not in out.getvalue()  # the terminal gets no escapes

    async def main() -> None:
        app = AsyncfcApp(ReplayEngine(events, speed=100.0), rate=100.0)
        async with app.run_test(size=(120, 36)) as pilot:
            await wait_for(pilot, lambda: app.state.version == len(events))  # every event shown
            await settled(pilot)  # and laid out and drawn
        assert app.return_code in (None, 0)

    run(main)


def test_a_transcript_nested_too_deeply_is_refused_in_words(tmp_path):
    from asyncfc_cli.transcript import read_events

    path = tmp_path / "deep.jsonl"
    deep = '{"type": "user_message", "t": 0.1, "text": ' + "[" * 100_000 + "]" * 100_000 + "}\n"
    path.write_text('{"type": "notice", "t": 0.0, "level": "info", "message": "x"}\n' + deep +
                    '{"type": "notice", "t": 0.2, "level": "info", "message": "y"}\n')
    with pytest.raises(ValueError, match="nested too deeply"):
        list(read_events(path))
