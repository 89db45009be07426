"""The benchmark: the critical-path bound, the arithmetic, the suite on the virtual clock, the JSON,
the plot and the overhead probe. Everything here is exact virtual time or pure; no timing asserts on
the real clock."""

import io
import json
import math
import xml.etree.ElementTree as ET

import pytest
from typer.testing import CliRunner

from asyncfc_cli.bench.bound import critical_path_bound
from asyncfc_cli.bench.overhead import burst_calls, run_overhead
from asyncfc_cli.bench.plot import gantt_svg, panel_for
from asyncfc_cli.bench.report import Progress, efficiency, geomean, rows, speedup, targets, to_json
from asyncfc_cli.bench.runner import MODES, effect_function, run_case
from asyncfc_cli.bench.simulate import bench_tools
from asyncfc_cli.bench.suite import bench_scenario_names, fill_latencies, load_bench_scenario, load_suite
from asyncfc_cli.cli import app
from asyncfc_cli.errors import ScenarioError
from asyncfc_cli.model.scripted import Profile, parse_scenario
from asyncfc_tools import Effect

EIGHT = Profile(0.0, 8.0)  # 8 tokens/s and no time to first token: exact binary sums
SLOW_START = Profile(1.0, 8.0)


def scenario(*steps):
    return parse_scenario({"name": "t", "steps": list(steps)})


def call(tool, label, duration, tokens=0, **args):
    return {"call": tool, "as": label, "duration": duration, "tokens": tokens, "args": args}


def answer(tokens=0):
    return {"answer": "done", "tokens": tokens}


# ------------------------------------------------------------------------------------ the bound


def test_bound_overlaps_a_tool_with_the_next_responses_decoding():
    s = scenario(call("t", "slow", 5.0), "end", {"say": "x", "tokens": 24}, {"need": ["slow"]}, answer())
    assert critical_path_bound(s, EIGHT) == 5.0


def test_bound_is_the_decode_chain_when_tools_are_short():
    s = scenario(call("t", "a", 1.0), "end", {"say": "x", "tokens": 40}, {"need": ["a"]}, answer(8))
    assert critical_path_bound(s, EIGHT) == 6.0


def test_a_value_of_the_same_response_costs_a_new_request():
    s = scenario(call("t", "a", 2.0, tokens=8), {"need": ["a"]}, answer(8))
    # ttft 1 + decode 1 + tool 2 + ttft 1 + answer 1
    assert critical_path_bound(s, SLOW_START) == 6.0


def test_bound_takes_the_cheaper_of_waiting_for_a_value_and_a_new_request():
    # The value is ready 0.5 s after the second request could start: delaying that request
    # (0.5 s) beats a new request at the need (ttft 1 s).
    s = scenario(call("t", "a", 1.5, tokens=8), "end", {"need": ["a"]}, {"say": "x", "tokens": 8}, answer())
    assert critical_path_bound(s, SLOW_START) == 1.0 + 1.0 + 1.5 + 1.0 + 1.0


def test_references_chain_the_tools():
    s = scenario(call("t", "a", 1.0), call("t", "b", 2.0, x="$a"), call("t", "c", 3.0, x="$b"),
                 {"need": ["c"]}, answer())
    assert critical_path_bound(s, EIGHT) == 6.0


def test_program_order_makes_an_exclusive_call_wait_and_later_reads_wait_for_it():
    effects = {"shell": Effect("exclusive"), "read": Effect("reads", (".",))}
    s = scenario(call("read", "r1", 1.0), call("shell", "sh", 2.0), call("read", "r2", 1.0),
                 {"need": ["r2"]}, answer())
    assert critical_path_bound(s, EIGHT) == 2.0  # all pure: at once, the session ends with the shell
    assert critical_path_bound(s, EIGHT, lambda tool, args: effects[tool]) == 4.0


def test_the_session_cannot_finish_before_its_last_tool():
    s = scenario(call("t", "a", 9.0), "end", answer(8))
    assert critical_path_bound(s, EIGHT) == 9.0


