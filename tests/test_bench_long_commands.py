"""The benchmark's long-command scenarios (issue 13): declared writes, independent commands, a dev
server in the background, the calibrated family, and the HTTP mode's arithmetic and pacing.

Virtual clock or pure, except the one HTTP-mode run at the end (marked slow)."""

import json

import pytest
from typer.testing import CliRunner

from asyncfc_cli.bench.bound import critical_path_bound
from asyncfc_cli.bench.calibration import family_figures, quantile
from asyncfc_cli.bench.http import PacedScenarioServer, http_problem, split_time
from asyncfc_cli.bench.runner import run_case
from asyncfc_cli.bench.suite import load_bench_scenario, load_suite
from asyncfc_cli.cli import app
from asyncfc_cli.model.scripted import Profile, parse_scenario
from asyncfc_tools import Effect

EIGHT = Profile(0.0, 8.0)


def timeline(result):
    """Per future id: (tool, started, finished) on the session clock."""
    created = {e.id: e.tool for e in result.events if e.type == "future_created"}
    started = {e.id: e.t for e in result.events if e.type == "future_started"}
    return {fid: (tool, started.get(fid), next(e.t for e in result.events if e.type == "future_finished"
                                              and e.id == fid)) for fid, tool in created.items()}


def test_reads_run_beside_a_build_declared_with_writes():
    bench = load_bench_scenario("long_build_reads")
    result = run_case(bench, "fast", "async")
    futures = timeline(result)
    build = next(f for f, (tool, *_), in futures.items() if tool == "shell")
    reads = [f for f, (tool, *_), in futures.items() if tool == "read_file"]
    assert len(reads) == 5
    assert all(futures[r][2] < futures[build][1] + 1.0 for r in reads)  # not queued behind the 6 s build
    sync = run_case(bench, "fast", "sync")
    assert result.wall_s <= 0.75 * sync.wall_s


def test_eight_commands_that_change_nothing_run_side_by_side_except_in_serial():
    bench = load_bench_scenario("independent_commands")
    runs = {mode: run_case(bench, "fast", mode) for mode in ("serial", "sync", "async")}
    for mode, result in runs.items():
        spans = sorted((start, end) for tool, start, end in timeline(result).values() if tool == "shell")
        assert len(spans) == 8
        overlapping = any(b[0] < a[1] for a, b in zip(spans, spans[1:]))
        assert overlapping == (mode != "serial"), mode
    assert runs["serial"].wall_s / runs["async"].wall_s >= 2.6


def test_a_dev_server_in_the_background_never_holds_the_end():
    bench = load_bench_scenario("cal_dev_server")
    for mode in ("sync", "async"):
        result = run_case(bench, "fast", mode)
        assert result.exit_code == 0
        assert [e.type for e in result.events if e.type.startswith("background_")] == \
            ["background_started", "background_stopped"]  # up, then stopped when the task ended
        assert result.bound_s <= result.wall_s + 1e-9


def test_the_bound_counts_a_background_call_as_done_once_it_is_up_and_never_holding_the_end():
    server = {"call": "shell", "as": "server", "duration": 5.0, "tokens": 0, "args": {"command": "serve"}}
    answer = {"answer": "done", "tokens": 8}
    background = lambda tool, args: Effect("declared", (), background=True)  # noqa: E731
    alone = parse_scenario({"name": "t", "steps": [server, "end", answer]})
    assert critical_path_bound(alone, EIGHT) == 5.0  # an ordinary call holds the end
    assert critical_path_bound(alone, EIGHT, background) == 1.0
    needed = parse_scenario({"name": "t", "steps": [server, {"need": ["server"]}, answer]})
    assert critical_path_bound(needed, EIGHT, background) == 6.0  # its start-up output is a value


def test_the_calibrated_family_matches_the_public_figures_and_async_stays_near_the_bound():
    family = [b for b in load_suite() if b.group == "calibrated"]
    assert len(family) >= 4
    sync_runs = []
    for bench in family:
        sync, done = run_case(bench, "fast", "sync"), run_case(bench, "fast", "async")
        sync_runs.append(sync.events)
        assert done.wall_s <= sync.wall_s, bench.name
        assert done.bound_s / done.wall_s >= 0.9, bench.name
    figures = family_figures(sync_runs)
    assert 4.0 <= figures.model_step_median_s <= 6.0
    assert 0.05 <= figures.tool_p50_s <= 0.2
    assert 5.0 <= figures.tool_p90_s <= 20.0
    assert figures.tool_p99_s >= 60.0  # minutes
    assert 0.5 <= figures.tool_share <= 0.8


def test_quantile_is_nearest_rank():
    assert quantile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert quantile([float(i) for i in range(1, 101)], 0.9) == 90.0
    assert quantile([5.0], 0.99) == 5.0


# ------------------------------------------------------------------------------------ HTTP mode


