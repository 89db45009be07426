"""Admission without an event loop: what a call waits for, and why a call cannot run, on plain values.

No trio here: ``admission.admit`` is pure, so the rules that keep concurrent calls equal to running
them in issue order are checked as data (the scheduler tests check that it acts on them).
"""

import json

from asyncfc_tools import Effect, builtin_tools

from asyncfc_cli.admission import admit, conflicts, not_earlier, parse_arguments
from asyncfc_cli.protocol_tools import engine_tools
from asyncfc_cli.futures import ToolCall

from engine_tools import TOOLS

ALL = {**TOOLS, **engine_tools()}


def call(name, **args):
    return ToolCall("c", name, json.dumps(args), 0)


def test_a_reference_is_a_dependency_and_a_conflict_is_a_wait():
    unfinished = {"f1": Effect("writes", ("a.txt",)), "f2": Effect("reads", ("b.txt",))}
    got = admit(call("get", path="a.txt"), "f3", ALL, known=["f1", "f2"], unfinished=unfinished)
    assert (got.problem, got.deps, got.waits_on, got.effect.kind) == (None, (), ("f1",), "reads")
    echo = admit(call("echo", text="$f2"), "f3", ALL, known=["f1", "f2"], unfinished=unfinished)
    assert echo.deps == ("f2",) and echo.waits_on == ()  # pure: it waits only for its value
    put = admit(ToolCall("c", "put", json.dumps({"path": "b.txt", "value": "$f1"}), 0), "f3", ALL,
                known=["f1", "f2"], unfinished=unfinished)
    assert put.deps == ("f1",) and put.waits_on == ("f2",)


def test_a_path_not_known_yet_is_the_whole_tree():
    """The effect function is told a reference is unresolved (the tools know no ``$fN`` syntax)."""
    tools = builtin_tools()
    got = admit(call("write_file", path="$f1", content="x"), "f2", tools, known=["f1"],
                unfinished={"f1": Effect("reads", ("a.txt",))})
    assert got.deps == ("f1",) and got.effect == Effect("writes", (".",))
    named = admit(call("write_file", path="$f1.txt", content="x"), "f2", tools, known=["f1"], unfinished={})
    assert named.deps == () and named.effect == Effect("writes", ("$f1.txt",))  # a plain file name


def test_serial_mode_waits_for_every_unfinished_call_even_a_pure_one():
    unfinished = {"f1": Effect("pure"), "f2": Effect("reads", ("b.txt",))}
    got = admit(call("echo", text="x"), "f3", ALL, known=["f1", "f2"], unfinished=unfinished, serial=True)
    assert got.waits_on == ("f1", "f2")


def test_calls_that_cannot_run_are_admitted_with_the_reason_in_words():
    unknown = admit(call("teleport"), "f1", ALL, known=[], unfinished={})
    assert unknown.spec is None and "unknown tool 'teleport'" in unknown.problem and "echo" in unknown.problem
    later = admit(call("echo", text="$f2"), "f2", ALL, known=["f1", "f2"], unfinished={})
    assert later.problem.startswith("bad reference $f2: no such earlier future (this call is f2")
    broken = admit(ToolCall("c", "echo", '{"text": ', 0), "f1", ALL, known=[], unfinished={"f0": Effect("exclusive")})
    assert broken.args is None and "malformed arguments for echo" in broken.problem
    assert broken.effect == Effect("pure") and broken.waits_on == ()  # a failed call waits for nothing


def test_engine_tools_take_future_ids_as_data_not_references():
    got = admit(call("await_future", ids=["$f1"]), "f2", ALL, known=["f1"], unfinished={"f1": Effect("exclusive")})
    assert got.problem is None and got.deps == () and got.waits_on == ()


def test_arguments_must_be_one_json_object():
    assert parse_arguments(ToolCall("c", "echo", "  ", 0)) == ({}, None)
    args, problem = parse_arguments(ToolCall("c", "echo", "[1]", 0))
    assert args is None and problem == "arguments for echo must be a JSON object, got list"


def test_only_earlier_known_futures_may_be_named():
    assert not_earlier(["f1", "f3", "f9", "f2"], "f3", known=["f1", "f2", "f3"]) == ["f3", "f9"]


def test_conflicts_follow_the_effects():
    unfinished = {"f1": Effect("reads", ("a.txt",)), "f2": Effect("writes", ("b.txt",)), "f3": Effect("exclusive")}
    assert conflicts(Effect("reads", ("a.txt",)), unfinished) == ("f3",)
    assert conflicts(Effect("writes", ("a.txt",)), unfinished) == ("f1", "f3")
    assert conflicts(Effect("pure"), unfinished) == ()