def test_bound_uses_measured_latencies_for_calls_without_a_duration():
    data = {"name": "t", "steps": [{"call": "grep", "args": {"pattern": "x"}},
                                   {"call": "shell", "latency": "pytest_suite", "args": {"command": "p"}}]}
    filled = fill_latencies(data, {"grep": 0.25, "pytest_suite": 3.0})
    assert [s["duration"] for s in filled["steps"]] == [0.25, 3.0]
    with pytest.raises(ScenarioError, match="no measured latency"):
        fill_latencies(data, {"grep": 0.25})


# ------------------------------------------------------------------------------------ arithmetic


def test_speedup_efficiency_and_geomean():
    assert speedup(12.0, 8.0) == 1.5
    assert efficiency(7.2, 8.0) == pytest.approx(0.9)
    assert geomean([1.0, 4.0]) == pytest.approx(2.0)
    assert math.isnan(geomean([]))


# ------------------------------------------------------------------------------------ the suite


def test_the_suite_has_every_shape_the_issue_asks_for():
    names = bench_scenario_names()
    assert len(names) >= 12
    groups = {b.group for b in load_suite()}
    assert groups == {"coding", "calibrated", "bfcl", "adversarial", "compound"}
    for shape in ("bfcl_simple", "bfcl_multiple", "bfcl_parallel", "bfcl_parallel_multiple", "bfcl_multi_step"):
        assert shape in names


@pytest.mark.parametrize("name", ["fix_failing_test", "long_command", "bfcl_parallel_multiple"])
def test_async_never_slower_than_sync_and_never_below_the_bound(name):
    bench = load_bench_scenario(name)
    results = {mode: run_case(bench, "fast", mode) for mode in MODES}
    assert all(r.exit_code == 0 for r in results.values())
    assert results["async"].wall_s <= results["sync"].wall_s * 1.02
    assert results["sync"].wall_s <= results["serial"].wall_s + 1e-9
    for r in results.values():
        assert r.bound_s <= r.wall_s + 1e-9


def test_compound_tasks_run_their_sub_agents_in_parallel():
    bench = load_bench_scenario("compound_four_investigations")
    results = {mode: run_case(bench, "fast", mode) for mode in ("serial", "sync", "async")}
    assert all(r.exit_code == 0 for r in results.values())
    # Four sub-agents one after another (serial) against all four at once.
    assert results["serial"].wall_s > 1.5 * results["async"].wall_s
    assert results["async"].wall_s <= results["sync"].wall_s
    assert results["async"].bound_s / results["async"].wall_s >= 0.99
    # The sub-agents' tokens count in the session's totals; their events stay out of its own.
    assert results["async"].tokens > 600
    assert all(e.parent is None for e in results["async"].events)


def test_the_bound_holds_for_every_scenario_and_mode_at_both_profiles():
    for bench in load_suite():
        for profile in ("fast", "slow"):
            for mode in ("sync", "async"):
                r = run_case(bench, profile, mode)
                assert r.bound_s <= r.wall_s + 1e-9, (bench.name, profile, mode)


def test_simulated_tools_honour_references():
    bench = load_bench_scenario("bfcl_multi_step")
    r = run_case(bench, "fast", "sync")
    started = {e.id: e.t for e in r.events if e.type == "future_started"}
    finished = {e.id: e.t for e in r.events if e.type == "future_finished"}
    assert started["f2"] == finished["f1"] and started["f3"] == finished["f2"]


def test_bench_tools_keep_the_real_effects():
    bench = load_bench_scenario("fix_failing_test")
    effect_of = effect_function(bench_tools(bench.scenario))
    assert effect_of("run_tests", {}).kind == "runs"
    assert effect_of("read_file", {"path": "a.py"}) == Effect("reads", ("a.py",))
    assert effect_of("fetch_url", {}).kind == "pure"


# ------------------------------------------------------------------------------------ output