def test_split_time_takes_start_up_and_the_first_ttft_out_of_the_wall_time():
    events = [{"type": "request_started", "t": 0.0}, {"type": "first_token", "t": 2.9, "ttft": 0.4, "client_s": 2.5},
              {"type": "session_finished", "t": 12.9}]
    split = split_time(15.0, events)
    assert split.engine_s == pytest.approx(10.0)
    assert split.first_ttft_s == 0.4
    # 15 s of wall time = 4.6 s start-up and exit + 0.4 s first token + 10 s engine
    assert split.startup_s == pytest.approx(4.6)


def first_reply(server):
    """The server's reply to the first request of a conversation offering read_file and await_future."""
    tools = [{"type": "function", "function": {"name": name}} for name in ("read_file", "await_future")]
    return server.policy([{"role": "user", "content": "go"}], tools)


def test_the_paced_server_spends_the_ttft_and_each_segments_decode_time_in_order():
    scenario = parse_scenario({"name": "t", "steps": [
        {"say": "reading both files now", "tokens": 16},
        {"call": "read_file", "as": "a", "args": {"path": "a.py"}, "tokens": 8},
        {"call": "read_file", "as": "b", "args": {"path": "b.py"}, "tokens": 4},
        {"need": ["a", "b"]}, {"answer": "done", "tokens": 8}]})
    server = PacedScenarioServer(scenario, Profile(0.5, 8.0))
    reply = first_reply(server)
    plan = reply.plan
    frames = server._paced(reply, 1)
    kinds = [f.kind for f in frames]
    # the text, the two reads, then the await_future the need in the same response calls for
    assert kinds.index("call_start") > kinds.index("text") and kinds.count("call_start") == 3
    assert frames[0].delay_s > 0.5  # the time to first token, then its share of the text
    assert sum(f.delay_s for f in frames) == pytest.approx(0.5 + plan.tokens / 8)
    # a call's decode time comes before the next call starts (that is when the client sees it complete)
    second = kinds.index("call_start", kinds.index("call_start") + 1)
    assert sum(f.delay_s for f in frames[:second]) == pytest.approx(0.5 + 2.0 + 1.0)


def test_the_paced_server_sends_the_testing_servers_frames_with_their_options():
    """The bench's server paces the OpenAI server's own frames: what it sends is what that server
    would send (repeat_call_fields honoured), only ordered by the scenario and paced."""
    scenario = parse_scenario({"name": "t", "steps": [
        {"call": "read_file", "as": "a", "args": {"path": "a_rather_long_name.py"}, "tokens": 8},
        {"need": ["a"]}, {"answer": "done", "tokens": 8}]})
    server = PacedScenarioServer(scenario, Profile(0.5, 8.0))
    server.repeat_call_fields = True
    arguments = [json.loads(f.data.removeprefix(b"data: "))["choices"][0]["delta"]["tool_calls"][0]
                 for f in server._paced(first_reply(server), 1) if f.kind == "args"]
    assert len(arguments) > 2
    assert all(a["id"] and a["type"] == "function" and a["function"]["name"] for a in arguments)


def test_http_mode_refuses_scenarios_with_tools_a_real_run_lacks():
    assert http_problem(load_bench_scenario("fix_failing_test")) is None
    assert "fetch_url" in http_problem(load_bench_scenario("long_command"))
    result = CliRunner().invoke(app, ["bench", "--clock", "http", "-s", "long_command"])
    assert result.exit_code == 2 and "fetch_url" in result.stderr
    result = CliRunner().invoke(app, ["bench", "--clock", "http", "--plot", "x.svg"])
    assert result.exit_code == 2 and "table only" in result.stderr


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_http_mode_reports_engine_time_start_up_bound_and_ratios_per_row():
    result = CliRunner().invoke(app, ["bench", "--clock", "http", "-s", "independent_commands", "--json"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    records = {r["mode"]: r for r in report["results"]}
    assert set(records) == {"serial", "sync", "async"}
    for record in records.values():
        assert record["clock"] == "http" and record["tools"] == "real" and record["exit_code"] == 0
        assert record["startup_s"] > 0 and record["wall_s"] > 0 and record["bound_s"] > 0
        assert record["turns"] >= 2
    fast = records["async"]
    assert {"efficiency", "ceiling_vs_sync", "speedup_vs_sync", "speedup_vs_serial"} <= set(fast)
    # eight 1 s commands: one after another in serial, side by side otherwise
    assert records["serial"]["wall_s"] > 8.0 > records["async"]["wall_s"]


def test_repeat_keeps_one_median_run_per_case_and_must_be_positive():
    from asyncfc_cli.bench.command import run_suite

    bench = load_bench_scenario("independent_commands")
    results = run_suite([bench], ["fast"], ("sync", "async"), repeat=3)
    assert [r.mode for r in results] == ["sync", "async"]
    result = CliRunner().invoke(app, ["bench", "--repeat", "0"])
    assert result.exit_code == 2 and "--repeat" in result.stderr
