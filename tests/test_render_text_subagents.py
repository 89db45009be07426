"""The headless text view of sub-agents: their futures and answers, compact, under the parent's id."""

from __future__ import annotations

import pytest

from asyncfc_cli import events as ev
from asyncfc_cli.testing.harness import run_scenario
from test_render_text_words import MARGIN, other_lines, render, text_lines

PROFILE = {"ttft_s": 0.1, "tokens_per_s": 20}
SAID = ("While both helpers read their halves of the code I am thinking about how the change should look, "
        "slowly and word by word, so their lines have to wait for this sentence to end.")


def helper(label: str, path: str, answer: str) -> dict:
    return {"call": "agent", "as": label, "args": {"task": f"explain {path}"}, "agent": {"steps": [
        {"say": f"Reading {path} now."},
        {"call": "read_file", "as": "r", "args": {"path": path}, "duration": 0.3, "result": "def parse(): ..."},
        {"need": ["r"]},
        {"answer": answer},
    ]}}


SCENARIO = {"name": "delegate", "profile": PROFILE, "steps": [
    helper("a", "src/dates.py", "Dates go through strptime with a fixed format."),
    helper("b", "src/times.py", "Times are split by hand on colons."),
    {"say": SAID, "tokens": 60},
    {"need": ["a", "b"]},
    {"answer": "Both answered."},
]}


@pytest.mark.trio
async def test_sub_agents_futures_and_answers_show_under_their_agent_id(autojump_clock):
    run = await run_scenario(SCENARIO)
    assert run.outcome.exit_code == 0, run.outcome.message
    lines = [line.split("] ", 1)[1] for line in other_lines(render(run.events))]
    for parent, path in (("f1", "src/dates.py"), ("f2", "src/times.py")):
        assert f'  + {parent}/f1 read_file {{"path": "{path}"}}' in lines
        assert any(line.startswith(f"  ✓ {parent}/f1 read_file 0.30s") for line in lines)
        assert f"  {parent} says: Reading {path} now." in lines
    assert "  f1 answers: Dates go through strptime with a fixed format." in lines
    assert "  f2 answers: Times are split by hand on colons." in lines
    assert lines.index("  f1 says: Reading src/dates.py now.") < lines.index('  + f1/f1 read_file {"path": "src/dates.py"}')
    assert not [line for line in lines if line.startswith(("> f1/", "  > f1/")) or "/f2 await_future" in line]


@pytest.mark.trio
async def test_sub_agent_lines_wait_for_the_parents_sentence_and_their_text_stays_out_of_it(autojump_clock):
    run = await run_scenario(SCENARIO)
    first = next(i for i, e in enumerate(run.events) if e.parent and e.type == "future_finished")
    said = "".join(e.text for e in run.events[:first] if e.type == "text_delta" and e.parent is None)
    assert said and not said.endswith((". ", " "))  # a sub-agent's read ends mid-word of the parent's
    output = render(run.events)
    words = [w for line in text_lines(output) for w in line.split()]
    assert words == (SAID + " Both answered.").split()  # whole, in order, nothing of the sub-agents
    sentence = next(i for i, line in enumerate(output.split("\n")) if line.startswith(f"{MARGIN} While"))
    assert output.split("\n")[sentence].endswith("to end.")  # no line broke into the sentence


def test_a_sub_agents_request_does_not_end_the_parents_text_stream():
    output = render([ev.TextDelta(t=0.1, turn=1, text="The parent is mid-wo"),
                     ev.RequestStarted(t=0.2, turn=1, parent="f1"),
                     ev.TextDelta(t=0.3, turn=1, text="nested words", parent="f1"),
                     ev.RequestFinished(t=0.4, turn=1, parent="f1"),
                     ev.TextDelta(t=0.5, turn=1, text="rd. Next"),
                     ev.RequestFinished(t=0.6, turn=1)])
    assert output.split("\n") == [f"{MARGIN} The parent is mid-word. ", "[   0.40s]   f1 answers: nested words",
                                  f"{MARGIN} Next"]


@pytest.mark.trio
async def test_replay_as_text_shows_the_sub_agents_too(autojump_clock, tmp_path):
    import subprocess
    import sys

    from asyncfc_cli.testing.harness import scenario_session
    from asyncfc_cli.transcript import TranscriptWriter

    run = scenario_session(SCENARIO)
    writer = TranscriptWriter(tmp_path / "t.jsonl")
    run.session.bus.subscribe(writer, nested=True)
    await run.session.run("task")
    writer.close()
    replayed = subprocess.run([sys.executable, "-m", "asyncfc_cli", "replay", str(tmp_path / "t.jsonl")],
                              cwd=tmp_path, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert replayed.returncode == 0, replayed.stderr
    assert "  + f2/f1 read_file" in replayed.stdout and "  f1 answers: Dates go" in replayed.stdout


def test_a_sub_agents_command_line_shows_its_time_once():
    nested = [ev.FutureCreated(t=0.1, id="f1", tool="shell", args={"command": "make"}, effect="exclusive", parent="f2",
                               display=ev.Display.COMMAND, subject="command"),
              ev.FutureFinished(t=2.5, id="f1", status="done", duration=2.41, summary="exit code 0 (2.3s)",
                                parent="f2")]
    lines = [line.split("] ", 1)[1] for line in other_lines(render(nested))]
    assert "  ✓ f2/f1 shell 2.41s  exit code 0" in lines, lines
