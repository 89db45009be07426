"""The plain-text view never cuts a streamed word, nor a sentence, when a future line lands in the
middle of the model's text: whatever the chunking, every word is printed whole, once, in order, and
future lines start at a line start, after the sentence they arrived in; text still appears as it
streams (only the trailing partial word waits)."""

from __future__ import annotations

import io
import random

import pytest

from asyncfc_cli import events as ev
from asyncfc_cli.render.text import MAX_DEFERRED_CHARS, MAX_HELD_CHARS, TextRenderer, split_partial_word
from asyncfc_cli.testing.harness import run_scenario

MARGIN = "          │"
TEXT = ("mean() divides by len(values) - 1, which is the sample variance's denominator.\n\n"
        "The fix: divide by len(values); then run   the suite again to confirm.\n"
        "    indented line\nend")


def finished(fid: str, t: float = 1.0) -> ev.FutureFinished:
    return ev.FutureFinished(t=t, id=fid, status="done", duration=0.5, summary=f"{fid} result")


def delta(text: str, t: float = 0.5) -> ev.TextDelta:
    return ev.TextDelta(t=t, turn=1, text=text)


def render(events: list[ev.Event]) -> str:
    out = io.StringIO()
    renderer = TextRenderer(out, color=False)
    for event in events:
        renderer(event)
    return out.getvalue()


def text_lines(output: str) -> list[str]:
    """The streamed-text lines of ``output``, margin removed."""
    return [line[len(MARGIN) + 1:] for line in output.split("\n") if line.startswith(MARGIN)]


def other_lines(output: str) -> list[str]:
    return [line for line in output.split("\n") if line and not line.startswith(MARGIN)]


def chunkings(text: str, seed: int) -> list[list[str]]:
    """Adversarial pieces: one character at a time, cuts inside every word, and random cuts."""
    rng = random.Random(seed)
    single = list(text)
    mid_words = [piece for word in text.split(" ") for piece in (word[: len(word) // 2], word[len(word) // 2:] + " ")]
    mid_words[-1] = mid_words[-1][:-1]  # the split added one space too many at the very end
    randoms = []
    for _ in range(20):
        cuts = sorted(rng.sample(range(1, len(text)), rng.randint(1, 25)))
        randoms.append([text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)])])
    return [single, [p for p in mid_words if p], *randoms]


def interleave(pieces: list[str], seed: int) -> tuple[list[ev.Event], list[str]]:
    """The pieces as text deltas with future lines between many of them, then the request's end."""
    rng = random.Random(seed)
    events: list[ev.Event] = [ev.RequestStarted(t=0.0, turn=1)]
    fids = []
    for piece in pieces:
        events.append(delta(piece))
        if rng.random() < 0.4:
            fids.append(f"f{len(fids) + 1}")
            events.append(finished(fids[-1]))
    events.append(ev.RequestFinished(t=2.0, turn=1))
    return events, fids


def test_the_example_from_the_report_keeps_its_word_and_sentence_whole():
    output = render([delta("hel"), delta("lo wor"), finished("f3"), delta("ld"),
                     ev.RequestFinished(t=2.0, turn=1)])
    assert output.split("\n") == [
        f"{MARGIN} hello world",
        "[   1.00s] ✓ f3  0.50s  f3 result",  # with its own time, once the text stream ended
        "",
    ]


def test_a_future_line_waits_for_the_sentence_to_end_then_the_text_goes_on_below():
    output = render([delta("The suite runs while I"), finished("f1"), delta(" read the code. Then I"),
                     finished("f2", t=1.5), delta(" fix it.\nDone")])
    assert output.split("\n") == [
        f"{MARGIN} The suite runs while I read the code. ",
        "[   1.00s] ✓ f1  0.50s  f1 result",
        f"{MARGIN} Then I fix it.",
        "[   1.50s] ✓ f2  0.50s  f2 result",
        "",
    ]


