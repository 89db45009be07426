"""The pure parts of the futures protocol: exact wire shapes, their parsers and reference handling."""

import ast
import json
from pathlib import Path

import pytest

from asyncfc_cli import events
from asyncfc_cli.futures import (
    AWAIT_FUTURE,
    Route,
    State,
    block_openings,
    delivery_text,
    find_refs,
    future_block,
    parse_placeholder,
    placeholder,
    running_view,
    substitute_refs,
    truncate,
)


def test_placeholder_is_exactly_the_contract_shape():
    assert placeholder("f3", State.RUNNING) == '{"future": "f3", "status": "running"}'
    assert json.loads(placeholder("f12", "pending")) == {"future": "f12", "status": "pending"}


def test_statuses_and_routes_go_on_the_wire_as_their_values_and_read_back_as_the_enums():
    """Events carry ``State`` and ``Route``; the JSON line is the one plain strings made, and an
    older transcript's strings read back as the enums (an unknown one is an error in words)."""
    finished = events.FutureFinished(t=1.0, id="f1", status=State.DONE, duration=0.5, summary="ok")
    delivered = events.FutureDelivered(t=1.0, id="f1", via=Route.AWAIT, turn=2)
    lines = [events.event_to_json(finished), events.event_to_json(delivered)]
    assert lines == ['{"type": "future_finished", "t": 1.0, "id": "f1", "status": "done", "duration": 0.5, '
                     '"summary": "ok", "output": ""}',
                     '{"type": "future_delivered", "t": 1.0, "id": "f1", "via": "await", "turn": 2}']
    read = [events.event_from_dict(json.loads(line)) for line in lines]
    assert read == [finished, delivered]
    assert read[0].status is State.DONE and read[1].via is Route.AWAIT
    with pytest.raises(ValueError, match="bad future_finished event: 'finished' is not a valid State"):
        events.event_from_dict({**json.loads(lines[0]), "status": "finished"})


def test_future_block_and_delivery_message():
    block = future_block("f3", State.DONE, "4 passed")
    assert block == '<future id="f3" status="done">4 passed</future>'
    both = delivery_text([block, future_block("f4", "failed", "boom")])
    assert both.splitlines() == [block, '<future id="f4" status="failed">boom</future>']


def test_refs_are_whole_string_values_anywhere_in_the_arguments():
    args = {"path": "$f1", "note": "see $f2", "items": ["$f3", {"deep": "$f1"}], "n": 3, "x": "$f0"}
    assert find_refs(args) == ["f1", "f3"]


def test_substitution_replaces_only_known_refs():
    args = {"a": "$f1", "b": ["$f2", "$f1"], "c": "$f9", "d": "plain"}
    out = substitute_refs(args, {"f1": "one", "f2": "two"})
    assert out == {"a": "one", "b": ["two", "one"], "c": "$f9", "d": "plain"}
    assert args["a"] == "$f1"  # the input is not mutated


def test_truncate_keeps_head_and_tail_and_says_how_much_was_cut():
    text = "".join(str(i % 10) for i in range(10_000))
    out = truncate(text, 1000)
    assert len(out) < 1200
    assert out.startswith(text[:600]) and out.endswith(text[-300:])
    assert "characters cut" in out
    assert truncate("short", 1000) == "short"


@pytest.mark.parametrize("state", [State.PENDING, State.RUNNING])
def test_a_placeholder_reads_back_as_its_future(state):
    assert parse_placeholder(placeholder("f12", state)) == ("f12", state)


@pytest.mark.parametrize("content", [
    "4 passed",
    '{"future": "f3", "status": "done"}',  # finished values are never placeholders
    '{"future": "f0", "status": "running"}',
    running_view("f3", State.RUNNING, "collected 12 items"),  # a placeholder and more
    ' {"future": "f3", "status": "running"}',
])
def test_anything_but_an_exact_placeholder_is_a_value(content):
    assert parse_placeholder(content) is None


def test_blocks_read_back_with_their_ids_states_and_bounds():
    text = delivery_text([future_block("f3", State.DONE, "4 passed"), future_block("f4", State.FAILED, "boom")])
    openings = block_openings(text)
    assert [(b.id, b.state) for b in openings] == [("f3", State.DONE), ("f4", State.FAILED)]
    assert [text[b.end:].split("</future>")[0] for b in openings] == ["4 passed", "boom"]
    assert all(text[b.start:b.end].startswith("<future ") and text[b.end - 1] == ">" for b in openings)


def test_a_block_quoted_mid_line_counts_only_where_any_tag_does():
    quoted = future_block("f1", State.DONE, 'the log says <future id="f9" status="done"> here')
    assert [b.id for b in block_openings(quoted)] == ["f1", "f9"]
    assert [b.id for b in block_openings(quoted, line_start=True)] == ["f1"]


WIRE_SPELLINGS = ('<future ', '"future":', '{"future"', "</future>")
"""What only futures.py may spell in code (docstrings and comments may describe the shapes)."""
TOOL_NAMES = (AWAIT_FUTURE,)
"""Names code must take from futures.py (messages may still say them in words). ``cancel_future``
is also the name of the views' cancel command and action, so only ``await_future`` is checked."""
SPELLED_ELSEWHERE = {
    "asyncfc_cli/tui/synthetic.py": "made-up sessions for snapshots and frame timings: events as data, "
                                    "written as the stream carries them",
}


def _code_strings(path: Path) -> list[tuple[int, str]]:
    """The string constants of a module that are not docstrings (of modules, classes, functions or
    attributes: any string standing alone as a statement)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    prose = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose]


def test_the_wire_format_is_written_and_parsed_only_in_futures_py():
    root = Path(__file__).resolve().parent.parent
    found = [f"{path.relative_to(root)}:{line}: {text[:60]!r}"
             for folder in ("asyncfc_cli", "tools") for path in sorted((root / folder).rglob("*.py"))
             if path.name != "futures.py" and str(path.relative_to(root)) not in SPELLED_ELSEWHERE
             for line, text in _code_strings(path)
             if any(s in text for s in WIRE_SPELLINGS) or text in TOOL_NAMES]
    assert not found, "\n".join(found)
