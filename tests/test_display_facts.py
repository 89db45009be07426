"""How a call is shown is its tool's declared fact (``@tool(display=..., subject=...)``), carried by
``future_created``: the text view, the TUI, the change summary and the allow rules read it there, so
a tool of any name that declares a command is shown as one, and a call whose creation says nothing
(an unknown tool) is shown generically. Old transcripts read as if written now."""

from __future__ import annotations

import io
import json

import pytest
import trio

from asyncfc_cli import events as ev
from asyncfc_cli.approval import ApprovalGate
from asyncfc_cli.render.changes import ChangeTally, summary_lines
from asyncfc_cli.render.text import TextRenderer
from asyncfc_cli.scheduler import GateRequest
from asyncfc_cli.testing.harness import run_scenario
from asyncfc_cli.transcript import read_events
from asyncfc_cli.tui.formatting import call_body, opens_unfolded
from asyncfc_cli.timeline_state import TimelineState
from asyncfc_tools import Display, ToolContext, builtin_tools, exclusive, tool, writes
from test_approval import wait_pending
from tools_repo import context
from tui_helpers import no_checkpoint


def test_each_built_in_tool_declares_how_it_is_shown():
    declared = {name: (spec.facts.display, spec.facts.subject) for name, spec in builtin_tools().items()}
    assert declared == {
        "read_file": (Display.CALL, "path"), "write_file": (Display.WRITE, "path"),
        "edit_file": (Display.EDIT, "path"), "list_files": (Display.CALL, "path"),
        "grep": (Display.CALL, "pattern"), "outline": (Display.CALL, "path"),
        "shell": (Display.COMMAND, "command"), "run_tests": (Display.TESTS, "paths"),
        "web_fetch": (Display.CALL, "url"),
    }


def test_a_declaration_names_a_real_subject():
    def make(ctx: ToolContext, target: str) -> str:
        """Build a target.

        Args:
            target: what to build.
        """
        return target

    with pytest.raises(TypeError, match="'line' is not one of its parameters"):
        tool(effect=exclusive(), display=Display.COMMAND, subject="line")(make)
    with pytest.raises(TypeError, match="declare subject="):
        tool(effect=exclusive(), display=Display.COMMAND)(make)
    assert tool(effect=exclusive(), display=Display.COMMAND, subject="target")(make).facts.subject == "target"


def test_an_unknown_display_reads_as_a_plain_call():
    assert Display.of("command") is Display.COMMAND
    assert Display.of("") is Display.of("hologram") is Display.CALL


@pytest.mark.trio
async def test_the_engine_puts_the_declared_facts_on_future_created():
    run = await run_scenario({"name": "facts", "steps": [
        {"call": "shell", "args": {"command": "make"}, "duration": 0.1, "result": "exit code 0 (0.1s)"},
        {"call": "edit_file", "args": {"path": "a.py", "old": "x", "new": "y"}, "duration": 0.1, "result": "ok"},
        {"call": "no_such_tool", "args": {}},
        {"answer": "done"},
    ]})
    created = [(e.tool, e.display, e.subject) for e in run.of_type("future_created")]
    assert created == [("shell", "command", "command"), ("edit_file", "edit", "path"), ("no_such_tool", "call", "")]
    record = json.loads(ev.event_to_json(run.of_type("future_created")[0]))
    assert (record["display"], record["subject"]) == ("command", "command")


# A command and an edit under names no view knows, as an MCP server or a plugin could declare them.
COMMAND = dict(tool="make_target", args={"target": "all"}, effect="exclusive", display="command", subject="target")
EDIT = dict(tool="patch_file", args={"file": "a.py", "old": "x", "new": "y"}, effect="writes", display="edit",
            subject="file")
DIFF = "edited a.py: 1 replacement\n--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-x\n+y"


def text_of(events: list[ev.Event]) -> list[str]:
    out = io.StringIO()
    view = TextRenderer(out, color=False)
    for event in events:
        view(event)
    return [line.split("] ", 1)[-1] for line in out.getvalue().splitlines()]


def test_the_text_view_shows_a_call_as_its_tool_declares_whatever_its_name():
    lines = text_of([
        ev.FutureCreated(t=0.0, id="f1", **COMMAND),
        ev.FutureFinished(t=2.0, id="f1", status="done", duration=2.0, summary="exit code 0 (1.9s)"),
        ev.FutureCreated(t=2.0, id="f2", **EDIT),
        ev.FutureFinished(t=2.1, id="f2", status="done", duration=0.1, summary="edited a.py", output=DIFF),
        ev.SessionFinished(t=3.0, outcome="finished", exit_code=0),
    ])
    assert "✓ f1 make_target 2.00s  exit code 0" in lines  # its own time said once
    edited = lines.index("✓ f2 patch_file 0.10s  edited a.py")
    assert [line.strip() for line in lines[edited + 1:edited + 3]] == ["--- a/a.py", "+++ b/a.py"]
    assert "1 file changed, +1 -1" in lines