def test_a_sentence_that_never_ends_holds_future_lines_only_so_long():
    out = io.StringIO()
    renderer = TextRenderer(out, color=False)
    renderer(delta("a list without stops "))
    renderer(finished("f1"))
    assert "f1" not in out.getvalue()
    renderer(delta("item " * (MAX_DEFERRED_CHARS // 5 + 1)))
    assert "✓ f1" in out.getvalue()


@pytest.mark.parametrize("seed", range(6))
def test_no_chunking_and_no_interleaving_breaks_a_word_loses_or_repeats_anything(seed):
    for pieces in chunkings(TEXT, seed):
        assert "".join(pieces) == TEXT
        events, fids = interleave(pieces, seed)
        output = render(events)
        lines = text_lines(output)
        # Every word whole, once, in order; whitespace only ever turned into line breaks.
        assert [w for line in lines for w in line.split()] == TEXT.split(), pieces
        assert "\n".join(lines).replace("\n", " ").split() == TEXT.split()
        # Hard line breaks and the blank line of the text survive.
        assert len(lines) >= TEXT.count("\n") + 1 and "" in lines
        # Future lines: each once, in order, each on a line of its own starting with its time.
        header, *futures = other_lines(output)
        assert header == "[   0.00s] model request 1"
        assert [line.split()[3] for line in futures] == fids
        assert all(line.startswith("[   1.00s] ✓ ") for line in futures)


def test_text_streams_out_at_once_except_the_trailing_partial_word():
    out = io.StringIO()
    renderer = TextRenderer(out, color=False)
    renderer(delta("The fix is to divi"))
    assert out.getvalue() == f"{MARGIN} The fix is to "
    renderer(delta("de by len(values)"))
    assert out.getvalue() == f"{MARGIN} The fix is to divide by "
    renderer(delta(".\nNext"))
    assert out.getvalue() == f"{MARGIN} The fix is to divide by len(values).\n"


@pytest.mark.parametrize("end", [
    ev.RequestFinished(t=2.0, turn=1),
    ev.ToolCallParsed(t=2.0, turn=1, call_id="c1", tool="shell", index=0, arguments="{}"),
    ev.SessionFinished(t=2.0, outcome="interrupted", exit_code=130),
])
def test_the_held_word_and_the_waiting_lines_are_written_when_the_text_stream_ends(end):
    output = render([delta("all tests pa"), finished("f1"), delta("ss"), end])
    assert text_lines(output) == ["all tests pass"]
    # before anything the end itself prints
    assert output.split("\n")[:2] == [f"{MARGIN} all tests pass", "[   1.00s] ✓ f1  0.50s  f1 result"]


def test_a_future_line_after_a_finished_text_line_leaves_no_empty_margin_line():
    output = render([delta("done.\n"), finished("f1"), delta("next")])
    assert output == f"{MARGIN} done.\n[   1.00s] ✓ f1  0.50s  f1 result\n"


def test_flush_text_writes_what_is_held_for_a_caller_that_stops_early():
    out = io.StringIO()
    renderer = TextRenderer(out, color=False)
    renderer(delta("interrupted mid-wo"))
    renderer.flush_text()
    assert out.getvalue() == f"{MARGIN} interrupted mid-wo"


def test_long_tokens_and_wide_characters_are_not_held_back():
    url = "https://example.com/" + "a" * MAX_HELD_CHARS
    assert split_partial_word("see " + url) == ("see " + url, "")
    assert split_partial_word("修复了这个错误") == ("修复了这个错误", "")
    assert split_partial_word("fixed 修复ab") == ("fixed 修复", "ab")
    assert split_partial_word("end ") == ("end ", "")


@pytest.mark.trio
async def test_a_live_session_prints_every_word_whole(autojump_clock):
    """A real session (scripted model, simulated tools) where a tool finishes while text streams."""
    said = ("While the slow test suite runs in the background I am reading the module carefully, "
            "word by word, so that nothing about the denominator escapes me.")
    scenario = {"name": "words", "profile": {"ttft_s": 0.1, "tokens_per_s": 20}, "steps": [
        {"call": "shell", "as": "t", "args": {"command": "pytest"}, "duration": 0.7, "result": "ok"},
        {"say": said, "tokens": 40},
        {"need": ["t"]},
        {"answer": "Done."},
    ]}
    run = await run_scenario(scenario)
    assert run.outcome.exit_code == 0
    turns = sorted({e.turn for e in run.of_type("text_delta")})
    texts = ["".join(e.text for e in run.of_type("text_delta") if e.turn == turn) for turn in turns]
    first = next(i for i, e in enumerate(run.events) if e.type == "future_finished")
    streamed_before = "".join(e.text for e in run.events[:first] if e.type == "text_delta")
    assert streamed_before and not streamed_before.endswith(" ")  # the tool ends mid-word
    output = render(run.events)
    assert [w for line in text_lines(output) for w in line.split()] == " ".join(texts).split()
    assert any(line.split()[:3] == ["✓", "f1", "shell"] for line in
               (line.split("] ", 1)[1] for line in other_lines(output)))


@pytest.mark.parametrize("abbreviation", ["e.g.", "i.e.", "cf.", "vs.", "etc."])
def test_an_abbreviation_inside_a_sentence_does_not_end_it(abbreviation):
    output = render([delta(f"Search with a tool, {abbreviation} "), finished("f1"), delta("grep, first. Then"),
                     ev.RequestFinished(t=2.0, turn=1)])
    assert output.split("\n") == [
        f"{MARGIN} Search with a tool, {abbreviation} grep, first. ",
        "[   1.00s] ✓ f1  0.50s  f1 result",
        f"{MARGIN} Then",
    ]


def test_a_commands_line_shows_its_time_once():
    created = ev.FutureCreated(t=0.1, id="f1", tool="shell", args={"command": "make"}, effect="exclusive",
                               display=ev.Display.COMMAND, subject="command")
    done = ev.FutureFinished(t=2.5, id="f1", status="done", duration=2.41, summary="exit code 0 (2.3s)",
                             output="exit code 0 (2.3s)\n(no output)")
    failed = ev.FutureFinished(t=3.0, id="f2", status="done", duration=0.52, summary="exit code 2 (0.5s)")
    tests = ev.FutureCreated(t=2.6, id="f2", tool="run_tests", args={}, display=ev.Display.TESTS, subject="paths")
    lines = render([created, done, tests, failed]).split("\n")
    assert lines[1] == "[   2.50s] ✓ f1 shell 2.41s  exit code 0"
    assert lines[3] == "[   3.00s] ✓ f2 run_tests 0.52s  exit code 2"