def test_json_has_the_documented_shape():
    result = CliRunner().invoke(app, ["bench", "-s", "bfcl_simple", "-s", "bfcl_parallel", "-p", "fast", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert len(data["results"]) == 2 * len(MODES)
    for record in data["results"]:
        assert {"scenario", "profile", "mode", "wall_s", "bound_s", "turns", "tokens"} <= set(record)
    asyncs = [r for r in data["results"] if r["mode"] == "async"]
    assert all("efficiency" in r and "speedup_vs_sync" in r and "speedup_vs_sync-stream" in r for r in asyncs)


def test_unknown_profile_is_a_usage_error():
    result = CliRunner().invoke(app, ["bench", "-p", "warp"])
    assert result.exit_code == 2


def test_tool_scale_stretches_every_tool_and_is_for_simulated_tools_only():
    base = load_suite(["bfcl_parallel"])[0].scenario
    doubled = load_suite(["bfcl_parallel"], tool_scale=2.0)[0].scenario
    calls = [(a.duration, b.duration) for a, b in zip(base.steps, doubled.steps) if a.kind == "call"]
    assert calls and all(b == 2 * a for a, b in calls)
    result = CliRunner().invoke(app, ["bench", "-s", "bfcl_parallel", "-p", "fast", "--json", "--tool-scale", "3"])
    assert result.exit_code == 0 and json.loads(result.output)["tool_scale"] == 3.0
    for bad in (["--tool-scale", "0"], ["--tool-scale", "2", "--clock", "real", "--tools", "real"]):
        assert CliRunner().invoke(app, ["bench", "-s", "bfcl_simple", *bad]).exit_code == 2


def test_a_row_reports_the_ceiling_no_engine_can_beat():
    results = [run_case(load_bench_scenario("fix_failing_test"), "fast", m) for m in MODES]
    row = rows(results)[0]
    assert row.ceiling == pytest.approx(row.wall("sync") / row.bound_s)
    assert 1.0 <= row.ratio("sync") <= row.ceiling
    assert to_json(results)["targets"]["coding_geomean_ceiling_vs_sync"]["fast"] == pytest.approx(row.ceiling)


def test_targets_and_table_rows():
    results = [run_case(load_bench_scenario("bfcl_parallel"), "fast", m) for m in MODES]
    table = rows(results)
    assert len(table) == 1 and table[0].ratio("serial") > 1.5
    reached = targets(table)
    assert reached.min_efficiency == pytest.approx(1.0)
    assert to_json(results)["targets"]["min_efficiency"] == reached.min_efficiency


def test_progress_draws_only_on_a_terminal():
    plain = io.StringIO()
    Progress(3, stream=plain).step("x")
    assert plain.getvalue() == ""

    class Tty(io.StringIO):
        def isatty(self):
            return True

    tty = Tty()
    bar = Progress(2, stream=tty)
    bar.step("case one")
    assert "1/2" in tty.getvalue() and "case one" in tty.getvalue()


def test_plot_is_svg_with_a_lane_for_the_model_and_labelled_tools():
    bench = load_bench_scenario("fix_failing_test")
    panels = [panel_for(run_case(bench, "fast", m)) for m in ("sync", "async")]
    svg = gantt_svg(panels, "title")
    root = ET.fromstring(svg)
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert texts.count("model") == 2
    assert any(t and t.endswith("run_tests") for t in texts)
    assert any(t and t.startswith("sync:") for t in texts) and any(t and t.startswith("async:") for t in texts)


# ------------------------------------------------------------------------------------ overhead


def test_burst_shapes():
    assert burst_calls(3, "independent") == [[], [], []]
    assert burst_calls(3, "chains", group=2) == [[], ["f1"], []]
    assert burst_calls(4, "fan_in", group=2) == [[], ["f1"], [], ["f3"]]


def test_overhead_probe_runs_every_future():
    report = run_overhead(200, repeat=1)
    for stats in report["shapes"].values():
        assert stats["futures"] == 200 and stats["exit_code"] == 0
        assert stats["futures_per_s"] > 0 and stats["dispatch_median_us"] >= 0


def test_real_clock_bounds_use_the_durations_the_tools_really_took():
    from asyncfc_cli.bench.runner import with_measured_durations

    bench = load_bench_scenario("bfcl_multi_step")
    run = run_case(bench, "fast", "async")
    same = with_measured_durations(bench.scenario, run.events)  # virtual clock: as scripted
    assert [s.duration for s in same.steps] == pytest.approx([s.duration for s in bench.scenario.steps])
    events = [e for e in run.events if e.type != "future_finished" or e.id != "f1"]
    f1 = next(e for e in run.events if e.type == "future_finished" and e.id == "f1")
    import dataclasses

    events.append(dataclasses.replace(f1, duration=9.0))
    timed = with_measured_durations(bench.scenario, events)
    assert timed.steps[0].duration == 9.0
    assert timed.steps[1].duration == pytest.approx(bench.scenario.steps[1].duration)
