"""The pure parts of the futures protocol: exact wire shapes and reference handling."""

import json

from asyncfc_cli.futures import (
    State,
    delivery_text,
    find_refs,
    future_block,
    placeholder,
    substitute_refs,
    truncate,
)


def test_placeholder_is_exactly_the_contract_shape():
    assert placeholder("f3", State.RUNNING) == '{"future": "f3", "status": "running"}'
    assert json.loads(placeholder("f12", "pending")) == {"future": "f12", "status": "pending"}


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