def test_a_call_whose_creation_declares_nothing_is_shown_as_it_is():
    """An unknown tool's call, or a record from before views were told: no diff, no summary cut."""
    plain = {**EDIT, "display": "call", "subject": ""}
    lines = text_of([
        ev.FutureCreated(t=0.0, id="f1", **plain),
        ev.FutureFinished(t=0.1, id="f1", status="done", duration=0.1, summary="exit code 0 (1.9s)", output=DIFF),
    ])
    assert lines[-1] == "✓ f1 patch_file 0.10s  exit code 0 (1.9s)"


def test_a_test_run_is_named_by_its_command_line_or_its_tool_and_subject():
    tally = ChangeTally()
    for fid, facts in (("f1", {**COMMAND, "effect": "runs"}),
                       ("f2", dict(tool="check", args={"paths": ["t.py"]}, effect="runs", display="tests",
                                   subject="paths"))):
        tally.apply(ev.FutureCreated(t=0.0, id=fid, **facts))
        tally.apply(ev.FutureFinished(t=1.0, id=fid, status="done", duration=1.0, summary="4 passed"))
        assert tally.last_test is not None
        assert tally.last_test.command == {"f1": "all", "f2": "check t.py"}[fid]
    assert summary_lines(tally)[-1] == "tests last run: f2 check t.py: 4 passed"


def test_the_tui_shows_a_command_line_and_opens_an_edit_by_their_facts():
    state = TimelineState()
    state.apply(ev.FutureCreated(t=0.0, id="f1", **COMMAND))
    state.apply(ev.FutureCreated(t=0.0, id="f2", **EDIT))
    state.apply(ev.FutureCreated(t=0.0, id="f3", **{**EDIT, "display": "call", "subject": ""}))
    command, edit, plain = (state.futures[f] for f in ("f1", "f2", "f3"))
    assert str(call_body(command).renderables[0]).strip() == "$ all"
    assert "+y" in str(call_body(edit).renderables[0]) and opens_unfolded(edit)
    assert not opens_unfolded(plain) and str(call_body(plain).renderables[0]).startswith('{"file"')


def remote(ctx: ToolContext, line: str) -> str:
    """Run a command line on the build host.

    Args:
        line: the command line.
    """
    return line


@pytest.mark.trio
async def test_allow_rules_match_the_command_line_of_any_tool_that_declares_one(tmp_path):
    spec = tool(effect=exclusive(), display=Display.COMMAND, subject="line", runs_command=True)(remote)
    editor = builtin_tools()["edit_file"]
    bus = ev.EventBus()
    asked: list[ev.ApprovalRequested] = []
    bus.subscribe(lambda e: asked.append(e) if isinstance(e, ev.ApprovalRequested) else None)
    gate = ApprovalGate("ask", bus, tmp_path, interactive=True, session_id="s1", checkpoint=no_checkpoint)

    def call(fid: str, line: str) -> GateRequest:
        return GateRequest(fid, spec, {"line": line}, spec.effect_of({}), context(tmp_path))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(gate.admit, call("f1", "npm test -- -u"))
        await wait_pending(gate, "f1")
        gate.resolve("f1", "session")
    await gate.admit(call("f2", "npm test"))  # allowed by the rule, without asking
    assert [(e.id, e.rule) for e in asked] == [("f1", "remote(npm test*)")]
    async with trio.open_nursery() as nursery:  # an edit's arguments are no command line
        args = {"path": "a.py", "old": "x", "new": "y"}
        nursery.start_soon(gate.admit, GateRequest("f3", editor, args, writes("path")(args, tmp_path),
                                                   context(tmp_path)))
        await wait_pending(gate, "f3")
        gate.resolve("f3", "once")
    assert asked[-1].rule == "edit_file"


def test_an_old_transcript_reads_as_if_written_now(tmp_path):
    """Records from before ``display`` get what a built-in tool of their name declares; a tool
    that is not built in stays a plain call."""
    path = tmp_path / "old.jsonl"
    old = [{"type": "future_created", "t": 0.0, "id": "f1", "tool": "edit_file", "args": {}},
           {"type": "future_created", "t": 0.1, "id": "f2", "tool": "srv__edit_file", "args": {}},
           {"type": "future_created", "t": 0.2, "id": "f3", "tool": "shell", "args": {}, "display": "call"}]
    path.write_text("".join(json.dumps(record) + "\n" for record in old))
    assert [(e.display, e.subject) for e in read_events(path)] == [("edit", "path"), ("call", ""), ("call", "")]
